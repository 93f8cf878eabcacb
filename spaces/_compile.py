"""Turning the ``parameters:`` tree of a space file into a hyperopt graph, checking every key.

Labels are the key path joined with "/" (``optimizer/sgd/momentum``): unique by
construction, and free of "." and "$" because they become MongoDB keys.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hyperopt import hp
from hyperopt.pyll import Apply, as_apply

from ._distributions import DISTRIBUTIONS, LARGEST_NUMBER, LARGEST_STORED_INTEGER
from ._errors import Location, did_you_mean
from ._space import EPOCHS, Parameter

_DISTRIBUTION_NAMES = ("constant", "categorical", *DISTRIBUTIONS)
_FORBIDDEN_IN_NAMES = "./$="


def compile_space(document: object, source: str) -> tuple[Apply, tuple[Parameter, ...]]:
    """The hyperopt graph and parameter list for a parsed space file.

    Raises:
        SpaceError: naming ``source``, the key path and the fix, for any malformed input.
    """
    top = Location(source)
    if not isinstance(document, dict):
        got = "an empty file" if document is None else f"a {_kind(document)}"
        raise top.error(
            f"expected a mapping with a `parameters:` key at the top level, got {got}",
            "start the file with `parameters:` and indent one entry per hyperparameter under it",
        )
    _check_keys(document, ("parameters",), top)
    if "parameters" not in document:
        raise top.error(
            "no `parameters:` key", "add `parameters:` with one entry per hyperparameter"
        )
    parameters: list[Parameter] = []
    graph = _group(document["parameters"], top.key("parameters"), "", None, parameters)
    _check_epochs(parameters, top.key("parameters").key(EPOCHS))
    return as_apply(graph), tuple(parameters)


def _check_epochs(parameters: list[Parameter], at: Location) -> None:
    """A space that searches `epochs` gives every trial its epochs (the objectives read the
    top-level label): its values must be whole numbers of at least 1, or every trial fails."""
    found = [p for p in parameters if p.label.split("/")[0] == EPOCHS]
    if not found:
        return
    searched = found[0]
    if searched.label != EPOCHS:  # a group: the objective would receive a mapping
        whole = False
    elif searched.values is not None and searched.distribution in ("constant", "categorical"):
        whole = all(_is_number(value) and float(value).is_integer() and value >= 1
                    for value in searched.values)
    elif searched.distribution in ("int_uniform", "q_uniform", "q_log_uniform_values"):
        low, q = searched.low or 0.0, searched.q or 1
        # The draws are multiples of q; the smallest is x = low rounded to one.
        whole = float(q).is_integer() and math.floor(low / q + 0.5) * q >= 1
    else:
        whole = False
    if not whole:
        raise at.error(
            "epochs must be whole numbers of at least 1: each trial trains the epochs it draws",
            "e.g. `epochs: {distribution: int_uniform, min: 2, max: 20}` or `values: [5, 10]`",
        )


def _group(
    spec: object, at: Location, prefix: str, condition: str | None, out: list[Parameter]
) -> dict[str, object]:
    if not isinstance(spec, dict) or not spec:
        raise at.error(
            f"expected a non-empty mapping of parameter names, got {_describe_value(spec)}",
            "list parameters under it, e.g. `lr: {distribution: uniform, min: 0.0, max: 1.0}`",
        )
    graph = {}
    for name, item in spec.items():
        _check_name(name, at, "parameter name")
        graph[name] = _parameter(item, at.key(name), prefix + name, condition, out)
    return graph


def _parameter(
    item: object, at: Location, label: str, condition: str | None, out: list[Parameter]
) -> object:
    if not isinstance(item, dict):
        raise at.error(
            f"expected a mapping describing the parameter, got {_describe_value(item)}",
            f"write e.g. `{{value: {_example(item)}}}` for a constant, or "
            "`{distribution: uniform, min: 0.0, max: 1.0}`",
        )
    kind = _kind_of(item, at)
    if kind == "group":
        _check_keys(item, ("parameters",), at)
        return _group(item["parameters"], at.key("parameters"), label + "/", condition, out)
    if kind == "constant":
        _check_keys(item, ("distribution", "value"), at)
        if "value" not in item:
            raise at.error("constant without `value:`", "add `value: <the value>`")
        value = _plain(item["value"], at.key("value"))
        out.append(Parameter(label, "constant", values=(value,), condition=condition))
        return value
    if kind == "categorical":
        return _categorical(item, at, label, condition, out)
    distribution = DISTRIBUTIONS[kind]
    _check_keys(item, ("distribution", *distribution.keys), at)
    numbers = {key: _number(item, key, at, kind) for key in distribution.keys}
    node, parameter = distribution.build(kind, label, numbers, at, condition)
    out.append(parameter)
    return node


def _kind_of(item: dict[str, Any], at: Location) -> str:
    """The distribution name, given or inferred the way W&B infers it."""
    if "distribution" in item:
        name = item["distribution"]
        if name not in _DISTRIBUTION_NAMES:
            shown = repr(name) if isinstance(name, str) else _describe_value(name)
            raise at.key("distribution").error(
                "`distribution:` is empty" if name is None else
                f"unknown distribution {shown}{did_you_mean(name, _DISTRIBUTION_NAMES)}",
                f"use one of: {', '.join(_DISTRIBUTION_NAMES)}",
            )
        return str(name)
    if "value" in item:
        return "constant"
    if "values" in item:
        return "categorical"
    if "parameters" in item:
        return "group"
    if "min" in item and "max" in item:
        bounds = (item["min"], item["max"])
        integers = all(_is_number(bound) and isinstance(bound, int) for bound in bounds)
        return "int_uniform" if integers else "uniform"
    raise at.error(
        "cannot tell what kind of parameter this is",
        "add `distribution:` (one of: " + ", ".join(_DISTRIBUTION_NAMES) + "), or give "
        "`value:` for a constant, `values:` for a choice, `parameters:` for a group",
    )


def _categorical(
    item: dict[str, Any], at: Location, label: str, condition: str | None, out: list[Parameter]
) -> object:
    _check_keys(item, ("distribution", "values"), at)
    values = item.get("values")
    if not isinstance(values, list) or not values:
        raise at.key("values").error(
            f"expected a non-empty list, got {_describe_value(values)}",
            "list the choices, e.g. `values: [64, 128, 256]`",
        )
    branches = [isinstance(value, dict) for value in values]
    if all(branches):
        return _nested_choice(values, at.key("values"), label, condition, out)
    if any(branches):
        index = branches.index(True)
        raise at.key("values").item(index).error(
            "mixes plain values with `name:` branches",
            "write every choice as a branch, e.g. `- name: adamw`",
        )
    options = [_plain(value, at.key("values").item(index)) for index, value in enumerate(values)]
    written = [json.dumps(option, sort_keys=True) for option in options]
    for index, option in enumerate(written):
        if option in written[:index]:
            booleans = isinstance(options[index], bool)
            raise at.key("values").item(index).error(
                f"{option} is already a choice"
                + (" (YAML reads on, off, yes and no as booleans)" if booleans else ""),
                "give each choice once" + ("; quote words such as 'on' to keep them strings"
                                           if booleans else ""),
            )
    out.append(Parameter(label, "categorical", values=tuple(options), condition=condition))
    return hp.choice(label, options)


def _nested_choice(
    values: list[dict[str, Any]],
    at: Location,
    label: str,
    condition: str | None,
    out: list[Parameter],
) -> object:
    """A choice among named branches, each yielding ``{"name": ..., **its parameters}``."""
    names = []
    for index, branch in enumerate(values):
        if "name" not in branch:
            raise at.item(index).error(
                "a branch of a nested choice has no `name:`",
                "give each branch a `name:`, with its own `parameters:` if it has any",
            )
        _check_name(branch["name"], at.item(index), "branch name", key="name")
        if branch["name"] in names:
            raise at.item(index).key("name").error(
                f"duplicate branch name {branch['name']!r}", "give every branch a different name"
            )
        names.append(branch["name"])
    out.append(Parameter(label, "categorical", values=tuple(names), condition=condition))
    options = []
    for index, (name, branch) in enumerate(zip(names, values, strict=False)):
        where = at.item(index)
        _check_keys(branch, ("name", "parameters"), where)
        option = {"name": name}
        if "parameters" in branch:
            params = branch["parameters"]
            if isinstance(params, dict) and "name" in params:
                raise where.key("parameters").key("name").error(
                    "`name` is reserved in a branch: it holds the branch's own name",
                    "rename this parameter",
                )
            branch_condition = f"{label}={name}"
            option.update(
                _group(params, where.key("parameters"), f"{label}/{name}/", branch_condition, out)
            )
        options.append(option)
    return hp.choice(label, options)


def _check_keys(item: dict[str, Any], allowed: tuple[str, ...], at: Location) -> None:
    for key in item:
        if key not in allowed:
            raise at.key(key).error(
                f"unknown key {key!r}{did_you_mean(key, allowed)}",
                f"use only: {', '.join(allowed)}",
            )


def _check_name(name: object, at: Location, what: str, key: str | None = None) -> None:
    where = at.key(key) if key else at
    if not isinstance(name, str) or not name.strip():
        raise where.error(
            f"{what} {name!r} is not a non-empty string",
            "quote it, e.g. 'on' or '1' (YAML reads on/off/yes/no as booleans)",
        )
    if any(char in _FORBIDDEN_IN_NAMES or not char.isprintable() for char in name):
        raise where.error(
            f"{what} {name!r} contains '.', '/', '$', '=' or a control character; names "
            "build hyperopt labels, which are MongoDB keys, and conditions such as a=b",
            "use letters, digits, '_' or '-' instead",
        )


def _number(item: dict[str, Any], key: str, at: Location, distribution: str) -> float:
    if key not in item:
        raise at.error(
            f"{distribution} is missing `{key}`", f"add `{key}: <number>` to this parameter"
        )
    value = item[key]
    if not _is_number(value):
        problem = f"expected a number, got {_describe_value(value)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            problem += f", which is not finite or beyond ±{LARGEST_NUMBER:g}"
        raise at.key(key).error(problem, f"write a number, e.g. `{key}: 1.0e-5` (no quotes)")
    return float(value) if isinstance(value, float) else int(value)


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return abs(float(value)) <= LARGEST_NUMBER
    except OverflowError:
        return False


def _plain(value: object, at: Location) -> object:
    """``value`` if it is the kind of value a space file may hold: JSON-like data that a
    trial's params can carry into the database (as ``objectives.plain_data`` will require):
    64-bit integers, valid Unicode, flat lists, mapping keys without ".", "$" or NUL. Checked
    here, so that the message names the file and key before any trial runs.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise at.error(f"string {value!r} is not valid Unicode (a lone surrogate)",
                           "write the character itself, or a pair of \\u escapes for it"
                           ) from None
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and not -LARGEST_STORED_INTEGER <= value < LARGEST_STORED_INTEGER:
        raise at.error(f"{value} is beyond the 64-bit integers the database stores",
                       f"write it as a float ({float(value):.1e}) or as a string")
    if isinstance(value, (int, float)):
        if _is_number(value):
            return value
        raise at.error(f"{value!r} is not a finite number", "use a finite number")
    if isinstance(value, list):
        for index, element in enumerate(value):
            if isinstance(element, (list, dict)):
                raise at.item(index).error(
                    f"a {_kind(element)} inside a list: the database stores flat lists only",
                    "use a mapping of flat lists, e.g. `{first: [1, 2], second: [3, 4]}`")
        return [_plain(element, at.item(index)) for index, element in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise at.error(f"mapping key {key!r} is not a string", "quote the key")
            if "." in key or "$" in key or "\0" in key:
                raise at.error(f"mapping key {key!r} contains '.', '$' or a NUL byte, which "
                               "database keys cannot hold", "use letters, digits, '_' or '-' "
                               "instead")
        return {_plain(key, at): _plain(element, at.key(key)) for key, element in value.items()}
    raise at.error(
        f"{_describe_value(value)} is not plain data",
        "use a number, string, boolean, null, or a list or mapping of those "
        "(quote dates and times)",
    )


def _describe_value(value: object) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{_kind(value)} {text if len(text) <= 40 else text[:37] + '...'}"


def _kind(value: object) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _example(value: object) -> str:
    return repr(value) if isinstance(value, (int, float, str)) else "3"
