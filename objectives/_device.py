"""Choosing the training device and describing it in results."""

from __future__ import annotations

import torch

from ._device_names import CUDA_DEVICE, device_setting
from ._errors import ObjectiveError


def resolve_device(device: str) -> torch.device:
    """Turn a device setting into a concrete ``torch.device``.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns:
        The device. A CUDA device always carries its index (``cuda`` becomes ``cuda:0`` or
        the current device), so per-device caches have one key per physical device.

    Raises:
        ObjectiveError: The string is not one of the forms above, CUDA was asked for but is
            not available, or the index names no device.
    """
    text = device_setting(device)
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return torch.device("cpu")
    match = CUDA_DEVICE.fullmatch(text)
    assert match is not None  # device_setting let only these forms through
    if not torch.cuda.is_available():
        raise ObjectiveError(
            f"device {device!r} asked for CUDA, but torch.cuda.is_available() is False on this "
            "machine; use --device cpu or install a CUDA build of torch"
        )
    count = torch.cuda.device_count()
    index = int(match.group(1)) if match.group(1) is not None else torch.cuda.current_device()
    if index >= count:
        raise ObjectiveError(
            f"device {device!r} does not exist: this machine has {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}"
        )
    return torch.device("cuda", index)


def device_description(device: torch.device) -> str:
    """``"cpu"``, or the CUDA device's product name (e.g. ``"NVIDIA H100 80GB HBM3"``)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def synchronize(device: torch.device) -> None:
    """Wait until all work queued on ``device`` has finished (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
