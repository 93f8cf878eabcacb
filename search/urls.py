"""Store locations as users type them: which kind of store, and how to print one safely."""

from __future__ import annotations

import re
import urllib.parse

# Any `scheme://` (a slash missing or not) and the login after it, which runs to the last `@`
# of its line: a password may hold `/`, `@`, `:`, a quote or a space (the driver may accept
# it), and a user name an `@` or a `/` of its own (`alice@corp.example`, typed unescaped). So
# a line with a stray `@` later on is redacted too far rather than not far enough: messages
# put whatever follows a URL and holds an `@` on a line of its own.
_LOGIN = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*:/+)(?P<login>[^\n]*)@", re.IGNORECASE)
# In a location alone (one value, from its start: not a message) the login runs to its last
# `@` whatever the lines: the driver takes a newline inside a password too.
_LOCATION_LOGIN = re.compile(r"(?P<scheme>\s*[a-z][a-z0-9+.-]*:/+)(?P<login>[\s\S]*)@",
                             re.IGNORECASE)
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
# A whole location that is `user:password@host…` typed without `mongodb://`, or with its
# slashes mistyped (`mongodb:u:pw@h`, `mongodb//u:pw@h`): the user name starts the location,
# the password (a `/`, a space, a newline in it too) runs to the last `@`, and what follows
# is a host list, perhaps a database and options. A directory path starts with its first
# directory's name, which holds no `:` before a `/`, or with `/` or `.`.
_MISTYPED_URL = re.compile(
    r"(?P<prefix>(?:mongodb(?:\+srv)?(?::/?|/{1,2}))?[^/\s:@'\"()]+):(?P<password>[\s\S]*)"
    r"@(?P<hosts>[^/@\s'\"()]+)(?P<rest>/[^/@\s?'\"()]*(?:\?[^@]*)?)?",
    re.IGNORECASE)
# The same in a message, bounded as before: at its start or after a `/` (`mongodb//u:pw@h`),
# the password stops at a `/` or a space. A token of the message that is a whole mistyped
# URL is redacted as one (`redact_message`).
_SCHEMELESS_CREDENTIALS = re.compile(r"(?P<prefix>(?:^|/)[^/\s:@]+):[^/\s]*@")
_TOKEN = re.compile(r"[^\s'\"()]+")


def is_mongodb_url(location: str) -> bool:
    """True for `mongodb://` and `mongodb+srv://` locations, the distributed store."""
    return location.lower().startswith(("mongodb://", "mongodb+srv://"))


def looks_like_credentials(location: str) -> bool:
    """True for a location holding `user:password@host` that is no URL (`u:pw@host/db`,
    `mongodb:/u:pw@host`): a MongoDB URL with its `mongodb://` mistyped, never a directory."""
    return not is_mongodb_url(location) and bool(
        _MISTYPED_URL.fullmatch(location) or any(
            _password(login) is not None for login in _LOGIN.finditer(location)))


def redact_location(location: str) -> str:
    """A location alone (as typed: `--store`, HPSEARCH_STORE) with its login and its secret
    options hidden whole, and the password of a `user:password@host` typed without a
    well-formed scheme."""
    login = _LOCATION_LOGIN.match(location)
    mistyped = None if login is not None else _MISTYPED_URL.fullmatch(location)
    if login is not None:
        text = _hide_password(login) + location[login.end():]
    elif mistyped is not None:
        text = f"{mistyped['prefix']}:***@{mistyped['hosts']}{mistyped['rest'] or ''}"
    else:
        text = location
    return redact(_LOCATION_SECRET_OPTIONS.sub(r"\g<name>***", text))


def redact_message(text: str) -> str:
    """`redact`, and in a message that may quote a location as typed (a usage error, a
    refused option), the password of a `user:password@host` typed without `mongodb://`."""
    text = _TOKEN.sub(lambda token: redact_location(token[0]) if _MISTYPED_URL.fullmatch(
        token[0]) else token[0], redact(text))
    return _SCHEMELESS_CREDENTIALS.sub(r"\g<prefix>:***@", text)


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
