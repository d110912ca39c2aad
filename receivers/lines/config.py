"""Config fields every line source shares, named as the OpenTelemetry Collector names them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from collector.component import ComponentConfig
from collector.configtypes import PositiveInt
from collector.httpserver import parse_endpoint
from receivers.lines.encoding import check_encoding


def _endpoint(value: str) -> str:
    if value:
        parse_endpoint(value)
    return value


#: ``host:port`` (``:port`` for loopback), checked at load; empty where a listener may be off.
Endpoint = Annotated[str, AfterValidator(_endpoint)]


class LineSourceConfig(ComponentConfig):
    encoding: str = Field(
        "utf-8",
        description="Character encoding of the input (any ASCII-compatible codec, e.g. utf-8, latin-1); "
        "records are handed on as UTF-8, bytes that cannot be decoded replaced by U+FFFD and counted "
        "(fathom_receiver_bad_input{reason=\"invalid_encoding\"}). `nop` passes bytes through unchecked.",
    )
    max_log_size: PositiveInt = Field(
        1 << 20,
        description="Longest record in bytes; a longer one is cut to this size, the rest up to the next "
        "newline skipped, and counted (fathom_receiver_bad_input{reason=\"too_long\"}).",
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        return check_encoding(value)


class SocketSourceConfig(LineSourceConfig):
    max_pending_bytes: PositiveInt = Field(
        8 << 20,
        description="Bytes waiting to be handed on before TCP sources pause reading and UDP datagrams are dropped.",
    )
