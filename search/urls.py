"""Store locations as users type them: which kind of store, and how to print one safely."""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"^(mongodb(?:\+srv)?://)([^:@/]*):([^@/]*)@", re.IGNORECASE)


def is_mongodb_url(location: str) -> bool:
    """True for `mongodb://` and `mongodb+srv://` locations, the distributed store."""
    return location.lower().startswith(("mongodb://", "mongodb+srv://"))


def redact(text: str) -> str:
    """Replace the password of every MongoDB URL inside `text` with `***`.

    Applied to every location before it reaches a log line, an error message, `status` output
    or a stored document, so that a password typed on a command line never leaves it.
    """
    return re.sub(
        r"(mongodb(?:\+srv)?://[^:@/\s]*):([^@/\s]*)@",
        r"\1:***@",
        text,
        flags=re.IGNORECASE,
    )


def password_of(location: str) -> str | None:
    """The password in a MongoDB URL, so callers can scrub it from third-party messages."""
    match = _CREDENTIALS.match(location)
    return match.group(3) if match and match.group(3) else None
