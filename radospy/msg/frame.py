"""Wire framing: a fixed header, then a msgpack body. No I/O here (sans-io, like h11).

A stream starts with `PREAMBLE`, then carries frames::

    offset size field
         0    4 payload length (bytes after the header)
         4    2 message type id (see `radospy.msg.messages`)
         6    2 flags (`FLAG_REQUEST`, `FLAG_REPLY`)
         8    8 tid: request id, echoed by the reply
        16    8 seq: session sequence number, 0 for control frames
        24    8 ack: highest sequence number the sender has received in order
        32    8 checksum of bytes 0..31 and the payload

All integers are little-endian. The checksum covers the header too, so a flipped tid or
type is caught like a flipped payload byte.

Two checksums. xxh3-64 is fast (several GB/s) and good at catching corruption, but
anyone can recompute it: it protects frames before authentication and, in the crc
connection mode (Ceph's default, see `radospy.msg.modes` for the threat model), after
it. HMAC-SHA256 keyed with the session key, truncated to 64 bits, signs the first frames
after authentication and, in the secure connection mode, every frame. A keyed
xxhash would be as fast but is not a MAC (its keyed form makes no forgery claim), so it
would only look like protection; HMAC-SHA256 is a standard MAC and, with the SHA
instructions of current CPUs, still runs at ~2 GB/s. 64 bits suffice because a wrong
guess closes the connection, so a forger gets one try per TCP handshake.

`FrameDecoder` is fed bytes (or lends its buffer to an `asyncio.BufferedProtocol`) and
yields `Frame`s. Small frames are cut from one reusable scratch buffer; a frame larger
than a quarter of it gets a buffer of its own, filled in place, which the `Frame` then
owns: bulk data is written once by the socket and never copied again by this layer.
That buffer is not zeroed first (every byte of it is written before the frame is
returned), and a message decoded with `memoryview` fields points into it.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import deque
from collections.abc import Callable
from errno import EBADMSG, EMSGSIZE, EPROTO
from typing import NamedTuple

import xxhash

from radospy.common.errors import RadosError
from radospy.common.malloc import aligned_buffer

PREAMBLE = b"radospy\n"
"""First bytes each side sends: tells a radospy messenger from anything else."""

_HEAD = struct.Struct("<IHHQQQ")
_SUM = struct.Struct("<Q")
HEADER_SIZE = _HEAD.size + _SUM.size

FLAG_REQUEST = 0x1
"""The sender waits for a reply carrying the same tid."""
FLAG_REPLY = 0x2
"""The frame answers the request with the same tid."""

_U64 = 0xFFFFFFFFFFFFFFFF
_SCRATCH_SIZE = 256 * 1024
_BIG_ALIGN = 64
"""Where a big frame's buffer starts (a cache line; nothing here needs more)."""
_ONESHOT_LIMIT = 64 * 1024
_MIN_FREE = 16 * 1024

BytesLike = bytes | bytearray | memoryview
"""Anything the frame layer accepts as bytes without copying it."""

Payload = BytesLike | tuple[BytesLike, ...]
"""A payload to send: one buffer, or several that go on the wire back to back (a body
with bulk data spliced in instead of copied into it, see `MessageRegistry.encode`)."""

Digest = Callable[[BytesLike, Payload], int]
"""Checksum of (header bytes 0..31, payload) as an unsigned 64-bit integer."""


def payload_size(payload: Payload) -> int:
    """The bytes `payload` puts on the wire."""
    if isinstance(payload, tuple):
        return sum(memoryview(part).nbytes for part in payload)
    return memoryview(payload).nbytes


def xxh3_digest(head: BytesLike, payload: Payload) -> int:
    """The unkeyed checksum used before authentication."""
    hasher = xxhash.xxh3_64(head)
    for part in payload if isinstance(payload, tuple) else (payload,):
        hasher.update(part)
    return hasher.intdigest()


def hmac_digest(key: bytes) -> Digest:
    """The keyed checksum used once `key` (the session key) is agreed."""
    template = hmac.new(key, digestmod=hashlib.sha256)

    def digest(head: BytesLike, payload: Payload) -> int:
        parts = payload if isinstance(payload, tuple) else (payload,)
        if payload_size(payload) < _ONESHOT_LIMIT:
            # OpenSSL's one-shot HMAC costs less than copying a keyed context and
            # feeding it twice, even with the bytes joined first.
            mac = hmac.digest(key, b"".join((head, *parts)), "sha256")
        else:
            ctx = template.copy()
            ctx.update(head)
            for part in parts:
                ctx.update(part)
            mac = ctx.digest()
        return int.from_bytes(mac[:8], "little")

    return digest


def digest_for(key: bytes | None) -> Digest:
    """HMAC with `key` when there is one, else xxh3."""
    return hmac_digest(key) if key else xxh3_digest


class FrameError(RadosError):
    """The byte stream cannot be trusted any more: the connection must be closed."""

    errno = EBADMSG


class FrameTooLarge(FrameError):
    """A frame announced a payload over the configured `ms_max_message_size`."""

    errno = EMSGSIZE


class Frame(NamedTuple):
    """One decoded frame; `payload` is the msgpack body, still encoded. (A NamedTuple:
    one is built per frame received, and a frozen dataclass costs several times more
    to build.)"""

    type: int
    flags: int
    tid: int
    seq: int
    ack: int
    payload: BytesLike

    @property
    def is_request(self) -> bool:
        return bool(self.flags & FLAG_REQUEST)

    @property
    def is_reply(self) -> bool:
        return bool(self.flags & FLAG_REPLY)


class FrameEncoder:
    """Builds frame headers; the payload itself is passed through untouched."""

    def __init__(self, key: bytes | None = None) -> None:
        self._digest = digest_for(key)

    def set_key(self, key: bytes | None) -> None:
        """Sign every later frame with `key` (None: back to plain xxh3)."""
        self._digest = digest_for(key)

    def header(
        self, type_: int, flags: int, tid: int, seq: int, ack: int, payload: Payload
    ) -> bytes:
        """The 40 header bytes that precede `payload` on the wire."""
        size = payload_size(payload)
        head = _HEAD.pack(size, type_, flags, tid & _U64, seq, ack)
        return head + _SUM.pack(self._digest(head, payload))

    def encode(self, frame: Frame) -> bytes:
        """Header and payload joined; the shell writes large payloads separately instead."""
        return self.header(
            frame.type, frame.flags, frame.tid, frame.seq, frame.ack, frame.payload
        ) + bytes(frame.payload)


class _Pending(NamedTuple):
    """A frame cut from the stream whose checksum is not verified yet."""

    head: bytes
    payload: BytesLike


class FrameDecoder:
    """Cuts a byte stream into frames; `next_frame()` verifies and returns them in order.

    Checksums are verified in `next_frame()`, not when bytes arrive, because the key can
    change between two frames that arrived in the same read (the frame ending the auth
    phase is plain, the next one is signed): the caller switches keys in between.

    After a `FrameError` the stream is dead; further bytes are ignored.
    """

    def __init__(
        self,
        max_payload: int,
        *,
        expect_preamble: bool = True,
        key: bytes | None = None,
        scratch_size: int = _SCRATCH_SIZE,
    ) -> None:
        self._max_payload = max_payload
        self._digest = digest_for(key)
        self._need_preamble = expect_preamble
        self._scratch = bytearray(scratch_size)
        self._big_threshold = scratch_size // 4
        self._start = 0
        self._end = 0
        self._big: memoryview | None = None
        self._big_head = b""
        self._big_fill = 0
        self._ready: deque[_Pending] = deque()
        self._error: FrameError | None = None

    def set_key(self, key: bytes | None) -> None:
        """Verify every frame not yet returned by `next_frame()` with `key`."""
        self._digest = digest_for(key)

    @property
    def failed(self) -> bool:
        """True once the stream held something that is not a valid frame."""
        return self._error is not None

    def receive_data(self, data: BytesLike) -> None:
        """Feed bytes read from the peer."""
        view = memoryview(data).cast("B")
        while view.nbytes and self._error is None:
            target = self.get_buffer(view.nbytes)
            n = min(target.nbytes, view.nbytes)
            target[:n] = view[:n]
            self.buffer_updated(n)
            view = view[n:]

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Writable space for the next bytes (the `asyncio.BufferedProtocol` contract)."""
        if self._big is not None:
            return self._big[self._big_fill :]
        if len(self._scratch) - self._end < _MIN_FREE and self._start:
            kept = self._end - self._start
            self._scratch[:kept] = self._scratch[self._start : self._end]
            self._start, self._end = 0, kept
        return memoryview(self._scratch)[self._end :]

    def buffer_updated(self, nbytes: int) -> None:
        """Account for `nbytes` written into the last buffer from `get_buffer()`."""
        if self._error is not None:
            return
        if self._big is not None:
            self._big_fill += nbytes
            if self._big_fill == len(self._big):
                self._ready.append(_Pending(self._big_head, self._big))
                self._big = None
            return
        self._end += nbytes
        self._split()

    def next_frame(self) -> Frame | None:
        """The next verified frame, or None until more bytes arrive.

        Raises FrameError for a bad preamble, an oversized frame or a checksum mismatch.
        """
        if self._ready:
            return self._verify(self._ready.popleft())
        if self._error is not None:
            raise self._error
        return None

    def _fail(self, error: FrameError) -> None:
        self._error = error
        self._start = self._end = 0
        self._big = None

    def _split(self) -> None:
        buf = self._scratch
        if self._need_preamble:
            if self._end - self._start < len(PREAMBLE):
                return
            got = bytes(buf[self._start : self._start + len(PREAMBLE)])
            if got != PREAMBLE:
                self._fail(
                    FrameError(f"peer is not a radospy messenger (preamble {got!r})", EPROTO)
                )
                return
            self._start += len(PREAMBLE)
            self._need_preamble = False
        while self._end - self._start >= HEADER_SIZE:
            head = bytes(buf[self._start : self._start + HEADER_SIZE])
            size = _HEAD.unpack_from(head)[0]
            if size > self._max_payload:
                self._fail(
                    FrameTooLarge(
                        f"frame of {size} bytes exceeds ms_max_message_size {self._max_payload}"
                    )
                )
                return
            body_start = self._start + HEADER_SIZE
            if self._end - body_start >= size:
                self._ready.append(_Pending(head, bytes(buf[body_start : body_start + size])))
                self._start = body_start + size
                continue
            if HEADER_SIZE + size > self._big_threshold:
                self._begin_big(head, size, body_start)
                return
            break
        if self._start == self._end:
            self._start = self._end = 0

    def _begin_big(self, head: bytes, size: int, body_start: int) -> None:
        have = self._end - body_start
        # Uninitialised: the socket writes every byte of it, so a 4 MiB memset would
        # be a pass over the payload for nothing.
        big = aligned_buffer(size, _BIG_ALIGN, zeroed=False)
        big[:have] = self._scratch[body_start : self._end]
        self._start = self._end = 0
        self._big, self._big_head, self._big_fill = big, head, have

    def _verify(self, pending: _Pending) -> Frame:
        size, type_, flags, tid, seq, ack = _HEAD.unpack_from(pending.head)
        (expected,) = _SUM.unpack_from(pending.head, _HEAD.size)
        actual = self._digest(memoryview(pending.head)[: _HEAD.size], pending.payload)
        if actual != expected:
            error = FrameError(f"bad checksum on frame type {type_} seq {seq} ({size} bytes)")
            self._fail(error)
            self._ready.clear()
            raise error
        return Frame(type_, flags, tid, seq, ack, pending.payload)
