"""Configurations: every run of the same hyperparameters pooled into one piece of evidence.

A single run's score is noisy: another seed moves a configuration's accuracy by 0.01-0.02
(median; 0.04-0.09 at the 90th percentile) and its training time by about 16%. Ranking single
runs reports the luckiest draw (the winner's curse), and with an accuracy floor a
configuration whose mean accuracy is below the floor heads the table on one lucky seed. So
the runs of one configuration are pooled, and configurations are ranked by what their runs
hold up together:

- the pooled score is mean accuracy / mean training seconds (what a user gets per second over
  many trainings; the mean of per-run scores would favour configurations whose time is noisy,
  since the mean of 1/time grows with its spread);
- a configuration is below the floor when its *mean* accuracy is, whatever its luckiest run
  did;
- the lower confidence bound discounts a score by how little is known of it: fewer runs, or
  noisier ones, give a lower bound. The noise of one run is measured from every configuration
  run more than once, and until there are enough of those it leans on the levels above.

Pure functions over `Trial` views: both stores, the reports, the confirmation schedule and the
benchmarks pool alike.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from search.documents import flatten
from search.trial import Trial

RANKINGS = ("lower_bound", "mean")
DEFAULT_RANKING = "lower_bound"

# A run that diverged says the configuration does not train reliably on every seed; the other
# failures (a lost worker, missing data, a timeout, an exception) say nothing about it.
UNSTABLE_REASONS = frozenset({"diverged"})


@dataclasses.dataclass(frozen=True)
class Confidence:
    """How many standard errors the lower bound takes off.

    Attributes:
        score: Off the pooled score, to rank configurations above the floor.
        floor: Off the mean accuracy, to decide whether it clears the floor. The floor is a
            cliff (a configuration just below it scores nothing), so it asks for more.
        confirmed_runs: A configuration with this many runs is confirmed, and by lower bound
            confirmed ones rank first: one run is one draw, and the luckiest of a hundred
            draws is an outlier that no standard error of the others foresees.
    """

    score: float = 1.0
    floor: float = 1.75
    confirmed_runs: int = 2


DEFAULT_CONFIDENCE = Confidence()


@dataclasses.dataclass(frozen=True)
class NoiseLevel:
    """The seed-to-seed spread of one run.

    Attributes:
        accuracy: Standard deviation of one run's accuracy around its configuration's mean.
        log_seconds: Standard deviation of the log of one run's training time.
        degrees_of_freedom: How many independent differences measured it (0 for a prior).
    """

    accuracy: float
    log_seconds: float
    degrees_of_freedom: int

    def relative_score_spread(self, accuracy: float) -> float:
        """One run's score spread as a fraction of the score, at this mean accuracy."""
        return math.hypot(self.accuracy / max(accuracy, 1e-9), self.log_seconds)


# The levels measured on recorded real runs (MLPs on 8 OpenML tasks, 5 seeds each): a median
# change of 0.01-0.02 in accuracy between two seeds is a spread of about 0.015-0.02 per run,
# and a median change of 16% in time a spread of about 0.17 in its log.
PRIOR_NOISE = NoiseLevel(accuracy=0.02, log_seconds=0.17, degrees_of_freedom=0)
# How many measured differences the prior counts for when it is blended with measurements.
PRIOR_WEIGHT = 2
# How many differences the experiment's spread counts for in one configuration's own.
CONFIGURATION_PRIOR_WEIGHT = 3
# Repeats whose score spreads by less than this fraction show an objective that reproduces:
# its runs are then taken at their word (no discount, single runs as good as confirmed ones),
# and confirmation runs stop (search.confirmation).
REPRODUCIBLE_SPREAD = 0.005
NO_NOISE = NoiseLevel(accuracy=0.0, log_seconds=0.0, degrees_of_freedom=0)


@dataclasses.dataclass(frozen=True)
class Configuration:
    """The runs of one set of hyperparameters, and what they show together.

    Attributes:
        key: The canonical form of the hyperparameters (equal keys: the same configuration).
        params: The hyperparameters, as the objective received them.
        trials: Every run, finished or not, in tid order; the first is the original.
        runs: Runs that finished with a score (below the floor included).
        failed: Runs that failed; `unstable` when one of them diverged.
        pending: Runs queued or running.
        accuracy: Mean accuracy over the scored runs.
        train_seconds: Mean training time over the scored runs.
        accuracy_spread, seconds_spread, score_spread: Sample standard deviations over the
            scored runs (of accuracy, time, and each run's own accuracy per second); None
            with fewer than two.
        below_floor: The mean accuracy is below the experiment's accuracy floor.
        score: Mean accuracy / mean training seconds; 0.0 below the floor; None unscored.
        lower_bound: The score less `Confidence.score` standard errors (multiplicatively,
            so it stays positive); 0.0 when `accuracy_lower_bound` is below the floor (the
            score's own lower end is then the floor's 0); None unscored.
        accuracy_lower_bound: The mean accuracy less `Confidence.floor` standard errors (for
            the floor, never less than the experiment's spread over the root of the runs).
    """

    key: str
    params: dict[str, Any]
    trials: tuple[Trial, ...]
    runs: int
    failed: int
    pending: int
    unstable: bool
    accuracy: float | None
    train_seconds: float | None
    accuracy_spread: float | None
    seconds_spread: float | None
    score_spread: float | None
    below_floor: bool
    score: float | None
    lower_bound: float | None
    accuracy_lower_bound: float | None

    @property
    def tid(self) -> int:
        """The original trial's id: what a repeat links to."""
        return self.trials[0].tid

    @property
    def is_scored(self) -> bool:
        return self.score is not None

    @property
    def pruned(self) -> bool:
        """Every scored run was stopped early: the means are those of runs cut short."""
        scored = self.scored_trials()
        return bool(scored) and all(trial.pruned for trial in scored)

    def scored_trials(self) -> list[Trial]:
        return [trial for trial in self.trials if _is_pooled(trial)]

    def row(self) -> dict[str, Any]:
        """One flat row: the original's tid, the runs and what they show together, every
        hyperparameter (what `hpsearch best` prints). The test accuracy is the scored runs'
        mean, shown and never ranked by."""
        tested = [trial.test_accuracy for trial in self.scored_trials()
                  if trial.test_accuracy is not None]
        return {
            "tid": self.tid,
            "runs": self.runs,
            "score": self.score,
            "lower_bound": self.lower_bound,
            "accuracy": self.accuracy,
            "accuracy_spread": self.accuracy_spread,
            "test_accuracy": _mean(tested) if tested else None,
            "train_seconds": self.train_seconds,
            "seconds_spread": self.seconds_spread,
            "below_floor": self.below_floor,
            **flatten(self.params),
            "failed": self.failed,
            "tids": ",".join(str(trial.tid) for trial in self.trials),
        }

    def value(self, ranking: str) -> float:
        """The number `ranking` sorts by (higher is better)."""
        value = self.lower_bound if ranking == "lower_bound" else self.score
        assert value is not None, "only scored configurations are ranked"
        return value


def configuration_key(trial: Trial) -> str:
    """The canonical form of a trial's hyperparameters: runs with equal keys are pooled.

    The params the objective received, as sorted JSON (floats written exactly, so a repeat
    that copies its original's values has its key and nothing else does). A trial without
    stored params (the database could not store them) falls back to Hyperopt's `misc.vals`
    when its document holds them.
    """
    if trial.params:
        return "params:" + _canonical(trial.params)
    misc = trial.job.get("misc")
    vals = misc.get("vals") if isinstance(misc, Mapping) else None
    if isinstance(vals, Mapping):
        return "vals:" + _canonical({label: values for label, values in vals.items() if values})
    return "params:" + _canonical({})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def pool(trials: Iterable[Trial], min_accuracy: float, *,
         confidence: Confidence = DEFAULT_CONFIDENCE,
         include_pruned: bool = False) -> list[Configuration]:
    """Every configuration among `trials`, in the order of their first run.

    Args:
        trials: Runs of one experiment, in any state.
        min_accuracy: The experiment's accuracy floor, applied to each configuration's mean.
        confidence: Standard errors off the score and the accuracy for `lower_bound`.
        include_pruned: Count pruned runs as runs. By default they are left out: a pruned
            run's accuracy and seconds are those of training cut short, not of the
            configuration trained as asked. The noise is measured without them either way.
    """
    groups: dict[str, list[Trial]] = {}
    for trial in sorted(trials, key=lambda trial: trial.tid):
        if include_pruned or not trial.pruned:
            groups.setdefault(configuration_key(trial), []).append(trial)
    measured = measured_noise([trial for trial in runs if not trial.pruned]
                              for runs in groups.values())
    noise = NO_NOISE if reproduces(measured) else blended_noise(measured)
    import os
    if os.environ.get("C5_POP", "none").startswith("pnear"):
        priors = _c5_param_priors(list(groups.values()), noise)
        return [_configuration(key, runs, min_accuracy, noise, confidence, priors.get(key))
                for key, runs in groups.items()]
    if os.environ.get("C5_POP", "none").startswith("near"):
        priors = _c5_local_priors(list(groups.values()), noise)
        return [_configuration(key, runs, min_accuracy, noise, confidence, priors.get(key))
                for key, runs in groups.items()]
    prior = _c5_prior(groups.values(), noise)
    return [_configuration(key, runs, min_accuracy, noise, confidence, prior)
            for key, runs in groups.items()]


def _c5_local_priors(groups: list[list[Trial]],
                     noise: NoiseLevel) -> dict[str, tuple[float, float]]:
    import os
    if noise.accuracy == 0:
        return {}
    h = float(os.environ["C5_POP"].partition(":")[2])
    rows = []
    for runs in groups:
        scored = [trial for trial in runs if _is_pooled(trial)]
        if scored:
            accuracy = _mean([_accuracy(t) for t in scored])
            seconds = _mean([_seconds(t) for t in scored])
            rows.append((configuration_key(runs[0]), math.log(max(accuracy, 1e-9) / seconds),
                         accuracy, len(scored)))
    priors = {}
    taumin = float(os.environ.get("C5_TAUMIN", "0.1"))
    for key, log_score, _, _ in rows:
        weights = [math.exp(-0.5 * ((row[1] - log_score) / h) ** 2) for row in rows]
        total = math.fsum(weights)
        effective = total**2 / math.fsum(w * w for w in weights)
        if effective < 5:
            continue
        pairs = list(zip(weights, rows, strict=True))
        mu = math.fsum(w * row[2] for w, row in pairs) / total
        var = math.fsum(w * (row[2] - mu) ** 2 for w, row in pairs) / total
        var *= effective / (effective - 1)
        noise_var = math.fsum(w * noise.accuracy**2 / row[3] for w, row in pairs) / total
        priors[key] = (mu, max(var - noise_var, taumin * noise_var))
    return priors


def _c5_prior(groups: Iterable[list[Trial]], noise: NoiseLevel) -> tuple[float, float] | None:
    import os
    spec = os.environ.get("C5_POP", "none")
    if spec == "none" or noise.accuracy == 0:
        return None
    rows = []
    for runs in groups:
        scored = [trial for trial in runs if _is_pooled(trial)]
        if scored:
            accuracy = _mean([_accuracy(t) for t in scored])
            seconds = _mean([_seconds(t) for t in scored])
            rows.append((accuracy / seconds, accuracy, len(scored)))
    kind, _, number = spec.partition(":")
    if kind == "top":
        rows = sorted(rows, key=lambda row: -row[0])[: int(number)]
    elif kind == "topfrac":
        rows = sorted(rows, key=lambda row: -row[0])[: max(5, int(len(rows) * float(number)))]
    if len(rows) < 5:
        return None
    means = [row[1] for row in rows]
    mu = _mean(means)
    observed = _sum_of_squares(means) / (len(means) - 1)
    noise_var = _mean([noise.accuracy ** 2 / row[2] for row in rows])
    tau2 = max(observed - noise_var, float(os.environ.get("C5_TAUMIN", "0.1")) * noise_var)
    return mu, tau2


def rank(configurations: Iterable[Configuration], ranking: str = DEFAULT_RANKING,
         confidence: Confidence = DEFAULT_CONFIDENCE) -> list[Configuration]:
    """Scored configurations, best first, by `ranking` (`lower_bound` or `mean`).

    Those whose mean accuracy clears the floor come first, best value first. By lower bound,
    those whose accuracy clears it by the margin of their uncertainty come first, confirmed
    ones (`confidence.confirmed_runs` runs) before the others, then those that do not yet,
    the likeliest to clear it (by the lower bound of their accuracy) first. Then come those
    with a diverged run among their scored ones, and last those below the floor, the most
    accurate first. Ties go to the earlier original, so the answer is stable.

    Raises:
        ValueError: an unknown ranking.
    """
    if ranking not in RANKINGS:
        raise ValueError(f"unknown ranking {ranking!r}; known: {', '.join(RANKINGS)}")
    scored = [configuration for configuration in configurations if configuration.is_scored]
    return sorted(scored, key=lambda configuration: _rank_key(configuration, ranking,
                                                              confidence))


def _rank_key(configuration: Configuration, ranking: str,
              confidence: Confidence) -> tuple[float, ...]:
    assert configuration.accuracy is not None and configuration.score is not None
    if configuration.below_floor:
        return (4, -configuration.accuracy, configuration.tid)
    if configuration.unstable:
        return (3, -configuration.value(ranking), configuration.tid)
    if ranking == "mean":
        return (0, -configuration.score, configuration.tid)
    if configuration.lower_bound == 0:  # not yet shown above the floor: the likeliest first
        assert configuration.accuracy_lower_bound is not None
        return (2, -configuration.accuracy_lower_bound, configuration.tid)
    # Without noise a single run is as good as confirmed: its bound is its score.
    unconfirmed = configuration.runs < confidence.confirmed_runs \
        and configuration.value(ranking) < configuration.score
    return (int(unconfirmed), -configuration.value(ranking), configuration.tid)


def best_configuration(trials: Iterable[Trial], min_accuracy: float, *,
                       ranking: str = DEFAULT_RANKING,
                       confidence: Confidence = DEFAULT_CONFIDENCE) -> Configuration | None:
    """The configuration the evidence supports best, or None before the first score."""
    ranked = rank(pool(trials, min_accuracy, confidence=confidence), ranking, confidence)
    return ranked[0] if ranked else None


def measured_noise(groups: Iterable[Sequence[Trial]]) -> NoiseLevel | None:
    """The spread of one run, pooled over every configuration with two or more scored runs
    (the within-configuration variance, weighted by its degrees of freedom); None without
    such a configuration."""
    accuracy_squares = seconds_squares = 0.0
    freedom = 0
    for runs in groups:
        scored = [trial for trial in runs if _is_pooled(trial)]
        if len(scored) < 2:
            continue
        accuracies = [_accuracy(trial) for trial in scored]
        log_seconds = [math.log(_seconds(trial)) for trial in scored]
        accuracy_squares += _sum_of_squares(accuracies)
        seconds_squares += _sum_of_squares(log_seconds)
        freedom += len(scored) - 1
    if not freedom:
        return None
    return NoiseLevel(math.sqrt(accuracy_squares / freedom),
                      math.sqrt(seconds_squares / freedom), freedom)


def reproduces(measured: NoiseLevel | None) -> bool:
    """Whether the repeats measured show the objective reproducing (REPRODUCIBLE_SPREAD)."""
    return measured is not None and measured.relative_score_spread(1.0) < REPRODUCIBLE_SPREAD


def blended_noise(measured: NoiseLevel | None, prior: NoiseLevel = PRIOR_NOISE,
                  prior_weight: int = PRIOR_WEIGHT) -> NoiseLevel:
    """The measured spread, with the prior counted as `prior_weight` measured differences:
    a few repeats cannot talk the spread down to nothing, many can."""
    if measured is None:
        return prior
    total = prior_weight + measured.degrees_of_freedom

    def blend(prior_sd: float, measured_sd: float) -> float:
        variance = prior_weight * prior_sd**2 + measured.degrees_of_freedom * measured_sd**2
        return math.sqrt(variance / total)

    return NoiseLevel(blend(prior.accuracy, measured.accuracy),
                      blend(prior.log_seconds, measured.log_seconds), total)


def _configuration(key: str, trials: list[Trial], min_accuracy: float, noise: NoiseLevel,
                   confidence: Confidence,
                   prior: tuple[float, float] | None = None) -> Configuration:
    scored = [trial for trial in trials if _is_pooled(trial)]
    failed = [trial for trial in trials if trial.state == "failed"]
    accuracies = [_accuracy(trial) for trial in scored]
    seconds = [_seconds(trial) for trial in scored]
    accuracy = train_seconds = score = lower_bound = accuracy_lower_bound = None
    below_floor = False
    if scored:
        accuracy, train_seconds = _mean(accuracies), _mean(seconds)
        below_floor = accuracy < min_accuracy
        score = 0.0 if below_floor else accuracy / train_seconds
        # Each configuration's spread is its own runs' shrunk towards the experiment's: two
        # runs cannot show a configuration to be reliable, several can show it to be erratic.
        accuracy_error = _shrunk(noise.accuracy, accuracies) / math.sqrt(len(scored))
        log_seconds_error = _shrunk(noise.log_seconds, [math.log(s) for s in seconds]) / \
            math.sqrt(len(scored))
        # The floor test goes further: a few runs never make a configuration's accuracy less
        # noisy than the experiment's. A bad seed now and then drags a mean down, and two or
        # three runs that all missed it look steadier than the configuration is.
        floor_error = max(accuracy_error, noise.accuracy / math.sqrt(len(scored)))
        post_mean, post_sd = accuracy, floor_error
        if prior is not None and floor_error > 0:
            precision = 1 / prior[1] + 1 / floor_error**2
            post_mean = (prior[0] / prior[1] + accuracy / floor_error**2) / precision
            post_sd = math.sqrt(1 / precision)
        accuracy_lower_bound = post_mean - confidence.floor * post_sd
        relative_error = math.hypot(accuracy_error / max(accuracy, 1e-9), log_seconds_error)
        import os
        ranked_score = score
        if os.environ.get("C5_RANK") == "1" and not below_floor:
            ranked_score = post_mean / train_seconds
        lower_bound = 0.0 if accuracy_lower_bound < min_accuracy else \
            ranked_score * math.exp(-confidence.score * relative_error)
    return Configuration(
        key=key,
        params=trials[0].params,
        trials=tuple(trials),
        runs=len(scored),
        failed=len(failed),
        pending=sum(trial.state in ("queued", "running") for trial in trials),
        unstable=bool(scored) and any(trial.reason in UNSTABLE_REASONS for trial in failed),
        accuracy=accuracy,
        train_seconds=train_seconds,
        accuracy_spread=_spread(accuracies),
        seconds_spread=_spread(seconds),
        score_spread=_spread([a / s for a, s in zip(accuracies, seconds, strict=True)]),
        below_floor=below_floor,
        score=score,
        lower_bound=lower_bound,
        accuracy_lower_bound=accuracy_lower_bound,
    )


def _shrunk(experiment_sd: float, values: list[float]) -> float:
    """The spread of `values` with the experiment's counted as `CONFIGURATION_PRIOR_WEIGHT`
    differences."""
    weight = CONFIGURATION_PRIOR_WEIGHT
    variance = weight * experiment_sd**2 + _sum_of_squares(values)
    return math.sqrt(variance / (weight + len(values) - 1))


def _is_pooled(trial: Trial) -> bool:
    """A scored run (pruned runs reach a configuration only when `pool` is asked for them)."""
    return trial.is_scored and _seconds(trial) > 0


def _accuracy(trial: Trial) -> float:
    assert trial.accuracy is not None
    return trial.accuracy


def _seconds(trial: Trial) -> float:
    assert trial.train_seconds is not None
    return trial.train_seconds


def _mean(values: Sequence[float]) -> float:
    """The mean, exactly the value when all are equal (so one run, or equal runs, sit on the
    same side of the floor as each run does)."""
    base = values[0]
    return base + math.fsum(value - base for value in values) / len(values)


def _sum_of_squares(values: Sequence[float]) -> float:
    mean = _mean(values)
    return math.fsum((value - mean) ** 2 for value in values)


def _spread(values: Sequence[float]) -> float | None:
    return math.sqrt(_sum_of_squares(values) / (len(values) - 1)) if len(values) > 1 else None


def _c5_param_priors(groups: list[list[Trial]],
                     noise: NoiseLevel) -> dict[str, tuple[float, float]]:
    import os

    import numpy as np
    if noise.accuracy == 0:
        return {}
    h = float(os.environ["C5_POP"].partition(":")[2])
    taumin = float(os.environ.get("C5_TAUMIN", "0.1"))
    keys, flats, accs, ns = [], [], [], []
    for runs in groups:
        scored = [trial for trial in runs if _is_pooled(trial)]
        if scored:
            keys.append(configuration_key(runs[0]))
            flats.append(flatten(runs[0].params))
            accs.append(_mean([_accuracy(t) for t in scored]))
            ns.append(len(scored))
    k = len(keys)
    if k < 6:
        return {}
    columns = sorted({c for f in flats for c in f})
    d2 = np.zeros((k, k))
    for column in columns:
        values = [f.get(column) for f in flats]
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric and len(numeric) == sum(v is not None for v in values):
            logs = all(v > 0 for v in numeric)
            x = np.array([np.nan if v is None else (math.log(v) if logs else float(v))
                          for v in values])
            sd = np.nanstd(x) or 1.0
            diff = (x[:, None] - x[None, :]) / sd
            diff = np.where(np.isnan(diff), 1.0, diff)
            d2 += diff**2
        else:
            labels = np.array([json.dumps(v) for v in values])
            d2 += labels[:, None] != labels[None, :]
    weights = np.exp(-0.5 * d2 / h**2)
    np.fill_diagonal(weights, 0.0)
    accs_a, noise_var = np.array(accs), noise.accuracy**2 / np.array(ns)
    priors = {}
    for i, key in enumerate(keys):
        w = weights[i]
        total = w.sum()
        if total <= 0:
            continue
        effective = total**2 / (w * w).sum()
        if effective < 3:
            continue
        mu = float((w * accs_a).sum() / total)
        var = float((w * (accs_a - mu) ** 2).sum() / total) * effective / (effective - 1)
        nv = float((w * noise_var).sum() / total)
        priors[key] = (mu, max(var - nv, taumin * nv) + nv / effective)
    return priors
