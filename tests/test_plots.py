"""`hpsearch plot`: the report's panels get the right data, and the image is a valid PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hyperopt import JOB_STATE_RUNNING
from PIL import Image
from stored_trials import MIN_ACCURACY, finished_job, record_trials, stored_jobs

import spaces
from search.cli import main
from search.cli.reports import plot
from search.reports import plots, queries
from search.reports.plots import PlotData, draw_report, plot_data
from search.trial import trials_of

DEFAULT_SPACE = spaces.load_space("default")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def adamw(lr: float, batch_size: int) -> dict[str, Any]:
    return {"lr": lr, "batch_size": batch_size, "weight_decay": 1e-6,
            "optimizer": {"name": "adamw"}, "scheduler": {"name": "cosine"}}


def sgd(lr: float, batch_size: int, momentum: float) -> dict[str, Any]:
    return {**adamw(lr, batch_size), "optimizer": {"name": "sgd", "momentum": momentum,
                                                   "nesterov": True}}


@pytest.fixture
def data() -> PlotData:
    jobs = [
        finished_job(0, (0.90, 3.0), adamw(1e-3, 64)),     # score 0.3
        finished_job(1, (0.80, 1.0), sgd(1e-2, 128, 0.9)),  # score 0.8
        finished_job(2, None, sgd(1e-1, 32, 0.95)),         # failed after 0.5 s
        finished_job(3, (0.30, 0.5), adamw(1e-4, 256)),     # below the floor: score 0
        finished_job(4, (0.95, 2.0), adamw(3e-3, 64)),      # score 0.475
        finished_job(5, None, adamw(1e-3, 64), state=JOB_STATE_RUNNING),
    ]
    return plot_data(trials_of(jobs), DEFAULT_SPACE, exp_key="handmade", min_accuracy=MIN_ACCURACY)


def panel(data: PlotData, column: str) -> plots.ParameterPanel:
    (found,) = [p for p in data.parameters if p.column == column]
    return found


def test_title_names_the_experiment_and_counts_trials_by_state(data: PlotData) -> None:
    assert data.counts == {"ok": 4, "failed": 1, "running": 1, "queued": 0,
                           "pruned": 0}
    assert data.title.startswith("handmade: 6 trials (4 ok, 1 failed, 1 running)")
    assert "best configuration: trial 1 (1 run), 0.8 accuracy/s" in data.title
    assert data.best is not None and data.best.tids == (1,)


def test_score_history_is_in_tid_order_with_the_best_so_far(data: PlotData) -> None:
    history = data.history
    assert history.tids == (0, 1, 3, 4)
    assert history.scores == pytest.approx((0.3, 0.8, 0.0, 0.475))
    assert history.best_so_far == pytest.approx((0.3, 0.8, 0.8, 0.8))
    assert history.failed_tids == (2,)


def test_a_lucky_run_below_the_floor_on_average_never_heads_the_plot_once_its_repeat_lands(
        tmp_path: Path) -> None:
    lucky, honest = sgd(1e-2, 128, 0.9), adamw(3e-3, 64)
    jobs = [finished_job(0, (0.90, 1.0), adamw(1e-3, 64)),
            finished_job(1, (0.60, 0.05), lucky),  # the fastest, above the floor (0.5)
            finished_job(2, (0.80, 0.5), honest)]
    before = plot_data(trials_of(jobs), DEFAULT_SPACE, exp_key="lucky",
                       min_accuracy=MIN_ACCURACY)
    assert before.best is not None and before.best.tid == 1
    repeats = [{**finished_job(3, (0.30, 0.06), lucky), "repeat_of": 1},
               {**finished_job(4, (0.84, 0.7), honest), "repeat_of": 2}]
    after = plot_data(trials_of([*jobs, *repeats]), DEFAULT_SPACE, exp_key="lucky",
                      min_accuracy=MIN_ACCURACY)
    best = after.best
    assert best is not None and (best.tid, best.tids) == (2, (2, 4))
    assert best.score == pytest.approx(0.82 / 0.6)  # mean accuracy over mean seconds
    assert best.accuracy_spread == pytest.approx(0.04 / 2 ** 0.5)
    assert "trial 2, 2 runs, accuracy 0.820 ± 0.028 in 0.6 ± 0.14 s" in best.label
    assert "best configuration: trial 2 (2 runs)" in after.title
    assert after.history.best == after.trade_off.best == best
    assert after.trade_off.iso_scores[-1] == pytest.approx(best.score)
    assert after.trade_off.front_tids == (2, 0)  # the lucky configuration's mean: below
    assert max(after.history.scores) == pytest.approx(12.0)  # its lucky run stays visible
    draw_report(after, tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes().startswith(PNG_SIGNATURE)


def test_trade_off_shows_every_scored_trial_and_the_pareto_front(data: PlotData) -> None:
    trade_off = data.trade_off
    assert trade_off.tids == (0, 1, 3, 4)
    assert trade_off.seconds == (3.0, 1.0, 0.5, 2.0)
    assert trade_off.accuracies == (0.90, 0.80, 0.30, 0.95)
    assert trade_off.front_tids == (1, 4)  # trial 3 is below the floor: on no front
    assert trade_off.front_seconds == (1.0, 2.0)
    assert trade_off.front_accuracies == (0.80, 0.95)
    assert trade_off.failed_seconds == (0.5,)
    assert trade_off.min_accuracy == MIN_ACCURACY


def test_iso_score_lines_are_round_slopes_below_the_best_then_the_best(data: PlotData) -> None:
    iso_scores = data.trade_off.iso_scores
    assert iso_scores[-1] == pytest.approx(0.8)
    assert list(iso_scores) == sorted(iso_scores)
    assert all(float(f"{s:.1g}") == s for s in iso_scores[:-1])


def test_one_panel_per_searched_hyperparameter_with_log_axes_from_the_space(
        data: PlotData) -> None:
    columns = [p.column for p in data.parameters]
    assert columns == ["lr", "batch_size", "weight_decay", "optimizer", "optimizer/momentum",
                       "optimizer/nesterov", "scheduler", "scheduler/patience",
                       "scheduler/factor"]
    assert {p.column for p in data.parameters if p.log} == {"lr", "weight_decay",
                                                            "scheduler/factor"}
    lr = panel(data, "lr")
    assert lr.categories is None
    assert lr.values == (1e-3, 1e-2, 1e-4, 3e-3)
    assert lr.scores == pytest.approx((0.3, 0.8, 0.0, 0.475))
    assert lr.failed_values == (1e-1,)


def test_categorical_hyperparameters_are_grouped_by_choice(data: PlotData) -> None:
    optimizer = panel(data, "optimizer")
    assert optimizer.categories == ("adamw", "sgd")
    adamw_scores, sgd_scores = optimizer.scores_by_category()
    assert adamw_scores == pytest.approx([0.3, 0.0, 0.475])
    assert sgd_scores == pytest.approx([0.8])
    assert optimizer.failed_values == ("sgd",)


def test_conditional_hyperparameter_has_only_the_trials_of_its_branch(data: PlotData) -> None:
    momentum = panel(data, "optimizer/momentum")
    assert momentum.values == (0.9,)
    assert momentum.failed_values == (0.95,)
    assert panel(data, "scheduler/patience").values == ()


def test_each_panel_is_drawn_from_its_data_into_a_png(data: PlotData, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: dict[str, list[Any]] = {"history": [], "trade_off": [], "parameters": []}
    for name, key in [("_draw_history", "history"), ("_draw_trade_off", "trade_off"),
                      ("_draw_parameter", "parameters")]:
        original = getattr(plots, name)
        monkeypatch.setattr(plots, name, lambda axes, item, original=original, key=key: (
            drawn[key].append(item), original(axes, item)))
    path = tmp_path / "report.png"
    draw_report(data, path)

    assert drawn == {"history": [data.history], "trade_off": [data.trade_off],
                     "parameters": list(data.parameters)}
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 1200


def test_a_search_with_no_results_yet_still_draws(tmp_path: Path) -> None:
    data = plot_data(trials_of([finished_job(0, None, state=JOB_STATE_RUNNING)]), DEFAULT_SPACE,
                     exp_key="starting")
    assert data.history.tids == () and data.trade_off.iso_scores == ()
    draw_report(data, tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes().startswith(PNG_SIGNATURE)


def test_plot_command_draws_the_stored_trials_of_either_store(
        store_location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record_trials(store_location, "plotted", [(0.95, 4.0), None, (0.80, 1.0), (0.90, 2.0)],
                  running=1)
    handed: list[PlotData] = []
    # The command imports draw_report when it runs (matplotlib loads only there).
    monkeypatch.setattr(plots, "draw_report",
                        lambda data, path: (handed.append(data), draw_report(data, path)))
    path = tmp_path / "report.png"
    outcome = CliRunner().invoke(plot, ["--store", store_location, "--exp-key", "plotted",
                                        "-o", str(path)])

    assert outcome.exit_code == 0, outcome.output
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    (data,) = handed
    assert data.counts == {"ok": 3, "failed": 1, "running": 1, "queued": 0,
                           "pruned": 0}
    assert data.history.tids == (0, 2, 3) and data.history.failed_tids == (1,)
    assert data.trade_off.front_tids == (2, 3, 0)
    jobs = stored_jobs(store_location, "plotted")
    assert panel(data, "lr").values == tuple(jobs[tid]["misc"]["params"]["lr"] for tid in (0, 2, 3))
    assert data.trade_off.min_accuracy == MIN_ACCURACY


@pytest.mark.parametrize("backend", ["module://not_installed_here.backend_inline", "bogus"])
def test_plot_needs_no_backend_whatever_mplbackend_names(tmp_path: Path, backend: str) -> None:
    """`!hpsearch plot` in a notebook inherits the kernel's backend, which need not load in
    hpsearch's environment: one matplotlib does not know made it refuse to import at all."""
    location = str(tmp_path / "store")
    record_trials(location, "e", [(0.9, 1.0), (0.8, 0.5)])
    output = tmp_path / "report.png"
    completed = subprocess.run(
        [sys.executable, "-m", "search", "plot", "--store", location, "-o", str(output)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "MPLBACKEND": backend})
    assert completed.returncode == 0, completed.stderr
    assert Image.open(output).size[0] > 0


def test_plot_into_a_missing_directory_is_one_clean_error(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "plotted", [(0.9, 1.0)])
    outcome = CliRunner().invoke(plot, ["--store", location,
                                        "-o", str(tmp_path / "missing" / "report.png")])
    assert outcome.exit_code == 2
    assert "cannot write" in outcome.stderr and "Traceback" not in outcome.output


def test_plot_names_the_file_it_writes_and_refuses_a_format_it_cannot(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "plotted", [(0.9, 1.0)])
    outcome = CliRunner().invoke(plot, ["--store", location, "-o", str(tmp_path / "report")])
    assert outcome.exit_code == 0, outcome.output
    assert f"wrote {tmp_path / 'report.png'}:" in outcome.stderr and not outcome.stdout
    assert (tmp_path / "report.png").read_bytes().startswith(PNG_SIGNATURE)
    for refused in ("report.txt", "-"):
        outcome = CliRunner().invoke(plot, ["--store", location, "-o", refused])
        assert outcome.exit_code == 2, outcome.output
        assert ".png" in outcome.stderr and "Traceback" not in outcome.output


def test_a_space_an_older_release_accepted_still_plots_without_its_panels(
        tmp_path: Path) -> None:
    """Releases before 2026-12-07 accepted a choice listed twice; this one refuses to load
    such a space, but its experiments' trials still plot, and a resume says what to do."""
    location = tmp_path / "store"
    record_trials(str(location), "old", [(0.9, 1.0)])
    record = location / "old" / "experiment.json"
    experiment = json.loads(record.read_text())
    experiment["space"] = {"file": "dup.yaml", "yaml": "parameters:\n  lr: {values: [1, 2, 2]}\n"}
    record.write_text(json.dumps(experiment))

    outcome = CliRunner().invoke(plot, ["--store", str(location), "-o", str(tmp_path / "r.png")])
    assert outcome.exit_code == 0, outcome.output
    assert "cannot rebuild the recorded space" in outcome.stderr and "already a choice" in \
        outcome.stderr
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_SIGNATURE)

    resumed = CliRunner().invoke(main, ["search", "--store", str(location), "--exp-key", "old",
                                        "--objective", "noop", "--max-evals", "2"])
    assert resumed.exit_code == 2 and "Traceback" not in resumed.output
    assert "recorded with a space this hpsearch release does not accept" in resumed.stderr
    assert "start a new experiment (--exp-key)" in resumed.stderr


def test_two_branches_parameters_of_one_name_get_a_panel_each(tmp_path: Path) -> None:
    """Both flatten to the column `opt/m`; each panel keeps its own branch's trials."""
    path = tmp_path / "branches.yaml"
    path.write_text("parameters:\n  opt:\n    values:\n"
                    "      - {name: sgd, parameters: {m: {min: 0.0, max: 1.0}}}\n"
                    "      - {name: adam, parameters: {m: {min: 5.0, max: 6.0}}}\n")
    jobs = [finished_job(0, (0.9, 1.0), {"opt": {"name": "sgd", "m": 0.5}}),
            finished_job(1, (0.8, 1.0), {"opt": {"name": "adam", "m": 5.5}}),
            finished_job(2, None, {"opt": {"name": "adam", "m": 5.9}})]
    data = plot_data(trials_of(jobs), spaces.load_space(str(path)), exp_key="branches",
                     min_accuracy=MIN_ACCURACY)
    sgd, adam = (found for found in data.parameters if found.column == "opt/m")
    assert (sgd.title, sgd.branches, sgd.values, sgd.failed_values) == (
        "opt/sgd/m", (("opt", "sgd"),), (0.5,), ())
    assert (adam.title, adam.branches, adam.values, adam.failed_values) == (
        "opt/adam/m", (("opt", "adam"),), (5.5,), (5.9,))
    assert panel(data, "opt").title == "opt", "a column of its own keeps its name"


def test_the_marked_best_is_the_one_best_ranks_a_diverged_repeat_counting_against_it() -> None:
    lucky = adamw(3e-3, 64)
    jobs = [finished_job(0, (0.90, 1.0), adamw(1e-3, 64)),   # score 0.9
            finished_job(1, (0.95, 0.5), lucky),             # score 1.9, then diverged
            {**finished_job(2, (0.95, 0.5), lucky), "repeat_of": 1,
             "result": {"status": "fail", "reason": "diverged", "loss": None}}]
    trials = trials_of(jobs)
    (ranked,) = queries.best_configurations(trials, 1, MIN_ACCURACY)
    data = plot_data(trials, DEFAULT_SPACE, exp_key="diverged", min_accuracy=MIN_ACCURACY)
    assert ranked.tid == 0
    assert data.best is not None and data.best.tid == ranked.tid


@pytest.mark.parametrize("state", ["failed", "pruned"])
def test_a_search_with_no_successful_trial_still_plots(tmp_path: Path, state: str) -> None:
    """What a user asks for after a search exits 1 (every trial failed), or whose every trial
    was pruned."""
    if state == "failed":
        jobs = [finished_job(tid, None, adamw(10.0 ** -(tid + 2), 64)) for tid in range(3)]
    else:
        jobs = [{**finished_job(tid, (0.3, 0.5 + tid), adamw(10.0 ** -(tid + 2), 64)),
                 "result": {"status": "ok", "pruned": True, "loss": 0.0, "accuracy": 0.3,
                            "train_seconds": 0.5 + tid}} for tid in range(3)]
    data = plot_data(trials_of(jobs), DEFAULT_SPACE, exp_key="nothing", min_accuracy=0.5)
    assert data.best is None
    draw_report(data, tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_format_whose_backend_needs_a_missing_program_is_one_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.pgf` is matplotlib's, but writing it runs xelatex, which few machines have."""
    from matplotlib.figure import Figure

    def needs_tex(*args: object, **kwargs: object) -> None:
        raise RuntimeError("'xelatex' not found; install it")

    monkeypatch.setattr(Figure, "savefig", needs_tex)
    location = str(tmp_path / "store")
    record_trials(location, "plotted", [(0.9, 1.0)])
    outcome = CliRunner().invoke(plot, ["--store", location, "-o", str(tmp_path / "r.pgf")])
    assert outcome.exit_code == 2, outcome.output
    assert "xelatex" in outcome.stderr and ".png" in outcome.stderr
    assert "Traceback" not in outcome.output
