"""The authentication hook of the handshake: a pluggable `Authenticator`.

After the banners, the client and server sides of an authenticator trade opaque payloads
until the server side is satisfied:

    client                                   server
    start() ───────── AuthRequest ─────────▶ step(payload)
            ◀──────── AuthReply ───────────  → AuthStep(reply, None)   (another round)
    step(reply) ───── AuthRequest ─────────▶ step(payload)
            ◀──────── AuthDone ────────────  → AuthStep(reply, result) (accepted)
    finish(reply) → result                   or raises RadosError → AuthFailed(errno)

The client's `finish` checks the server's last payload, which makes mutual authentication
possible (cephx proves the server knows the service secret this way). Both sides end with
an `AuthResult`; a non-empty `session_key` turns on signed frames (see `frame.py`).

The methods are synchronous: an authenticator computes on keys it already holds (a
keyring, the monitor's auth database, rotating service keys) and never does I/O, so it
stays testable without a network, like the rest of the messenger core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class AuthResult:
    """What one side knows once authentication succeeded."""

    peer_name: str
    """The peer's authenticated entity name (`client.admin`, `osd.3`, ...)."""
    session_key: bytes = b""
    """Shared secret for this session; empty means frames stay unsigned."""
    caps: dict[str, str] = field(default_factory=dict)
    """The peer's capabilities by service (`{"osd": "allow rw pool=foo"}`); server side."""
    global_id: int = 0
    """The peer's unique id assigned by the monitors, 0 when none."""


class ClientAuth(Protocol):
    """The client side of one authentication exchange."""

    def start(self) -> bytes:
        """The first AuthRequest payload."""
        ...

    def step(self, reply: bytes) -> bytes:
        """Answer an AuthReply with the next AuthRequest payload."""
        ...

    def finish(self, reply: bytes) -> AuthResult:
        """Check the AuthDone payload; raise RadosError if the server is not genuine."""
        ...


class ServerAuth(Protocol):
    """The server side of one authentication exchange."""

    def step(self, payload: bytes) -> AuthStep:
        """Consume an AuthRequest payload; raise RadosError (e.g. EACCES) to refuse."""
        ...


@dataclass(frozen=True)
class AuthStep:
    """A server step: `reply` goes back as AuthReply, or as AuthDone when `result` is set."""

    reply: bytes
    result: AuthResult | None = None


class Authenticator(Protocol):
    """Makes one client or server exchange per connection attempt."""

    def client(self, my_name: str, peer_name: str) -> ClientAuth:
        """The client side, for `my_name` connecting to `peer_name`."""
        ...

    def server(self, my_name: str, peer_name: str) -> ServerAuth:
        """The server side, for `my_name` accepting `peer_name` (as its banner claims)."""
        ...


@dataclass(frozen=True)
class NoAuth:
    """Trusts every banner: no proof, no session key, all capabilities. For tests and
    `auth_cluster_required = none` clusters."""

    caps: dict[str, str] = field(default_factory=lambda: {"mon": "allow *", "osd": "allow *"})

    def client(self, my_name: str, peer_name: str) -> ClientAuth:
        return _NoAuthClient(peer_name)

    def server(self, my_name: str, peer_name: str) -> ServerAuth:
        return _NoAuthServer(peer_name, self.caps)


@dataclass(frozen=True)
class _NoAuthClient:
    peer_name: str

    def start(self) -> bytes:
        return b""

    def step(self, reply: bytes) -> bytes:
        return b""

    def finish(self, reply: bytes) -> AuthResult:
        return AuthResult(self.peer_name)


@dataclass(frozen=True)
class _NoAuthServer:
    peer_name: str
    caps: dict[str, str]

    def step(self, payload: bytes) -> AuthStep:
        return AuthStep(b"", AuthResult(self.peer_name, caps=dict(self.caps)))
