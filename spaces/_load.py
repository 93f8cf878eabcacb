"""Finding a space by built-in name, file path or database record, and building it.

Built-in spaces are YAML files shipped in this package, read through the same loader as
users' files, so both kinds obey one vocabulary and one set of checks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ._compile import compile_space
from ._errors import Location, did_you_mean
from ._space import SearchSpace
from ._yaml import read_yaml

_SUFFIX = ".yaml"


def builtin_space_names() -> list[str]:
    """Names of the spaces shipped with hpsearch, sorted."""
    return sorted(
        entry.name[: -len(_SUFFIX)]
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(_SUFFIX)
    )


def load_space(name_or_path: str) -> SearchSpace:
    """The built-in space of that name or else the space in that YAML file.

    Raises:
        SpaceError: no such built-in or file, the file is unreadable, or it is malformed.
    """
    if name_or_path in builtin_space_names():
        return _builtin(name_or_path)
    path = Path(name_or_path)
    if not name_or_path or not path.exists():  # Path("") is the current directory
        hint = did_you_mean(name_or_path, builtin_space_names())
        raise Location(name_or_path).error(
            f"no built-in space and no file by this name{hint}",
            f"use a built-in space ({', '.join(builtin_space_names())}) or the path of a YAML "
            "space file",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Location(name_or_path).error(
            f"cannot read the file: {getattr(error, 'strerror', None) or error}",
            "check that it is a readable UTF-8 text file, not a directory",
        ) from None
    return _from_yaml(text, path.name, {"file": path.name, "yaml": text}, source=name_or_path)


def space_from_record(record: dict[str, Any]) -> SearchSpace:
    """Rebuild the space that ``SearchSpace.record`` describes, as a remote worker must.

    Raises:
        SpaceError: the record is malformed, names a built-in this installation lacks, or
            holds a malformed file.
    """
    if (
        isinstance(record, dict)
        and set(record) == {"builtin"}
        and isinstance(record["builtin"], str)
    ):
        if record["builtin"] not in builtin_space_names():
            raise Location("space record").error(
                f"no built-in space {record['builtin']!r} in this installation",
                "install the same hpsearch version as the machine that started the search",
            )
        return _builtin(record["builtin"])
    if (
        isinstance(record, dict)
        and set(record) == {"file", "yaml"}
        and isinstance(record["file"], str)
        and isinstance(record["yaml"], str)
    ):
        return _from_yaml(record["yaml"], record["file"], dict(record), source=record["file"])
    shown = repr(record)
    raise Location("space record").error(
        f"not a space record: {shown if len(shown) <= 60 else shown[:57] + '...'}",
        "pass SearchSpace.record as stored: {'builtin': name} or {'file': name, 'yaml': text}",
    )


def _builtin(name: str) -> SearchSpace:
    text = resources.files(__package__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    return _from_yaml(text, name, {"builtin": name}, source=f"built-in space {name!r}")


def _from_yaml(text: str, name: str, record: dict[str, Any], source: str) -> SearchSpace:
    document = read_yaml(text, source)
    try:
        graph, parameters = compile_space(document, source)
    except RecursionError:
        raise Location(source).error(
            "nested too deeply",
            "flatten the file's structure",
        ) from None
    return SearchSpace(name=name, record=record, graph=graph, parameters=parameters,
                       document=document)


