"""The validation split of the vision objectives: a fixed, stratified tenth of the training files.

Trials are scored on it, never on the official test split: a search that chose its best trial
by test accuracy would report an optimistic number. The test split is evaluated once per trial,
after training and untimed, and recorded beside the score as ``test_accuracy``.

A tenth: 5,000 images for CIFAR-10 (the 45,000 / 5,000 split that He et al. tuned ResNet's
CIFAR-10 hyperparameters on) and 6,000 for MNIST and Fashion-MNIST. At CIFAR-10's 94% that
is a standard error of 0.34 points, below the differences a search acts on, while training
keeps nine tenths of its images.

Fixed: the split is a function of the labels alone. It takes no seed and draws from no random
generator (whose streams numpy may change between versions): within each class, images are
ordered by a hash of their index. So every trial of an experiment, on every worker and host,
is scored on the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VALIDATION_FRACTION = 0.1

# SplitMix64's increment and multipliers (Steele, Lea and Flood, 2014): a fixed bijection of
# uint64 that scatters consecutive indices.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class ValidationSplit:
    """Indices into the training files (int64, ascending): those trained on, those held out."""

    train: np.ndarray
    validation: np.ndarray


def validation_split(labels: np.ndarray, fraction: float = VALIDATION_FRACTION) -> ValidationSplit:
    """Hold out ``fraction`` of the images, the same share of every class.

    Each class gives the floor or the ceiling of its share; the largest remainders get the
    ceiling, so the total is ``round(fraction * len(labels))`` (at least one image, and at
    least one left to train on).

    Raises:
        ValueError: ``fraction`` is not in (0, 1), or there are fewer than two images.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction}")
    count = len(labels)
    if count < 2:
        raise ValueError(
            f"the training files hold {count} image(s); at least 2 are needed to hold out a "
            "validation split"
        )
    size = min(max(1, round(fraction * count)), count - 1)
    classes, class_counts = np.unique(labels, return_counts=True)
    shares = class_counts * size / count
    taken = np.floor(shares).astype(np.int64)
    by_remainder = np.argsort(-(shares - taken), kind="stable")
    taken[by_remainder[: size - int(taken.sum())]] += 1
    order = np.argsort(_scrambled(np.arange(count)), kind="stable")
    ordered_labels = labels[order]
    validation = np.concatenate([
        order[ordered_labels == label][:share] for label, share in zip(classes, taken, strict=True)
    ])
    held_out = np.zeros(count, dtype=bool)
    held_out[validation] = True
    return ValidationSplit(train=np.flatnonzero(~held_out), validation=np.flatnonzero(held_out))


def _scrambled(indices: np.ndarray) -> np.ndarray:
    """SplitMix64 of each index: an order of the images that looks random but is fixed."""
    mixed = indices.astype(np.uint64) + _GOLDEN_GAMMA  # uint64 arrays wrap, as the hash wants
    mixed = (mixed ^ (mixed >> np.uint64(30))) * _MIX_1
    mixed = (mixed ^ (mixed >> np.uint64(27))) * _MIX_2
    return mixed ^ (mixed >> np.uint64(31))
