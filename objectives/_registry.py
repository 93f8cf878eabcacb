"""Finding objectives by name: built-ins, installed entry points, allowed module:function names."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import re
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from ._digits import DIGITS
from ._errors import ObjectiveError
from ._noop import NOOP
from ._objective import Objective, objective_from_function
from ._vision import CIFAR10_OBJECTIVE, FASHION_MNIST_OBJECTIVE, MNIST_OBJECTIVE

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hpsearch.objectives"
_BUILTINS: dict[str, Objective] = {
    objective.name: objective
    for objective in (DIGITS, NOOP, MNIST_OBJECTIVE, FASHION_MNIST_OBJECTIVE, CIFAR10_OBJECTIVE)
}
_MODULE_FUNCTION = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def builtin_objective_names() -> list[str]:
    """Names of the objectives that ship with hpsearch."""
    return sorted(_BUILTINS)


def list_objectives() -> list[Objective]:
    """Built-ins, then the objectives installed under the ``hpsearch.objectives`` entry-point group.

    An entry point that fails to load is logged and left out, so one broken package does not
    break the listing (resolving it by name reports the error).
    """
    objectives = [_BUILTINS[name] for name in builtin_objective_names()]
    for entry_point in _entry_points():
        try:
            objectives.append(_load_entry_point(entry_point))
        except ObjectiveError as error:
            logger.warning("%s", error)
    return objectives


def resolve_objective(name: str, allowed_modules: Iterable[str] = ()) -> Objective:
    """Find the objective a name refers to.

    Args:
        name: A built-in name, an installed entry-point name, or ``package.module:function``.
        allowed_modules: The exact ``module:function`` names this worker's operator allowed
            (``--allow-objective``). Anything else in that form is refused before it is
            imported: the name comes from the experiment, which anyone who can write to the
            store can choose. Built-ins and entry points (installed code) are always allowed.

    Returns:
        The objective. A ``module:function`` objective is named by that string.

    Raises:
        ObjectiveError: Unknown name (the message lists what exists), a ``module:function``
            that is not allowed, malformed, fails to import, or is not callable.
    """
    if name in _BUILTINS:
        return _BUILTINS[name]
    if ":" in name:
        return _resolve_module_function(name, set(allowed_modules))
    for entry_point in _entry_points():
        if entry_point.name == name:
            return _load_entry_point(entry_point)
    installed = ", ".join(sorted({ep.name for ep in _entry_points()})) or "none"
    raise ObjectiveError(
        f"unknown objective {name!r}. Built-in: {', '.join(builtin_objective_names())}. "
        f"Installed (entry points in group {ENTRY_POINT_GROUP!r}): {installed}. "
        "Or name your own function as package.module:function "
        "(the worker must be started with --allow-objective package.module:function)."
    )


def _entry_points() -> list[EntryPoint]:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in _BUILTINS]
    shadowed = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name in _BUILTINS]
    for entry_point in shadowed:
        logger.warning(
            "entry point %r (%s) is ignored: a built-in objective has that name",
            entry_point.name,
            entry_point.value,
        )
    return found


def _load_entry_point(entry_point: EntryPoint) -> Objective:
    try:
        target = entry_point.load()
    except Exception as error:  # any import-time failure of third-party code
        raise ObjectiveError(
            f"objective {entry_point.name!r} (entry point {entry_point.value!r} in group "
            f"{ENTRY_POINT_GROUP!r}) failed to load: {type(error).__name__}: {error}. "
            "Reinstall the package that provides it, or fix its import error."
        ) from error
    return _as_objective(entry_point.name, target, f"entry point {entry_point.value!r}")


def is_module_function(name: str) -> bool:
    """Whether `name` reads `package.module:function`: an objective a worker runs only when
    its operator allows it (`--allow-objective`)."""
    return _MODULE_FUNCTION.fullmatch(name) is not None


def _resolve_module_function(name: str, allowed: set[str]) -> Objective:
    if not is_module_function(name):
        raise ObjectiveError(
            f"objective {name!r} is not of the form package.module:function "
            "(a dotted module path, one colon, a function name), e.g. mypackage.train:objective"
        )
    if name not in allowed:
        raise ObjectiveError(
            f"objective {name!r} is not allowed on this worker: module:function objectives run "
            "code named by the experiment, so the worker's operator must allow each one. "
            f"Start the worker with --allow-objective {name}"
        )
    module_name, attribute_path = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or whatever the module raises while importing
        raise ObjectiveError(
            f"cannot import module {module_name!r} for objective {name!r}: "
            f"{type(error).__name__}: {error}. Install the package where this runs (on a farm, "
            "on the driver's host and on every worker's) or put its directory on PYTHONPATH."
        ) from error
    target: object = module
    for attribute in attribute_path.split("."):
        if not hasattr(target, attribute):
            raise ObjectiveError(
                f"module {module_name!r} has no attribute {attribute_path!r} (objective {name!r}); "
                "check the name after the colon."
            )
        target = getattr(target, attribute)
    return _as_objective(name, target, f"module:function {name!r}")


def _as_objective(name: str, target: object, origin: str) -> Objective:
    if isinstance(target, Objective):
        return dataclasses.replace(target, name=name)
    if callable(target):
        return objective_from_function(name, target)
    raise ObjectiveError(
        f"{origin} is a {type(target).__name__}, not a function: an objective is a function "
        "(params, trial) -> {'accuracy': ...} or an objectives.Objective."
    )
