"""The README and docs/ cannot drift from the code.

Every `hpsearch` command in a shell example is parsed by the real CLI (the command, each option,
each value's type and range); every `hpsearch ...` and `--option` quoted in prose names a real
command and option; `make` targets, compose services and scripts named in examples exist; every
Python example compiles and runs (cheap ones, on the embedded store); every YAML space loads;
every relative link and anchor resolves; and every command and option of the CLI is documented.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml

import spaces
from objectives import Reason
from search.cli import main as hpsearch_cli

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
# Options quoted in the docs that belong to other tools, with the tool.
OTHER_TOOLS_OPTIONS = {
    "--no-deps": "pip install / docker compose up",
    "--baseline": "benchmarks/dashboard_speed.py",
    "--clock": "benchmarks/proposal_cost.py",
    "--peers": "benchmarks/tpe_settings_sweep.py",
    "--own-startup": "benchmarks/search_quality.py, tpe_settings_sweep.py",
}
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(?P<language>[\w-]*)[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    page: Path
    language: str
    body: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)} ({self.language} block)"


def blocks(languages: set[str]) -> Iterator[Block]:
    for page in PAGES:
        for match in FENCE.finditer(page.read_text()):
            if match["language"] in languages:
                yield Block(page, match["language"], match["body"])


def prose(page: Path) -> str:
    """A page without its fenced blocks."""
    return FENCE.sub("", page.read_text())


def page_id(page: Path) -> str:
    return str(page.relative_to(REPO_ROOT))


# --- the CLI as the docs may quote it ---------------------------------------------------------

def command_path(words: list[str]) -> tuple[list[click.Command], list[str]]:
    """The chain of commands that `hpsearch WORDS...` names, and the words left for the last."""
    chain: list[click.Command] = [hpsearch_cli]
    rest = list(words)
    while isinstance(chain[-1], click.Group):
        names = [word for word in rest if not word.startswith("-")]
        if not names:
            break
        subcommand = chain[-1].commands.get(names[0])
        if subcommand is None:
            if chain[-1] is hpsearch_cli:
                raise AssertionError(f"hpsearch has no command {names[0]!r}")
            break  # an argument of the group (`hpsearch spaces show NAME`)
        chain.append(subcommand)
        rest = rest[rest.index(names[0]) + 1:]
    return chain, rest


def long_options(command: click.Command) -> set[str]:
    return {"--help"} | {name for parameter in command.params for name in
            (*parameter.opts, *parameter.secondary_opts) if name.startswith("--")}


def every_command(command: click.Command = hpsearch_cli, path: str = "hpsearch"
                  ) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, subcommand in command.commands.items():
            yield from every_command(subcommand, f"{path} {name}")


def parse_with_the_cli(arguments: list[str]) -> None:
    """Parse `hpsearch ARGUMENTS` as the real CLI would, without running it."""
    chain, rest = command_path(arguments)
    if not (isinstance(chain[-1], click.Group) and not rest):
        chain[-1].make_context(chain[-1].name or "hpsearch", rest)


# --- shell examples -------------------------------------------------------------------------

def shell_commands(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell script, as words (comments, `&`, `;`, `&&` and `|` split
    it; variable assignments in front of a command are dropped)."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token and set(token) <= set(";&|()"):
                while command and re.fullmatch(r"[A-Za-z_]\w*=.*", command[0]):
                    command.pop(0)
                if command:
                    yield command
                command = []
            else:
                command.append(token)


def makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w.-]+):", text, re.MULTILINE))


def compose_services() -> set[str]:
    return set(yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"])


def check_shell_command(words: list[str]) -> None:
    program = Path(words[0]).name
    arguments = words[1:]
    if program == "hpsearch":
        parse_with_the_cli(arguments)
    elif program == "make":
        unknown = {word for word in arguments if not word.startswith("-")} - makefile_targets()
        assert not unknown, f"the Makefile has no target {sorted(unknown)}"
    elif program == "docker" and arguments[:1] == ["compose"]:
        subcommand, *rest = arguments[1:]
        if subcommand in {"up", "logs", "stop", "start", "restart"}:
            unknown = {word for word in rest if not word.startswith("-")} - compose_services()
            assert not unknown, f"docker-compose.yml has no service {sorted(unknown)}"
    elif program in {"python", "python3"} and arguments and arguments[0].endswith(".py"):
        assert (REPO_ROOT / arguments[0]).is_file(), f"no script {arguments[0]}"
    elif program == "ssh":  # the command it runs remotely, when it is ours
        for argument in arguments:
            for remote in shell_commands(argument):
                if Path(remote[0]).name == "hpsearch":
                    check_shell_command(remote)


SHELL_BLOCKS = list(blocks(SHELL_LANGUAGES))


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=str)
def test_every_command_in_a_shell_example_parses(block: Block) -> None:
    commands = list(shell_commands(block.body))
    assert commands, f"{block}: no command"
    for words in commands:
        try:
            check_shell_command(words)
        except (click.ClickException, AssertionError) as error:
            message = error.format_message() if isinstance(error, click.ClickException) else error
            pytest.fail(f"{block}: `{shlex.join(words)}`: {message}")


def test_the_readme_gives_make_test_as_the_test_command() -> None:
    """.ci/run runs `make test`: the README must tell a newcomer the same."""
    readme = REPO_ROOT / "README.md"
    commands = [words for block in blocks(SHELL_LANGUAGES) if block.page == readme
                for words in shell_commands(block.body)]
    assert ["make", "test"] in commands
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()


# --- commands and options quoted in prose ---------------------------------------------------

def quoted_spans() -> Iterator[tuple[Path, str]]:
    for page in PAGES:
        for span in INLINE_CODE.findall(prose(page)):
            yield page, span


def test_every_hpsearch_command_and_option_quoted_in_prose_exists() -> None:
    every_option = set().union(*(long_options(command) for _, command in every_command()))
    problems = []
    for page, span in quoted_spans():
        words = span.split()
        if words[0] == "hpsearch":
            try:
                chain, rest = command_path(words[1:])
            except AssertionError as error:
                problems.append(f"{page_id(page)}: `{span}`: {error}")
                continue
            known = long_options(chain[-1])
            options = [word.split("=")[0] for word in rest if word.startswith("--")]
            problems += [f"{page_id(page)}: `{span}`: {chain[-1].name} has no {option}"
                         for option in options if option not in known]
        if words[0] == "make":
            problems += [f"{page_id(page)}: `{span}`: the Makefile has no target {target}"
                         for target in words[1:] if target not in makefile_targets()]
        for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", span):
            if option not in every_option and option not in OTHER_TOOLS_OPTIONS:
                problems.append(f"{page_id(page)}: `{span}`: no hpsearch command has {option}")
    assert not problems, "\n".join(problems)


def test_every_command_and_option_of_the_cli_is_documented() -> None:
    text = "\n".join(page.read_text() for page in PAGES)
    cli_page = (REPO_ROOT / "docs" / "cli.md").read_text()
    missing = [path for path, _ in every_command() if path != "hpsearch"
               and f"`{path}" not in cli_page]
    missing += [f"{path} {option}" for path, command in every_command()
                for option in sorted(long_options(command) - {"--help", "--version"})
                if f"`{option}" not in text]
    assert not missing, f"undocumented (docs/cli.md, or any page for an option): {missing}"


def test_every_failure_reason_is_documented() -> None:
    page = " ".join((REPO_ROOT / "docs" / "objectives.md").read_text().split())
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in page]
    assert not missing, f"docs/objectives.md does not list the failure reasons {missing}"


# --- Python and YAML examples ---------------------------------------------------------------

PYTHON_PAGES = sorted({block.page for block in blocks({"python"})})


@pytest.mark.parametrize("block", list(blocks({"python"})), ids=str)
def test_every_python_example_compiles(block: Block) -> None:
    compile(block.body, str(block), "exec")


@pytest.mark.slow  # the examples run real searches
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=page_id)
def test_python_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                             ) -> None:
    """A page's Python examples run in order, in one namespace, as a reader would paste them:
    in an empty directory, so the embedded store they use is new."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(b for b in blocks({"python"}) if b.page == page):
        code = compile(block.body, f"{block} #{number + 1}", "exec")
        exec(code, namespace)  # noqa: S102 - the examples are the repository's own


@pytest.mark.parametrize("block", list(blocks({"yaml"})), ids=str)
def test_every_yaml_space_example_loads(block: Block, tmp_path: Path) -> None:
    document = yaml.safe_load(block.body)
    assert isinstance(document, dict) and "parameters" in document, f"{block}: not a space"
    path = tmp_path / "space.yaml"
    path.write_text(block.body)
    assert spaces.load_space(str(path)).record


# --- links ----------------------------------------------------------------------------------

def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(heading) for heading in re.findall(r"^#+ (.+)$", prose(page), re.MULTILINE)}


def test_every_relative_link_and_anchor_resolves() -> None:
    problems = []
    for page in PAGES:
        for target in LINK.findall(prose(page)):
            if re.match(r"[a-z]+:", target):
                continue
            path_part, _, fragment = target.partition("#")
            linked = (page.parent / path_part).resolve() if path_part else page
            if not linked.exists():
                problems.append(f"{page_id(page)}: {target} does not exist")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                problems.append(f"{page_id(page)}: {target}: no heading has that anchor")
    assert not problems, "\n".join(problems)


def test_the_readme_stays_short_and_every_docs_page_is_in_its_table() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)\)", readme))
    pages = {page_id(page) for page in PAGES if page.parent.name == "docs"}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"
