"""How a config problem is named: where it is (file, line, column, key path) and what to do.

Every config error the collector reports, from a YAML typo to a dangling
pipeline reference, is a :class:`ConfigIssue`, so ``fathom validate`` can list
them all at once in one format, the OpenTelemetry Collector's
``service::pipelines::logs: ...`` path style prefixed by ``file:line:col``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from collector.errors import CollectorError

#: A key path into the config: mapping keys and sequence indexes.
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A place in a config file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def format_path(path: Path) -> str:
    """``("service", "pipelines", "logs", "exporters", 1)`` -> ``service::pipelines::logs::exporters[1]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f"::{part}" if text else part
    return text


@dataclass
class ConfigIssue:
    """One problem (or warning) in the config, with everything needed to fix it."""

    path: Path
    message: str
    position: Position | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        text = self.message
        if self.suggestion is not None:
            text += f'; did you mean "{self.suggestion}"?'
        if self.path:
            text = f"{format_path(self.path)}: {text}"
        if self.position is not None:
            text = f"{self.position}: {text}"
        return text


class ConfigErrors(CollectorError):
    """The config is invalid; ``issues`` lists every problem found, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a misspelt ``word``, or None if none is close.

    Case is ignored when comparing, so ``OTLP`` still suggests ``otlp``.
    """
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(word.lower(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[matches[0]] if matches else None
