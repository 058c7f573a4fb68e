"""The asyncio side of one peer: a TCP wire and the session-carrying `Connection`.

`_Wire` is one TCP connection (an `asyncio.BufferedProtocol`, so the socket reads straight
into the frame decoder's buffer). `Connection` is one session with a peer and outlives
wires: when a wire breaks, the client side dials again and both sides resend what the
other has not acknowledged (see `session.py`).

Received messages go to the dispatcher one at a time per connection, in order; replies
to our own requests bypass the dispatcher and wake `request()` directly, so a handler may
itself await a request on the same connection. A handler that needs to run long should
spawn a task and answer later with `reply(tid, msg)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections import deque
from errno import EIO, ENOTCONN, ETIMEDOUT
from typing import TYPE_CHECKING, NamedTuple, TypeVar, cast

from radospy.common.errors import RadosError
from radospy.msg.frame import (
    FLAG_REPLY,
    FLAG_REQUEST,
    PREAMBLE,
    BytesLike,
    Frame,
    FrameDecoder,
    FrameEncoder,
    FrameError,
    FrameTooLarge,
    Payload,
    payload_size,
)
from radospy.msg.messages import (
    CONTROL_TYPES,
    Ack,
    ErrorReply,
    Keepalive,
    KeepaliveAck,
    MalformedMessage,
    Message,
    MessageRegistry,
)
from radospy.msg.session import Outgoing, Receipt, Session, SessionError

if TYPE_CHECKING:
    from radospy.msg.messenger import Messenger

log = logging.getLogger("radospy.msg")

_M = TypeVar("_M", bound=Message)

_JOIN_LIMIT = 64 * 1024
"""Payloads below this are joined to their header into one buffer; larger ones are not
copied (the transport gets header and payload as two buffers)."""

ACK_DELAY = 0.05
"""Seconds an acknowledgement may wait for an outgoing frame to ride on before it is
sent alone. Request/reply traffic (commands, Raft appends and their answers) then
carries every ack and needs no frames of its own; a one-way stream still acks its
sender 20 times a second, which keeps the sender's resend queue short."""


class ConnectionClosed(RadosError):
    """The connection was marked down or the messenger shut down."""

    errno = ENOTCONN


class RequestTimeout(RadosError, TimeoutError):
    """No reply arrived within the request's timeout."""

    errno = ETIMEDOUT


class _Wire(asyncio.BufferedProtocol):
    """One TCP connection: frames in and out, no session logic.

    During the handshake the handshake code pulls frames with `expect()`; once a
    `Connection` adopts the wire, every read is handed to it.
    """

    def __init__(self, max_message_size: int, nodelay: bool) -> None:
        self.decoder = FrameDecoder(max_message_size)
        self.encoder = FrameEncoder()
        self.transport: asyncio.Transport | None = None
        self.conn: Connection | None = None
        self.peer = "?"
        self.closed = False
        self.last_rx = 0.0
        self.last_tx = 0.0
        self._nodelay = nodelay
        self._out: list[BytesLike] = []
        self._flush_scheduled = False
        self._data = asyncio.Event()
        self._lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if self._nodelay and sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peername = transport.get_extra_info("peername")
        if peername:
            self.peer = f"{peername[0]}:{peername[1]}"
        self.last_rx = self.last_tx = asyncio.get_running_loop().time()
        transport.write(PREAMBLE)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.decoder.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self.decoder.buffer_updated(nbytes)
        self.last_rx = asyncio.get_running_loop().time()
        if self.conn is not None:
            self.conn._on_data(self)
        else:
            self._data.set()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._data.set()
        if not self._lost.done():
            self._lost.set_result(None)
        if self.conn is not None:
            self.conn._wire_lost(self)

    async def wait_closed(self) -> None:
        """Return once the transport is gone."""
        await asyncio.shield(self._lost)

    def abort(self) -> None:
        """Drop the TCP connection now, without flushing (the stream is not trusted)."""
        self.closed = True
        self._out = []
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        """Close after flushing what is already written."""
        self._flush()
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def write_frame(
        self, type_: int, flags: int, tid: int, seq: int, ack: int, payload: Payload
    ) -> None:
        """Frame `payload` for the transport (which buffers, never blocks).

        Frames written during one pass of the event loop go to the socket together, in
        one system call at the end of the pass: several replies or replicated ops bound
        for one peer cost one write (and one wakeup of the peer) instead of one each."""
        if self.transport is None or self.closed:
            return
        header = self.encoder.header(type_, flags, tid, seq, ack, payload)
        if isinstance(payload, tuple):
            # A spliced body: its small first part joins the header, the rest (bulk
            # buffers and the small parts between them) go as they are.
            self._out += (header + payload[0], *payload[1:])
        elif len(payload) < _JOIN_LIMIT:
            self._out.append(header + payload)
        else:
            self._out += (header, payload)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
            self.last_tx = loop.time()

    def flush(self) -> None:
        """Hand the frames written so far to the transport now, before the end of the
        pass: for a caller about to block the loop (an fsync) that wants them on their
        way meanwhile."""
        self._flush()

    def _flush(self) -> None:
        """Hand every frame written since the last flush to the transport at once."""
        self._flush_scheduled = False
        out, self._out = self._out, []
        if out and self.transport is not None and not self.closed:
            self.transport.writelines(out)

    def send_message(self, registry: MessageRegistry, msg: Message, ack: int = 0) -> None:
        """Send an unsequenced control message."""
        type_id, body = registry.encode(msg)
        self.write_frame(type_id, 0, 0, 0, ack, body)

    async def expect(self, registry: MessageRegistry, *types: type[_M]) -> _M:
        """The next frame's message, which must be one of `types` (handshake phase)."""
        while True:
            frame = self.decoder.next_frame()
            if frame is not None:
                msg = registry.decode(frame.type, frame.payload)
                if not isinstance(msg, types):
                    wanted = " or ".join(t.__name__ for t in types)
                    raise FrameError(f"expected {wanted}, got {type(msg).__name__}")
                return msg
            if self.closed:
                raise ConnectionClosed(f"{self.peer} closed the connection during the handshake")
            self._data.clear()
            await self._data.wait()


class _Delivery(NamedTuple):
    """A received message waiting for the dispatcher."""

    msg: Message
    tid: int
    is_request: bool
    size: int


class Connection:
    """A lossless session with one peer, carried by successive TCP connections.

    Created by `Messenger.connect` (client side: redials by itself after a fault) or on
    accept (server side: waits for the client to come back). Sending never blocks the
    loop; `send` waits only while the session's unacknowledged queue is full.
    """

    def __init__(
        self,
        messenger: Messenger,
        peer_name: str,
        session: Session,
        *,
        peer_addr: tuple[str, int] | None,
        dials: bool,
    ) -> None:
        self.peer_name = peer_name
        """The peer's authenticated entity name."""
        self.peer_addr = peer_addr
        """Where the client side dials; None on the server side."""
        self.caps: dict[str, str] = {}
        """The peer's capabilities, as its authentication established (server side)."""
        self.global_id = 0
        self.mode = ""
        """The connection mode (crc or secure) of the last handshake."""
        self.session = session
        self._messenger = messenger
        self._dials = dials
        self._wire: _Wire | None = None
        self._closed = False
        self._tids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._reply_as: dict[int, type[Message]] = {}
        """The view class (`MessageRegistry.register_view`) a pending request's reply
        is decoded as, by tid, for the requests that asked for one."""
        self._room = asyncio.Event()
        self._inbox: deque[_Delivery] = deque()
        self._inbox_bytes = 0
        self._inbox_ready = asyncio.Event()
        self._ack_scheduled = False
        self._dispatch_task: asyncio.Task[None] | None = None
        self._redial_task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._ready = asyncio.Event()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ready" if self.is_ready else "faulted"
        return f"<Connection {self._messenger.entity_name}→{self.peer_name} {state}>"

    @property
    def is_ready(self) -> bool:
        """True while a handshaken TCP connection carries the session."""
        return self._wire is not None

    @property
    def last_received(self) -> float | None:
        """Event-loop time the current TCP connection last brought any bytes (a
        keepalive ack counts); None without one."""
        return self._wire.last_rx if self._wire is not None else None

    def send_keepalive(self) -> None:
        """Probe the peer now: its messenger answers a Keepalive at once, before any
        dispatch, so silence means the peer process (or the path to it) is stuck."""
        wire = self._wire
        if wire is not None:
            now = asyncio.get_running_loop().time()
            wire.send_message(self._messenger.registry, Keepalive(now), self.session.ack_to_send())

    @property
    def dispatch_queue_bytes(self) -> int:
        """Received bytes waiting for the dispatcher; reading pauses above
        `ms_dispatch_throttle_bytes`, so this stays under it plus one read."""
        return self._inbox_bytes

    @property
    def is_closed(self) -> bool:
        """True once marked down; a closed connection never comes back."""
        return self._closed

    async def send(self, msg: Message) -> None:
        """Queue a one-way message; waits while the send queue is full."""
        await self._send(msg, 0, 0)

    def try_send(self, msg: Message) -> bool:
        """Queue a one-way message now, handed to the socket at the end of this pass
        of the event loop when a TCP connection carries the session; False (nothing
        queued) if the send queue is full or the connection is closed."""
        type_id, body = self._encode(msg)
        if self._closed or not self.session.has_room():
            return False
        self._enqueue(type_id, 0, 0, body)
        return True

    async def reply(self, tid: int, msg: Message) -> None:
        """Answer the request that arrived with `tid`."""
        await self._send(msg, FLAG_REPLY, tid)

    def try_reply(self, tid: int, msg: Message) -> bool:
        """`reply` without waiting: queued now (on the wire at the end of this pass) and
        True, or False (nothing queued) when the send queue is full or the connection
        is closed; then `reply` waits for room or raises."""
        type_id, body = self._encode(msg)
        if self._closed or not self.session.has_room():
            return False
        self._enqueue(type_id, FLAG_REPLY, tid, body)
        return True

    async def request(
        self, msg: Message, timeout: float, reply_as: type[Message] | None = None
    ) -> Message:
        """Send `msg` and return the peer's reply (decoded as the view class
        `reply_as` when given and the reply is of the type it views).

        Raises the reply's error when the peer answers with ErrorReply, RequestTimeout
        after `timeout` seconds, ConnectionClosed if the connection is marked down.
        """
        tid = next(self._tids)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[tid] = future
        if reply_as is not None:
            self._reply_as[tid] = reply_as
        try:
            async with asyncio.timeout(timeout):
                await self._send(msg, FLAG_REQUEST, tid)
                reply = await future
        except TimeoutError:
            raise RequestTimeout(
                f"no reply from {self.peer_name} to {type(msg).__name__} in {timeout}s"
            ) from None
        finally:
            self._pending.pop(tid, None)
            self._reply_as.pop(tid, None)
        if isinstance(reply, ErrorReply):
            raise reply.to_error()
        return reply

    def call(
        self, msg: Message, reply_as: type[Message] | None = None
    ) -> asyncio.Future[Message] | None:
        """Send the request `msg` now and return the future of its reply, without a
        task or a timeout of its own: for a caller that races the reply against
        something else (a map change) by completing the future itself. The reply may
        be an ErrorReply (raise its `to_error()`); the future fails with
        ConnectionClosed if the connection is marked down. None (nothing sent) when
        the send queue is full or the connection is closed: use `request` then.
        `reply_as` as for `request`."""
        type_id, body = self._encode(msg)
        if self._closed or not self.session.has_room():
            return None
        tid = next(self._tids)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[tid] = future
        if reply_as is not None:
            self._reply_as[tid] = reply_as
        future.add_done_callback(lambda _: self._forget_request(tid))
        self._enqueue(type_id, FLAG_REQUEST, tid, body)
        return future

    def _forget_request(self, tid: int) -> None:
        self._pending.pop(tid, None)
        self._reply_as.pop(tid, None)

    async def wait_ready(self, timeout: float) -> None:
        """Wait until a TCP connection carries the session (after a redial, say)."""
        async with asyncio.timeout(timeout):
            while not self.is_ready:
                if self._closed:
                    raise ConnectionClosed(f"connection to {self.peer_name} is closed")
                self._ready.clear()
                await self._ready.wait()

    def mark_down(self) -> None:
        """Close for good: drop the session, fail waiters, never redial."""
        if self._closed:
            return
        self._closed = True
        log.info("%s: mark_down %s", self._messenger.entity_name, self.peer_name)
        self._messenger._forget(self)
        if self._wire is not None:
            self._wire.close()
            self._wire.conn = None
            self._wire = None
        for task in (self._dispatch_task, self._redial_task):
            if task is not None:
                task.cancel()
        if self._expiry is not None:
            self._expiry.cancel()
        closed = ConnectionClosed(f"connection to {self.peer_name} was marked down")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(closed)
        self._room.set()
        self._ready.set()

    async def _send(self, msg: Message, flags: int, tid: int) -> None:
        type_id, body = self._encode(msg)
        while not self.session.has_room() and not self._closed:
            self._room.clear()
            await self._room.wait()
        if self._closed:
            raise ConnectionClosed(f"connection to {self.peer_name} is closed")
        self._enqueue(type_id, flags, tid, body)

    def _encode(self, msg: Message) -> tuple[int, Payload]:
        type_id, body = self._messenger.registry.encode(msg)
        limit = self._messenger.config.ms_max_message_size
        size = payload_size(body)
        if size > limit:
            raise FrameTooLarge(
                f"{type(msg).__name__} of {size} bytes exceeds ms_max_message_size {limit}"
            )
        return type_id, body

    def flush(self) -> None:
        """Put what was sent on this connection during this pass of the event loop on
        the wire now (see `_Wire.flush`)."""
        if self._wire is not None:
            self._wire.flush()

    def _enqueue(self, type_id: int, flags: int, tid: int, body: Payload) -> None:
        out = self.session.enqueue(type_id, flags, tid, body)
        if self._wire is not None:
            self._write(self._wire, out)

    def _write(self, wire: _Wire, out: Outgoing) -> None:
        ack = self.session.ack_to_send()
        wire.write_frame(out.type, out.flags, out.tid, out.seq, ack, out.payload)

    def _attach(self, wire: _Wire, peer_in_seq: int, resumed: bool) -> None:
        """Let `wire` (handshake done) carry the session; resend what the peer lacks.

        Raises SessionError (and changes nothing) if the peer claims to have received
        messages that were never sent.
        """
        if resumed:
            resend = self.session.resume(peer_in_seq)
        else:
            had_state = self.session.out_seq > 0 or self.session.in_seq > 0
            resend = self.session.reset()
            if had_state:
                log.info(
                    "%s: %s has no session %#x; %d unacked messages resent in a new one",
                    self._messenger.entity_name,
                    self.peer_name,
                    self.session.cookie,
                    len(resend),
                )
        if self._wire is not None and self._wire is not wire:
            self._wire.conn = None
            self._wire.abort()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._wire = wire
        wire.conn = self
        if self._inbox_bytes > self._messenger.config.ms_dispatch_throttle_bytes:
            wire.pause_reading()
        for out in resend:
            self._write(wire, out)
        self._room.set()
        self._ready.set()
        self._on_data(wire)

    def _on_data(self, wire: _Wire) -> None:
        """Process every complete frame the wire holds."""
        while wire is self._wire:
            try:
                frame = wire.decoder.next_frame()
                if frame is None:
                    break
                self._on_frame(frame)
            except FrameError as exc:
                self._fault(wire, str(exc))
                return
            except (MalformedMessage, SessionError) as exc:
                log.warning(
                    "%s: protocol error from %s@%s: %s; dropping the session",
                    self._messenger.entity_name,
                    self.peer_name,
                    wire.peer,
                    exc,
                )
                self.mark_down()
                return
        self._schedule_ack()

    def _on_frame(self, frame: Frame) -> None:
        if self.session.handle_ack(frame.ack):
            self._room.set()
        if frame.type in CONTROL_TYPES:
            self._on_control(frame)
            return
        if frame.seq == 0:
            raise SessionError(f"message type {frame.type:#06x} without a sequence number")
        view = self._reply_as.get(frame.tid) if frame.is_reply else None
        msg = self._messenger.registry.decode(frame.type, frame.payload, view)
        if self.session.receive(frame.seq) is Receipt.DUPLICATE:
            return
        if frame.is_reply:
            future = self._pending.get(frame.tid)
            if future is not None and not future.done():
                future.set_result(msg)
            return
        size = len(frame.payload)
        self._inbox.append(_Delivery(msg, frame.tid, frame.is_request, size))
        self._inbox_bytes += size
        if self._inbox_bytes > self._messenger.config.ms_dispatch_throttle_bytes:
            assert self._wire is not None
            self._wire.pause_reading()
        self._inbox_ready.set()
        if self._dispatch_task is None:
            self._dispatch_task = asyncio.create_task(self._dispatch_loop())

    def _on_control(self, frame: Frame) -> None:
        msg = self._messenger.registry.decode(frame.type, frame.payload)
        if isinstance(msg, Keepalive):
            assert self._wire is not None
            self._wire.send_message(
                self._messenger.registry, KeepaliveAck(msg.stamp), self.session.ack_to_send()
            )
        elif not isinstance(msg, Ack | KeepaliveAck):
            raise SessionError(f"unexpected {type(msg).__name__} on an established session")

    def _schedule_ack(self) -> None:
        # Deferred so that a reply written meanwhile carries the ack.
        if self.session.ack_due() and not self._ack_scheduled:
            self._ack_scheduled = True
            asyncio.get_running_loop().call_later(ACK_DELAY, self._flush_ack)

    def _flush_ack(self) -> None:
        self._ack_scheduled = False
        if self._wire is not None and self.session.ack_due():
            self._wire.send_message(self._messenger.registry, Ack(), self.session.ack_to_send())

    def _check_alive(self, now: float, interval: float, timeout: float) -> None:
        """Fault a silent wire; probe an idle one."""
        wire = self._wire
        if wire is None:
            return
        if now - wire.last_rx > timeout:
            self._fault(wire, f"nothing received for {now - wire.last_rx:.1f}s")
        elif now - wire.last_tx >= interval:
            wire.send_message(self._messenger.registry, Keepalive(now), self.session.ack_to_send())

    async def _dispatch_loop(self) -> None:
        while True:
            while not self._inbox:
                self._inbox_ready.clear()
                await self._inbox_ready.wait()
            delivery = self._inbox.popleft()
            await self._dispatch(delivery)
            self._inbox_bytes -= delivery.size
            if self._wire is not None and (
                self._inbox_bytes <= self._messenger.config.ms_dispatch_throttle_bytes
            ):
                self._wire.resume_reading()

    async def _dispatch(self, delivery: _Delivery) -> None:
        try:
            await self._messenger.dispatcher.handle(self, delivery.msg, delivery.tid)
        except RadosError as exc:
            if delivery.is_request:
                await self._answer_error(delivery.tid, exc.errno, str(exc))
        except Exception as exc:
            log.exception(
                "%s: handler failed on %s from %s",
                self._messenger.entity_name,
                type(delivery.msg).__name__,
                self.peer_name,
            )
            if delivery.is_request:
                await self._answer_error(delivery.tid, EIO, f"{type(exc).__name__}: {exc}")

    async def _answer_error(self, tid: int, errno: int, message: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.reply(tid, ErrorReply(errno, message))

    def _fault(self, wire: _Wire, reason: str) -> None:
        """The wire is broken or untrustworthy: close it, keep the session."""
        log.warning(
            "%s: closing connection to %s@%s: %s",
            self._messenger.entity_name,
            self.peer_name,
            wire.peer,
            reason,
        )
        wire.abort()
        self._wire_lost(wire)

    def _wire_lost(self, wire: _Wire) -> None:
        if wire is not self._wire:
            return
        wire.conn = None
        self._wire = None
        if self._closed:
            return
        if self._dials:
            log.info(
                "%s: lost %s@%s, redialing", self._messenger.entity_name, self.peer_name, wire.peer
            )
            if self._redial_task is None or self._redial_task.done():
                self._redial_task = asyncio.create_task(self._redial())
        else:
            timeout = self._messenger.config.ms_session_timeout
            self._expiry = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        if self._wire is None and not self._closed:
            log.info("%s: session with %s expired", self._messenger.entity_name, self.peer_name)
            self.mark_down()

    async def _redial(self) -> None:
        config = self._messenger.config
        delay = config.ms_initial_backoff
        while not self._closed and self._wire is None:
            try:
                await self._messenger._dial(self)
                return
            except (OSError, RadosError) as exc:
                log.info(
                    "%s: redial %s failed: %s; next try in %.1fs",
                    self._messenger.entity_name,
                    self.peer_name,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, config.ms_max_backoff)
