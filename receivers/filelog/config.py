"""Config of the ``filelog`` receiver, key for key as the OpenTelemetry Collector's filelog reads it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig, ComponentID
from collector.configtypes import Duration, PositiveInt
from receivers.lines import LineSourceConfig


class MultilineConfig(ComponentConfig):
    line_start_pattern: str = Field("", description="Regex that matches the first line of a record.")
    line_end_pattern: str = Field("", description="Regex that matches the last line of a record.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "MultilineConfig":
        if bool(self.line_start_pattern) == bool(self.line_end_pattern):
            raise ValueError("give exactly one of line_start_pattern and line_end_pattern")
        for name in ("line_start_pattern", "line_end_pattern"):
            pattern = getattr(self, name)
            if pattern:
                try:
                    re.compile(pattern.encode())
                except re.error as exc:
                    raise ValueError(f"bad {name} {pattern!r} at position {exc.pos}: {exc.msg}") from None
        return self


class FileLogConfig(LineSourceConfig):
    include: list[str] = Field(description="Globs of files to read (`**` crosses directories).")
    exclude: list[str] = Field(default_factory=list, description="Globs of files not to read, among those included.")
    start_at: Literal["beginning", "end"] = Field(
        "end", description="Where to start in files found at start-up with no checkpoint; files found later "
        "are read from the beginning."
    )
    poll_interval: Duration = Field(0.2, description="How often the globs are matched and files read.")
    max_concurrent_files: PositiveInt = Field(
        1024, description="Files open at once; beyond it, files are read in turns and closed between polls."
    )
    fingerprint_size: PositiveInt = Field(
        1000, description="Bytes at the start of a file that identify it across renames, copies and restarts."
    )
    storage: str | None = Field(
        None, description="A storage extension (such as `file_storage`) in which read positions are "
        "checkpointed after each poll and at shutdown, so a restart continues where it stopped; without it "
        "they live in memory only (and still pass to the new instance on a reload)."
    )
    multiline: MultilineConfig | None = Field(
        None, description="Records that span lines; with format: container, the application's lines after "
        "partial lines are joined, per stream (a stack trace written to stderr becomes one record)."
    )
    compression: Literal["", "gzip", "auto"] = Field(
        "auto", description="`gzip` reads every file as gzip; `auto` those whose name ends in .gz; empty none."
    )
    format: Literal["raw", "container"] = Field(
        "raw", description="`container`: CRI (containerd, CRI-O) or Docker json-file lines, partial lines "
        "joined, with pod, namespace and container taken from the /var/log/pods path."
    )
    include_file_name: bool = Field(True, description="Add the attribute log.file.name.")
    include_file_path: bool = Field(False, description="Add the attribute log.file.path.")
    force_flush_period: Duration = Field(
        0.5, description="An unterminated last line (or multiline record) waiting this long is handed on as is."
    )

    @field_validator("include")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("include must list at least one glob")
        return value

    @field_validator("storage")
    @classmethod
    def _extension_id(cls, value: str | None) -> str | None:
        if value is not None:
            ComponentID.parse(value)
        return value
