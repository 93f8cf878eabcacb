"""The search report: one figure that shows how a search is going at a glance.

`plot_data` turns trials into plain data for each panel, so tests (and other tools) can
check what is plotted without drawing; `draw_report` draws that data with matplotlib.
Both work the same for either store, since they only see `Trial` views.

Single runs are drawn as they were observed; what the report calls best, and its Pareto
front, are configurations (every run of the same hyperparameters pooled, as `hpsearch best`
ranks them), so a lucky run is a point on the plot and never the marked best.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from search.configurations import Configuration
from search.documents import CANCELLED
from search.reports.queries import best_configurations, configuration_front, count_by_state
from search.trial import Trial
from spaces import Parameter, SearchSpace

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_ROUND_ISO_SCORES = 4


@dataclasses.dataclass(frozen=True)
class BestConfiguration:
    """The configuration `hpsearch best` puts first, marked on the report at its means.

    Attributes:
        tid: Its original trial's id.
        tids: Its scored runs, in tid order.
        score: Mean accuracy / mean training seconds.
        lower_bound: What the ranking went by (see `search.configurations`).
        accuracy_spread, seconds_spread: Sample standard deviations over its runs; None
            with a single run.
    """

    tid: int
    tids: tuple[int, ...]
    score: float
    lower_bound: float
    accuracy: float
    train_seconds: float
    accuracy_spread: float | None
    seconds_spread: float | None

    @property
    def runs(self) -> int:
        return len(self.tids)

    @property
    def label(self) -> str:
        """What a legend says of it: which, how many runs, the means and their spread."""
        runs = f"{self.runs} runs" if self.runs > 1 else "1 run"
        return (f"best configuration: trial {self.tid}, {runs}, accuracy "
                f"{self.accuracy:.3f}{_spread(self.accuracy_spread, '.3f')} in "
                f"{self.train_seconds:.3g}{_spread(self.seconds_spread, '.2g')} s")


def _spread(value: float | None, spec: str) -> str:
    return "" if value is None else f" ± {value:{spec}}"


def best_of(trials: Iterable[Trial], min_accuracy: float) -> BestConfiguration | None:
    """The first configuration by `hpsearch best`'s ranking (pruned runs left out), or None
    while no configuration's mean accuracy clears the floor."""
    ranked = best_configurations(trials, 1, min_accuracy)
    if not ranked or ranked[0].below_floor:
        return None
    best: Configuration = ranked[0]
    return BestConfiguration(
        tid=best.tid, tids=tuple(trial.tid for trial in best.scored_trials()),
        score=_known(best.score), lower_bound=_known(best.lower_bound),
        accuracy=_known(best.accuracy), train_seconds=_known(best.train_seconds),
        accuracy_spread=best.accuracy_spread, seconds_spread=best.seconds_spread)


@dataclasses.dataclass(frozen=True)
class ScoreHistory:
    """Panel 1: each scored trial's accuracy per second in tid order, the best single run so
    far, and the best configuration (its runs and its pooled score)."""

    tids: tuple[int, ...]
    scores: tuple[float, ...]
    best_so_far: tuple[float, ...]
    failed_tids: tuple[int, ...]
    best: BestConfiguration | None = None


@dataclasses.dataclass(frozen=True)
class TradeOff:
    """Panel 2: accuracy against training seconds, the Pareto front, iso-score lines.

    The front is of configurations, at their mean accuracy and mean seconds (`hpsearch
    pareto`), `front_tids` their originals. `iso_scores` are the slopes s of the lines
    accuracy = s * seconds: trials on one line score the same; the last is the best
    configuration's score. `failed_seconds` places failed trials that got as far as a
    training time; `pruned_seconds` and `pruned_accuracies` place the pruned trials where
    they were stopped; `best` is marked at its means, with its spread.
    """

    tids: tuple[int, ...]
    seconds: tuple[float, ...]
    accuracies: tuple[float, ...]
    front_tids: tuple[int, ...]
    front_seconds: tuple[float, ...]
    front_accuracies: tuple[float, ...]
    iso_scores: tuple[float, ...]
    failed_seconds: tuple[float, ...]
    min_accuracy: float | None
    pruned_seconds: tuple[float, ...] = ()
    pruned_accuracies: tuple[float, ...] = ()
    best: BestConfiguration | None = None


@dataclasses.dataclass(frozen=True)
class ParameterPanel:
    """One small panel: the score against one hyperparameter.

    `categories` (the choices, in the space's order) is set for categorical parameters, which
    are drawn as one group per choice; numbers are drawn as points, on a log axis when `log`.
    Only trials in which the parameter was active appear (a conditional one is absent in
    trials that took another branch).
    """

    column: str  # the flat column the values are read from (as `Trial.columns` names it)
    title: str  # the column, or the space's label where two branches' parameters share it
    # The (column, branch) pairs a trial holds when the parameter is active: a branch's
    # parameter appears only in the trials that took its branch (and its parents' branches).
    branches: tuple[tuple[str, str], ...]
    log: bool
    categories: tuple[Any, ...] | None
    values: tuple[Any, ...]
    scores: tuple[float, ...]
    failed_values: tuple[Any, ...]

    def scores_by_category(self) -> list[list[float]]:
        """The scores of the trials that chose each category, in `categories` order."""
        assert self.categories is not None, "only categorical panels have categories"
        return [[s for v, s in zip(self.values, self.scores, strict=False) if v == category]
                for category in self.categories]


@dataclasses.dataclass(frozen=True)
class PlotData:
    """Everything the report draws, as plain data."""

    title: str
    counts: dict[str, int]
    history: ScoreHistory
    trade_off: TradeOff
    parameters: tuple[ParameterPanel, ...]

    @property
    def best(self) -> BestConfiguration | None:
        return self.trade_off.best


def plot_data(trials: Iterable[Trial], space: SearchSpace | None, *, exp_key: str,
              min_accuracy: float | None = None) -> PlotData:
    """The report's data for an experiment's trials, with the space that says which
    hyperparameters are log-scaled or categorical (`spaces.space_from_record`; None, for one
    this installation cannot rebuild: no hyperparameter panels), and the experiment's
    accuracy floor (None: no floor)."""
    trials = sorted(trials, key=lambda trial: trial.tid)
    counts = count_by_state(trials)
    scored = [trial for trial in trials if trial.is_scored and not trial.pruned]
    pruned = [trial for trial in trials if trial.pruned and trial.is_scored]
    failed = [trial for trial in trials if trial.state == "failed"]
    floor = min_accuracy or 0.0
    best = best_of(trials, floor)  # every run, as `best` ranks: a diverged repeat counts
    return PlotData(
        title=_title(exp_key, len(trials), counts, best),
        counts=counts,
        history=_history(scored, failed, best),
        trade_off=_trade_off(scored, failed, pruned, min_accuracy, best),
        parameters=_parameter_panels(space, scored, failed) if space is not None else (),
    )


def _title(exp_key: str, total: int, counts: dict[str, int],
           best: BestConfiguration | None) -> str:
    unfinished = ", ".join(f"{counts[state]} {state}"
                           for state in ("running", "queued", CANCELLED) if counts.get(state))
    pruned = f", {counts['pruned']} pruned" if counts.get("pruned") else ""
    line = (f"{exp_key}: {total} trials ({counts['ok']} ok{pruned}, {counts['failed']} failed"
            f"{', ' + unfinished if unfinished else ''})")
    if best is not None:
        runs = f"{best.runs} runs" if best.runs > 1 else "1 run"
        line += (f"; best configuration: trial {best.tid} ({runs}), {best.score:.3g} "
                 f"accuracy/s (accuracy {best.accuracy:.3f}"
                 f"{_spread(best.accuracy_spread, '.3f')} in {best.train_seconds:.3g}"
                 f"{_spread(best.seconds_spread, '.2g')} s)")
    return line


def _history(scored: list[Trial], failed: list[Trial],
             best: BestConfiguration | None) -> ScoreHistory:
    scores = [_known(trial.score) for trial in scored]
    best_so_far = list(itertools.accumulate(scores, max))
    return ScoreHistory(tids=tuple(trial.tid for trial in scored), scores=tuple(scores),
                        best_so_far=tuple(best_so_far),
                        failed_tids=tuple(trial.tid for trial in failed), best=best)


def _trade_off(scored: list[Trial], failed: list[Trial], pruned: list[Trial],
               min_accuracy: float | None, best: BestConfiguration | None) -> TradeOff:
    front = configuration_front(scored, min_accuracy or 0.0)
    return TradeOff(
        tids=tuple(trial.tid for trial in scored),
        seconds=tuple(_known(trial.train_seconds) for trial in scored),
        accuracies=tuple(_known(trial.accuracy) for trial in scored),
        front_tids=tuple(configuration.tid for configuration in front),
        front_seconds=tuple(_known(configuration.train_seconds) for configuration in front),
        front_accuracies=tuple(_known(configuration.accuracy) for configuration in front),
        iso_scores=_iso_scores(scored, best),
        failed_seconds=tuple(trial.train_seconds for trial in failed
                             if trial.train_seconds is not None),
        min_accuracy=min_accuracy,
        pruned_seconds=tuple(_known(trial.train_seconds) for trial in pruned),
        pruned_accuracies=tuple(_known(trial.accuracy) for trial in pruned),
        best=best,
    )


def _known(value: float | None) -> float:
    assert value is not None, "scored trials have a score, an accuracy and a training time"
    return value


def _iso_scores(scored: list[Trial], best_configuration: BestConfiguration | None
                ) -> tuple[float, ...]:
    """Round slopes spread over the trials (1-2-5, else 1-3, else powers of ten), then the
    best configuration's score, so a reader sees how far each trial is from the best."""
    best = 0.0 if best_configuration is None else best_configuration.score
    if best <= 0:
        return ()
    slowest = max(_known(trial.train_seconds) for trial in scored)
    low = max(_known(trial.accuracy) for trial in scored) / slowest if slowest > 0 else best
    exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(best)) + 1)
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        candidates = (float(f"{m}e{e}") for e in exponents for m in mantissas)
        round_scores = [s for s in candidates if low <= s < 0.8 * best]
        if len(round_scores) <= MAX_ROUND_ISO_SCORES:
            break
    return (*round_scores, best)


def _column(parameter: Parameter, space: SearchSpace) -> str:
    """The parameter's column in a flattened trial row.

    A space labels a branch's parameter with the branch ("optimizer/sgd/momentum", condition
    "optimizer=sgd"); the flattened parameters name it without ("optimizer/momentum").
    """
    if parameter.condition is None:
        label: str = parameter.label
        return label
    parent_label, _, branch = parameter.condition.partition("=")
    parent = next(p for p in space.parameters if p.label == parent_label)
    name = parameter.label[len(f"{parent_label}/{branch}/"):]
    return f"{_column(parent, space)}/{name}"


def _parameter_panels(space: SearchSpace, scored: list[Trial], failed: list[Trial]
                      ) -> tuple[ParameterPanel, ...]:
    """A panel per searched parameter. Two branches' parameters of one name share a flat
    column ("optimizer/lr" for both "optimizer/sgd/lr" and "optimizer/adamw/lr"): each panel
    then takes only the trials of its own branch, and is titled by its label."""
    searched = [parameter for parameter in space.parameters
                if parameter.distribution != "constant"]
    columns = [_column(parameter, space) for parameter in searched]
    return tuple(
        _parameter_panel(parameter, column, space, scored, failed,
                         title=parameter.label if columns.count(column) > 1 else column)
        for parameter, column in zip(searched, columns, strict=True))


def _branches(parameter: Parameter, space: SearchSpace) -> tuple[tuple[str, str], ...]:
    """The (column, branch name) pairs of the branches the parameter lives in, outermost
    first."""
    if parameter.condition is None:
        return ()
    parent_label, _, branch = parameter.condition.partition("=")
    parent = next(p for p in space.parameters if p.label == parent_label)
    return (*_branches(parent, space), (_column(parent, space), branch))


def _parameter_panel(parameter: Parameter, column: str, space: SearchSpace,
                     scored: list[Trial], failed: list[Trial], *, title: str
                     ) -> ParameterPanel:
    branches = _branches(parameter, space)

    def active(row: dict[str, Any]) -> bool:
        return column in row and all(row.get(parent) == branch for parent, branch in branches)

    chosen = [(trial.columns(), _known(trial.score)) for trial in scored]
    present = [(params[column], value) for params, value in chosen if active(params)]
    failed_values = [row.get(column) for row in (trial.columns() for trial in failed)
                     if active(row)]
    categories = None
    if parameter.distribution == "categorical":
        categories = tuple(parameter.values or ())
        seen = [value for value, _ in present] + failed_values
        categories += tuple(dict.fromkeys(v for v in seen if v is not None and v not in categories))
    return ParameterPanel(
        column=column,
        title=title,
        branches=branches,
        log=parameter.log,
        categories=categories,
        values=tuple(value for value, _ in present),
        scores=tuple(value for _, value in present),
        failed_values=tuple(value for value in failed_values if value is not None),
    )


# -- drawing --------------------------------------------------------------------------------

PANEL_COLUMNS = 5
TRIAL_STYLE: dict[str, Any] = {"s": 22, "color": "tab:blue", "alpha": 0.85, "zorder": 2}
FAILED_STYLE: dict[str, Any] = {"marker": "x", "color": "tab:red", "s": 40, "linewidths": 1.5,
                                "zorder": 4, "clip_on": False}
FRONT_COLOR = "tab:orange"
BEST_COLOR = "tab:green"
BEST_STYLE: dict[str, Any] = {"marker": "*", "s": 160, "color": BEST_COLOR,
                              "edgecolors": "black", "linewidths": 0.6, "zorder": 5}


class ImageFormatError(ValueError):
    """A report's file names a format that cannot be written (here)."""


def image_path(path: str | os.PathLike[str]) -> str:
    """The file a report asked for as `path` is written to: PNG unless the extension names
    another format matplotlib writes (`report` is `report.png`).

    Raises:
        ImageFormatError: the extension names a format matplotlib cannot write.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    text = os.fspath(path)
    if not text:
        raise ImageFormatError("the file name is empty: name the image, e.g. report.png")
    if text == "-":
        raise ImageFormatError("a report is an image file, not text for standard output: "
                               "name it, e.g. report.png")
    suffix = os.path.splitext(text)[1].lstrip(".").lower()
    if not suffix:
        return f"{text}.png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix not in formats:
        raise ImageFormatError(f"cannot draw a .{suffix} image; name the file with one of "
                               f"{', '.join('.' + name for name in sorted(formats))}")
    return text


def draw_report(data: PlotData, path: str | os.PathLike[str]) -> None:
    """Draw the report and save it to `image_path(path)`.

    Draws on a bare `Figure`, never through pyplot, so no display is needed and no backend
    is switched for a program that imports hpsearch.

    Raises:
        ImageFormatError: a format this machine cannot write (`.pgf` without a working TeX).
        OSError: the file cannot be written.
    """
    from matplotlib.figure import Figure

    rows = max(1, math.ceil(len(data.parameters) / PANEL_COLUMNS))
    figure = Figure(figsize=(16, 5.4 + 2.9 * rows), layout="constrained")
    figure.suptitle(data.title, fontsize=13, fontweight="bold")
    top, bottom = figure.subfigures(2, 1, height_ratios=[5.4, 2.9 * rows], squeeze=False).flat
    history_axes, trade_off_axes = top.subplots(1, 2)
    _draw_history(history_axes, data.history)
    _draw_trade_off(trade_off_axes, data.trade_off)
    bottom.suptitle("accuracy per second against each hyperparameter "
                    "(boxes: quartiles per choice; red x: failed trials)", fontsize=11)
    grid = bottom.subplots(rows, PANEL_COLUMNS, sharey=True, squeeze=False)
    for axes, panel in zip(grid.flat, data.parameters, strict=False):
        _draw_parameter(axes, panel)
    for axes in grid[:, 0]:
        axes.set_ylabel("accuracy / s")
    for axes in list(grid.flat)[len(data.parameters):]:
        axes.set_visible(False)
    from matplotlib.backends.backend_pgf import LatexError

    target = image_path(path)
    try:
        figure.savefig(target, dpi=100)
    except (RuntimeError, LatexError) as error:  # .pgf: no TeX here, or one that failed
        raise ImageFormatError(f"cannot draw {target} here: {error}; name the file .png, "
                               ".svg or .pdf") from None


def _draw_history(axes: Axes, history: ScoreHistory) -> None:
    floored = [(tid, s) for tid, s in zip(history.tids, history.scores, strict=False) if s == 0]
    scoring = [(tid, s) for tid, s in zip(history.tids, history.scores, strict=False) if s != 0]
    axes.scatter([tid for tid, _ in scoring], [s for _, s in scoring], label="trial",
                 **TRIAL_STYLE)
    axes.scatter([tid for tid, _ in floored], [0.0] * len(floored), s=22, zorder=2,
                 facecolors="none", edgecolors="tab:blue", label="below accuracy floor (score 0)")
    axes.step(history.tids, history.best_so_far, where="post", color=FRONT_COLOR, linewidth=2,
              label="best single run so far")
    best = history.best
    if best is not None:
        runs = set(best.tids)
        axes.scatter([tid for tid in history.tids if tid in runs],
                     [s for tid, s in zip(history.tids, history.scores, strict=True)
                      if tid in runs], **BEST_STYLE,
                     label=f"runs of the best configuration (trial {best.tid})")
        axes.axhline(best.score, color=BEST_COLOR, linestyle="--", linewidth=1.2,
                     label=f"their pooled score ({best.score:.3g}/s)")
    _mark_failed(axes, history.failed_tids)
    axes.set(title="score per trial, in the order they were proposed", xlabel="trial (tid)",
             ylabel="accuracy per second of training")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=9)


def _draw_trade_off(axes: Axes, trade_off: TradeOff) -> None:
    from matplotlib.ticker import FuncFormatter

    axes.scatter(trade_off.seconds, trade_off.accuracies, label="trial", **TRIAL_STYLE)
    axes.plot(trade_off.front_seconds, trade_off.front_accuracies, "o-", color=FRONT_COLOR,
              markersize=8, markerfacecolor="none", markeredgewidth=1.8, linewidth=1.8,
              label="Pareto front of configurations (their means)", zorder=3)
    best = trade_off.best
    if best is not None:
        axes.errorbar([best.train_seconds], [best.accuracy],
                      xerr=None if best.seconds_spread is None else [best.seconds_spread],
                      yerr=None if best.accuracy_spread is None else [best.accuracy_spread],
                      fmt="*", color=BEST_COLOR, markersize=16, markeredgecolor="black",
                      elinewidth=1.5, capsize=4, zorder=5, label=best.label)
    if trade_off.pruned_seconds:
        axes.scatter(trade_off.pruned_seconds, trade_off.pruned_accuracies, marker="v",
                     facecolors="none", edgecolors="tab:gray", s=28,
                     label="pruned (where it was stopped)")
    _mark_failed(axes, trade_off.failed_seconds)
    every = (*trade_off.seconds, *trade_off.failed_seconds, *trade_off.pruned_seconds)
    log = bool(every) and all(seconds > 0 for seconds in every)
    if log:
        _log_axis(axes)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # seconds
    axes.set_ylim(0, 1.03)
    left, right = axes.get_xlim()
    xs = ([left * (right / left) ** (i / 200) for i in range(201)] if log
          else [left + (right - left) * i / 200 for i in range(201)])
    for slope in trade_off.iso_scores:
        is_best = slope == trade_off.iso_scores[-1]
        axes.plot(xs, [slope * x for x in xs], "--", linewidth=1.2 if is_best else 0.8,
                  color=BEST_COLOR if is_best else "tab:gray", alpha=0.9,
                  label=f"best configuration's accuracy per second ({slope:.3g}/s)" if is_best
                  else ("equal accuracy per second" if slope == trade_off.iso_scores[0] else None))
        if not is_best:
            edge = min(right, 1.0 / slope)
            axes.annotate(f"{slope:g}/s", (edge, slope * edge), xytext=(-2, -2),
                          textcoords="offset points", ha="right", va="top", fontsize=8,
                          color="tab:gray")
    axes.set_xlim(left, right)
    if trade_off.min_accuracy:
        axes.axhline(trade_off.min_accuracy, color="tab:purple", linestyle=":", linewidth=1,
                     label=f"accuracy floor {trade_off.min_accuracy:g}")
    axes.set(title="accuracy against training time (up and to the left is better)",
             xlabel="training seconds" + (" (log scale)" if log else ""), ylabel="accuracy")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8, framealpha=0.9)


def _draw_parameter(axes: Axes, panel: ParameterPanel) -> None:
    if panel.categories is None:
        axes.scatter(panel.values, panel.scores, **{**TRIAL_STYLE, "s": 16})
        _mark_failed(axes, panel.failed_values)
        if panel.log:
            _log_axis(axes)
    else:
        positions = range(len(panel.categories))
        groups = panel.scores_by_category()
        axes.boxplot([group or [math.nan] for group in groups], positions=list(positions),
                     widths=0.5, showfliers=False, medianprops={"color": FRONT_COLOR})
        for position, group in zip(positions, groups, strict=False):
            axes.scatter([position + offset for offset in _jitter(len(group))], group,
                         **{**TRIAL_STYLE, "s": 14})
        _mark_failed(axes, [panel.categories.index(value) for value in panel.failed_values])
        axes.set_xticks(list(positions), [str(category) for category in panel.categories])
        axes.set_xlim(-0.6, len(panel.categories) - 0.4)
    axes.set_title(panel.title + (" (log scale)" if panel.log else ""), fontsize=10)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.tick_params(which="both", labelsize=8)


def _log_axis(axes: Axes) -> None:
    """A log x-axis; one under about a decade and a half wide gets plain numbers at 1-2-5
    steps, where the default would print few or crowded labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axes.set_xscale("log")
    left, right = axes.get_xlim()
    if math.log10(right / left) < 1.5:
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        axes.xaxis.set_major_formatter(plain)
        axes.xaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axes.xaxis.set_minor_formatter(plain)


def _mark_failed(axes: Axes, xs: Sequence[Any]) -> None:
    """Failed trials have no score: an x at the bottom edge, whatever the y scale."""
    if xs:
        axes.scatter(xs, [0.0] * len(xs), transform=axes.get_xaxis_transform(),
                     label="failed", **FAILED_STYLE)
        # Drawn in axes units upright, they leave the x limits alone: set those from them too,
        # or a plot of failed trials only keeps the empty axes' 0 to 1.
        axes.update_datalim([(x, 0.0) for x in xs], updatey=False)
        axes.autoscale_view(scaley=False)


def _jitter(count: int) -> list[float]:
    """Spread a group's points sideways so equal scores stay visible, deterministically."""
    return [0.18 * ((i * 0.618034) % 1.0 * 2 - 1) for i in range(count)]
