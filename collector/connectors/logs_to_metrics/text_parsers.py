"""logfmt and regex lines to records, for the rules to read like parsed JSON.

Both produce flat string-keyed dicts (a logfmt key ``http.status`` is
reached as ``body["http.status"]``). Unquoted values that are JSON numbers
or ``true``/``false`` become numbers and booleans so conditions such as
``status >= 500`` work; quoted logfmt values stay strings.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import orjson

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LOGFMT_PAIR = re.compile(r'\s*([^\s="]+)(?:=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?')

LineParser = Callable[[str], "dict[str, Any] | None"]


def scalar(text: str) -> Any:
    """A bare token as a JSON scalar would read: numbers and booleans typed, else the text."""
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.fullmatch(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # beyond a double's range: keep the text
            return text
    return text


def parse_logfmt(line: str) -> dict[str, Any] | None:
    """``key=value key2="quoted \\" value" flag``; None when the line is not logfmt."""
    record: dict[str, Any] = {}
    pos, end = 0, len(line.rstrip())
    while pos < end:
        m = _LOGFMT_PAIR.match(line, pos)
        if m is None or m.end() == pos:
            return None
        key, quoted, bare = m.groups()
        if quoted is not None:
            record[key] = re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)), quoted)
        elif bare is not None:
            record[key] = scalar(bare)
        else:
            record[key] = True
        pos = m.end()
    return record or None


def regex_parser(pattern: str) -> LineParser:
    compiled = re.compile(pattern)

    def parse(line: str) -> dict[str, Any] | None:
        m = compiled.search(line)
        if m is None:
            return None
        return {k: scalar(v) for k, v in m.groupdict().items() if v is not None}

    return parse
