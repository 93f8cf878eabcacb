"""Tiny data sets written in the on-disk formats torchvision reads, for tests of the vision
objectives: IDX files for MNIST and Fashion-MNIST, pickled batches for CIFAR-10.

Each class has its own mean brightness, so a working training loop can learn them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from objectives._cifar_batches import write_batch
from objectives._idx import write_idx

CIFAR_TRAIN_BATCHES = 5


def learnable_images(count: int, shape: tuple[int, ...], seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images whose class (0-9) sets their brightness, plus noise; and int labels."""
    generator = np.random.default_rng(seed)
    labels = generator.integers(0, 10, size=count)
    brightness = labels.reshape(-1, *[1] * len(shape)) * 22.0 + 20
    images = brightness + generator.normal(0, 15, (count, *shape))
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_mnist_like(data_dir: Path, folder: str, train: int, test: int,
                     gzipped: bool = False, random_test_labels: bool = False) -> Path:
    """MNIST's four IDX files under ``data_dir/folder/raw`` ("MNIST" or "FashionMNIST").

    With ``random_test_labels`` the test images keep their brightness but get labels drawn at
    random: no model can beat chance (10%) on the test split, while one that learned the
    training files scores well on a validation split held out from them.
    """
    raw = data_dir / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gzipped else ""
    for prefix, count, seed in (("train", train, 1), ("t10k", test, 2)):
        images, labels = learnable_images(count, (28, 28), seed)
        if prefix == "t10k" and random_test_labels:
            labels = np.random.default_rng(seed).permutation(np.arange(count) % 10)
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels.astype(np.uint8))
    return raw


def write_cifar10(data_dir: Path, train: int, test: int) -> Path:
    """CIFAR-10's five training batches and test batch under ``data_dir/cifar-10-batches-py``."""
    folder = data_dir / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = learnable_images(train, (3, 32, 32), 1)
    for number, part in enumerate(np.array_split(np.arange(train), CIFAR_TRAIN_BATCHES), start=1):
        write_batch(folder / f"data_batch_{number}", images[part], labels[part])
    test_images, test_labels = learnable_images(test, (3, 32, 32), 2)
    write_batch(folder / "test_batch", test_images, test_labels)
    return folder
