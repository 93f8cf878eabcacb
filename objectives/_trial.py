"""Running one trial: warm up, seed, train through the objective, turn any outcome into a result."""

from __future__ import annotations

import copy
import dataclasses
import functools
import gc
import logging
import math
import numbers
import random
import signal
import sysconfig
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._context import TrialContext
from ._device import device_description, resolve_device
from ._errors import DataMissingError
from ._objective import Objective
from ._pruning import ShouldPrune, TrialPruned
from ._reasons import Reason
from ._result import NEVER_TIMED, exception_result, pruned_result, success_result
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
    objective: Objective,
    params: dict[str, Any],
    settings: TrialSettings,
    *,
    should_prune: ShouldPrune | None = None,
    clock: Callable[[], float] = time.perf_counter,
    on_start: Callable[[TrialContext], None] = lambda trial: None,
    name: str = "trial",
) -> dict[str, Any]:
    """Run one trial and build its result; every outcome, failure included, is a result.

    Warms the objective up on the device the first time this process meets the pair, seeds
    ``random``, numpy and torch from ``settings.seed`` (on the CPU the same params and seed
    give the same accuracy; their earlier states come back afterwards), and calls
    ``objective.run(params, trial)``. The trial trains
    ``params["epochs"]`` epochs when the space searches ``epochs``, else ``settings.epochs``.
    ``should_prune`` and ``clock`` go to the `TrialContext` (the experiment's pruner, and the
    timer's clock: a benchmark's virtual one, or ``time.perf_counter``). ``on_start`` gets the
    context before the objective runs: a caller that stops trials from outside (a timeout)
    builds a stopped one's result from it with `stopped_result`. ``name`` is what the log lines
    call the trial (a worker serving many experiments says which: ``trial 3 of mnist``).

    Returns:
        Plain JSON data. Success: ``status`` "ok", ``loss`` = -accuracy / train_seconds (0.0
        with ``below_accuracy_floor`` True when accuracy < ``settings.min_accuracy``),
        ``accuracy``, ``train_seconds``, ``epochs`` (those the trial was set to train; a
        pruned one's are those it trained, with ``epochs_planned``; the curve shows how many
        an objective reported), ``val_accuracy_per_epoch``, ``device``,
        ``device_type``, ``timing``, ``min_accuracy``, ``seed`` and the objective's extra keys.
        Failure: ``status`` "fail", ``loss`` and ``accuracy`` None, ``reason`` "diverged"
        (NaN or infinite loss or accuracy), "data missing" (the message says where the files
        are expected), "out of memory" or "exception" (a ``sys.exit`` in the objective
        too), with ``error``, ``error_type`` and, for the last two, ``traceback``. Pruned
        (``should_prune`` stopped it): ``status`` "ok", ``pruned`` True, ``loss`` 0.0 and the
        partial curve (see `pruned_result`).

    Raises:
        Nothing but BaseExceptions such as KeyboardInterrupt (a SystemExit the objective
        raises is a failed trial): the worker must carry on.
    """
    trial: TrialContext | None = None
    device_name: str | None = None
    callers = _RandomStates.save()
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
            should_prune=should_prune,
            clock=clock,
        )
        on_start(trial)
        try:
            returned = objective.run(copy.deepcopy(params), trial)
        except (Exception, SystemExit) as error:
            if trial.pruned is None or _from_signal_handler(error):
                raise
            # Once the pruner said stop, the trial is pruned whatever the objective raises
            # then (TrialPruned wrapped in an error of its own, its clean-up's failure): as a
            # failure it would lose its curve and count toward the failures in a row.
            if not isinstance(error, TrialPruned):
                logger.info("the objective of %s raised %s: %s after it was pruned", name,
                            type(error).__name__, error)
            logger.info("%s %s", name, trial.pruned)
            return _stopped_early(trial.pruned, trial, settings, device_name)
        if trial.pruned is not None:
            # The objective caught TrialPruned and returned anyway: the trial still stopped
            # early, and scoring its partial training as a success would reward that.
            return _stopped_early(trial.pruned, trial, settings, device_name)
        return success_result(returned, trial, settings, device_name)
    except TrialPruned as pruned:
        if trial is None or device_name is None:  # raised before the trial began: a bug
            return exception_result(
                Reason.EXCEPTION, trial, settings, device_name, pruned, traceback.format_exc()
            )
        logger.info("%s %s", name, pruned)
        return _stopped_early(pruned, trial, settings, device_name)
    except FloatingPointError as error:
        logger.info("%s diverged: %s", name, error)
        return exception_result(Reason.DIVERGED, trial, settings, device_name, error)
    except DataMissingError as error:
        logger.warning("%s could not run: %s", name, error)
        return exception_result(Reason.DATA_MISSING, trial, settings, device_name, error)
    except _OUT_OF_MEMORY_ERRORS as error:
        logger.warning("%s ran out of memory: %s", name, error)
        result = exception_result(
            Reason.OUT_OF_MEMORY, trial, settings, device_name, error, traceback.format_exc()
        )
    except Exception as error:
        logger.warning("%s failed: %s: %s (%s; -vv or debug logging shows the traceback)",
                       name, type(error).__name__, error, raised_at(error))
        logger.debug("the trial's traceback:\n%s", traceback.format_exc().rstrip())
        return exception_result(
            Reason.EXCEPTION, trial, settings, device_name, error, traceback.format_exc()
        )
    except SystemExit as error:
        if _from_signal_handler(error):
            raise  # the caller's stop (a SIGTERM handler that exits): the trial goes back
        # The objective's own exit (argparse given bad arguments, a library's sys.exit):
        # hpsearch raises none while a trial runs. Let through, it would end the search and
        # hand the trial back, to be run again, and exit again, on every resume.
        message = f"the objective called {_exit_call(error)} {raised_at(error)}"
        logger.warning("%s failed: %s", name, message)
        return exception_result(Reason.EXCEPTION, trial, settings, device_name, error,
                                traceback.format_exc(), message=message)
    finally:
        callers.restore()
    # Only out-of-memory gets here, after the except block has dropped the exception, whose
    # traceback frames held the trial's tensors: now their memory can go back to the device.
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    return result


# The objective protocol's own code: an error raised there is about what the objective gave
# it (a result, an epoch's report), whose place in the objective's code is the one to name.
_PROTOCOL_FILES = frozenset(str(Path(__file__).resolve().parent / name)
                            for name in ("_context.py", "_plain.py", "_result.py", "_trial.py"))


def raised_at(error: BaseException) -> str:
    """Where `error` was raised, as `file:line in function`: the innermost frame of code
    outside the installed packages, the standard library and the objective protocol (the
    objective's own, not the torch internals it called, nor the check of what it returned);
    where none is, the check's."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "raised where no traceback shows"
    libraries = tuple(str(Path(path).resolve()) for name, path in sysconfig.get_paths().items()
                      if name in ("stdlib", "platstdlib", "purelib", "platlib"))
    own = [frame for frame in frames
           if not (path := str(Path(frame.filename).resolve())).startswith(libraries)
           and path not in _PROTOCOL_FILES]
    if not own:
        return "in what the objective returned"
    frame = own[-1]
    return f"at {frame.filename}:{frame.lineno} in {frame.name}"


def _from_signal_handler(error: BaseException) -> bool:
    """Whether `error` was raised in a signal handler installed now (a program's
    `signal.signal(SIGTERM, lambda *_: sys.exit(143))`): a stop from outside, not the
    objective's own exit."""
    handlers = set()
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        while isinstance(handler, functools.partial):
            handler = handler.func
        if callable(handler) and not hasattr(handler, "__code__") \
                and not hasattr(handler, "__func__"):
            handler = type(handler).__call__  # an object called as a function
        code = getattr(getattr(handler, "__func__", handler), "__code__", None)
        if code is not None:
            handlers.add(code)
    return any(frame.f_code in handlers for frame, _ in traceback.walk_tb(error.__traceback__))


def _exit_call(error: SystemExit) -> str:
    """`sys.exit(...)` as the objective called it."""
    return "sys.exit()" if error.code is None else f"sys.exit({error.code!r})"


def _stopped_early(pruned: TrialPruned, trial: TrialContext, settings: TrialSettings,
                   device_name: str) -> dict[str, Any]:
    """A pruned trial's result; the protocol's failure instead when the objective never
    timed its training, as it would have been had it run to its end (a pruned result without
    training time would count toward the budget as nothing)."""
    if not trial.entered_timed:
        return exception_result(Reason.EXCEPTION, trial, settings, device_name,
                                ValueError(NEVER_TIMED))
    return pruned_result(pruned, trial, settings, device_name)


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


@dataclasses.dataclass(frozen=True)
class _RandomStates:
    """The global generators' states, given back after a trial that seeded them: in an
    embedded search the trials run in the caller's process (a notebook's), whose `random`,
    numpy and torch draws must go on as if no trial had run."""

    python: object
    numpy: object
    torch_cpu: torch.Tensor
    torch_cuda: list[torch.Tensor] | None

    @classmethod
    def save(cls) -> _RandomStates:
        return cls(random.getstate(), np.random.get_state(), torch.random.get_rng_state(),
                   torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None)

    def restore(self) -> None:
        random.setstate(self.python)  # type: ignore[arg-type]
        np.random.set_state(self.numpy)  # type: ignore[arg-type]
        torch.random.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None:
            torch.cuda.set_rng_state_all(self.torch_cuda)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)  # numpy accepts seeds below 2**32 only
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
