from rich.console import Console

from lepton_ai.report.leaderboard import leaderboard_table
from lepton_ai.search.leaderboard import leaderboard_frame
from lepton_ai.search.trial import TrialResult


def _trial(i, metric, latency, status="ok"):
    return TrialResult(trial_id=f"t{i:03d}", index=i, family="linear", params={"C": 1.0 / (i + 1)}, status=status,
                       dev_metric=metric, fit_s=0.01, train_cost_usd=1e-7, latency_p50_ms=latency,
                       latency_p99_ms=None if latency is None else latency * 2, rows_per_s=1e6,
                       infer_cost_per_million_usd=latency, model_p50_ms=None if latency is None else latency / 8,
                       size_bytes=400, error=None if status == "ok" else "boom")


def _render(table) -> str:
    console = Console(width=240, record=True)
    console.print(table)
    return console.export_text()


def test_frontier_and_chosen_rows_are_marked():
    trials = [_trial(0, 0.9, 1.0), _trial(1, 0.95, 5.0), _trial(2, 0.8, 9.0), _trial(3, None, None, "failed")]
    board = leaderboard_frame(trials, chosen="t001")
    assert list(board["trial"]) == ["t001", "t000", "t002", "t003"]
    text = _render(leaderboard_table(board))
    assert ">*" in text and "boom" in text and "failed" in text


def test_max_rows_keeps_frontier_and_counts_the_rest():
    trials = [_trial(i, 0.5 + i / 100, 1.0 + i) for i in range(30)]
    board = leaderboard_frame(trials, chosen="t029")
    text = _render(leaderboard_table(board, max_rows=5))
    assert "t029" in text and "more trials" in text
    assert text.count("linear") <= 5


def test_brackets_in_params_and_errors_are_text_not_markup():
    trials = [_trial(0, 0.9, 1.0), _trial(1, None, None, "failed")]
    trials[0].params = {"layers": "[bold]64[/bold]"}
    trials[1].error = "KeyError: ['[red]x']"
    text = _render(leaderboard_table(leaderboard_frame(trials, chosen="t000")))
    assert "[bold]64[/bold]" in text and "KeyError: ['[red]x']" in text


def test_the_model_only_latency_is_a_column_beside_the_end_to_end_one():
    board = leaderboard_frame([_trial(0, 0.9, 1.0), _trial(1, 0.95, 5.0)])
    assert {"latency_p50_ms", "model_p50_ms", "record_p50_ms"} <= set(board.columns)
    assert list(board["model_p50_ms"]) == [0.625, 0.125]
    text = _render(leaderboard_table(board))
    assert "model p50 ms" in text and "0.625" in text
