"""`Messenger`: listens, dials, runs the handshake and keeps connections alive.

Handshake, after each side's preamble (client sends first, without waiting, so a
connection costs two round trips before the first message):

    client                                  server
    Banner(version, client.x) ───────────▶
    AuthRequest(start())      ───────────▶  check banner
                              ◀───────────  Banner(version, osd.3)
                              ◀───────────  AuthReply … / AuthDone / AuthFailed
    (frames signed from here when the authenticator gave a session key)
    SessionConnect(cookie, in_seq, modes) ▶  find or create the session, pick a mode
                              ◀───────────  SessionReady(resumed, in_seq, mode)
    (frames in the picked connection mode from here: crc or secure, `modes.py`)
    both sides resend what the other's in_seq does not cover

The client picks a random 64-bit cookie per session; the server keys sessions by
(authenticated peer name, cookie), so only the same authenticated entity can resume one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from errno import EACCES, EINVAL, EOPNOTSUPP, EPROTO
from typing import Any, Protocol

from radospy.common.errors import RadosError
from radospy.common.tasks import log_failure
from radospy.msg.auth import Authenticator, AuthResult
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed, _Wire
from radospy.msg.messages import (
    PROTOCOL_VERSION,
    REGISTRY,
    AuthDone,
    AuthFailed,
    AuthReply,
    AuthRequest,
    Banner,
    Message,
    MessageRegistry,
    SessionConnect,
    SessionReady,
    entity_matches,
    valid_entity_name,
    valid_peer_name,
)
from radospy.msg.modes import CRC, modes_for, pick_mode
from radospy.msg.session import Session, SessionError

log = logging.getLogger("radospy.msg")

Addr = tuple[str, int]


class Dispatcher(Protocol):
    """Receives every message that is not a reply to one of our requests."""

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Handle `msg`; answer a request with `await conn.reply(tid, reply)`.

        Raising RadosError answers a request with ErrorReply(errno); any other exception
        is logged and answered with EIO. Messages of one connection are handled one at a
        time, in order.
        """
        ...


class Messenger:
    """One entity's endpoint: accepts sessions (after `bind`) and opens them (`connect`)."""

    def __init__(
        self,
        entity_name: str,
        config: MessengerConfig,
        authenticator: Authenticator,
        dispatcher: Dispatcher,
        registry: MessageRegistry = REGISTRY,
        *,
        before_auth: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        if not valid_entity_name(entity_name):
            raise RadosError(f"invalid entity name {entity_name!r}", EINVAL)
        self.entity_name = entity_name
        self.config = config
        self.authenticator = authenticator
        self.dispatcher = dispatcher
        self.registry = registry
        self.before_auth = before_auth
        """Awaited with the entity name an accepted peer's banner claims, before the
        authenticator is asked for its server side: a chance to bring what that will
        consult up to date (a monitor's read barrier). Raising RadosError hangs up."""
        self.addr: Addr | None = None
        """The bound address, once `bind` returned."""
        self._server: asyncio.Server | None = None
        self._outgoing: dict[tuple[Addr, str], Connection] = {}
        self._sessions: dict[tuple[str, int], Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handshaking: set[_Wire] = set()
        self._keepalive: asyncio.Task[None] | None = None
        self._stopped = False

    async def bind(self, host: str, port: int) -> Addr:
        """Listen on (host, port); port 0 picks a free one. Returns the bound address."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accepted_wire, host, port)
        sockname = self._server.sockets[0].getsockname()
        self.addr = (sockname[0], sockname[1])
        self._start_keepalive()
        log.info("%s: listening on %s:%d", self.entity_name, *self.addr)
        return self.addr

    async def connect(self, addr: Addr, peer_name: str) -> Connection:
        """The session with `peer_name` at `addr`, dialled now if there is none.

        `peer_name` may be a type wildcard (`mon.*`) when only the address is known; the
        connection then takes the name the peer's banner gives, and later redials insist
        on that name. Raises if the first dial or handshake fails; after that the
        connection redials by itself until `mark_down`.
        """
        if self._stopped:
            raise ConnectionClosed(f"{self.entity_name} is shut down")
        if not valid_peer_name(peer_name):
            raise RadosError(f"invalid entity name {peer_name!r}", EINVAL)
        conn = self._outgoing.get((addr, peer_name))
        if conn is not None and not conn.is_closed:
            return conn
        conn = Connection(self, peer_name, self._new_session(), peer_addr=addr, dials=True)
        self._outgoing[(addr, peer_name)] = conn
        self._start_keepalive()
        try:
            await self._dial(conn)
        except BaseException:
            conn.mark_down()
            raise
        return conn

    def connected(self, addr: Addr, peer_name: str) -> Connection | None:
        """The session `connect(addr, peer_name)` would return without dialling, if it
        is carried by a TCP connection right now; else None."""
        conn = self._outgoing.get((addr, peer_name))
        if conn is None or conn.is_closed or not conn.is_ready:
            return None
        return conn

    def drop_moved(self, prefix: str, addr_of: Callable[[str], Addr | None]) -> list[str]:
        """Mark down every session we dialled to a peer named ``prefix``* (``osd.``) at
        an address other than ``addr_of(name)``, where a map says it listens now (None:
        it is down). Such a session would redial a dead address forever: Ceph's
        messenger drops it the same way when the OSDMap moves or downs the peer.
        Returns the names of the peers whose sessions were dropped."""
        dropped = []
        for (addr, name), conn in list(self._outgoing.items()):
            if name.startswith(prefix) and addr != addr_of(name):
                conn.mark_down()
                dropped.append(name)
        return dropped

    def connections(self) -> list[Connection]:
        """Every open session, dialled or accepted."""
        return [*self._outgoing.values(), *self._sessions.values()]

    async def shutdown(self) -> None:
        """Stop listening, mark every connection down, and wait for our tasks to end."""
        self._stopped = True
        if self._server is not None:
            self._server.close()
        for conn in self.connections():
            conn.mark_down()
        for wire in list(self._handshaking):
            wire.abort()
        tasks = [*self._tasks, *([self._keepalive] if self._keepalive else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        log.info("%s: shut down", self.entity_name)

    def _new_session(self) -> Session:
        return Session(
            cookie=secrets.randbits(64) | 1,
            max_messages=self.config.ms_send_queue_messages,
            max_bytes=self.config.ms_send_queue_bytes,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure(log, self.entity_name))

    def _new_wire(self) -> _Wire:
        return _Wire(self.config.ms_max_message_size, self.config.ms_tcp_nodelay)

    def _accepted_wire(self) -> _Wire:
        wire = self._new_wire()
        self._handshaking.add(wire)
        # The handshake starts once connection_made ran, so the preamble goes out first.
        asyncio.get_running_loop().call_soon(self._spawn, self._accept(wire))
        return wire

    def _forget(self, conn: Connection) -> None:
        for table in (self._outgoing, self._sessions):
            for key, value in list(table.items()):
                if value is conn:
                    del table[key]

    async def _dial(self, conn: Connection) -> None:
        assert conn.peer_addr is not None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.config.ms_connection_ready_timeout):
            _, wire = await loop.create_connection(self._new_wire, *conn.peer_addr)
            try:
                result, ready = await _client_handshake(self, wire, conn)
            except BaseException:
                wire.abort()
                raise
        if conn.is_closed:
            wire.close()
            raise ConnectionClosed(f"connection to {conn.peer_name} was marked down")
        conn.caps, conn.global_id, conn.mode = result.caps, result.global_id, ready.mode
        try:
            conn._attach(wire, ready.in_seq, ready.resumed)
        except SessionError:
            wire.abort()
            raise
        log.info(
            "%s: connected to %s@%s (session %#x %s, mode %s)",
            self.entity_name,
            conn.peer_name,
            wire.peer,
            conn.session.cookie,
            "resumed" if ready.resumed else "new",
            ready.mode,
        )

    async def _accept(self, wire: _Wire) -> None:
        try:
            async with asyncio.timeout(self.config.ms_connection_ready_timeout):
                result, connect, mode = await _server_handshake(self, wire)
        except (RadosError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            log.warning("%s: handshake with %s failed: %s", self.entity_name, wire.peer, reason)
            wire.close()
            return
        finally:
            self._handshaking.discard(wire)
        if self._stopped or wire.closed:
            wire.abort()
            return
        try:
            self._adopt(wire, result, connect, mode)
        except SessionError as exc:
            log.warning("%s: refused resume from %s: %s", self.entity_name, wire.peer, exc)
            wire.abort()

    def _adopt(self, wire: _Wire, result: AuthResult, connect: SessionConnect, mode: str) -> None:
        key = (result.peer_name, connect.cookie)
        conn = self._sessions.get(key)
        resumed = conn is not None
        if conn is None:
            session = self._new_session()
            session.cookie = connect.cookie
            conn = Connection(self, result.peer_name, session, peer_addr=None, dials=False)
            self._sessions[key] = conn
        conn.caps, conn.global_id, conn.mode = result.caps, result.global_id, mode
        wire.send_message(self.registry, SessionReady(resumed, conn.session.in_seq, mode))
        _use_mode(wire, mode)
        log.info(
            "%s: accepted %s@%s (session %#x %s, mode %s)",
            self.entity_name,
            result.peer_name,
            wire.peer,
            connect.cookie,
            "resumed" if resumed else "new",
            mode,
        )
        # A new session has sent nothing, so the client's in_seq has nothing to release.
        conn._attach(wire, connect.in_seq if resumed else 0, resumed=True)

    def _start_keepalive(self) -> None:
        if self._keepalive is None:
            self._keepalive = asyncio.create_task(self._keepalive_loop())

    async def _keepalive_loop(self) -> None:
        config = self.config
        period = min(config.ms_keepalive_interval, config.ms_keepalive_timeout) / 2
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for conn in self.connections():
                try:
                    conn._check_alive(
                        now, config.ms_keepalive_interval, config.ms_keepalive_timeout
                    )
                except Exception:
                    # Nothing restarts this loop: were it to end on a bug, no
                    # connection of this messenger would be checked again.
                    log.exception("%s: keepalive of %s failed", self.entity_name, conn.peer_name)


def _check_banner(banner: Banner, expected: str | None) -> None:
    if banner.protocol_version != PROTOCOL_VERSION:
        raise RadosError(
            f"peer speaks protocol {banner.protocol_version}, we speak {PROTOCOL_VERSION}",
            EPROTO,
        )
    if not valid_entity_name(banner.entity_name):
        raise RadosError(f"peer banner has invalid entity name {banner.entity_name!r}", EPROTO)
    if expected is not None and not entity_matches(expected, banner.entity_name):
        raise RadosError(f"expected {expected}, reached {banner.entity_name}", EPROTO)


def _use_key(messenger: Messenger, wire: _Wire, result: AuthResult) -> None:
    key = result.session_key if messenger.config.cephx_sign_messages else b""
    wire.encoder.set_key(key or None)
    wire.decoder.set_key(key or None)


def _allowed_modes(messenger: Messenger, peer_name: str) -> tuple[str, ...]:
    config = messenger.config
    return modes_for(
        messenger.entity_name,
        peer_name,
        config.ms_cluster_mode,
        config.ms_service_mode,
        config.ms_client_mode,
    )


def _use_mode(wire: _Wire, mode: str) -> None:
    """After the signed SessionConnect/SessionReady: crc drops the MAC both ways."""
    if mode == CRC:
        wire.encoder.set_key(None)
        wire.decoder.set_key(None)


async def _client_handshake(
    messenger: Messenger, wire: _Wire, conn: Connection
) -> tuple[AuthResult, SessionReady]:
    registry = messenger.registry
    auth = messenger.authenticator.client(messenger.entity_name, conn.peer_name)
    wire.send_message(registry, Banner(PROTOCOL_VERSION, messenger.entity_name))
    wire.send_message(registry, AuthRequest(auth.start()))
    banner = await wire.expect(registry, Banner)
    _check_banner(banner, conn.peer_name)
    conn.peer_name = banner.entity_name
    while True:
        msg = await wire.expect(registry, AuthReply, AuthDone, AuthFailed)
        if isinstance(msg, AuthFailed):
            raise RadosError(f"{conn.peer_name} refused authentication: {msg.message}", msg.errno)
        if isinstance(msg, AuthDone):
            result = auth.finish(msg.payload)
            break
        wire.send_message(registry, AuthRequest(auth.step(msg.payload)))
    _use_key(messenger, wire, result)
    allowed = _allowed_modes(messenger, conn.peer_name)
    connect = SessionConnect(conn.session.cookie, conn.session.in_seq, list(allowed))
    wire.send_message(registry, connect)
    ready = await wire.expect(registry, SessionReady, AuthFailed)
    if isinstance(ready, AuthFailed):
        raise RadosError(f"{conn.peer_name} refused the connection: {ready.message}", ready.errno)
    if ready.mode not in allowed:
        raise RadosError(f"{conn.peer_name} chose connection mode '{ready.mode}'", EPROTO)
    _use_mode(wire, ready.mode)
    return result, ready


async def _server_handshake(
    messenger: Messenger, wire: _Wire
) -> tuple[AuthResult, SessionConnect, str]:
    registry = messenger.registry
    banner = await wire.expect(registry, Banner)
    _check_banner(banner, None)
    wire.send_message(registry, Banner(PROTOCOL_VERSION, messenger.entity_name))
    if messenger.before_auth is not None:
        await messenger.before_auth(banner.entity_name)
    auth = messenger.authenticator.server(messenger.entity_name, banner.entity_name)
    while True:
        request = await wire.expect(registry, AuthRequest)
        try:
            step = auth.step(request.payload)
        except RadosError as exc:
            wire.send_message(registry, AuthFailed(exc.errno, str(exc)))
            raise
        if step.result is not None:
            result = step.result
            break
        wire.send_message(registry, AuthReply(step.reply))
    if result.peer_name != banner.entity_name:
        error = RadosError(f"{banner.entity_name} authenticated as {result.peer_name}", EACCES)
        wire.send_message(registry, AuthFailed(error.errno, str(error)))
        raise error
    wire.send_message(registry, AuthDone(step.reply))
    _use_key(messenger, wire, result)
    connect = await wire.expect(registry, SessionConnect)
    allowed = _allowed_modes(messenger, result.peer_name)
    mode = pick_mode(connect.modes, allowed)
    if mode is None:
        error = RadosError(
            f"no connection mode in common: {result.peer_name} offers"
            f" {' '.join(connect.modes) or 'none'}, {messenger.entity_name} allows"
            f" {' '.join(allowed)}",
            EOPNOTSUPP,
        )
        wire.send_message(registry, AuthFailed(error.errno, str(error)))
        raise error
    return result, connect, mode
