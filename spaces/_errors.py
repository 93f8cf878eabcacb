"""The one exception a user's space name or space file can cause, and where it points."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class SpaceError(ValueError):
    """A mistake in a space name, space file or space record.

    ``str(error)`` is the whole message a user needs: what is wrong, where (file and key
    path), and how to fix it. Callers print it as is, without a traceback.
    """


@dataclass(frozen=True)
class Location:
    """A place in a space file: the file as the user named it, and a dotted key path.

    Errors are raised through a location so that every message names the file and key.
    """

    source: str
    path: str = ""

    def key(self, name: object) -> Location:
        return Location(self.source, f"{self.path}.{name}" if self.path else str(name))

    def item(self, index: int) -> Location:
        return Location(self.source, f"{self.path}[{index}]")

    def error(self, problem: str, fix: str) -> SpaceError:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return SpaceError(f"{where}: {problem}\n  fix: {fix}")


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt key or name, or "" when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
