"""The pruners as pure functions: the exact bound, rungs in training seconds, the evidence
they read and its cache."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stored_trials import finished_job

from objectives import EpochReport
from search.configurations import pool
from search.experiment import Experiment
from search.farm.evidence import EvidencePublisher, trial_pruning
from search.pruning import (
    DEFAULT_MARGIN,
    NO_EVIDENCE,
    BoundPruner,
    CachedEvidence,
    CurvePruner,
    Evidence,
    EvidenceBuilder,
    RungGrid,
    RungPruner,
    TrialEvidence,
    evidence_from_results,
    make_pruner,
    should_prune,
    trial_evidence,
)
from search.pruning._bound import TIMED_TRIALS
from search.pruning._evidence import binned_curve
from search.store import EvidenceTooLarge, StoreError
from search.store._embedded import EmbeddedStore
from tests.evidence_trials import params, run


def report(epoch_seconds: list[float], curve: list[float], planned: int) -> EpochReport:
    cumulative = tuple(itertools.accumulate(epoch_seconds))
    return EpochReport(epoch=len(curve), epochs_planned=planned, train_seconds=cumulative[-1],
                       val_accuracy_per_epoch=tuple(curve), train_seconds_at_epoch=cumulative)


def result(epoch_seconds: list[float], curve: list[float], planned: int | None = None,
           pruned: bool = False, below_floor: bool = False) -> dict:
    cumulative = list(itertools.accumulate(epoch_seconds))
    done = {"status": "ok", "val_accuracy_per_epoch": curve, "train_seconds_at_epoch": cumulative,
            "accuracy": curve[-1], "train_seconds": cumulative[-1]}
    if pruned:
        return {**done, "loss": 0.0, "pruned": True, "epochs": len(curve),
                "epochs_planned": planned}
    loss = 0.0 if below_floor else -curve[-1] / cumulative[-1]
    return {**done, "loss": loss, "epochs": len(curve), "below_accuracy_floor": below_floor}


# The exact bound ------------------------------------------------------------------------

def test_bound_stops_a_trial_too_slow_to_reach_the_incumbent():
    # 10 s per epoch for 20 epochs: at most 1.0 / (20 + 18 * 0.25 * 10) = 0.0154 accuracy/s.
    slow = report([10.0, 10.0], [0.5, 0.6], planned=20)
    decision = BoundPruner().decide(slow, Evidence(incumbent=0.02))
    assert decision is not None and decision.pruner == "bound"
    assert decision.score_bound == pytest.approx(1.0 / 65.0)
    assert "0.02" in decision.reason


def test_bound_lets_a_trial_that_could_still_win_go_on():
    fast = report([1.0, 1.0], [0.1, 0.1], planned=20)  # at most 1 / 6.5 = 0.154 accuracy/s
    assert BoundPruner().decide(fast, Evidence(incumbent=0.15)) is None


def test_bound_waits_for_its_first_epochs_and_for_an_incumbent():
    assert BoundPruner().decide(report([100.0], [0.1], 50), Evidence(incumbent=1.0)) is None
    assert BoundPruner().decide(report([100.0, 100.0], [0.1, 0.1], 50), NO_EVIDENCE) is None


def test_bound_with_a_ceiling_prunes_sooner():
    trial = report([1.0, 1.0], [0.5, 0.5], planned=10)  # projected at least 4 s
    incumbent = Evidence(incumbent=0.2)
    assert BoundPruner().decide(trial, incumbent) is None  # 1.0 / 4 = 0.25
    assert BoundPruner(ceiling=0.6).decide(trial, incumbent) is not None  # 0.6 / 4 = 0.15


@st.composite
def trials(draw, margin: float | None):
    """A trial's per-epoch seconds and curve. With a ``margin``, every epoch after the first
    two takes at least (1 - margin) of the faster of those two, so that whenever the bound
    decides (from the second epoch on) the epochs left take at least (1 - margin) of the
    fastest epoch so far: the assumption the bound states. Without, anything goes."""
    planned = draw(st.integers(2, 25))
    seconds = [draw(st.floats(0.01, 100.0)) for _ in range(2)]
    for _ in range(planned - 2):
        low = (1.0 - margin) * min(seconds[:2]) if margin is not None else 1e-3
        seconds.append(draw(st.floats(low, max(low, 100.0) * 3)))
    curve = draw(st.lists(st.floats(0.0, 1.0), min_size=planned, max_size=planned))
    return seconds, curve


@st.composite
def incumbents(draw):
    """An incumbent, with the speed-up the finished trials measured (or too few to tell)."""
    speedup = draw(st.one_of(st.none(), st.floats(0.01, 1.5)))
    return Evidence(incumbent=draw(st.floats(1e-4, 10.0)), speedup=speedup,
                    timed=TIMED_TRIALS if speedup is not None else TIMED_TRIALS - 1)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_bound_never_stops_a_trial_that_would_beat_the_incumbent(data):
    evidence = data.draw(incumbents())
    seconds, curve = data.draw(trials(BoundPruner().margin_for(evidence)))
    final_score = curve[-1] / sum(seconds)
    for epoch in range(1, len(curve)):
        decision = BoundPruner().decide(report(seconds[:epoch], curve[:epoch], len(curve)),
                                        evidence)
        if decision is not None:
            assert final_score <= evidence.incumbent * (1 + 1e-9)
            assert final_score <= decision.score_bound * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(trials(margin=None), st.floats(1e-4, 10.0))
def test_bound_without_projection_is_exact_whatever_the_epochs_left_take(trial, incumbent):
    seconds, curve = trial
    final_score = curve[-1] / sum(seconds)
    exact = BoundPruner(margin=1.0)
    for epoch in range(1, len(curve)):
        if exact.decide(report(seconds[:epoch], curve[:epoch], len(curve)),
                        Evidence(incumbent=incumbent)) is not None:
            assert final_score <= incumbent * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(trials(margin=None), st.floats(1e-4, 10.0), st.floats(0.0, 1.0))
def test_a_stale_lower_incumbent_prunes_less_never_more(trial, incumbent, staleness):
    seconds, curve = trial
    for epoch in range(1, len(curve)):
        current = report(seconds[:epoch], curve[:epoch], len(curve))
        stale = BoundPruner().decide(current, Evidence(incumbent=incumbent * staleness))
        if stale is not None:
            assert BoundPruner().decide(current, Evidence(incumbent=incumbent)) is not None


def test_margin_is_measured_on_the_finished_trials_once_enough_have_finished():
    # Epochs of 4, 4, 2, 2 s: after epoch 2 the two left took 4 s against 2 x 4 s, a ratio 0.5.
    finished = [result([4.0, 4.0, 2.0, 2.0], [0.5] * 4) for _ in range(TIMED_TRIALS)]
    evidence = evidence_from_results(finished, grid=None)
    assert evidence.speedup == pytest.approx(0.5) and evidence.timed == TIMED_TRIALS
    assert BoundPruner().margin_for(evidence) == pytest.approx(1 - 0.9 * 0.5)
    fewer = evidence_from_results(finished[1:], grid=None)
    assert BoundPruner().margin_for(fewer) == DEFAULT_MARGIN
    assert BoundPruner(margin=0.1).margin_for(evidence) == 0.1
    steady = evidence_from_results([result([2.0] * 5, [0.5] * 5)] * TIMED_TRIALS, grid=None)
    assert BoundPruner().margin_for(steady) == pytest.approx(0.1)


def test_bound_settings_are_checked():
    with pytest.raises(ValueError, match="ceiling"):
        BoundPruner(ceiling=1.5)
    with pytest.raises(ValueError, match="margin"):
        BoundPruner(margin=-0.1)


# Rungs in training seconds ----------------------------------------------------------------

def rung_evidence(values: list[float], rung: int = 2, incumbent: float | None = None) -> Evidence:
    return Evidence(incumbent=incumbent, rung_values={rung: tuple(sorted(values, reverse=True))},
                    grid=RungGrid(), finished=len(values))


# Epochs of 1.5 s: the second epoch ends at 3 s, crossing the rung at 2 s (k = 1), and the
# third at 4.5 s crosses the rung at 4 s (k = 2). Projected final seconds at epoch 3 of 10: 15.
AT_RUNG_2 = [1.5, 1.5, 1.5]


def test_rung_stops_a_trial_below_the_best_third_of_its_rung():
    recorded = [0.05, 0.045, 0.04, 0.03, 0.02, 0.01]  # keeps the best two: >= 0.045
    poor = report(AT_RUNG_2, [0.2, 0.4, 0.6], planned=10)  # 0.6 / 15 = 0.04
    decision = RungPruner().decide(poor, rung_evidence(recorded))
    assert decision is not None and decision.pruner == "asha" and "rung at 4 s" in decision.reason
    assert decision.score_bound == pytest.approx(
        BoundPruner().score_bound(poor, rung_evidence(recorded)))


def test_rung_lets_a_trial_in_its_best_third_go_on():
    recorded = [0.05, 0.045, 0.04, 0.03, 0.02, 0.01]
    good = report(AT_RUNG_2, [0.2, 0.4, 0.7], planned=10)  # 0.7 / 15 = 0.0467
    assert RungPruner().decide(good, rung_evidence(recorded)) is None


def test_rung_needs_enough_values_and_a_crossing():
    poor = report(AT_RUNG_2, [0.2, 0.4, 0.1], planned=10)
    assert RungPruner().decide(poor, rung_evidence([0.05] * 4)) is None  # min_trials 5
    between = report([1.5, 1.5, 0.4], [0.2, 0.4, 0.1], planned=10)  # 3.4 s: no new rung
    assert RungPruner().decide(between, rung_evidence([0.05] * 4, rung=1)) is None
    other_grid = Evidence(rung_values={2: (0.05,) * 6}, grid=RungGrid(factor=3.0))
    assert RungPruner().decide(poor, other_grid) is None


def test_below_the_floor_a_trial_records_and_is_judged_as_scoring_nothing():
    floored = RungPruner(grid=RungGrid(min_accuracy=0.65))
    recorded = (0.03, 0.02, 0.0, 0.0, 0.0, 0.0)  # keeps the best two: >= 0.02
    below = report(AT_RUNG_2, [0.2, 0.4, 0.6], planned=10)  # 0.04 if it had no floor
    evidence = Evidence(rung_values={2: recorded}, grid=floored.grid)
    assert floored.decide(below, evidence) is not None
    assert RungPruner().decide(below, dataclasses.replace(evidence, grid=RungGrid())) is None
    results = [result(AT_RUNG_2, [0.2, 0.4, 0.6]), result(AT_RUNG_2, [0.2, 0.4, 0.7])]
    assert evidence_from_results(results, floored.grid).rung_values[2] == pytest.approx(
        (0.7 / 4.5, 0.0))


def test_rung_pruner_applies_the_bound_first():
    slow = report([10.0, 10.0], [0.9, 0.9], planned=20)
    decision = RungPruner().decide(slow, Evidence(incumbent=0.02, grid=RungGrid()))
    assert decision is not None and decision.pruner == "asha" and "bound" in decision.reason


# Similar finished curves ------------------------------------------------------------------

def finished_curves(*curves: list[float]) -> tuple[tuple[float, ...], ...]:
    return tuple(binned_curve(tuple(curve), len(curve)) for curve in curves)


PLATEAU = [0.3, 0.5, 0.6, 0.65, 0.68, 0.7, 0.7, 0.7, 0.7, 0.7]  # ends below a 0.8 floor
BLOOMER = [0.1, 0.1, 0.12, 0.2, 0.4, 0.7, 0.85, 0.9, 0.92, 0.93]
FLOORED = CurvePruner(min_accuracy=0.8)


def test_curve_stops_a_trial_whose_similar_finished_curves_all_ended_too_low():
    evidence = Evidence(curves=finished_curves(PLATEAU, [v + 0.01 for v in PLATEAU],
                                               [v - 0.01 for v in PLATEAU]))
    decision = FLOORED.decide(report([1.0] * 4, PLATEAU[:4], planned=10), evidence)
    assert decision is not None and decision.pruner == "curve"
    assert "needs accuracy 0.8" in decision.reason and "3 finished trials" in decision.reason


def test_curve_lets_a_curve_unlike_any_finished_one_go_on():
    evidence = Evidence(curves=finished_curves(PLATEAU, PLATEAU, PLATEAU))
    assert FLOORED.decide(report([1.0] * 4, BLOOMER[:4], planned=10), evidence) is None


def test_curve_goes_on_when_one_similar_curve_ended_high_enough():
    bloomed = [*PLATEAU[:4], 0.75, 0.8, 0.82, 0.84, 0.85, 0.86]
    evidence = Evidence(curves=finished_curves(PLATEAU, PLATEAU, bloomed))
    assert FLOORED.decide(report([1.0] * 4, PLATEAU[:4], planned=10), evidence) is None


def test_curve_needs_the_accuracy_its_projected_time_demands_to_beat_the_incumbent():
    # 1 s epochs, 10 planned: at least 4 + 6 * 0.25 = 5.5 s; 0.16/s needs 0.88 accuracy.
    high = [0.3, 0.5, 0.6, 0.65, 0.72, 0.76, 0.78, 0.8, 0.8, 0.8]
    evidence = Evidence(incumbent=0.16, curves=finished_curves(high, high, high))
    trial = report([1.0] * 4, high[:4], planned=10)
    assert CurvePruner().needed_accuracy(trial, evidence) == pytest.approx(0.88)
    assert CurvePruner().decide(trial, evidence) is not None  # reaches 0.8 + 0.04 at most
    assert CurvePruner().decide(trial, dataclasses.replace(evidence, incumbent=0.1)) is None


def test_a_curve_bending_over_below_what_it_needs_is_stopped_without_evidence():
    # 12 epochs planned (slopes over one epoch): 0.01 after 0.02, so at most 0.7 + 3 x 0.01.
    bending = [0.3, 0.4, 0.5, 0.55, 0.6, 0.64, 0.67, 0.69, 0.7]
    decision = CurvePruner(min_accuracy=0.8).decide(report([1.0] * 9, bending, planned=12),
                                                    NO_EVIDENCE)
    assert decision is not None and "bending over" in decision.reason
    assert CurvePruner(min_accuracy=0.8, tangent=False).decide(
        report([1.0] * 9, bending, planned=12), NO_EVIDENCE) is None
    assert CurvePruner(min_accuracy=0.75).decide(  # 0.73 + the tolerance reaches it
        report([1.0] * 9, bending, planned=12), NO_EVIDENCE) is None


def test_a_curve_still_speeding_up_is_never_stopped_by_its_tangent():
    rising = [0.1, 0.1, 0.11, 0.12, 0.13, 0.15, 0.18, 0.22, 0.27]  # a late bloomer's start
    assert CurvePruner(min_accuracy=0.9).decide(report([1.0] * 9, rising, planned=20),
                                                NO_EVIDENCE) is None


def test_a_plateau_that_similar_finished_curves_rose_from_is_not_stopped_by_its_shape():
    # Flat at 0.1 (bending over, by its slopes) for 8 of 10 epochs, then up to 0.9: once
    # three such curves finished high, the shape is no reason to stop a fourth.
    late = [0.1] * 8 + [0.6, 0.9]
    flat = report([1.0] * 3, late[:3], planned=10)
    assert FLOORED.decide(flat, NO_EVIDENCE) is not None  # no evidence: its tangent decides
    evidence = Evidence(curves=finished_curves(late, late, [*late[:8], 0.7, 0.88]))
    assert FLOORED.decide(flat, evidence) is None


# Evidence --------------------------------------------------------------------------------

def test_incumbent_is_the_best_trial_that_trained_to_its_end():
    results = [
        result([1.0, 1.0], [0.5, 0.8]),  # 0.4 accuracy/s
        result([0.1, 0.1], [0.9, 0.95], below_floor=True),  # scores 0
        result([0.1, 0.1], [0.9, 0.95], planned=20, pruned=True),
        {"status": "fail", "loss": None, "reason": "diverged"},
        result([0.5, 0.5], [0.2, 0.3]),  # 0.3 accuracy/s
    ]
    evidence = evidence_from_results(results, grid=None)
    assert evidence.incumbent == pytest.approx(0.4) and evidence.finished == 4
    assert evidence.rung_values == {}


def test_rung_records_include_pruned_trials_and_ignore_order():
    results = [result(AT_RUNG_2, [0.2, 0.4, 0.6], planned=10, pruned=True),
               result([1.0] * 4, [0.1, 0.2, 0.3, 0.4]),
               result([5.0, 5.0], [0.5, 0.6])]
    evidence = evidence_from_results(results, grid=RungGrid())
    # The pruned trial crosses rungs 0 (1.5 s), 1 (3 s) and 2 (4.5 s); the 4-epoch one rungs
    # 0, 1 and 2 at 1, 2 and 4 s; the slow one rungs 2 (5 s) and 3 (10 s).
    assert sorted(evidence.rung_values) == [0, 1, 2, 3]
    # At rung 2: 0.4 / 4 s (its last epoch), 0.5 / (5 + 5 s), and the pruned 0.6 / 15 s.
    assert evidence.rung_values[2] == pytest.approx((0.1, 0.05, 0.04))
    assert evidence_from_results(results[::-1], grid=RungGrid()) == evidence


def test_finished_curves_are_kept_by_stage_and_pruned_ones_left_out():
    twenty = [i / 20 for i in range(1, 21)]
    results = [result([1.0] * 20, twenty), result([1.0] * 40, [a for a in twenty for _ in "ab"]),
               result([1.0] * 2, [0.1, 0.2], planned=20, pruned=True)]
    evidence = evidence_from_results(results, grid=None)
    assert evidence.curves == (tuple(twenty), tuple(twenty))


def test_the_incumbent_is_a_configuration_pooled_as_best_pools_it():
    lucky = result([0.5, 0.5], [0.8, 0.9])  # 0.9 accuracy/s on its first run
    builder = EvidenceBuilder(grid=None, min_accuracy=0.5)
    builder.add(lucky, "a")
    builder.add(result([1.0, 1.0], [0.7, 0.8]), "b")  # 0.4 accuracy/s
    # At most 1.0 / (1 + 4 x 0.25 x 0.5) = 0.667 accuracy/s: below the lucky run, above the
    # configuration's pooled score once its repeat lands.
    challenger = report([0.5, 0.5], [0.5, 0.6], planned=6)
    assert builder.evidence().incumbent == pytest.approx(0.9)
    assert BoundPruner().decide(challenger, builder.evidence()) is not None
    builder.add(result([1.5, 1.5], [0.8, 0.9]), "a")  # its repeat: 1.8 / 4 s together
    assert builder.evidence().incumbent == pytest.approx(0.45)
    assert BoundPruner().decide(challenger, builder.evidence()) is None
    # A mean accuracy below the floor leaves the configuration out, whatever its best run did.
    builder.add(result([0.5, 0.5], [0.1, 0.0]), "a")  # mean (0.9 + 0.9 + 0) / 3 = 0.6
    builder.add(result([0.5, 0.5], [0.1, 0.0]), "a")  # mean 0.45
    assert builder.evidence().incumbent == pytest.approx(0.4)
    # Equal runs exactly on the floor are on it, as best has them (342 of digits' 360).
    on_floor = EvidenceBuilder(grid=None, min_accuracy=342 / 360)
    for _ in range(3):
        on_floor.add(result([1.0, 1.0], [0.9, 342 / 360]), "c")
    assert on_floor.evidence().incumbent == pytest.approx(342 / 360 / 2)


def test_pooled_runs_give_the_same_incumbent_in_any_order():
    runs = [(result([0.3, 0.4], [0.6, 0.7]), "a"), (result([0.1, 0.2], [0.5, 0.55]), "a"),
            (result([0.7, 0.1], [0.9, 0.61]), "a"), (result([1.0, 0.9], [0.6, 0.9]), "b")]
    incumbents = set()
    for order in itertools.permutations(runs):
        builder = EvidenceBuilder(grid=None)
        for item, key in order:
            builder.add(item, key)
        incumbents.add(builder.evidence().incumbent)
    assert len(incumbents) == 1


def test_records_folded_from_the_store_give_the_same_evidence_as_the_results():
    results = [result(AT_RUNG_2, [0.2, 0.4, 0.6]), result([1.0] * 4, [0.1, 0.2, 0.3, 0.4]),
               result([5.0, 5.0], [0.5, 0.6], planned=10, pruned=True),
               {"status": "fail", "loss": None}]
    builder = EvidenceBuilder(RungGrid())
    for item in results:
        record = trial_evidence(item, RungGrid())
        if record is not None:
            builder.add_record(TrialEvidence.from_document(record.to_document()))
    assert builder.evidence() == evidence_from_results(results, RungGrid())


def test_evidence_round_trips_through_a_store_document():
    evidence = evidence_from_results([result(AT_RUNG_2, [0.2, 0.4, 0.6])],
                                     grid=RungGrid(min_accuracy=0.5))
    assert Evidence.from_document(evidence.to_document()) == evidence
    with pytest.raises(ValueError, match="not a pruning evidence document"):
        Evidence.from_document({"incumbent": "high"})


# The cache a worker reads through -----------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_evidence_is_read_at_most_once_a_second():
    clock, reads = Clock(), []

    def read() -> Evidence:
        reads.append(clock.now)
        return Evidence(incumbent=float(len(reads)))

    cached = CachedEvidence(read, refresh_seconds=1.0, clock=clock)
    for now in (0.0, 0.3, 0.9, 1.0, 1.5, 2.2):
        clock.now = now
        cached()
    assert reads == [0.0, 1.0, 2.2]


def test_a_new_trial_reads_afresh_unless_reads_are_failing():
    clock, reads, outage = Clock(), [], [False]

    def read() -> Evidence:
        reads.append(clock.now)
        if outage[0]:
            raise ConnectionError("server selection timed out")
        return Evidence(incumbent=float(len(reads)))

    cached = CachedEvidence(read, refresh_seconds=1.0, clock=clock)
    assert cached() == Evidence(incumbent=1.0)
    cached.expire()  # a trial starts: it must see the result finished a moment ago
    assert cached() == Evidence(incumbent=2.0) and reads == [0.0, 0.0]
    outage[0] = True
    clock.now = 1.0
    assert cached() is None
    cached.expire()  # during an outage the back-off holds: no read per trial
    assert cached() is None and reads == [0.0, 0.0, 1.0]


def test_an_unreadable_store_means_no_pruning_until_it_reads_again():
    clock, outage = Clock(), [True]

    def read() -> Evidence:
        if outage[0]:
            raise ConnectionError("server selection timed out")
        return Evidence(incumbent=10.0)

    decide = should_prune(BoundPruner(), CachedEvidence(read, clock=clock))
    slow = report([10.0, 10.0], [0.9, 0.9], planned=20)
    assert decide(slow) is None
    outage[0] = False
    assert decide(slow) is None  # the failed read is not retried within the second
    clock.now = 1.0
    assert decide(slow) is not None


def test_a_store_that_stays_unreadable_is_asked_less_and_less_often():
    clock, reads = Clock(), []

    def read() -> Evidence:
        reads.append(clock.now)
        raise ConnectionError("server selection timed out")

    cached = CachedEvidence(read, refresh_seconds=1.0, clock=clock)
    for tenth in range(0, 1000):
        clock.now = tenth / 10
        assert cached() is None
    gaps = [later - earlier for earlier, later in zip(reads, reads[1:], strict=False)]
    assert gaps[:5] == pytest.approx([1.0, 2.0, 4.0, 8.0, 16.0])
    assert max(gaps) == pytest.approx(30.0)  # LONGEST_RETRY


def test_pruners_are_made_by_name():
    assert make_pruner("none") is None
    assert make_pruner("bound", ceiling=0.9) == BoundPruner(ceiling=0.9)
    assert isinstance(make_pruner("asha"), RungPruner)
    assert make_pruner("curve", min_accuracy=0.5) == CurvePruner(min_accuracy=0.5)
    with pytest.raises(ValueError, match="unknown pruner 'median'"):
        make_pruner("median")


def test_a_confirmation_run_is_never_pruned():
    """A repeat measures its configuration again: stopped on the bound its own original set,
    only the runs that agree with a lucky original would ever count."""
    evidence = CachedEvidence(lambda: Evidence(incumbent=10.0), clock=Clock())
    slow = report([10.0, 10.0], [0.9, 0.9], planned=20)
    decide = trial_pruning(BoundPruner(), evidence, {"tid": 3})
    assert decide is not None and decide(slow) is not None
    assert trial_pruning(BoundPruner(), evidence, {"tid": 4, "repeat_of": 3}) is None
    assert trial_pruning(None, evidence, {"tid": 3}) is None


def test_the_driver_publishes_an_incumbent_pooled_over_runs_of_the_same_params(tmp_path):
    store = EmbeddedStore(tmp_path / "store")
    experiment = Experiment(exp_key="e", space={"builtin": "default"}, objective="noop",
                            epochs=1, min_accuracy=0.5, pruner="bound")
    publisher = EvidencePublisher(store, experiment, min_interval=0.0)
    publisher.record([finished_job(0, (0.9, 1.0), {"lr": 0.1}),   # lucky: 0.9 accuracy/s
                      finished_job(1, (0.8, 2.0), {"lr": 0.2}),   # 0.4
                      finished_job(2, (0.9, 3.0), {"lr": 0.1})])  # the repeat: 1.8 / 4 s
    publisher.flush()
    assert store.pruning_evidence("e")["incumbent"] == pytest.approx(0.45)
    store.close()


@pytest.mark.parametrize("refusal", [EvidenceTooLarge, StoreError])
def test_evidence_the_store_refuses_leaves_the_search_going(tmp_path, caplog,
                                                            refusal) -> None:
    """At tens of thousands of finished curves the document passes MongoDB's 16 MB: the
    driver must go on (its workers prune by the evidence published last), not end, and not
    send it again. A refusal of another kind (a write concern's timeout) is sent again."""
    tries = []

    class Refusing(EmbeddedStore):
        def publish_pruning_evidence(self, exp_key, document) -> None:  # type: ignore[no-untyped-def]
            tries.append(exp_key)
            if len(tries) == 1:
                raise refusal("the pruning evidence of 'e' could not be stored")
            super().publish_pruning_evidence(exp_key, document)

    store = Refusing(tmp_path / "store")
    experiment = Experiment(exp_key="e", space={"builtin": "default"}, objective="noop",
                            epochs=1, min_accuracy=0.5, pruner="bound")
    publisher = EvidencePublisher(store, experiment, min_interval=0.0)
    for tid in range(2):
        publisher.record([finished_job(tid, (0.9, 1.0 + tid), {"lr": tid})])
        publisher.flush()
    assert "search goes on" in caplog.text or "sent again" in caplog.text
    if refusal is EvidenceTooLarge:
        assert tries == ["e"] and store.pruning_evidence("e") is None
    else:
        assert tries == ["e", "e"] and store.pruning_evidence("e")["finished"] == 2
    store.close()


def test_the_incumbent_puts_a_configuration_on_the_side_of_the_floor_best_does() -> None:
    """Runs 0.95, 0.95, 0.5 mean 0.8 against a floor of 0.8; taken from the first run by tid
    the mean rounded to 0.7999999999999999 in one order and not in another."""
    for order in itertools.permutations([0.95, 0.95, 0.5]):
        configuration = pool([run(tid, params(0.1), accuracy, 1.0, floor=0.8)
                              for tid, accuracy in enumerate(order)], 0.8)[0]
        builder = EvidenceBuilder(grid=None, min_accuracy=0.8)
        for accuracy in order:
            builder.add(result([0.5, 0.5], [0.1, accuracy]), "k")
        assert configuration.below_floor is (builder.evidence().incumbent is None)
        assert configuration.score == builder.evidence().incumbent
