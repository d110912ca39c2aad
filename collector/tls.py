"""TLS settings for every listener and every client, key for key as the Collector's configtls.

One place builds ``ssl.SSLContext`` objects (aiohttp, asyncio servers and
clients) and grpc credentials from the same config, so a certificate, a
client CA for mutual TLS and a minimum version mean the same thing on every
port. A file that cannot be read or parsed raises :class:`TLSFileError`
naming the key and the path, never a bare ``ssl.SSLError``.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Iterable, Literal

from pydantic import Field, model_validator

from collector.component import ComponentConfig

if TYPE_CHECKING:  # grpc is imported by the methods that build its credentials: HTTP-only configs skip it
    import grpc

TLSVersion = Literal["1.2", "1.3"]
_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class TLSFileError(ValueError):
    """A certificate, key or CA file named in a ``tls`` section is missing or unusable."""


def read_pem(key: str, path: str) -> bytes:
    """The bytes of the file under config key ``key``; raises :class:`TLSFileError`."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise TLSFileError(f"tls::{key}: cannot read {path!r}: {exc.strerror}") from None


def _load_chain(context: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    try:
        context.load_cert_chain(cert_file, key_file or None)
    except FileNotFoundError as exc:
        raise TLSFileError(f"tls::cert_file/key_file: cannot read {exc.filename or cert_file!r}") from None
    except (OSError, ssl.SSLError) as exc:
        raise TLSFileError(
            f"tls::cert_file/key_file: {cert_file!r} and {key_file!r} are not a PEM certificate and its key: {exc}"
        ) from None


def _load_ca(context: ssl.SSLContext, key: str, path: str) -> None:
    try:
        context.load_verify_locations(cafile=path)
    except FileNotFoundError:
        raise TLSFileError(f"tls::{key}: cannot read {path!r}") from None
    except (OSError, ssl.SSLError) as exc:
        raise TLSFileError(f"tls::{key}: {path!r} is not a PEM CA bundle: {exc}") from None


class TLSServerConfig(ComponentConfig):
    """A listener's certificate, and a client CA that turns on mutual TLS."""

    cert_file: str = Field(..., description="PEM certificate chain the server presents.")
    key_file: str = Field(..., description="PEM private key of that certificate.")
    client_ca_file: str = Field(
        "", description="PEM CA bundle; when set, clients must present a certificate it signed (mutual TLS)."
    )
    min_version: TLSVersion = Field("1.2", description="Oldest TLS version accepted: 1.2 or 1.3.")

    def ssl_context(self) -> ssl.SSLContext:
        """A server context; raises :class:`TLSFileError` naming the file that cannot be used."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = _VERSIONS[self.min_version]
        _load_chain(context, self.cert_file, self.key_file)
        if self.client_ca_file:
            _load_ca(context, "client_ca_file", self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def grpc_credentials(self) -> grpc.ServerCredentials:
        """grpc's server credentials for the same files (grpc has no minimum version knob; it uses 1.2+)."""
        self.ssl_context()  # the same checks, so both transports fail alike on a bad file
        key, cert = read_pem("key_file", self.key_file), read_pem("cert_file", self.cert_file)
        ca = read_pem("client_ca_file", self.client_ca_file) if self.client_ca_file else None
        import grpc

        return grpc.ssl_server_credentials([(key, cert)], ca, require_client_auth=ca is not None)


def server_context(tls: TLSServerConfig | None) -> ssl.SSLContext | None:
    """The context a listener serves with: None (plaintext) when TLS is not configured."""
    return tls.ssl_context() if tls is not None else None


class TLSClientConfig(ComponentConfig):
    """How a client checks the server, and the certificate it presents for mutual TLS."""

    insecure: bool = Field(False, description="Plaintext: no TLS at all (gRPC only; HTTP follows the URL scheme).")
    insecure_skip_verify: bool = Field(False, description="Use TLS but accept any server certificate.")
    ca_file: str = Field("", description="PEM CA bundle that signs the server's certificate; system roots if empty.")
    cert_file: str = Field("", description="PEM client certificate, for mutual TLS.")
    key_file: str = Field("", description="PEM private key of the client certificate.")
    min_version: TLSVersion = Field("1.2", description="Oldest TLS version accepted: 1.2 or 1.3.")
    server_name_override: str = Field(
        "", description="Name checked against the server's certificate instead of the endpoint's host."
    )

    @model_validator(mode="after")
    def _pair(self) -> "TLSClientConfig":
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("tls: set both cert_file and key_file for a client certificate, or neither")
        return self

    def ssl_context(self) -> ssl.SSLContext:
        """A client context; raises :class:`TLSFileError` naming the file that cannot be used."""
        context = ssl.create_default_context()
        context.minimum_version = _VERSIONS[self.min_version]
        if self.ca_file:
            _load_ca(context, "ca_file", self.ca_file)
        if self.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            _load_chain(context, self.cert_file, self.key_file)
        return context

    def aiohttp_ssl(self, urls: Iterable[str]) -> ssl.SSLContext | bool:
        """aiohttp's ``ssl`` argument: this config's context when any URL is https, else its default."""
        return self.ssl_context() if any(url.startswith("https://") for url in urls) else True

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        """grpc channel credentials for the same files (see :meth:`grpc_options` for the name override)."""
        if self.insecure_skip_verify:
            raise TLSFileError("tls::insecure_skip_verify: gRPC channels cannot skip verification; set ca_file")
        self.ssl_context()
        ca = read_pem("ca_file", self.ca_file) if self.ca_file else None
        key = read_pem("key_file", self.key_file) if self.key_file else None
        cert = read_pem("cert_file", self.cert_file) if self.cert_file else None
        import grpc

        return grpc.ssl_channel_credentials(ca, key, cert)

    def grpc_options(self) -> list[tuple[str, str]]:
        """Channel options that carry ``server_name_override``."""
        return [("grpc.ssl_target_name_override", self.server_name_override)] if self.server_name_override else []
