"""Who may read the dashboard: this machine only, or whoever holds the token.

Bound to a loopback address, the dashboard answers this machine's browsers, and only under a
loopback host name (a page elsewhere that makes its own name resolve to 127.0.0.1, DNS
rebinding, is refused). Bound to anything else it requires a token: a first visit with
`?token=...` sets a cookie (HttpOnly, SameSite=Strict) and redirects to the same address
without it, and scripts may send `Authorization: Bearer ...` instead. Every request without
the token is refused, the page and its scripts included.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookies
import ipaddress
import socket

from ._errors import DashboardError

COOKIE = "hpsearch_dashboard_token"
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is this machine's loopback."""
    name = host.strip("[]")
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(address).split("%")[0]).is_loopback
                                   for address in addresses)


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token.

    Raises:
        DashboardError: `host` is not a loopback address and no token was given.
    """
    if token is not None and not token.strip():
        raise DashboardError("--token is empty: give a long random string, for example the output "
                          "of: python -c 'import secrets; print(secrets.token_urlsafe())'")
    if token is None and not is_loopback(host):
        raise DashboardError(
            f"--host {host} serves the dashboard beyond this machine, so it needs a token: give "
            "--token (or HPSEARCH_DASHBOARD_TOKEN), e.g. the output of: python -c 'import "
            "secrets; print(secrets.token_urlsafe())'. Or keep --host 127.0.0.1 and reach it "
            "through an SSH tunnel (see docs/dashboard.md)")


def host_is_loopback_name(host_header: str | None) -> bool:
    """Whether a request's Host header names this machine's loopback (`localhost:8080`,
    `127.0.0.1:8080`, `[::1]:8080`)."""
    host_header = host_header or ""
    if host_header.startswith("["):
        name = host_header[1:host_header.find("]")]
    else:
        name = host_header.rsplit(":", 1)[0]
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_authorized(token: str, *, query_token: str | None, cookie_header: str | None,
                  authorization: str | None) -> bool:
    """Whether a request carries the token: in `?token=`, in its `Authorization: Bearer`
    header, or in the cookie a first visit set. Compared in constant time."""
    candidates = [query_token]
    if authorization and authorization.lower().startswith("bearer "):
        candidates.append(authorization[len("bearer "):].strip())
    if any(candidate is not None and hmac.compare_digest(candidate.encode(), token.encode())
           for candidate in candidates):
        return True
    cookies = http.cookies.SimpleCookie()
    try:
        cookies.load(cookie_header or "")
    except http.cookies.CookieError:
        return False
    return COOKIE in cookies and hmac.compare_digest(cookies[COOKIE].value.encode(),
                                                     _cookie_value(token).encode())


def token_cookie(token: str) -> str:
    """The Set-Cookie value that lets a browser in after its first visit with `?token=`. It
    holds a digest of the token, not the token, so any token fits in a cookie."""
    return f"{COOKIE}={_cookie_value(token)}; Path=/; HttpOnly; SameSite=Strict"


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"hpsearch dashboard cookie", hashlib.sha256).hexdigest()
