"""How one trial is run, apart from the hyperparameters being searched."""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import ObjectiveError


@dataclass(frozen=True)
class TrialSettings:
    """Settings shared by every trial of an experiment (the seed varies per trial).

    Attributes:
        epochs: Passes over the training data.
        min_accuracy: Accuracy floor. A trial below it scores the worst possible loss, 0.0,
            but still records the accuracy it reached; it keeps a speed-only score from
            rewarding a model that learns nothing.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        seed: Per-trial seed for torch, numpy and ``random``; callers derive it from the trial id.
        data_dir: Where objectives that read data sets find them (None: their default).
        torch_compile: Ask objectives that support it to ``torch.compile`` their model.

    Raises:
        ObjectiveError: A value is out of range.
    """

    epochs: int = 20
    min_accuracy: float = 0.0
    device: str = "auto"
    seed: int = 0
    data_dir: str | None = None
    torch_compile: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ObjectiveError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ObjectiveError(
                f"min_accuracy must be a fraction in [0, 1], got {self.min_accuracy!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ObjectiveError(f"seed must be a non-negative integer, got {self.seed!r}")
