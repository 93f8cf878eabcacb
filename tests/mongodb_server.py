"""The MongoDB server the tests run against.

MongoDB's own server usually cannot be installed on our machines, so by default the tests start
``hpsearch-testdb`` (FerretDB v1 with its SQLite handler, built from ``testdb/`` with
``make testdb``) on a free loopback port over a temporary data directory.  A real ``mongod``, or
an already running server given by URL, is used instead when the environment offers one.

Selection, first match wins:

1. ``HPSEARCH_TEST_MONGO_URL``: an existing server, used as-is.  The tests cannot stop or restart
   it; tests that need to call :func:`require_restartable`.
2. ``HPSEARCH_TEST_MONGOD`` (path to a ``mongod`` binary), else ``mongod`` on ``PATH``.
3. ``HPSEARCH_TESTDB_BIN``, else ``<repo>/.build/hpsearch-testdb``.

A server we start can be stopped and started again on the same port and data directory, which
is how tests simulate a database outage in the middle of a search.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Literal

import pymongo
import pymongo.errors

ServerKind = Literal["external", "mongod", "ferretdb"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TESTDB_BIN = REPO_ROOT / ".build" / "hpsearch-testdb"

ENV_URL = "HPSEARCH_TEST_MONGO_URL"
ENV_MONGOD = "HPSEARCH_TEST_MONGOD"
ENV_TESTDB_BIN = "HPSEARCH_TESTDB_BIN"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40


class MongoServerError(RuntimeError):
    """The test database could not be found, started or stopped."""


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(url: str, timeout_s: float = 0.5) -> None:
    """Raise ``pymongo.errors.PyMongoError`` unless the server at ``url`` answers ``ping``."""
    timeout_ms = max(1, int(timeout_s * 1000))
    client: pymongo.MongoClient = pymongo.MongoClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms, 2000),
    )
    try:
        client.admin.command("ping")
    finally:
        client.close()


def database_url(server_url: str, database: str) -> str:
    """Return ``server_url`` with its default database replaced by ``database``.

    The query string is kept.  When the URL carries credentials, the database they authenticate
    against (which the URL's path would otherwise name) is kept explicit as ``authSource``.
    """
    parts = urllib.parse.urlsplit(server_url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if "@" in parts.netloc and not any(key.lower() == "authsource" for key, _ in query):
        query.append(("authSource", parts.path.strip("/") or "admin"))
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, "/" + database, urllib.parse.urlencode(query), "")
    )


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class MongoServer:
    """One MongoDB-compatible server for the tests: started by us, or an external URL.

    ``root`` holds the server's data (``root/db``) and its log (``root/server.log``).  The port is
    chosen at the first :meth:`start` and kept, so a restarted server has the same :attr:`url`.
    """

    def __init__(
        self,
        root: Path,
        *,
        kind: ServerKind,
        binary: Path | None = None,
        external_url: str | None = None,
    ) -> None:
        if kind == "external" and not external_url:
            raise ValueError("an external server needs its URL")
        if kind != "external" and binary is None:
            raise ValueError(f"a {kind} server needs its binary")
        self.root = Path(root)
        self.kind: ServerKind = kind
        self.binary = binary
        self._external_url = external_url
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_environment(cls, root: Path) -> MongoServer:
        """Pick the server as the module docstring describes."""
        url = os.environ.get(ENV_URL, "").strip()
        if url:
            return cls(root, kind="external", external_url=url)

        mongod = os.environ.get(ENV_MONGOD, "").strip() or shutil.which("mongod")
        if mongod:
            path = Path(mongod)
            if not path.is_file():
                raise MongoServerError(f"{ENV_MONGOD}={mongod!r} is not a file")
            return cls(root, kind="mongod", binary=path)

        testdb = Path(os.environ.get(ENV_TESTDB_BIN, "").strip() or DEFAULT_TESTDB_BIN)
        if not testdb.is_file():
            raise MongoServerError(
                f"no MongoDB server for the tests: {testdb} does not exist. "
                f"Build it with `make testdb` (needs Go), or set {ENV_TESTDB_BIN} to the binary, "
                f"{ENV_MONGOD} to a mongod binary, or {ENV_URL} to a running server's URL."
            )
        return cls(root, kind="ferretdb", binary=testdb)

    # -- properties -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's URL, with no database in it (e.g. ``mongodb://127.0.0.1:PORT``)."""
        if self._external_url is not None:
            return self._external_url
        if self.port is None:
            raise MongoServerError("the server has not been started yet, so it has no port")
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def can_restart(self) -> bool:
        """Whether :meth:`stop` and :meth:`start` work (not for an external server)."""
        return self.kind != "external"

    @property
    def data_dir(self) -> Path:
        return self.root / "db"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def running(self) -> bool:
        """Whether a server process we started is alive (always True for an external server)."""
        if self.kind == "external":
            return True
        return self._proc is not None and self._proc.poll() is None

    def require_restartable(self) -> None:
        """Skip the calling test when this server cannot be stopped and restarted."""
        if not self.can_restart:
            import pytest

            pytest.skip(
                f"needs a database the tests can stop and restart; {ENV_URL} points at an "
                "external server (unset it to use a local mongod or hpsearch-testdb)"
            )

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the server (same port and data as before, if it ran already) and wait for it."""
        if self.kind == "external":
            self._wait_ready(timeout_s)
            return
        if self.running:
            raise MongoServerError(f"the {self.kind} server at {self.url} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        first_start = self.port is None
        # A port found free may be taken before the server binds it; on the first start only
        # (later starts must keep the port), try a few others before giving up.
        for attempt in range(3 if first_start else 1):
            if first_start:
                self.port = free_loopback_port()
            self._spawn()
            try:
                self._wait_ready(timeout_s)
                return
            except MongoServerError:
                in_use = "address already in use" in _tail(self.log_path, 5).lower()
                if not (first_start and in_use and not self.running and attempt < 2):
                    raise

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop the server with SIGTERM and wait for it to exit (SIGKILL after ``timeout_s``)."""
        if self.kind == "external":
            raise MongoServerError(f"cannot stop an external server ({ENV_URL})")
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise MongoServerError(
                f"the {self.kind} server did not exit within {timeout_s:g}s of SIGTERM and was "
                f"killed; log {self.log_path}:\n{_tail(self.log_path)}"
            ) from None

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.stop()
        self.start(timeout_s)

    def ensure_running(self) -> None:
        """Start the server again if a test left it stopped."""
        if not self.running:
            self.start()

    def __enter__(self) -> MongoServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.can_restart:
            self.stop()

    def __repr__(self) -> str:
        where = self._external_url or (f"port {self.port}" if self.port else "not started")
        return f"MongoServer({self.kind}, {where}, root={str(self.root)!r})"

    # -- internals ------------------------------------------------------------------------------

    def _command(self) -> list[str]:
        assert self.binary is not None and self.port is not None
        if self.kind == "mongod":
            return [
                str(self.binary),
                "--dbpath", str(self.data_dir),
                "--port", str(self.port),
                "--bind_ip", "127.0.0.1",
            ]  # fmt: skip
        return [
            str(self.binary),
            "-listen-addr", f"127.0.0.1:{self.port}",
            "-state-dir", str(self.data_dir),
            "-log-level", "error",
            # Shut down by itself if this process dies without stopping it.
            "-parent-pid", str(os.getpid()),
        ]  # fmt: skip

    def _spawn(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.kind} on port "
                      f"{self.port} ===\n".encode())
            log.flush()
            # The child keeps its own handle on the log; ours can close at once.
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while True:
            if self.kind != "external" and self._proc is not None:
                code = self._proc.poll()
                if code is not None:
                    self._proc = None
                    raise MongoServerError(
                        f"the {self.kind} server exited with code {code} while starting; "
                        f"log {self.log_path}:\n{_tail(self.log_path)}"
                    )
            try:
                ping(self.url)
                return
            except pymongo.errors.PyMongoError as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if self.kind == "external":
            raise MongoServerError(f"{ENV_URL}={self.url!r} did not answer ping: {last_error}")
        self.stop(timeout_s=5)
        raise MongoServerError(
            f"the {self.kind} server did not answer ping at {self.url} within {timeout_s:g}s "
            f"({last_error}); log {self.log_path}:\n{_tail(self.log_path)}"
        )
