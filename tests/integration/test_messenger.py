"""Two messengers over real TCP on 127.0.0.1, in one process, on uvloop.

A cuttable proxy between client and server plays the network that drops sockets and
holds bytes; a raw peer speaking the wire protocol by hand plays a broken or hostile
client. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from radospy.common.errors import NotFound, RadosError
from radospy.msg import (
    AuthResult,
    AuthStep,
    ClientAuth,
    Connection,
    FrameTooLarge,
    Message,
    Messenger,
    MessengerConfig,
    NoAuth,
    Ping,
    Pong,
    ServerAuth,
    message,
)
from radospy.msg.frame import PREAMBLE, FrameDecoder, FrameEncoder
from radospy.msg.messages import (
    REGISTRY,
    AuthDone,
    AuthFailed,
    AuthReply,
    AuthRequest,
    Banner,
    SessionConnect,
    SessionReady,
)

DEADLINE = 20.0
MIB = 1024 * 1024


@message(0x7F01)
class Note(Message):
    """A one-way test message numbered by the sender."""

    n: int
    data: bytes = b""


@message(0x7F02)
class Fail(Message):
    """Makes the test dispatcher raise `kind`."""

    kind: str


def run(coro: Coroutine[Any, Any, None]) -> None:
    uvloop.run(asyncio.wait_for(coro, DEADLINE * 2))


async def until(predicate: Callable[[], bool], timeout: float = DEADLINE) -> None:
    """Wait for `predicate` to hold, polling; fail the test at the deadline."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)


async def stalled(progress: Callable[[], int], quiet: float = 0.3) -> int:
    """Wait until `progress()` stops moving for `quiet` seconds; return its value."""
    async with asyncio.timeout(DEADLINE):
        last = -1
        while progress() != last:
            last = progress()
            await asyncio.sleep(quiet)
        return last


@dataclass
class Recorder:
    """Echoes Ping, records Notes, raises on Fail; `gate` can hold the dispatcher."""

    notes: list[int] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    hold_at: int = -1

    def __post_init__(self) -> None:
        self.gate.set()

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        if isinstance(msg, Ping):
            await conn.reply(tid, Pong(msg.stamp, msg.data))
        elif isinstance(msg, Note):
            if msg.n == self.hold_at:
                await self.gate.wait()
            self.notes.append(msg.n)
        elif isinstance(msg, Fail):
            if msg.kind == "enoent":
                raise NotFound("no such object")
            raise ValueError("handler bug")


async def pair(
    server_config: MessengerConfig | None = None,
    client_config: MessengerConfig | None = None,
    authenticator: Any = None,
) -> tuple[Messenger, Recorder, Messenger]:
    auth = authenticator or NoAuth()
    recorder = Recorder()
    server = Messenger("osd.0", server_config or MessengerConfig(), auth, recorder)
    await server.bind("127.0.0.1", 0)
    client = Messenger("client.admin", client_config or MessengerConfig(), auth, Recorder())
    return server, recorder, client


async def serves(server: Messenger) -> None:
    """A fresh client still gets answers from `server`."""
    other = Messenger("client.other", MessengerConfig(), NoAuth(), Recorder())
    try:
        assert server.addr is not None
        conn = await other.connect(server.addr, "osd.0")
        assert await conn.request(Ping(7.0, b"ok"), DEADLINE) == Pong(7.0, b"ok")
    finally:
        await other.shutdown()


class Proxy:
    """Forwards TCP between clients and a target; can hold bytes and cut sockets."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.upstream = asyncio.Event()
        self.downstream = asyncio.Event()
        self.release()
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    def hold(self, upstream: bool = True, downstream: bool = True) -> None:
        """Stop forwarding client→server (upstream) and/or server→client bytes."""
        if upstream:
            self.upstream.clear()
        if downstream:
            self.downstream.clear()

    def release(self) -> None:
        self.upstream.set()
        self.downstream.set()

    def cut(self) -> None:
        """Drop every proxied connection; bytes held or in flight are lost."""
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]
        for src, dst, gate in (
            (reader, up_writer, self.upstream),
            (up_reader, writer, self.downstream),
        ):
            task = asyncio.create_task(self._pump(src, dst, gate))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, gate: asyncio.Event
    ) -> None:
        try:
            while data := await src.read(65536):
                await gate.wait()
                if dst.transport.is_closing():
                    return
                dst.write(data)
        except ConnectionError:
            return
        finally:
            dst.transport.abort()


class RawPeer:
    """A client speaking the wire protocol by hand, to send what a messenger never would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.encoder = FrameEncoder()
        self.decoder = FrameDecoder(1 << 30)

    @classmethod
    async def handshake(cls, addr: tuple[str, int]) -> RawPeer:
        peer = cls(*await asyncio.open_connection(*addr))
        peer.writer.write(
            PREAMBLE + peer.frame(Banner(1, "client.raw")) + peer.frame(AuthRequest(b""))
        )
        assert isinstance(await peer.recv(), Banner)
        assert isinstance(await peer.recv(), AuthDone)
        peer.writer.write(peer.frame(SessionConnect(99, 0, ["crc"])))
        assert isinstance(await peer.recv(), SessionReady)
        return peer

    def frame(self, msg: Message, seq: int = 0, flags: int = 0, tid: int = 0) -> bytes:
        type_id, body = REGISTRY.encode(msg)
        return self.encoder.header(type_id, flags, tid, seq, 0, body) + body

    async def recv(self) -> Message:
        while (frame := self.decoder.next_frame()) is None:
            data = await self.reader.read(65536)
            assert data, "server closed the connection"
            self.decoder.receive_data(data)
        return REGISTRY.decode(frame.type, frame.payload)

    async def closed_by_server(self) -> bool:
        """True once the server closes; reads past anything it sent before."""
        async with asyncio.timeout(DEADLINE):
            try:
                while await self.reader.read(65536):
                    pass
            except ConnectionError:
                pass
        self.writer.close()
        return True


async def with_cleanup(*closers: Callable[[], Awaitable[None]]) -> None:
    for close in closers:
        await close()


def test_request_reply_and_errors() -> None:
    async def scenario() -> None:
        server, _, client = await pair()
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            assert await client.connect(server.addr, "osd.0") is conn
            replies = await asyncio.gather(
                *(conn.request(Ping(float(i), b"x" * i), DEADLINE) for i in range(50))
            )
            assert replies == [Pong(float(i), b"x" * i) for i in range(50)]
            with pytest.raises(RadosError) as info:
                await conn.request(Fail("enoent"), DEADLINE)
            assert (info.value.errno, str(info.value)) == (errno.ENOENT, "no such object")
            with pytest.raises(RadosError) as info:
                await conn.request(Fail("bug"), DEADLINE)
            assert info.value.errno == errno.EIO
            assert "handler bug" in str(info.value)
            assert await conn.request(Ping(), DEADLINE) == Pong()
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


def test_64_mib_payload_round_trip() -> None:
    async def scenario() -> None:
        server, _, client = await pair()
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            payload = bytes(range(256)) * (256 * 1024)
            reply = await conn.request(Ping(1.0, payload), DEADLINE)
            assert isinstance(reply, Pong)
            assert len(reply.data) == 64 * MIB
            assert reply.data == payload
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


class PongView(Pong):
    """Pong with its data decoded as a view into the frame."""

    data: memoryview = memoryview(b"")  # type: ignore[assignment]


REGISTRY.register_view(PongView)


def test_a_reply_asked_for_as_a_view_points_into_its_frame() -> None:
    async def scenario() -> None:
        server, _, client = await pair()
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            payload = bytes(range(256)) * (16 * 1024)
            reply = await conn.request(Ping(1.0, payload), DEADLINE, reply_as=PongView)
            assert isinstance(reply, PongView) and reply.data == payload
            future = conn.call(Ping(2.0, payload), reply_as=PongView)
            assert future is not None
            reply = await asyncio.wait_for(future, DEADLINE)
            assert isinstance(reply, PongView) and reply.data == payload
            # Small replies too; other requests on the connection still get bytes.
            small, plain = await asyncio.gather(
                conn.request(Ping(3.0, b"abc"), DEADLINE, reply_as=PongView),
                conn.request(Ping(4.0, payload), DEADLINE),
            )
            assert isinstance(small, PongView) and small.data == b"abc"
            assert plain == Pong(4.0, payload) and isinstance(plain.data, bytes)
            # An error answer is decoded as what it is.
            with pytest.raises(RadosError) as info:
                await conn.request(Fail("enoent"), DEADLINE, reply_as=PongView)
            assert info.value.errno == errno.ENOENT
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


def test_oversize_frame_closes_that_connection_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "radospy.msg")

    async def scenario() -> None:
        config = MessengerConfig(ms_max_message_size=MIB)
        server, _, client = await pair(server_config=config, client_config=config)
        try:
            assert server.addr is not None
            raw = await RawPeer.handshake(server.addr)
            _, body = REGISTRY.encode(Note(1, bytes(MIB + 1)))
            header = raw.encoder.header(Note.TYPE, 0, 0, 1, 0, body)
            raw.writer.write(header)  # the header alone announces too much
            assert await raw.closed_by_server()
            await serves(server)
            conn = await client.connect(server.addr, "osd.0")
            with pytest.raises(FrameTooLarge):
                await conn.send(Note(1, bytes(MIB + 1)))
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())
    assert "exceeds ms_max_message_size 1048576" in caplog.text


def test_bad_checksum_closes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "radospy.msg")

    async def scenario() -> None:
        server, recorder, _ = await pair()
        try:
            assert server.addr is not None
            raw = await RawPeer.handshake(server.addr)
            frame = bytearray(raw.frame(Note(1, b"payload"), seq=1))
            frame[-1] ^= 0x40
            raw.writer.write(bytes(frame))
            assert await raw.closed_by_server()
            assert recorder.notes == []
            await serves(server)
        finally:
            await server.shutdown()

    run(scenario())
    assert "bad checksum" in caplog.text


def test_malformed_body_closes_and_drops_the_session(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "radospy.msg")

    async def scenario() -> None:
        server, recorder, _ = await pair()
        try:
            assert server.addr is not None
            raw = await RawPeer.handshake(server.addr)
            _, body = REGISTRY.encode(Fail("not a number"))
            raw.writer.write(raw.encoder.header(Note.TYPE, 0, 0, 1, 0, body) + body)
            assert await raw.closed_by_server()
            assert recorder.notes == []
            await until(lambda: all(c.peer_name != "client.raw" for c in server.connections()))
            await serves(server)
        finally:
            await server.shutdown()

    run(scenario())
    assert "malformed Note body" in caplog.text


def test_reconnect_resends_unacked_exactly_once() -> None:
    async def scenario() -> None:
        config = MessengerConfig(ms_initial_backoff=0.01, ms_max_backoff=0.05)
        server, recorder, client = await pair(client_config=config)
        assert server.addr is not None
        proxy = Proxy(server.addr)
        try:
            conn = await client.connect(await proxy.start(), "osd.0")
            for n in range(100):
                await conn.send(Note(n))
            await until(lambda: len(recorder.notes) == 100)
            proxy.hold()
            for n in range(100, 200):
                await conn.send(Note(n))
            pending = asyncio.ensure_future(conn.request(Ping(3.0), DEADLINE))
            await until(lambda: len(conn.session.unacked) >= 101)
            proxy.cut()
            proxy.release()
            assert await pending == Pong(3.0)
            for n in range(200, 250):
                await conn.send(Note(n))
            await until(lambda: len(recorder.notes) == 250)
            await until(lambda: not conn.session.unacked)
            assert recorder.notes == list(range(250))
        finally:
            await with_cleanup(client.shutdown, server.shutdown, proxy.close)

    run(scenario())


def test_server_resends_replies_lost_in_a_cut() -> None:
    async def scenario() -> None:
        config = MessengerConfig(ms_initial_backoff=0.01, ms_max_backoff=0.05)
        server, _, client = await pair(client_config=config)
        assert server.addr is not None
        proxy = Proxy(server.addr)
        try:
            conn = await client.connect(await proxy.start(), "osd.0")
            assert await conn.request(Ping(), DEADLINE) == Pong()
            (accepted,) = server.connections()
            await until(lambda: accepted.session.in_seq == 1 and not accepted.session.unacked)
            proxy.hold(upstream=False)
            pending = asyncio.ensure_future(conn.request(Ping(2.0, b"late"), DEADLINE))
            await until(lambda: accepted.session.in_seq == 2 and bool(accepted.session.unacked))
            proxy.cut()
            proxy.release()
            assert await pending == Pong(2.0, b"late")
            assert server.connections() == [accepted]
        finally:
            await with_cleanup(client.shutdown, server.shutdown, proxy.close)

    run(scenario())


def test_send_queue_is_bounded() -> None:
    async def scenario() -> None:
        config = MessengerConfig(ms_send_queue_messages=8)
        server, recorder, client = await pair(client_config=config)
        assert server.addr is not None
        proxy = Proxy(server.addr)
        try:
            conn = await client.connect(await proxy.start(), "osd.0")
            proxy.hold()
            for n in range(8):
                await conn.send(Note(n))
            blocked = asyncio.ensure_future(conn.send(Note(8)))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(blocked), 0.3)
            assert len(conn.session.unacked) == 8
            proxy.release()
            await blocked
            await until(lambda: recorder.notes == list(range(9)))
        finally:
            await with_cleanup(client.shutdown, server.shutdown, proxy.close)

    run(scenario())


def test_dispatch_throttle_pushes_back_to_the_sender() -> None:
    async def scenario() -> None:
        server_config = MessengerConfig(ms_dispatch_throttle_bytes=256 * 1024)
        client_config = MessengerConfig(ms_send_queue_bytes=4 * MIB)
        server, recorder, client = await pair(server_config, client_config)
        recorder.hold_at = 0
        recorder.gate.clear()
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            chunk = bytes(64 * 1024)
            sent = 0

            async def flood() -> None:
                nonlocal sent
                while True:
                    await conn.send(Note(sent, chunk))
                    sent += 1

            flooder = asyncio.ensure_future(flood())
            stalled_at = await stalled(lambda: sent)
            (accepted,) = server.connections()
            # Memory stays bounded on both sides while the dispatcher is stuck.
            assert conn.session.queued_bytes <= 4 * MIB + len(chunk)
            assert accepted.dispatch_queue_bytes <= 256 * 1024 + 256 * 1024 + len(chunk)
            assert not flooder.done()
            recorder.gate.set()
            await until(lambda: len(recorder.notes) >= stalled_at)
            flooder.cancel()
            await asyncio.gather(flooder, return_exceptions=True)
            assert recorder.notes[:stalled_at] == list(range(stalled_at))
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


def test_keepalive_timeout_faults_a_silent_link_and_redials() -> None:
    async def scenario() -> None:
        config = MessengerConfig(
            ms_keepalive_interval=0.05,
            ms_keepalive_timeout=0.3,
            ms_initial_backoff=0.01,
            ms_max_backoff=0.05,
        )
        server, _, client = await pair(client_config=config)
        assert server.addr is not None
        proxy = Proxy(server.addr)
        try:
            conn = await client.connect(await proxy.start(), "osd.0")
            proxy.hold()
            await until(lambda: not conn.is_ready)
            proxy.cut()
            proxy.release()
            await conn.wait_ready(DEADLINE)
            assert await conn.request(Ping(), DEADLINE) == Pong()
        finally:
            await with_cleanup(client.shutdown, server.shutdown, proxy.close)

    run(scenario())


@dataclass(frozen=True)
class SharedKeyAuth:
    """Both sides know `secret`; a wrong one is refused. Gives a session key."""

    secret: bytes

    def client(self, my_name: str, peer_name: str) -> ClientAuth:
        return _KeyClient(self.secret, peer_name)

    def server(self, my_name: str, peer_name: str) -> ServerAuth:
        return _KeyServer(self.secret, peer_name)


@dataclass(frozen=True)
class _KeyClient:
    secret: bytes
    peer_name: str

    def start(self) -> bytes:
        return b"hello"

    def step(self, reply: bytes) -> bytes:
        return self.secret

    def finish(self, reply: bytes) -> AuthResult:
        return AuthResult(self.peer_name, session_key=b"K" + self.secret, caps={"osd": "r"})


@dataclass(frozen=True)
class _KeyServer:
    secret: bytes
    peer_name: str

    def step(self, payload: bytes) -> AuthStep:
        if payload == b"hello":
            return AuthStep(b"prove it")
        if payload != self.secret:
            raise RadosError("bad secret", errno.EACCES)
        return AuthStep(b"", AuthResult(self.peer_name, b"K" + self.secret, {"osd": "allow r"}))


def test_authenticated_signed_session() -> None:
    async def scenario() -> None:
        server, _, client = await pair(authenticator=SharedKeyAuth(b"s3cret"))
        intruder = Messenger("client.x", MessengerConfig(), SharedKeyAuth(b"wrong"), Recorder())
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            assert await conn.request(Ping(1.0, b"signed"), DEADLINE) == Pong(1.0, b"signed")
            (accepted,) = server.connections()
            assert accepted.caps == {"osd": "allow r"}
            # crc by default (Ceph's "crc secure"): authentication is required all the same.
            assert conn.mode == accepted.mode == "crc"
            with pytest.raises(RadosError) as info:
                await intruder.connect(server.addr, "osd.0")
            assert info.value.errno == errno.EACCES
            assert "bad secret" in str(info.value)
            with pytest.raises(RadosError, match=r"expected osd\.1, reached osd\.0"):
                await client.connect(server.addr, "osd.1")
        finally:
            await with_cleanup(intruder.shutdown, client.shutdown, server.shutdown)

    run(scenario())


def test_mark_down_fails_pending_requests() -> None:
    async def scenario() -> None:
        server, _, client = await pair()
        assert server.addr is not None
        proxy = Proxy(server.addr)
        try:
            conn = await client.connect(await proxy.start(), "osd.0")
            proxy.hold()
            pending = asyncio.ensure_future(conn.request(Ping(), DEADLINE))
            await until(lambda: bool(conn.session.unacked))
            conn.mark_down()
            with pytest.raises(RadosError) as info:
                await pending
            assert info.value.errno == errno.ENOTCONN
            with pytest.raises(RadosError):
                await conn.send(Ping())
        finally:
            await with_cleanup(client.shutdown, server.shutdown, proxy.close)

    run(scenario())


def test_type_wildcard_peer_takes_the_name_of_whoever_answers() -> None:
    async def scenario() -> None:
        server, _, client = await pair()
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.*")
            assert conn.peer_name == "osd.0"
            assert await conn.request(Ping(2.0, b"any"), DEADLINE) == Pong(2.0, b"any")
            with pytest.raises(RadosError, match=r"expected mon\.\*, reached osd\.0"):
                await client.connect(server.addr, "mon.*")
            with pytest.raises(RadosError, match="invalid entity name"):
                await client.connect(server.addr, "*.*")
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


async def keyed_raw_peer(addr: tuple[str, int], secret: bytes, modes: list[str]) -> RawPeer:
    """A raw client through `SharedKeyAuth`'s challenge, asking for ``modes``; its
    encoder and decoder are left in the mode the server picked."""
    peer = RawPeer(*await asyncio.open_connection(*addr))
    peer.writer.write(
        PREAMBLE + peer.frame(Banner(1, "client.raw")) + peer.frame(AuthRequest(b"hello"))
    )
    assert isinstance(await peer.recv(), Banner)
    assert isinstance(await peer.recv(), AuthReply)
    peer.writer.write(peer.frame(AuthRequest(secret)))
    assert isinstance(await peer.recv(), AuthDone)
    # SessionConnect and SessionReady are signed whatever the mode.
    peer.encoder.set_key(b"K" + secret)
    peer.decoder.set_key(b"K" + secret)
    peer.writer.write(peer.frame(SessionConnect(99, 0, modes)))
    ready = await peer.recv()
    assert isinstance(ready, SessionReady) and ready.mode == modes[0]
    if ready.mode == "crc":
        peer.encoder.set_key(None)
        peer.decoder.set_key(None)
    return peer


def test_secure_mode_closes_on_a_tampered_frame(caplog: pytest.LogCaptureFixture) -> None:
    """secure: every frame carries an HMAC under the session key; a frame changed in
    transit, its checksum recomputed by someone without the key, closes the connection
    unheard."""
    caplog.set_level(logging.WARNING, "radospy.msg")

    async def scenario() -> None:
        server, recorder, _ = await pair(authenticator=SharedKeyAuth(b"s3cret"))
        try:
            assert server.addr is not None
            raw = await keyed_raw_peer(server.addr, b"s3cret", ["secure"])
            raw.writer.write(raw.frame(Note(1, b"signed"), seq=1))
            await until(lambda: recorder.notes == [1])
            _, body = REGISTRY.encode(Note(2, b"forged"))
            raw.writer.write(FrameEncoder().header(Note.TYPE, 0, 0, 2, 0, body) + body)
            assert await raw.closed_by_server()
            assert recorder.notes == [1]
        finally:
            await server.shutdown()

    run(scenario())
    assert "bad checksum" in caplog.text


def test_crc_mode_checksums_frames_after_authentication(caplog: pytest.LogCaptureFixture) -> None:
    """crc: after the signed handshake frames carry xxh3 only (anyone can recompute
    it: corruption is caught, forgery is not, as in Ceph's crc mode); a frame whose
    bytes do not match their checksum still closes the connection."""
    caplog.set_level(logging.WARNING, "radospy.msg")

    async def scenario() -> None:
        server, recorder, _ = await pair(authenticator=SharedKeyAuth(b"s3cret"))
        try:
            assert server.addr is not None
            raw = await keyed_raw_peer(server.addr, b"s3cret", ["crc", "secure"])
            raw.writer.write(raw.frame(Note(1, b"checksummed"), seq=1))
            await until(lambda: recorder.notes == [1])
            frame = bytearray(raw.frame(Note(2, b"payload"), seq=2))
            frame[-1] ^= 0x01
            raw.writer.write(bytes(frame))
            assert await raw.closed_by_server()
            assert recorder.notes == [1]
        finally:
            await server.shutdown()

    run(scenario())
    assert "bad checksum" in caplog.text


def test_mode_is_the_dialler_preference_the_server_allows() -> None:
    async def scenario() -> None:
        secure_first = MessengerConfig(ms_client_mode=("secure", "crc"))
        server, _, client = await pair(client_config=secure_first)
        crc_only = Messenger(
            "client.crc", MessengerConfig(ms_client_mode=("crc",)), NoAuth(), Recorder()
        )
        strict = Messenger(
            "osd.1", MessengerConfig(ms_service_mode=("secure",)), NoAuth(), Recorder()
        )
        try:
            assert server.addr is not None
            conn = await client.connect(server.addr, "osd.0")
            assert await conn.request(Ping(1.0, b"x"), DEADLINE) == Pong(1.0, b"x")
            (accepted,) = server.connections()
            assert conn.mode == accepted.mode == "secure"
            addr = await strict.bind("127.0.0.1", 0)
            with pytest.raises(RadosError) as info:
                await crc_only.connect(addr, "osd.1")
            assert info.value.errno == errno.EOPNOTSUPP
            assert "no connection mode in common: client.crc offers crc" in str(info.value)
            assert strict.connections() == []
            await serves(server)
        finally:
            await with_cleanup(crc_only.shutdown, strict.shutdown, client.shutdown, server.shutdown)

    run(scenario())


def test_raw_client_without_common_mode_is_refused() -> None:
    async def scenario() -> None:
        server, _, _ = await pair(MessengerConfig(ms_service_mode=("secure",)))
        try:
            assert server.addr is not None
            raw = RawPeer(*await asyncio.open_connection(*server.addr))
            raw.writer.write(
                PREAMBLE + raw.frame(Banner(1, "client.raw")) + raw.frame(AuthRequest(b""))
            )
            assert isinstance(await raw.recv(), Banner)
            assert isinstance(await raw.recv(), AuthDone)
            raw.writer.write(raw.frame(SessionConnect(99, 0, ["crc", "fast"])))
            refusal = await raw.recv()
            assert isinstance(refusal, AuthFailed) and refusal.errno == errno.EOPNOTSUPP
            assert await raw.closed_by_server()
            assert server.connections() == []
        finally:
            await server.shutdown()

    run(scenario())


def test_sessions_with_a_peer_a_map_moved_are_dropped() -> None:
    """A dialled session redials its address forever; once a map says the peer is
    elsewhere (or down), `drop_moved` marks it down so the next connect dials anew."""

    async def scenario() -> None:
        server, _, client = await pair()
        try:
            assert server.addr is not None
            here = server.addr
            conn = await client.connect(here, "osd.0")
            assert client.drop_moved("osd.", lambda name: here) == []
            assert client.drop_moved("mon.", lambda name: None) == []
            assert not conn.is_closed
            assert client.drop_moved("osd.", lambda name: ("127.0.0.1", 1)) == ["osd.0"]
            assert conn.is_closed and client.connections() == []
            again = await client.connect(here, "osd.0")
            assert again is not conn
            assert await again.request(Ping(3.0, b"new"), DEADLINE) == Pong(3.0, b"new")
            assert client.drop_moved("osd.", lambda name: None) == ["osd.0"]
        finally:
            await with_cleanup(client.shutdown, server.shutdown)

    run(scenario())


def test_before_auth_is_awaited_with_the_claimed_name_and_may_hang_up() -> None:
    async def scenario() -> None:
        asked: list[str] = []
        release = asyncio.Event()

        async def before_auth(peer_name: str) -> None:
            asked.append(peer_name)
            await release.wait()
            if peer_name == "client.refused":
                raise RadosError("cannot tell yet", errno.EAGAIN)

        server = Messenger(
            "mon.a", MessengerConfig(), NoAuth(), Recorder(), before_auth=before_auth
        )
        addr = await server.bind("127.0.0.1", 0)
        client = Messenger("client.admin", MessengerConfig(), NoAuth(), Recorder())
        refused = Messenger("client.refused", MessengerConfig(), NoAuth(), Recorder())
        try:
            dialling = asyncio.ensure_future(client.connect(addr, "mon.a"))
            await until(lambda: asked == ["client.admin"])
            assert not dialling.done()  # the handshake waits for the hook
            release.set()
            conn = await dialling
            assert await conn.request(Ping(3.0, b"after"), DEADLINE) == Pong(3.0, b"after")
            with pytest.raises((RadosError, OSError)) as info:
                await refused.connect(addr, "mon.a")
            assert not isinstance(info.value, RadosError) or info.value.errno != errno.EACCES
            assert asked == ["client.admin", "client.refused"]
        finally:
            await with_cleanup(refused.shutdown, client.shutdown, server.shutdown)

    run(scenario())
