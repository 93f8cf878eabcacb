"""Images per second of a vision objective's training loop beside a plain DataLoader loop.

Same network (the objective's own), recipe, epochs, data and device. Ours is the objective's
code: uint8 data on the device, whole-epoch augmentation there, batches as slices, bf16
autocast and channels_last on CUDA. The baseline is the loop most tutorials write: host
uint8 images, per-image crop/flip/normalise in a Dataset (as torchvision transforms do),
DataLoader(shuffle=True), a host-to-device copy per batch, float32, torch's default
optimizer implementation. Used by train_speed.py --objective mnist|fashion-mnist|cifar10.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from objectives import DataMissingError, TrialContext
from objectives._device import device_description, synchronize
from objectives._recipe import TrainingRecipe
from objectives._vision import VISION_TASKS, VisionTask, images_on_device, train_and_score
from objectives._vision_data import ImageArrays, ensure_files, load_arrays, synthetic_arrays
from objectives._vision_train import Augmentation, DeviceImages, SpeedSettings, evaluate

Measurement = tuple[float, float]  # (images per second, validation accuracy)


class TransformingDataset(Dataset):
    """One image at a time through crop, flip and normalise on the host, like torchvision's."""

    def __init__(self, data: DeviceImages, task: VisionTask) -> None:
        # The objective's own training images (the validation split held out), on the host.
        self.images = data.train.images.cpu().numpy()
        self.labels = data.train.labels.cpu().numpy()
        self.augmentation: Augmentation = task.augmentation
        self.mean = torch.tensor(task.dataset.mean).view(-1, 1, 1)
        self.std = torch.tensor(task.dataset.std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(self.images[index]).float()
        pad = self.augmentation.translate
        if pad:
            height, width = image.shape[1:]
            padded = nn.functional.pad(image, (pad, pad, pad, pad))
            top, left = np.random.randint(0, 2 * pad + 1, size=2)
            image = padded[:, top : top + height, left : left + width]
        if self.augmentation.flip and np.random.rand() < 0.5:
            image = image.flip(-1)
        return (image - self.mean) / self.std, int(self.labels[index])


def dataloader_trial(task: VisionTask, data: DeviceImages, recipe: TrainingRecipe, epochs: int,
                     width: float, device: torch.device, seed: int, workers: int) -> Measurement:
    torch.manual_seed(seed)
    np.random.seed(seed)
    loader = DataLoader(TransformingDataset(data, task), batch_size=recipe.batch_size,
                        shuffle=True, drop_last=True, num_workers=workers)
    model = task.build_model(task.dataset.image_shape[0], task.dataset.classes, width).to(device)
    optimizer = recipe.build_optimizer(model.parameters(), fused=False)
    scheduler = recipe.build_scheduler(optimizer, total_steps=len(loader) * epochs)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            loss = nn.functional.cross_entropy(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    synchronize(device)
    seconds = time.perf_counter() - start
    plain = SpeedSettings(autocast_dtype=None, channels_last=False, torch_compile=False)
    accuracy = evaluate(model, data.validation, data, plain)
    return len(loader) * recipe.batch_size * epochs / seconds, accuracy


def our_trial(task: VisionTask, data: DeviceImages, recipe: TrainingRecipe, epochs: int,
              width: float, device: torch.device, seed: int) -> Measurement:
    torch.manual_seed(seed)
    result = train_and_score(task, recipe, data, TrialContext(device, epochs, seed), 0.0, width)
    return result["images_per_second"], result["accuracy"]


def vision_main(args: argparse.Namespace, device: torch.device) -> None:
    task = VISION_TASKS[args.objective]
    try:
        ensure_files(task.dataset, args.data_dir)
        arrays = load_arrays(task.dataset, args.data_dir)
        source = f"the real data set in {args.data_dir or 'the default data directory'}"
    except DataMissingError:
        arrays = synthetic_arrays(task.dataset, args.train_size, 1000)
        source = "synthetic images of the real shape (data set absent)"
    if args.train_size < len(arrays.y_train):
        arrays = ImageArrays(arrays.x_train[: args.train_size], arrays.y_train[: args.train_size],
                             arrays.x_test[:1000], arrays.y_test[:1000])
    data = images_on_device(task.dataset, arrays, device)  # split as the objective splits it
    recipe = TrainingRecipe.from_params({
        "lr": args.lr, "batch_size": args.batch_size, "weight_decay": 5e-5,
        "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
        "scheduler": {"name": "cosine"},
    })
    methods: dict[str, Callable[[int], Measurement]] = {
        f"{task.dataset.name} objective (data on device)": lambda seed: our_trial(
            task, data, recipe, args.epochs, args.width, device, seed),
        f"plain DataLoader loop ({args.loader_workers} workers)": lambda seed: dataloader_trial(
            task, data, recipe, args.epochs, args.width, device, seed, args.loader_workers),
    }
    for method in methods.values():  # warm-up, untimed: lazy init, allocator, kernels
        method(0)
    measurements: dict[str, list[Measurement]] = {name: [] for name in methods}
    for repeat in range(args.repeats):  # interleaved, so noise hits both alike
        for name, method in methods.items():
            measurements[name].append(method(repeat + 1))

    print(f"device {device_description(device)} ({device}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads; {args.objective} on {source}: "
          f"{len(data.train)} training images ({len(data.validation)} held out to validate), "
          f"width {args.width}, batch {args.batch_size}, {args.epochs} epochs, SGD nesterov + "
          f"cosine, {args.repeats} repeats")
    print(f"{'method':44} {'median img/s':>13} {'min':>9} {'max':>9} {'val acc':>9}")
    medians = {}
    for name, runs in measurements.items():
        rates = [rate for rate, _ in runs]
        medians[name] = statistics.median(rates)
        print(f"{name:44} {medians[name]:13.1f} {min(rates):9.1f} {max(rates):9.1f} "
              f"{statistics.median(accuracy for _, accuracy in runs):9.4f}")
    ours, plain = medians.values()
    print(f"ratio ours / DataLoader (images per second, medians): {ours / plain:.2f}")
