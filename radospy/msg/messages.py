"""Typed message bodies and the registry mapping wire type ids to them.

Every message is a msgspec `Struct` subclass of `Message`, registered under a 16-bit type
id with `@message(ID)`. A frame's body is decoded straight into the class its type id
names, so a malformed body fails at the boundary with a `MalformedMessage` saying which
field is wrong, instead of deep inside a daemon.

Bodies are msgpack arrays (`array_like`): smaller and faster than maps, and still
extensible because msgspec ignores trailing elements it does not know and fills missing
trailing fields from their defaults, so new fields go at the end with a default. Bulk
data fields should be typed `bytes` to send and may be typed `memoryview` to receive
without a copy (the view then points into the frame's own buffer). A message whose bulk
fields are `bytes` for most receivers can also have a *view* class (`register_view`): a
subclass with those fields typed `memoryview`, which a requester asks for per request
(`Connection.call(..., reply_as=View)`) where it can use the data without a copy.

On the sending side a message may keep its bulk data out of its encoding: its
`split_bulk` returns a copy with `BULK_MARK` in place of each large buffer, and
`MessageRegistry.encode` returns the body as parts with those buffers spliced in at the
marks (a bin32 header before each), which the transport writes back to back: for
buffers of `BULK_MIN` bytes or more, the bytes msgspec would write for the whole message.

Type id ranges (owners add their messages in their own modules):

    0x0001-0x001f  messenger control frames (below; never seen by dispatchers)
    0x0020-0x003f  generic messages (Ping, Pong, ErrorReply)
    0x0100-0x01ff  monitor        0x0200-0x02ff  OSD
    0x0300-0x03ff  auth           0x0400-0x04ff  client / gateways
"""

from __future__ import annotations

import re
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from errno import EBADMSG, EINVAL
from typing import ClassVar, TypeVar

import msgspec

from radospy.common.errors import RadosError
from radospy.msg.frame import BytesLike, Payload

_U16 = 0xFFFF
_ENTITY_RE = re.compile(r"(mon|osd|client|mds|mgr)\.[A-Za-z0-9_.-]+")

PROTOCOL_VERSION = 1
"""Bumped when the frame layout or the handshake changes incompatibly."""

BULK_MARK = secrets.token_bytes(16)
"""What `Message.split_bulk` puts in place of a bulk buffer. Random per process, so no
data a peer or user chose can contain it; encode checks each mark is found once."""
BULK_MIN = 64 * 1024
"""Buffers at least this large are worth splicing instead of copying."""
_BIN32 = struct.Struct(">BI")
_BIN8_MARK = b"\xc4" + bytes([len(BULK_MARK)]) + BULK_MARK


class Message(msgspec.Struct, array_like=True, frozen=True):
    """Base class of every message body; `TYPE` is set by registration."""

    TYPE: ClassVar[int] = 0

    def split_bulk(self) -> tuple[Message, list[BytesLike]] | None:
        """This message with `BULK_MARK` in place of each bulk buffer, and those
        buffers in the order they appear in its encoding; None (the default) to be
        encoded whole."""
        return None


class MalformedMessage(RadosError):
    """A frame body does not match the schema of its type id (or the id is unknown)."""

    errno = EBADMSG


M = TypeVar("M", bound=type[Message])


@dataclass
class MessageRegistry:
    """Type id ↔ message class, with one cached decoder per class."""

    _classes: dict[int, type[Message]] = field(default_factory=dict)
    _decoders: dict[int, msgspec.msgpack.Decoder[Message]] = field(default_factory=dict)
    _views: dict[type[Message], msgspec.msgpack.Decoder[Message]] = field(default_factory=dict)
    _encoder: msgspec.msgpack.Encoder = field(default_factory=msgspec.msgpack.Encoder)
    _last: tuple[Message, Payload] | None = None

    def register(self, type_id: int, cls: type[Message]) -> None:
        """Map `type_id` to `cls`; an id is registered once, by one class."""
        if not 0 < type_id <= _U16:
            raise RadosError(f"message type id {type_id} is not in 1..65535", EINVAL)
        if type_id in self._classes and self._classes[type_id] is not cls:
            other = self._classes[type_id].__name__
            raise RadosError(f"message type id {type_id:#06x} already used by {other}", EINVAL)
        if cls.TYPE not in (0, type_id):
            raise RadosError(f"{cls.__name__} is already registered as {cls.TYPE:#06x}", EINVAL)
        cls.TYPE = type_id
        self._classes[type_id] = cls
        self._decoders[type_id] = msgspec.msgpack.Decoder(cls)

    def register_view(self, view: type[Message]) -> None:
        """Let a receiver decode the registered message that `view` subclasses as
        `view`: the same wire layout, with bulk fields retyped `memoryview`."""
        base = self._classes.get(view.TYPE)
        if base is None or base is view or not issubclass(view, base):
            raise RadosError(f"{view.__name__} is not a view of a registered message", EINVAL)
        self._views[view] = msgspec.msgpack.Decoder(view)

    def class_of(self, type_id: int) -> type[Message]:
        """The class registered for `type_id`; raises MalformedMessage if none is."""
        try:
            return self._classes[type_id]
        except KeyError:
            raise MalformedMessage(f"unknown message type {type_id:#06x}") from None

    def encode(self, msg: Message) -> tuple[int, Payload]:
        """The type id and msgpack body of a registered message (in parts when the
        message splits its bulk data off, see `Message.split_bulk`)."""
        type_id = type(msg).TYPE
        if self._classes.get(type_id) is not type(msg):
            raise RadosError(f"{type(msg).__name__} is not a registered message", EINVAL)
        last = self._last
        if last is not None and last[0] is msg:
            return type_id, last[1]
        body = self._encode_body(msg)
        # The same message sent to several peers in a row (a primary's RepOp to each
        # replica) is encoded once: every connection sends, and keeps until it is
        # acknowledged, the same bytes, not a copy each (4 MiB for a big write), and a
        # small one is not encoded again per replica. Messages are frozen; holding the
        # last one keeps its identity from being reused by another object.
        self._last = (msg, body)
        return type_id, body

    def _encode_body(self, msg: Message) -> Payload:
        split = msg.split_bulk()
        if split is None:
            return self._encoder.encode(msg)
        stripped, bulks = split
        body = self._encoder.encode(stripped)
        sizes = [memoryview(bulk).nbytes for bulk in bulks]
        if body.count(_BIN8_MARK) != len(bulks) or max(sizes, default=0) >= 1 << 32:
            return self._encoder.encode(msg)
        parts: list[BytesLike] = []
        start = 0
        for bulk, size in zip(bulks, sizes, strict=True):
            at = body.index(_BIN8_MARK, start)
            # As msgspec writes a buffer of BULK_MIN or more: bin32 header, then the bytes.
            parts += (body[start:at] + _BIN32.pack(0xC6, size), bulk)
            start = at + len(_BIN8_MARK)
        parts.append(body[start:])
        return tuple(parts)

    def decode(self, type_id: int, body: BytesLike, view: type[Message] | None = None) -> Message:
        """Decode and validate a body; raises MalformedMessage on any mismatch.

        With `view` (a class given to `register_view`) a body of the type it views is
        decoded as `view`; a body of any other type (an `ErrorReply`) as usual."""
        decoder = self._views.get(view) if view is not None and type_id == view.TYPE else None
        if decoder is None:
            decoder = self._decoders.get(type_id)
        if decoder is None:
            raise MalformedMessage(f"unknown message type {type_id:#06x}")
        try:
            return decoder.decode(body)
        except msgspec.DecodeError as exc:
            name = self._classes[type_id].__name__
            raise MalformedMessage(f"malformed {name} body: {exc}") from None


REGISTRY = MessageRegistry()
"""The process-wide registry every messenger uses unless given another."""


def message(type_id: int, registry: MessageRegistry = REGISTRY) -> Callable[[M], M]:
    """Class decorator: register a `Message` subclass under `type_id`."""

    def register(cls: M) -> M:
        registry.register(type_id, cls)
        return cls

    return register


def valid_entity_name(name: str) -> bool:
    """True for Ceph entity names: `mon.a`, `osd.3`, `client.admin`, `mgr.x`, `mds.a`."""
    return _ENTITY_RE.fullmatch(name) is not None


ANY_ID = "*"
"""The id of a peer name that accepts any entity of its type (`mon.*`): what a client
dials when it knows a monitor's address but not its name."""


def entity_matches(expected: str, actual: str) -> bool:
    """True when `actual` is `expected`, or of its type when `expected` is `TYPE.*`."""
    kind, _, ident = expected.partition(".")
    if ident == ANY_ID:
        return actual.partition(".")[0] == kind
    return actual == expected


def valid_peer_name(name: str) -> bool:
    """A name `connect` accepts: an entity name or a type wildcard such as `mon.*`."""
    kind, _, ident = name.partition(".")
    return valid_entity_name(name) or (ident == ANY_ID and valid_entity_name(f"{kind}.x"))


# Messenger control frames: handshake, acks and liveness.


@message(0x0001)
class Banner(Message):
    """First frame each side sends after the preamble."""

    protocol_version: int
    entity_name: str


@message(0x0002)
class AuthRequest(Message):
    """Client → server: one opaque step of the authenticator's exchange."""

    payload: bytes


@message(0x0003)
class AuthReply(Message):
    """Server → client: the authenticator needs another round."""

    payload: bytes


@message(0x0004)
class AuthDone(Message):
    """Server → client: authenticated; `payload` lets the client verify the server."""

    payload: bytes


@message(0x0005)
class AuthFailed(Message):
    """Server → client: authentication refused; the server closes the connection."""

    errno: int
    message: str


@message(0x0006)
class SessionConnect(Message):
    """Client → server: open (cookie unknown to the server) or resume a session.

    `in_seq` is the last sequence number the client received on this session; the
    server resends everything after it.
    """

    cookie: int
    in_seq: int
    modes: list[str] = []
    """The client's connection modes in order of preference (`radospy.msg.modes`);
    this frame is signed whatever the mode, so no one on the path can change them."""


@message(0x0007)
class SessionReady(Message):
    """Server → client: the session is open; `resumed` False means the server had no
    state for the cookie (it restarted or expired the session), so the client starts
    its sequence numbers afresh."""

    resumed: bool
    in_seq: int
    mode: str = ""
    """The connection mode the server picked; every later frame both ways uses it."""


@message(0x0008)
class Ack(Message):
    """Carries only the header's ack field, when there is no other frame to carry it."""


@message(0x0009)
class Keepalive(Message):
    """Liveness probe sent on an idle connection; answered with KeepaliveAck."""

    stamp: float


@message(0x000A)
class KeepaliveAck(Message):
    """Answer to Keepalive, echoing its stamp."""

    stamp: float


CONTROL_TYPES = range(0x0001, 0x0020)
"""Type ids handled by the messenger itself."""


# Generic messages any daemon may use.


@message(0x0020)
class Ping(Message):
    """Application-level probe; the peer's dispatcher answers with Pong. Between
    OSDs (heartbeats) ``epoch`` is the sender's map epoch: a read lease request."""

    stamp: float = 0.0
    data: bytes = b""
    epoch: int = 0


@message(0x0021)
class Pong(Message):
    """Answer to Ping; between OSDs, ``lease`` says whether the read lease the ping
    asked for is granted (see radospy.osd.read_lease)."""

    stamp: float = 0.0
    data: bytes = b""
    lease: bool = False


@message(0x0022)
class ErrorReply(Message):
    """A failed request: Ceph errno (positive) and a one-line message."""

    errno: int
    message: str = ""

    def to_error(self) -> RadosError:
        """The exception `Connection.request` raises for this reply."""
        return RadosError(self.message, self.errno)
