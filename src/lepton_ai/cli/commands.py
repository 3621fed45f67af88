"""What each ``lepton`` command does, separated from argument parsing."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import Settings
from ..data.load import load_data
from ..engine.callbacks import Callback
from ..errors import ConfigError, TrialError
from ..files import atomic_write_text
from ..model import LeptonModel, load_model, save_model
from ..report.leaderboard import format_metrics, leaderboard_table
from .wall import command_start, search_budget

if TYPE_CHECKING:
    from ..engine.technique import SinglePointTechnique

# The share of the rows `lepton train` holds out to report a test metric when no --test is given.
TEST_FRACTION = 0.15

__all__ = ["run_train", "run_evaluate", "run_predict", "run_select", "run_demo", "run_runs"]


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: wide enough for the whole leaderboard
        console = Console(highlight=False, width=200)
    return console


def _engine(price_per_core_hour: float | None = None, cluster: str | None = None,
            store: str | None = None, cores: int | None = None, workers: int | None = None,
            memory: str | None = None, cache: str | None = None) -> SinglePointTechnique:
    """The node engine the commands use: the ``--price-per-core-hour`` flag, else the
    ``LEPTON_PRICE_PER_CORE_HOUR`` / ``LEPTON_PRICE_PER_GPU_HOUR`` settings (their defaults: the
    list prices of ``lepton_ai.config``); trials run on the Dask scheduler ``cluster`` when given;
    runs are recorded in ``store`` (``--store``), else ``$LEPTON_STORE``, else the local SQLite file;
    ``cores``, ``workers`` and ``memory`` (``--cores``, ``--workers``, ``--memory``) bound what the search
    uses here; ``cache`` (``--cache``, else ``$LEPTON_CACHE``) is the cache several machines share."""
    from ..engine.technique import SinglePointTechnique

    settings = Settings()
    price = settings.price_per_core_hour if price_per_core_hour is None else price_per_core_hour
    return SinglePointTechnique(cores, workers=workers, price_per_core_hour=price,
                                price_per_gpu_hour=settings.price_per_gpu_hour, cluster=cluster, store=store,
                                memory=memory, cache=cache)


def run_train(*, data: str, label: str | None, task: str, objective: str, budget: str,
              max_latency_ms: float | None, families: str | None, price_per_core_hour: float | None,
              out: Path, test: str | None, report: Path | None, seed: int, max_trials: int | None,
              sep: str | None, quiet: bool, cluster: str | None = None, store: str | None = None,
              epochs: int | None = None, cores: int | None = None, workers: int | None = None,
              encoding: str = "utf-8", memory: str | None = None, cache: str | None = None,
              metric: str | None = None, weight: str | None = None, id_column: str | None = None) -> None:
    from ..report.html import check_report_path, write_report
    from ..report.reproduce import command_line

    if report is not None:
        check_report_path(report)  # before the search, not after it
    command = command_line("train", [data], {
        "label": label, "task": task, "objective": objective, "budget": budget, "max_latency_ms": max_latency_ms,
        "families": families, "price_per_core_hour": price_per_core_hour, "out": out, "test": test,
        "report": report, "seed": seed, "max_trials": max_trials, "sep": sep, "cluster": cluster,
        "store": store, "epochs": epochs, "cores": cores, "workers": workers, "encoding": encoding, "quiet": quiet,
        "memory": memory, "cache": cache, "metric": metric, "weight": weight, "id": id_column})

    started = command_start()
    console = _console()
    engine = _engine(price_per_core_hour, cluster, store, cores, workers, memory, cache)
    # The engine chooses how to rank (k folds on small data, else a dev split of its own): only the
    # test rows are held out here.
    if test is None:
        train, held_out = load_data(data, label, task=task, seed=seed, sep=sep,  # type: ignore[misc]
                                    encoding=encoding, split=(1 - TEST_FRACTION, TEST_FRACTION),
                                    memory=engine.memory_limit, weight=weight, id=id_column)
    else:
        train, held_out = load_data(data, label, task=task, seed=seed, sep=sep, encoding=encoding, split=None,
                                    memory=engine.memory_limit, weight=weight, id=id_column), test
    dev = None
    search, note = search_budget(budget, started)  # the budget covers the whole command
    if note is not None:
        typer.echo(f"lepton: {note}", err=True)
    search_for: str | float = budget if search.seconds is None else search.seconds
    model = LeptonModel(objective=objective, budget=search_for, engine=engine, metric=metric,
                        families=families, seed=seed, max_trials=max_trials, max_latency_ms=max_latency_ms,
                        verbose=0 if quiet else 1, callbacks=[_ImportWhenNeeded()])
    if not quiet and train.cleaning.task_reason:  # what was decided, for the user to check (--task overrides)
        from ..models.registry import resolve_families

        resolve_families(families)  # a bad --families is the one error line, before this one
        typer.echo(f"lepton: task {train.schema.task}: {train.cleaning.task_reason}", err=True)
    try:
        model.train(train, dev, epochs=epochs)
    except KeyboardInterrupt:
        _save_interrupted(engine, model, out, objective)
        raise typer.Exit(130) from None
    except (ConfigError, TrialError):
        if report is None or model.result_ is None:
            raise
        # Every trial failed: the report says which and why, then the error ends the command.
        typer.echo(f"lepton: wrote {write_report(report, model, command=command)}", err=True)
        raise
    if not quiet:
        console.print(leaderboard_table(model.leaderboard(), max_rows=20))
    if isinstance(held_out, str):  # read by the trained schema, in the same encoding as the training file
        held_out = _read_for(model, held_out, sep, encoding)
        score = model.test(held_out, weight=weight)
    else:  # the held-out split carries its own weights
        score = model.test(held_out)
    saved = save_model(out, model)
    chosen = model.chosen
    ranked = f"{chosen.folds}-fold out-of-fold" if chosen.folds else "dev"
    refit = "; refitted on every training row" if chosen.refitted else ""
    source = next((t for t in model.result_.trials if t.trial_id == chosen.params.get("source")), chosen) \
        if model.result_ is not None else chosen  # a compressed variant: the fit of the model it was made from
    if source.extra.get("refit_rows"):
        refit = f"; its final fit read {source.extra['refit_rows']:,} rows in batches"
    if chosen.threshold is not None:
        refit += (f"; predicts {model.classes_[1]!s} from probability {chosen.threshold:.3f} "
                  f"(tuned for {chosen.metric_name})")
    console.print(f"chosen: {chosen.trial_id} {chosen.family} (objective {objective}); "
                  f"{ranked} {chosen.metric_name} {chosen.dev_metric:.4f}, test {chosen.metric_name} {score:.4f}, "
                  f"p50 {chosen.latency_p50_ms:.3f} ms{refit}")
    console.print(f"saved: {saved}  (run {model.result_.run_id if model.result_ else '?'})")
    if report is not None:
        console.print(f"report: {write_report(report, model, data=held_out, command=command)}")


def _save_interrupted(engine: SinglePointTechnique, model: LeptonModel, out: Path, objective: str) -> None:
    """Ctrl-C during ``lepton train``: save the best model the run finished, and say how to go on."""
    run_id = engine.run_id_
    if run_id is None:
        typer.echo("lepton: interrupted before the search began; nothing to save.", err=True)
        return
    resume = f"lepton runs resume {run_id} --out {out}"
    result = engine.finished_result(run_id)
    if result is None:
        typer.echo(f"lepton: interrupted; no candidate had finished. Resume the search with: {resume}", err=True)
        return
    model.result_ = result
    model.select(objective)
    saved = save_model(out, model)
    chosen = model.chosen
    typer.echo(f"lepton: interrupted; saved the best of {len(result.trials)} finished candidates ({chosen.trial_id} "
               f"{chosen.family}, dev {chosen.metric_name} {chosen.dev_metric:.4f}) to {saved}. "
               f"Resume the search with: {resume}", err=True)


class _ImportWhenNeeded(Callback):
    """Imports what a finished candidate's family needs (torch) in this process, in the background,
    once one has finished well enough to be chosen: scoring the test rows with it at the end would
    otherwise wait for the import then, past the budget. Nothing is imported for a search whose
    candidates do not need it, and nothing before the search (it would slow the data's loading)."""

    def __init__(self) -> None:
        self.started = False

    def on_trial_end(self, trial: Any) -> bool:
        if trial.ok and not self.started:
            import threading
            from importlib import import_module
            from importlib.util import find_spec

            from ..models.registry import FAMILIES

            family = FAMILIES.get(trial.family)
            modules = [m for m in (family.preload if family is not None else ()) if find_spec(m) is not None]
            if modules:
                self.started = True
                threading.Thread(target=lambda: [import_module(m) for m in modules], name="lepton-import",
                                 daemon=True).start()
        return False


def run_runs(*, action: str, run_id: str | None, out: Path, objective: str, quiet: bool, keep: int = 20,
             store: str | None = None) -> None:
    from ..search.frontier import check_objective
    from ..search.leaderboard import leaderboard_frame

    if action not in ("list", "show", "resume", "delete", "prune"):
        raise ConfigError(f"unknown action {action!r}; use list, show RUN, resume RUN, delete RUN or prune --keep N.")
    if action not in ("list", "prune") and not run_id:
        raise ConfigError(f"lepton runs {action} needs a run id (see `lepton runs list`).")
    engine = _engine(store=store)
    console = _console()
    if action == "list":
        table = Table(title=f"runs in {engine.store.path}")
        for name in ("run", "status", "source", "task", "budget s", "spent s", "trials", "ok"):
            table.add_column(name)
        for r in engine.store.runs():
            c = r["config"]
            table.add_row(r["run_id"], r["status"], str(c.get("source", "")), str(c.get("task", "")),
                          f"{c.get('budget_s', 0):.0f}", f"{r['spent_s']:.1f}", str(r["n_trials"]), str(r["n_ok"]))
        console.print(table)
        return
    if action == "prune":
        deleted = engine.prune_runs(keep)
        console.print(f"deleted {len(deleted)} run(s){': ' + ', '.join(deleted) if deleted else ''}; "
                      f"kept the newest {keep} and any still marked running.")
        return
    assert run_id is not None
    if action == "delete":
        engine.delete_run(run_id)
        console.print(f"deleted run {run_id}: its records, its trials' models and unshared prepared features.")
        return
    if action == "show":
        record = engine.store.run(run_id)
        trials = [t for _, t in engine.store.trials(run_id)]
        console.print(f"run {run_id}: {record['status']}, spent {record['spent_s']:.1f}s of "
                      f"{record['config'].get('budget_s', 0):.0f}s, source {record['config'].get('source')}")
        console.print(leaderboard_table(leaderboard_frame(trials), title=f"run {run_id}"))
        return
    check_objective(objective)
    model = LeptonModel(objective=objective, verbose=0 if quiet else 1)
    model.resume(run_id, engine=engine)
    if not quiet:
        console.print(leaderboard_table(model.leaderboard(), title=f"run {run_id}"))
    saved = save_model(out, model)
    chosen = model.chosen
    console.print(f"chosen: {chosen.trial_id} {chosen.family}: dev {chosen.metric_name} {chosen.dev_metric:.4f}; "
                  f"saved: {saved}")


def run_explain(*, model_dir: Path, data: str, repeats: int, max_rows: int, sep: str | None) -> None:
    model = load_model(model_dir)
    importance = model.feature_importance(_read_for(model, data, sep), repeats=repeats, max_rows=max_rows)
    attrs = importance.attrs
    table = Table(title=f"{model_dir} on {data}: drop in {attrs['metric']} (from {attrs['baseline']:.4f}) when a "
                        f"column is shuffled, {attrs['repeats']} times over {attrs['rows']} rows")
    for name, justify in (("column", "left"), ("importance", "right"), ("std", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in importance.itertuples(index=False):
        table.add_row(Text(str(row.column)), f"{row.importance:.4f}", f"{row.std:.4f}")
    _console().print(table)


def run_evaluate(*, model_dir: Path, data: str, report: Path | None, sep: str | None,
                 weight: str | None = None) -> None:
    from ..report.html import check_report_path, write_report
    from ..report.reproduce import command_line

    if report is not None:
        check_report_path(report)
    model = load_model(model_dir)
    dataset = _read_for(model, data, sep)
    result = model.evaluate(dataset, weight=weight)
    console = _console()
    table = Table(title=f"{model_dir} on {data}", show_header=False)
    for name, value in format_metrics(result):
        table.add_row(name, value)
    console.print(table)
    if "confusion_matrix" in result:
        cm = result["confusion_matrix"]
        matrix = Table(title="confusion matrix (rows: true, columns: predicted)")
        matrix.add_column("")
        for name in cm["labels"]:  # class labels are data: plain text, never rich markup
            matrix.add_column(Text(str(name)), justify="right")
        for name, row in zip(cm["labels"], cm["matrix"], strict=True):
            matrix.add_row(Text(str(name)), *map(str, row))
        console.print(matrix)
    if report is not None:
        command = command_line("evaluate", [model_dir, data], {"report": report, "sep": sep})
        console.print(f"report: {write_report(report, model, data=dataset, command=command)}")


def run_predict(*, model_dir: Path, data: str, output: Path | None, proba: bool, sep: str | None) -> None:
    model = load_model(model_dir)
    frame = model.predictions(_read_for(model, data, sep), proba=proba)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        atomic_write_text(output, buffer.getvalue())
        typer.echo(f"wrote {len(frame)} predictions to {output}", err=True)


def run_export(*, model_dir: Path, onnx: Path | None, trial: str | None) -> None:
    if onnx is None:
        raise ConfigError("lepton export: say what to write, e.g. --onnx model.onnx (the one format built).")
    model = load_model(model_dir)
    path = model.export_onnx(onnx, trial=trial)
    import onnx as onnx_lib

    graph = onnx_lib.load_model(str(path)).graph
    strings = sum(i.type.tensor_type.elem_type == onnx_lib.TensorProto.STRING for i in graph.input)
    exported = model.result_.trial(trial) if trial and model.result_ is not None else model.chosen
    _console().print(f"wrote {path} ({path.stat().st_size:,} bytes): trial {exported.trial_id} {exported.family}; "
                     f"{len(graph.input)} inputs, one per column ({len(graph.input) - strings} double, {strings} "
                     f"string), shape (n, 1); output {graph.output[0].name!r}")


def run_select(*, model_dir: Path, objective: str, max_latency_ms: float | None, max_model_mb: float | None,
               min_metric: float | None) -> None:
    model = load_model(model_dir)
    model.select(objective, max_latency_ms=max_latency_ms, max_model_mb=max_model_mb, min_metric=min_metric)
    save_model(model_dir, model)
    t = model.chosen
    _console().print(f"chosen: {t.trial_id} {t.family}: dev {t.metric_name} {t.dev_metric:.4f}, "
                     f"p50 {t.latency_p50_ms:.3f} ms, {t.size_bytes} bytes")


def run_demo(*, dataset: str, budget: str) -> None:
    console = _console()
    console.print(f"[bold]lepton demo[/bold]: {dataset}, budget {budget}")
    # Only the test rows are held out: the engine ranks on folds (small data) or a dev split of its own.
    train, test = load_data(dataset, seed=0, split=(1 - TEST_FRACTION, TEST_FRACTION))  # type: ignore[misc]
    console.print(f"data: {len(train)} train / {len(test)} test rows, task {train.task}")
    model = LeptonModel(objective="balanced", budget=budget).train(train)
    validation = (model.result_.extra.get("validation") or {}) if model.result_ is not None else {}
    console.print(f"ranked on: {validation.get('reason', 'the dev split')}")
    console.print(leaderboard_table(model.leaderboard(), title=f"{dataset}: leaderboard", max_rows=15))
    score = model.test(test)
    chosen = model.chosen
    console.print(f"chosen (balanced): {chosen.trial_id} {chosen.family}; test {chosen.metric_name} = {score:.4f}")
    with tempfile.TemporaryDirectory(prefix="lepton-demo-") as tmp:
        path = save_model(Path(tmp) / "model", model)
        again = load_model(path)
        same = bool(np.array_equal(again.predict(test), model.predict(test)))
        console.print(f"saved to {path} and loaded back: predictions identical = {same}")
        if not same:
            raise RuntimeError("the reloaded model predicts differently from the trained one")
    fast = model.select(objective="speed").chosen
    ranked = f"{fast.folds}-fold out-of-fold" if fast.folds else "dev"
    console.print(f"objective speed would choose {fast.trial_id} {fast.family}: "
                  f"{ranked} {fast.metric_name} {fast.dev_metric:.4f}, p50 {fast.latency_p50_ms:.3f} ms")


def _read_for(model: LeptonModel, data: str, sep: str | None, encoding: str = "utf-8") -> Any:
    from ..data.coerce import to_input

    return to_input(data, model.schema, sep=sep, encoding=encoding)




