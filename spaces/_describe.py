"""A space as text for people (``hpsearch spaces show``): every parameter, its range, its branch."""

from __future__ import annotations

import math

from ._space import Parameter, SearchSpace

_INDENT = "    "


def describe_space(space: SearchSpace) -> str:
    """One line per parameter; a branch's parameters are indented under a ``when`` line."""
    by_label = {parameter.label: parameter for parameter in space.parameters}
    rows: list[tuple[str, Parameter | None]] = []
    opened: dict[int, str] = {}  # the branch whose `when` line heads each depth now
    for parameter in space.parameters:
        depth = _depth(parameter, by_label)
        for deeper in [d for d in opened if d > depth]:  # a nested branch's lines have ended
            del opened[deeper]
        if parameter.condition and opened.get(depth) != parameter.condition:
            rows.append((f"{_INDENT * (depth - 1)}  when {parameter.condition}:", None))
            opened[depth] = parameter.condition
        rows.append((_INDENT * depth + parameter.label, parameter))
    width = max(len(text) for text, parameter in rows if parameter) + 2
    lines = [f"space {space.name!r}: {len(space.parameters)} parameters"]
    for text, described in rows:
        if described is None:
            lines.append(text)
        else:
            lines.append(f"{text.ljust(width)}{described.distribution:<22}{_range(described)}")
    return "\n".join(lines)


def _depth(parameter: Parameter, by_label: dict[str, Parameter]) -> int:
    depth = 0
    while parameter.condition:
        depth += 1
        parameter = by_label[parameter.condition.partition("=")[0]]
    return depth


def _range(parameter: Parameter) -> str:
    if parameter.values is not None:
        if parameter.distribution == "constant":
            return f"= {parameter.values[0]!r}"
        return "one of: " + ", ".join(repr(value) for value in parameter.values)
    if parameter.mu is not None:
        text = f"mu {_number(parameter.mu)}, sigma {_number(parameter.sigma)}"
    else:
        text = f"[{_number(parameter.low)}, {_number(parameter.high)}]"
    if parameter.q is not None:
        text += f", step {_number(parameter.q)}"
        if parameter.distribution == "q_uniform":
            text += f" (values {_q_uniform_values(parameter)})"
    return text + (", log scale" if parameter.log else "")


def _q_uniform_values(parameter: Parameter) -> str:
    """What round(X / q) * q actually yields for X in [low, high]: the bounds people mean."""
    q, low, high = parameter.q, parameter.low, parameter.high
    assert q is not None and low is not None and high is not None, "q_uniform has all three"
    first = math.floor(low / q + 0.5) * q
    last = math.ceil(high / q - 0.5) * q
    return f"{_number(first)} to {_number(last)}"


def _number(value: float | None) -> str:
    """A bound to 15 significant digits, every digit of an integer (`:g`'s six showed 1000000
    to 1000005 as 1e+06 to 1e+06), but not the last digits of float arithmetic (3 * 0.1 shows
    as 0.3)."""
    return str(value) if isinstance(value, int) else f"{value:.15g}"
