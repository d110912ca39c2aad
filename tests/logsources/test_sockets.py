"""tcplog and udplog against real sockets: lines, TLS, and bad input that must not hurt good lines."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess

import pytest

from collector.component import Signal
from receivers.tcplog import TcpLogConfig, factory as tcp_factory
from receivers.udplog import UdpLogConfig, factory as udp_factory
from tests.logsources.conftest import make_settings


async def start(factory, config, sink, host):
    settings, telemetry = make_settings(factory.type)
    receiver = factory.create(settings, config, {Signal.LOGS: sink})
    await receiver.start(host)
    return receiver, receiver.servers[0].port, telemetry


async def send(port: int, payload: bytes, *, ssl_context: ssl.SSLContext | None = None) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context,
                                                   server_hostname="localhost" if ssl_context else None)
    writer.write(payload)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_tcp_lines_from_many_connections_arrive_in_few_batches(sink, host):
    receiver, port, _ = await start(tcp_factory, TcpLogConfig(listen_address="127.0.0.1:0"), sink, host)
    try:
        await asyncio.gather(*(send(port, b"".join(b'{"c":%d,"i":%d}\n' % (c, i) for i in range(100)))
                               for c in range(10)))
        lines = await sink.wait_lines(1000)
        assert sorted(lines) == sorted(b'{"c":%d,"i":%d}' % (c, i) for c in range(10) for i in range(100))
        assert len(sink.batches) < 1000 / 10
    finally:
        await receiver.shutdown()


async def test_half_closed_connection_hands_on_its_unterminated_line(sink, host):
    receiver, port, _ = await start(tcp_factory, TcpLogConfig(listen_address="127.0.0.1:0"), sink, host)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"one\ntwo")
            s.shutdown(socket.SHUT_WR)
            await sink.wait_lines(2)
            assert s.recv(10) == b""  # the server closed its side too
        assert sink.lines() == [b"one", b"two"]
    finally:
        await receiver.shutdown()


async def test_idle_connections_are_closed_and_free_their_slot(sink, host):
    config = TcpLogConfig(listen_address="127.0.0.1:0", max_connections=1, idle_timeout="100ms")
    receiver, port, telemetry = await start(tcp_factory, config, sink, host)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"busy\n")
        for _ in range(3):  # talking keeps it open past the timeout
            await asyncio.sleep(0.05)
            writer.write(b"busy\n")
        writer.write(b"unterminated")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 1.0) == b""  # closed by the server once silent
        writer.close()
        await send(port, b"next\n")  # the slot is free again
        assert await sink.wait_lines(6) == [b"busy"] * 4 + [b"unterminated", b"next"]
        assert telemetry.bad("idle_timeout") == 1
    finally:
        await receiver.shutdown()


async def test_garbage_and_endless_lines_are_cut_and_counted_beside_good_lines(sink, host):
    config = TcpLogConfig(listen_address="127.0.0.1:0", max_log_size=1024)
    receiver, port, telemetry = await start(tcp_factory, config, sink, host)
    try:
        endless = asyncio.create_task(send(port, b"x" * 200_000))
        await send(port, b"good 1\n\xff\xfe\x00garbage\ngood 2\n")
        await endless
        lines = await sink.wait_lines(4)
        assert b"good 1" in lines and b"good 2" in lines
        assert b"x" * 1024 in lines and all(len(line) <= 1024 for line in lines)
        assert "\ufffd\ufffd\x00garbage".encode() in lines
        assert telemetry.bad("too_long") == 1 and telemetry.bad("invalid_encoding") == 2
    finally:
        await receiver.shutdown()


async def test_a_flood_of_connections_is_bounded_and_counted(sink, host):
    config = TcpLogConfig(listen_address="127.0.0.1:0", max_connections=5)
    receiver, port, telemetry = await start(tcp_factory, config, sink, host)
    try:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        extra = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        for reader, _ in extra:
            assert await asyncio.wait_for(reader.read(1), 1) == b""  # closed by the server
        assert telemetry.bad("too_many_connections") == 20
        idle[0][1].write(b"still served\n")
        await idle[0][1].drain()
        assert await sink.wait_lines(1) == [b"still served"]
        for _, writer in idle + extra:
            writer.close()
    finally:
        await receiver.shutdown()


async def test_refused_batches_are_retried_without_loss_or_repeats(sink, host):
    sink.refuse = 3
    receiver, port, telemetry = await start(tcp_factory, TcpLogConfig(listen_address="127.0.0.1:0"), sink, host)
    try:
        await send(port, b"".join(b"%d\n" % i for i in range(500)))
        lines = await sink.wait_lines(500)
        assert lines == [b"%d" % i for i in range(500)]
        assert sink.offers > len(sink.batches)
    finally:
        await receiver.shutdown()


async def test_shutdown_hands_on_pending_lines(sink, host):
    receiver, port, _ = await start(tcp_factory, TcpLogConfig(listen_address="127.0.0.1:0"), sink, host)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"a\nb")
    await writer.drain()
    await sink.wait_lines(1)
    await receiver.shutdown()
    assert sink.lines() == [b"a", b"b"]
    writer.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    path = tmp_path_factory.mktemp("tls")
    cert, key = path / "cert.pem", path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


async def test_tls(sink, host, certificate):
    cert, key = certificate
    config = TcpLogConfig.model_validate({"listen_address": "127.0.0.1:0", "tls": {"cert_file": cert, "key_file": key}})
    receiver, port, _ = await start(tcp_factory, config, sink, host)
    try:
        client = ssl.create_default_context(cafile=cert)
        await send(port, b"secret 1\nsecret 2\n", ssl_context=client)
        assert await sink.wait_lines(2) == [b"secret 1", b"secret 2"]
        await send(port, b"plain text is not TLS\n")  # a bad handshake must not stop the server
        await send(port, b"secret 3\n", ssl_context=client)
        assert (await sink.wait_lines(3))[-1] == b"secret 3"
    finally:
        await receiver.shutdown()


async def test_udp_datagrams_hold_records(sink, host):
    config = UdpLogConfig(listen_address="127.0.0.1:0", max_log_size=100)
    receiver, port, telemetry = await start(udp_factory, config, sink, host)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for payload in (b"one\n", b"two\nthree", b"\xff" + b"y" * 300, b"four"):
                s.sendto(payload, ("127.0.0.1", port))
        lines = await sink.wait_lines(5)
        assert lines[:3] == [b"one", b"two", b"three"] and lines[-1] == b"four"
        assert len(lines[3]) == 100 + 2  # cut to 100 bytes; \xff became U+FFFD
        assert telemetry.bad("too_long") == 1 and telemetry.bad("invalid_encoding") == 1
    finally:
        await receiver.shutdown()
