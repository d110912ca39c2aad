"""TLS and mutual TLS on real round trips, with certificates made at test time.

Server side: the OpenTelemetry SDK's own OTLP exporters (gRPC with channel
credentials, HTTP with certificate_file) into our otlp receiver. Client side:
our otlp, otlphttp and prometheusremotewrite exporters into an independent
grpcio/aiohttp TLS peer. Under mutual TLS a client with no certificate, or
one from another CA, is refused and nothing reaches the pipeline.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from collector.errors import RetryableError
from collector.tls import TLSClientConfig, TLSFileError, TLSServerConfig
from tests.security.backend import TlsBackend
from tests.security.helpers import exporter, metrics_batch, receiver, sdk_spans, traces_batch


def server_tls(pki, mutual: bool) -> dict:
    tls = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key)}
    return {**tls, "client_ca_file": str(pki.ca)} if mutual else tls


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
@pytest.mark.parametrize("transport", ["grpc", "http"])
async def test_sdk_exporter_into_tls_receiver(transport, mutual, pki, make_settings, monkeypatch):
    # requests lets these override a session's own CA file (psf/requests#3829)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    recorder = _Recorder()
    rx = receiver(make_settings, {transport: {"endpoint": "127.0.0.1:0", "tls": server_tls(pki, mutual)}}, recorder)
    await rx.start(None)
    try:
        port = getattr(rx, transport).port
        if transport == "grpc":
            ca, key, cert = (pki.ca.read_bytes(), pki.client_key.read_bytes() if mutual else None,
                             pki.client_cert.read_bytes() if mutual else None)
            sdk = GrpcSpanExporter(endpoint=f"localhost:{port}", credentials=grpc.ssl_channel_credentials(ca, key, cert))
        else:
            client = {"client_certificate_file": str(pki.client_cert), "client_key_file": str(pki.client_key)}
            sdk = HttpSpanExporter(endpoint=f"https://localhost:{port}/v1/traces", certificate_file=str(pki.ca),
                                   **(client if mutual else {}))
        result = await asyncio.to_thread(sdk.export, sdk_spans())
        await asyncio.to_thread(sdk.shutdown)
    finally:
        await rx.shutdown()
    assert result.name == "SUCCESS"
    assert len(recorder.batches) == 1 and recorder.batches[0].item_count() == 1


@pytest.mark.parametrize("client_cert", [None, "rogue"], ids=["no-cert", "other-ca"])
async def test_mtls_receiver_refuses_a_client_without_a_trusted_certificate(client_cert, pki, make_settings):
    recorder = _Recorder()
    tls = server_tls(pki, mutual=True)
    rx = receiver(make_settings, {"grpc": {"endpoint": "127.0.0.1:0", "tls": tls},
                                  "http": {"endpoint": "127.0.0.1:0", "tls": tls}}, recorder)
    await rx.start(None)
    try:
        context = ssl.create_default_context(cafile=str(pki.ca))
        key = cert = None
        if client_cert:
            context.load_cert_chain(str(pki.rogue_cert), str(pki.rogue_key))
            key, cert = pki.rogue_key.read_bytes(), pki.rogue_cert.read_bytes()
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.post(f"https://localhost:{rx.http.port}/v1/traces", ssl=context,
                                        data=traces_batch().otlp_bytes,
                                        headers={"Content-Type": "application/x-protobuf"}) as response:
                    await response.read()
        credentials = grpc.ssl_channel_credentials(pki.ca.read_bytes(), key, cert)
        async with grpc.aio.secure_channel(f"localhost:{rx.grpc.port}", credentials) as channel:
            call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(traces_batch().otlp_bytes, timeout=2)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await rx.shutdown()
    assert recorder.batches == []


@pytest.fixture
async def mtls_backend(pki):
    server = TLSServerConfig.model_validate(server_tls(pki, mutual=True))
    backend = await TlsBackend(server.ssl_context(), server.grpc_credentials()).start()
    yield backend
    await backend.stop()


def _client_config(kind: str, backend: TlsBackend, tls: dict) -> dict:
    if kind == "otlp":
        return {"endpoint": f"localhost:{backend.grpc_port}", "tls": tls}
    if kind == "otlphttp":
        return {"endpoint": f"https://localhost:{backend.https_port}", "tls": tls}
    return {"endpoint": f"https://localhost:{backend.https_port}/api/v1/write", "tls": tls}


@pytest.mark.parametrize("kind", ["otlp", "otlphttp", "prometheusremotewrite"])
async def test_our_exporter_over_mtls(kind, pki, mtls_backend, make_settings):
    tls = {"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    exp = exporter(make_settings, kind, _client_config(kind, mtls_backend, tls))
    await exp.start(None)
    try:
        await exp.consume(metrics_batch() if kind == "prometheusremotewrite" else traces_batch())
    finally:
        await exp.shutdown()
    assert len(mtls_backend.received) == 1


@pytest.mark.parametrize("kind", ["otlp", "otlphttp", "prometheusremotewrite"])
async def test_our_exporter_without_its_certificate_is_refused(kind, pki, mtls_backend, make_settings):
    exp = exporter(make_settings, kind, _client_config(kind, mtls_backend, {"ca_file": str(pki.ca)}))
    await exp.start(None)
    try:
        with pytest.raises(RetryableError):
            await exp.consume(metrics_batch() if kind == "prometheusremotewrite" else traces_batch())
    finally:
        await exp.shutdown()
    assert mtls_backend.received == []


def test_bad_tls_files_are_named(pki, tmp_path):
    with pytest.raises(TLSFileError, match="cannot read '/no/such.pem'"):
        TLSServerConfig(cert_file="/no/such.pem", key_file=str(pki.server_key)).ssl_context()
    with pytest.raises(TLSFileError, match="not a PEM certificate and its key"):
        TLSServerConfig(cert_file=str(pki.server_cert), key_file=str(pki.client_key)).ssl_context()
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(TLSFileError, match="ca_file.*is not a PEM CA bundle"):
        TLSClientConfig(ca_file=str(garbage)).ssl_context()
    with pytest.raises(ValueError, match="both cert_file and key_file"):
        TLSClientConfig(cert_file=str(pki.client_cert))


def test_min_version_is_applied(pki):
    config = TLSServerConfig(cert_file=str(pki.server_cert), key_file=str(pki.server_key), min_version="1.3")
    assert config.ssl_context().minimum_version is ssl.TLSVersion.TLSv1_3
    assert TLSClientConfig(min_version="1.3").ssl_context().minimum_version is ssl.TLSVersion.TLSv1_3


class _Recorder:
    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []

    async def consume(self, batch) -> None:
        self.batches.append(batch)
