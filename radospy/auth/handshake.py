"""cephx-style handshakes as sans-io state machines, plugged into the messenger through
`radospy.msg.auth` (ClientAuth.start/step/finish, ServerAuth.step -> AuthStep).

Both handshakes have the same four messages; only the key `K` that proves identity differs:

    client                                          server
    start()  ── Hello(entity, cn, want)            ▶  monitor: K = entity secret
             ── Authorizer(ticket, secret_id, cn)  ▶  service: K = session key inside the
                                                      ticket, which only a holder of the
                                                      service secret can open
             ◀ Challenge(sn) ─────────────────────
    step()   ── Proof(HMAC(K, "client", T)) ──────▶  checks the proof
             ◀ Done(HMAC(K, "server", T), sealed) ─  AuthStep(reply, AuthResult)
    finish() checks the server's proof: mutual.

`T` is the transcript (method, identity, cn, sn). Both nonces are fresh per exchange, so a
proof recorded from one exchange never verifies in another (replay), and the session key
HKDF(K, cn || sn, T) is new for every session. No secret crosses the wire.

A monitor's Done carries, sealed under the session key, the client's global id and one
`ServiceTicket` per service asked for: the ticket blob (entity, global id, caps, expiry
and a fresh ticket session key, sealed with the service's rotating secret) plus that
ticket session key for the client. An OSD checks a ticket with only its service secrets.

Refusals raise AuthError (EACCES) with one message, "permission denied", whether the
entity is unknown, its key wrong, or a frame tampered with; an unknown entity is answered
with a challenge exactly like a known one (a decoy key stands in for the secret).
"""

from __future__ import annotations

import hmac
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from radospy.auth.crypto import CryptoKey, hkdf, hmac_sha256, seal, unseal
from radospy.auth.errors import AuthError
from radospy.auth.keyring import EntityAuth, EntityName
from radospy.common.errors import InvalidArgument
from radospy.msg.auth import AuthResult, AuthStep

NONCE_LEN = 32
DEFAULT_TICKET_TTL = 3600.0
SERVICE_TYPES = ("mon", "osd", "mgr", "mds")
KEY_ROTATE_NUM = 3

_DENIED = "permission denied"


# ------------------------------------------------------------------ wire frames


class Hello(msgspec.Struct, tag="hello", frozen=True):
    entity: str
    client_nonce: bytes
    want: list[str]


class Authorizer(msgspec.Struct, tag="authorizer", frozen=True):
    service: str
    secret_id: int
    ticket: bytes
    client_nonce: bytes


class Challenge(msgspec.Struct, tag="challenge", frozen=True):
    server_nonce: bytes


class Proof(msgspec.Struct, tag="proof", frozen=True):
    proof: bytes


class Done(msgspec.Struct, tag="done", frozen=True):
    proof: bytes
    payload: bytes


Frame = Hello | Authorizer | Challenge | Proof | Done

_encoder = msgspec.msgpack.Encoder()
# msgspec reports invalid UTF-8 in a str field as UnicodeDecodeError, not DecodeError.
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
_frame_decoder = msgspec.msgpack.Decoder(Frame)


def _decode_frame(data: bytes) -> Frame:
    try:
        return _frame_decoder.decode(data)
    except _DECODE_ERRORS as e:
        raise AuthError("malformed auth frame") from e


F = TypeVar("F", Hello, Authorizer, Challenge, Proof, Done)


def _expect(data: bytes, kind: type[F]) -> F:
    frame = _decode_frame(data)
    if not isinstance(frame, kind):
        raise AuthError("unexpected auth frame")
    return frame


# ------------------------------------------------------------------ tickets


class Ticket(msgspec.Struct, frozen=True):
    """What a service learns from a ticket; sealed with the service's rotating secret."""

    service: str
    entity: str
    global_id: int
    caps: dict[str, str]
    expires: float
    session_key: bytes


class ServiceTicket(msgspec.Struct, frozen=True):
    """A ticket as its holder keeps it: the opaque blob plus the session key inside it."""

    service: str
    secret_id: int
    blob: bytes
    session_key: bytes
    expires: float


class _MonDonePayload(msgspec.Struct, frozen=True):
    global_id: int
    tickets: list[ServiceTicket]


_ticket_decoder = msgspec.msgpack.Decoder(Ticket)
_done_decoder = msgspec.msgpack.Decoder(_MonDonePayload)


def _ticket_aad(service: str, secret_id: int) -> bytes:
    return f"radospy ticket {service} {secret_id}".encode()


@dataclass(frozen=True)
class ExpiringSecret:
    secret: bytes = field(repr=False)
    expires: float


@dataclass
class RotatingSecrets:
    """The rotating secrets of one service type: previous, current and next, by id.

    Rotation story: the monitors seal new tickets with `current` (the second oldest);
    services accept every id they hold, so a ticket sealed just before a rotation stays
    valid until it expires, and a service that fetched the set early already knows the
    `next` secret the monitors will switch to. A secret lives about three ticket TTLs.
    """

    secrets: dict[int, ExpiringSecret] = field(default_factory=dict)

    def needs_rotation(self, now: float) -> bool:
        if len(self.secrets) < KEY_ROTATE_NUM:
            return True
        return self.current()[1].expires <= now

    def rotate(self, now: float, ttl: float, new_secret: bytes) -> int:
        """Add `new_secret` as the newest, drop beyond three; returns its id.

        `new_secret` comes from the caller so that a Raft entry replays identically.
        """
        if self.secrets:
            newest = self.secrets[max(self.secrets)]
            expires = max(now + ttl, newest.expires) + ttl
        else:
            expires = now + ttl
        secret_id = max(self.secrets, default=0) + 1
        self.secrets[secret_id] = ExpiringSecret(new_secret, expires)
        while len(self.secrets) > KEY_ROTATE_NUM:
            del self.secrets[min(self.secrets)]
        return secret_id

    def current(self) -> tuple[int, ExpiringSecret]:
        ids = sorted(self.secrets)
        if not ids:
            raise AuthError("no service secret")
        secret_id = ids[1] if len(ids) > 1 else ids[0]
        return secret_id, self.secrets[secret_id]

    def get(self, secret_id: int) -> bytes | None:
        entry = self.secrets.get(secret_id)
        return entry.secret if entry else None


def issue_ticket(
    service: str,
    rotating: RotatingSecrets,
    entity: str,
    global_id: int,
    caps: Mapping[str, str],
    now: float,
    ttl: float = DEFAULT_TICKET_TTL,
) -> ServiceTicket:
    """A fresh ticket for `entity` to present to daemons of type `service`."""
    secret_id, service_secret = rotating.current()
    session_key = secrets.token_bytes(32)
    ticket = Ticket(service, entity, global_id, dict(caps), now + ttl, session_key)
    blob = seal(service_secret.secret, _encoder.encode(ticket), _ticket_aad(service, secret_id))
    return ServiceTicket(service, secret_id, blob, session_key, now + ttl)


def open_ticket(
    service: str, rotating: RotatingSecrets, secret_id: int, blob: bytes, now: float
) -> Ticket:
    """Check a ticket with the service secrets alone; AuthError if forged or expired."""
    service_secret = rotating.get(secret_id)
    if service_secret is None:
        raise AuthError(_DENIED)
    try:
        plain = unseal(service_secret, blob, _ticket_aad(service, secret_id))
        ticket = _ticket_decoder.decode(plain)
    except _DECODE_ERRORS as e:
        raise AuthError(_DENIED) from e
    if ticket.service != service or ticket.expires <= now:
        raise AuthError(_DENIED)
    return ticket


# ------------------------------------------------------------------ shared proof logic


@dataclass(frozen=True)
class _Transcript:
    method: bytes
    identity: bytes
    client_nonce: bytes
    server_nonce: bytes

    def parts(self) -> tuple[bytes, ...]:
        return (self.method, self.identity, self.client_nonce, self.server_nonce)

    def proof(self, key: bytes, side: bytes) -> bytes:
        return hmac_sha256(key, b"radospy proof", side, *self.parts())

    def session_key(self, key: bytes) -> bytes:
        info = hmac_sha256(b"radospy transcript", *self.parts())
        return hkdf(key, salt=self.client_nonce + self.server_nonce, info=info)


def _nonce() -> bytes:
    return secrets.token_bytes(NONCE_LEN)


class _ClientBase(ABC):
    """The client's state machine: start, then step(Challenge), then finish(Done)."""

    method: bytes

    def __init__(self, peer_name: str) -> None:
        self.peer_name = peer_name
        self._client_nonce = _nonce()
        self._transcript: _Transcript | None = None
        self._finished = False

    @abstractmethod
    def _key(self) -> bytes: ...

    @abstractmethod
    def _identity(self) -> bytes: ...

    def step(self, reply: bytes) -> bytes:
        if self._transcript is not None:
            raise AuthError("unexpected auth frame")
        challenge = _expect(reply, Challenge)
        if len(challenge.server_nonce) != NONCE_LEN:
            raise AuthError("malformed auth frame")
        self._transcript = _Transcript(
            self.method, self._identity(), self._client_nonce, challenge.server_nonce
        )
        return _encoder.encode(Proof(self._transcript.proof(self._key(), b"client")))

    def _finish_done(self, reply: bytes) -> tuple[Done, bytes]:
        if self._transcript is None or self._finished:
            raise AuthError("unexpected auth frame")
        done = _expect(reply, Done)
        expected = self._transcript.proof(self._key(), b"server")
        if not hmac.compare_digest(done.proof, expected):
            raise AuthError("server failed to prove its identity")
        self._finished = True
        return done, self._transcript.session_key(self._key())


class _ServerBase(ABC):
    """The server's state machine: step(hello) -> Challenge, step(Proof) -> Done."""

    method: bytes

    def __init__(self, now: float) -> None:
        self.now = now
        self._server_nonce = _nonce()
        self._transcript: _Transcript | None = None
        self._key = b""
        self._known = False
        self._over = False

    def step(self, payload: bytes) -> AuthStep:
        if self._over:
            raise AuthError("unexpected auth frame")
        try:
            if self._transcript is None:
                return self._on_hello(payload)
            return self._on_proof(payload)
        except AuthError:
            self._over = True
            raise

    @abstractmethod
    def _on_hello(self, payload: bytes) -> AuthStep: ...

    def _begin(self, identity: bytes, client_nonce: bytes, key: bytes, known: bool) -> AuthStep:
        if len(client_nonce) != NONCE_LEN:
            raise AuthError("malformed auth frame")
        self._transcript = _Transcript(self.method, identity, client_nonce, self._server_nonce)
        self._key, self._known = key, known
        return AuthStep(_encoder.encode(Challenge(self._server_nonce)))

    def _on_proof(self, payload: bytes) -> AuthStep:
        proof = _expect(payload, Proof)
        assert self._transcript is not None
        self._over = True
        matches = hmac.compare_digest(proof.proof, self._transcript.proof(self._key, b"client"))
        if not (matches and self._known):
            raise AuthError(_DENIED)
        session_key = self._transcript.session_key(self._key)
        payload_out, result = self._accept(session_key)
        done = Done(self._transcript.proof(self._key, b"server"), payload_out)
        return AuthStep(_encoder.encode(done), result)

    @abstractmethod
    def _accept(self, session_key: bytes) -> tuple[bytes, AuthResult]: ...


# ------------------------------------------------------------------ monitor handshake


@dataclass
class ClientSession:
    """What a client holds after authenticating to a monitor."""

    global_id: int = 0
    tickets: dict[str, ServiceTicket] = field(default_factory=dict)

    def ticket_for(self, service: str, now: float) -> ServiceTicket | None:
        ticket = self.tickets.get(service)
        return ticket if ticket is not None and ticket.expires > now else None


def _mon_identity(entity: str, want: Sequence[str]) -> bytes:
    """Entity and wanted services, so tampering with either breaks the proofs."""
    return hmac_sha256(b"radospy identity", entity.encode(), *(w.encode() for w in want))


class MonAuthClient(_ClientBase):
    """Authenticate `entity` to a monitor with its secret and collect service tickets."""

    method = b"mon"

    def __init__(
        self,
        entity: str,
        key: CryptoKey,
        peer_name: str,
        want: Sequence[str] = ("mon", "osd", "mgr"),
        session: ClientSession | None = None,
    ) -> None:
        super().__init__(peer_name)
        self.entity = entity
        self._secret = key.secret
        self.want = list(want)
        self.session = session if session is not None else ClientSession()

    def _key(self) -> bytes:
        return self._secret

    def _identity(self) -> bytes:
        return _mon_identity(self.entity, self.want)

    def start(self) -> bytes:
        return _encoder.encode(Hello(self.entity, self._client_nonce, self.want))

    def finish(self, reply: bytes) -> AuthResult:
        done, session_key = self._finish_done(reply)
        try:
            payload = _done_decoder.decode(unseal(session_key, done.payload))
        except _DECODE_ERRORS as e:
            raise AuthError("malformed auth frame") from e
        self.session.global_id = payload.global_id
        self.session.tickets.update({t.service: t for t in payload.tickets})
        return AuthResult(self.peer_name, session_key)


EntityLookup = Callable[[EntityName], EntityAuth | None]


class MonAuthServer(_ServerBase):
    """A monitor's side: checks an entity's proof against the auth database."""

    method = b"mon"

    def __init__(
        self,
        lookup: EntityLookup,
        rotating: Mapping[str, RotatingSecrets],
        *,
        global_id: int,
        decoy_seed: bytes,
        now: float,
        ticket_ttl: float = DEFAULT_TICKET_TTL,
    ) -> None:
        super().__init__(now)
        self.lookup = lookup
        self.rotating = rotating
        self.global_id = global_id
        self.decoy_seed = decoy_seed
        self.ticket_ttl = ticket_ttl
        self._hello: Hello | None = None
        self._auth: EntityAuth | None = None

    def _on_hello(self, payload: bytes) -> AuthStep:
        hello = _expect(payload, Hello)
        self._hello = hello
        self._auth = self._find(hello.entity)
        known = self._auth is not None and self._auth.key.usable
        # An unknown entity gets a challenge keyed by a decoy, so nothing up to the final
        # refusal differs from a known entity with a wrong key.
        key = self._auth.key.secret if known and self._auth else self._decoy(hello.entity)
        identity = _mon_identity(hello.entity, hello.want)
        return self._begin(identity, hello.client_nonce, key, known)

    def _find(self, entity: str) -> EntityAuth | None:
        try:
            return self.lookup(EntityName.parse(entity))
        except InvalidArgument:
            return None

    def _decoy(self, entity: str) -> bytes:
        return hmac_sha256(self.decoy_seed, b"radospy decoy", entity.encode())[:16]

    def _accept(self, session_key: bytes) -> tuple[bytes, AuthResult]:
        assert self._hello is not None and self._auth is not None
        caps = dict(self._auth.caps)
        tickets = [
            issue_ticket(
                svc,
                self.rotating[svc],
                self._hello.entity,
                self.global_id,
                caps,
                self.now,
                self.ticket_ttl,
            )
            for svc in dict.fromkeys(self._hello.want)
            if svc in self.rotating and self.rotating[svc].secrets
        ]
        sealed = seal(session_key, _encoder.encode(_MonDonePayload(self.global_id, tickets)))
        return sealed, AuthResult(self._hello.entity, session_key, caps, self.global_id)


# ------------------------------------------------------------------ service handshake


class ServiceAuthClient(_ClientBase):
    """Present a monitor-issued ticket to a daemon of the ticket's service type."""

    method = b"service"

    def __init__(self, ticket: ServiceTicket, peer_name: str) -> None:
        super().__init__(peer_name)
        self.ticket = ticket

    def _key(self) -> bytes:
        return self.ticket.session_key

    def _identity(self) -> bytes:
        return self.ticket.blob

    def start(self) -> bytes:
        t = self.ticket
        return _encoder.encode(Authorizer(t.service, t.secret_id, t.blob, self._client_nonce))

    def finish(self, reply: bytes) -> AuthResult:
        _, session_key = self._finish_done(reply)
        return AuthResult(self.peer_name, session_key)


class ServiceAuthServer(_ServerBase):
    """A daemon's side: validates a ticket with only its service's rotating secrets."""

    method = b"service"

    def __init__(self, service: str, rotating: RotatingSecrets, *, now: float) -> None:
        super().__init__(now)
        self.service = service
        self.rotating = rotating
        self._ticket: Ticket | None = None

    def _on_hello(self, payload: bytes) -> AuthStep:
        hello = _expect(payload, Authorizer)
        if hello.service != self.service:
            raise AuthError(_DENIED)
        self._ticket = open_ticket(
            self.service, self.rotating, hello.secret_id, hello.ticket, self.now
        )
        return self._begin(hello.ticket, hello.client_nonce, self._ticket.session_key, True)

    def _accept(self, session_key: bytes) -> tuple[bytes, AuthResult]:
        t = self._ticket
        assert t is not None
        return b"", AuthResult(t.entity, session_key, dict(t.caps), t.global_id)


# ------------------------------------------------------------------ messenger adapters


def _peer_type(peer_name: str) -> str:
    return peer_name.partition(".")[0]


@dataclass
class CephxClient:
    """The client-side `Authenticator` of an entity: its secret for monitors, tickets
    (gathered from the monitors into `session`) for everyone else."""

    entity: str
    key: CryptoKey
    clock: Callable[[], float]
    want: Sequence[str] = ("mon", "osd", "mgr")
    session: ClientSession = field(default_factory=ClientSession)

    def client(self, my_name: str, peer_name: str) -> MonAuthClient | ServiceAuthClient:
        peer_type = _peer_type(peer_name)
        if peer_type == "mon":
            return MonAuthClient(self.entity, self.key, peer_name, self.want, self.session)
        ticket = self.session.ticket_for(peer_type, self.clock())
        if ticket is None:
            raise AuthError(f"no valid ticket for service {peer_type}")
        return ServiceAuthClient(ticket, peer_name)


@dataclass
class CephxMonServer:
    """The server-side `Authenticator` of a monitor."""

    lookup: EntityLookup
    rotating: Mapping[str, RotatingSecrets]
    allocate_global_id: Callable[[], int]
    clock: Callable[[], float]
    decoy_seed: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    ticket_ttl: float = DEFAULT_TICKET_TTL

    def server(self, my_name: str, peer_name: str) -> MonAuthServer:
        return MonAuthServer(
            self.lookup,
            self.rotating,
            global_id=self.allocate_global_id(),
            decoy_seed=self.decoy_seed,
            now=self.clock(),
            ticket_ttl=self.ticket_ttl,
        )


@dataclass
class CephxServiceServer:
    """The server-side `Authenticator` of an OSD, mgr or mds: tickets only."""

    service: str
    rotating: RotatingSecrets
    clock: Callable[[], float]

    def server(self, my_name: str, peer_name: str) -> ServiceAuthServer:
        return ServiceAuthServer(self.service, self.rotating, now=self.clock())
