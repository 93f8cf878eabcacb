"""Store locations as users type them: which kind of store, and how to print one safely."""

from __future__ import annotations

import re
import urllib.parse

# Any `scheme://user:password@` in a text, a slash missing or not. The user name runs to its
# `:` (it may hold a space or a `/` the user did not escape), and the password to the last
# `@` of its line (it may hold `/`, `@`, `:`, a quote or a space, and the driver may accept
# it), so a line with a stray `@` later on is redacted too far rather than not far enough:
# messages put whatever follows a URL and holds an `@` on a line of its own.
_CREDENTIALS = re.compile(
    r"(?P<prefix>\b[a-z][a-z0-9+.-]*:/+[^\n:@]*):(?P<password>[^\n]*)@", re.IGNORECASE
)
# URL options that carry a secret of their own: TLS key passwords, and an AWS session token
# among authMechanismProperties (comma-separated, its colon perhaps escaped).
_SECRET_OPTIONS = re.compile(
    r"(?P<name>[?&;]tls\w*password=|AWS_SESSION_TOKEN(?::|%3A))"
    r"(?P<secret>(?<==)[^&;\s'\"]*|(?<!=)[^&;,\s'\"]*)", re.IGNORECASE)
# `user:password@host…` without a scheme, at the start or after a `/` (`mongodb//u:pw@h`).
_SCHEMELESS_CREDENTIALS = re.compile(r"(?P<prefix>(?:^|/)[^/\s:@]+):[^/\s]*@")


def is_mongodb_url(location: str) -> bool:
    """True for `mongodb://` and `mongodb+srv://` locations, the distributed store."""
    return location.lower().startswith(("mongodb://", "mongodb+srv://"))


def looks_like_credentials(location: str) -> bool:
    """True for a location holding `user:password@host` that is no URL (`u:pw@host/db`,
    `mongodb:/u:pw@host`): a MongoDB URL with its `mongodb://` mistyped, never a directory."""
    return not is_mongodb_url(location) and bool(
        _SCHEMELESS_CREDENTIALS.search(location) or _CREDENTIALS.search(location))


def redact_location(location: str) -> str:
    """`redact`, and the password of a `user:password@` typed without a well-formed scheme."""
    return _SCHEMELESS_CREDENTIALS.sub(r"\g<prefix>:***@", redact(location))


def redact(text: str) -> str:
    """Replace the password of every URL inside `text` with `***`, whatever its scheme.

    Applied to every location before it reaches a log line, an error message, `status` output
    or a stored document, so that a password typed on a command line never leaves it.
    """
    text = _CREDENTIALS.sub(r"\g<prefix>:***@", text)
    return _SECRET_OPTIONS.sub(r"\g<name>***", text)


def secrets_of(location: str) -> list[str]:
    """The secrets in a URL as typed and as decoded, so callers can scrub them from messages
    of other libraries that quote them without the URL around them."""
    found = []
    match = _CREDENTIALS.match(location)
    if match and match.group("password"):
        found.append(match.group("password"))
    for option in _SECRET_OPTIONS.finditer(location):
        if option.group("secret"):
            found.append(option.group("secret"))
    decoded = [urllib.parse.unquote_plus(secret) for secret in found]
    return sorted({*found, *decoded}, key=len, reverse=True)  # longest first: no partial scrub


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every URL redacted and every one of `secrets` replaced by `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact(text)
