"""`hpsearch dashboard` on the command line: the address it prints, and one clear message for
each mistake (a port in use, an unknown experiment, an unreachable store, no token)."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from stored_trials import record_trials

from search.cli import main


def dashboard(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["dashboard", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                     SystemExit), result.output
    return result.exit_code, result.output


@pytest.fixture
def store(tmp_path: Path) -> str:
    location = str(tmp_path / "store")
    record_trials(location, "known", [(0.9, 0.1)])
    return location


def test_a_port_in_use_is_one_clear_message(store: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = dashboard("--store", store, "--port", str(port))
    assert code == 2
    assert f"port {port} on 127.0.0.1 is in use" in output and "--port" in output
    assert "Traceback" not in output


def test_an_unknown_experiment_is_one_clear_message(store: str) -> None:
    code, output = dashboard("--store", store, "--exp-key", "missing")
    assert code == 2
    assert "no experiment 'missing'" in output and "known" in output


def test_an_unreachable_store_is_one_clear_message() -> None:
    code, output = dashboard("--store", "mongodb://alice:pw-hunter2@127.0.0.1:1/hpsearch"
                             "?serverSelectionTimeoutMS=300")
    assert code == 2
    assert "cannot reach MongoDB at mongodb://alice:***@127.0.0.1:1" in output
    assert "hunter2" not in output


def test_beyond_loopback_without_a_token_is_refused(store: str) -> None:
    code, output = dashboard("--store", store, "--host", "0.0.0.0", "--port", "0")
    assert code == 2
    assert "needs a token" in output and "--token" in output


def test_the_command_prints_the_address_and_logs_no_token(store: str, hpsearch) -> None:
    process = hpsearch.start("-vv", "dashboard", "--store", store, "--port", "0", "--host",
                             "0.0.0.0", "--token", "tok-hunter2", "--exp-key", "known",
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once it listens
        found = re.search(r"at http://[^:]+:(\d+)/\?token=tok-hunter2#/experiments/known$",
                          line.strip())
        assert found, line
        port = found.group(1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/experiments/known",
                                         headers={"Authorization": "Bearer tok-hunter2"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert b'"exp_key":"known"' in answer.read()
        connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
        connection.request("GET", "/?token=tok-hunter2")  # a first visit: a cookie, a redirect
        assert connection.getresponse().status == 303
        connection.close()
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=60)
    assert "GET /api/experiments/known 200" in errors, errors  # -vv logs each request...
    assert "GET / 303" in errors, errors
    assert "hunter2" not in errors, errors  # ...without the token
