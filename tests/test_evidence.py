"""Pooling runs of the same hyperparameters into configurations, and ranking them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from search.configurations import (
    MIN_POPULATION_VARIANCE,
    NO_NOISE,
    PRIOR_NOISE,
    Confidence,
    NoiseLevel,
    PoolCache,
    best_configuration,
    blended_noise,
    configuration_key,
    measured_noise,
    pool,
    population,
    rank,
)
from search.trial import Trial
from tests.evidence_trials import FLOOR, params, run

SLOW, FAST = params(1e-3), params(1e-2, batch_size=512)


def test_pooling_groups_exactly_the_runs_with_the_same_params() -> None:
    nested_again = {"optimizer": {"name": "adamw"}, "batch_size": 64, "lr": 1e-3}  # other order
    next_float = params(math.nextafter(1e-3, 1.0))
    trials = [run(0, SLOW, 0.9), run(1, FAST, 0.85), run(2, nested_again, 0.88, repeat_of=0),
              run(3, next_float, 0.9), run(4, params(1e-3, optimizer="sgd"), 0.9),
              run(5, SLOW, None, state="running", repeat_of=0)]
    configurations = pool(trials, FLOOR)
    assert [[trial.tid for trial in c.trials] for c in configurations] == [[0, 2, 5], [1], [3],
                                                                          [4]]
    first = configurations[0]
    assert (first.tid, first.runs, first.pending, first.failed) == (0, 2, 1, 0)
    assert configuration_key(trials[0]) == configuration_key(trials[2]) != \
        configuration_key(trials[3])


def test_pooled_score_is_mean_accuracy_over_mean_seconds() -> None:
    (configuration,) = pool([run(0, SLOW, 0.9, 1.0), run(1, SLOW, 0.8, 3.0)], FLOOR)
    assert configuration.accuracy == pytest.approx(0.85)
    assert configuration.train_seconds == pytest.approx(2.0)
    assert configuration.score == pytest.approx(0.85 / 2.0)  # not (0.9 + 0.8 / 3) / 2
    assert configuration.accuracy_spread == pytest.approx(math.sqrt(0.005))
    assert configuration.seconds_spread == pytest.approx(math.sqrt(2.0))


def test_mean_accuracy_below_the_floor_is_below_the_floor_whatever_the_luckiest_run() -> None:
    (configuration,) = pool([run(0, FAST, 0.83, 0.1), run(1, FAST, 0.75, 0.1)], FLOOR)
    assert configuration.below_floor
    assert configuration.score == configuration.lower_bound == 0.0


def test_equal_runs_at_the_floor_stay_at_the_floor() -> None:
    (configuration,) = pool([run(tid, SLOW, 0.7, 1.0) for tid in range(3)], 0.7)
    assert configuration.accuracy == 0.7 and not configuration.below_floor


@pytest.mark.parametrize("ranking", ["mean", "lower_bound"])
def test_a_lucky_run_below_the_floor_on_average_never_heads_the_ranking_once_repeated(
        ranking: str) -> None:
    honest = [run(0, SLOW, 0.86, 10.0), run(2, SLOW, 0.85, 11.0, repeat_of=0)]
    lucky = run(1, FAST, 0.85, 0.5)  # 20 times the score, on one seed
    best = best_configuration([*honest, lucky], FLOOR, ranking=ranking)
    assert best is not None
    if ranking == "mean":
        assert best.tid == 1  # before its repeat lands, the mean believes it
    repeated = [*honest, lucky, run(3, FAST, 0.74, 0.5, repeat_of=1)]
    for more in ([], [run(4, FAST, 0.8, 0.5, repeat_of=1)]):
        ranked = rank(pool(repeated + more, FLOOR), ranking)
        assert [configuration.tid for configuration in ranked] == [0, 1]
        assert ranked[1].below_floor


def test_lower_bound_prefers_a_confirmed_configuration_to_a_slightly_better_single_run() -> None:
    confirmed = [run(tid, SLOW, accuracy, seconds)
                 for tid, accuracy, seconds in ((0, 0.9, 1.0), (2, 0.89, 1.1), (3, 0.91, 0.9))]
    single = run(1, params(2e-3), 0.91, 0.98)
    by_mean = rank(pool([*confirmed, single], FLOOR), "mean")
    by_bound = rank(pool([*confirmed, single], FLOOR), "lower_bound")
    assert [c.tid for c in by_mean] == [1, 0]
    assert [c.tid for c in by_bound] == [0, 1]
    assert by_bound[0].lower_bound is not None and by_bound[1].lower_bound is not None
    assert by_bound[0].lower_bound > by_bound[1].lower_bound


def test_a_run_just_above_the_floor_ranks_after_one_clearly_above_it_by_lower_bound() -> None:
    clear = run(0, SLOW, 0.9, 10.0)
    marginal = run(1, FAST, 0.81, 1.0)  # ten times the score, 0.01 above the floor
    configurations = pool([clear, marginal], FLOOR, confidence=Confidence(score=1, floor=2))
    assert [c.tid for c in rank(configurations, "lower_bound")] == [0, 1]
    assert configurations[1].lower_bound == 0.0 and not configurations[1].below_floor
    assert [c.tid for c in rank(configurations, "mean")] == [1, 0]
    relaxed = pool([clear, marginal], FLOOR, confidence=Confidence(score=1, floor=0.2))
    assert [c.tid for c in rank(relaxed, "lower_bound")] == [1, 0]


def test_more_runs_raise_the_lower_bound_of_the_same_mean() -> None:
    one = pool([run(0, SLOW, 0.9, 1.0)], FLOOR)[0]
    four = pool([run(tid, SLOW, accuracy, seconds) for tid, (accuracy, seconds) in enumerate(
        ((0.9, 1.0), (0.89, 0.95), (0.91, 1.05), (0.9, 1.0)))], FLOOR)[0]
    assert one.score == pytest.approx(four.score)
    assert one.lower_bound is not None and four.lower_bound is not None
    assert one.lower_bound < four.lower_bound < four.score


def test_repeats_that_reproduce_exactly_are_taken_at_their_word() -> None:
    # A deterministic objective: no discount, and a better single run ranks first.
    repeated = [run(tid, SLOW, 0.9, 1.0) for tid in (0, 2)]
    single = run(1, params(2e-3), 0.91, 0.98)
    configurations = pool([*repeated, single], FLOOR)
    assert [c.lower_bound == c.score for c in configurations] == [True, True]
    assert [c.tid for c in rank(configurations, "lower_bound")] == [1, 0]


def test_a_configuration_that_diverged_on_one_seed_ranks_after_stable_ones() -> None:
    stable = run(0, SLOW, 0.85, 10.0)
    erratic = [run(1, FAST, 0.9, 1.0), run(2, FAST, None, state="failed", repeat_of=1)]
    lost = [run(3, params(3e-3), 0.9, 5.0),
            run(4, params(3e-3), None, state="failed", reason="abandoned", repeat_of=3)]
    ranked = rank(pool([stable, *erratic, *lost], FLOOR), "mean")
    assert [c.tid for c in ranked] == [3, 0, 1]  # a lost worker says nothing of its config
    assert ranked[2].unstable and ranked[2].failed == 1 and ranked[0].failed == 1


def test_unscored_configurations_are_pooled_but_not_ranked() -> None:
    trials = [run(0, SLOW, None, state="failed"), run(1, FAST, None, state="queued")]
    configurations = pool(trials, FLOOR)
    assert [c.score for c in configurations] == [None, None]
    assert rank(configurations) == [] and best_configuration(trials, FLOOR) is None


def test_ties_go_to_the_earlier_original() -> None:
    trials = [run(tid, params(10.0 ** -tid), 0.9, 1.0) for tid in (3, 1, 2)]
    assert [c.tid for c in rank(pool(trials, FLOOR))] == [1, 2, 3]


def test_below_floor_configurations_rank_last_most_accurate_first() -> None:
    trials = [run(0, SLOW, 0.5, 0.1), run(1, FAST, 0.7, 0.1), run(2, params(3e-3), 0.81, 50.0)]
    assert [c.tid for c in rank(pool(trials, FLOOR))] == [2, 1, 0]


def test_unknown_ranking_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ranking 'best'"):
        rank([], "best")


def test_noise_is_measured_from_configurations_with_repeats_and_blended_with_the_prior() -> None:
    groups = [[run(0, SLOW, 0.8, 1.0), run(1, SLOW, 0.84, 1.0)],
              [run(2, FAST, 0.9, 2.0), run(3, FAST, 0.9, 2.0), run(4, FAST, 0.9, 2.0)],
              [run(5, params(3e-3), 0.7, 1.0)]]
    measured = measured_noise(groups)
    assert measured is not None and measured.degrees_of_freedom == 3
    assert measured.accuracy == pytest.approx(math.sqrt(0.0008 / 3))
    assert measured.log_seconds == 0.0
    assert measured_noise([groups[2]]) is None
    assert blended_noise(None) == PRIOR_NOISE
    blended = blended_noise(measured)
    assert measured.accuracy < blended.accuracy < PRIOR_NOISE.accuracy


def test_steady_runs_near_the_floor_are_judged_by_the_experiments_noise() -> None:
    # Three runs 0.02 above the floor that agree to 0.001, in an experiment whose repeats
    # spread by about 0.05 (a bad seed now and then): their own steadiness is luck, and
    # the floor test keeps the experiment's spread of a mean of three.
    steady = [run(tid, FAST, 0.82 + 0.001 * (tid - 1), 1.0) for tid in range(3)]
    erratic = [run(tid, params(3e-3), accuracy, 5.0)
               for tid, accuracy in ((3, 0.95), (4, 0.85), (5, 0.94), (6, 0.86))]
    configurations = pool([*steady, *erratic], FLOOR)
    near, _ = configurations
    noise = blended_noise(measured_noise([c.trials for c in configurations]))
    assert near.accuracy_lower_bound == pytest.approx(
        near.accuracy - Confidence().floor * noise.accuracy / math.sqrt(3))
    assert near.lower_bound == 0.0 and not near.below_floor
    assert [c.tid for c in rank(configurations, "lower_bound")] == [3, 0]


def _competitors(accuracies: list[float], first_tid: int) -> list:
    """One run each of distinct fast configurations (1 s) with these accuracies."""
    return [run(first_tid + index, params(1e-4 * (index + 1), batch_size=32), accuracy, 1.0)
            for index, accuracy in enumerate(accuracies)]


# 19 fast configurations tried once, whose accuracies spread from 0.76 to 0.82 around a mean
# of 0.79, just below the floor: where a search's fastest configurations sit.
NEAR_FLOOR = [0.76 + 0.06 * index / 18 for index in range(19)]


def _lucky_among_near_floor(spread: float) -> list:
    """Three steady runs 0.04 above the floor (tids 0-2), a slow configuration repeated four
    times whose runs spread by about `spread` (the experiment's noise), and the competitors."""
    lucky = [run(tid, FAST, 0.84 + 0.001 * (tid - 1), 1.0) for tid in range(3)]
    repeated = [run(3 + index, SLOW, 0.9 + spread * (-1) ** index, 5.0) for index in range(4)]
    return [*lucky, *repeated, *_competitors(NEAR_FLOOR, 7)]


def test_a_lucky_configuration_among_many_near_the_floor_is_held_below_it_when_noise_is_high(
) -> None:
    # Repeats spread by 0.04: the competitors' spread is all noise, so the three steady runs
    # above the floor are the luckiest of twenty configurations alike, and held below it.
    trials = _lucky_among_near_floor(0.04)
    lucky = pool(trials, FLOOR)[0]
    assert lucky.accuracy == pytest.approx(0.84) and not lucky.below_floor
    assert lucky.posterior_accuracy is not None and lucky.posterior_accuracy < 0.81
    assert lucky.accuracy_lower_bound is not None and lucky.accuracy_lower_bound < FLOOR
    assert lucky.lower_bound == 0.0
    assert rank(pool(trials, FLOOR))[0].tid == 3
    # Alone with the repeated configuration (no population to judge it against), the same
    # runs clear the floor: it is the population that holds them.
    alone = pool(trials[:7], FLOOR)[0]
    assert alone.posterior_accuracy == alone.accuracy
    assert alone.accuracy_lower_bound is not None and alone.accuracy_lower_bound > FLOOR
    assert rank(pool(trials[:7], FLOOR))[0].tid == 0


def test_with_low_noise_the_same_lucky_configuration_clears_the_floor() -> None:
    # Repeats spread by 0.01: the competitors truly differ, and three runs 0.04 above the
    # floor say little less than they show..
    trials = _lucky_among_near_floor(0.01)
    lucky = pool(trials, FLOOR)[0]
    assert lucky.posterior_accuracy is not None and lucky.accuracy is not None
    assert lucky.accuracy - 0.015 < lucky.posterior_accuracy < lucky.accuracy
    assert lucky.accuracy_lower_bound is not None and lucky.accuracy_lower_bound > FLOOR
    assert rank(pool(trials, FLOOR))[0].tid == 0


def test_the_population_is_the_fastest_configurations_less_the_noise_of_their_means() -> None:
    noise = NoiseLevel(accuracy=0.01, log_seconds=0.1, degrees_of_freedom=5)
    accuracies = [0.80, 0.84, 0.88, 0.92, 0.96]
    groups = [[trial] for trial in _competitors(accuracies, 0)]
    slow = [run(10, SLOW, 0.1, 100.0), run(11, SLOW, 0.3, 100.0)]  # mean 0.2, two runs
    found = population([*groups, slow], noise, size=5)
    assert found is not None and found.mean == pytest.approx(0.88)
    assert found.variance == pytest.approx(0.004 - 0.01**2)  # sample variance less noise
    with_slow = population([*groups, slow], noise, size=6)
    assert with_slow is not None and with_slow.mean < 0.8
    assert population(groups[:4], noise) is None  # too few to speak of
    assert population(groups, NO_NOISE) is None
    # Means that spread by less than their noise: the variance's floor, not zero.
    alike = population([[trial] for trial in _competitors([0.8] * 5, 0)], noise)
    assert alike is not None and alike.variance == pytest.approx(
        MIN_POPULATION_VARIANCE * 0.01**2)
    mean, error = alike.posterior(0.9, 0.01)
    assert 0.8 < mean < 0.85 and error < 0.01
    assert alike.posterior(0.9, 0.0) == (0.9, 0.0)


def test_without_noise_nothing_shrinks() -> None:
    # Repeats that reproduce exactly: runs are taken at their word, the population is not used.
    exact = [run(0, FAST, 0.83, 1.0), run(1, FAST, 0.83, 1.0)]
    trials = [*exact, *_competitors(NEAR_FLOOR, 2)]
    configurations = pool(trials, FLOOR)
    assert all(c.posterior_accuracy == c.accuracy for c in configurations)
    assert configurations[0].accuracy_lower_bound == 0.83


def test_pooling_a_growing_history_through_a_cache_gives_what_pooling_afresh_gives() -> None:
    """The confirmation schedule pools before each proposal; its cache must never change
    an answer: runs added, repeats landing, a queued run starting, the population moving."""
    random = np.random.default_rng(3)
    history: list[Trial] = []
    cache = PoolCache()
    for tid in range(120):
        if tid % 10 == 9:  # a repeat of an earlier configuration, queued then run
            original = history[int(random.integers(len(history)))]
            history.append(run(tid, original.params, None, state="queued"))
            assert pool(history, FLOOR, cache=cache) == pool(history, FLOOR)
            history[-1] = run(tid, original.params, float(random.uniform(0.7, 1.0)),
                              float(random.uniform(0.5, 2.0)))
        else:
            history.append(run(tid, params(float(random.uniform(1e-4, 1e-1))),
                               float(random.uniform(0.6, 1.0)), float(random.uniform(0.5, 2.0))))
        assert pool(history, FLOOR, cache=cache) == pool(history, FLOOR)
