"""A growing history's configurations, kept in the orders the confirmation schedule reads.

Before each proposal the schedule asks how many trials, repeats and finished configurations
there are, how far the repeats spread, which few configurations lead by pooled mean, and
which one the reports would show (by lower bound). Pooling and ranking the whole history for
that cost a driver 130 ms a proposal at 10,000 trials. `Standings` takes the trials one
change at a time and keeps the configurations sorted by what their own runs show (the pooled
score), so a change costs a sorted insertion, and a decision judges only the configurations
that could lead: a lower bound is never above the score it discounts. Its answers are
`pool`'s and `rank`'s, exactly (tests/test_standings.py compares them on random histories).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

from search.configurations import (
    POPULATION_SIZE,
    UNSTABLE_RANK,
    Confidence,
    Configuration,
    NoiseLevel,
    NoiseParts,
    PoolCache,
    competing_population,
    configuration_key,
    judging_noise,
    noise_from,
    noise_parts,
    rank_key,
)
from search.confirmation._jobs import is_repeat
from search.documents import is_finished
from search.trial import Trial

# Below this discount (standard errors times the relative spread) a single run's lower bound
# could round to its score, and the run rank as confirmed. The schedule's noise never comes
# near it (the prior alone is 0.17 in log seconds); where it does, every single run is judged.
_SURE_DISCOUNT = 1e-9


class _Place(NamedTuple):
    """A configuration's place in one order: what it sorts by (unique, as it holds the
    configuration's first tid), then its key."""

    order: tuple[float, ...]
    key: str


class Standings:
    """The configurations of one experiment's trials (pruned runs left out, as `pool` leaves
    them out), judged with `confidence` against the floor `min_accuracy`."""

    def __init__(self, min_accuracy: float, confidence: Confidence) -> None:
        self.min_accuracy = min_accuracy
        self.confidence = confidence
        self._trials: dict[int, Trial] = {}
        self._runs: dict[str, list[Trial]] = {}  # each configuration's runs, by tid
        self._finished: Counter[str] = Counter()  # finished trials (pruned too) by key
        self._repeats = 0
        self._cache = PoolCache()
        self._places: dict[str, list[tuple[list[_Place], _Place]]] = {}
        self._by_mean: list[_Place] = []  # scored: by rank_key(..., "mean")
        self._by_summary: list[_Place] = []  # scored: by (-score with the floor ignored, tid)
        self._confirmed: list[_Place] = []  # rankable, enough runs: by (-score, tid)
        self._single: list[_Place] = []  # rankable, fewer runs: by (-score, tid)
        self._noise_parts: dict[str, NoiseParts] = {}
        self._noise: NoiseLevel | None = None
        self._noise_stale = False

    @classmethod
    def of(cls, trials: Iterable[Trial], min_accuracy: float,
           confidence: Confidence) -> Standings:
        standings = cls(min_accuracy, confidence)
        for trial in trials:
            standings.update(trial)
        return standings

    def __len__(self) -> int:
        return len(self._trials)

    @property
    def repeats(self) -> int:
        """How many trials were scheduled as repeats."""
        return self._repeats

    @property
    def finished_configurations(self) -> int:
        """How many configurations have a finished trial (pruned or failed ones included)."""
        return len(self._finished)

    def update(self, trial: Trial) -> None:
        """Take a new trial, or a later state of one already taken (the same tid)."""
        previous = self._trials.get(trial.tid)
        if previous is trial:
            return
        if previous is not None:
            self._count(previous, -1)
            self._take_out(previous)
        self._trials[trial.tid] = trial
        self._count(trial, +1)
        if not trial.pruned:
            bisect.insort(self._runs.setdefault(configuration_key(trial), []), trial,
                          key=lambda run: run.tid)
        for key in {configuration_key(trial)} | (
                set() if previous is None else {configuration_key(previous)}):
            self._place(key)

    def measured_noise(self) -> NoiseLevel | None:
        """`measured_noise` over the configurations' runs."""
        if self._noise_stale:
            self._noise = noise_from(self._noise_parts.values())
            self._noise_stale = False
        return self._noise

    def leaders(self, count: int) -> list[Configuration]:
        """`rank(pool(trials), "mean")[:count]`."""
        judge = self._judge()
        return [judge(place.key) for place in self._by_mean[:count]]

    def reported(self) -> Configuration | None:
        """`rank(pool(trials), "lower_bound")[0]`, when its mean clears the floor and no run
        of it diverged; None otherwise (the schedule repeats neither kind).

        Those shown above the floor rank first, confirmed ones before single runs, each by
        lower bound: they are looked for in order of score, and the look ends where a score,
        which no lower bound exceeds, falls below the best bound found.
        """
        judge = self._judge()
        noise = judging_noise(self.measured_noise())
        singles_unconfirmed = self.confidence.confirmed_runs > 1 and \
            self.confidence.score * noise.log_seconds > _SURE_DISCOUNT
        best: Configuration | None = None
        best_rank: tuple[float, ...] = ()  # rank_key: (0 confirmed or 1 not, -bound, tid)
        for places in (self._confirmed, self._single):
            if best is not None and best_rank[0] == 0 and singles_unconfirmed:
                break  # a confirmed configuration ranks above every single run
            for place in places:
                score, best_bound = -place.order[0], -best_rank[1] if best_rank else 0.0
                if best is not None and score < best_bound and (
                        best_rank[0] == 0 or singles_unconfirmed):
                    break  # its bound, at most its score, ranks below the best's
                configuration = judge(place.key)
                if configuration.lower_bound == 0:
                    continue  # not shown above the floor yet: ranks after all that are
                ranked = rank_key(configuration, "lower_bound", self.confidence)
                if best is None or ranked < best_rank:
                    best, best_rank = configuration, ranked
        if best is not None:
            return best
        # None is shown above the floor yet: the likeliest to clear it, of all of them.
        doubtful = [judge(place.key) for place in (*self._confirmed, *self._single)]
        if not doubtful:
            return None
        return min(doubtful, key=lambda configuration: rank_key(configuration, "lower_bound",
                                                                self.confidence))

    def best(self) -> Configuration | None:
        """`rank(pool(trials), "lower_bound")[0]`, whatever it is: `best_configuration`."""
        reported = self.reported()
        if reported is not None or not self._by_mean:
            return reported
        # None clears the floor by its mean without a diverged run. Those with one come first,
        # by lower bound; then those below the floor, by accuracy, as they are sorted by mean.
        judge = self._judge()
        unstable = [judge(place.key) for place in
                    itertools.takewhile(lambda place: place.order[0] == UNSTABLE_RANK,
                                        self._by_mean)]
        if not unstable:
            return judge(self._by_mean[0].key)
        return min(unstable, key=lambda configuration: rank_key(configuration, "lower_bound",
                                                                self.confidence))

    def _count(self, trial: Trial, step: int) -> None:
        self._repeats += step * is_repeat(trial)
        if is_finished(trial.job):
            key = configuration_key(trial)
            self._finished[key] += step
            if not self._finished[key]:
                del self._finished[key]

    def _take_out(self, trial: Trial) -> None:
        runs = self._runs.get(configuration_key(trial), [])
        for index, run in enumerate(runs):
            if run.tid == trial.tid:
                del runs[index]
                return

    def _judge(self) -> Callable[[str], Configuration]:
        """The configuration `key` with its bounds, as `pool` judges it now."""
        noise = judging_noise(self.measured_noise())
        competing = competing_population(
            [self._cache.summary(place.key, self._runs[place.key])
             for place in self._by_summary[:POPULATION_SIZE]], noise)

        def judge(key: str) -> Configuration:
            return self._cache.configuration(key, self._runs[key], self.min_accuracy, noise,
                                             self.confidence, competing)

        return judge

    def _place(self, key: str) -> None:
        """Put the configuration `key` in its orders again after its runs changed."""
        for order, place in self._places.pop(key, []):
            del order[bisect.bisect_left(order, place)]
        if self._noise_parts.pop(key, None) is not None:
            self._noise_stale = True
        runs = self._runs.get(key)
        if not runs:
            self._runs.pop(key, None)
            return
        parts = noise_parts(runs)
        if parts is not None:
            self._noise_parts[key] = parts
            self._noise_stale = True
        measured = self._cache.measured(key, runs, self.min_accuracy)
        summary = self._cache.summary(key, runs)
        places: list[tuple[list[_Place], _Place]] = []
        if summary is not None:
            places.append((self._by_summary, _Place((-summary[0], measured.tid), key)))
        if measured.score is not None:
            places.append((self._by_mean, _Place(rank_key(measured, "mean"), key)))
            if not measured.below_floor and not measured.unstable:
                enough = measured.runs >= self.confidence.confirmed_runs
                places.append((self._confirmed if enough else self._single,
                               _Place((-measured.score, measured.tid), key)))
        for order, place in places:
            bisect.insort(order, place)
        self._places[key] = places
