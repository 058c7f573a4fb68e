"""Scrub in the OSD: the asyncio shell around ``radospy.osd.scrub``.

The primary of an active+clean PG scrubs it when the schedule says so or a monitor
orders it (``ceph pg scrub|deep-scrub|repair``, ``ceph osd scrub N``), at most
``osd_max_scrubs`` PGs at a time. It walks the PG in chunks of up to
``osd_scrub_chunk_max`` objects (``osd_scrub_chunk_min`` once a write had to wait): a
chunk is fixed under the PG's op lock (so no write to it is in flight), writes to
objects in it wait until it is done while writes to every other object flow, each
acting OSD describes its copy of the chunk (``PGScrubMap``), and
``scrub.compare_maps`` names the inconsistencies. A repair then copies the
authoritative copy over the bad ones with recovery's push (pulling it first when the
primary's own copy is the bad one). ``osd_scrub_sleep`` separates chunks.

What a scrub found is kept with its stamps in the store (meta key ``scrub.<pgid>``), so
``inconsistent`` and ``rados list-inconsistent-obj`` survive a restart of the primary,
and reported to the monitors with the PG's stats.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from errno import EAGAIN, ENOENT
from typing import TYPE_CHECKING

import msgspec

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.mon.messages import OsdScrubOrder
from radospy.osd.messages import (
    ObjectState,
    PGPull,
    PGPush,
    PGScrubLsReply,
    PGScrubMap,
    PGScrubMapReply,
)
from radospy.osd.objectstore import ObjectId, ObjectStore, StoreError, Transaction
from radospy.osd.peering import PgState
from radospy.osd.recovery import QUERY_TIMEOUT, put_object, read_object
from radospy.osd.scrub import (
    Chunk,
    Due,
    Flags,
    Inconsistency,
    ScrubKind,
    ScrubObject,
    ScrubRecord,
    ScrubSchedule,
    compare_maps,
    digest,
    next_chunk,
    omap_digest,
    periodic_kind,
    requested_kind,
    scrub_due,
)
from radospy.osdmap.osdmap import MapFlag
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import PoolFlag

if TYPE_CHECKING:
    from radospy.osd.daemon import PG, OsdDaemon

log = logging.getLogger("radospy.osd.scrub")

READ_STEP = 1 << 20
"""Bytes a deep scrub reads at a time."""
TICK = 5.0
"""Seconds between looks at the schedule (an order wakes the loop at once)."""
_LIST_PAGE = 1024


def record_key(cid: str) -> str:
    """The store meta key of a PG's scrub record."""
    return f"scrub.{cid}"


def load_record(store: ObjectStore, cid: str) -> ScrubRecord | None:
    """A PG's stored scrub record (None: none, or unreadable)."""
    raw = store.get_meta(record_key(cid))
    if raw is None:
        return None
    try:
        return msgspec.msgpack.decode(raw, type=ScrubRecord)
    except msgspec.DecodeError:
        log.warning("scrub record of pg %s is unreadable; starting afresh", cid)
        return None


def describe_object(store: ObjectStore, cid: str, oid: ObjectId, deep: bool) -> ScrubObject | None:
    """One object as this OSD holds it (None: gone meanwhile); a deep look reads data
    and omap back, and a failed extent checksum makes it a read error."""
    stat = store.stat(cid, oid)
    if stat is None:
        return None
    try:
        attrs = store.getxattrs(cid, oid)
        if not deep:
            return ScrubObject(oid, stat.size, stat.version, attrs)
        data = 0xFFFFFFFF
        for offset in range(0, stat.size, READ_STEP):
            data = digest(store.read(cid, oid, offset, READ_STEP), data)
        omap = omap_digest(store.omap_get_header(cid, oid), store.omap_iter(cid, oid))
    except StoreError as exc:
        log.warning("scrub: pg %s object %s: %s", cid, oid, exc)
        return ScrubObject(oid, stat.size, stat.version, {}, read_error=True)
    return ScrubObject(oid, stat.size, stat.version, attrs, data, omap)


def build_scrub_map(
    store: ObjectStore, cid: str, start: ObjectId | None, end: ObjectId | None, deep: bool
) -> list[ScrubObject]:
    """This OSD's scrub map of a chunk: every object after ``start`` up to ``end``."""
    out: list[ScrubObject] = []
    after = start
    while True:
        page = store.list_objects(cid, after=after, limit=_LIST_PAGE)
        for oid in page:
            if end is not None and oid > end:
                return out
            obj = describe_object(store, cid, oid, deep)
            if obj is not None:
                out.append(obj)
        if len(page) < _LIST_PAGE:
            return out
        after = page[-1]


class Scrubber:
    """Scrub scheduling, chunked scrubs and repair for the PGs of one OSD."""

    def __init__(
        self, osd: OsdDaemon, sched: ScrubSchedule, rand: Callable[[], float] = random.random
    ) -> None:
        self.osd = osd
        self.sched = sched
        self._rand = rand
        self._slots = asyncio.Semaphore(max(sched.max_scrubs, 1))
        self._wake = asyncio.Event()
        self.requested: dict[PgId, ScrubKind] = {}
        self.records: dict[PgId, ScrubRecord] = {}
        self.scrubbing: dict[PgId, ScrubKind] = {}
        self.chunks: dict[PgId, Chunk] = {}
        self._due: dict[PgId, Due] = {}
        self._preempted: set[PgId] = set()
        self._unsaved: dict[str, ScrubRecord] = {}

    # --- what the rest of the OSD asks -------------------------------------------------

    def record(self, pg: PG) -> ScrubRecord:
        """The PG's scrub record, loaded from the store the first time. A PG without
        one counts as scrubbed now (Ceph stamps a new PG at creation), so it is not
        reported overdue at once; that first record is saved at the next look at the
        schedule, so a restart does not push it out again."""
        record = self.records.get(pg.pgid)
        if record is None:
            record = load_record(self.osd.store, pg.cid)
            if record is None:
                now = time.time()
                record = ScrubRecord(last_scrub_stamp=now, last_deep_scrub_stamp=now)
                self._unsaved[pg.cid] = record
            self.records[pg.pgid] = record
        return record

    def state_bits(self, pg: PG) -> PgState:
        """The scrub bits of the PG's state: scrubbing(+deep)(+repair), inconsistent."""
        bits = PgState(0)
        kind = self.scrubbing.get(pg.pgid)
        if kind is not None:
            bits |= PgState.SCRUBBING
            if kind.deep:
                bits |= PgState.DEEP_SCRUB
            if kind is ScrubKind.REPAIR:
                bits |= PgState.REPAIR
        if self.record(pg).num_scrub_errors:
            bits |= PgState.INCONSISTENT
        return bits

    def blocks(self, pg: PG, oid: ObjectId) -> bool:
        """Whether a write to ``oid`` must wait for the chunk being scrubbed."""
        chunk = self.chunks.get(pg.pgid)
        return chunk is not None and chunk.covers(oid)

    async def wait_unblocked(self, pg: PG, oid: ObjectId) -> None:
        """Wait until no scrubbed chunk holds ``oid``. A write that had to wait makes
        the rest of that scrub go in ``osd_scrub_chunk_min`` chunks (as Ceph's
        preempted scrubs shrink theirs), so writers wait less."""
        osd = self.osd
        if self.blocks(pg, oid):
            self._preempted.add(pg.pgid)
        async with osd._map_changed:
            await osd._map_changed.wait_for(lambda: not self.blocks(pg, oid))

    def order(self, msg: OsdScrubOrder) -> None:
        """A monitor's order: scrub those PGs (all this OSD is primary of if none named)."""
        try:
            kind = ScrubKind(msg.kind)
        except ValueError:
            log.warning("%s: unknown scrub order '%s'", self.osd.entity, msg.kind)
            return
        pgids = [PgId(p, s) for p, s in msg.pgs] if msg.pgs else list(self.osd.pgs)
        for pgid in pgids:
            pg = self.osd.pgs.get(pgid)
            if pg is not None and pg.primary == self.osd.whoami:
                # A repair or deep scrub asked for is not weakened by a later plain one.
                if self.requested.get(pgid) not in (ScrubKind.REPAIR, ScrubKind.DEEP):
                    self.requested[pgid] = kind
                log.info("%s: pg %s: %s ordered", self.osd.entity, pgid, kind.value)
        self._wake.set()

    # --- the schedule --------------------------------------------------------------------

    async def run(self) -> None:
        """Start the scrubs that are due or ordered, forever."""
        while True:
            self._start_due()
            self._wake.clear()
            try:
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _save_new_records(self) -> None:
        unsaved, self._unsaved = self._unsaved, {}
        txn = Transaction()
        for cid, record in unsaved.items():
            txn.set_meta(record_key(cid), msgspec.msgpack.encode(record))
        try:
            await asyncio.to_thread(self.osd.store.apply, txn)
        except StoreError as exc:
            log.warning("%s: scrub records not saved: %s", self.osd.entity, exc)

    def _start_due(self) -> None:
        osd = self.osd
        if self._unsaved:
            osd._spawn(self._save_new_records())
        osdmap = osd.osdmap
        if osdmap is None:
            return
        now = time.time()
        for pgid, pg in list(osd.pgs.items()):
            if pg.primary != osd.whoami or pgid in self.scrubbing:
                continue
            if not (pg.active and pg.state & PgState.CLEAN) or pgid.pool not in osdmap.pools:
                continue
            pool = osdmap.pools[pgid.pool]
            flags = Flags(
                bool(osdmap.flags & MapFlag.NOSCRUB or pool.flags & PoolFlag.NOSCRUB),
                bool(osdmap.flags & MapFlag.NODEEP_SCRUB or pool.flags & PoolFlag.NODEEP_SCRUB),
            )
            record = self.record(pg)
            wanted = self.requested.pop(pgid, None)
            if wanted is not None:
                kind: ScrubKind | None = requested_kind(wanted, record, self.sched, flags, now)
            else:
                due = self._due.get(pgid)
                if due is None:
                    # Drawn once per scrub, so the randomised time does not creep.
                    due = scrub_due(record.last_scrub_stamp, self.sched, self._rand)
                    self._due[pgid] = due
                kind = periodic_kind(record, due, self.sched, flags, now)
            if kind is None:
                continue
            self.scrubbing[pgid] = kind
            osd._spawn(self._scrub(pg, kind, wanted))

    # --- a scrub ---------------------------------------------------------------------------

    async def _scrub(self, pg: PG, kind: ScrubKind, wanted: ScrubKind | None) -> None:
        """Scrub ``pg``; an ordered scrub (``wanted``) that fails is ordered again, to
        be retried at the next look (a member may have been restarting)."""
        osd = self.osd
        interval = pg.interval_start
        try:
            async with self._slots:
                if pg.interval_start != interval or pg.primary != osd.whoami:
                    return
                log.info("%s: pg %s %s starts", osd.entity, pg.pgid, kind.value)
                begun = pg.last_update
                found, fixed = await self._walk(pg, interval, kind)
                await self._finish(pg, kind, begun, found, fixed)
        except (RadosError, OSError, TimeoutError) as exc:
            log.warning("%s: pg %s %s stopped: %s", osd.entity, pg.pgid, kind.value, exc)
            if wanted is not None and pg.primary == osd.whoami:
                self.requested.setdefault(pg.pgid, wanted)
        finally:
            self.scrubbing.pop(pg.pgid, None)
            self._due.pop(pg.pgid, None)
            self._preempted.discard(pg.pgid)
            self._release(pg)

    async def _walk(
        self, pg: PG, interval: int, kind: ScrubKind
    ) -> tuple[list[Inconsistency], int]:
        """Every chunk in turn; the inconsistencies left, and how many were repaired."""
        store = self.osd.store
        found: list[Inconsistency] = []
        fixed = 0
        cursor: ObjectId | None = None
        while True:
            async with pg.lock:
                if pg.interval_start != interval:
                    raise RadosError(f"pg {pg.pgid} changed interval", EAGAIN)
                size = self.sched.chunk_max
                if pg.pgid in self._preempted:
                    size = min(self.sched.chunk_min, size)
                listed = store.list_objects(pg.cid, after=cursor, limit=size)
                chunk = next_chunk(listed, cursor, size)
                # Set under the op lock: no write to the chunk is in flight from here.
                self.chunks[pg.pgid] = chunk
            try:
                errors = await self._scrub_chunk(pg, chunk, kind)
                if pg.interval_start != interval:
                    # Maps taken across a change of members compare nothing sound.
                    raise RadosError(f"pg {pg.pgid} changed interval", EAGAIN)
                if kind is ScrubKind.REPAIR:
                    repaired = await self._repair(pg, errors)
                    fixed += len(repaired)
                    errors = [e for e in errors if e.oid not in repaired]
                found += errors
            finally:
                self._release(pg)
            if chunk.end is None:
                return found, fixed
            cursor = chunk.end
            if self.sched.sleep:
                await asyncio.sleep(self.sched.sleep)

    def _release(self, pg: PG) -> None:
        if self.chunks.pop(pg.pgid, None) is not None:
            osd = self.osd

            async def notify() -> None:
                async with osd._map_changed:
                    osd._map_changed.notify_all()

            osd._spawn(notify())

    async def _scrub_chunk(self, pg: PG, chunk: Chunk, kind: ScrubKind) -> list[Inconsistency]:
        osd = self.osd
        me = osd.whoami
        acting = [o for o in pg.acting if o >= 0]
        request = PGScrubMap(
            pg.pgid.pool, pg.pgid.seed, osd.epoch, chunk.start, chunk.end, kind.deep
        )
        others = [o for o in acting if o != me]
        own, *replies = await asyncio.gather(
            asyncio.to_thread(
                build_scrub_map, osd.store, pg.cid, chunk.start, chunk.end, kind.deep
            ),
            *(osd.osd_request(o, request, QUERY_TIMEOUT) for o in others),
        )
        maps: dict[int, list[ScrubObject]] = {me: own}
        for o, reply in zip(others, replies, strict=True):
            if not isinstance(reply, PGScrubMapReply):
                raise RadosError(f"osd.{o} answered {type(reply).__name__}", EAGAIN)
            maps[o] = reply.objects
        return compare_maps(maps, acting, me, kind.deep)

    async def _repair(self, pg: PG, errors: list[Inconsistency]) -> set[ObjectId]:
        """Copy each object's authoritative copy over its bad ones; what was repaired."""
        osd = self.osd
        me = osd.whoami
        repaired: set[ObjectId] = set()
        for found in errors:
            if found.auth is None:
                continue
            state: ObjectState | None
            if found.auth == me:
                state = await asyncio.to_thread(read_object, osd.store, pg.cid, found.oid)
            else:
                pull = PGPull(pg.pgid.pool, pg.pgid.seed, osd.epoch, found.oid)
                reply = await osd.osd_request(found.auth, pull, QUERY_TIMEOUT)
                if not isinstance(reply, PGPush):
                    raise RadosError(f"osd.{found.auth} answered {type(reply).__name__}", EAGAIN)
                state = reply.state
            for target in found.bad:
                if target == me:
                    exists = osd.store.stat(pg.cid, found.oid) is not None
                    txn = put_object(Transaction(), pg.cid, found.oid, state, exists)
                    await asyncio.to_thread(osd.store.apply, txn)
                else:
                    await osd.recovery._push(pg, target, found.oid, state)
            log.info("%s: pg %s repaired %s on %s", osd.entity, pg.pgid, found.oid,
                     ", ".join(f"osd.{o}" for o in found.bad))  # fmt: skip
            repaired.add(found.oid)
        return repaired

    async def _finish(
        self, pg: PG, kind: ScrubKind, begun: Eversion, found: list[Inconsistency], fixed: int
    ) -> None:
        osd = self.osd
        now = time.time()
        old = self.record(pg)
        record = msgspec.structs.replace(
            old,
            last_scrub=begun,
            last_scrub_stamp=now,
            num_scrub_errors=len(found),
            scrub_epoch=osd.epoch,
            inconsistents=[f.to_json(pg.pgid.pool) for f in found],
        )
        if kind.deep:
            record = msgspec.structs.replace(
                record, last_deep_scrub=record.last_scrub, last_deep_scrub_stamp=now
            )
        txn = Transaction().set_meta(record_key(pg.cid), msgspec.msgpack.encode(record))
        await asyncio.to_thread(osd.store.apply, txn)
        self.records[pg.pgid] = record
        what = "deep-scrub" if kind is ScrubKind.DEEP else kind.value
        if kind is ScrubKind.REPAIR:
            total = len(found) + fixed
            log.warning("%s: pg %s repair %d errors, %d fixed", osd.entity, pg.pgid, total, fixed)
        elif found:
            log.warning("%s: pg %s %s %d errors", osd.entity, pg.pgid, what, len(found))
        else:
            log.info("%s: pg %s %s ok", osd.entity, pg.pgid, what)

    # --- answering -----------------------------------------------------------------------

    async def handle_map(self, msg: PGScrubMap) -> PGScrubMapReply:
        """This OSD's scrub map of the chunk the primary asks for."""
        from radospy.osd.daemon import pg_collection

        osd = self.osd
        if msg.map_epoch > osd.epoch:
            await osd._wait_map(msg.map_epoch, QUERY_TIMEOUT)
        cid = pg_collection(PgId(msg.pool, msg.pg_seed))
        if not osd.store.collection_exists(cid):
            raise RadosError(f"pg {msg.pool}.{msg.pg_seed:x} is not here", ENOENT)
        objects = await asyncio.to_thread(
            build_scrub_map, osd.store, cid, msg.start, msg.end, msg.deep
        )
        return PGScrubMapReply(objects)

    def handle_ls(self, pg: PG) -> PGScrubLsReply:
        """What the PG's last scrub found, for ``rados list-inconsistent-obj``."""
        record = self.record(pg)
        body = json.dumps(record.inconsistents).encode()
        return PGScrubLsReply(record.scrub_epoch, body)
