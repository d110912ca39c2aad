"""OTLP/gRPC: the Logs, Metrics and Trace services' ``Export`` method on grpcio's asyncio server.

The handlers are registered under the service names from the proto
descriptors, with no request deserializer: the handler gets the request's
bytes, checks and counts them without parsing the items (``wirecount``)
and passes on the bytes alone, so a passthrough exporter sends the very bytes
received and nothing parses them unless a processor asks for the message. Failures follow
opentelemetry-proto docs/specification.md, "OTLP/gRPC Response": the status
details travel in ``grpc-status-details-bin`` as a ``google.rpc.Status``,
with ``RetryInfo`` for retryable refusals.
"""

from __future__ import annotations

import logging
from typing import Mapping

import grpc
from google.protobuf.message import DecodeError

from collector.auth import ServerAuthenticator, Unauthenticated, server_authenticator
from collector.component import Consumer, Host, Settings, Signal
from collector.httpserver import parse_endpoint
from receivers.otlp.config import GrpcConfig
from receivers.otlp.intake import Verdict, count_malformed, deliver
from receivers.otlp.wirecount import count_items
from collector.pdata.otlp import WIRES, Wire

_CODES = {
    Verdict.BAD_DATA: grpc.StatusCode.INVALID_ARGUMENT,
    Verdict.THROTTLED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Verdict.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}
_DETAILS_KEY = "grpc-status-details-bin"


class GrpcReceiver:
    """The OTLP/gRPC listener of one ``otlp`` receiver."""

    def __init__(self, config: GrpcConfig, consumers: Mapping[Signal, Consumer], settings: Settings) -> None:
        self._config = config
        self._consumers = dict(consumers)
        self._settings = settings
        self._log: logging.Logger = settings.logger
        self._server: grpc.aio.Server | None = None
        self._auth: ServerAuthenticator | None = None
        self.host, self.port = parse_endpoint(config.endpoint)

    async def start(self, host: Host) -> None:
        if self._config.auth is not None:
            self._auth = server_authenticator(host, self._config.auth)
        size = self._config.max_recv_msg_size_mib * 1024 * 1024
        server = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", size),
            ("grpc.max_concurrent_streams", self._config.max_concurrent_streams),
        ])
        server.add_generic_rpc_handlers([
            grpc.method_handlers_generic_handler(
                WIRES[signal].service,
                {"Export": grpc.unary_unary_rpc_method_handler(self._handler(WIRES[signal], consumer))},
            )
            for signal, consumer in self._consumers.items()
        ])
        address = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        try:
            if self._config.tls is None:
                port = server.add_insecure_port(address)
            else:
                port = server.add_secure_port(address, self._config.tls.grpc_credentials())
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {address}: {exc}") from None
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        self.port = port
        await server.start()
        self._server = server

    async def stop(self, grace: float = 1.0) -> None:
        """Stop taking calls; calls in flight get ``grace`` seconds to finish."""
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop(grace)

    def _handler(self, wire: Wire, consumer: Consumer):  # type: ignore[no-untyped-def]
        async def export(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            if self._auth is not None:
                try:
                    self._auth.authenticate(dict(context.invocation_metadata() or ()))
                except Unauthenticated as exc:
                    count_malformed(self._settings, "unauthenticated", "grpc")
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
            try:
                batch = wire.batch_of_bytes(raw, count_items(wire.signal, raw))
            except DecodeError as exc:
                count_malformed(self._settings, "bad_protobuf", "grpc")
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"cannot parse {wire.request.__name__}: {exc}")
            outcome = await deliver(consumer, batch, self._log)
            if outcome.verdict is not Verdict.ACCEPTED:
                code = _CODES[outcome.verdict]
                details = outcome.status(code.value[0]).SerializeToString()
                await context.abort(code, outcome.message, trailing_metadata=((_DETAILS_KEY, details),))
            return b""  # an ExportXServiceResponse with partial_success unset

        return export
