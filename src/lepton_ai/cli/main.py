"""The ``lepton`` command: thin wrappers over the stages.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr); 1 a failure that is not the
input's fault: every trial failed (one line listing why), or an internal error ("internal error",
with the traceback when ``LEPTON_DEBUG=1``). Heavy libraries load inside the
commands, so ``lepton --help`` is instant.
"""

from __future__ import annotations

import atexit
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperOption

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train, compare, compress and serve ML models on one machine.")
F = TypeVar("F", bound=Callable[..., Any])


def _errors(func: F) -> F:
    """Turn lepton-ai errors into exit codes and one-line messages."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..config import Settings
        from ..errors import InputError, NotBuiltError, TrialError

        try:
            return func(*args, **kwargs)
        except (InputError, NotBuiltError) as exc:
            typer.echo(f"lepton: error: {exc}", err=True)
            raise typer.Exit(2) from None
        except TrialError as exc:  # the input was fine; the candidates failed, each for its own reason
            typer.echo(f"lepton: error: {exc}", err=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            typer.echo(f"lepton: internal error: {type(exc).__name__}: {exc}", err=True)
            if Settings().debug:
                traceback.print_exc()
            else:
                typer.echo("lepton: set LEPTON_DEBUG=1 to see the traceback.", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


class _FamiliesHelp(TyperCommand):
    """A command whose ``--families`` help lists the registry's searchable families.

    The list is read when the help is shown, not at import: the registry imports every family
    module (scikit-learn, pandas), which would make ``lepton --help`` take seconds.
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:  # typer's own click types are private
        from ..models.registry import resolve_families

        for param in self.params:
            if param.name == "families" and isinstance(param, TyperOption):
                param.help = (f"Comma-separated families: {', '.join(resolve_families(None))} "
                              "(default: all that fit the data).")
        super().format_help(ctx, formatter)


_STORE_HELP = ("Run store: a database URL shared by several machines (postgresql+psycopg://user@host/db) or a "
               "SQLite file (default: $LEPTON_STORE, else $LEPTON_HOME/runs.sqlite).")

@app.command(cls=_FamiliesHelp)
@_errors
def train(
    data: Annotated[str, typer.Argument(help="CSV/TSV/Parquet/.npz file, a folder of Parquet files (as Spark writes "
                                              "it), a quoted glob ('logs/*.csv'), an image folder (one sub-folder "
                                              "per class) or a bundled dataset name.")],
    label: Annotated[str | None, typer.Option(help="Label column (default: label/target/class/y).")] = None,
    task: Annotated[str, typer.Option(help="auto, classification or regression.")] = "auto",
    objective: Annotated[str, typer.Option(help="balanced, accuracy, speed or cost.")] = "balanced",
    budget: Annotated[str, typer.Option(help="Seconds ('60s', '5m') for the whole command, start to exit, "
                                             "or dollars ('$0.05') for the search.")] = "60s",
    max_latency_ms: Annotated[float | None, typer.Option(help="Hard limit on single-row p50 latency.")] = None,
    families: Annotated[str | None, typer.Option(
        help="Comma-separated families (default: all that fit the data).")] = None,
    price_per_core_hour: Annotated[float | None, typer.Option(
        help="Dollars per core-hour (default: $LEPTON_PRICE_PER_CORE_HOUR, else 0.045).")] = None,
    out: Annotated[Path, typer.Option(help="Directory to save the chosen model in.")] = Path("lepton-model"),
    test: Annotated[str | None, typer.Option(help="A separate labelled test file (else 15% is held out).")] = None,
    report: Annotated[Path | None, typer.Option(help="Also write a self-contained report.html here.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    max_trials: Annotated[int | None, typer.Option(help="Stop after this many trials.")] = None,
    sep: Annotated[str | None, typer.Option(help="Field delimiter of a text table.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Run the trials on this Dask scheduler (tcp://host:8786) "
                                                     "instead of this machine.")] = None,
    store: Annotated[str | None, typer.Option(help=_STORE_HELP)] = None,
    epochs: Annotated[int | None, typer.Option(help="Most epochs a neural candidate trains.")] = None,
    cores: Annotated[int | None, typer.Option(help="Cores the search uses (default: all this process may).")] = None,
    workers: Annotated[int | None, typer.Option(help="Trials at once (default: one per core).")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of a CSV/TSV file.")] = "utf-8",
    memory: Annotated[str | None, typer.Option(
        help="Memory the whole search may use, e.g. 4GB (default: what is free). A Parquet table that needs "
             "more is sampled for the search and streamed to the final fit.")] = None,
    metric: Annotated[str | None, typer.Option(
        help="What ranks and selects the candidates: accuracy, balanced_accuracy, f1, f1_macro, f1_weighted, "
             "precision, recall, mcc, roc_auc, log_loss; r2, rmse, mse, mae, mape, median_ae (default: accuracy "
             "or r2).")] = None,
    cache: Annotated[str | None, typer.Option(
        help="Cache of prepared features and models several machines share: a Redis URL (default: "
             "$LEPTON_CACHE, else this machine's folder).")] = None,
    weight: Annotated[str | None, typer.Option(
        help="A column of sample weights (numbers >= 0): every candidate fits with them, every score is "
             "weighted by them; kept out of the features.")] = None,
    id_column: Annotated[str | None, typer.Option(
        "--id", help="The column that names each row (unique, never missing): kept out of the features, "
                     "written beside each prediction by lepton predict and returned by the server.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
) -> None:
    """Train candidates on DATA within the budget, print the leaderboard and save the chosen model.
    Ctrl-C saves the best model finished so far and prints the command that resumes the search."""
    from .commands import run_train

    run_train(data=data, label=label, task=task, objective=objective, budget=budget,
              max_latency_ms=max_latency_ms, families=families, price_per_core_hour=price_per_core_hour,
              out=out, test=test, report=report, seed=seed, max_trials=max_trials, sep=sep, cluster=cluster,
              store=store, epochs=epochs, cores=cores, workers=workers, encoding=encoding, quiet=quiet,
              memory=memory, cache=cache, metric=metric, weight=weight, id_column=id_column)


@app.command()
@_errors
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    data: Annotated[str, typer.Argument(help="Labelled data to score the model on.")],
    report: Annotated[Path | None, typer.Option(help="Also write a self-contained report.html here.")] = None,
    sep: Annotated[str | None, typer.Option(help="Field delimiter of a text table.")] = None,
    weight: Annotated[str | None, typer.Option(help="A column of DATA whose sample weights weigh every metric.")
                      ] = None,
) -> None:
    """Score MODEL on DATA and print every metric."""
    from .commands import run_evaluate

    run_evaluate(model_dir=model, data=data, report=report, sep=sep, weight=weight)


@app.command()
@_errors
def explain(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    data: Annotated[str, typer.Argument(help="Labelled data to measure the columns on.")],
    repeats: Annotated[int, typer.Option(help="Shuffles of each column.")] = 5,
    max_rows: Annotated[int, typer.Option(help="Rows used at most (a seeded sample).")] = 5_000,
    sep: Annotated[str | None, typer.Option(help="Field delimiter of a text table.")] = None,
) -> None:
    """How much each input column of DATA matters to MODEL: the drop in its metric when the column is shuffled."""
    from .commands import run_explain

    run_explain(model_dir=model, data=data, repeats=repeats, max_rows=max_rows, sep=sep)


@app.command()
@_errors
def predict(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    data: Annotated[str, typer.Argument(help="Rows to predict (the label column is ignored if present).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV to write (default: stdout).")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="Write class probabilities too.")] = False,
    sep: Annotated[str | None, typer.Option(help="Field delimiter of a text table.")] = None,
) -> None:
    """Predict DATA with MODEL and write one row per input row."""
    from .commands import run_predict

    run_predict(model_dir=model, data=data, output=output, proba=proba, sep=sep)


@app.command()
@_errors
def select(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    objective: Annotated[str, typer.Option(help="balanced, accuracy, speed or cost.")] = "balanced",
    max_latency_ms: Annotated[float | None, typer.Option(help="Hard limit on single-row p50 latency.")] = None,
    max_model_mb: Annotated[float | None, typer.Option(help="Hard limit on model size.")] = None,
    min_metric: Annotated[float | None, typer.Option(help="Lowest acceptable dev metric.")] = None,
) -> None:
    """Choose another saved candidate of MODEL by objective and limits, without retraining."""
    from .commands import run_select

    run_select(model_dir=model, objective=objective, max_latency_ms=max_latency_ms, max_model_mb=max_model_mb,
               min_metric=min_metric)


@app.command()
@_errors
def datasets() -> None:
    """List the bundled datasets (usable by name wherever DATA is asked for)."""
    from ..data.bundled import BUNDLED

    for d in BUNDLED.values():
        typer.echo(f"{d.name:<14} {d.task:<15} {d.modality:<8} {d.description}")


@app.command()
@_errors
def demo(
    budget: Annotated[str, typer.Option(help="Search budget.")] = "20s",
    dataset: Annotated[str, typer.Option(help="Bundled dataset to run on.")] = "breast_cancer",
) -> None:
    """The main job end to end on a bundled dataset: load, train, leaderboard, test, save, reload."""
    from .commands import run_demo

    run_demo(dataset=dataset, budget=budget)


@app.command()
@_errors
def compress(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    int8: Annotated[bool, typer.Option("--int8", help="Dynamic int8 variants (PyTorch and ONNX Runtime).")] = False,
    onnx: Annotated[bool, typer.Option("--onnx", help="ONNX variants run by ONNX Runtime (fp32 and int8).")] = False,
    bf16: Annotated[bool, typer.Option("--bf16", help="A bfloat16 PyTorch variant.")] = False,
    trees: Annotated[bool, typer.Option("--trees", help="LightGBM's fast single-row path.")] = False,
    data: Annotated[str | None, typer.Option(help="Labelled dev rows to measure on (default: the training "
                                                  "run's dev split, if this machine still caches it).")] = None,
    sep: Annotated[str | None, typer.Option(help="Field delimiter of a text table.")] = None,
) -> None:
    """Add compressed variants of MODEL's models (all kinds unless flags pick some), measured, then choose again."""
    from .compress import chosen_kinds, run_compress

    run_compress(model_dir=model, kinds=chosen_kinds(int8=int8, onnx=onnx, bf16=bf16, trees=trees), data=data, sep=sep)


@app.command()
@_errors
def export(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    onnx: Annotated[Path | None, typer.Option("--onnx", help="Write one ONNX model from the raw columns "
                                                           "to this file.")] = None,
    trial: Annotated[str | None, typer.Option(help="The trial to export (default: the chosen one).")] = None,
) -> None:
    """Export MODEL for other runtimes: --onnx FILE writes one graph from the raw columns (numbers as
    double, categories as string) to probabilities or values, that ONNX Runtime runs in any language."""
    from .commands import run_export

    run_export(model_dir=model, onnx=onnx, trial=trial)


@app.command()
@_errors
def serve(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs LEPTON_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    max_batch: Annotated[int, typer.Option(help="Most rows one model call predicts (micro-batching).")] = 64,
    max_wait_ms: Annotated[float, typer.Option(help="How long a batch waits for more requests.")] = 2.0,
    max_queue: Annotated[int, typer.Option(help="Requests waiting beyond this get 429.")] = 1024,
    timeout_s: Annotated[float, typer.Option(help="Per-request time limit (504 past it).")] = 10.0,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (413 past it).")] = 8.0,
    max_instances: Annotated[int, typer.Option(help="Most instances in one request (413 past it).")] = 10_000,
    drain_s: Annotated[float, typer.Option(help="After SIGTERM, seconds /readyz answers 503 while requests "
                                                "are still served, before the listener closes.")] = 5.0,
    name: Annotated[str | None, typer.Option(help="Model name in the URL (default: the directory name).")] = None,
) -> None:
    """Serve MODEL over HTTP (KServe V1: POST /v1/models/NAME:predict), micro-batching concurrent requests."""
    from ..serve.runner import ServeOptions, run_server

    run_server(model, ServeOptions(host=host, port=port, max_batch=max_batch, max_wait_ms=max_wait_ms,
                                   max_queue=max_queue, timeout_s=timeout_s, max_body_bytes=int(max_body_mb * 2**20),
                                   max_instances=max_instances, drain_s=drain_s, name=name))


@app.command()
@_errors
def deploy(
    model: Annotated[Path, typer.Argument(help="A model directory written by lepton train.")],
    out: Annotated[Path, typer.Option(help="Folder to write (the image's build context).")] = Path("lepton-deploy"),
    name: Annotated[str | None, typer.Option(help="Kubernetes name and URL model name (default: MODEL's).")] = None,
    image: Annotated[str | None, typer.Option(help="Image the manifest runs (default NAME:<model digest>).")] = None,
    base_image: Annotated[str | None, typer.Option(help="Python base image (default: a pinned 3.11 slim).")] = None,
    port: Annotated[int, typer.Option(help="Port the server listens on in the container.")] = 8000,
    replicas: Annotated[int, typer.Option(help="Pods in the Deployment.")] = 1,
    target_rps: Annotated[float, typer.Option(help="Requests per second one replica should carry.")] = 50.0,
    wheel: Annotated[Path | None, typer.Option(help="Install lepton-ai from this wheel, not PyPI.")] = None,
) -> None:
    """Write a Dockerfile and a Kubernetes manifest (Deployment + Service) that serve MODEL."""
    from ..deploy import DeployOptions
    from .deploy import run_deploy

    run_deploy(model_dir=model, out=out, options=DeployOptions(
        name=name, image=image, base_image=base_image, port=port, replicas=replicas, target_rps=target_rps,
        wheel=wheel))


@app.command()
@_errors
def runs(
    action: Annotated[str, typer.Argument(help="list, show, resume, delete or prune.")] = "list",
    run: Annotated[str | None, typer.Argument(help="The run id (for show, resume and delete).")] = None,
    out: Annotated[Path, typer.Option(help="resume: directory to save the chosen model in.")] = Path("lepton-model"),
    objective: Annotated[str, typer.Option(help="resume: balanced, accuracy, speed or cost.")] = "balanced",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
    keep: Annotated[int, typer.Option(help="prune: how many of the newest runs to keep.")] = 20,
    store: Annotated[str | None, typer.Option(help=_STORE_HELP)] = None,
) -> None:
    """List the runs in the run store (--store, $LEPTON_STORE, else $LEPTON_HOME/runs.sqlite), show one,
    resume a killed one, delete one (its trials' models and unshared prepared features too), or prune
    all but the newest."""
    from .commands import run_runs

    run_runs(action=action, run_id=run, out=out, objective=objective, quiet=quiet, keep=keep, store=store)


def run() -> None:
    """Console-script entry point. The command's own clean-up (``atexit``: stopping the worker
    server) runs, then the process ends without tearing down its modules: with torch, pandas and
    LightGBM loaded that takes half a second, and a time budget covers the command to its exit."""
    from .wall import mark_process_start

    mark_process_start()
    warnings.showwarning = _show_warning
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    os._exit(code or 0)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """A warning of the command as one ``lepton: warning:`` line, not Python's file and source line."""
    print(f"lepton: warning: {message}", file=sys.stderr if file is None else file)
