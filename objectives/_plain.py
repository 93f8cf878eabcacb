"""Plain data: what a result or a parameter set may hold to be stored in MongoDB and FerretDB.

The one definition of it in hpsearch: results, extras and the hyperparameters a job records
all pass through `plain_data`, so no value reaches the database that one of them refuses.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def real_number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (Python's, numpy's, or a one-element
    tensor or array holding one); None when it is not: a bool (True is no accuracy of 1.0), a
    string, None, a longer tensor."""
    value = _single(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def plain_data(value: Any, where: str) -> Any:
    """``value`` as JSON-able, MongoDB-safe data.

    numpy and torch scalars become Python numbers; -0.0 becomes 0.0 and non-finite floats
    None; dict keys must be strings without "." or "$"; lists must be flat.

    Raises:
        TypeError, ValueError: Something cannot be stored; the message names where.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    single = _single(value)
    if single is not value:
        return plain_data(single, where)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        # + 0.0 turns -0.0 (a quantized draw rounded up to zero) into 0.0: the same value,
        # which must not read as another configuration.
        return number + 0.0 if math.isfinite(number) else None
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str) or "." in key or "$" in key:
                raise ValueError(
                    f"{where} has key {key!r}: keys must be strings without '.' or '$' "
                    "(MongoDB field names)"
                )
            plain[key] = plain_data(item, f"{where}[{key!r}]")
        return plain
    if isinstance(value, (list, tuple)):
        items = [plain_data(item, f"{where}[{index}]") for index, item in enumerate(value)]
        if any(isinstance(item, (list, dict)) for item in items):
            raise TypeError(f"{where} is a nested list; results hold flat lists only")
        return items
    raise TypeError(f"{where} is a {type(value).__name__}; results hold plain JSON data only")


def _single(value: Any) -> Any:
    """The Python number a numpy scalar, or a one-element tensor or array (`loss.mean()`, an
    `np.mean` kept as a 0-d array), holds; anything else as it is."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value
