"""bearertokenauth and basicauth as the receivers' gate and the exporters' credentials.

Real peers: the OpenTelemetry SDK's exporters (gRPC metadata, HTTP headers)
and our own exporters into our receiver. Refusals answer 401 /
UNAUTHENTICATED, are counted, and no secret reaches a log line, an error
message or ``print-config``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os

import aiohttp
import bcrypt
import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

from collector.auth import AuthenticatorNotFound, Unauthenticated
from collector.component import Kind
from collector.config.redact import REDACTED, redact
from collector.extensions import basicauth, bearertokenauth
from tests.otlp.conftest import counter
from tests.security.conftest import Host
from tests.security.helpers import exporter, receiver, sdk_spans, traces_batch

TOKEN = "s3cr3t-token-value"
PASSWORD = "pa55-word-value"
TRACES = "/v1/traces"


def extension(make_settings, module, config: dict):
    factory = module.factory
    return factory.create(make_settings(factory.type, Kind.EXTENSION), factory.config.model_validate(config))


class _Recorder:
    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []

    async def consume(self, batch) -> None:
        self.batches.append(batch)


async def _post(port: int, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}{TRACES}", data=traces_batch().otlp_bytes,
                                headers={"Content-Type": "application/x-protobuf", **headers}) as response:
            return response.status


async def test_http_receiver_requires_the_bearer_token(make_settings, telemetry, caplog):
    recorder = _Recorder()
    host = Host(bearertokenauth=extension(make_settings, bearertokenauth, {"token": TOKEN}))
    rx = receiver(make_settings, {"http": {"endpoint": "127.0.0.1:0", "auth": {"authenticator": "bearertokenauth"}}},
                  recorder)
    await rx.start(host)
    try:
        port = rx.http.port
        assert await _post(port, {}) == 401
        assert await _post(port, {"Authorization": "Bearer wrong"}) == 401
        assert await _post(port, {"Authorization": TOKEN}) == 401  # scheme missing
        assert await _post(port, {"Authorization": f"Bearer {TOKEN}"}) == 200
    finally:
        await rx.shutdown()
    assert len(recorder.batches) == 1
    assert counter(telemetry, "fathom_receiver_malformed_requests", reason="unauthenticated") == 3
    assert TOKEN not in caplog.text


async def test_grpc_receiver_checks_metadata_from_the_sdk_exporter(make_settings, telemetry):
    recorder = _Recorder()
    host = Host(bearertokenauth=extension(make_settings, bearertokenauth, {"token": TOKEN}))
    rx = receiver(make_settings, {"grpc": {"endpoint": "127.0.0.1:0", "auth": {"authenticator": "bearertokenauth"}}},
                  recorder)
    await rx.start(host)
    try:
        endpoint = f"127.0.0.1:{rx.grpc.port}"
        good = GrpcSpanExporter(endpoint=endpoint, insecure=True, headers={"authorization": f"Bearer {TOKEN}"})
        assert (await asyncio.to_thread(good.export, sdk_spans())).name == "SUCCESS"
        await asyncio.to_thread(good.shutdown)
        async with grpc.aio.insecure_channel(endpoint) as channel:
            call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(traces_batch().otlp_bytes, metadata=(("authorization", "Bearer nope"),), timeout=2)
    finally:
        await rx.shutdown()
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "nope" not in (refused.value.details() or "")
    assert len(recorder.batches) == 1
    assert counter(telemetry, "fathom_receiver_malformed_requests", reason="unauthenticated", transport="grpc") == 1


@pytest.mark.parametrize("kind", ["otlp", "otlphttp"])
@pytest.mark.parametrize("auth", ["bearertokenauth", "basicauth"])
async def test_our_exporter_authenticates_to_our_receiver(kind, auth, make_settings):
    if auth == "bearertokenauth":
        server = client = extension(make_settings, bearertokenauth, {"token": TOKEN, "scheme": "Token"})
    else:
        server = extension(make_settings, basicauth, {"htpasswd": {"inline": f"alice:{PASSWORD}"}})
        client = extension(make_settings, basicauth, {"client_auth": {"username": "alice", "password": PASSWORD}})
    recorder = _Recorder()
    protocol = "grpc" if kind == "otlp" else "http"
    rx = receiver(make_settings, {protocol: {"endpoint": "127.0.0.1:0", "auth": {"authenticator": f"{auth}/in"}}},
                  recorder)
    await rx.start(Host(**{f"{auth}__in": server}))
    port = getattr(rx, protocol).port
    endpoint = f"127.0.0.1:{port}" if kind == "otlp" else f"http://127.0.0.1:{port}"
    tls = {"tls": {"insecure": True}} if kind == "otlp" else {}
    exp = exporter(make_settings, kind, {"endpoint": endpoint, "auth": {"authenticator": f"{auth}/out"}, **tls})
    await exp.start(Host(**{f"{auth}__out": client}))
    try:
        await exp.consume(traces_batch())
    finally:
        await exp.shutdown()
        await rx.shutdown()
    assert len(recorder.batches) == 1


async def test_the_token_file_is_read_again_when_it_changes(make_settings, tmp_path):
    path = tmp_path / "token"
    path.write_text("first\n")
    auth = extension(make_settings, bearertokenauth, {"filename": str(path)})
    await auth.start(None)
    auth.authenticate({"authorization": "Bearer first"})
    assert auth.headers() == {"Authorization": "Bearer first"}
    path.write_text("second\nthird\n")
    os.utime(path, ns=(1, 1))  # a different mtime even within the clock's granularity
    with pytest.raises(Unauthenticated):
        auth.authenticate({"authorization": "Bearer first"})
    auth.authenticate({"authorization": "Bearer third"})
    assert auth.headers() == {"Authorization": "Bearer second"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_htpasswd_formats(make_settings, tmp_path):
    sha = base64.b64encode(hashlib.sha1(b"pw-sha").digest()).decode()
    salt = b"salt"
    ssha = base64.b64encode(hashlib.sha1(b"pw-ssha" + salt).digest() + salt).decode()
    bcrypted = bcrypt.hashpw(b"pw-bcrypt", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$")
    htpasswd = tmp_path / ".htpasswd"
    htpasswd.write_text(f"# users\nsha:{{SHA}}{sha}\nssha:{{SSHA}}{ssha}\nbc:{bcrypted}\nplain:from-file\n")
    auth = extension(make_settings, basicauth, {"htpasswd": {"file": str(htpasswd), "inline": "plain:inline"}})
    for user, password in (("sha", "pw-sha"), ("ssha", "pw-ssha"), ("bc", "pw-bcrypt"), ("plain", "inline")):
        auth.authenticate(_basic(user, password))
        with pytest.raises(Unauthenticated, match="wrong user name or password"):
            auth.authenticate(_basic(user, password + "x"))
    for headers in ({}, {"authorization": "Bearer x"}, {"authorization": "Basic %%%"}, _basic("nobody", "x")):
        with pytest.raises(Unauthenticated):
            auth.authenticate(headers)


def test_unsupported_htpasswd_hash_is_refused_naming_the_line_not_the_hash(make_settings):
    with pytest.raises(ValueError, match=r"htpasswd::inline line 2 \(user 'bob'\).*unsupported hash format 'apr1'") as e:
        extension(make_settings, basicauth, {"htpasswd": {"inline": "alice:x\nbob:$apr1$salt$HASHVALUE"}})
    assert "HASHVALUE" not in str(e.value)


def test_config_rules(make_settings):
    with pytest.raises(ValueError, match="set token, tokens or filename"):
        bearertokenauth.factory.config.model_validate({})
    with pytest.raises(ValueError, match="exactly one of htpasswd"):
        basicauth.factory.config.model_validate({"htpasswd": {"inline": "a:b"}, "client_auth": {"username": "a"}})


async def test_missing_or_wrong_role_authenticator_fails_start(make_settings):
    auth = {"auth": {"authenticator": "bearertokenauth"}}
    rx = receiver(make_settings, {"http": {"endpoint": "127.0.0.1:0", **auth}}, _Recorder())
    with pytest.raises(AuthenticatorNotFound, match="'bearertokenauth' is not configured"):
        await rx.start(Host())
    client_only = extension(make_settings, basicauth, {"client_auth": {"username": "a", "password": "b"}})
    rx = receiver(make_settings, {"http": {"endpoint": "127.0.0.1:0", "auth": {"authenticator": "basicauth"}}},
                  _Recorder())
    with pytest.raises(AuthenticatorNotFound, match="is not a server authenticator"):
        await rx.start(Host(basicauth=client_only))


def test_print_config_redacts_every_credential():
    config = {"extensions": {
        "bearertokenauth": {"token": TOKEN, "tokens": [TOKEN], "filename": "/run/token"},
        "basicauth/server": {"htpasswd": {"inline": f"alice:{PASSWORD}", "file": "/etc/htpasswd"}},
        "basicauth/client": {"client_auth": {"username": "alice", "password": PASSWORD}},
    }}
    shown = repr(redact(config))
    assert TOKEN not in shown and PASSWORD not in shown
    assert redact(config)["extensions"]["basicauth/client"]["client_auth"]["username"] == "alice"
    assert REDACTED in shown


async def test_file_token_errors_do_not_log_it(make_settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "token"
    path.write_text(TOKEN)
    auth = extension(make_settings, bearertokenauth, {"filename": str(path)})
    path.unlink()
    with pytest.raises(Unauthenticated) as refused:
        auth.authenticate({"authorization": f"Bearer {TOKEN}x"})
    assert TOKEN not in str(refused.value) and TOKEN not in caplog.text
