"""CIFAR-10's python batches (``cifar-10-batches-py/data_batch_1`` ...), read without running code.

The batches are pickles. A pickle can name any importable callable, so loading one with
``pickle.load`` would run whatever a tampered file asks for. This reader allows exactly the
globals a batch needs to rebuild a numpy array and refuses every other.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SHAPE = (3, 32, 32)

# What numpy's own pickling of a uint8 array names: the array rebuilder (under numpy 1's and
# numpy 2's module names), the array and dtype classes, and the codec Python 3 uses for bytes
# in protocol 2. None of them can touch files, processes or the network.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)


class CifarFormatError(ValueError):
    """The file is not a CIFAR-10 batch, or it names a global outside the allowed few."""


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise CifarFormatError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch needs only numpy arrays"
            )
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 from one batch file.

    Raises:
        CifarFormatError: not a batch, a global outside the allowed set, or wrong shapes.
        OSError: the file cannot be read.
    """
    try:
        # latin1: the batches were pickled by Python 2, whose byte strings numpy reads this way.
        entry = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        # A refused global (CifarFormatError, a ValueError) too, now with the file's name.
        raise CifarFormatError(f"{path} is not a CIFAR-10 batch: {error}") from None
    if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
        raise CifarFormatError(f"{path} is not a CIFAR-10 batch (no 'data' and 'labels')")
    data, labels = _integers(path, "data", entry["data"]), _integers(path, "labels",
                                                                      entry["labels"])
    if data.size and (data.min() < 0 or data.max() > 255):
        raise CifarFormatError(f"{path} holds pixel values outside 0-255")
    data = data.astype(np.uint8)
    if data.ndim != 2 or data.shape[1] != int(np.prod(IMAGE_SHAPE)) or len(labels) != len(data):
        raise CifarFormatError(
            f"{path} holds data of shape {data.shape} and {len(labels)} labels; "
            "expected (N, 3072) and N labels"
        )
    return data.reshape((-1, *IMAGE_SHAPE)), labels


def _integers(path: Path, key: str, value: Any) -> np.ndarray:
    """A batch's `key` as int64, refused unless every element is an integer."""
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "iub" and not (array.size == 0 and array.dtype.kind == "f"):
            raise TypeError(f"its elements are {array.dtype}, not integers")
        return array.astype(np.int64)
    except (ValueError, TypeError, OverflowError) as error:
        raise CifarFormatError(f"{path}: '{key}' is not an array of integers ({error})"
                               ) from None


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images (N, 3, 32, 32) uint8 and labels as a batch in CIFAR-10's layout."""
    entry = {
        "batch_label": path.name,
        "labels": [int(label) for label in labels],
        "data": np.ascontiguousarray(images, dtype=np.uint8).reshape(len(images), -1),
        "filenames": [f"image_{index}.png" for index in range(len(images))],
    }
    path.write_bytes(pickle.dumps(entry, protocol=2))
