"""The Dockerfile as Docker reads it, for tests that cannot run a Docker engine.

Instructions come from the `dockerfile` package, which wraps BuildKit's own parser (comments,
line continuations, exec and shell forms, heredocs), so tests see what `docker build` sees and
never the comments. This adds what the tests ask of it: stages, where COPY puts each file,
the working directory and user at each instruction, and a RUN's commands as words.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

REPO_ROOT = Path(__file__).resolve().parent.parent
SHELL_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})


@dataclass(frozen=True)
class Step:
    """One instruction, with the working directory and user it runs under, and the paths COPY
    had written before it (image path -> source)."""

    command: dockerfile.Command
    workdir: str
    user: str
    copied: dict[str, str]

    @property
    def instruction(self) -> str:
        return str(self.command.cmd).upper()

    @property
    def arguments(self) -> list[str]:
        return list(self.command.value)


@dataclass
class Stage:
    """A FROM and the instructions up to the next; ``copied`` maps each path COPY wrote in the
    image to its source in the build context (or in another stage, ``stage:path``)."""

    base: str
    name: str | None
    steps: list[Step] = field(default_factory=list)
    copied: dict[str, str] = field(default_factory=dict)

    def all(self, instruction: str) -> list[Step]:
        return [step for step in self.steps if step.instruction == instruction]

    def last(self, instruction: str) -> Step | None:
        found = self.all(instruction)
        return found[-1] if found else None


def stages(path: Path = REPO_ROOT / "Dockerfile") -> list[Stage]:
    """Every build stage of the Dockerfile, in order."""
    return stages_of(path.read_text())


def stages_of(text: str) -> list[Stage]:
    found: list[Stage] = []
    workdir, user = "/", "root"
    for command in dockerfile.parse_string(text):
        instruction = str(command.cmd).upper()
        if instruction == "FROM":
            words = list(command.value)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(base=words[0], name=name))
            workdir, user = "/", "root"  # the base's, which every base used here keeps
            continue
        stage = found[-1]
        stage.steps.append(Step(command, workdir, user, dict(stage.copied)))
        if instruction == "WORKDIR":
            workdir = posixpath.join(workdir, command.value[0])
        elif instruction == "USER":
            user = command.value[0]
        elif instruction in ("COPY", "ADD"):
            stage.copied.update(_destinations(command, workdir))
    return found


def shell_commands(step: Step) -> list[list[str]]:
    """A RUN's simple commands as words, split where the shell would run the next one
    (``&&``, ``||``, ``;``, pipes), without leading ``NAME=value`` assignments."""
    if step.command.json:
        return [step.arguments]
    lexer = shlex.shlex(step.arguments[0], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in SHELL_SEPARATORS:
            commands.append([])
        elif commands[-1] or "=" not in token or token.startswith("-"):
            commands[-1].append(token)
    return [command for command in commands if command]


def apt_installs(step: Step) -> Iterator[list[str]]:
    """The arguments after ``install`` of each ``apt-get install`` (or ``apt install``)."""
    for words in shell_commands(step):
        if len(words) > 1 and words[0] in ("apt-get", "apt") and "install" in words[1:]:
            yield words[words.index("install") + 1 :]


def _destinations(command: dockerfile.Command, workdir: str) -> dict[str, str]:
    *sources, destination = command.value
    origin = next((flag.split("=", 1)[1] for flag in command.flags
                   if flag.startswith("--from=")), None)
    target = posixpath.join(workdir, destination)
    into_directory = destination.endswith("/") or len(sources) > 1
    return {
        posixpath.normpath(posixpath.join(target, posixpath.basename(source.rstrip("/")))
                           if into_directory else target):
        f"{origin}:{source}" if origin else posixpath.normpath(source)
        for source in sources
    }
