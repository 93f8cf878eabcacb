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
  run more than once, and until there are enough of those it leans on the levels above;
- whether a configuration clears the floor is judged against the other configurations that
  compete for the report (empirical Bayes, `Population`): the fast ones sit just around the
  floor, and the best-looking of many is the luckiest, so its few runs are shrunk towards what
  the population's spread says its true mean is likely to be. Without noise nothing shrinks.

Pure functions over `Trial` views: both stores, the reports, the confirmation schedule and the
benchmarks pool alike.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from search.documents import JOB_STATE_NEW, param_columns
from search.means import pooled_mean
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
    floor: float = 1.7
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

    def surely_below(self, spread: float) -> bool:
        """Whether one run's relative score spread (at accuracy 1) is below `spread` even
        at the upper end of what these few differences allow (90% one-sided, chi-square):
        one lucky pair of runs that happened to agree must not pass for an objective that
        reproduces, while runs that agree exactly do from the first pair."""
        freedom = max(self.degrees_of_freedom, 1)
        return self.relative_score_spread(1.0) * math.sqrt(
            freedom / _chi_square_lower_decile(freedom)) < spread


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
# The population a configuration's accuracy is judged against: this many configurations, the
# best by pooled score with the floor ignored (mean accuracy / mean seconds), the fast ones
# around the floor that compete for the report. Chosen by `benchmarks/confirmed_best.py`.
POPULATION_SIZE = 20
# With fewer scored configurations there is no population to speak of: none is used.
MIN_POPULATION = 5
# The population's variance is at least this share of the noise of its means: when their
# spread is all noise, configurations are alike but not identical, and none collapses onto
# the population's mean.
MIN_POPULATION_VARIANCE = 0.1


@dataclasses.dataclass(frozen=True)
class Population:
    """The true mean accuracies of the configurations that compete for the report, as a normal
    distribution, and what it says of one configuration (normal-normal empirical Bayes).

    Attributes:
        mean: Their mean accuracy.
        variance: The variance of their *true* means: the spread of their observed means less
            the noise of a mean of their runs (deconvolution).
    """

    mean: float
    variance: float

    def posterior(self, accuracy: float, error: float) -> tuple[float, float]:
        """The mean and standard deviation of a configuration's true mean accuracy, given its
        observed mean `accuracy` with standard error `error`: shrunk towards the population,
        the more the larger the error is against the population's spread."""
        if error <= 0:
            return accuracy, 0.0
        precision = 1 / self.variance + 1 / error**2
        return (self.mean / self.variance + accuracy / error**2) / precision, \
            math.sqrt(1 / precision)


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
        posterior_accuracy: What the runs and the population (`Population`) say the true mean
            accuracy is: the floor test goes by it; equal to `accuracy` without noise or
            without a population.
        train_seconds: Mean training time over the scored runs.
        accuracy_spread, seconds_spread, score_spread: Sample standard deviations over the
            scored runs (of accuracy, time, and each run's own accuracy per second); None
            with fewer than two.
        below_floor: The mean accuracy is below the experiment's accuracy floor.
        score: Mean accuracy / mean training seconds; 0.0 below the floor; None unscored.
        lower_bound: The score less `Confidence.score` standard errors (multiplicatively,
            so it stays positive); 0.0 when `accuracy_lower_bound` is below the floor (the
            score's own lower end is then the floor's 0); None unscored.
        accuracy_lower_bound: `posterior_accuracy` less `Confidence.floor` posterior standard
            deviations (the runs' standard error never less than the experiment's spread over
            the root of the runs, then combined with the population).
    """

    key: str
    params: dict[str, Any]
    trials: tuple[Trial, ...]
    runs: int
    failed: int
    pending: int
    unstable: bool
    accuracy: float | None
    posterior_accuracy: float | None
    train_seconds: float | None
    accuracy_spread: float | None
    seconds_spread: float | None
    score_spread: float | None
    below_floor: bool
    score: float | None
    lower_bound: float | None
    accuracy_lower_bound: float | None

    def __repr__(self) -> str:
        # What a notebook wants at a glance; the runs and the key stay in the fields.
        shown = ", ".join(f"{name}={value!r}" for name, value in (
            ("tid", self.tid), ("runs", self.runs), ("accuracy", self.accuracy),
            ("train_seconds", self.train_seconds), ("score", self.score),
            ("below_floor", self.below_floor), ("params", self.params)))
        return f"Configuration({shown})"

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

    def row(self, *, taken: Collection[str] = (), pruned_runs: bool = False
            ) -> dict[str, Any]:
        """One flat row: the original's tid, the runs and what they show together, every
        hyperparameter (what `hpsearch best` prints). The test accuracy is the scored runs'
        mean, shown and never ranked by. `taken` names columns the caller adds, which a
        hyperparameter's column must not overwrite either. `pruned_runs` counts the pooled
        runs that were pruned on every row (0 included), for a table that pooled them."""
        tested = [trial.test_accuracy for trial in self.scored_trials()
                  if trial.test_accuracy is not None]
        head = {
            "tid": self.tid,
            "runs": self.runs,
            "score": self.score,
            "lower_bound": self.lower_bound,
            "accuracy": self.accuracy,
            "accuracy_spread": self.accuracy_spread,
            "test_accuracy": pooled_mean(tested) if tested else None,
            "train_seconds": self.train_seconds,
            "seconds_spread": self.seconds_spread,
            "below_floor": self.below_floor,
        }
        pruned = sum(trial.pruned for trial in self.scored_trials())
        tail = {
            "failed": self.failed,
            # Only where pruned runs were pooled (include_pruned): their means are cut short.
            **({"pruned_runs": pruned} if pruned or pruned_runs else {}),
            "tids": ",".join(str(trial.tid) for trial in self.trials),
        }
        # pruned_runs is taken on every row, shown or not, so a hyperparameter of that name
        # has one column on every row.
        reserved = {*head, *tail, "pruned_runs", *taken}
        return {**head, **param_columns(self.params, reserved), **tail}

    def value(self, ranking: str) -> float:
        """The number `ranking` sorts by (higher is better)."""
        value = self.lower_bound if ranking == "lower_bound" else self.score
        assert value is not None, "only scored configurations are ranked"
        return value


def configuration_columns() -> list[str]:
    """The columns of every configuration's row, hyperparameters aside: a table of none
    names them, so that a script reading the CSV finds its columns."""
    blank = Trial.from_job({"tid": 0, "state": JOB_STATE_NEW})
    return list(_configuration("", [blank], 0.0, NO_NOISE, DEFAULT_CONFIDENCE, None).row())


def configuration_key(trial: Trial) -> str:
    """The canonical form of a trial's hyperparameters (`Trial.configuration_key`): runs with
    equal keys are pooled."""
    return trial.configuration_key


class PoolCache:
    """What `pool` worked out for each configuration, kept while its runs and the noise stay
    as they were (and its bounds while the population it is judged against does too). A
    search pools its growing history again before each proposal (the confirmation
    schedule); with this, that costs a pass over the trials, not their statistics again. The
    answers are the same."""

    def __init__(self) -> None:
        self._summaries: dict[str, tuple[tuple[Trial, ...], Summary | None]] = {}
        self._measured: dict[str, tuple[tuple[Any, ...], _Measured]] = {}  # by runs
        self._configurations: dict[str, tuple[tuple[Any, ...], Configuration]] = {}

    def summary(self, key: str, runs: Sequence[Trial]) -> Summary | None:
        seen = tuple(runs)  # equal runs compare by identity first: the ledger keeps them
        kept = self._summaries.get(key)
        if kept is None or kept[0] != seen:
            kept = self._summaries[key] = (seen, summary(runs))
        return kept[1]

    def measured(self, key: str, runs: Sequence[Trial], min_accuracy: float) -> Configuration:
        """The configuration as its own runs show it, its bounds not yet set (None)."""
        return self._measurement(key, runs, min_accuracy).configuration

    def configuration(self, key: str, runs: Sequence[Trial], min_accuracy: float,
                      noise: NoiseLevel, confidence: Confidence,
                      competing: Population | None) -> Configuration:
        measured = self._measurement(key, runs, min_accuracy)
        judged = (measured, noise, confidence, competing)
        kept = self._configurations.get(key)
        if kept is None or kept[0][0] is not measured or kept[0][1:] != judged[1:]:
            kept = self._configurations[key] = (judged, _judged(measured, min_accuracy,
                                                                 noise, confidence, competing))
        return kept[1]

    def _measurement(self, key: str, runs: Sequence[Trial], min_accuracy: float) -> _Measured:
        seen = (tuple(runs), min_accuracy)  # equal runs compare by identity first
        kept = self._measured.get(key)
        if kept is None or kept[0] != seen:
            kept = self._measured[key] = (seen, _measured(key, runs, min_accuracy))
        return kept[1]


def pool(trials: Iterable[Trial], min_accuracy: float, *,
         confidence: Confidence = DEFAULT_CONFIDENCE,
         include_pruned: bool = False, cache: PoolCache | None = None) -> list[Configuration]:
    """Every configuration among `trials`, in the order of their first run.

    Args:
        trials: Runs of one experiment, in any state.
        min_accuracy: The experiment's accuracy floor, applied to each configuration's mean.
        confidence: Standard errors off the score and the accuracy for `lower_bound`.
        include_pruned: Count pruned runs as runs. By default they are left out: a pruned
            run's accuracy and seconds are those of training cut short, not of the
            configuration trained as asked. The noise is measured without them either way.
        cache: What an earlier pooling of the same experiment worked out, to reuse.
    """
    groups: dict[str, list[Trial]] = {}
    for trial in sorted(trials, key=lambda trial: trial.tid):
        if include_pruned or not trial.pruned:
            groups.setdefault(configuration_key(trial), []).append(trial)
    measured = measured_noise([trial for trial in runs if not trial.pruned]
                              for runs in groups.values() if len(runs) > 1)
    noise = judging_noise(measured)
    cache = PoolCache() if cache is None else cache
    competing = competing_population([cache.summary(key, runs) for key, runs in groups.items()],
                                     noise)
    return [cache.configuration(key, runs, min_accuracy, noise, confidence, competing)
            for key, runs in groups.items()]


def population(groups: Iterable[Sequence[Trial]], noise: NoiseLevel,
               size: int = POPULATION_SIZE) -> Population | None:
    """The population of the `size` configurations (lists of runs) with the best pooled score,
    the floor ignored; None without noise or with fewer than `MIN_POPULATION` scored ones.

    Its variance is the sample variance of their mean accuracies less the mean noise variance
    of a mean of their runs (`noise.accuracy`**2 / runs), at least `MIN_POPULATION_VARIANCE`
    of the latter.
    """
    return competing_population([summary(runs) for runs in groups], noise, size)


Summary = tuple[float, float, int]  # a configuration's pooled score, mean accuracy, runs


def summary(runs: Sequence[Trial]) -> Summary | None:
    """What `population` reads of a configuration (None: no scored run)."""
    scored = [trial for trial in runs if _is_pooled(trial)]
    if not scored:
        return None
    accuracy = pooled_mean([_accuracy(trial) for trial in scored])
    seconds = pooled_mean([_seconds(trial) for trial in scored])
    return accuracy / seconds, accuracy, len(scored)


def competing_population(summaries: Iterable[Summary | None], noise: NoiseLevel,
                         size: int = POPULATION_SIZE) -> Population | None:
    """`population` from the configurations' summaries."""
    if noise.accuracy == 0:
        return None
    competing = sorted((summary for summary in summaries if summary is not None),
                       key=lambda summary: -summary[0])[:size]
    if len(competing) < MIN_POPULATION:
        return None
    accuracies = [accuracy for _, accuracy, _ in competing]
    spread = _sum_of_squares(accuracies) / (len(accuracies) - 1)
    noise_variance = pooled_mean([noise.accuracy**2 / runs for _, _, runs in competing])
    return Population(pooled_mean(accuracies), max(spread - noise_variance,
                                             MIN_POPULATION_VARIANCE * noise_variance))


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
    return sorted(scored, key=lambda configuration: rank_key(configuration, ranking,
                                                             confidence))


# The first number of `rank_key` for a configuration with a diverged run, and for one below
# the floor by its mean (0 to 2 rank those above it).
UNSTABLE_RANK = 3
BELOW_FLOOR_RANK = 4


def rank_key(configuration: Configuration, ranking: str,
             confidence: Confidence = DEFAULT_CONFIDENCE) -> tuple[float, ...]:
    """What `rank` sorts a scored configuration by (smaller first). By mean it needs only the
    configuration's own runs (`PoolCache.measured`); by lower bound, its bounds too."""
    assert configuration.accuracy is not None and configuration.score is not None
    if configuration.below_floor:
        return (BELOW_FLOOR_RANK, -configuration.accuracy, configuration.tid)
    if configuration.unstable:
        return (UNSTABLE_RANK, -configuration.value(ranking), configuration.tid)
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
                       confidence: Confidence = DEFAULT_CONFIDENCE,
                       cache: PoolCache | None = None) -> Configuration | None:
    """The configuration the evidence supports best, or None before the first score."""
    ranked = rank(pool(trials, min_accuracy, confidence=confidence, cache=cache), ranking,
                  confidence)
    return ranked[0] if ranked else None


def measured_noise(groups: Iterable[Sequence[Trial]]) -> NoiseLevel | None:
    """The spread of one run, pooled over every configuration with two or more scored runs
    (the within-configuration variance, weighted by its degrees of freedom); None without
    such a configuration."""
    return noise_from(parts for runs in groups if (parts := noise_parts(runs)) is not None)


NoiseParts = tuple[float, float, int]  # squared deviations of accuracy, of log seconds; freedom


def noise_parts(runs: Sequence[Trial]) -> NoiseParts | None:
    """What one configuration's runs add to `measured_noise` (None: fewer than two scored)."""
    scored = [trial for trial in runs if _is_pooled(trial)]
    if len(scored) < 2:
        return None
    return (_sum_of_squares([_accuracy(trial) for trial in scored]),
            _sum_of_squares([math.log(_seconds(trial)) for trial in scored]), len(scored) - 1)


def noise_from(parts: Iterable[NoiseParts]) -> NoiseLevel | None:
    """`measured_noise` from every configuration's parts, the same in any order (the sums are
    exact before their one rounding), so a history kept piece by piece measures what one
    read whole does."""
    listed = list(parts)
    freedom = sum(part[2] for part in listed)
    if not freedom:
        return None
    return NoiseLevel(math.sqrt(math.fsum(part[0] for part in listed) / freedom),
                      math.sqrt(math.fsum(part[1] for part in listed) / freedom), freedom)


def reproduces(measured: NoiseLevel | None) -> bool:
    """Whether the repeats measured show the objective reproducing (REPRODUCIBLE_SPREAD)."""
    return measured is not None and measured.surely_below(REPRODUCIBLE_SPREAD)


def judging_noise(measured: NoiseLevel | None) -> NoiseLevel:
    """The noise configurations are judged by: none once the repeats show the objective
    reproducing, else the measured spread blended with the prior."""
    return NO_NOISE if reproduces(measured) else blended_noise(measured)


# The 10% quantile of the chi-square distribution with 1 to 10 degrees of freedom.
_CHI_SQUARE_LOWER_DECILES = (0.01579, 0.2107, 0.5844, 1.0636, 1.6103, 2.2041, 2.8331, 3.4895,
                             4.1682, 4.8652)


def _chi_square_lower_decile(freedom: int) -> float:
    if freedom <= len(_CHI_SQUARE_LOWER_DECILES):
        return _CHI_SQUARE_LOWER_DECILES[freedom - 1]
    # Wilson and Hilferty's cube-root approximation, within 1% beyond ten.
    ninth = 2 / (9 * freedom)
    return freedom * (1 - ninth - 1.2816 * math.sqrt(ninth)) ** 3


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
                   confidence: Confidence, competing: Population | None) -> Configuration:
    return _judged(_measured(key, trials, min_accuracy), min_accuracy, noise, confidence,
                   competing)


@dataclasses.dataclass(frozen=True)
class _Measured:
    """What a configuration's own runs show, before the experiment's noise and population
    judge it: a run of another configuration moves those, not this."""

    configuration: Configuration  # its bounds not yet set
    accuracy_squares: float = 0.0  # the sums of squared deviations from the runs' means
    log_seconds_squares: float = 0.0


def _measured(key: str, trials: Sequence[Trial], min_accuracy: float) -> _Measured:
    scored = [trial for trial in trials if _is_pooled(trial)]
    failed = [trial for trial in trials if trial.state == "failed"]
    accuracies = [_accuracy(trial) for trial in scored]
    seconds = [_seconds(trial) for trial in scored]
    accuracy = train_seconds = score = None
    below_floor = False
    if scored:
        accuracy, train_seconds = pooled_mean(accuracies), pooled_mean(seconds)
        below_floor = accuracy < min_accuracy
        score = 0.0 if below_floor else accuracy / train_seconds
    configuration = Configuration(
        key=key,
        params=trials[0].params,
        trials=tuple(trials),
        runs=len(scored),
        failed=len(failed),
        pending=sum(trial.state in ("queued", "running") for trial in trials),
        unstable=bool(scored) and any(trial.reason in UNSTABLE_REASONS for trial in failed),
        accuracy=accuracy,
        posterior_accuracy=None,
        train_seconds=train_seconds,
        accuracy_spread=_spread(accuracies),
        seconds_spread=_spread(seconds),
        score_spread=_spread([a / s for a, s in zip(accuracies, seconds, strict=True)]),
        below_floor=below_floor,
        score=score,
        lower_bound=None,
        accuracy_lower_bound=None,
    )
    if not scored:
        return _Measured(configuration)
    return _Measured(configuration, _sum_of_squares(accuracies),
                     _sum_of_squares([math.log(s) for s in seconds]))


def _judged(measured: _Measured, min_accuracy: float, noise: NoiseLevel,
            confidence: Confidence, competing: Population | None) -> Configuration:
    """The configuration with its bounds, from its runs and the experiment's noise and
    population."""
    configuration = measured.configuration
    if configuration.accuracy is None or configuration.score is None:
        return configuration
    runs = configuration.runs
    # Each configuration's spread is its own runs' shrunk towards the experiment's: two runs
    # cannot show a configuration to be reliable, several can show it to be erratic.
    accuracy_error = _shrunk(noise.accuracy, measured.accuracy_squares, runs) / math.sqrt(runs)
    log_seconds_error = _shrunk(noise.log_seconds, measured.log_seconds_squares, runs) / \
        math.sqrt(runs)
    # The floor test goes further: a few runs never make a configuration's accuracy less
    # noisy than the experiment's. A bad seed now and then drags a mean down, and two or
    # three runs that all missed it look steadier than the configuration is.
    floor_error = max(accuracy_error, noise.accuracy / math.sqrt(runs))
    # And the best-looking of many configurations near the floor is the luckiest: the
    # population of those that compete says how far its runs flatter it.
    posterior_accuracy, posterior_error = (configuration.accuracy, floor_error) \
        if competing is None else competing.posterior(configuration.accuracy, floor_error)
    accuracy_lower_bound = posterior_accuracy - confidence.floor * posterior_error
    relative_error = math.hypot(accuracy_error / max(configuration.accuracy, 1e-9),
                                log_seconds_error)
    lower_bound = 0.0 if accuracy_lower_bound < min_accuracy else \
        configuration.score * math.exp(-confidence.score * relative_error)
    return _with_bounds(configuration, posterior_accuracy=posterior_accuracy,
                        accuracy_lower_bound=accuracy_lower_bound, lower_bound=lower_bound)


def _with_bounds(configuration: Configuration, **bounds: float) -> Configuration:
    """`dataclasses.replace(configuration, **bounds)`, a fifth of its cost: every proposal
    judges every configuration again once the population moved, and a frozen dataclass's
    __init__ sets each of its fields through object.__setattr__."""
    judged = object.__new__(Configuration)
    judged.__dict__.update(configuration.__dict__, **bounds)
    return judged


def _shrunk(experiment_sd: float, sum_of_squares: float, runs: int) -> float:
    """The spread of `runs` values whose squared deviations sum to `sum_of_squares`, with the
    experiment's counted as `CONFIGURATION_PRIOR_WEIGHT` differences."""
    weight = CONFIGURATION_PRIOR_WEIGHT
    variance = weight * experiment_sd**2 + sum_of_squares
    return math.sqrt(variance / (weight + runs - 1))


def _is_pooled(trial: Trial) -> bool:
    """A scored run (pruned runs reach a configuration only when `pool` is asked for them)."""
    return trial.is_scored and _seconds(trial) > 0


def _accuracy(trial: Trial) -> float:
    assert trial.accuracy is not None
    return trial.accuracy


def _seconds(trial: Trial) -> float:
    assert trial.train_seconds is not None
    return trial.train_seconds


def _sum_of_squares(values: Sequence[float]) -> float:
    mean = pooled_mean(values)
    return math.fsum((value - mean) ** 2 for value in values)


def _spread(values: Sequence[float]) -> float | None:
    return math.sqrt(_sum_of_squares(values) / (len(values) - 1)) if len(values) > 1 else None
