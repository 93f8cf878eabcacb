"""scikit-learn's bundled 8x8 digits, split once and kept on the training device."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

# The split never depends on the trial seed: every trial is scored on the same examples.
SPLIT_SEED = 0
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class DigitsArrays:
    """Standardised float32 inputs (N, 64) and int64 labels (N,), on the host."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class DigitsTensors:
    """The same split as tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


@functools.lru_cache(maxsize=1)
def digits_arrays() -> DigitsArrays:
    """Load (no download: the data ships with scikit-learn), split 80/20 stratified, standardise.

    Cached: loaded once per process.
    """
    # Imported here so that `import objectives` stays light for workers that never use digits.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    inputs, labels = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        inputs,
        labels,
        test_size=VALIDATION_FRACTION,
        stratify=labels,
        random_state=SPLIT_SEED,
    )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # some border pixels are always 0 in the training split
    return DigitsArrays(
        x_train=((x_train - mean) / std).astype(np.float32),
        y_train=y_train.astype(np.int64),
        x_val=((x_val - mean) / std).astype(np.float32),
        y_val=y_val.astype(np.int64),
    )


@functools.cache
def digits_tensors(device: torch.device) -> DigitsTensors:
    """The split as tensors on ``device``, copied there once per process per device.

    The whole data set (under 0.5 MB) lives on the device, so training batches are slices
    of device memory instead of host-to-device copies.
    """
    arrays = digits_arrays()
    return DigitsTensors(
        x_train=torch.from_numpy(arrays.x_train).to(device),
        y_train=torch.from_numpy(arrays.y_train).to(device),
        x_val=torch.from_numpy(arrays.x_val).to(device),
        y_val=torch.from_numpy(arrays.y_val).to(device),
    )
