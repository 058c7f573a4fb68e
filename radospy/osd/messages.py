"""OSD wire messages (type ids 0x0200-0x02ff): client ops, replication, listing.

A client sends `OSDOp` to what its map says is the PG's primary and gets `OSDOpReply`.
The primary replicates a write to the other acting OSDs as `RepOp` (the store
transaction it built plus the PG log entry) and answers the client once every
`RepOpReply` says committed. An OSD that is not the primary under its map, or whose map
is older than the client's, answers `OSDRetry` instead: the client refreshes its map to
at least `map_epoch`, recomputes the placement and sends again under the same reqid, so
the PG log recognises the op if it was applied after all.

`PGList` pages through one PG's objects on its primary (librados' `pgls`): listing a
pool is listing its PGs one after the other.

Peering and recovery (see `radospy.osd.recovery`): the primary asks each OSD of the
prior set `PGQuery` (answered `PGNotify`), activates each member with `PGActivate`
(answered with the member's missing set), pulls what it misses itself with `PGPull`,
pushes objects with `PGPush`, and backfills itself from another OSD with `PGScan`.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec

from radospy.common.eversion import Eversion
from radospy.common.osdop import AnyOpResult, AnyOpResultView, OsdOp, ReadData
from radospy.common.types import ReqId
from radospy.msg.frame import BytesLike
from radospy.msg.messages import BULK_MARK, BULK_MIN, REGISTRY, Message, message
from radospy.osd.objectstore.transaction import Transaction, WriteData
from radospy.osd.objectstore.types import NOSNAP, ObjectId
from radospy.osd.peering import PastInterval
from radospy.osd.scrub import ScrubObject

_U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
_POOL = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
_SNAP = Annotated[int, msgspec.Meta(ge=0)]
"""A snap id: up to `NOSNAP`, past int64 (msgspec bounds stop at int64)."""

OP_FLAG_RETRY = 0x1
"""`OSDOp.flags`: this is a resend (after a map change or a reconnect)."""


class ObjectLocator(msgspec.Struct, frozen=True, array_like=True):
    """Where an object is: pool, namespace, name, and the locator key placement hashes
    instead of the name when it is set (`object_locator_t` + name)."""

    pool: _POOL
    nspace: str
    name: str
    key: str = ""


@message(0x0200)
class OSDOp(Message):
    """A client's ops on one object, executed in order and atomically by the primary.

    `pg_seed` is the PG (folded into the pool's `pg_num`) the client computed;
    `map_epoch` the epoch it computed it with. `snap_seq`/`snaps` are the write snap
    context (self-managed snapshots; newest first), `snap` the snapshot a read reads
    (`NOSNAP`: the head).
    """

    reqid: ReqId
    pg_seed: _U32
    loc: ObjectLocator
    ops: list[OsdOp]
    map_epoch: _U32
    flags: int = 0
    snap_seq: _SNAP = 0
    snaps: list[_SNAP] = msgspec.field(default_factory=list)
    snap: _SNAP = NOSNAP


_Item = TypeVar("_Item", bound=msgspec.Struct)


def _lift_bulks(
    items: list[_Item], carrier: type[ReadData] | type[WriteData]
) -> tuple[list[_Item], list[BytesLike]]:
    """``items`` with the data of each ``carrier`` of `BULK_MIN` bytes or more replaced
    by `BULK_MARK`, and those data in order: what `Message.split_bulk` sends apart."""
    bulks: list[BytesLike] = []
    lifted: list[_Item] = []
    for item in items:
        if isinstance(item, carrier) and len(item.data) >= BULK_MIN:
            bulks.append(item.data)
            item = msgspec.structs.replace(item, data=BULK_MARK)
        lifted.append(item)
    return lifted, bulks


@message(0x0201)
class OSDOpReply(Message):
    """The outcome: `rc` 0 or the first failing op's negative errno, one result per op
    (empty for a resent write answered from the PG log), and the version the write got
    (`user_version` is what librados' `get_last_version` returns)."""

    rc: int
    results: list[AnyOpResult]
    version: Eversion = Eversion()
    user_version: int = 0

    def split_bulk(self) -> tuple[Message, list[BytesLike]] | None:
        """Read data of `BULK_MIN` bytes or more goes on the wire from the buffer the
        store read it into, not copied into the encoded reply first."""
        results, bulks = _lift_bulks(self.results, ReadData)
        if not bulks:
            return None
        return msgspec.structs.replace(self, results=results), bulks


class OSDOpReplyView(OSDOpReply):
    """`OSDOpReply` with read data as views into the frame (`ReadDataView`): what the
    client's objecter decodes a reply as when its caller takes the data without a
    copy (`AsyncIoctx.read_view`)."""

    results: list[AnyOpResultView]  # type: ignore[assignment]


REGISTRY.register_view(OSDOpReplyView)


@message(0x0202)
class OSDRetry(Message):
    """Not served here: refresh the map to at least `map_epoch` and send again.

    Answers `OSDOp` and `PGList` sent to an OSD that is not the PG's primary, or with
    a map older than the OSD's (`reason` says which, for logs)."""

    map_epoch: _U32
    reason: str = ""


@message(0x0203)
class RepOp(Message):
    """Primary → replica: apply `txn` (the store Transaction, which also appends the PG
    log entry) for PG `pool.pg_seed` at `version`, and say when it is durable.

    The transaction travels as a nested struct, not as bytes encoded beforehand: its
    data is encoded once per replica and decoded once, validated, into the structs the
    store applies (a 4 MiB write is copied two times fewer on each side)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    version: Eversion
    txn: Transaction
    log_entry: bytes
    prev_version: Eversion = Eversion(0, 0)
    """The primary's log head before this entry: a replica applies the PG's writes in
    version order, this one after that one (several may be in flight at once)."""

    def split_bulk(self) -> tuple[Message, list[BytesLike]] | None:
        """Write data of `BULK_MIN` bytes or more goes on the wire from the buffer the
        primary applies (the client's data), not copied into the encoded RepOp: the
        primary holds one copy of a 4 MiB write, not two (msgspec's encoding of it is
        a 6 MiB allocation)."""
        ops, bulks = _lift_bulks(self.txn.ops, WriteData)
        if not bulks:
            return None
        return msgspec.structs.replace(self, txn=Transaction(ops)), bulks


@message(0x0204)
class RepOpReply(Message):
    """Replica → primary: `rc` 0 once the transaction is committed durably."""

    pool: _POOL
    pg_seed: _U32
    version: Eversion
    rc: int = 0


class ListEntry(msgspec.Struct, frozen=True, array_like=True):
    """One object of a listing: namespace, name, locator key."""

    nspace: str
    name: str
    key: str = ""


@message(0x0205)
class PGList(Message):
    """List up to `max_entries` objects of PG `pool.pg_seed` after the cursor
    (`after_nspace`, `after_name`; both empty to start), in namespace `nspace`, or in
    every namespace when `all_nspaces`."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    nspace: str = ""
    all_nspaces: bool = False
    after_nspace: str = ""
    after_name: str = ""
    max_entries: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1024


@message(0x0206)
class PGListReply(Message):
    """A page of a PG listing; `done` when the PG has nothing after the last entry."""

    entries: list[ListEntry]
    done: bool


@message(0x0207)
class PGQueryCmd(Message):
    """`ceph pg PGID query`: ask PG `pool.pg_seed`'s primary for its peering state."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32


@message(0x0208)
class PGQueryCmdReply(Message):
    """The primary's answer: Ceph's `pg query` JSON document."""

    json: str


# --- peering and recovery (primary ↔ the other OSDs of a PG) ----------------------------


@message(0x0210)
class PGQuery(Message):
    """Primary → OSD: what do you hold of PG `pool.pg_seed`? (GetInfo + GetLog +
    GetMissing in one round.)"""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32


@message(0x0211)
class PGNotify(Message):
    """The answer to `PGQuery`: the OSD's encoded `PgInfo`, `PgLog` and `PgMissing`
    (all empty when it has no copy of the PG), the past intervals it recorded and the
    read leases it granted."""

    info: bytes = b""
    log: bytes = b""
    missing: bytes = b""
    past_intervals: list[PastInterval] = msgspec.field(default_factory=list)
    lease_spans: dict[int, float] = msgspec.field(default_factory=dict)
    """Read leases this OSD granted that may still run: OSD -> seconds left at most
    (radospy.osd.read_lease); the new primary waits out its predecessors'."""


@message(0x0212)
class PGActivate(Message):
    """Primary → member after peering: adopt the authoritative `log` and `info`
    (encoded). A log-recovery member merges the log into its own; a backfill member
    (`backfill`) drops its objects and starts over empty."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    info: bytes
    log: bytes
    backfill: bool = False


@message(0x0213)
class PGActivateReply(Message):
    """The member's missing set once it merged the log (encoded `PgMissing`)."""

    missing: bytes


class ObjectState(msgspec.Struct, frozen=True, array_like=True):
    """An object's whole content, as recovery copies it."""

    data: bytes
    xattrs: dict[str, bytes]
    omap: dict[str, bytes]
    omap_header: bytes
    version: Eversion
    mtime_ns: int


@message(0x0214)
class PGPull(Message):
    """Primary → OSD holding an object the primary misses: send it (`PGPush` back)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    oid: ObjectId


@message(0x0215)
class PGPush(Message):
    """An object's content (`state`, or None: the object does not exist) for PG
    `pool.pg_seed`: the answer to `PGPull`, or primary → member recovering it. A head
    recovered by log comes with `snaps`, its SnapSet object and clones (each None when
    absent): the member stores them in one transaction with the head, so the head is
    never up to date without them."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    oid: ObjectId
    state: ObjectState | None
    snaps: list[tuple[ObjectId, ObjectState | None]] = msgspec.field(default_factory=list)


@message(0x0217)
class PGScan(Message):
    """Primary backfilling itself → the authoritative OSD: the next `max_entries`
    objects of the PG after `after` (None: from the start), in object order."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    after: ObjectId | None = None
    max_entries: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 256


@message(0x0218)
class PGScanReply(Message):
    """A page of `PGScan`: the objects, and `done` when nothing follows."""

    objects: list[ObjectId]
    done: bool


@message(0x0219)
class PGBackfillDone(Message):
    """Primary → backfill target: every object up to `last_backfill` is copied (None:
    all of them; the copy is complete)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    last_backfill: ObjectId | None = None


@message(0x021F)
class PGRemove(Message):
    """Primary → stray: the PG is clean without this OSD's copy; delete it unless the
    PG is mapped here again (Ceph's ``MOSDPGRemove`` when strays are purged)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32


@message(0x0220)
class PGActivated(Message):
    """Primary → member once every member activated and committed: the PG went active
    in `last_epoch_started`, which the member records in its history (Ceph's
    ``share_pg_info`` after ``AllReplicasActivated``). Answered with `PGAck`."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    last_epoch_started: _U32


@message(0x021A)
class PGAck(Message):
    """A member's plain acknowledgement of a peering or recovery message."""


# --- scrub (primary ↔ replicas; client → primary) ---------------------------------------


@message(0x021B)
class PGScrubMap(Message):
    """Primary → acting OSD: describe the PG's objects after `start` (None: from the
    first) up to and including `end` (None: to the last), reading data and omap back
    when `deep` (Ceph's ``MOSDRepScrub``)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32
    start: ObjectId | None
    end: ObjectId | None
    deep: bool = False


@message(0x021C)
class PGScrubMapReply(Message):
    """The answer to `PGScrubMap`: one entry per object held (``MOSDRepScrubMap``)."""

    objects: list[ScrubObject]


@message(0x021D)
class PGScrubLs(Message):
    """Client → primary: the inconsistencies the PG's last scrub found
    (``rados list-inconsistent-obj``)."""

    pool: _POOL
    pg_seed: _U32
    map_epoch: _U32


@message(0x021E)
class PGScrubLsReply(Message):
    """The scrub's map epoch and its ``inconsistents`` entries (JSON, as listed)."""

    epoch: _U32
    inconsistents: bytes
