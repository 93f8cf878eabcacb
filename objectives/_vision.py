"""The `mnist`, `fashion-mnist` and `cifar10` objectives: convolutional nets trained the fast way."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._context import TrialContext
from ._objective import Objective
from ._recipe import TrainingRecipe
from ._settings import TrialSettings
from ._vision_data import CIFAR10, FASHION_MNIST, MNIST, VisionDataset, ensure_files, load_arrays
from ._vision_models import residual_net, small_cnn
from ._vision_train import Augmentation, DeviceImages, SpeedSettings, evaluate, train_classifier

ModelBuilder = Callable[[int, int, float], nn.Module]  # (in_channels, classes, width) -> model


def vision_objective(
    dataset: VisionDataset,
    build_model: ModelBuilder,
    augmentation: Augmentation,
    description: str,
) -> Objective:
    """An objective that trains ``build_model`` on ``dataset`` with the proposed recipe.

    Params beyond the recipe's (lr, batch_size, weight_decay, optimizer, scheduler):
    ``label_smoothing`` (default 0) and ``width`` (channel multiplier, default 1).
    """

    def run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
        recipe = TrainingRecipe.from_params(params)
        label_smoothing = float(params.get("label_smoothing", 0.0))
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        data = device_images(dataset, trial.data_dir, trial.device)
        return train_and_score(dataset, build_model, augmentation, recipe, data, trial,
                               label_smoothing, float(params.get("width", 1.0)))

    def warm_up(device: torch.device) -> None:
        """Lazy initialisation (CUDA context, cuDNN, allocator, fused optimizers), untimed.

        Runs on a small synthetic batch so that warming up never needs the data set.
        """
        data = synthetic_images(dataset, device, train_size=32, test_size=16)
        for params in (
            {"lr": 1e-3, "batch_size": 16, "weight_decay": 0.0,
             "optimizer": {"name": "adamw"}, "scheduler": {"name": "cosine"}},
            {"lr": 1e-2, "batch_size": 16, "weight_decay": 0.0,
             "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
             "scheduler": {"name": "plateau", "patience": 1, "factor": 0.5}},
        ):
            train_and_score(dataset, build_model, augmentation, TrainingRecipe.from_params(params),
                            data, TrialContext(device, 1, 0), 0.0, 1.0)

    def check(settings: TrialSettings) -> None:
        ensure_files(dataset, settings.data_dir)

    return Objective(name=dataset.name, description=description, run=run, warm_up=warm_up,
                     check=check)


def train_and_score(
    dataset: VisionDataset,
    build_model: ModelBuilder,
    augmentation: Augmentation,
    recipe: TrainingRecipe,
    data: DeviceImages,
    trial: TrialContext,
    label_smoothing: float,
    width: float,
) -> dict[str, Any]:
    """Build, train (timed) and evaluate (untimed) one model; the objective's result."""
    speed = SpeedSettings.for_device(trial.device, trial.torch_compile)
    if trial.device.type == "cuda":
        # Let cuDNN time its algorithms per shape and keep the fastest (shapes are fixed here).
        torch.backends.cudnn.benchmark = True
    model = build_model(dataset.image_shape[0], dataset.classes, width).to(trial.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    trained = train_classifier(model, recipe, data, augmentation, trial, speed, label_smoothing)
    final_accuracy = evaluate(trained.model, data, speed)  # untimed, as defined
    return {
        "accuracy": final_accuracy,
        "images_per_second": trained.images_seen / max(trial.train_seconds, 1e-9),
        "compile_seconds": trained.warm_up_step_seconds if speed.torch_compile else None,
        "warm_up_step_seconds": trained.warm_up_step_seconds,
        "autocast": str(speed.autocast_dtype).removeprefix("torch.") if speed.autocast_dtype else None,
        "channels_last": speed.channels_last,
        "compiled": speed.torch_compile,
        "parameter_count": sum(parameter.numel() for parameter in model.parameters()),
        "train_size": int(data.x_train.shape[0]),
        "validation_size": int(data.x_test.shape[0]),
    }


def device_images(dataset: VisionDataset, data_dir: Path | None, device: torch.device) -> DeviceImages:
    """The data set on ``device``, read and copied once per process (see _cached_device_images).

    Raises:
        DataMissingError: The files are missing (and cannot be downloaded) or corrupt.
    """
    return _cached_device_images(dataset, data_dir, device)


# One entry: a worker serves one experiment at a time, and a second data set on the GPU would
# only take memory from the trials.
@functools.lru_cache(maxsize=1)
def _cached_device_images(dataset: VisionDataset, data_dir: Path | None, device: torch.device) -> DeviceImages:
    arrays = load_arrays(dataset, data_dir)
    return _to_device(dataset, device, arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test)


def synthetic_images(
    dataset: VisionDataset, device: torch.device, train_size: int, test_size: int, seed: int = 0
) -> DeviceImages:
    """Random images of the data set's real shape, learnable: each class has its own mean
    brightness per channel, so a working training loop beats chance on them."""
    generator = np.random.default_rng(seed)
    channels = dataset.image_shape[0]
    class_means = generator.uniform(40, 215, size=(dataset.classes, channels))

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = generator.integers(0, dataset.classes, size=count)
        noise = generator.normal(0, 40, size=(count, *dataset.image_shape))
        images = class_means[labels][:, :, None, None] + noise
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    x_train, y_train = draw(train_size)
    x_test, y_test = draw(test_size)
    return _to_device(dataset, device, x_train, y_train, x_test, y_test)


def _to_device(dataset: VisionDataset, device: torch.device, x_train: np.ndarray, y_train: np.ndarray,
               x_test: np.ndarray, y_test: np.ndarray) -> DeviceImages:
    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)

    # uint8 on the device: CIFAR-10's 50,000 training images take 150 MB, a quarter of float32,
    # and each step reads its batch from device memory instead of copying it from the host.
    statistics = {"device": device, "dtype": torch.float32}
    return DeviceImages(
        x_train=tensor(x_train), y_train=tensor(y_train), x_test=tensor(x_test), y_test=tensor(y_test),
        mean=torch.tensor(dataset.mean, **statistics).view(1, -1, 1, 1),
        std=torch.tensor(dataset.std, **statistics).view(1, -1, 1, 1),
    )


MNIST_OBJECTIVE = vision_objective(
    MNIST, small_cnn, Augmentation(),
    "small CNN (3 conv-bn layers, 94k parameters) on MNIST (60,000 train / 10,000 test)",
)
FASHION_MNIST_OBJECTIVE = vision_objective(
    FASHION_MNIST, small_cnn, Augmentation(flip=True),
    "small CNN (3 conv-bn layers, 94k parameters) on Fashion-MNIST (60,000 / 10,000), flips",
)
CIFAR10_OBJECTIVE = vision_objective(
    CIFAR10, residual_net, Augmentation(translate=2, flip=True),
    "residual net (3 stages, 2.0M parameters) on CIFAR-10 (50,000 / 10,000), crops and flips",
)
