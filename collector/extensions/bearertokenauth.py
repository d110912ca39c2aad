"""The ``bearertokenauth`` extension: a static token, checked by receivers and sent by exporters.

Configured as the Collector's extension (contrib ``extension/bearertokenauthextension``):
``scheme`` (default ``Bearer``), ``token``, ``tokens`` or ``filename``, and ``header``
(default ``Authorization``). With ``filename`` the file wins over ``token(s)``;
each line is a token, and the file is read again whenever it changes (stat on
use, so a Kubernetes secret swapped by symlink is picked up), so tokens rotate
without a restart. As a server it accepts any listed token, compared in
constant time; as a client it sends the first one.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from pydantic import Field, model_validator

from collector.auth import Unauthenticated, same_secret
from collector.component import ComponentConfig, Factory, Host, Kind, Settings, Stability


class BearerTokenAuthConfig(ComponentConfig):
    scheme: str = Field("Bearer", description="Auth scheme put before the token; empty sends the bare token.")
    token: str = Field("", description="The token (secret; redacted from print-config).")
    tokens: list[str] = Field(default_factory=list, description="Several accepted tokens; a client sends the first.")
    filename: str = Field(
        "", description="File holding the token(s), one per line; re-read when it changes; wins over token(s)."
    )
    header: str = Field("Authorization", min_length=1, description="Header (or gRPC metadata key) carrying it.")

    @model_validator(mode="after")
    def _some_token(self) -> "BearerTokenAuthConfig":
        if not (self.token or self.tokens or self.filename):
            raise ValueError("set token, tokens or filename")
        return self


class BearerTokenAuth:
    """Both a server and a client authenticator (:mod:`collector.auth`)."""

    def __init__(self, settings: Settings, config: BearerTokenAuthConfig) -> None:
        self._log = settings.logger
        self._config = config
        self._header = config.header.lower()
        self._values: list[str] = [self._value(t) for t in (config.tokens or [config.token]) if t]
        self._file_state: tuple[int, int, int] | None = None
        if config.filename:
            if config.token or config.tokens:
                self._log.warning("bearertokenauth: filename is set, so the configured token(s) are ignored")
            self._values = []
            self._refresh()

    def _value(self, token: str) -> str:
        return f"{self._config.scheme} {token}" if self._config.scheme else token

    def _refresh(self) -> None:
        """Read the file again if it changed; a read failure keeps the last good tokens."""
        path = self._config.filename
        try:
            st = os.stat(path)
            state = (st.st_ino, st.st_mtime_ns, st.st_size)
            if state == self._file_state:
                return
            with open(path, encoding="utf-8") as f:
                lines = [line.strip() for line in f.read().splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            if self._file_state is not None or not self._values:
                self._log.error("bearertokenauth: cannot read the token file %s: %s", path, type(exc).__name__)
                self._file_state = None
            return
        self._file_state = state
        self._values = [self._value(line) for line in lines if line]
        self._log.info("bearertokenauth: read %d token(s) from %s", len(self._values), path)

    # -- server --------------------------------------------------------

    def authenticate(self, headers: Mapping[str, str]) -> None:
        if self._config.filename:
            self._refresh()
        given = headers.get(self._header)
        if not given:
            raise Unauthenticated(f"missing or empty {self._config.header} header")
        # check every token, so the time taken does not say which one came close
        matched = False
        for expected in self._values:
            matched |= same_secret(given, expected)
        if not matched:
            raise Unauthenticated("scheme or token does not match")

    # -- client --------------------------------------------------------

    def headers(self) -> Mapping[str, str]:
        if self._config.filename:
            self._refresh()
        return {self._config.header: self._values[0]} if self._values else {}

    # -- lifecycle -----------------------------------------------------

    async def start(self, host: Host) -> None:
        if self._config.filename and not self._values:
            raise ValueError(f"bearertokenauth: filename {self._config.filename!r} holds no token")

    async def shutdown(self) -> None:
        pass


def create(settings: Settings, config: BearerTokenAuthConfig) -> Any:
    return BearerTokenAuth(settings, config)


factory = Factory(
    type="bearertokenauth",
    kind=Kind.EXTENSION,
    config=BearerTokenAuthConfig,
    create=create,
    description="Checks and sends a static bearer token (HTTP header or gRPC metadata).",
    stability=Stability.BETA,
)
