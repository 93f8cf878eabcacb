"""`Standings`, kept one trial at a time, answers what pooling and ranking the whole history
answers: the confirmation schedule decides alike either way, at a fraction of the cost."""

from __future__ import annotations

import random

import pytest

from search.configurations import (
    DEFAULT_CONFIDENCE,
    Confidence,
    Configuration,
    best_configuration,
    configuration_key,
    measured_noise,
    pool,
    rank,
)
from search.confirmation import (
    ConfirmationSettings,
    is_repeat,
    next_repeat,
    next_repeat_from,
    standings,
)
from search.confirmation._schedule import SCHEDULE_CONFIDENCE
from search.confirmation._standings import Standings
from search.documents import is_finished
from search.trial import Trial
from tests.evidence_trials import FLOOR, params, run

SETTINGS = ConfirmationSettings(fraction=0.3, leaders=3, runs=3, start_after=4)


Truth = tuple[dict[str, object], float, float, float]  # params, accuracy, seconds, spread


def random_trial(rng: random.Random, tid: int, truth: Truth, coarse: bool) -> Trial:
    """A run of a configuration in any state: its accuracy and time drawn around the truth
    by its own spread; `coarse` values repeat exactly, so that scores tie."""
    configuration, accuracy, seconds, spread = truth
    state = rng.choices(["ok", "pruned", "failed", "running", "queued"], [8, 2, 1, 2, 1])[0]
    accuracy = min(1.0, rng.gauss(accuracy, spread / 4))
    seconds *= 10 ** rng.gauss(0, spread)
    if coarse:
        accuracy, seconds = round(accuracy, 2), round(seconds, 1) or 0.1
    repeat_of = tid - 1 if rng.random() < 0.2 else None
    return run(tid, configuration, accuracy if state in ("ok", "pruned") else None, seconds,
               state=state, repeat_of=repeat_of,
               reason=rng.choice(["diverged", "worker lost"]))


def history(seed: int, count: int, coarse: bool) -> list[Trial]:
    """Trials in the order a search sees them: new ones, and later states of earlier ones
    (a queued trial that finished, a finished one whose late result replaced it). The
    configurations sit around the floor, their times span two decades, and their runs
    spread from not at all to widely."""
    rng = random.Random(seed)
    truths = [(params(10.0 ** -rng.randint(1, 5), rng.choice([32, 64, 128])),
               rng.uniform(0.72, 0.95), 10 ** rng.uniform(-1, 1), rng.choice([0, 0.02, 0.1, 0.3]))
              for _ in range(max(3, count // 3))]
    seen: list[Trial] = []
    by_tid: dict[int, Truth] = {}
    for tid in range(count):
        by_tid[tid] = rng.choice(truths)
        seen.append(random_trial(rng, tid, by_tid[tid], coarse))
        if tid and rng.random() < 0.3:
            earlier = rng.randrange(tid)
            seen.append(random_trial(rng, earlier, by_tid[earlier], coarse))
    return seen


def reports_choice(configurations: list[Configuration]) -> Configuration | None:
    """What the reports would show, when the schedule could repeat it."""
    ranked = rank(configurations, "lower_bound", SCHEDULE_CONFIDENCE)
    if not ranked or ranked[0].below_floor or ranked[0].unstable:
        return None
    return ranked[0]


@pytest.mark.parametrize("coarse", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_kept_standings_answer_what_the_whole_history_pooled_answers(seed: int,
                                                                     coarse: bool) -> None:
    kept = standings((), FLOOR)
    reported = Standings(FLOOR, DEFAULT_CONFIDENCE)  # what `hpsearch best` ranks first
    current: dict[int, Trial] = {}
    for trial in history(seed, 60, coarse):
        kept.update(trial)
        current[trial.tid] = trial
        trials = list(current.values())
        configurations = pool(trials, FLOOR, confidence=SCHEDULE_CONFIDENCE)
        assert len(kept) == len(trials)
        assert kept.repeats == sum(is_repeat(each) for each in trials)
        assert kept.finished_configurations == len(
            {configuration_key(each) for each in trials if is_finished(each.job)})
        assert kept.measured_noise() == measured_noise(c.trials for c in configurations)
        assert kept.leaders(4) == rank(configurations, "mean")[:4]
        assert kept.reported() == reports_choice(configurations)
        assert next_repeat_from(kept, SETTINGS) == next_repeat(trials, FLOOR, SETTINGS)
        reported.update(trial)
        assert reported.best() == best_configuration(trials, FLOOR)


@pytest.mark.parametrize("confidence", [Confidence(floor=2.0, confirmed_runs=1),
                                        Confidence(score=0.0), Confidence(confirmed_runs=5)])
def test_every_confidence_is_ranked_as_the_reports_rank(confidence: Confidence) -> None:
    """Where single runs count as confirmed, or no discount separates them, the search for
    what the reports would show cannot stop early the same way; it still finds the same."""
    for seed in range(6):
        current: dict[int, Trial] = {}
        kept = Standings(FLOOR, confidence)
        for trial in history(seed, 40, coarse=seed % 2 == 0):
            kept.update(trial)
            current[trial.tid] = trial
            ranked = rank(pool(current.values(), FLOOR, confidence=confidence), "lower_bound",
                          confidence)
            expected = ranked[0] if ranked and not (ranked[0].below_floor
                                                    or ranked[0].unstable) else None
            assert kept.reported() == expected
            assert kept.best() == (ranked[0] if ranked else None)


def test_runs_that_reproduce_exactly_are_judged_without_noise() -> None:
    """Repeats that agree exactly make the noise nothing: then every single run's bound is its
    score, and the best single run may rank with the confirmed ones."""
    trials = [run(0, params(0.1), 0.9, 2.0), run(1, params(0.1), 0.9, 2.0, repeat_of=0),
              run(2, params(0.01), 0.85, 1.0), run(3, params(0.001), 0.95, 1.5)]
    kept = standings(trials, FLOOR)
    assert kept.measured_noise() is not None and kept.measured_noise().accuracy == 0.0
    assert kept.reported() == reports_choice(pool(trials, FLOOR,
                                                  confidence=SCHEDULE_CONFIDENCE))
    assert kept.reported() is not None and kept.reported().tid == 2  # 0.85 per second


def test_when_every_configuration_diverged_once_the_best_is_the_surest_not_the_fastest() -> None:
    """With no configuration free of a diverged run, `best` ranks them by lower bound: the
    erratic fast one (by mean first) ranks after the steady one."""
    erratic, steady = params(0.1), params(0.01)
    trials = [run(0, erratic, 0.85, 0.5), run(1, erratic, 0.85, 2.0, repeat_of=0),
              run(2, steady, 0.9, 1.4), run(3, steady, 0.9, 1.4, repeat_of=2),
              run(4, erratic, None, state="failed", repeat_of=0),
              run(5, steady, None, state="failed", repeat_of=2)]
    kept = Standings.of(trials, FLOOR, DEFAULT_CONFIDENCE)
    assert kept.leaders(1)[0].tid == 0, "by mean the erratic one leads"
    best = kept.best()
    assert best is not None and best.tid == 2 and best.unstable
    assert best == best_configuration(trials, FLOOR)
