"""What an objective receives besides its hyperparameters: device, budget, seed and the timer."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from ._device import synchronize


def timing_definition() -> str:
    """The one-sentence definition of ``train_seconds`` that every result records."""
    return (
        "train_seconds is the wall-clock time spent inside the objective's `with trial.timed():` "
        "blocks, with the device synchronized on entry and exit, after a once-per-process "
        "warm-up, excluding data loading, model construction and final evaluation but "
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
    """

    def __init__(
        self,
        device: torch.device,
        epochs: int,
        seed: int,
        data_dir: Path | None = None,
        torch_compile: bool = False,
    ) -> None:
        self.device = device
        self.epochs = epochs
        self.seed = seed
        self.data_dir = data_dir
        self.torch_compile = torch_compile
        self._train_seconds = 0.0
        self._timed_blocks = 0
        self._inside_timed = False
        self._val_accuracy_per_epoch: list[float | None] = []

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
        start = time.perf_counter()
        try:
            yield
            synchronize(self.device)
        finally:
            # Also on an exception, so a failed trial still records the time it spent.
            self._train_seconds += time.perf_counter() - start
            self._timed_blocks += 1
            self._inside_timed = False

    def report_epoch(self, val_accuracy: float) -> None:
        """Record one epoch's validation accuracy (a fraction in [0, 1]).

        Raises:
            FloatingPointError: The value is NaN or infinite; the trial is then recorded as
                diverged. Let it propagate, which stops training early.
        """
        value = float(val_accuracy)
        if not math.isfinite(value):
            self._val_accuracy_per_epoch.append(None)
            raise FloatingPointError(
                f"validation accuracy is {value} after epoch {len(self._val_accuracy_per_epoch)}"
            )
        self._val_accuracy_per_epoch.append(value)

    @property
    def train_seconds(self) -> float:
        """Seconds spent inside ``timed()`` blocks so far."""
        return self._train_seconds

    @property
    def entered_timed(self) -> bool:
        """Whether the objective has marked any training with ``timed()``."""
        return self._timed_blocks > 0

    @property
    def val_accuracy_per_epoch(self) -> list[float | None]:
        """A copy of the reported per-epoch validation accuracies (None where not finite)."""
        return list(self._val_accuracy_per_epoch)
