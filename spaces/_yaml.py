"""Reading space-file text into plain data, strictly enough that typos cannot pass silently."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ._errors import Location


class _SpaceLoader(yaml.SafeLoader):
    """PyYAML's safe loader, changed where it quietly misreads sweep files or can be abused."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # Workers rebuild spaces from YAML stored in the database: nested aliases ("billion
        # laughs") would let anyone who can write there make them expand without end.
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in space files",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # PyYAML keeps the last of two equal keys; a repeated parameter would vanish unseen.
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                # A merge (<<) lets a key it brings in be overridden silently, as a repeat would.
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "merge keys (<<) are not allowed in space files: write each key once",
                    key_node.start_mark)
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: PyYAML's own check below reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 reads `1e-5` (no dot) as a string; sweep files are full of such bounds, so read
# them as YAML 1.2 and JSON do: as floats.
_SpaceLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(text: str, source: str) -> object:
    """Parse ``text``; any YAML error becomes a SpaceError naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_SpaceLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"line {mark.line + 1}" if mark else "somewhere"
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise Location(source).error(
            f"{line}: not valid YAML: {problem}",
            "correct the YAML at that line (indentation, a missing ':' or an unclosed bracket "
            "or quote are the usual causes); give each key once, and use no !! tags",
        ) from None
    except yaml.YAMLError as error:
        raise Location(source).error(
            f"not readable as YAML: {error}",
            "save the file as plain UTF-8 text without control characters",
        ) from None
    except RecursionError:
        raise Location(source).error(
            "nested too deeply to read", "flatten the file's structure"
        ) from None

