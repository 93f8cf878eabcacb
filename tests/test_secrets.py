"""No output ever holds a password, whatever the shape of the URL and whichever command ran."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import main
from search.store import StoreError, open_store, opened_store
from search.urls import redact, redact_location, redact_message, scrub, secrets_of

COMMANDS = ["search", "worker", "best", "trials", "status", "export", "plot", "experiments",
            "pareto"]

# Runs each command of argv[1] (a JSON list of argument lists) in this one process, as the
# console script would, and marks where each ended and with which exit code.
RUN_COMMANDS = """
import json, sys
from search.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main.main(args, prog_name="hpsearch")
    except SystemExit as stopped:
        print(f"=== {args[1]} exited {stopped.code}", file=sys.stderr, flush=True)
"""


def url_table(port: str) -> list[tuple[str, list[str]]]:
    """(URL, the secrets it holds as typed and as a server might echo them)."""
    return [
        (f"mongodb://alice:Sl/ash-pw7@127.0.0.1:{port}/hpsearch", ["Sl/ash-pw7"]),
        (f"mongodb://alice:At@sign-pw7@127.0.0.1:{port}/hpsearch", ["At@sign-pw7"]),
        (f"mongodb://alice:Co:lon-pw7@127.0.0.1:{port}/hpsearch", ["Co:lon-pw7"]),
        (f"mongo://alice:unknown-scheme-pw7@127.0.0.1:{port}/hpsearch", ["unknown-scheme-pw7"]),
        ("mongodb+srv://alice:srv-pw7@cluster0.example.invalid/hpsearch", ["srv-pw7"]),
        (f"mongodb://alice:many-hosts-pw7@127.0.0.1:{port},127.0.0.1:1/hpsearch"
         "?authSource=admin", ["many-hosts-pw7"]),
        ("mongodb://alice:Esc%40ped-pw7@127.0.0.1:1/hpsearch?serverSelectionTimeoutMS=300",
         ["Esc%40ped-pw7", "Esc@ped-pw7"]),
        (f"mongodb://alice:plain-pw7@127.0.0.1:{port}/hpsearch?tls=true"
         "&tlsCertificateKeyFilePassword=key-pw7", ["plain-pw7", "key-pw7"]),
        ("alice:no-scheme-pw7@127.0.0.1:27017/hpsearch", ["no-scheme-pw7"]),
        (f"mongodb://al'ice:Qu'o\"te sp-pw7@127.0.0.1:{port}/hpsearch", ["Qu'o\"te sp-pw7"]),
        (f"mongodb://al ice:user-space-pw7@127.0.0.1:{port}/hpsearch", ["user-space-pw7"]),
        (f"mongodb:/alice:one-slash-pw7@127.0.0.1:{port}/hpsearch", ["one-slash-pw7"]),
        (f"mongodb//alice:no-colon-pw7@127.0.0.1:{port}/hpsearch", ["no-colon-pw7"]),
        (f"mongodb://alice@corp.example:user-at-pw7@127.0.0.1:{port}/hpsearch",
         ["user-at-pw7"]),
        (f"mongodb://alice%3Aescaped-login-pw7@127.0.0.1:{port}/hpsearch",
         ["escaped-login-pw7"]),
        (f"mongodb://alice:proxied-pw7@127.0.0.1:{port}/hpsearch?proxyHost=127.0.0.1"
         "&proxyPassword=proxy-pw7", ["proxied-pw7", "proxy-pw7"]),
    ]


def command_line(command: str, url: str, tmp_path: Path) -> list[str]:
    extra = {
        "search": ["--max-evals", "1", "--objective", "noop"],
        "worker": ["--gpus", "none", "--idle-timeout", "1"],
        "export": ["-o", str(tmp_path / "trials.csv")],
        "plot": ["-o", str(tmp_path / "report.png")],
    }
    return ["-v", command, "--store", url, *extra.get(command, [])]


def test_no_command_prints_a_password_for_any_url_shape(mongo_server, hpsearch,
                                                        tmp_path: Path) -> None:
    port = mongo_server.url.rsplit(":", 1)[1]
    table = url_table(port)

    def run_every_command(url: str) -> subprocess.CompletedProcess[str]:
        invocations = [command_line(command, url, tmp_path) for command in COMMANDS]
        return subprocess.run([sys.executable, "-c", RUN_COMMANDS, json.dumps(invocations)],
                              capture_output=True, text=True, timeout=600,
                              env=hpsearch.environment, cwd=tmp_path)

    with ThreadPoolExecutor(max_workers=3) as pool:
        completed = list(pool.map(run_every_command, [url for url, _ in table]))
    for (url, secrets), run in zip(table, completed, strict=False):
        output = run.stdout + run.stderr
        for command in COMMANDS:  # each one ended with a user error, not a crash
            assert f"=== {command} exited 2" in output, output
        assert "Traceback" not in output, output
        assert "***" in output, output  # the location is shown, redacted
        for secret in secrets:
            assert secret not in output, f"{secret!r} leaked for {redact(url)}:\n{output}"


@pytest.mark.parametrize("arguments", [
    ["status", "{url}"],  # --store forgotten: an unexpected argument
    ["{url}"],  # no such command
    ["export", "--store", "{store}", "--format", "{url}"],  # not one of the choices
    ["status", "--store", "{store}", "--interval", "{url}"],  # not a number
])
@pytest.mark.parametrize("url", ["mongodb://alice:wrong-place-pw7@127.0.0.1:1/hpsearch",
                                 "alice:wrong/place-pw7@127.0.0.1:1/hpsearch"])
def test_a_usage_error_hides_a_password_typed_in_the_wrong_place(arguments: list[str],
                                                                 url: str, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, [argument.format(url=url, store=str(tmp_path))
                                        for argument in arguments])
    assert outcome.exit_code == 2, outcome.output
    assert "alice:***@" in outcome.output and "place-pw7" not in outcome.output


@pytest.mark.parametrize("url, shown, secret", [
    ("mongodb://u:pa/ss@h:1/db", "mongodb://u:***@h:1/db", "pa/ss"),
    ("mongodb://u:p@ss@h:1/db", "mongodb://u:***@h:1/db", "p@ss"),
    ("mongodb://u:p:ss@h:1/db", "mongodb://u:***@h:1/db", "p:ss"),
    ("mongo://u:pw@h", "mongo://u:***@h", "pw"),
    ("mongodb+srv://u:pw@cluster.example.com/db", "mongodb+srv://u:***@cluster.example.com/db",
     "pw"),
    ("mongodb://u:pw@h1:1,h2:2,h3:3/db?replicaSet=rs", "mongodb://u:***@h1:1,h2:2,h3:3/db"
     "?replicaSet=rs", "pw"),
    ("mongodb://h:1/db?tlsCertificateKeyFilePassword=kpw&tls=true",
     "mongodb://h:1/db?tlsCertificateKeyFilePassword=***&tls=true", "kpw"),
    ("mongodb://u:it's@h:1/db", "mongodb://u:***@h:1/db", "it's"),
    ("mongodb://u'x:p\"w@h:1/db", "mongodb://u'x:***@h:1/db", "p\"w"),
    ("mongodb://u:two words@h:1/db", "mongodb://u:***@h:1/db", "two words"),
    ("mongodb://u v:pw@h:1/db", "mongodb://u v:***@h:1/db", "pw"),
    ("mongodb://u/v:pw@h:1/db", "mongodb://u/v:***@h:1/db", "pw"),
    ("mongodb:/u:pw@h:1/db", "mongodb:/u:***@h:1/db", "pw"),
    # A user name with an `@` of its own, typed unescaped; a login escaped as a whole.
    ("mongodb://alice@corp.example:pw@h:1/db", "mongodb://alice@corp.example:***@h:1/db", "pw"),
    ("mongodb+srv://a@b.c:pw@c.example.com/db", "mongodb+srv://a@b.c:***@c.example.com/db",
     "pw"),
    ("mongodb://alice%3Apw@h:1/db", "mongodb://alice%3A***@h:1/db", "pw"),
    ("mongodb://u:pw@h/db?proxyHost=p&proxyPassword=ppw&x=1",
     "mongodb://u:***@h/db?proxyHost=p&proxyPassword=***&x=1", "ppw"),
    ("mongodb://h:1/db?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t"
     "ok,x:y", "mongodb://h:1/db?authMechanism=MONGODB-AWS&authMechanismProperties="
     "AWS_SESSION_TOKEN:***,x:y", "tok"),
    ("mongodb://h:1/db?authMechanismProperties=AWS_SESSION_TOKEN%3Atok", "mongodb://h:1/db"
     "?authMechanismProperties=AWS_SESSION_TOKEN%3A***", "tok"),
])
def test_redact_hides_the_password_of_every_url_shape(url: str, shown: str, secret: str) -> None:
    assert redact(url) == shown
    assert redact(f"error: '{url}' (and more)") == f"error: '{shown}' (and more)"
    assert secret in secrets_of(url)


@pytest.mark.parametrize("url", ["mongodb://alice@h:1/db", "mongodb://a@corp.example@h/db",
                                 "mongodb://h:1/db?replicaSet=rs"])
def test_redact_keeps_a_url_without_a_password_as_it_is(url: str) -> None:
    assert redact(url) == url and secrets_of(url) == []


def test_scrub_removes_a_password_quoted_without_its_url() -> None:
    secrets = secrets_of("mongodb://u:p%40ss-word@h/db")
    assert scrub("auth failed for p@ss-word (p%40ss-word)", secrets) == "auth failed for *** (***)"


@pytest.mark.parametrize("location", ["mongodb:/u:mis-pw7@h/db", "mongodb//u:mis-pw7@h/db",
                                      "u:mis-pw7@h/db", "MongoDB:/u:mis-pw7@h:1"])
def test_a_mistyped_url_with_a_password_is_refused_not_made_a_directory(
        location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="looks like a MongoDB address") as refused:
        open_store(location)
    assert "mis-pw7" not in redact(str(refused.value)) and "u:***@h" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("location", "shown"), [
    ("u:pa/ss-pw7@h/db", "u:***@h/db"),
    ("u:pa ss-pw7@h", "u:***@h"),
    ("mongodb:u:pa/ss-pw7@h/db", "mongodb:u:***@h/db"),
    ("mongodb//u:pa/ss-pw7@h/db", "mongodb//u:***@h/db"),
])
def test_a_mistyped_url_whose_password_holds_a_slash_or_a_space_is_refused(
        location: str, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="looks like a MongoDB address") as refused:
        open_store(location)
    assert f"store {shown} looks like" in str(refused.value) and "ss-pw7" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("location", "shown", "secret"), [
    # The driver takes a newline in a password; a location is one value, not lines of prose.
    ("mongodb://alice:pw\nnl-pw7@h:1/db", "mongodb://alice:***@h:1/db", "pw\nnl-pw7"),
    # A secret option runs to the next option: spaces, quotes and a stray `&` are its own.
    ("mongodb://h/db?proxyHost=p&proxyPassword=correct horse-pw7&x=1",
     "mongodb://h/db?proxyHost=p&proxyPassword=***&x=1", "correct horse-pw7"),
    ("mongodb://h/db?tlsCertificateKeyFilePassword=ab'cd\"-pw7",
     "mongodb://h/db?tlsCertificateKeyFilePassword=***", "ab'cd\"-pw7"),
    ("mongodb://h/db?tlsCertificateKeyFilePassword=ab&cd-pw7&tls=true",
     "mongodb://h/db?tlsCertificateKeyFilePassword=***&tls=true", "ab&cd-pw7"),
    ("mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:IQo Jb3-pw7,x:y",
     "mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:***,x:y", "IQo Jb3-pw7"),
])
def test_a_location_alone_hides_its_secrets_whole(location: str, shown: str,
                                                  secret: str) -> None:
    assert redact_location(location) == shown
    assert secret in secrets_of(location)
    assert scrub(f"the driver said: {secret} is wrong", secrets_of(location)) == (
        "the driver said: *** is wrong")


def test_a_store_shows_its_location_redacted_whatever_its_password_holds() -> None:
    with pytest.raises(StoreError) as unreachable:
        open_store("mongodb://alice:pw\nnl-pw7@127.0.0.1:1/db?serverSelectionTimeoutMS=300")
    assert "at mongodb://alice:***@127.0.0.1:1/db?" in str(unreachable.value)
    assert "nl-pw7" not in str(unreachable.value)


def test_an_invalid_url_keeps_its_reason_once_redacted() -> None:
    # The CLI redacts every message again: a hint with an `@` on the URL's line would be
    # taken for the end of a password, and the reason with it.
    with pytest.raises(StoreError) as refused:
        open_store("mongodb://u:pw@h:99999/db")
    shown = redact(str(refused.value))
    assert "mongodb://u:***@h:99999/db" in shown and "Port must be an integer" in shown
    assert "user:password@" in shown


def test_a_url_without_a_password_is_left_alone() -> None:
    for url in ("mongodb://h:27017/db", "mongodb://user@h/db", "/runs/a:b/store"):
        assert redact(url) == url


def test_the_python_api_shows_no_password_in_options_or_their_errors() -> None:
    import search

    url = "mongodb://alice:api-pw7@127.0.0.1:1/hpsearch"
    shown = repr(search.SearchOptions(store=url, max_evals=7, data_dir="/data@v2"))
    assert "alice:***@" in shown and "api-pw7" not in shown
    assert "max_evals=7" in shown and "data_dir='/data@v2'" in shown, "only the store is redacted"
    refusals = [lambda: search.optimize("noop", "default", {"store": url}),  # type: ignore[arg-type]
                lambda: search.SearchOptions(store=url.encode()),  # type: ignore[arg-type]
                lambda: search.open_store(url.encode())]  # type: ignore[arg-type]
    for refused in refusals:
        with pytest.raises(Exception) as raised:
            refused()
        assert "***" in str(raised.value) and "api-pw7" not in str(raised.value)


@pytest.mark.parametrize(("store", "source", "hint"), [
    ("mongodb://h/db", "COMMANDLINE", "attach some with: hpsearch worker --store "
     "'mongodb://h/db' --exp-key e"),
    ("mongodb://u:pw@h/db", "COMMANDLINE", "attach some with: hpsearch worker --store "
     "'mongodb://u:***@h/db' --exp-key e (with the password for ***; on a shared host set "
     "HPSEARCH_STORE instead)"),
    ("mongodb://u:pw@h/db", "ENVIRONMENT", "attach some with: hpsearch worker --exp-key e "
     "(and the same HPSEARCH_STORE)"),
])
def test_the_worker_command_a_farm_search_suggests_never_logs_in_with_stars(
        store: str, source: str, hint: str) -> None:
    """A pasted `--store 'mongodb://u:***@h'` would log in with the password `***`; a store
    from the environment stays there, off every command line."""
    import click

    from search.cli.main import _attach_hint

    context = click.Context(main.commands["search"])
    context.set_parameter_source("store", click.core.ParameterSource[source])
    with context.scope():
        assert _attach_hint(store, "e", "noop") == hint


def test_a_password_in_a_trials_error_is_hidden_from_every_table_and_file(
        tmp_path: Path) -> None:
    """An objective's exception quotes its database's URL: the dashboard hid it, but `trials`,
    `export` and the Python API's failure printed it."""
    import search

    options = search.SearchOptions(store=str(tmp_path / "store"), exp_key="leaky", max_evals=1,
                                   epochs=1)
    with pytest.raises(search.SearchFailed) as failed:
        search.optimize("tests.objectives_for_tests:quotes_a_password", "default", options)
    assert "loader:***@datahost" in str(failed.value)
    assert "objective-pw7" not in str(failed.value)
    store = ["--store", options.store, "--exp-key", "leaky"]
    for arguments in (["trials", "--format", "json"], ["trials", "--format", "csv"],
                      ["export", "--format", "json"], ["export", "--format", "csv"]):
        outcome = CliRunner().invoke(main, [*arguments, *store])
        assert outcome.exit_code == 0, outcome.output
        assert "loader:***@datahost" in outcome.output, outcome.output
        assert "objective-pw7" not in outcome.output, outcome.output


@pytest.mark.parametrize("path", ["exp:v1/run@2/../store", "runs/2024-01-01T10:30/best@home",
                                  "./user:group/data@v2", "my runs/x:1 y@2", "a:b/store"])
def test_a_directory_whose_path_holds_a_colon_and_an_at_is_a_directory(
        path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert redact_location(path) == path
    with opened_store(path) as store:
        assert store.experiments() == []


@pytest.mark.parametrize("message", [
    "cannot parse batch 'size:64' sent by loader@node3",
    "fetch https://data.example/x failed\nretry: contact ops@example.com",
    "options must be a SearchOptions, not dict {'store': 'mongodb://h/db?proxyPassword=***', "
    "'max_evals': 5}: write SearchOptions(max_evals=..., ...)",
])
def test_a_message_keeps_what_is_no_password(message: str) -> None:
    assert redact_message(message) == message


def test_an_unsupported_store_and_the_options_repr_hide_a_password_whole() -> None:
    with pytest.raises(StoreError) as refused:
        open_store("http://u:pa\nss-pw7@h/db?tlsCertificateKeyFilePassword=a b-pw7")
    assert "ss-pw7" not in str(refused.value) and "b-pw7" not in str(refused.value)
    import search

    shown = repr(search.SearchOptions(store="mongodb://h/db?tlsCertificateKeyFilePassword=k-pw7"))
    assert "store='mongodb://h/db?tlsCertificateKeyFilePassword=***', exp_key=" in shown
