"""One training run's optimizer and learning-rate schedule, stepped as the recipe says.

Cosine annealing steps after every optimizer step; ReduceLROnPlateau steps once an epoch on
validation accuracy, so a loop that uses it must evaluate inside its timed region. Every
built-in objective that trains goes through this class, so a recipe means the same in each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from ._recipe import TrainingRecipe


class Optimization:
    """The optimizer and schedule of one training run of ``total_steps`` optimizer steps."""

    def __init__(self, recipe: TrainingRecipe, parameters: Iterable[nn.Parameter],
                 total_steps: int) -> None:
        self._optimizer = recipe.build_optimizer(parameters)
        scheduler = recipe.build_scheduler(self._optimizer, total_steps=total_steps)
        self._per_step = (
            scheduler if isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)
            else None)
        self._on_accuracy = (
            scheduler if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            else None)

    @property
    def steers_on_accuracy(self) -> bool:
        """Whether each epoch's validation accuracy steers the schedule (plateau)."""
        return self._on_accuracy is not None

    def step(self, loss: torch.Tensor) -> None:
        """One optimizer step down ``loss``, then the per-step schedule."""
        # set_to_none: the backward pass writes fresh gradients, no memset needed.
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        if self._per_step is not None:
            self._per_step.step()

    def end_epoch(self, accuracy: float) -> None:
        """Hand the epoch's validation accuracy to a plateau schedule (others ignore it)."""
        if self._on_accuracy is not None:
            self._on_accuracy.step(accuracy)


def raise_if_diverged(last_loss: torch.Tensor, epoch: int) -> None:
    """Fail the trial once an epoch if training diverged: one host sync, outside the timer.
    The epoch's last loss is enough, since non-finite weights stay non-finite.

    Raises:
        FloatingPointError: The loss is NaN or infinite.
    """
    if not math.isfinite(last_loss.item()):
        raise FloatingPointError(f"training loss became {last_loss.item()} in epoch {epoch}")


def raise_if_weights_diverged(model: nn.Module) -> None:
    """Fail the trial if the weights are not finite: the last step can overflow them after
    its (finite) loss was computed.

    Raises:
        FloatingPointError: A weight is NaN or infinite.
    """
    if not all(torch.isfinite(parameter).all().item() for parameter in model.parameters()):
        raise FloatingPointError("the weights became NaN or infinite in the last step")
