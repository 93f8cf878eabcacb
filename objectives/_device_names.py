"""The device settings a search may record, told apart without torch (a farm's driver need
not have the GPUs its workers train on)."""

from __future__ import annotations

import re

from ._errors import ObjectiveError

CUDA_DEVICE = re.compile(r"cuda(?::(\d+))?")


def device_setting(device: str) -> str:
    """`device` as recorded: stripped and lower case, once its form is known to be one of
    `auto`, `cpu`, `cuda` or `cuda:N`.

    Raises:
        ObjectiveError: it is none of those forms.
    """
    text = device.strip().lower()
    if text not in ("auto", "cpu") and CUDA_DEVICE.fullmatch(text) is None:
        raise ObjectiveError(
            f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N' (e.g. 'cuda:0')"
        )
    return text
