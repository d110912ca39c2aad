"""The ``otlp`` receiver: OTLP over gRPC and HTTP into the pipelines that list it."""

from __future__ import annotations

from typing import Mapping

from collector.component import Consumer, Factory, Host, Kind, Settings, Signal, Stability
from receivers.otlp.config import OtlpReceiverConfig
from receivers.otlp.grpcserver import GrpcReceiver
from receivers.otlp.httpserver import HttpReceiver


class OtlpReceiver:
    """Serves the configured protocols for the signals that have a consumer."""

    def __init__(self, settings: Settings, config: OtlpReceiverConfig, consumers: Mapping[Signal, Consumer]) -> None:
        protocols = config.protocols
        self.grpc = GrpcReceiver(protocols.grpc, consumers, settings) if protocols.grpc else None
        self.http = HttpReceiver(protocols.http, consumers, settings) if protocols.http else None
        self._running: list[GrpcReceiver | HttpReceiver] = []
        self._stopped = False

    async def start(self, host: Host) -> None:
        if self._running or self._stopped:
            return
        for listener in (self.grpc, self.http):
            if listener is not None:
                try:
                    await listener.start(host)
                except BaseException:
                    await self.shutdown()
                    raise
                self._running.append(listener)

    async def shutdown(self) -> None:
        self._stopped = True
        while self._running:
            await self._running.pop().stop()


def create(settings: Settings, config: OtlpReceiverConfig, consumers: Mapping[Signal, Consumer]) -> OtlpReceiver:
    return OtlpReceiver(settings, config, consumers)


factory = Factory(
    type="otlp",
    kind=Kind.RECEIVER,
    config=OtlpReceiverConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Receives logs, metrics and traces over OTLP/gRPC and OTLP/HTTP (protobuf and JSON).",
)
