"""The librados op vocabulary, shared by the client and the OSD.

A client request on one object is a list of ops (`OsdOp`) executed in order and
atomically by the object's primary OSD, the way Ceph's `MOSDOp` carries a vector of
`OSDOp`. Each op is a frozen msgspec Struct encoded as a msgpack array whose first
element is the op's tag (`["write", 0, b"..", 0]`), so a decoded list is typed and
validated at the messenger boundary. Every op carries `flags` (`OpFlag.FAILOK` lets its
failure not fail the whole request).

Each executed op yields one `OpResult`, whose `rc` is 0 or a negative Ceph errno; read
ops fill their payload fields. The errno constants below are the ones the OSD answers
with, under Ceph's names.

Semantics follow Ceph's `PrimaryLogPG::do_osd_ops` (see `radospy.osd.ops`).
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum, IntFlag
from typing import Annotated

import msgspec

ENOENT = _errno.ENOENT
EEXIST = _errno.EEXIST
EINVAL = _errno.EINVAL
EIO = _errno.EIO
EFBIG = _errno.EFBIG
ERANGE = _errno.ERANGE
EOVERFLOW = _errno.EOVERFLOW
ECANCELED = _errno.ECANCELED
ENODATA = _errno.ENODATA
ENAMETOOLONG = _errno.ENAMETOOLONG
EOPNOTSUPP = _errno.EOPNOTSUPP
EDQUOT = _errno.EDQUOT
ENOSPC = _errno.ENOSPC
EAGAIN = _errno.EAGAIN

# librados `MAX_ERRNO`: a failed cmpext answers `-MAX_ERRNO - mismatch_offset`.
MAX_ERRNO = 4095

# Offsets, lengths and counts: non-negative and within msgpack's int64, which is far
# past any object size the OSD accepts.
U64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
UNLIMITED = 2**63 - 1


class OpFlag(IntFlag):
    """Per-op flags (`LIBRADOS_OP_FLAG_*`, same bit values)."""

    EXCL = 0x1
    FAILOK = 0x2


class CmpOp(IntEnum):
    """Comparison operators of cmpxattr and omap_cmp (`CEPH_OSD_CMPXATTR_OP_*`)."""

    EQ = 1
    NE = 2
    GT = 3
    GTE = 4
    LT = 5
    LTE = 6


class CmpMode(IntEnum):
    """How cmpxattr reads the stored value (`CEPH_OSD_CMPXATTR_MODE_*`)."""

    STRING = 1
    U64 = 2


class Op(msgspec.Struct, frozen=True, array_like=True, tag=True, kw_only=True):
    """Base of every op; `flags` is an `OpFlag` bit set."""

    flags: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] = 0

    @property
    def failok(self) -> bool:
        """Whether a failure of this op leaves the rest of the request going."""
        return bool(self.flags & OpFlag.FAILOK)


# --- data writes -------------------------------------------------------------------


class Create(Op, tag="create"):
    """Create the object; with `exclusive`, fail with EEXIST when it exists."""

    exclusive: bool = False


class Write(Op, tag="write"):
    """Write `data` at `offset`, zero-filling any gap past the current size."""

    offset: U64
    data: bytes


class WriteFull(Op, tag="write_full"):
    """Replace the whole content with `data` (xattrs and omap are kept)."""

    data: bytes


class Append(Op, tag="append"):
    """Write `data` at the current end of the object."""

    data: bytes


class WriteSame(Op, tag="writesame"):
    """Write `length` bytes at `offset` by repeating `data`; `length` must be a multiple."""

    offset: U64
    length: U64
    data: bytes


class Zero(Op, tag="zero"):
    """Zero a range; a range reaching the end shrinks the object (as Ceph munges it)."""

    offset: U64
    length: U64


class Truncate(Op, tag="truncate"):
    """Set the size; growing fills with zeros. A missing object is left alone."""

    size: U64


class Remove(Op, tag="remove"):
    """Delete the object with its xattrs and omap; ENOENT when it does not exist."""


# --- data reads --------------------------------------------------------------------


class Read(Op, tag="read"):
    """Read up to `length` bytes at `offset`; 0 reads to the end. Short past the end."""

    offset: U64 = 0
    length: U64 = 0


class Stat(Op, tag="stat"):
    """Size and mtime; ENOENT when the object does not exist."""


class AssertExists(Op, tag="assert_exists"):
    """Fail with ENOENT unless the object exists (librados sends it as a stat)."""


class AssertVersion(Op, tag="assert_version"):
    """Fail unless the object's user version is `version`.

    ERANGE when `version` is older than the object's, EOVERFLOW when newer, EINVAL for 0.
    """

    version: U64


class CmpExt(Op, tag="cmpext"):
    """Compare `data` with the object at `offset` (past the end reads as zeros).

    A mismatch at byte i fails with `-MAX_ERRNO - i`.
    """

    offset: U64
    data: bytes


# --- xattrs ------------------------------------------------------------------------


class SetXattr(Op, tag="setxattr"):
    """Set one extended attribute, creating the object if needed."""

    name: str
    value: bytes


class GetXattr(Op, tag="getxattr"):
    """One attribute's value; ENODATA when it is not set."""

    name: str


class GetXattrs(Op, tag="getxattrs"):
    """All attributes, sorted by name."""


class RmXattr(Op, tag="rmxattr"):
    """Remove one attribute (absent is fine); ENOENT when the object does not exist."""

    name: str


class CmpXattr(Op, tag="cmpxattr"):
    """Guard: `value <op> stored` must hold, else ECANCELED. An unset attribute is empty.

    In STRING mode the bytes compare byte-wise; in U64 mode `value` is a decimal number
    and the stored value is read as one (`atoll`: 0 when unset or not a number).
    """

    name: str
    op: CmpOp
    value: bytes
    mode: CmpMode = CmpMode.STRING


# --- snapshots ---------------------------------------------------------------------


class Rollback(Op, tag="rollback"):
    """Make the head what it was at snap `snap` (removed if it did not exist then);
    the only op of its request (`CEPH_OSD_OP_ROLLBACK`)."""

    snap: U64


class ListSnaps(Op, tag="list_snaps"):
    """The object's clones and head (`CEPH_OSD_OP_LIST_SNAPS`); the only op of its
    request."""


# --- omap --------------------------------------------------------------------------


class OmapGetVals(Op, tag="omap_get_vals"):
    """Up to `max_return` pairs with keys after `start_after` starting with `filter_prefix`."""

    start_after: str = ""
    filter_prefix: str = ""
    max_return: U64 = UNLIMITED


class OmapGetKeys(Op, tag="omap_get_keys"):
    """Up to `max_return` keys after `start_after`."""

    start_after: str = ""
    max_return: U64 = UNLIMITED


class OmapGetValsByKeys(Op, tag="omap_get_vals_by_keys"):
    """The pairs among `keys` that are set."""

    keys: list[str]


class OmapGetHeader(Op, tag="omap_get_header"):
    """The omap header (empty when never set)."""


class OmapSet(Op, tag="omap_set"):
    """Set key/value pairs, creating the object if needed."""

    entries: dict[str, bytes]


class OmapSetHeader(Op, tag="omap_set_header"):
    """Set the omap header, creating the object if needed."""

    data: bytes


class OmapRmKeys(Op, tag="omap_rm_keys"):
    """Remove keys (absent ones are fine); ENOENT when the object does not exist."""

    keys: list[str]


class OmapRmRange(Op, tag="omap_rm_range"):
    """Remove every key in `[start, end)`; ENOENT when the object does not exist."""

    start: str
    end: str


class OmapClear(Op, tag="omap_clear"):
    """Remove every key and the header; ENOENT when the object does not exist."""


class OmapCmp(Op, tag="omap_cmp"):
    """Guard: `stored <op> value` must hold, else ECANCELED; an unset key is empty.

    Only EQ, LT and GT exist for omap (others give EINVAL), as in Ceph.
    """

    key: str
    value: bytes
    op: CmpOp


OsdOp = (
    Create
    | Write
    | WriteFull
    | Append
    | WriteSame
    | Zero
    | Truncate
    | Remove
    | Read
    | Stat
    | AssertExists
    | AssertVersion
    | CmpExt
    | SetXattr
    | GetXattr
    | GetXattrs
    | RmXattr
    | CmpXattr
    | OmapGetVals
    | OmapGetKeys
    | OmapGetValsByKeys
    | OmapGetHeader
    | OmapSet
    | OmapSetHeader
    | OmapRmKeys
    | OmapRmRange
    | OmapClear
    | OmapCmp
    | Rollback
    | ListSnaps
)

WRITE_OPS: frozenset[type[Op]] = frozenset(
    {
        Create,
        Write,
        WriteFull,
        Append,
        WriteSame,
        Zero,
        Truncate,
        Remove,
        SetXattr,
        RmXattr,
        OmapSet,
        OmapSetHeader,
        OmapRmKeys,
        OmapRmRange,
        OmapClear,
        Rollback,
    }
)


def is_write(op: Op) -> bool:
    """Whether `op` may modify the object."""
    return type(op) in WRITE_OPS


def may_write(ops: list[OsdOp]) -> bool:
    """Whether a request is a write request (it then needs a new version and a log entry)."""
    return any(is_write(op) for op in ops)


# --- results -----------------------------------------------------------------------


class OpResult(msgspec.Struct, frozen=True, array_like=True, tag=True, kw_only=True):
    """Base of every per-op result: `rc` is 0 or a negative errno."""

    rc: int = 0


class Status(OpResult, tag="status"):
    """The result of an op with no payload, or of any op that failed."""


class ReadData(OpResult, tag="data"):
    """Bytes read (read)."""

    data: bytes


class StatData(OpResult, tag="stat"):
    """Size in bytes and modification time in nanoseconds since the epoch (stat)."""

    size: int
    mtime_ns: int


class XattrValue(OpResult, tag="xattr"):
    """One attribute value (getxattr)."""

    value: bytes


class XattrMap(OpResult, tag="xattrs"):
    """Every attribute, by name in byte order (getxattrs)."""

    xattrs: dict[str, bytes]


class OmapVals(OpResult, tag="omap_vals"):
    """Omap pairs in key byte order; `more` when `max_return` cut the listing short."""

    entries: dict[str, bytes]
    more: bool = False


class OmapKeys(OpResult, tag="omap_keys"):
    """Omap keys in byte order; `more` when `max_return` cut the listing short."""

    keys: list[str]
    more: bool = False


class OmapHeader(OpResult, tag="omap_header"):
    """The omap header."""

    data: bytes


class CloneInfo(msgspec.Struct, frozen=True, array_like=True):
    """One clone of an object (`clone_info_t`): its id (`SNAP_HEAD` for the head), the
    snaps it stands for in ascending order, the extents it shares with the next newer
    clone or the head (offset, length), and its size."""

    cloneid: int
    snaps: list[int]
    overlap: list[tuple[int, int]]
    size: int


class SnapList(OpResult, tag="snaps"):
    """An object's clones, oldest first, then its head if it exists (list_snaps), and
    the newest snap id it was written under."""

    clones: list[CloneInfo]
    seq: int


AnyOpResult = (
    Status
    | ReadData
    | StatData
    | XattrValue
    | XattrMap
    | OmapVals
    | OmapKeys
    | OmapHeader
    | SnapList
)



class ReadDataView(ReadData, tag="data"):
    """`ReadData` as a client decodes it when it asked for views: `data` points into
    the reply's frame buffer instead of being copied out of it (a 4 MiB read)."""

    data: memoryview  # type: ignore[assignment]


# AnyOpResult's members but ReadDataView for ReadData (test_osdop checks they agree).
AnyOpResultView = (
    Status
    | ReadDataView
    | StatData
    | XattrValue
    | XattrMap
    | OmapVals
    | OmapKeys
    | OmapHeader
    | SnapList
)
"""`AnyOpResult` with read data decoded as views."""

_ops_encoder = msgspec.msgpack.Encoder()
_ops_decoder = msgspec.msgpack.Decoder(list[OsdOp])
_results_decoder = msgspec.msgpack.Decoder(list[AnyOpResult])


def encode_ops(ops: list[OsdOp]) -> bytes:
    """msgpack of a request's op list."""
    return _ops_encoder.encode(ops)


def decode_ops(data: bytes) -> list[OsdOp]:
    """Decode and validate an op list; raises `msgspec.ValidationError`/`DecodeError`."""
    return _ops_decoder.decode(data)


def encode_results(results: list[AnyOpResult]) -> bytes:
    """msgpack of a reply's per-op results."""
    return _ops_encoder.encode(results)


def decode_results(data: bytes) -> list[AnyOpResult]:
    """Decode and validate per-op results."""
    return _results_decoder.decode(data)
