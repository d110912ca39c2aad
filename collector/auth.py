"""Authentication as the Collector's configauth does it: an extension authenticates, a
receiver or exporter names it.

A receiver protocol or an exporter says ``auth: {authenticator: <extension id>}``;
in ``start(host)`` it looks the extension up with :func:`server_authenticator`
or :func:`client_authenticator`, which check that the extension exists and can
play that role. A server authenticator judges a request's headers (HTTP
headers or gRPC metadata); a client authenticator gives the headers to send.

Secrets never leave the authenticator: :class:`Unauthenticated` messages say
what was wrong (missing header, wrong scheme, unknown user, wrong
credentials) and never echo what the client sent.
"""

from __future__ import annotations

import hmac
from typing import Mapping, Protocol, runtime_checkable

from pydantic import Field, field_validator

from collector.component import ComponentConfig, ComponentID, Host


class Unauthenticated(Exception):
    """A request carried no credentials or wrong ones: HTTP 401, gRPC UNAUTHENTICATED.

    The message is safe to send back and to log: it never contains a credential.
    """


class AuthenticatorNotFound(ValueError):
    """``auth::authenticator`` names no configured extension, or one that cannot play the role."""


@runtime_checkable
class ServerAuthenticator(Protocol):
    def authenticate(self, headers: Mapping[str, str]) -> None:
        """Accept the request or raise :class:`Unauthenticated`.

        Args:
            headers: the request's headers or gRPC metadata; looked up by
                lower-case name (aiohttp's mapping is case-insensitive, gRPC
                metadata keys are lower case).
        """
        ...


@runtime_checkable
class ClientAuthenticator(Protocol):
    def headers(self) -> Mapping[str, str]:
        """Headers (HTTP) or metadata (gRPC; the caller lower-cases names) to add to each request."""
        ...


class AuthConfig(ComponentConfig):
    """``auth:`` under a receiver protocol or an exporter."""

    authenticator: str = Field(..., description="Id of the auth extension to use, such as bearertokenauth/in.")

    @field_validator("authenticator")
    @classmethod
    def _id(cls, value: str) -> str:
        ComponentID.parse(value)
        return value

    @property
    def id(self) -> ComponentID:
        return ComponentID.parse(self.authenticator)


def server_authenticator(host: Host, config: AuthConfig) -> ServerAuthenticator:
    """The extension ``config`` names, as a server authenticator; raises :class:`AuthenticatorNotFound`."""
    return _lookup(host, config, ServerAuthenticator, "a server authenticator")


def client_authenticator(host: Host, config: AuthConfig) -> ClientAuthenticator:
    """The extension ``config`` names, as a client authenticator; raises :class:`AuthenticatorNotFound`."""
    return _lookup(host, config, ClientAuthenticator, "a client authenticator")


def _lookup(host: Host, config: AuthConfig, role: type, what: str):  # type: ignore[no-untyped-def]
    extension = host.get_extension(config.id)
    if extension is None:
        raise AuthenticatorNotFound(
            f"auth::authenticator: extension {config.authenticator!r} is not configured "
            "or not listed under service::extensions"
        )
    if not isinstance(extension, role):
        raise AuthenticatorNotFound(f"auth::authenticator: extension {config.authenticator!r} is not {what}")
    return extension


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality, so response time does not reveal how much of a secret matched."""
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)
