"""Secrets out of a config before it is shown (``fathom print-config``, logs).

Over-redacting is cheap and leaking is not, so a key is secret when its name
merely contains a secret-looking word, and the whole value under it goes.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_WORDS = (
    "password", "passwd", "secret", "token", "apikey", "authorization",
    "credential", "privatekey", "accesskey", "sessionkey", "signingkey",
)  # fmt: skip
#: under ``headers`` more names carry secrets than anywhere else
_SECRET_HEADER_WORDS = _SECRET_WORDS + ("auth", "cookie", "key")
_URL_PASSWORD = re.compile(r"(://[^/@\s:]*):[^/@\s]+@")


def is_secret_key(key: object, words: tuple[str, ...] = _SECRET_WORDS) -> bool:
    """``api_key``, ``X-Api-Key``, ``client_secret``, ``bearer_token``...: compared without case or ``_-``."""
    folded = re.sub(r"[^a-z0-9]", "", str(key).lower())
    return any(word in folded for word in words)


def redact(data: Any) -> Any:
    """A deep copy of ``data`` with secret values replaced by ``[REDACTED]``.

    Secret values are those under secret-looking keys, under secret-looking
    header names inside any ``headers`` mapping, and the password part of
    ``scheme://user:password@host`` URLs. Empty values are kept, so an
    operator can still see that a secret is unset.
    """
    return _redact(data, _SECRET_WORDS)


def _redact(data: Any, words: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        return {key: _redact_entry(key, value, words) for key, value in data.items()}
    if isinstance(data, list):
        return [_redact(item, _SECRET_WORDS) for item in data]
    if isinstance(data, str):
        return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", data)
    return data


def _redact_entry(key: object, value: Any, words: tuple[str, ...]) -> Any:
    if value not in (None, "") and is_secret_key(key, words):
        return REDACTED
    return _redact(value, _SECRET_HEADER_WORDS if key == "headers" else _SECRET_WORDS)
