"""What the dashboard shows, as JSON-ready data: pure functions over `Trial` views.

The pages receive trials as columns (one list per field, `tid` first), not one object per
trial: ten thousand trials then cost a few hundred kilobytes, not megabytes of repeated keys.
Every string that leaves here has been through `redact`, and every number is finite (JSON has
no NaN), whatever another program wrote into the store.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import spaces
from search.configurations import Configuration, PoolCache, pool, rank
from search.documents import finite_number
from search.experiment import Experiment
from search.policy import DEFAULT_STALE_AFTER
from search.reports.queries import (
    count_by_state,
    pareto_front,
    space_name,
    spent_train_seconds,
    time_left,
)
from search.store import WorkerStatus
from search.trial import TRIAL_FIELDS, Trial
from search.urls import redact

# What the pages read of a job: the trial view less the failure's message (the trial's own
# page reads the whole document), plus the per-epoch curve and the pruning mark.
DASHBOARD_FIELDS = (*(field for field in TRIAL_FIELDS if field != "result.error"),
                    "result.val_accuracy_per_epoch", "result.pruned")
CURVE_DECIMALS = 4  # validation accuracy to 0.01 %: finer than any plot shows
# The configurations table shows the best ones: all of them are `hpsearch export --by
# configuration`, and sending thousands on every change would cost more than the trials' news.
CONFIGURATIONS_SHOWN = 50


@dataclasses.dataclass(frozen=True)
class TrialRow:
    """One trial as the pages show it: a row of the table, a point in each plot."""

    tid: int
    state: str
    score: float | None
    accuracy: float | None
    seconds: float | None
    started: float | None  # seconds since the epoch, when its current attempt was reserved
    finished: float | None
    worker: str | None
    device: str | None
    attempt: int
    reason: str | None
    below_floor: bool
    pruned: bool
    curve: tuple[float | None, ...]
    params: tuple[tuple[str, Any], ...]  # flat columns, as `Trial.columns`


def trial_row(trial: Trial) -> TrialRow:
    """The row of one trial."""
    result = trial.job.get("result")
    result = result if isinstance(result, Mapping) else {}
    curve = result.get("val_accuracy_per_epoch")
    return TrialRow(
        tid=trial.tid,
        state=trial.state,
        score=finite_number(trial.score),
        accuracy=finite_number(trial.accuracy),
        seconds=finite_number(trial.train_seconds),
        started=_timestamp(trial.started),
        finished=_timestamp(trial.finished),
        worker=_text(trial.worker),
        device=_text(trial.device),
        attempt=trial.attempt if isinstance(trial.attempt, int) else 0,
        reason=_text(trial.reason),
        below_floor=trial.below_floor,
        pruned=result.get("pruned") is True,
        curve=tuple(_rounded(value) for value in curve) if isinstance(curve, list) else (),
        params=tuple((_redacted(str(column)), _plain(value))
                     for column, value in trial.columns().items()),
    )


def trial_columns(rows: Sequence[TrialRow]) -> dict[str, Any]:
    """Rows as columns; `params` holds one list per hyperparameter column, None where a trial
    did not use it (a conditional parameter of another branch)."""
    names = list(dict.fromkeys(column for row in rows for column, _ in row.params))
    params: dict[str, list[Any]] = {name: [None] * len(rows) for name in names}
    for index, row in enumerate(rows):
        for column, value in row.params:
            params[column][index] = value
    fields = [field.name for field in dataclasses.fields(TrialRow) if field.name != "params"]
    columns: dict[str, Any] = {name: [getattr(row, name) for row in rows] for name in fields}
    columns["params"] = params
    return columns


@dataclasses.dataclass(frozen=True)
class Configurations:
    """An experiment's configurations (every run of the same hyperparameters pooled), pooled
    once per change of the experiment and shared by its summary, front and table."""

    pooled: list[Configuration]
    ranked: list[Configuration]  # as `hpsearch best` ranks them

    @property
    def best(self) -> Configuration | None:
        return self.ranked[0] if self.ranked else None


def pooled_configurations(experiment: Experiment, trials: Iterable[Trial],
             cache: PoolCache | None = None) -> Configurations:
    """Pool and rank an experiment's trials as `hpsearch best` does (pruned runs left out);
    `cache`, kept from the experiment's last pooling, spares the configurations whose runs
    did not change their statistics again."""
    pooled = pool(trials, experiment.min_accuracy, cache=cache)
    return Configurations(pooled, rank(pooled))


def configuration_row(configuration: Configuration) -> dict[str, Any]:
    """A configuration as the pages show it: its original trial (whose row holds the
    hyperparameters), its runs, means, spreads and pooled score. Numbers only."""
    return {
        "tid": configuration.tid,
        "tids": [trial.tid for trial in configuration.scored_trials()],
        "runs": configuration.runs,
        "failed": configuration.failed,
        "pending": configuration.pending,
        "score": finite_number(configuration.score),
        "lower_bound": finite_number(configuration.lower_bound),
        "accuracy": finite_number(configuration.accuracy),
        "accuracy_spread": finite_number(configuration.accuracy_spread),
        "seconds": finite_number(configuration.train_seconds),
        "seconds_spread": finite_number(configuration.seconds_spread),
        "below_floor": configuration.below_floor,
        "unstable": configuration.unstable,
    }


def configuration_table(found: Configurations) -> dict[str, Any]:
    """The best configurations, ranked, and how many the experiment has in all."""
    return {"rows": [configuration_row(configuration)
                     for configuration in found.ranked[:CONFIGURATIONS_SHOWN]],
            "ranked": len(found.ranked), "total": len(found.pooled)}


def experiment_summary(experiment: Experiment, trials: Sequence[Trial],
                       workers: Iterable[WorkerStatus], now: datetime.datetime,
                       found: Configurations | None = None) -> dict[str, Any]:
    """An experiment's line on the experiments page: counts by state, the best configuration
    (its runs pooled, `found` if already pooled), the pace, the time left, the training time
    spent and the workers serving it now."""
    best = (found or pooled_configurations(experiment, trials)).best
    counts = count_by_state(trials)
    return {
        "exp_key": experiment.exp_key,
        "objective": redact(experiment.objective),
        "space": redact(space_name(experiment.space)),
        "algo": experiment.algo,
        "epochs": experiment.epochs,
        "min_accuracy": finite_number(experiment.min_accuracy),
        "max_evals": experiment.max_evals,
        "created": _timestamp(experiment.created),
        "counts": counts,
        "total": len(trials),
        "best": None if best is None else configuration_row(best),
        "train_seconds": finite_number(spent_train_seconds(trials)),
        "max_train_seconds": finite_number(experiment.max_train_seconds),
        **timely_fields(experiment, trials, counts, workers, now),
    }


def timely_fields(experiment: Experiment, trials: Sequence[Trial], counts: dict[str, int],
                  workers: Iterable[WorkerStatus], now: datetime.datetime) -> dict[str, Any]:
    """The summary's fields that change with the clock alone: a stalled search's pace falls
    and its time left grows, and workers go quiet, with no trial changing."""
    rate, seconds_left = time_left(experiment, trials, counts, now)
    return {"trials_per_minute": finite_number(rate), "seconds_left": finite_number(seconds_left),
            **live_workers(experiment, workers, now)}


def live_workers(experiment: Experiment, workers: Iterable[WorkerStatus],
                 now: datetime.datetime) -> dict[str, Any]:
    """How many workers serve the experiment now, by its own policy's `stale_after`, counted
    as `hpsearch status` and the driver count them (WorkerStatus.serves_experiment), and
    their hosts."""
    serving = [worker for worker in workers if worker.serves_experiment(experiment.exp_key)
               and worker.is_live(experiment.policy.stale_after, now)]
    return {"live_workers": len(serving),
            "live_hosts": list(dict.fromkeys(_text(worker.host) for worker in serving))}


def front_points(found: Configurations) -> list[dict[str, Any]]:
    """The Pareto front of the configurations at their means, fastest first, as `hpsearch
    pareto` has it (see `queries.pareto_front`)."""
    return [{"tid": configuration.tid, "runs": configuration.runs,
             "seconds": finite_number(configuration.train_seconds),
             "accuracy": finite_number(configuration.accuracy)}
            for configuration in pareto_front(found.pooled)]


def parameter_axes(experiment: Experiment) -> list[dict[str, Any]]:
    """How to draw each searched hyperparameter: its column and title, the branches a trial
    must have taken for it to count (two branches' parameters of one name share a column),
    whether its axis is logarithmic, and its choices in the space's order for a categorical
    one.

    Read from the space record, as `hpsearch plot` does. A space this installation cannot
    rebuild gives no axes; the pages then draw the columns they find, on linear axes.
    """
    from search.reports.plots import plot_data  # draws nothing: the panels' plain data

    try:
        space = spaces.space_from_record(experiment.space)
    except spaces.SpaceError:
        return []
    panels = plot_data((), space, exp_key=experiment.exp_key).parameters
    return [{"column": redact(panel.column), "title": redact(panel.title), "log": panel.log,
             "branches": [[redact(column), redact(branch)] for column, branch in panel.branches],
             "categories": None if panel.categories is None
             else [_plain(category) for category in panel.categories]}
            for panel in panels]


def worker_rows(workers: Iterable[WorkerStatus], stale_after: Mapping[str, float],
                now: datetime.datetime) -> list[dict[str, Any]]:
    """Each worker as the workers page shows it. `stale_after` is each experiment's policy:
    a worker silent longer than its experiment allows is shown as lost."""
    rows = []
    for worker in workers:
        limit = stale_after.get(worker.exp_key or "", DEFAULT_STALE_AFTER)
        rows.append({
            "worker": redact(worker.worker_id), "host": redact(worker.host),
            "device": redact(worker.device), "state": redact(worker.state),
            "last_seen": worker.last_seen.timestamp(),
            "live": worker.is_live(limit, now), "exp_key": worker.exp_key, "tid": worker.tid,
            "jobs_done": worker.jobs_done,
        })
    return rows


def trial_document(job: Mapping[str, Any]) -> dict[str, Any]:
    """A whole job document for the trial's own page: plain JSON, passwords redacted."""
    plain: dict[str, Any] = _plain(dict(job))
    plain.pop("_id", None)
    return plain


def _plain(value: Any) -> Any:
    """Any stored value as JSON: dates as ISO text, other BSON types as their text, non-finite
    numbers as None, and every string redacted."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 53 else str(value)  # beyond a JS number's precision
    if isinstance(value, float):
        return finite_number(value)
    if isinstance(value, Mapping):
        return {_text(str(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return _text(str(value))


@functools.lru_cache(maxsize=4096)
def _redacted(text: str) -> str:
    return redact(text)


def _text(value: Any) -> str | None:
    # Worker ids, devices and reasons repeat across thousands of trials: redact each once.
    return None if value is None else _redacted(value if isinstance(value, str) else str(value))


def _rounded(value: Any) -> float | None:
    number = finite_number(value)
    return None if number is None else round(number, CURVE_DECIMALS)


def _timestamp(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime.datetime) else None
