"""What an objective receives besides its hyperparameters: device, budget, seed and the timer."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from ._device import synchronize
from ._plain import real_number
from ._pruning import EpochReport, PruneDecision, ShouldPrune, TrialPruned

logger = logging.getLogger(__name__)


def timing_definition() -> str:
    """The one-sentence definition of ``train_seconds`` that every result records."""
    return (
        "train_seconds is the wall-clock time spent inside the objective's `with trial.timed():` "
        "blocks, with the device synchronized on entry and exit, after the objective's "
        "once-per-process warm-up if it has one (the built-in objectives do), excluding data "
        "loading, model construction and final evaluation but "
        "including evaluation that steers training (such as ReduceLROnPlateau's)."
    )


class TrialContext:
    """The trial-side half of the objective protocol.

    Attributes:
        device: Where to train.
        epochs: Passes over the training data.
        seed: The trial's seed (torch, numpy and ``random`` are already seeded with it).
        data_dir: Where to find data sets (``--data-dir`` / ``HPSEARCH_DATA_DIR``), or None
            for the objective's default.
        torch_compile: Whether to ``torch.compile`` the model (``--compile``); an objective
            that does should report its compile time, kept out of ``train_seconds``.

    The worker may also give ``should_prune``, asked by ``report_epoch`` after every epoch but
    the last planned one (see `EpochReport`), and ``clock``, the seconds counter that
    ``timed()`` reads: ``time.perf_counter`` unless a benchmark replays recorded training
    on a virtual clock (advancing it inside ``timed()`` by each epoch's recorded time).
    """

    def __init__(
        self,
        device: torch.device,
        epochs: int,
        seed: int,
        data_dir: Path | None = None,
        torch_compile: bool = False,
        should_prune: ShouldPrune | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.device = device
        self.epochs = epochs
        self.seed = seed
        self.data_dir = data_dir
        self.torch_compile = torch_compile
        self._should_prune = should_prune
        self._clock = clock
        self._train_seconds = 0.0
        self._timed_blocks = 0
        self._inside_timed = False
        self._block_started = 0.0
        self._val_accuracy_per_epoch: list[float | None] = []
        self._train_seconds_at_epoch: list[float] = []
        self._pruned_at: tuple[PruneDecision, int] | None = None

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Mark training: the time inside is added to ``train_seconds``.

        The device is synchronized on entry and exit, so queued GPU work is neither counted
        from before nor missed at the end. Enter it as often as needed (e.g. once per epoch,
        leaving per-epoch reporting outside); blocks must not nest.

        Raises:
            RuntimeError: The block is entered while another is open.
        """
        if self._inside_timed:
            raise RuntimeError("trial.timed() blocks must not nest: the time would count twice")
        self._inside_timed = True
        synchronize(self.device)
        self._block_started = self._clock()
        try:
            yield
            synchronize(self.device)
        finally:
            # Also on an exception, so a failed or pruned trial still records the time it spent.
            self._train_seconds += self._clock() - self._block_started
            self._timed_blocks += 1
            self._inside_timed = False

    def report_epoch(self, val_accuracy: float) -> None:
        """Record one epoch's validation accuracy (a fraction in [0, 1]) and the training
        seconds so far, then ask the experiment's pruner whether to go on.

        Raises:
            FloatingPointError: The value is NaN or infinite; the trial is then recorded as
                diverged. Let it propagate, which stops training early.
            ValueError: The value is outside [0, 1] (a percentage, say): pruning compares
                it with fractions, so the trial fails with what to report instead. Or this
                is a report past the `epochs` planned: the stored curve, the epochs and the
                pruner's evidence would disagree.
            TypeError: The value is not a number (None, a bool or a string, say), as the
                result's accuracy may not be.
            TrialPruned: The pruner stopped the trial; it is then recorded as pruned, with
                the epochs reported so far. Let it propagate.
        """
        value = real_number(val_accuracy)  # what the result's accuracy may be, no more
        if value is None:
            raise TypeError(f"report_epoch takes the epoch's validation accuracy as a number "
                            f"in [0, 1], not {type(val_accuracy).__name__} {val_accuracy!r}")
        if math.isfinite(value) and not 0.0 <= value <= 1.0:
            raise ValueError(
                f"report_epoch's validation accuracy must be a fraction in [0, 1], got {value} "
                f"at epoch {len(self._val_accuracy_per_epoch) + 1} "
                "(report correct / total, not a percentage)")
        if len(self._val_accuracy_per_epoch) >= self.epochs:
            raise ValueError(
                f"report_epoch was called for epoch {len(self._val_accuracy_per_epoch) + 1} "
                f"of a trial planned for {self.epochs} (trial.epochs): train trial.epochs "
                "epochs, and report each once")
        self._train_seconds_at_epoch.append(self.train_seconds)
        if not math.isfinite(value):
            self._val_accuracy_per_epoch.append(None)
            raise FloatingPointError(
                f"validation accuracy is {value} after epoch {len(self._val_accuracy_per_epoch)}"
            )
        self._val_accuracy_per_epoch.append(value)
        epoch = len(self._val_accuracy_per_epoch)
        if self._should_prune is None or epoch >= self.epochs:
            return  # after the last planned epoch the time is spent: nothing left to save
        decision = self._ask_pruner(epoch)
        if decision is not None:
            self._pruned_at = (decision, epoch)
            raise TrialPruned(decision, epoch)

    def _ask_pruner(self, epoch: int) -> PruneDecision | None:
        assert self._should_prune is not None
        curve = self._val_accuracy_per_epoch
        report = EpochReport(
            epoch=epoch,
            epochs_planned=self.epochs,
            train_seconds=self._train_seconds_at_epoch[-1],
            # After a NaN the trial is over, so every value here is finite.
            val_accuracy_per_epoch=tuple(value for value in curve if value is not None),
            train_seconds_at_epoch=tuple(self._train_seconds_at_epoch),
        )
        try:
            return self._should_prune(report)
        except Exception:
            # Pruning saves time; it must never cost a trial. The worker's pruner already
            # treats an unreachable store as "no evidence"; anything else is a bug to log.
            logger.exception("the pruner failed after epoch %d; the trial goes on", epoch)
            return None

    @property
    def train_seconds(self) -> float:
        """Seconds spent inside ``timed()`` blocks so far (the open block's too, if any)."""
        if self._inside_timed:
            return self._train_seconds + (self._clock() - self._block_started)
        return self._train_seconds

    @property
    def pruned(self) -> TrialPruned | None:
        """Why ``report_epoch`` stopped the trial, as a `TrialPruned` like the one it raised,
        or None. Not that one: its traceback's frames hold the objective's model, optimizer
        and data, and through this context they would wait for the cycle collector, after
        every pruned trial, keeping their device memory."""
        return None if self._pruned_at is None else TrialPruned(*self._pruned_at)

    @property
    def entered_timed(self) -> bool:
        """Whether the objective has marked any training with ``timed()``."""
        return self._timed_blocks > 0

    @property
    def val_accuracy_per_epoch(self) -> list[float | None]:
        """A copy of the reported per-epoch validation accuracies (None where not finite)."""
        return list(self._val_accuracy_per_epoch)

    @property
    def train_seconds_at_epoch(self) -> list[float]:
        """``train_seconds`` when each epoch was reported (cumulative)."""
        return list(self._train_seconds_at_epoch)
