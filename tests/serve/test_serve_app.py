"""The HTTP app in-process: predictions, validation naming the field, limits, auth, probes, metrics."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_fixtures import ROW, served_model  # noqa: F401  (fixture)

from lepton_ai.serve import ServeOptions, create_app
from lepton_ai.serve.schemas import RequestError, decode_request


@pytest.fixture(scope="module")
def client(served_model):  # noqa: F811
    with TestClient(create_app(served_model, name="iris", options=ServeOptions(max_body_bytes=4096))) as c:
        yield c


@pytest.fixture(scope="module")
def roomy(served_model):  # noqa: F811
    """A client of a server taking bodies up to 1 MiB."""
    with TestClient(create_app(served_model, name="iris", options=ServeOptions(max_body_bytes=2**20))) as c:
        yield c


def test_predict_matches_the_model(client, served_model) -> None:  # noqa: F811
    import pandas as pd

    # Records go straight into the inference plan: missing values and a category never seen in
    # training give what predict on a DataFrame of the same rows gives.
    rows = [ROW, {**ROW, "x1": -2.0, "colour": "blue", "flag": False}, {**ROW, "x2": 3.5, "colour": "mauve"}]
    response = client.post("/v1/models/iris:predict", json={"instances": rows})
    assert response.status_code == 200
    assert response.json()["predictions"] == served_model.predict(pd.DataFrame(rows)).tolist()
    proba = client.post("/v1/models/iris:predict", json={"instances": rows, "proba": True}).json()
    assert proba["classes"] == ["setosa", "versicolor", "virginica"]
    np.testing.assert_allclose(proba["predictions"], served_model.predict_proba(pd.DataFrame(rows)), rtol=1e-9)


@pytest.mark.parametrize(("body", "loc", "message"), [
    (b'{"instances": [{"x1": 1, "colour": "red", "flag": true}]}', ["body", "instances", 0, "x2"], "missing column"),
    (b'{"instances": [{"x1": 1, "x2": 2, "colour": "red", "flag": true, "zz": 1}]}', ["body", "instances", 0, "zz"],
     "unknown column"),
    (b'{"instances": [{"x1": "a", "x2": 2, "colour": "red", "flag": true}]}', ["body", "instances", 0, "x1"],
     "expected a number"),
    (b'{"instances": [{"x1": NaN, "x2": 2, "colour": "red", "flag": true}]}', ["body", "instances", 0, "x1"],
     "not allowed"),
    (b'{"instances": [{"x1": 1, "x2": Infinity, "colour": "red", "flag": true}]}', ["body", "instances", 0, "x2"],
     "not allowed"),
    (b'{"instances": [{"x1": 1, "x2": 2, "colour": "red", "flag": "maybe"}]}', ["body", "instances", 0, "flag"],
     "true or false"),
    (b'{"instances": [3]}', ["body", "instances", 0], "object keyed by column"),
    (b'{"instances": []}', ["body", "instances"], "non-empty list"),
    (b'{"rows": []}', ["body", "rows"], "unknown field"),
    (b'{"instances": [{}], "proba": "yes"}', ["body", "proba"], "true or false"),
    (b'not json', ["body"], "not valid JSON"),
])
def test_bad_requests_get_422_naming_the_field(client, body: bytes, loc: list, message: str) -> None:
    response = client.post("/v1/models/iris:predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors


def test_body_limit_counts_declared_and_chunked_bodies(client) -> None:
    assert client.post("/v1/models/iris:predict", content=b"x" * 5000).status_code == 413

    def chunks():
        for _ in range(5):
            yield b"x" * 1000

    response = client.post("/v1/models/iris:predict", content=chunks())  # no Content-Length: chunked
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_unknown_model_is_404_and_probes_answer(client) -> None:
    assert client.post("/v1/models/other:predict", json={"instances": [ROW]}).status_code == 404
    info = client.get("/v1/models/iris").json()
    assert info["task"] == "classification" and [c["name"] for c in info["inputs"]] == ["x1", "x2", "colour", "flag"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json() == {"detail": "ready"}
    assert client.get("/docs").status_code == 200


def test_metrics_count_requests_and_batch_sizes(client) -> None:
    client.post("/v1/models/iris:predict", json={"instances": [ROW, ROW, ROW]})
    text = client.get("/metrics").text
    assert 'lepton_requests_total{code="200",route="predict"}' in text
    assert "lepton_batch_rows_bucket" in text and "lepton_queue_depth" in text
    assert 'route="other"' not in text


def test_metrics_count_unseen_categories_by_column(served_model) -> None:  # noqa: F811
    with TestClient(create_app(served_model, name="iris")) as c:
        rows = [{**ROW, "colour": "mauve"}, {**ROW, "colour": "teal"}, ROW]
        assert c.post("/v1/models/iris:predict", json={"instances": rows}).status_code == 200
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 200
        text = c.get("/metrics").text
    assert 'lepton_unseen_categories_total{column="colour"} 2.0' in text


def test_token_is_required_with_constant_time_check(served_model) -> None:  # noqa: F811
    app = create_app(served_model, name="iris", token="s3cret")
    with TestClient(app) as c:
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 401
        wrong = c.post("/v1/models/iris:predict", json={"instances": [ROW]}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        ok = c.post("/v1/models/iris:predict", json={"instances": [ROW]}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.get("/healthz").status_code == 200  # probes stay open


def test_a_full_queue_answers_429_with_retry_after(served_model) -> None:  # noqa: F811
    import time

    app = create_app(served_model, name="iris", options=ServeOptions(max_queue=1, max_wait_ms=0))
    with TestClient(app) as c:
        batcher = app.fastapi.state.batcher
        predict = batcher.predict
        batcher.predict = lambda rows: (time.sleep(0.4), predict(rows))[1]

        async def three() -> list:
            import httpx

            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                async def post(delay: float) -> httpx.Response:
                    await asyncio.sleep(delay)
                    return await http.post("/v1/models/iris:predict", json={"instances": [ROW]})

                # The first is being predicted, the second waits in the queue, the third finds it full.
                return list(await asyncio.gather(post(0.0), post(0.1), post(0.2)))

        first, second, third = c.portal.call(three)
        assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
        assert third.headers["retry-after"] == "1"


def test_a_slow_model_answers_504_and_others_still_succeed(served_model, monkeypatch) -> None:  # noqa: F811
    import time

    app = create_app(served_model, name="iris", options=ServeOptions(timeout_s=0.2, max_wait_ms=0))
    with TestClient(app) as c:
        batcher = app.fastapi.state.batcher
        predict = batcher.predict
        monkeypatch.setattr(batcher, "predict", lambda rows: (time.sleep(0.5), predict(rows))[1])
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 504
        monkeypatch.setattr(batcher, "predict", predict)
        time.sleep(0.4)  # the abandoned call still holds the model thread until it ends
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 200


def test_one_failing_request_never_fails_its_batch(served_model) -> None:  # noqa: F811
    from lepton_ai.errors import DataError

    app = create_app(served_model, name="iris", options=ServeOptions(max_wait_ms=50, max_batch=100))
    with TestClient(app) as c:
        batcher = app.fastapi.state.batcher
        predict = batcher.predict

        def picky(rows: list) -> list:
            if any(r["x1"] == 99.0 for r in rows):
                raise DataError("x1 = 99 is refused by this model")
            return predict(rows)

        batcher.predict = picky

        async def together() -> list[int]:
            import httpx

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                bodies = [{"instances": [ROW]}, {"instances": [{**ROW, "x1": 99}]}, {"instances": [ROW, ROW]}]
                responses = await asyncio.gather(*(http.post("/v1/models/iris:predict", json=b) for b in bodies))
            return [r.status_code for r in responses]

        assert c.portal.call(together) == [200, 422, 200]
        assert batcher.metrics.batch_rows._sum.get() >= 4  # they were batched together first


def test_images_as_png_or_nested_lists_are_checked_per_instance() -> None:
    from PIL import Image

    from lepton_ai.data.dataset import Schema

    schema = Schema(task="classification", label="y", columns=(), classes=("a", "b"), modality="image", shape=(4, 5))
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 10), 200, dtype=np.uint8), "L").save(buffer, format="PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    good = decode_request(f'{{"instances": ["{png}", {[[1] * 5] * 4}]}}'.encode(), schema)
    assert [r.shape for r in good.rows] == [(4, 5), (4, 5)]  # the PNG is resized to the training size
    with pytest.raises(RequestError) as caught:
        decode_request(f'{{"instances": ["!!", "{base64.b64encode(b"junk").decode()}", [[1, 2]], [[1, [2]]]]}}'
                       .encode(), schema)
    messages = {tuple(e["loc"]): e["msg"] for e in caught.value.errors}
    assert "not valid base64" in messages[("body", "instances", 0)]
    assert "undecodable image" in messages[("body", "instances", 1)]
    assert "wrong shape [1, 2]; expected [4, 5]" in messages[("body", "instances", 2)]
    assert "ragged" in messages[("body", "instances", 3)]


def _body(instance: str = "", **fields: str) -> bytes:
    """A predict body of one row written as JSON text, with some fields' raw JSON replaced."""
    values = {"x1": "0.1", "x2": "null", "colour": '"red"', "flag": "true", **fields}
    row = instance or "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"
    return ('{"instances": [' + row + "]}").encode("utf-8", "surrogatepass")


_DIGITS = "9" * 5000  # past Python's 4,300-digit int/str limit
_LOC = ["body", "instances", 0]


@pytest.mark.parametrize(("body", "loc", "message"), [
    pytest.param(b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}", ["body"], "nested", id="nested-arrays"),
    pytest.param(b'{"instances": [' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"]}", ["body"], "nested",
                 id="nested-objects"),
    pytest.param(_body(x1="[" * 3000 + "]" * 3000), ["body"], "nested", id="nested-in-a-field"),
    pytest.param(_body(x1="[[[[1]]]]"), [*_LOC, "x1"], "expected a number", id="list-in-a-number"),
    pytest.param(_body(colour='{"a": {"b": 1}}'), [*_LOC, "colour"], "expected a category", id="object-in-a-category"),
    pytest.param(_body(x1=_DIGITS), [*_LOC, "x1"], "outside", id="5000-digit-int-numeric"),
    pytest.param(_body(x1="9" * 400), [*_LOC, "x1"], "outside", id="400-digit-int-numeric"),
    pytest.param(_body(x1="-" + "9" * 40), [*_LOC, "x1"], "outside", id="40-digit-int-numeric"),
    pytest.param(_body(colour=_DIGITS), [*_LOC, "colour"], "outside", id="5000-digit-int-categorical"),
    pytest.param(_body(colour="9" * 400), [*_LOC, "colour"], "outside", id="400-digit-int-categorical"),
    pytest.param(_body(flag=_DIGITS), [*_LOC, "flag"], "outside", id="5000-digit-int-boolean"),
    pytest.param(_body(x1="1e400"), [*_LOC, "x1"], "outside", id="1e400-numeric"),
    pytest.param(_body(colour="-1e400"), [*_LOC, "colour"], "outside", id="-1e400-categorical"),
    pytest.param(_body(x1="1" + "0" * 100_000 + ".5"), [*_LOC, "x1"], "outside", id="100k-digit-float"),
    pytest.param(_body(colour="NaN"), [*_LOC, "colour"], "not allowed", id="NaN-categorical"),
    pytest.param(_body(flag="-Infinity"), [*_LOC, "flag"], "not allowed", id="Infinity-boolean"),
    pytest.param(_body(x1="true"), [*_LOC, "x1"], "expected a number", id="bool-numeric"),
    pytest.param(_body(x1='"1.5"'), [*_LOC, "x1"], "expected a number", id="string-numeric"),
    pytest.param(_body(_DIGITS), _LOC, "object keyed by column", id="5000-digit-int-instance"),
    pytest.param(('{"instances": [' + _body().decode()[15:-2] + '], "proba": ' + _DIGITS + "}").encode(),
                 ["body", "proba"], "true or false", id="5000-digit-int-proba"),
    pytest.param(b'{"instances": ' + _DIGITS.encode() + b"}", ["body", "instances"], "non-empty list",
                 id="5000-digit-int-instances"),
    pytest.param(b'{"instances": [], "zz": ' + _DIGITS.encode() + b"}", ["body", "zz"], "unknown field",
                 id="5000-digit-int-unknown-field"),
    pytest.param(_body(colour='"\\ud800"'), [*_LOC, "colour"], "Unicode", id="lone-surrogate-escape"),
    pytest.param(_body(colour='"\ud800"'), ["body"], "UTF-8", id="lone-surrogate-bytes"),
    pytest.param(b'{"instances": [{"\\udfff": 1}]}', [*_LOC, "\udfff"], "unknown column", id="lone-surrogate-key"),
    pytest.param(b'{"instances": [\xff]}', ["body"], "UTF-8", id="invalid-utf8"),
])
def test_hostile_bytes_get_4xx_naming_the_field(roomy, body: bytes, loc: list, message: str) -> None:
    response = roomy.post("/v1/models/iris:predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text[:300]
    errors = response.json()["detail"]
    assert any(e["loc"] == loc and message in e["msg"] for e in errors), errors


def test_images_with_numbers_out_of_range_are_refused_per_instance() -> None:
    from lepton_ai.data.dataset import Schema

    schema = Schema(task="classification", label="y", columns=(), classes=("a", "b"), modality="image", shape=(2, 2))
    images = ["[[1, 1e400], [1, 1]]", f"[[1, {_DIGITS}], [1, 1]]", "[[1, 1e39], [1, 1]]", "[[1, 2], [3, 4]]"]
    body = '{"instances": [' + ", ".join(images) + "]}"
    with pytest.raises(RequestError) as caught:
        decode_request(body.encode(), schema)
    assert [e["loc"] for e in caught.value.errors] == [["body", "instances", i] for i in range(3)]
    assert all("too large" in e["msg"] for e in caught.value.errors)


def test_instances_past_max_instances_get_413_before_any_is_checked(served_model) -> None:  # noqa: F811
    with TestClient(create_app(served_model, name="iris", options=ServeOptions(max_instances=5))) as c:
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW] * 5}).status_code == 200
        response = c.post("/v1/models/iris:predict", json={"instances": [{}] * 6})
        assert response.status_code == 413
        assert "6 instances in one request; at most 5" in response.json()["detail"]
        assert "--max-instances" in response.json()["detail"]


def test_validation_stops_after_20_errors_and_says_what_was_left(roomy) -> None:
    bad = {**ROW, "x1": "a"}  # one error per instance
    errors = roomy.post("/v1/models/iris:predict", json={"instances": [bad] * 100}).json()["detail"]
    assert [e["loc"] for e in errors[:20]] == [["body", "instances", i, "x1"] for i in range(20)]
    assert len(errors) == 21 and errors[20]["type"] == "too_many_errors"
    assert errors[20]["msg"] == "validation stopped after 20 errors: instances 20 to 99 were not checked"
    worse = {"a": 1, "b": 2, "c": 3}  # 3 unknown and 4 missing columns: 7 errors each
    errors = roomy.post("/v1/models/iris:predict", json={"instances": [worse] * 4}).json()["detail"]
    assert len(errors) == 21 and errors[20]["msg"] == ("validation stopped after 20 errors: 1 more error not shown; "
                                                       "instance 3 was not checked")


def test_the_timeout_covers_decoding_not_only_the_model(served_model, monkeypatch) -> None:  # noqa: F811
    import time

    from lepton_ai.serve import app as app_module

    decode = app_module.decode_request
    monkeypatch.setattr(app_module, "decode_request", lambda *a, **k: (time.sleep(0.5), decode(*a, **k))[1])
    with TestClient(create_app(served_model, name="iris", options=ServeOptions(timeout_s=0.2))) as c:
        response = c.post("/v1/models/iris:predict", json={"instances": [ROW]})
        assert response.status_code == 504 and "0.2 s" in response.json()["detail"]


def test_a_deferred_model_answers_probes_while_it_loads(served_model) -> None:  # noqa: F811
    import threading
    import time

    from lepton_ai.serve import DeferredModel

    release = threading.Event()

    def load():
        assert release.wait(10)
        return served_model

    with TestClient(create_app(DeferredModel(served_model.schema, load), name="iris")) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {"detail": "loading the model"}
        refused = c.post("/v1/models/iris:predict", json={"instances": [ROW]})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "loading the model" in refused.json()["detail"]
        assert c.get("/v1/models/iris").status_code == 503
        assert "/v1/models/{name}:predict" in c.get("/openapi.json").json()["paths"]  # the schema is known already
        release.set()
        for _ in range(200):
            if c.get("/readyz").status_code == 200:
                break
            time.sleep(0.01)
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 200


def test_a_model_that_fails_to_load_keeps_readiness_503(served_model) -> None:  # noqa: F811
    import time

    from lepton_ai.errors import ArtifactError
    from lepton_ai.serve import DeferredModel

    def load():
        raise ArtifactError("model/lepton.json: tampered")

    app = create_app(DeferredModel(served_model.schema, load), name="iris")
    with TestClient(app) as c:
        for _ in range(200):
            if app.fastapi.state.serve.load_error is not None:
                break
            time.sleep(0.01)
        assert c.get("/readyz").json() == {"detail": "the model failed to load"}
        assert c.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 503
        assert c.get("/healthz").status_code == 200
    assert "tampered" in str(app.fastapi.state.serve.load_error)


def test_docs_render_offline_from_local_assets(served_model) -> None:  # noqa: F811
    """/docs names no CDN: its script and stylesheet come from this server, without a token."""
    with TestClient(create_app(served_model, name="iris", token="s3cret")) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f"/docs/assets/{asset}" in page.text
            got = c.get(f"/docs/assets/{asset}")
            assert got.status_code == 200 and len(got.content) > 10_000
        assert c.get("/v1/models/iris").status_code == 401  # only the docs are open


def test_the_id_column_is_accepted_and_returned_beside_the_predictions() -> None:
    from conftest import make_table
    from lepton_ai import LeptonModel, SinglePointTechnique

    table = make_table(200, seed=2)
    table.insert(0, "ticket", [f"T-{i}" for i in range(len(table))])
    engine = SinglePointTechnique(budget="8s", families="linear", max_trials=1, cluster="inline")
    model = LeptonModel(engine=engine, verbose=0).train(table, label="species", id="ticket")
    with TestClient(create_app(model, name="iris")) as c:
        rows = [{**ROW, "ticket": "T-9"}, dict(ROW), {**ROW, "ticket": 17}]
        answer = c.post("/v1/models/iris:predict", json={"instances": rows})
        assert answer.status_code == 200, answer.text
        assert answer.json()["ids"] == ["T-9", None, 17] and len(answer.json()["predictions"]) == 3
        plain = c.post("/v1/models/iris:predict", json={"instances": [ROW]}).json()
        assert "ids" not in plain
        wrong = c.post("/v1/models/iris:predict", json={"instances": [{**ROW, "customer": "x"}]})
        assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"][-1] == "customer"


def test_a_date_field_takes_the_columns_format_or_iso_and_names_a_bad_value() -> None:
    from lepton_ai.data.dataset import Column, Schema

    schema = Schema(task="regression", label="y", columns=(Column("when", "date", "%d/%m/%Y"), Column("x", "numeric")))
    good = decode_request(b'{"instances": [{"when": "31/01/2024", "x": 1}, {"when": "2024-01-31T10:00:00Z", "x": 2},'
                          b' {"when": null, "x": 3}]}', schema)
    assert [r["when"] for r in good.rows] == ["31/01/2024", "2024-01-31T10:00:00Z", None]
    with pytest.raises(RequestError) as caught:
        decode_request(b'{"instances": [{"when": "soon", "x": 1}, {"when": 20240131, "x": 2}]}', schema)
    messages = {tuple(e["loc"]): e["msg"] for e in caught.value.errors}
    assert messages == {("body", "instances", 0, "when"): 'expected a date (%d/%m/%Y, or ISO 8601), got str "soon"',
                        ("body", "instances", 1, "when"): "expected a date string (%d/%m/%Y, or ISO 8601) or null, "
                                                          "got int 20240131"}


def test_a_model_with_a_date_column_serves_what_it_predicts() -> None:
    import pandas as pd

    from lepton_ai import LeptonModel, SinglePointTechnique

    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, 300), unit="D")
    table = pd.DataFrame({"when": stamps.strftime("%m/%d/%Y"), "x": rng.normal(size=300),
                          "y": (stamps.day_of_week >= 5) * 3.0 + rng.normal(0, 0.1, 300)})
    engine = SinglePointTechnique(budget="8s", families="linear", max_trials=1, cluster="inline")
    model = LeptonModel(engine=engine, verbose=0).train(table, label="y")
    rows = [{"when": "01/06/2024", "x": 0.5}, {"when": "2024-01-08", "x": 0.5}, {"when": None, "x": 0.5}]
    with TestClient(create_app(model, name="sales")) as c:
        answer = c.post("/v1/models/sales:predict", json={"instances": rows})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == model.predict(rows).tolist()
        saturday, monday, _ = answer.json()["predictions"]
        assert saturday > monday + 1  # the weekday is learnt from the date
        schema = c.get("/openapi.json").json()
    assert "date" in str(schema) and "%m/%d/%Y" in str(schema)
