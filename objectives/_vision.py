"""The `mnist`, `fashion-mnist` and `cifar10` objectives: convolutional nets, trained fast."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._context import TrialContext
from ._errors import DataMissingError
from ._objective import Objective
from ._recipe import TrainingRecipe, warm_up_recipes
from ._settings import TrialSettings
from ._vision_data import (
    CIFAR10,
    FASHION_MNIST,
    MNIST,
    ImageArrays,
    VisionDataset,
    data_root,
    load_arrays,
    synthetic_arrays,
)
from ._vision_models import residual_net, small_cnn
from ._vision_split import validation_split
from ._vision_train import (
    Augmentation,
    DeviceImages,
    LabelledImages,
    SpeedSettings,
    evaluate,
    train_classifier,
)

ModelBuilder = Callable[[int, int, float], nn.Module]  # (in_channels, classes, width) -> model


@dataclass(frozen=True)
class VisionTask:
    """What one vision objective trains: a data set, a network for it, and its augmentation."""

    dataset: VisionDataset
    build_model: ModelBuilder
    augmentation: Augmentation
    description: str


def vision_objective(task: VisionTask) -> Objective:
    """An objective that trains ``task.build_model`` on ``task.dataset`` with the proposed recipe.

    Params beyond the recipe's (lr, batch_size, weight_decay, optimizer, scheduler):
    ``label_smoothing`` (default 0) and ``width`` (channel multiplier, default 1).
    """

    def run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        recipe, label_smoothing, width = _read_params(params)
        data = device_images(task.dataset, trial.data_dir, trial.device)
        return train_and_score(task, recipe, data, trial, label_smoothing, width)

    def warm_up(device: torch.device) -> None:
        """Lazy initialisation (CUDA context, cuDNN, allocator, fused optimizers), untimed.

        Runs on a small synthetic batch so that warming up never needs the data set.
        """
        data = synthetic_images(task.dataset, device, train_size=32, test_size=16)
        for recipe in warm_up_recipes(batch_size=16):
            train_and_score(task, recipe, data, TrialContext(device, 1, 0), 0.0, 1.0)

    def check(settings: TrialSettings) -> None:
        # Read and split, not only found: a corrupt file, or training files too few to hold
        # out a validation split, must stop the search before its first trial, not fail
        # every trial. The arrays are cached for this process's trials.
        arrays = load_arrays(task.dataset, settings.data_dir)
        try:
            validation_split(arrays.y_train)
        except ValueError as error:
            raise DataMissingError(f"{task.dataset.name} in {data_root(settings.data_dir)}: "
                                   f"{error}") from None

    return Objective(name=task.dataset.name, description=task.description, run=run,
                     warm_up=warm_up, check=check, check_params=_read_params)


def _read_params(params: dict[str, Any]) -> tuple[TrainingRecipe, float, float]:
    """The recipe, label smoothing and width a trial's params ask for.

    Raises:
        ValueError: A key is missing or unknown, or a value is out of range.
    """
    recipe = TrainingRecipe.from_params(params, also_reads=("label_smoothing", "width"))
    label_smoothing = float(params.get("label_smoothing", 0.0))
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    width = float(params.get("width", 1.0))
    if not 0.0 < width < math.inf:  # the recorded width must be the one trained
        raise ValueError(f"width (a multiple of the model's channels) must be above 0, "
                         f"got {width}")
    return recipe, label_smoothing, width


def train_and_score(
    task: VisionTask,
    recipe: TrainingRecipe,
    data: DeviceImages,
    trial: TrialContext,
    label_smoothing: float,
    width: float,
) -> dict[str, Any]:
    """Build, train (timed) and evaluate (untimed) one model; the objective's result.

    ``accuracy``, which the trial is scored on, is the validation split's; the test split's
    is recorded as ``test_accuracy`` and chooses nothing.
    """
    speed = SpeedSettings.for_device(trial.device, trial.torch_compile)
    if trial.device.type == "cuda":
        # Let cuDNN time its algorithms per shape and keep the fastest (shapes are fixed here).
        torch.backends.cudnn.benchmark = True
    model = task.build_model(task.dataset.image_shape[0], task.dataset.classes, width)
    model = model.to(trial.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    trained = train_classifier(
        model, recipe, data, task.augmentation, trial, speed, label_smoothing
    )
    # Untimed, as defined: the final evaluations are not training.
    return {
        "accuracy": evaluate(trained.model, data.validation, data, speed),
        "test_accuracy": evaluate(trained.model, data.test, data, speed),
        "images_per_second": trained.images_seen / max(trial.train_seconds, 1e-9),
        "compile_seconds": trained.warm_up_step_seconds if speed.torch_compile else None,
        "warm_up_step_seconds": trained.warm_up_step_seconds,
        "autocast": str(speed.autocast_dtype).removeprefix("torch.")
        if speed.autocast_dtype
        else None,
        "channels_last": speed.channels_last,
        "compiled": speed.torch_compile,
        "parameter_count": sum(parameter.numel() for parameter in model.parameters()),
        "train_size": len(data.train),
        "validation_size": len(data.validation),
        "test_size": len(data.test),
    }


def device_images(
    dataset: VisionDataset, data_dir: Path | None, device: torch.device
) -> DeviceImages:
    """The data set on ``device``, read and copied once per process (see _cached_device_images).

    Raises:
        DataMissingError: The files are missing (and cannot be downloaded) or corrupt.
    """
    return _cached_device_images(dataset, data_dir, device)


# One entry: a worker serves one experiment at a time, and a second data set on the GPU would
# only take memory from the trials.
@functools.lru_cache(maxsize=1)
def _cached_device_images(
    dataset: VisionDataset, data_dir: Path | None, device: torch.device
) -> DeviceImages:
    return images_on_device(dataset, load_arrays(dataset, data_dir), device)


def synthetic_images(
    dataset: VisionDataset, device: torch.device, train_size: int, test_size: int, seed: int = 0
) -> DeviceImages:
    """Learnable random images of the data set's real shape on ``device`` (synthetic_arrays)."""
    return images_on_device(dataset, synthetic_arrays(dataset, train_size, test_size, seed), device)


def images_on_device(
    dataset: VisionDataset, arrays: ImageArrays, device: torch.device
) -> DeviceImages:
    """Host arrays split (training, validation held out from it, test) and copied to ``device``
    once, with the data set's normalisation constants."""

    def labelled(images: np.ndarray, labels: np.ndarray) -> LabelledImages:
        return LabelledImages(torch.from_numpy(np.ascontiguousarray(images)).to(device),
                              torch.from_numpy(np.ascontiguousarray(labels)).to(device))

    split = validation_split(arrays.y_train)
    # uint8 on the device: CIFAR-10's 50,000 training images take 150 MB, a quarter of float32,
    # and each step reads its batch from device memory instead of copying it from the host.
    return DeviceImages(
        train=labelled(arrays.x_train[split.train], arrays.y_train[split.train]),
        validation=labelled(arrays.x_train[split.validation], arrays.y_train[split.validation]),
        test=labelled(arrays.x_test, arrays.y_test),
        mean=torch.tensor(dataset.mean, device=device, dtype=torch.float32).view(1, -1, 1, 1),
        std=torch.tensor(dataset.std, device=device, dtype=torch.float32).view(1, -1, 1, 1),
    )


VISION_TASKS: dict[str, VisionTask] = {
    task.dataset.name: task
    for task in (
        VisionTask(MNIST, small_cnn, Augmentation(),
                   "small CNN (3 conv-bn layers, 94k parameters) on MNIST (54,000 train / "
                   "6,000 validation / 10,000 test)"),
        # Clothes are left-right symmetric; digits are not, so MNIST gets no flips.
        VisionTask(FASHION_MNIST, small_cnn, Augmentation(flip=True),
                   "small CNN (3 conv-bn layers, 94k parameters) on Fashion-MNIST (54,000 / "
                   "6,000 / 10,000), flips"),
        # airbench's augmentation: 2-pixel translations and flips.
        VisionTask(CIFAR10, residual_net, Augmentation(translate=2, flip=True),
                   "residual net (3 stages, 2.0M parameters) on CIFAR-10 (45,000 / 5,000 / "
                   "10,000), crops and flips"),
    )
}
MNIST_OBJECTIVE = vision_objective(VISION_TASKS["mnist"])
FASHION_MNIST_OBJECTIVE = vision_objective(VISION_TASKS["fashion-mnist"])
CIFAR10_OBJECTIVE = vision_objective(VISION_TASKS["cifar10"])
