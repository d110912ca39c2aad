"""Every HTTP listener serves TLS, and mutual TLS, when configured."""

from __future__ import annotations

import logging
import ssl

import aiohttp
import pytest

from collector.component import ComponentID, Kind, Settings
from collector.telemetry import Telemetry


def settings(kind: Kind, type_: str) -> Settings:
    id = ComponentID(type_)
    return Settings(id, kind, logging.getLogger("test"), Telemetry().for_component(id, kind))


def listeners(tls: dict):
    from collector.extensions.health_check import factory as health
    from exporters.prometheus import factory as prometheus

    yield "health_check", health.create(settings(Kind.EXTENSION, "health_check"),
                                        health.config.model_validate({"endpoint": "127.0.0.1:0", "tls": tls})), "/livez"
    yield "prometheus", prometheus.create(settings(Kind.EXPORTER, "prometheus"),
                                          prometheus.config.model_validate({"endpoint": "127.0.0.1:0", "tls": tls})), "/metrics"


class Host:
    def get_extension(self, id):
        return None

    def is_ready(self) -> bool:
        return True


@pytest.mark.parametrize("name", ["health_check", "prometheus"])
async def test_mutual_tls_on_the_http_listeners(pki, name):
    tls = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key), "client_ca_file": str(pki.ca)}
    (component, path), = [(c, p) for n, c, p in listeners(tls) if n == name]
    await component.start(Host())
    port = component.server.port
    trusted = ssl.create_default_context(cafile=str(pki.ca))
    trusted.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    anonymous = ssl.create_default_context(cafile=str(pki.ca))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://localhost:{port}{path}", ssl=trusted) as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"https://localhost:{port}{path}", ssl=anonymous) as response:
                    await response.read()
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"http://localhost:{port}{path}") as response:
                    await response.read()
    finally:
        await component.shutdown()
