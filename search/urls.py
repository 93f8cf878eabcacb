"""Store locations as users type them: which kind of store, and how to print one safely."""

from __future__ import annotations

import re
import urllib.parse

# Any `scheme://` (a slash missing or not) and the login after it, which runs to the last `@`
# of its line: a password may hold `/`, `@`, `:`, a quote or a space (the driver may accept
# it), and a user name an `@` or a `/` of its own (`alice@corp.example`, typed unescaped). So
# a line with a stray `@` later on is redacted too far rather than not far enough: messages
# put whatever follows a URL and holds an `@` on a line of its own. In a location alone (one
# value, not a message) the login runs to its last `@` whatever the lines: the driver takes a
# newline inside a password too.
_LOGIN_PATTERN = r"(?P<scheme>\b[a-z][a-z0-9+.-]*:/+)(?P<login>{any}*)@"
_LOGIN = re.compile(_LOGIN_PATTERN.format(any=r"[^\n]"), re.IGNORECASE)
_LOCATION_LOGIN = re.compile(_LOGIN_PATTERN.format(any=r"[\s\S]"), re.IGNORECASE)
# Where a login's user name ends and its password starts: its first `:`, or in a login
# escaped whole (`alice%3Apassword`, as `quote_plus` of `user:password` gives), the first
# escaped one. A login with neither is a user name alone.
_PASSWORD_START = re.compile(r":|%3A", re.IGNORECASE)
# URL options that carry a secret of their own: TLS key and proxy passwords, and an AWS
# session token among authMechanismProperties (comma-separated, its colon perhaps escaped).
# In a message a secret ends at a space or a quote, where prose may go on; in a location
# alone it runs to the next option (`&name=`), spaces, quotes and a stray `&` included, as
# the driver reads it.
_SECRET_NAME = r"(?P<name>[?&;](?:tls\w*password|proxyPassword)=|AWS_SESSION_TOKEN(?::|%3A))"
_SECRET_OPTIONS = re.compile(
    _SECRET_NAME + r"(?P<secret>(?<==)[^&;\s'\"]*|(?<!=)[^&;,\s'\"]*)", re.IGNORECASE)
_LOCATION_SECRET_OPTIONS = re.compile(
    _SECRET_NAME + r"(?P<secret>(?<==)(?:(?![&;][a-z][\w.]*=)[\s\S])*|(?<!=)[^&;,]*)",
    re.IGNORECASE)
# `user:password@host…` without a scheme, at the start or after a `/` (`mongodb//u:pw@h`), or
# a scheme with its slashes missing (`mongodb:u:pw@h`). The password runs to the last `@` of
# its line (a `/` or a space in it too); a name followed by `: ` or `:/` is a message's label
# or a scheme, not a login.
_SCHEMELESS_CREDENTIALS = re.compile(
    r"(?P<prefix>(?:^|(?<=[/\s('\"]))[^/\s:@'\"()]+):(?![/\s])[^\n]*@")


def is_mongodb_url(location: str) -> bool:
    """True for `mongodb://` and `mongodb+srv://` locations, the distributed store."""
    return location.lower().startswith(("mongodb://", "mongodb+srv://"))


def looks_like_credentials(location: str) -> bool:
    """True for a location holding `user:password@host` that is no URL (`u:pw@host/db`,
    `mongodb:/u:pw@host`): a MongoDB URL with its `mongodb://` mistyped, never a directory."""
    return not is_mongodb_url(location) and bool(
        _SCHEMELESS_CREDENTIALS.search(location) or any(
            _password(login) is not None for login in _LOGIN.finditer(location)))


def redact_location(location: str) -> str:
    """`redact` for a location alone, or a message that quotes one as typed: its login and
    secret options hidden whole, and the password of a `user:password@` typed without a
    well-formed scheme."""
    text = _LOCATION_LOGIN.sub(_hide_password, location)
    text = _LOCATION_SECRET_OPTIONS.sub(r"\g<name>***", text)
    return _SCHEMELESS_CREDENTIALS.sub(r"\g<prefix>:***@", redact(text))


def redact(text: str) -> str:
    """Replace the password of every URL inside `text` with `***`, whatever its scheme.

    Applied to every location before it reaches a log line, an error message, `status` output
    or a stored document, so that a password typed on a command line never leaves it.
    """
    text = _LOGIN.sub(_hide_password, text)
    return _SECRET_OPTIONS.sub(r"\g<name>***", text)


def secrets_of(location: str) -> list[str]:
    """The secrets in a URL as typed and as decoded, so callers can scrub them from messages
    of other libraries that quote them without the URL around them."""
    found = []
    login = _LOCATION_LOGIN.match(location)
    password = None if login is None else _password(login)
    if password:
        found.append(password)
    for option in _LOCATION_SECRET_OPTIONS.finditer(location):
        if option.group("secret"):
            found.append(option.group("secret"))
    decoded = [urllib.parse.unquote_plus(secret) for secret in found]
    return sorted({*found, *decoded}, key=len, reverse=True)  # longest first: no partial scrub


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every URL redacted and every one of `secrets` replaced by `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact(text)


def _password(login: re.Match[str]) -> str | None:
    """The password of a `_LOGIN` match (None: a user name alone)."""
    start = _PASSWORD_START.search(login["login"])
    return None if start is None else login["login"][start.end():]


def _hide_password(login: re.Match[str]) -> str:
    password = _password(login)
    if password is None:
        return login[0]
    return f"{login[0][:len(login[0]) - len(password) - 1]}***@"
