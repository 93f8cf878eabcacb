"""CIFAR-10's python batches (``cifar-10-batches-py/data_batch_1`` ...), read without running code.

The batches are pickles. A pickle can name any importable callable, so loading one with
``pickle.load`` would run whatever a tampered file asks for. This reader answers the few
globals a batch names with stand-ins of its own, which check what the file holds before
numpy sees it, and refuses every other.
"""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SHAPE = (3, 32, 32)


class CifarFormatError(ValueError):
    """The file is not a CIFAR-10 batch, or it names a global outside the allowed few."""


# numpy pickles an array as `_reconstruct(ndarray, (0,), b"b")` rebuilt by `__setstate__` from
# (version, shape, dtype, is_fortran, raw bytes), and its dtype as `dtype(name, align, copy)`
# rebuilt from a state tuple. numpy's own `__setstate__` trusts that state: two bytes changed
# in a batch file crash the process. So no numpy code sees the file: these stand-ins take the
# calls and states, and the array is made from their checked fields with `np.frombuffer`.
_DTYPE_NAMES = frozenset(f"{kind}{size}" for kind in "iuf" for size in (1, 2, 4, 8)) | {"b1"}


class _Dtype:
    """A pickled dtype's name and byte order."""

    def __init__(self, name: Any, *_: Any) -> None:
        if name not in _DTYPE_NAMES:
            raise CifarFormatError(f"an array of dtype {name!r}; a batch holds integers")
        self.name = name
        self.byte_order = "|"

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise CifarFormatError("a malformed dtype")
        self.byte_order = state[1]

    def numpy(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = np.dtype(self.byte_order + self.name)
        return dtype


class _Array:
    """A pickled array's shape, dtype and bytes, checked before numpy sees them."""

    array: np.ndarray | None = None  # also for one a pickle made without calling __init__

    def __init__(self, *_: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise CifarFormatError("a malformed array")
        _, shape, dtype, fortran, raw = state
        if isinstance(raw, str):  # a Python 2 byte string, read as latin-1
            raw = raw.encode("latin1")
        if (not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape)
                or not isinstance(dtype, _Dtype) or not isinstance(raw, bytes)):
            raise CifarFormatError("a malformed array")
        numpy_dtype = dtype.numpy()
        if len(raw) != math.prod(shape) * numpy_dtype.itemsize:
            raise CifarFormatError(f"an array of shape {shape} holding {len(raw)} bytes")
        self.array = np.frombuffer(raw, numpy_dtype).reshape(shape, order="F" if fortran else "C")


def _latin1(text: Any, encoding: Any = "utf-8") -> bytes:
    """`_codecs.encode` as protocol 2 pickles bytes: a latin-1 string, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise CifarFormatError(f"an encoding of {encoding!r}; a batch's bytes are latin-1")
    return text.encode("latin1")


# What numpy's own pickling of an array names: the array rebuilder (under numpy 1's and
# numpy 2's module names), the array and dtype classes, and the codec Python 3 uses for bytes
# in protocol 2. Each is answered by a stand-in above; every other global is refused.
_STAND_INS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _Array,
    ("numpy._core.multiarray", "_reconstruct"): _Array,
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _latin1,
}


# Python's own unpickler, not the C one: the C one sizes its memo by the largest index a file
# names, so one changed byte allocates gigabytes; this one keeps a dict. Batches load as fast.
class _BatchUnpickler(pickle._Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _STAND_INS:
            raise CifarFormatError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch needs only numpy arrays"
            )
        return _STAND_INS[module, name]


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 from one batch file.

    Raises:
        CifarFormatError: not a batch, a global outside the allowed set, or wrong shapes.
        OSError: the file cannot be read.
    """
    content = path.read_bytes()
    try:
        # latin1: the batches were pickled by Python 2, whose byte strings numpy reads this way.
        entry = _BatchUnpickler(io.BytesIO(content), encoding="latin1").load()
    except Exception as error:  # noqa: BLE001 - whatever a damaged file makes pickle raise
        # A refused global (CifarFormatError) too, now with the file's name.
        reason = str(error) or type(error).__name__
        raise CifarFormatError(f"{path} is not a CIFAR-10 batch: {reason}") from None
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
    if isinstance(value, _Array):
        value = value.array
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
