"""The MongoDB connection: read commands that only read, and a silent network that is retried."""

from __future__ import annotations

import json
import logging
import socket
import struct
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import bson
import pytest
from farm import wait_until
from pymongo.errors import OperationFailure
from stored_trials import record_trials

from search.store import Store, StoreError, open_store

_OP_MSG = 2013  # the wire protocol's opcode for a command and its reply
READ_COMMANDS = ["best", "trials", "status", "export", "plot", "pareto", "experiments"]
WRITES = {"createIndexes", "create", "insert", "update", "delete", "findAndModify", "drop",
          "dropIndexes", "createUser"}

# Records every command the client sends while the read commands run, then prints their names.
RUN_AND_LIST_COMMANDS = """
import json, sys
from pymongo import monitoring
from search.cli import main

class Recorder(monitoring.CommandListener):
    names = []
    def started(self, event): self.names.append(event.command_name)
    def succeeded(self, event): pass
    def failed(self, event): pass

monitoring.register(Recorder())
codes = []
for args in json.loads(sys.argv[1]):
    try:
        main.main(args, prog_name="hpsearch")
    except SystemExit as stopped:
        codes.append(stopped.code)
print(json.dumps({"codes": codes, "commands": Recorder.names}))
"""


def test_read_commands_send_no_write_and_create_no_index(mongo_url, hpsearch,
                                                         tmp_path: Path) -> None:
    """So they work for a user with the read role only. (FerretDB, the test server, has no
    users or roles; the commands sent are what a read-only user would be refused.)"""
    record_trials(mongo_url, "readable", [(0.9, 1.0), None, (0.7, 0.5)], running=1, queued=1)
    invocations = [[command, "--store", mongo_url] for command in READ_COMMANDS]
    invocations[READ_COMMANDS.index("export")] += ["-o", str(tmp_path / "trials.csv")]
    invocations[READ_COMMANDS.index("plot")] += ["-o", str(tmp_path / "report.png")]
    completed = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_COMMANDS, json.dumps(invocations)],
        capture_output=True, text=True, timeout=600, env=hpsearch.environment)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.splitlines()[-1])
    assert report["codes"] == [0] * len(READ_COMMANDS), completed.stderr
    assert "find" in report["commands"]  # the recorder saw the commands
    assert not WRITES & set(report["commands"]), report["commands"]
    assert (tmp_path / "report.png").exists() and (tmp_path / "trials.csv").exists()


class BlackHoleProxy:
    """A TCP proxy to the test server that can go silent: once `black_hole()` is called, every
    connection open then, or opened before `restore()`, swallows what it receives and never
    answers, as a dropped network path or a frozen server would. `silence_once(marker)`
    silences only the connection that next sends `marker`, as a stateful firewall that drops
    one flow would, while the client's monitoring connection stays healthy."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._silent = False
        self._connections: list[threading.Event] = []
        self._marker: bytes | None = None
        self._answers: list[tuple[bytes, dict[str, object]]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def silence_once(self, marker: bytes) -> None:
        self._marker = marker

    def answer(self, marker: bytes, reply: dict[str, object], times: int) -> None:
        with self._lock:
            self._answers = [(marker, reply)] * times

    def _answer_for(self, data: bytes) -> bytes | None:
        """The OP_MSG reply to send instead of forwarding `data`, if one is due."""
        with self._lock:
            if not self._answers or self._answers[0][0] not in data:
                return None
            _, reply = self._answers.pop(0)
        (request_id,) = struct.unpack_from("<i", data, 4)
        body = struct.pack("<I", 0) + b"\x00" + bson.encode(reply)
        return struct.pack("<iiii", 16 + len(body), 0, request_id, _OP_MSG) + body

    def black_hole(self) -> None:
        self._silent = True
        for dead in self._connections:
            dead.set()

    def restore(self) -> None:
        self._silent = False

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            dead = threading.Event()
            if self._silent:
                dead.set()
            self._connections.append(dead)
            upstream = socket.create_connection(self._target)
            for source, sink, from_client in ((client, upstream, True),
                                              (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, dead, from_client),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, dead: threading.Event,
              from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self._marker is not None:
                    with self._lock:
                        if self._marker is not None and self._marker in data:
                            self._marker = None
                            dead.set()
                answer = self._answer_for(data) if from_client else None
                if answer is not None:
                    source.sendall(answer)
                elif not dead.is_set():
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()


def test_a_black_holed_connection_is_retried_rather_than_hung(
        mongo_url, caplog: pytest.LogCaptureFixture) -> None:
    proxy, store = store_through_proxy(mongo_url, "socketTimeoutMS=1000")
    answers: list[object] = []
    try:
        assert store.experiments() == []
        proxy.black_hole()
        caplog.set_level(logging.WARNING, logger="search.store._mongo._connection")
        threading.Thread(target=lambda: answers.append(store.experiments()), daemon=True).start()
        wait_until(lambda: "unreachable" in caplog.text, 120,
                   "the silent call timed out and is being retried")
        proxy.restore()
        wait_until(lambda: answers == [[]], 120, "the retried call is answered")
        assert "reachable again" in caplog.text
    finally:
        store.close()
        proxy.close()


def test_a_call_on_a_connection_that_goes_silent_is_retried_while_the_server_is_fine(
        mongo_url) -> None:
    """The server and the client's monitoring stay healthy, so only the socket timeout can
    free the call: without one it would wait on the silent connection forever."""
    proxy, store = store_through_proxy(mongo_url, "socketTimeoutMS=1000")
    answers: list[object] = []
    try:
        assert store.experiments() == []
        proxy.silence_once(b"experiments")
        threading.Thread(target=lambda: answers.append(store.experiments()), daemon=True).start()
        wait_until(lambda: answers == [[]], 120, "the call is answered on a new connection")
    finally:
        store.close()
        proxy.close()


def store_through_proxy(mongo_url: str, options: str) -> tuple[BlackHoleProxy, Store]:
    parts = urllib.parse.urlsplit(mongo_url)
    proxy = BlackHoleProxy(parts.hostname or "127.0.0.1", parts.port or 27017)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    query = "&".join(filter(None, [parts.query, options]))
    return proxy, open_store(urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query)))


def test_every_connection_has_a_socket_timeout_unless_the_url_sets_one(mongo_url) -> None:
    for url, seconds in ((mongo_url, 30.0), (f"{mongo_url}{'&' if '?' in mongo_url else '?'}"
                                             "socketTimeoutMS=1500", 1.5)):
        store = open_store(url)
        try:
            assert store._connection._client.options.pool_options.socket_timeout == seconds
        finally:
            store.close()


def test_a_database_name_with_a_dot_is_refused_not_cut_at_the_dot() -> None:
    """pymongo reads `/team.p1` as database `team`: `team.p1` and `team.p2` would be one."""
    for path in ("team.p1", "team%2Ep1"):
        with pytest.raises(StoreError, match="(?s)database name 'team.p1' has a '.'.*'team_p1'"
                           ) as refused:
            open_store(f"mongodb://alice:dot-pw3@127.0.0.1:9/{path}?authSource=admin")
        assert "dot-pw3" not in str(refused.value)


def test_a_login_mechanism_this_machine_lacks_is_one_clear_message(mongo_url) -> None:
    # pymongo finds out only as it logs in, after the URL was accepted.
    address = urllib.parse.urlsplit(mongo_url).netloc.rpartition("@")[2]
    url = f"mongodb://alice:kerb-pw7@{address}/hpsearch?authMechanism=GSSAPI"
    with pytest.raises(StoreError, match="cannot log in to MongoDB at mongodb://alice:\\*\\*\\*@"
                                         ".*GSSAPI.*authMechanism") as refused:
        open_store(url)
    assert "kerb-pw7" not in str(refused.value)


@pytest.mark.parametrize("reply", [
    {"ok": 0.0, "code": 9001, "codeName": "SocketException", "errmsg": "socket exception"},
    {"ok": 0.0, "code": 43, "codeName": "CursorNotFound", "errmsg": "cursor id 7 not found"},
    # What FerretDB answered a scan in flight as it stopped, in a CI run of the outage test.
    {"ok": 0.0, "code": 1, "codeName": "InternalError",
     "errmsg": "[msg_find.go:344 handler.handleMaxTimeMSError] context canceled after delay"},
])
def test_an_operation_the_server_cuts_short_is_retried_as_an_outage(
        mongo_url, reply: dict[str, object]) -> None:
    """pymongo retries some of them once; when the trouble lasts it raises the reply."""
    store = open_store(mongo_url)
    connection = store._connection
    tries: list[int] = []

    def cut_short_once() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise OperationFailure(str(reply["errmsg"]), reply["code"], reply)
        return "answered"

    try:
        assert connection.call(cut_short_once) == "answered"
        assert (len(tries), connection.outages) == (2, 1)
    finally:
        store.close()


@pytest.mark.parametrize("reply", [
    {"ok": 0.0, "code": 9001, "codeName": "SocketException", "errmsg": "socket exception"},
    {"ok": 0.0, "code": 1, "codeName": "InternalError",
     "errmsg": "[msg_find.go:344 handler.handleMaxTimeMSError] context canceled after delay"},
])
def test_a_server_that_answers_it_is_in_trouble_is_waited_for(
        mongo_url, reply: dict[str, object], caplog: pytest.LogCaptureFixture) -> None:
    """The replies come over the wire, through pymongo's own retry: MongoDB's is retryable, so
    pymongo tries again once and raises only the second; FerretDB's is not. (A server that
    shuts down answers with codes pymongo raises as a lost connection.)"""
    proxy, store = store_through_proxy(mongo_url, "")
    try:
        assert store.experiments() == []
        caplog.set_level(logging.WARNING, logger="search.store._mongo._connection")
        proxy.answer(b"experiments", reply, times=3)
        assert store.experiments() == []
        assert store._connection.outages == 1
        assert "unreachable" in caplog.text and "reachable again" in caplog.text
    finally:
        store.close()
        proxy.close()


def test_an_operation_the_server_refuses_is_not_retried(mongo_url) -> None:
    store = open_store(mongo_url)
    tries: list[int] = []

    def refused() -> None:
        tries.append(1)
        raise OperationFailure("unknown operator: $bogus", 2, {"ok": 0.0, "code": 2,
                                                                "errmsg": "unknown operator"})

    try:
        with pytest.raises(OperationFailure):
            store._connection.call(refused)
        assert len(tries) == 1
    finally:
        store.close()


def test_a_tls_file_that_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(StoreError) as refused:
        open_store(f"mongodb://u:tls-pw7@127.0.0.1:1/hpsearch?tls=true&tlsCAFile={missing}")
    message = str(refused.value)
    assert "not readable" in message and "tls options" in message
    assert "u:***@" in message and "tls-pw7" not in message
