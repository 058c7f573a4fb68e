"""Store transactions: an ordered list of low-level changes applied all at once.

A client op becomes one `Transaction` (built by `radospy.osd.ops.execute`, completed
by the PG with its log entry and info) which the primary applies to its own store and
sends to the replicas as is: every step is a msgspec Struct, so a transaction encodes
to msgpack and decodes validated on the other side.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import ObjectId

_U64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class TxOp(msgspec.Struct, frozen=True, array_like=True, tag=True):
    """Base of every transaction step."""


class MakeCollection(TxOp, tag="mkcoll"):
    """Create a collection (a PG); a no-op when it exists."""

    cid: str


class RemoveCollection(TxOp, tag="rmcoll"):
    """Remove a collection with all its objects, log and info."""

    cid: str


class Touch(TxOp, tag="touch"):
    """Create an empty object when it does not exist."""

    cid: str
    oid: ObjectId


class WriteData(TxOp, tag="write"):
    """Write bytes at an offset, growing the object as needed.

    `data` decodes as a view of the received message's buffer, not a copy: a replica
    applies a 4 MiB RepOp from the frame the socket filled (the messenger gives each
    big frame a buffer of its own, never reused, and the view keeps it alive)."""

    cid: str
    oid: ObjectId
    offset: _U64
    data: memoryview


class ZeroData(TxOp, tag="zero"):
    """Zero a range inside the object (never grows it)."""

    cid: str
    oid: ObjectId
    offset: _U64
    length: _U64


class TruncateData(TxOp, tag="truncate"):
    """Set the object's size, dropping data past it or reading zeros up to it."""

    cid: str
    oid: ObjectId
    size: _U64


class RemoveObject(TxOp, tag="remove"):
    """Delete an object with its data, xattrs and omap."""

    cid: str
    oid: ObjectId


class CloneObject(TxOp, tag="clone"):
    """Make `dst` a copy of `src` (data, xattrs, omap, size, mtime and version),
    replacing any `dst` there was: a snapshot clone, or a rollback to one."""

    cid: str
    src: ObjectId
    dst: ObjectId


class SetAttrs(TxOp, tag="setattrs"):
    """Set extended attributes."""

    cid: str
    oid: ObjectId
    attrs: dict[str, bytes]


class RemoveAttr(TxOp, tag="rmattr"):
    """Remove one extended attribute if set."""

    cid: str
    oid: ObjectId
    name: str


class OmapSetKeys(TxOp, tag="omap_setkeys"):
    """Set omap pairs."""

    cid: str
    oid: ObjectId
    entries: dict[str, bytes]


class OmapRemoveKeys(TxOp, tag="omap_rmkeys"):
    """Remove omap keys if set."""

    cid: str
    oid: ObjectId
    keys: list[str]


class OmapRemoveRange(TxOp, tag="omap_rmkeyrange"):
    """Remove the omap keys in `[start, end)`."""

    cid: str
    oid: ObjectId
    start: str
    end: str


class OmapClearAll(TxOp, tag="omap_clear"):
    """Remove every omap key and the omap header."""

    cid: str
    oid: ObjectId


class OmapSetHeader(TxOp, tag="omap_setheader"):
    """Set the omap header."""

    cid: str
    oid: ObjectId
    data: bytes


class SetObjectInfo(TxOp, tag="set_info"):
    """Stamp an object with the version and mtime of the op that changed it."""

    cid: str
    oid: ObjectId
    version: Eversion
    mtime_ns: int


class PgLogAppend(TxOp, tag="pglog_append"):
    """Add (or replace) the PG log entry at `version`; the entry is opaque bytes."""

    cid: str
    version: Eversion
    entry: bytes


class PgLogTrim(TxOp, tag="pglog_trim"):
    """Drop the PG log entries up to and including `upto`."""

    cid: str
    upto: Eversion


class SetPgInfo(TxOp, tag="set_pginfo"):
    """Replace the PG info blob (opaque bytes)."""

    cid: str
    info: bytes


class SetMeta(TxOp, tag="set_meta"):
    """Set a store-wide key (the OSD superblock and the like)."""

    key: str
    value: bytes


AnyTxOp = (
    MakeCollection
    | RemoveCollection
    | Touch
    | WriteData
    | ZeroData
    | TruncateData
    | RemoveObject
    | CloneObject
    | SetAttrs
    | RemoveAttr
    | OmapSetKeys
    | OmapRemoveKeys
    | OmapRemoveRange
    | OmapClearAll
    | OmapSetHeader
    | SetObjectInfo
    | PgLogAppend
    | PgLogTrim
    | SetPgInfo
    | SetMeta
)


class Transaction(msgspec.Struct, array_like=True):
    """An ordered list of steps that the store applies atomically and durably.

    The builder methods append one step each and return the transaction, so calls
    chain: `Transaction().touch(c, o).write(c, o, 0, data)`.
    """

    ops: list[AnyTxOp] = msgspec.field(default_factory=list)

    def __len__(self) -> int:
        """The number of steps (0: nothing to apply)."""
        return len(self.ops)

    def append(self, op: AnyTxOp) -> Transaction:
        """Add one step."""
        self.ops.append(op)
        return self

    def mkcoll(self, cid: str) -> Transaction:
        """Create a collection."""
        return self.append(MakeCollection(cid))

    def rmcoll(self, cid: str) -> Transaction:
        """Remove a collection and everything in it."""
        return self.append(RemoveCollection(cid))

    def touch(self, cid: str, oid: ObjectId) -> Transaction:
        """Create an empty object if missing."""
        return self.append(Touch(cid, oid))

    def write(
        self, cid: str, oid: ObjectId, offset: int, data: bytes | memoryview
    ) -> Transaction:
        """Write `data` at `offset`."""
        return self.append(WriteData(cid, oid, offset, data))

    def zero(self, cid: str, oid: ObjectId, offset: int, length: int) -> Transaction:
        """Zero a range inside the object."""
        return self.append(ZeroData(cid, oid, offset, length))

    def truncate(self, cid: str, oid: ObjectId, size: int) -> Transaction:
        """Set the object's size."""
        return self.append(TruncateData(cid, oid, size))

    def remove(self, cid: str, oid: ObjectId) -> Transaction:
        """Delete an object."""
        return self.append(RemoveObject(cid, oid))

    def clone(self, cid: str, src: ObjectId, dst: ObjectId) -> Transaction:
        """Make `dst` a copy of `src`."""
        return self.append(CloneObject(cid, src, dst))

    def setattrs(self, cid: str, oid: ObjectId, attrs: dict[str, bytes]) -> Transaction:
        """Set extended attributes."""
        return self.append(SetAttrs(cid, oid, attrs))

    def rmattr(self, cid: str, oid: ObjectId, name: str) -> Transaction:
        """Remove an extended attribute."""
        return self.append(RemoveAttr(cid, oid, name))

    def omap_setkeys(self, cid: str, oid: ObjectId, entries: dict[str, bytes]) -> Transaction:
        """Set omap pairs."""
        return self.append(OmapSetKeys(cid, oid, entries))

    def omap_rmkeys(self, cid: str, oid: ObjectId, keys: list[str]) -> Transaction:
        """Remove omap keys."""
        return self.append(OmapRemoveKeys(cid, oid, keys))

    def omap_rmkeyrange(self, cid: str, oid: ObjectId, start: str, end: str) -> Transaction:
        """Remove omap keys in `[start, end)`."""
        return self.append(OmapRemoveRange(cid, oid, start, end))

    def omap_clear(self, cid: str, oid: ObjectId) -> Transaction:
        """Remove every omap key and the header."""
        return self.append(OmapClearAll(cid, oid))

    def omap_setheader(self, cid: str, oid: ObjectId, data: bytes) -> Transaction:
        """Set the omap header."""
        return self.append(OmapSetHeader(cid, oid, data))

    def set_object_info(
        self, cid: str, oid: ObjectId, version: Eversion, mtime_ns: int
    ) -> Transaction:
        """Stamp version and mtime."""
        return self.append(SetObjectInfo(cid, oid, version, mtime_ns))

    def pglog_append(self, cid: str, version: Eversion, entry: bytes) -> Transaction:
        """Add a PG log entry."""
        return self.append(PgLogAppend(cid, version, entry))

    def pglog_trim(self, cid: str, upto: Eversion) -> Transaction:
        """Drop PG log entries up to `upto`."""
        return self.append(PgLogTrim(cid, upto))

    def set_pginfo(self, cid: str, info: bytes) -> Transaction:
        """Replace the PG info."""
        return self.append(SetPgInfo(cid, info))

    def set_meta(self, key: str, value: bytes) -> Transaction:
        """Set a store-wide key."""
        return self.append(SetMeta(key, value))

    def encode(self) -> bytes:
        """msgpack, for sending to replicas."""
        return _encoder.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """Decode and validate; raises `msgspec.ValidationError`/`DecodeError`."""
        return _decoder.decode(data)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Transaction)
