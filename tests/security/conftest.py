"""Fixtures of the security tests: a throwaway PKI per session, component settings, a host with extensions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collector.component import ComponentID
from tests.otlp.conftest import Recorder, counter, make_settings, telemetry  # noqa: F401  (fixtures)
from tests.security.certs import Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


class Host:
    """The service's Host contract with a fixed set of extensions."""

    def __init__(self, **extensions: Any) -> None:
        self._extensions = {ComponentID.parse(k.replace("__", "/")): v for k, v in extensions.items()}

    def get_extension(self, id: ComponentID) -> Any | None:
        return self._extensions.get(id)
