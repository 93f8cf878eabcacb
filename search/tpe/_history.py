"""The trials of a search as arrays, kept up to date incrementally.

A proposal reads every trial, but converts only the documents that are new or whose state or
result changed since the last proposal: with thousands of trials, a proposal costs a pass of
cheap comparisons, not a rebuild of the whole history.

Confirmation runs (search.confirmation: a job whose `repeat_of` names the trial it repeats)
are pooled with their original into one configuration: TPE sees it once, with a better-known
score, rather than several points piled on one spot. Trials that merely draw the same values
stay separate points: in a discrete space many do, and each is evidence of its own.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np
from hyperopt import JOB_STATE_DONE, JOB_STATE_ERROR, JOB_STATE_NEW, JOB_STATE_RUNNING, STATUS_OK
from hyperopt.base import Domain

from search.documents import REPEAT_OF, finite_number
from search.means import pooled_mean
from search.pruning import pruned_estimate
from search.tpe._space import SearchSpace, read_space

# What a trial tells TPE, beside its coordinates.
GOOD_CANDIDATE = 0  # finished with a loss below +inf: ranked by it
PENDING = 1  # queued or running: a constant liar, worse than every finished trial
FAILED = 2  # failed, or a NaN, +inf or missing loss: bad, never good
IGNORED = 3  # cancelled, or without parameters: not part of the model
BELOW_FLOOR = 4  # finished below the accuracy floor: bad, its loss is -accuracy (NaN unknown)
# A pruned trial above the floor is a GOOD_CANDIDATE ranked by its projected score when it
# stopped (`search.pruning.pruned_estimate`), not by the worst score its result stores: the
# search then reads its history much as the unpruned search would have (benchmarks/RESULTS.md,
# issue 16: fewer training seconds to the best and the best lost less often).


class History:
    """Coordinates (n, dimensions) with NaN where a label is inactive, losses and outcomes."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._reset()

    def _reset(self) -> None:
        space = self.space
        # A tid's row; a second document of one tid (two Trials merged) is (tid, n).
        self._rows: dict[int | tuple[int, int], int] = {}
        self._signatures: list[tuple[Any, ...]] = []
        self._final_results: list[Any] = []
        self._coordinates = np.empty((64, len(space.dimensions)))
        self._losses = np.empty(64)
        self._outcomes = np.empty(64, dtype=np.int8)
        self._keys: list[int | tuple[int, int]] = []  # each row's key in _rows
        self._row_keys: list[int | tuple[int, int] | None] = []  # the original each row runs
        self._rows_of_key: dict[int | tuple[int, int], list[int]] = {}
        self._repeated: set[int | tuple[int, int]] = set()  # originals with more than one row

    def update(self, documents: Iterable[dict[str, Any]]) -> None:
        """Bring the arrays in line with `documents`, converting only what changed. Two
        documents of one tid (two Trials merged) are two trials, as stock TPE takes them."""
        seen: set[int] = set()
        repeats: dict[int, int] = {}  # tid -> documents of it past the first
        count = 0
        for document in documents:
            count += 1
            tid = document["tid"]
            key: int | tuple[int, int] = tid
            if tid in seen:
                repeats[tid] = repeats.get(tid, 0) + 1
                key = (tid, repeats[tid])
            else:
                seen.add(tid)
            row = self._rows.get(key)
            # A finished trial's result is final: while it is the same object, skip the rest.
            if row is not None and self._final_results[row] is document["result"]:
                continue
            signature = _signature(document)
            if row is None:
                row = self._append(key)
            elif self._signatures[row] == signature:
                continue
            self._signatures[row] = signature
            self._final_results[row] = document["result"] if document.get("state") in (
                JOB_STATE_DONE, JOB_STATE_ERROR) else None
            self._convert(row, document)
        if count != len(self._rows):  # documents were removed: start again
            self._reset()
            self.update(documents)

    @property
    def coordinates(self) -> np.ndarray:
        return self._coordinates[: len(self._rows)]

    @property
    def losses(self) -> np.ndarray:
        return self._pooled()[0]

    @property
    def outcomes(self) -> np.ndarray:
        return self._pooled()[1]

    def _pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """Losses and outcomes with each repeated configuration's runs pooled on its first row
        (the others IGNORED), pending while none has finished. As the reports pool
        (search.configurations): mean accuracy over mean seconds, below the floor (by its
        mean accuracy) when the mean accuracy is; for results without them (a plain Hyperopt
        objective), good when at least half the finished runs were, with their mean loss
        counting the others as 0."""
        losses, outcomes = self._losses[: len(self._rows)], self._outcomes[: len(self._rows)]
        if not self._repeated:
            return losses, outcomes
        losses, outcomes = losses.copy(), outcomes.copy()
        for key in self._repeated:
            rows = self._rows_of_key[key]
            finished = [row for row in rows
                        if outcomes[row] in (GOOD_CANDIDATE, FAILED, BELOW_FLOOR)]
            good = [row for row in finished if outcomes[row] == GOOD_CANDIDATE]
            first = rows[0]
            pooled = _pooled_evidence([self._final_results[row] for row in finished])
            if pooled is not None:
                outcomes[first], losses[first] = pooled
            elif finished:
                pooled_good = 2 * len(good) >= len(finished)
                losses[first] = float(np.sum(losses[good])) / len(finished) if pooled_good \
                    else math.inf
                outcomes[first] = GOOD_CANDIDATE if pooled_good else FAILED
            else:
                losses[first], outcomes[first] = math.inf, PENDING
            outcomes[rows[1:]] = IGNORED
        return losses, outcomes

    def _append(self, key: int | tuple[int, int]) -> int:
        row = len(self._rows)
        if row == len(self._losses):
            self._coordinates = np.concatenate([self._coordinates,
                                                np.empty_like(self._coordinates)])
            self._losses = np.concatenate([self._losses, np.empty_like(self._losses)])
            self._outcomes = np.concatenate([self._outcomes, np.empty_like(self._outcomes)])
        self._rows[key] = row
        self._keys.append(key)
        self._signatures.append(())
        self._final_results.append(None)
        self._row_keys.append(None)
        return row

    def _convert(self, row: int, document: dict[str, Any]) -> None:
        values = document.get("misc", {}).get("vals") or {}
        if self._row_keys[row] is None:
            self._group(row, document)
        for column, dimension in enumerate(self.space.dimensions):
            value = values.get(dimension.label) or []
            self._coordinates[row, column] = dimension.coordinate(value[0]) if value else np.nan
        self._outcomes[row], self._losses[row] = _outcome(document, bool(values))


    def _group(self, row: int, document: dict[str, Any]) -> None:
        """File the row under the trial it repeats (its own key for an original: a second
        document of one tid is a trial of its own, not a repeat)."""
        link = document.get(REPEAT_OF)
        key = link if isinstance(link, int) and not isinstance(link, bool) else self._keys[row]
        self._row_keys[row] = key
        rows = self._rows_of_key.setdefault(key, [])
        rows.append(row)
        if len(rows) > 1:
            self._repeated.add(key)


def _pooled_evidence(results: list[Any]) -> tuple[int, float] | None:
    """The outcome and loss of runs that report accuracy, training seconds and the floor, as
    the reports pool them; None when a run does not (or none finished)."""
    if not results:
        return None
    accuracies: list[float] = []
    seconds: list[float] = []
    floor = math.inf
    for result in results:
        if not isinstance(result, dict):
            return None
        if result.get("status") != STATUS_OK or result.get("pruned"):
            continue  # a failed run says nothing of the score, a pruned one too little
        numbers = [finite_number(result.get(name))
                   for name in ("accuracy", "train_seconds", "min_accuracy")]
        if None in numbers:
            return None
        accuracy, run_seconds, floor = (float(number or 0.0) for number in numbers)
        accuracies.append(accuracy)
        seconds.append(run_seconds)
    if not accuracies:
        return FAILED, math.inf
    accuracy, mean_seconds = pooled_mean(accuracies), pooled_mean(seconds)
    if accuracy < floor:
        return BELOW_FLOOR, -accuracy
    if mean_seconds <= 0:
        return FAILED, math.inf
    return GOOD_CANDIDATE, -accuracy / mean_seconds


def _signature(document: dict[str, Any]) -> tuple[Any, ...]:
    result = document.get("result") or {}
    return (document.get("state"), result.get("status"), result.get("loss"),
            result.get("below_accuracy_floor"))


def _outcome(document: dict[str, Any], has_values: bool) -> tuple[int, float]:
    state = document.get("state")
    if not has_values:
        return IGNORED, math.inf
    if state in (JOB_STATE_NEW, JOB_STATE_RUNNING):
        return PENDING, math.inf
    result = document.get("result") or {}
    loss = result.get("loss")
    if state == JOB_STATE_DONE and result.get("status") == STATUS_OK and result.get(
            "below_accuracy_floor"):
        accuracy = result.get("accuracy")
        if isinstance(accuracy, int | float) and math.isfinite(accuracy):
            return BELOW_FLOOR, -float(accuracy)
        return BELOW_FLOOR, math.nan
    if state == JOB_STATE_DONE and result.get("status") == STATUS_OK:
        estimate = pruned_estimate(result)
        if estimate is not None:  # not its stored worst score: see search.pruning
            return GOOD_CANDIDATE, -estimate
    if state == JOB_STATE_DONE and result.get("status") == STATUS_OK and isinstance(
            loss, int | float) and (math.isfinite(loss) or loss == -math.inf):
        return GOOD_CANDIDATE, float(loss)  # -inf is the best there is, as stock TPE ranks it
    if state in (JOB_STATE_DONE, JOB_STATE_ERROR):
        return FAILED, math.inf
    return IGNORED, math.inf


_HISTORIES: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Domain, History]] = (
    weakref.WeakKeyDictionary())


def history_for(trials: Any, domain: Domain) -> History:
    """The history kept for this (trials, domain) pair, updated to the trials' documents.

    Kept beside the objects (weakly: it goes when they go), so each proposal converts only
    what changed since the previous one.
    """
    per_domain = _HISTORIES.setdefault(trials, weakref.WeakKeyDictionary())
    history = per_domain.get(domain)
    if history is None:
        history = per_domain[domain] = History(read_space(domain))
    history.update(trials.trials)
    return history
