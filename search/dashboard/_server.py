"""The dashboard's web server: one page, its scripts, and a read-only JSON API.

    GET /                                      the page (the pages are routes after its #)
    GET /static/app.js, style.css, plotly.min.js
    GET /api/overview?since=V&instance=I&wait=S
    GET /api/experiments/KEY?since=V&instance=I&wait=S
    GET /api/experiments/KEY/trials/TID

`since` is the `version` of the page's last answer and `instance` the server run that gave
it: the answer holds only what changed since, after waiting up to `wait` seconds (at most
MAX_WAIT) for a change. GET and HEAD only; any other method is answered 405. The standard
library's threading server is enough: a page makes one long-polling request at a time.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import hashlib
import http.server
import importlib.resources
import logging
import re
import socket
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from search.store import Store, StoreError
from search.urls import redact

from ._access import check_binding, host_is_loopback_name, is_authorized, token_cookie
from ._errors import DashboardError
from ._live import LiveStore, NotReadYet, UnknownExperiment, encode_answer

log = logging.getLogger(__name__)

MAX_WAIT = 25.0  # seconds a long poll may wait, under the usual proxy timeouts
GZIP_ABOVE = 1024  # bytes: smaller answers go as they are
_EXPERIMENT = re.compile(r"^/api/experiments/([^/]+)$")
_TRIAL = re.compile(r"^/api/experiments/([^/]+)/trials/(-?\d+)$")
PLOTLY = "plotly-basic.min.js"  # served as static/plotly.min.js
_TOKEN_IN_URL = re.compile(r"token=[^&\s'\"]*")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
# The page runs only our own scripts, and they evaluate no strings as code (the basic
# plotly.js bundle has no WebGL glue compiled at run time). Plotly sets inline styles, hence
# 'unsafe-inline' for styles. Nothing is loaded from elsewhere.
_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclasses.dataclass(frozen=True)
class Asset:
    """A static file, compressed once."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        return cls(body, gzip.compress(body, compresslevel=6, mtime=0), content_type,
                   '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def load_assets() -> dict[str, Asset]:
    """The page, its script and style, and Plotly: all files of this package, nothing fetched.

    Plotly is plotly.js's official `basic` bundle (npm's plotly.js-basic-dist-min, MIT, its
    licence beside it): the scatter traces the page draws, a quarter of the full bundle's
    4.8 MB, which a cold page would otherwise spend a second and more compiling.
    """
    assets = {}
    folder = importlib.resources.files(__package__) / "assets"
    for name in ("index.html", "app.js", "style.css"):
        assets[name] = Asset.of((folder / name).read_bytes(), _TYPES[Path(name).suffix])
    assets["plotly.min.js"] = Asset.of((folder / PLOTLY).read_bytes(), _TYPES[".js"])
    return assets


class Dashboard:
    """A running dashboard over one store: a reading thread and a web server.

    Raises (from the constructor):
        DashboardError: the address cannot be served as asked: a port in use, an unknown
            host, a non-loopback host without a token.
    """

    def __init__(self, store: Store, *, host: str = "127.0.0.1", port: int = 8080,
                 token: str | None = None, interval: float = 1.0) -> None:
        check_binding(host, token)
        self.token = token
        self.assets = load_assets()
        self.live = LiveStore(store, interval=interval)
        self._server = _bind(host, port, self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self.live.start()

    @property
    def url(self) -> str:
        """Where to point a browser: with the token when there is one."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        query = "?" + urllib.parse.urlencode({"token": self.token}) if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    def url_for(self, exp_key: str | None) -> str:
        """The page of one experiment, or the experiments page."""
        if exp_key is None:
            return self.url
        return f"{self.url}#/experiments/{urllib.parse.quote(exp_key)}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        """Serve on a thread of its own (for tests and benchmarks)."""
        self._thread = threading.Thread(target=self.serve_forever, name="dashboard-server",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.live.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    dashboard: Dashboard

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # the client went away first
            log.debug("%s closed the connection before its answer", client_address)
            return
        log.exception("the dashboard failed to answer a request")


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, dashboard: Dashboard) -> _Server:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        raise DashboardError(f"cannot listen on {host}: {error.strerror}; give --host an "
                             "address of this machine, such as 127.0.0.1") from None
    server_class = _Server6 if family == socket.AF_INET6 else _Server
    try:
        server = server_class((host, port), _Handler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise DashboardError(f"port {port} on {host} is in use: choose another with --port "
                                 "(--port 0 takes any free one)") from None
        raise DashboardError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                             ) from None
    server.dashboard = dashboard
    return server


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "hpsearch-dashboard"
    sys_version = ""
    # Seconds a client may take to send its request (a long poll waits on our side, not
    # theirs): a connection that never finishes its headers must not hold a thread for good.
    timeout = 60

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every other method (POST, PUT, DELETE, ...): the dashboard never writes.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send(405, b"the dashboard is read-only: GET and HEAD only\n", "text/plain",
                   headers={"Allow": "GET, HEAD"}, send_body=True)

    # -- routing ---------------------------------------------------------------------------

    def _answer(self, send_body: bool) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if not self._let_in(url, query, send_body):
            return
        path = url.path
        dashboard = self.server.dashboard
        if path in ("/", "/index.html"):
            self._asset(dashboard.assets["index.html"], send_body, page=True)
        elif path.startswith("/static/") and path[len("/static/"):] in dashboard.assets:
            self._asset(dashboard.assets[path[len("/static/"):]], send_body)
        elif path.startswith("/api/"):
            self._api(path, query, send_body)
        else:
            self._send(404, b"not found\n", "text/plain", send_body=send_body)

    def _let_in(self, url: urllib.parse.SplitResult, query: dict[str, list[str]],
                send_body: bool) -> bool:
        token = self.server.dashboard.token
        if token is None:
            if host_is_loopback_name(self.headers.get("Host")):
                return True
            self._send(403, b"this dashboard answers only this machine, as localhost or "
                            b"127.0.0.1\n", "text/plain", send_body=send_body)
            return False
        query_token = query.get("token", [None])[-1]
        if not is_authorized(token, query_token=query_token,
                             cookie_header=self.headers.get("Cookie"),
                             authorization=self.headers.get("Authorization")):
            self._send(401, b"this dashboard needs its token: open the address that "
                            b"`hpsearch dashboard` printed, with its ?token=...\n",
                       "text/plain", send_body=send_body)
            return False
        if query_token is not None:  # first visit: keep the token in a cookie, not the URL
            rest = [(k, v) for k, values in query.items() if k != "token" for v in values]
            location = url.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
            self._send(303, b"", "text/plain", send_body=send_body,
                       headers={"Location": location, "Set-Cookie": token_cookie(token)})
            return False
        return True

    def _api(self, path: str, query: dict[str, list[str]], send_body: bool) -> None:
        live = self.server.dashboard.live
        try:
            since = _integer(query, "since", 0)
            wait = min(MAX_WAIT, max(0.0, float(query.get("wait", ["0"])[-1])))
        except ValueError:
            self._json(400, {"error": "since and wait must be numbers"}, send_body)
            return
        if query.get("instance", [live.instance])[-1] != live.instance:
            since = 0  # a page from another run of the server: start over
        experiment, trial = _EXPERIMENT.match(path), _TRIAL.match(path)
        match = experiment or trial
        if path != "/api/overview" and match is None:
            self._json(404, {"error": f"no such API: {path}"}, send_body)
            return
        exp_key = urllib.parse.unquote(match.group(1)) if match else ""
        try:
            if path == "/api/overview":
                self._json(200, live.overview(since, wait), send_body)
            elif trial is not None:
                found = live.trial(exp_key, int(trial.group(2)))
                if found is None:
                    self._json(404, {"error": f"no trial {trial.group(2)} in experiment "
                                              f"{exp_key!r}"}, send_body)
                else:
                    self._json(200, found, send_body)
            else:
                self._json(200, live.experiment(exp_key, since, wait), send_body)
        except UnknownExperiment:
            self._json(404, {"error": f"no experiment {exp_key!r} in {live.store.location}"},
                       send_body)
        except NotReadYet as waiting:
            self._json(503, {"error": redact(str(waiting)), "reading": True}, send_body,
                       headers={"Retry-After": "1"})
        except StoreError as error:
            self._json(503, {"error": redact(str(error))}, send_body)

    # -- answers ---------------------------------------------------------------------------

    def _asset(self, asset: Asset, send_body: bool, page: bool = False) -> None:
        headers = {"ETag": asset.etag, "Cache-Control": "no-cache"}
        if page:
            headers["Content-Security-Policy"] = _CONTENT_SECURITY_POLICY
        if self.headers.get("If-None-Match") == asset.etag:
            self._send(304, b"", asset.content_type, headers=headers, send_body=False)
            return
        self._send(200, asset.body, asset.content_type, gzipped=asset.gzipped, headers=headers,
                   send_body=send_body)

    def _json(self, status: int, payload: dict[str, Any], send_body: bool,
              headers: dict[str, str] | None = None) -> None:
        body = encode_answer(payload)
        self._send(status, body, "application/json", send_body=send_body,
                   headers={"Cache-Control": "no-store", **(headers or {})})

    def _send(self, status: int, body: bytes, content_type: str, *, send_body: bool,
              gzipped: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if accepts_gzip and gzipped is None and len(body) > GZIP_ABOVE:
            gzipped = gzip.compress(body, compresslevel=1, mtime=0)
        sent = gzipped if accepts_gzip and gzipped is not None else body
        try:
            self.send_response(status)
            for name, value in _common_headers(content_type, len(body), headers):
                self.send_header(name, value)
            if sent is not body:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(sent) if status != 304 else 0))
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(sent)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the page went away while it waited

    # -- logs ------------------------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Without the query string: it may hold the token. A request refused before it was
        # parsed (a line too long, a malformed one) has no path.
        path = urllib.parse.urlsplit(getattr(self, "path", "")).path
        log.debug("%s %s %s %s", self.address_string(), self.command, redact(path), code)

    def log_message(self, format: str, *args: Any) -> None:
        message = _TOKEN_IN_URL.sub("token=***", format % args)
        log.debug("%s: %s", self.address_string(), redact(message))


def _common_headers(content_type: str, length: int, extra: dict[str, str] | None
                    ) -> Iterable[tuple[str, str]]:
    yield "Content-Type", content_type
    yield "X-Content-Type-Options", "nosniff"
    yield "Referrer-Policy", "no-referrer"
    yield "X-Uncompressed-Length", str(length)  # lets the page show how far a download is
    yield from (extra or {}).items()


def _integer(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    return int(values[-1]) if values else default
