"""The `digits` objective: a small MLP on scikit-learn's 8x8 digits, trained the fast way.

Speed habits after airbench: the data set lives on the device, batches are slices of a
per-epoch permutation, nothing waits for the device inside the step loop, and the timer
covers training only.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ._context import TrialContext
from ._digits_data import DigitsTensors, digits_tensors
from ._objective import Objective
from ._optimization import Optimization, raise_if_diverged, raise_if_weights_diverged
from ._recipe import TrainingRecipe, warm_up_recipes

INPUT_FEATURES = 64
HIDDEN_UNITS = 128
CLASSES = 10


def build_model() -> nn.Module:
    """64 -> 128 -> 10 MLP with ReLU (initialised from torch's global RNG, on the CPU)."""
    return nn.Sequential(
        nn.Linear(INPUT_FEATURES, HIDDEN_UNITS),
        nn.ReLU(),
        nn.Linear(HIDDEN_UNITS, CLASSES),
    )


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction classified correctly (correct / total, exact in float64); waits for the device."""
    model.eval()
    # The whole validation split in one forward pass: 360 rows are one small matmul.
    correct = int((model(inputs).argmax(dim=1) == labels).sum().item())
    model.train()
    return correct / labels.shape[0]


def train(recipe: TrainingRecipe, data: DigitsTensors, trial: TrialContext) -> nn.Module:
    """Train a fresh model for ``trial.epochs`` epochs, timing each epoch with ``trial.timed()``.

    Raises:
        FloatingPointError: The training loss became NaN or infinite (checked once per
            epoch; training stops there).
    """
    device = trial.device
    model = build_model().to(device)
    train_size = data.x_train.shape[0]
    batch_size = min(recipe.batch_size, train_size)
    steps_per_epoch = math.ceil(train_size / batch_size)
    optimization = Optimization(recipe, model.parameters(), steps_per_epoch * trial.epochs)
    # A device-side generator: the permutation is drawn where it is used, with no host copy.
    generator = torch.Generator(device=device)
    generator.manual_seed(trial.seed)

    for epoch in range(1, trial.epochs + 1):
        with trial.timed():
            order = torch.randperm(train_size, device=device, generator=generator)
            # One gather per epoch; the batches below are then free views, not per-step gathers.
            x_epoch, y_epoch = data.x_train[order], data.y_train[order]
            for start in range(0, train_size, batch_size):
                inputs = x_epoch[start : start + batch_size]
                labels = y_epoch[start : start + batch_size]
                loss = nn.functional.cross_entropy(model(inputs), labels)
                optimization.step(loss)
            if optimization.steers_on_accuracy:
                # This evaluation steers training, so it belongs inside the timed region.
                epoch_accuracy = accuracy(model, data.x_val, data.y_val)
                optimization.end_epoch(epoch_accuracy)
        raise_if_diverged(loss, epoch)
        if not optimization.steers_on_accuracy:
            epoch_accuracy = accuracy(model, data.x_val, data.y_val)
        trial.report_epoch(epoch_accuracy)
    raise_if_weights_diverged(model)
    return model


def run_digits(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """MLP 64-128-10 on scikit-learn's 8x8 digits (1437 train / 360 validation)."""
    recipe = TrainingRecipe.from_params(params)
    data = digits_tensors(trial.device)
    model = train(recipe, data, trial)
    final_accuracy = accuracy(model, data.x_val, data.y_val)  # untimed, as defined
    return {
        "accuracy": final_accuracy,
        "parameter_count": sum(parameter.numel() for parameter in model.parameters()),
        "validation_size": int(data.x_val.shape[0]),
    }


def warm_up_digits(device: torch.device) -> None:
    """Load the data onto ``device`` and run both optimizer and scheduler paths briefly, untimed.

    First calls pay for lazy initialisation (CUDA context, kernels, allocator pools, the
    fused optimizers); without this the first trial of every process would be scored slower.
    """
    data = digits_tensors(device)
    for recipe in warm_up_recipes(batch_size=64):
        model = train(recipe, data, TrialContext(device, 1, 0))
        accuracy(model, data.x_val, data.y_val)


DIGITS = Objective(
    name="digits",
    description=(
        "MLP 64-128-10 on scikit-learn's 8x8 digits "
        "(1437 train / 360 validation, no download)"
    ),
    run=run_digits,
    warm_up=warm_up_digits,
    check_params=TrainingRecipe.from_params,
)
