"""Search spaces: what hpsearch searches over, as hyperopt graphs.

A space is a built-in name (``default``) or a YAML file in the ``parameters:`` vocabulary
of W&B sweep files. Every space carries a plain-data ``record`` from which a worker on
another machine rebuilds the very same space, so the database never carries code.
"""

import importlib
from typing import Any

__all__ = [
    "Parameter",
    "SearchSpace",
    "SpaceError",
    "builtin_space_names",
    "describe_space",
    "load_space",
    "sample_space",
    "space_from_record",
]

# Names load on first use (PEP 562), so that `import spaces` does not import hyperopt:
# the CLI's query commands and `--help` never build a space.
_WHERE = {
    "describe_space": "._describe",
    "SpaceError": "._errors",
    "builtin_space_names": "._load",
    "load_space": "._load",
    "space_from_record": "._load",
    "sample_space": "._sample",
    "Parameter": "._space",
    "SearchSpace": "._space",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value  # the next lookup skips this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
