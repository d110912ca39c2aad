"""The ``basicauth`` extension: HTTP Basic authentication, as a server or as a client.

Configured as the Collector's extension (contrib ``extension/basicauthextension``):
``htpasswd: {file, inline}`` makes it a server authenticator (inline entries
take precedence over the file's), ``client_auth: {username, password}`` a
client authenticator; one instance is one or the other. htpasswd entries are
``user:password`` lines whose password is plain text, ``{SHA}``, ``{SSHA}`` or
bcrypt (``$2y$``, needs the ``bcrypt`` package); other hash formats are
refused at load, naming the line. Checks run in constant time for a given
hash, and a bcrypt success is remembered (as a SHA-256 of the credentials)
so a busy client does not pay bcrypt's deliberate cost on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Callable, Mapping

from pydantic import Field, model_validator

from collector.auth import Unauthenticated, same_secret
from collector.component import ComponentConfig, Factory, Host, Kind, Settings, Stability

_MAX_REMEMBERED = 1024


class HtpasswdConfig(ComponentConfig):
    file: str = Field("", description="Path of an htpasswd file.")
    inline: str = Field("", description="htpasswd content inline, user:password per line (secret; redacted).")


class ClientAuthConfig(ComponentConfig):
    username: str = Field(..., description="User name sent by the client.")
    password: str = Field("", description="Password sent by the client (secret; redacted).")


class BasicAuthConfig(ComponentConfig):
    htpasswd: HtpasswdConfig | None = Field(None, description="Server role: the accepted users.")
    client_auth: ClientAuthConfig | None = Field(None, description="Client role: the credentials to send.")

    @model_validator(mode="after")
    def _one_role(self) -> "BasicAuthConfig":
        if (self.htpasswd is None) == (self.client_auth is None):
            raise ValueError("set exactly one of htpasswd (server) and client_auth (client)")
        if self.htpasswd is not None and not (self.htpasswd.file or self.htpasswd.inline):
            raise ValueError("htpasswd: set file or inline")
        return self


Verifier = Callable[[bytes], bool]


def _sha(encoded: str) -> Verifier:
    digest = base64.b64decode(encoded)
    return lambda password: same_secret(hashlib.sha1(password).digest(), digest)


def _ssha(encoded: str) -> Verifier:
    raw = base64.b64decode(encoded)
    digest, salt = raw[:20], raw[20:]
    return lambda password: same_secret(hashlib.sha1(password + salt).digest(), digest)


def _bcrypt(hashed: str) -> Verifier:
    import bcrypt  # only needed for bcrypt entries

    expected = hashed.encode()
    return lambda password: bcrypt.checkpw(password, expected)


def _plain(text: str) -> Verifier:
    expected = text.encode()
    return lambda password: same_secret(password, expected)


def verifier(hashed: str) -> Verifier:
    """A check for one htpasswd password field; raises ``ValueError`` naming the format (never the value)."""
    try:
        if hashed.startswith("{SHA}"):
            return _sha(hashed[5:])
        if hashed.startswith("{SSHA}"):
            return _ssha(hashed[6:])
    except binascii.Error:
        raise ValueError("a {SHA}/{SSHA} hash that is not base64") from None
    if hashed.startswith(("$2y$", "$2b$", "$2a$")):
        try:
            return _bcrypt(hashed)
        except ImportError:
            raise ValueError("a bcrypt hash, and the bcrypt package is not installed") from None
    if hashed.startswith("$"):
        raise ValueError(f"an unsupported hash format {hashed.split('$')[1]!r}: use bcrypt (htpasswd -B)")
    return _plain(hashed)


def parse_htpasswd(text: str, source: str) -> dict[str, Verifier]:
    """``user -> check``; raises ``ValueError`` naming ``source`` and the line, never a password."""
    users: dict[str, Verifier] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise ValueError(f"{source} line {number}: expected user:password")
        try:
            users[user] = verifier(hashed)
        except ValueError as exc:
            raise ValueError(f"{source} line {number} (user {user!r}): {exc}") from None
    return users


class BasicAuthServer:
    """Checks ``Authorization: Basic ...`` against htpasswd entries."""

    def __init__(self, config: HtpasswdConfig) -> None:
        users: dict[str, Verifier] = {}
        if config.file:
            try:
                with open(config.file, encoding="utf-8") as f:
                    users.update(parse_htpasswd(f.read(), f"htpasswd::file {config.file!r}"))
            except OSError as exc:
                raise ValueError(f"htpasswd::file: cannot read {config.file!r}: {exc.strerror}") from None
        users.update(parse_htpasswd(config.inline, "htpasswd::inline"))
        self._users = users
        self._remembered: set[bytes] = set()
        self._decoy = _plain("\0" * 16)

    def authenticate(self, headers: Mapping[str, str]) -> None:
        value = headers.get("authorization")
        if not value:
            raise Unauthenticated("missing or empty Authorization header")
        scheme, _, encoded = value.strip().partition(" ")
        if scheme.lower() != "basic":
            raise Unauthenticated("the Authorization header is not Basic")
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise Unauthenticated("the Basic credentials are not base64") from None
        user, sep, password = raw.partition(b":")
        if not sep:
            raise Unauthenticated("the Basic credentials are not user:password")
        key = hashlib.sha256(raw).digest()
        if key in self._remembered:
            return
        check = self._users.get(user.decode("utf-8", "replace"))
        if check is None:
            self._decoy(password)  # an unknown user costs a comparison too, so timing does not tell
            raise Unauthenticated("wrong user name or password")
        if not check(password):
            raise Unauthenticated("wrong user name or password")
        if len(self._remembered) >= _MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered.add(key)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class BasicAuthClient:
    """Adds ``Authorization: Basic base64(user:password)`` to every request."""

    def __init__(self, config: ClientAuthConfig) -> None:
        if ":" in config.username:
            raise ValueError("client_auth::username: must not contain ':' (RFC 7617)")
        credentials = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {credentials}"}

    def headers(self) -> Mapping[str, str]:
        return self._headers

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def create(settings: Settings, config: BasicAuthConfig) -> Any:
    if config.htpasswd is not None:
        return BasicAuthServer(config.htpasswd)
    assert config.client_auth is not None
    return BasicAuthClient(config.client_auth)


factory = Factory(
    type="basicauth",
    kind=Kind.EXTENSION,
    config=BasicAuthConfig,
    create=create,
    description="HTTP Basic authentication: checks htpasswd users (server) or sends credentials (client).",
    stability=Stability.BETA,
)
