"""Running one trial: warm up, seed, train through the objective, turn any outcome into a result."""

from __future__ import annotations

import copy
import gc
import logging
import math
import numbers
import random
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._context import TrialContext
from ._device import device_description, resolve_device
from ._errors import DataMissingError
from ._objective import Objective
from ._reasons import Reason
from ._result import exception_result, success_result
from ._settings import TrialSettings

logger = logging.getLogger(__name__)

# torch >= 2.5 names it torch.OutOfMemoryError; torch.cuda.OutOfMemoryError is an alias of it.
_OUT_OF_MEMORY_ERRORS: tuple[type[BaseException], ...] = tuple(
    {getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError}
)

# (objective name, device) pairs already warmed up in this process: warming up is a property
# of the process (CUDA context, kernels, caches), so it is remembered per process.
_warmed_up: set[tuple[str, str]] = set()


def run_trial(
    objective: Objective, params: dict[str, Any], settings: TrialSettings
) -> dict[str, Any]:
    """Run one trial and build its result; every outcome, failure included, is a result.

    Warms the objective up on the device the first time this process meets the pair, seeds
    ``random``, numpy and torch from ``settings.seed`` (on the CPU the same params and seed
    give the same accuracy), and calls ``objective.run(params, trial)``. The trial trains
    ``params["epochs"]`` epochs when the space searches ``epochs``, else ``settings.epochs``.

    Returns:
        Plain JSON data. Success: ``status`` "ok", ``loss`` = -accuracy / train_seconds (0.0
        with ``below_accuracy_floor`` True when accuracy < ``settings.min_accuracy``),
        ``accuracy``, ``train_seconds``, ``epochs`` (those trained), ``val_accuracy_per_epoch``,
        ``device``,
        ``device_type``, ``timing``, ``min_accuracy``, ``seed`` and the objective's extra keys.
        Failure: ``status`` "fail", ``loss`` and ``accuracy`` None, ``reason`` "diverged"
        (NaN or infinite loss or accuracy), "data missing" (the message says where the files
        are expected), "out of memory" or "exception", with ``error``, ``error_type`` and, for
        the last two, ``traceback``.

    Raises:
        Nothing but BaseExceptions such as KeyboardInterrupt: the worker must carry on.
    """
    trial: TrialContext | None = None
    device_name: str | None = None
    try:
        device = resolve_device(settings.device)
        device_name = device_description(device)
        if objective.check is not None:
            objective.check(settings)  # before warming up: a trial without its data fails fast
        _warm_up_once(objective, device)
        _seed_everything(settings.seed)
        trial = TrialContext(
            device=device,
            epochs=epochs_for(params, settings.epochs),
            seed=settings.seed,
            data_dir=Path(settings.data_dir) if settings.data_dir else None,
            torch_compile=settings.torch_compile,
        )
        returned = objective.run(copy.deepcopy(params), trial)
        return success_result(returned, trial, settings, device_name)
    except FloatingPointError as error:
        logger.info("trial diverged: %s", error)
        return exception_result(Reason.DIVERGED, trial, settings, device_name, error)
    except DataMissingError as error:
        logger.warning("trial could not run: %s", error)
        return exception_result(Reason.DATA_MISSING, trial, settings, device_name, error)
    except _OUT_OF_MEMORY_ERRORS as error:
        logger.warning("trial ran out of memory: %s", error)
        result = exception_result(
            Reason.OUT_OF_MEMORY, trial, settings, device_name, error, traceback.format_exc()
        )
    except Exception as error:
        logger.warning("trial failed: %s: %s", type(error).__name__, error)
        return exception_result(
            Reason.EXCEPTION, trial, settings, device_name, error, traceback.format_exc()
        )
    # Only out-of-memory gets here, after the except block has dropped the exception, whose
    # traceback frames held the trial's tensors: now their memory can go back to the device.
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    return result


def epochs_for(params: Mapping[str, Any], default: int) -> int:
    """The epochs a trial trains: ``params["epochs"]`` when the space searches it, else ``default``.

    Raises:
        ValueError: ``params["epochs"]`` is not a whole number of at least 1.
    """
    if "epochs" not in params:
        return default
    value = params["epochs"]
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"params' epochs must be a whole number of at least 1, got {value!r}")
    # quantised hyperopt distributions yield floats such as 12.0
    epochs = int(round(float(value)))
    if epochs != float(value) or epochs < 1:
        raise ValueError(f"params' epochs must be a whole number of at least 1, got {value!r}")
    return epochs


def _warm_up_once(objective: Objective, device: torch.device) -> None:
    key = (objective.name, str(device))
    if objective.warm_up is None or key in _warmed_up:
        return
    logger.info("warming up objective %r on %s", objective.name, device)
    objective.warm_up(device)
    _warmed_up.add(key)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # numpy accepts seeds below 2**32 only
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
