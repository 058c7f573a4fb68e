"""Peering and recovery in the OSD: the asyncio shell around ``radospy.osd.peering``.

On every interval change of a PG whose primary it is, an OSD peers (``Recovery.peer``):

1. **GetInfo/GetLog/GetMissing** — ``PGQuery`` to the prior set and to every other up
   OSD (an OSD restarted since the PG was last clean has lost the past intervals it
   saw, so asking everyone that may hold a copy is what keeps acknowledged writes
   safe); each answers ``PGNotify`` with its info, log, missing set and the intervals
   it recorded, which the primary merges into its own.
2. **Choose** — ``peering.peer`` picks the authoritative log and plans each member.
   ``down``/``incomplete`` leave the PG inactive; it peers again every few seconds
   and on the next interval change.
3. **Primary first** — the primary merges the authoritative log (divergent objects
   removed) and pulls the objects it misses (``PGPull``), or, when its own copy is
   too old, backfills itself from the authoritative OSD (``PGScan`` + ``PGPull``).
4. **Activate** — first the primary makes sure the map has its ``up_thru`` at the
   interval's start (``osd alive``, Ceph's WaitUpThru), which is what tells later
   peering that this interval may have taken writes. Then each member gets the log
   (``PGActivate``): it merges it and says what it misses, or, when it needs
   backfill, drops its objects and starts empty.
   The PG is active from here: client ops flow.
5. **Recover** — in the background, the primary pushes (``PGPush``) what each member
   misses, oldest need first; then backfills its targets in object order
   (``osd_max_backfills`` PGs at a time). ``osd_recovery_max_active`` objects are in
   flight at once across the OSD's PGs, several of one PG too (one at a time with
   ``osd_recovery_sleep``, which pauses between them); a target commits the pushes it
   receives together (the store's group commit). A client op on an object still missing anywhere
   recovers that object first, under the PG's op lock, and waits for nothing else.
   A write to an object a backfill has not reached yet sends that target the log
   entry only (as Ceph does): the object arrives whole when the backfill gets there.
   ``norecover``/``nobackfill``/``norebalance`` pause the work until cleared.

Stores stay consistent across crashes: a member's ``last_complete`` lags its
``last_update`` while it misses objects, and ``load_missing`` rebuilds the missing
set at start-up by comparing the log with the stored versions; a backfill target
keeps ``last_backfill`` set until the backfill completes, so a crash mid-way restarts
it rather than trusting a partial copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from errno import EAGAIN, EINVAL, ENOENT
from typing import TYPE_CHECKING, Any

import msgspec

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.osd.messages import (
    ObjectState,
    PGAck,
    PGActivate,
    PGActivated,
    PGActivateReply,
    PGBackfillDone,
    PGNotify,
    PGPull,
    PGPush,
    PGQuery,
    PGRemove,
    PGScan,
    PGScanReply,
)
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.objectstore.transaction import PgLogAppend, PgLogTrim, SetPgInfo
from radospy.osd.objectstore.types import NOSNAP
from radospy.osd.peering import (
    BACKFILL_START,
    PeerReport,
    PgState,
    build_prior_set,
    merged_history,
    peer,
    pg_state,
    pg_state_string,
    record_started,
)
from radospy.osd.peering import (
    Recovery as Plan,
)
from radospy.osd.pglog import ZERO, PgHistory, PgInfo, PgLog, PgLogError, PgMissing
from radospy.osd.read_lease import prior_primaries, prior_readable_until_ub
from radospy.osd.removal_gate import RemovalGate
from radospy.osd.snap_txn import SNAPSET_ATTR, clone_of, snap_objects, snapdir_of
from radospy.osd.snaps import SNAPDIR, SnapSet
from radospy.osdmap.osdmap import MapFlag
from radospy.osdmap.pg import PgId

if TYPE_CHECKING:
    from radospy.osd.daemon import PG, OsdDaemon

log = logging.getLogger("radospy.osd.recovery")

LOG_END = Eversion(2**31 - 1, 2**62)
"""Past any version: trimming to it empties a PG's stored log before a rewrite."""
PEER_RETRY = 3.0
"""Seconds between peering attempts of a PG that is down, incomplete or unanswered."""
QUERY_TIMEOUT = 15.0
"""Seconds a peer has to answer a peering or recovery message."""
SCAN_BATCH = 64
"""Objects per backfill step."""
RETIRED = -1
"""``interval_start`` of a PG that left the OSD: no interval has it."""


# --- pure helpers ------------------------------------------------------------------------


def read_object(store: ObjectStore, cid: str, oid: ObjectId) -> ObjectState | None:
    """An object's whole content, or None when it does not exist."""
    stat = store.stat(cid, oid)
    if stat is None:
        return None
    return ObjectState(
        store.read(cid, oid),
        store.getxattrs(cid, oid),
        dict(store.omap_iter(cid, oid)),
        store.omap_get_header(cid, oid),
        stat.version,
        stat.mtime_ns,
    )


def put_object(
    txn: Transaction, cid: str, oid: ObjectId, state: ObjectState | None, exists: bool
) -> Transaction:
    """Steps that make ``oid`` exactly ``state`` (None: absent), whatever it was."""
    if exists:
        txn.remove(cid, oid)
    if state is None:
        return txn
    txn.touch(cid, oid)
    if state.data:
        txn.write(cid, oid, 0, state.data)
    if state.xattrs:
        txn.setattrs(cid, oid, dict(state.xattrs))
    if state.omap:
        txn.omap_setkeys(cid, oid, dict(state.omap))
    if state.omap_header:
        txn.omap_setheader(cid, oid, state.omap_header)
    return txn.set_object_info(cid, oid, state.version, state.mtime_ns)


def drop_stale_clones(
    store: ObjectStore, txn: Transaction, cid: str, oid: ObjectId, state: ObjectState | None
) -> Transaction:
    """When ``oid`` is a SnapSet object being recovered to ``state``: steps removing the
    clones this copy still holds that the SnapSet no longer lists (trimmed while this
    copy was away)."""
    if oid.snap != SNAPDIR:
        return txn
    raw = state.xattrs.get(SNAPSET_ATTR) if state is not None else None
    keep = set(SnapSet.decode(raw).clones) if raw is not None else set()
    first = ObjectId(oid.name, oid.nspace, 0)
    for other in store.list_objects(cid, after=first, limit=1 << 20, nspace=oid.nspace):
        if other.name != oid.name or other.snap >= NOSNAP:
            break
        if other.snap not in keep:
            txn.remove(cid, other)
    return txn


def past_intervals_key(cid: str) -> str:
    """The store meta key of a PG's past intervals (empty once the copy is removed)."""
    return f"past_intervals.{cid}"


def put_with_snaps(
    store: ObjectStore,
    txn: Transaction,
    cid: str,
    objects: Iterable[tuple[ObjectId, ObjectState | None]],
) -> Transaction:
    """Steps that make each of ``objects`` (a head, then its SnapSet object and clones)
    exactly its state, dropping the clones a recovered SnapSet no longer lists: one
    transaction, so a crash or an interval change never leaves the head recovered
    without its clones (the missing set, keyed by the head, would forget them).

    An object listed twice is put once (a SnapSet object recovered on its own comes
    again in its family): steps repeated in one transaction would remove a clone
    twice, which the store refuses."""
    for oid, state in dict(objects).items():
        put_object(txn, cid, oid, state, store.stat(cid, oid) is not None)
        drop_stale_clones(store, txn, cid, oid, state)
    return txn


def write_log(txn: Transaction, cid: str, pglog: PgLog, info: PgInfo) -> Transaction:
    """Steps that replace a PG's stored log and info with ``pglog`` and ``info``."""
    txn.pglog_trim(cid, LOG_END)
    for entry in pglog.entries:
        txn.pglog_append(cid, entry.version, entry.encode())
    return txn.set_pginfo(cid, info.encode())


def rebuild_missing(
    pglog: PgLog, info: PgInfo, stored: Callable[[ObjectId], Eversion | None]
) -> PgMissing:
    """The missing set of a copy from its log and what its store holds (as Ceph's
    ``read_log_and_missing``): every object the log changed after ``last_complete``
    whose stored version is not the newest logged one."""
    missing = PgMissing()
    if info.last_complete >= info.last_update:
        return missing
    newest: dict[ObjectId, Any] = {}
    for entry in pglog.entries_after(info.last_complete):
        if not entry.is_error:
            newest[entry.oid] = entry
    for oid, entry in newest.items():
        if entry.is_delete or not info.covers(oid):
            continue
        have = stored(oid)
        if have != entry.version:
            missing.add(oid, entry.version, have or ZERO)
    return missing


def load_missing(store: ObjectStore, cid: str, pglog: PgLog, info: PgInfo) -> PgMissing:
    """``rebuild_missing`` against the store."""

    def stored(oid: ObjectId) -> Eversion | None:
        stat = store.stat(cid, oid)
        return stat.version if stat is not None else None

    return rebuild_missing(pglog, info, stored)


def log_only(txn: Transaction) -> Transaction:
    """The PG log and info steps of a replicated transaction, without the object's:
    what a backfill target gets for an object the backfill has not reached."""
    return Transaction(
        [op for op in txn.ops if isinstance(op, PgLogAppend | PgLogTrim | SetPgInfo)]
    )


def recovery_window(missing: Iterable[PgMissing], size: int) -> list[ObjectId]:
    """The next ``size`` objects to recover: those some member misses, oldest need
    first (Ceph's order), each once."""
    need: dict[ObjectId, Eversion] = {}
    for member in missing:
        for oid, item in member.by_need():
            if oid not in need or item.need < need[oid]:
                need[oid] = item.need
    return sorted(need, key=lambda oid: (need[oid], oid))[:size]


def replica_info(primary_info: PgInfo, own: PgInfo, missing: PgMissing) -> PgInfo:
    """A member's info after applying a replicated write: the primary's, but its own
    ``last_complete`` while it still misses objects, its own ``last_backfill``, and its
    own history merged with the primary's (the interval epochs it computed from its
    maps stay, as Ceph's replicas merge the primary's ``pg_history_t``)."""
    last_complete = own.last_complete if len(missing) else primary_info.last_complete
    return msgspec.structs.replace(
        primary_info,
        last_complete=last_complete,
        last_backfill=own.last_backfill,
        history=own.history.merge(primary_info.history),
    )


@dataclass
class Throttle:
    """The OSD's recovery throttles (``osd_max_backfills``, ``osd_recovery_max_active``,
    ``osd_recovery_sleep``)."""

    max_backfills: int = 1
    recovery_max_active: int = 3
    recovery_sleep: float = 0.0


# --- the shell ---------------------------------------------------------------------------


class Recovery:
    """Peering, activation, recovery and backfill for the PGs of one OSD."""

    def __init__(self, osd: OsdDaemon, throttle: Throttle) -> None:
        self.osd = osd
        self.throttle = throttle
        self._backfills = asyncio.Semaphore(max(throttle.max_backfills, 1))
        self._active = asyncio.Semaphore(max(throttle.recovery_max_active, 1))
        self._up_thru_asked = 0
        """The newest epoch an ``osd alive`` was sent for."""
        self.removals = RemovalGate()
        """Orders deleting stray PG copies against taking a new map."""

    # --- map changes --------------------------------------------------------------------

    def interval_changed(self, pg: PG) -> None:
        """The PG entered a new interval: stop serving, and peer if primary here."""
        pg.active = False
        pg.peer_missing.clear()
        pg.backfill.clear()
        pg.prior, pg.peering_step, pg.blocked_by = None, "GetInfo", frozenset()
        if pg.task is not None:
            pg.task.cancel()
            pg.task = None
        if pg.primary == self.osd.whoami:
            pg.state = PgState.PEERING
            # Vital: a PG whose peering died on a bug would stay peering for good.
            pg.task = self.osd._spawn(self._peer_loop(pg, pg.interval_start), vital=True)
        else:
            pg.state = PgState(0)
        pg.stats.new_interval(pg.state, time.time())

    def stop(self, pg: PG) -> None:
        """The PG left this OSD: stop its peering and recovery, and retire this copy of
        its state (ops and replication waiting on it give up; should the PG come back,
        a fresh one is loaded from the store)."""
        if pg.task is not None:
            pg.task.cancel()
            pg.task = None
        pg.active = False
        pg.primary = -1
        pg.interval_start = RETIRED

    def serving(self, pg: PG) -> bool:
        """Whether client I/O may flow: active, with ``min_size`` complete acting members
        (a member being backfilled does not count until its backfill is done)."""
        complete = [o for o in pg.acting if o not in pg.backfill]
        return pg.active and len(complete) >= pg.view.min_size

    def degraded(self, pg: PG) -> bool:
        """Whether some member still misses objects or is being backfilled."""
        return bool(pg.backfill) or any(len(m) for m in pg.peer_missing.values())

    # --- primary: peering -----------------------------------------------------------------

    async def _peer_loop(self, pg: PG, interval: int) -> None:
        # Peering acts on the past intervals: they must be stored first, or a crash
        # would forget an interval this PG's peers were told about.
        await self.osd.wait_durable(interval)
        while pg.interval_start == interval:
            try:
                if await self._peer_once(pg, interval):
                    break
            except (RadosError, OSError, TimeoutError, PgLogError) as exc:
                log.warning("%s: pg %s peering failed: %s", self.osd.entity, pg.pgid, exc)
            await self.osd._wait_interval_change(pg, interval, timeout=PEER_RETRY)
        if pg.interval_start == interval and pg.active:
            await self._recover(pg, interval)

    async def _peer_once(self, pg: PG, interval: int) -> bool:
        osd = self.osd
        osdmap = osd.osdmap
        assert osdmap is not None
        view = pg.view
        me = osd.whoami
        les = pg.info.history.last_epoch_started
        pg.prior = build_prior_set(pg.past.intervals, view, osdmap.is_up, les)
        others = [o for o in range(osdmap.max_osd) if o != me and osdmap.is_up(o)]
        query = PGQuery(pg.pgid.pool, pg.pgid.seed, osd.epoch)
        answers = await asyncio.gather(
            osd.heartbeat.settle_leases(),
            *(osd.osd_request(o, query, QUERY_TIMEOUT) for o in others),
            return_exceptions=True,
        )
        answers = answers[1:]
        answered_at = time.monotonic()
        lease_spans = {me: osd.leases.spans(answered_at)}
        # A write of the previous interval may still hold the PG's lock, its entry not
        # yet in the log: our own report is taken once it is done.
        async with pg.lock:
            reports = {me: PeerReport(pg.info, pg.log.copy(), pg.missing.copy())}
        for o, answer in zip(others, answers, strict=True):
            if isinstance(answer, PGNotify):
                # An OSD without a copy is an empty one: a log from 0'0 catches it up.
                reports[o] = _decode_report(answer) if answer.info else _empty(pg.pgid)
                pg.past.merge(answer.past_intervals)
                lease_spans[o] = answer.lease_spans
            elif o in view.acting:
                log.info("%s: pg %s: osd.%d did not answer: %s", osd.entity, pg.pgid, o, answer)
                pg.peering_step, pg.blocked_by = "GetInfo", frozenset({o})
                return False
        members = {*view.acting, *view.up}
        pg.strays = {
            o for o, r in reports.items() if o not in members and not r.info.is_empty
        }
        # Rebuilt with the intervals the others recorded (merged above), back to the
        # newest epoch any copy says the PG went active in (Ceph rebuilds the prior
        # set when a notify moves last_epoch_started forward); intervals that ended
        # before it was last clean are dropped, as Ceph keeps them only back to then.
        history = merged_history(r.info.history for r in reports.values())
        await self.update_history(pg, interval, history)
        pg.past.trim(history.last_epoch_clean)
        prior = pg.prior = build_prior_set(
            pg.past.intervals, view, osdmap.is_up, history.last_epoch_started
        )
        result = peer(me, view, prior, reports, osd.epoch)
        pg.blocked_by = result.blocked_by
        if result.want_acting:
            pg.peering_step = "WaitActingChange"
            self._set_state(pg, result.state)
            want = list(result.want_acting)
            log.info("%s: pg %s asks for pg_temp %s", osd.entity, pg.pgid, want)
            await osd._mon("osd pg-temp", pgid=str(pg.pgid), id=want)
            return False
        if not result.ok:
            pg.peering_step = "Down" if result.state & PgState.DOWN else "Incomplete"
            self._set_state(pg, result.state)
            log.info(
                "%s: pg %s is %s%s",
                osd.entity,
                pg.pgid,
                pg_state_string(result.state),
                f" (blocked by {sorted(result.blocked_by)})" if result.blocked_by else "",
            )
            return False
        assert result.log is not None and result.info is not None
        # An interval whose start this OSD may have missed (it skipped epochs) began
        # at the latest in the current epoch: asking up_thru through it is safe.
        want = interval if pg.past.exact_start else max(interval, osd.epoch)
        if not await self._wait_up_thru(pg, interval, want):
            log.info("%s: pg %s waits for up_thru %d", osd.entity, pg.pgid, want)
            return False
        async with pg.lock:
            if pg.interval_start != interval:
                return True
            mine = result.members[me]
            if mine.recovery is Plan.BACKFILL:
                assert result.auth is not None
                await self._backfill_self(
                    pg, result.log, result.info, result.auth, mine.missing, result.sources
                )
            else:
                await self._merge_own(
                    pg, result.log, result.info, result.remove, mine.missing, result.sources,
                    result.auth,
                )  # fmt: skip
            for member, plan in result.members.items():
                if member == me:
                    continue
                backfill = plan.recovery is Plan.BACKFILL
                reply = await osd.osd_request(
                    member,
                    PGActivate(
                        pg.pgid.pool,
                        pg.pgid.seed,
                        osd.epoch,
                        plan.info.encode(),
                        pg.log.encode(),
                        backfill,
                    ),
                    QUERY_TIMEOUT,
                )
                if not isinstance(reply, PGActivateReply):
                    raise RadosError(f"osd.{member} answered {type(reply).__name__}", EAGAIN)
                if backfill:
                    pg.backfill[member] = BACKFILL_START
                else:
                    pg.peer_missing[member] = PgMissing.decode(reply.missing)
            if result.started:
                others = [m for m in result.members if m != me]
                await self._record_started(pg, result.started, others)
            # Serve only once the previous primaries' read leases ran out (Ceph's
            # WAIT state; radospy.osd.read_lease).
            waited = prior_primaries(pg.past.intervals, history.last_epoch_started, me)
            pg.wait_until = prior_readable_until_ub(
                waited, lease_spans, pg.past.intervals, answered_at, osd.leases.interval
            )
            osd.wake_at(pg.wait_until)
            pg.active = True
            self._update_state(pg)
            if time.monotonic() >= pg.readable_until:
                osd.heartbeat.ping_now()
        async with osd._map_changed:
            osd._map_changed.notify_all()
        log.info("%s: pg %s activated: %s", osd.entity, pg.pgid, pg_state_string(pg.state))
        return True

    async def update_history(self, pg: PG, interval: int, history: PgHistory) -> None:
        """Merge what the copies that answered know of the PG's history into this one's
        and store it, whether or not the PG then activates (Ceph's ``update_history``
        on each notify, written with the info): a restart, or the copy that knew of an
        activation or a clean epoch going away, does not make this primary forget it
        and look less far back than it must. Nothing is written when the history does
        not move, nor once ``interval`` is over."""
        if pg.info.history.merge(history) == pg.info.history:
            return
        async with pg.lock:
            if pg.interval_start != interval:
                return
            pg.info = msgspec.structs.replace(pg.info, history=pg.info.history.merge(history))
            txn = Transaction().set_pginfo(pg.cid, pg.info.encode())
            await asyncio.to_thread(self.osd.store.apply, txn)

    async def _record_started(self, pg: PG, epoch: int, members: list[int]) -> None:
        """Every member activated in ``epoch`` and committed it: record that in the
        PG's history here and on every member, before the PG serves (Ceph's
        ``AllReplicasActivated`` and ``share_pg_info``). Recorded any sooner, a crash
        of this primary mid-activation could leave a history that lets peering skip
        the intervals before, while a member that never activated still lacks what
        they hold."""
        osd = self.osd
        pg.info = record_started(pg.info, epoch)
        await asyncio.to_thread(osd.store.apply, Transaction().set_pginfo(pg.cid, pg.info.encode()))
        msg = PGActivated(pg.pgid.pool, pg.pgid.seed, osd.epoch, epoch)
        replies = await asyncio.gather(
            *(osd.osd_request(member, msg, QUERY_TIMEOUT) for member in members)
        )
        for member, reply in zip(members, replies, strict=True):
            if not isinstance(reply, PGAck):
                raise RadosError(f"osd.{member} answered {type(reply).__name__}", EAGAIN)

    async def _wait_up_thru(self, pg: PG, interval: int, want: int) -> bool:
        """Whether the map records this OSD alive through ``want`` (its ``up_thru``),
        after asking the monitors (``osd alive``) when it does not: Ceph's WaitUpThru.
        A primary activates a PG only then, so whoever peers later knows from the maps
        whether the interval (begun at ``interval``, at the latest at ``want``) may have
        gone read-write. True as well when the interval ended meanwhile (the caller sees
        it); False when the monitors refused or no such map came in time (the caller
        peers again later, which asks again)."""
        osd = self.osd

        def up_thru() -> int:
            osdmap = osd.osdmap
            return osdmap.osds[osd.whoami].up_thru if osdmap is not None else 0

        if up_thru() >= want:
            return True
        pg.peering_step = "WaitUpThru"
        if want > self._up_thru_asked:
            # One request covers every PG whose interval began by then.
            self._up_thru_asked = want
            asked = False
            try:
                await osd._mon("osd alive", id=osd.whoami, want=want)
                asked = True
            except RadosError as exc:
                log.warning("%s: osd alive %d: %s", osd.entity, want, exc)
                return False
            finally:
                # A request that failed or was cancelled (the interval changed) may
                # not have reached the monitors: the next PG to wait asks again.
                if not asked:
                    self._up_thru_asked = 0
        try:
            async with asyncio.timeout(QUERY_TIMEOUT), osd._map_changed:
                await osd._map_changed.wait_for(
                    lambda: up_thru() >= want or pg.interval_start != interval
                )
        except TimeoutError:
            self._up_thru_asked = 0
            return False
        return True

    async def _merge_own(
        self,
        pg: PG,
        pglog: PgLog,
        info: PgInfo,
        remove: frozenset[ObjectId],
        missing: PgMissing,
        sources: dict[ObjectId, list[int]],
        auth: int | None,
    ) -> None:
        """Adopt the merged log, drop divergent objects, pull what the primary misses."""
        store, cid = self.osd.store, pg.cid
        txn = Transaction()
        for oid in remove:
            if store.stat(cid, oid) is not None:
                txn.remove(cid, oid)
        write_log(txn, cid, pglog, info)
        await asyncio.to_thread(store.apply, txn)
        # A head deleted under a snap context may have been cloned first, and its
        # SnapSet changed: those come from the authoritative copy, not from a replay.
        others = [auth] if auth is not None and auth != self.osd.whoami else []
        for oid in remove:
            snaps = await self._pull_snaps(pg, oid, others)
            txn = put_with_snaps(store, Transaction(), cid, snaps)
            if len(txn):
                await asyncio.to_thread(store.apply, txn)
        pg.log, pg.info, pg.missing = pglog, info, missing
        await self._pull_missing(pg, sources)

    async def _pull_missing(self, pg: PG, sources: dict[ObjectId, list[int]]) -> None:
        """Pull every object ``pg.missing`` lists from the OSDs ``sources`` names (the
        primary's own recovery before it activates), each stored as it comes."""
        store, cid = self.osd.store, pg.cid
        for oid, item in pg.missing.by_need():
            state = await self._pull(pg, oid, item.need, sources.get(oid, []))
            snaps = await self._pull_snaps(pg, oid, sources.get(oid, []))
            txn = put_with_snaps(store, Transaction(), cid, [(oid, state), *snaps])
            pg.missing.rm(oid)
            if not len(pg.missing):
                pg.info = msgspec.structs.replace(pg.info, last_complete=pg.info.last_update)
                txn.set_pginfo(cid, pg.info.encode())
            await asyncio.to_thread(store.apply, txn)
        if pg.info.last_complete != pg.info.last_update:
            pg.info = msgspec.structs.replace(pg.info, last_complete=pg.info.last_update)
            await asyncio.to_thread(store.apply, Transaction().set_pginfo(cid, pg.info.encode()))

    async def _pull(
        self, pg: PG, oid: ObjectId, need: Eversion, sources: list[int]
    ) -> ObjectState | None:
        for source in sources:
            try:
                reply = await self.osd.osd_request(
                    source, PGPull(pg.pgid.pool, pg.pgid.seed, self.osd.epoch, oid), QUERY_TIMEOUT
                )
            except (RadosError, OSError, TimeoutError) as exc:
                log.warning(
                    "%s: pull of %s from osd.%d failed: %s", self.osd.entity, oid, source, exc
                )
                continue
            if (
                isinstance(reply, PGPush)
                and reply.state is not None
                and reply.state.version == need
            ):
                return reply.state
        raise RadosError(f"pg {pg.pgid}: object {oid} {need} is unfound", EAGAIN)

    async def _pull_snaps(
        self, pg: PG, oid: ObjectId, sources: list[int]
    ) -> list[tuple[ObjectId, ObjectState | None]]:
        """Head ``oid``'s SnapSet object and clones as the first source that answers
        holds them (a write may have cloned the head in the same transaction); nothing
        in a pool that never had snapshots. Raises EAGAIN when no source answers: the
        head must not be stored without its clones (recovery is tried again later)."""
        if not self._had_snaps(pg, oid):
            return []
        for source in sources:
            try:
                where = snapdir_of(oid)
                snapdir = await self._pull_any(pg, source, where)
                if snapdir is None:
                    return [(where, None)]
                raw = snapdir.xattrs.get(SNAPSET_ATTR)
                clones = SnapSet.decode(raw).clones if raw is not None else []
                found = [(where, snapdir)]
                for clone in (clone_of(oid, c) for c in clones):
                    found.append((clone, await self._pull_any(pg, source, clone)))
                return found
            except (RadosError, OSError, TimeoutError, msgspec.DecodeError) as exc:
                log.warning("%s: pull of %s's clones from osd.%d failed: %s",
                            self.osd.entity, oid, source, exc)  # fmt: skip
        raise RadosError(f"pg {pg.pgid}: no source answered for {oid}'s clones", EAGAIN)

    async def _pull_any(self, pg: PG, source: int, oid: ObjectId) -> ObjectState | None:
        msg = PGPull(pg.pgid.pool, pg.pgid.seed, self.osd.epoch, oid)
        reply = await self.osd.osd_request(source, msg, QUERY_TIMEOUT)
        if not isinstance(reply, PGPush):
            raise RadosError(f"osd.{source} answered {type(reply).__name__}", EAGAIN)
        return reply.state

    async def _backfill_self(
        self,
        pg: PG,
        pglog: PgLog,
        info: PgInfo,
        auth: int,
        missing: PgMissing,
        sources: dict[ObjectId, list[int]],
    ) -> None:
        """Copy every object of the PG from ``auth``, the primary's copy being too old;
        those ``auth`` misses itself (``missing``) come from ``sources`` instead."""
        osd, store, cid = self.osd, self.osd.store, pg.cid
        # Until the copy is complete it keeps its old last_epoch_started: an incomplete
        # copy claiming the new one would make every complete copy look outdated
        # (the PG incomplete for good) should this backfill not finish.
        partial = msgspec.structs.replace(
            info,
            last_backfill=BACKFILL_START,
            last_epoch_started=pg.info.last_epoch_started,
            history=pg.info.history,
        )
        txn = Transaction().rmcoll(cid).mkcoll(cid)
        await asyncio.to_thread(store.apply, write_log(txn, cid, pglog, partial))
        pg.log, pg.info, pg.missing = pglog, partial, PgMissing()
        after: ObjectId | None = None
        while True:
            scan = await osd.osd_request(
                auth,
                PGScan(pg.pgid.pool, pg.pgid.seed, osd.epoch, after, SCAN_BATCH),
                QUERY_TIMEOUT,
            )
            if not isinstance(scan, PGScanReply):
                raise RadosError(f"osd.{auth} answered {type(scan).__name__}", EAGAIN)
            for oid in scan.objects:
                if oid in missing:
                    continue
                reply = await osd.osd_request(
                    auth, PGPull(pg.pgid.pool, pg.pgid.seed, osd.epoch, oid), QUERY_TIMEOUT
                )
                if isinstance(reply, PGPush) and reply.state is not None:
                    await asyncio.to_thread(
                        store.apply, put_object(Transaction(), cid, oid, reply.state, False)
                    )
            if scan.done or not scan.objects:
                break
            after = scan.objects[-1]
        pg.info, pg.missing = msgspec.structs.replace(info, last_backfill=None), missing.copy()
        await asyncio.to_thread(store.apply, Transaction().set_pginfo(cid, pg.info.encode()))
        await self._pull_missing(pg, sources)
        log.info("%s: pg %s backfilled itself from osd.%d", osd.entity, pg.pgid, auth)

    # --- primary: recovery and backfill --------------------------------------------------

    async def _recover(self, pg: PG, interval: int) -> None:
        """Recover, then backfill, until done or the interval ends; a member that fails
        to answer is retried every few seconds (a map change ends the attempt)."""
        osd = self.osd
        while pg.interval_start == interval:
            try:
                await self._recover_missing(pg, interval)
                await self._backfill_targets(pg, interval)
                break
            except (RadosError, OSError, TimeoutError) as exc:
                log.warning("%s: pg %s recovery stalled: %s", osd.entity, pg.pgid, exc)
                await osd._wait_interval_change(pg, interval, timeout=PEER_RETRY)
        if pg.interval_start == interval:
            self._update_state(pg)
            if pg.state & PgState.CLEAN:
                await self._mark_clean(pg, interval)
                await self._purge_strays(pg, interval)
            log.info("%s: pg %s is %s", osd.entity, pg.pgid, pg_state_string(pg.state))
            await self._release_pg_temp(pg, interval)

    async def _mark_clean(self, pg: PG, interval: int) -> None:
        """The PG is clean: its history records the epoch (``last_epoch_clean``, and
        the first epoch of its interval as ``last_interval_clean``, as Ceph's
        ``try_mark_clean``) and the intervals before it are forgotten, every
        copy of this interval holding all they may have acknowledged. Stored together;
        under the PG's barrier, so no write's info is overwritten with an older one."""
        osd = self.osd
        async with pg.lock:
            if pg.interval_start != interval:
                return
            history = msgspec.structs.replace(
                pg.info.history,
                last_epoch_clean=osd.epoch,
                last_interval_clean=pg.info.history.same_interval_since,
            )
            pg.info = msgspec.structs.replace(pg.info, history=history)
            pg.past.trim(osd.epoch)
            txn = Transaction().set_pginfo(pg.cid, pg.info.encode())
            txn.set_meta(past_intervals_key(pg.cid), pg.past.encode())
            await asyncio.to_thread(osd.store.apply, txn)

    async def _purge_strays(self, pg: PG, interval: int) -> None:
        """The PG is clean: the copies left on OSDs outside it are deleted (a stray
        that does not answer keeps its copy; the next clean interval asks again)."""
        osd = self.osd
        for stray in sorted(pg.strays):
            if pg.interval_start != interval:
                return
            msg = PGRemove(pg.pgid.pool, pg.pgid.seed, osd.epoch)
            try:
                await osd.osd_request(stray, msg, QUERY_TIMEOUT)
            except (RadosError, OSError, TimeoutError) as exc:
                log.info("%s: pg %s: stray osd.%d kept its copy: %s",
                         osd.entity, pg.pgid, stray, exc)  # fmt: skip
                continue
            pg.strays.discard(stray)
            log.info("%s: pg %s: removed the stray copy on osd.%d", osd.entity, pg.pgid, stray)

    async def _release_pg_temp(self, pg: PG, interval: int) -> None:
        """The up set is complete: hand the PG back to it by clearing ``pg_temp``."""
        osd = self.osd
        while pg.interval_start == interval and osd.osdmap is not None:
            if pg.pgid not in osd.osdmap.pg_temp:
                return
            # Logged first: the map change it brings ends this task.
            log.info("%s: pg %s releases its pg_temp", osd.entity, pg.pgid)
            try:
                await osd._mon("osd pg-temp", pgid=str(pg.pgid))
                return
            except RadosError as exc:
                log.warning("%s: pg %s cannot clear pg_temp: %s", osd.entity, pg.pgid, exc)
            await osd._wait_interval_change(pg, interval, timeout=PEER_RETRY)

    async def _recover_missing(self, pg: PG, interval: int) -> None:
        """Push what members miss, oldest need first, ``osd_recovery_max_active`` objects
        in flight at a time across the OSD's PGs (several of one PG at once, as Ceph
        does: a 4 MiB object's push is mostly waiting on the wire and the disk)."""
        while pg.interval_start == interval and any(len(m) for m in pg.peer_missing.values()):
            await self._wait_flag(pg, interval, MapFlag.NORECOVER)
            self._update_state(pg, recovering=True)
            async with pg.lock:
                if pg.interval_start != interval:
                    return
                window = recovery_window(pg.peer_missing.values(), self._window())
                _, error = await self._in_flight(window, lambda o: self.recover_object(pg, o))
                if error is not None:
                    raise error
            if self.throttle.recovery_sleep:
                await asyncio.sleep(self.throttle.recovery_sleep)

    def _window(self) -> int:
        """Objects of one PG pushed at once: one at a time when ``osd_recovery_sleep``
        asks for pauses between them."""
        return 1 if self.throttle.recovery_sleep else max(self.throttle.recovery_max_active, 1)

    async def _in_flight(
        self, oids: list[ObjectId], work: Callable[[ObjectId], Awaitable[None]]
    ) -> tuple[int, BaseException | None]:
        """``work`` on each of ``oids`` at once, each holding one of the OSD's
        ``osd_recovery_max_active`` slots, until all have ended: how many leading
        ``oids`` were done before the first that failed, and that one's error."""

        async def one(oid: ObjectId) -> None:
            async with self._active:
                await work(oid)

        results = await asyncio.gather(*(one(o) for o in oids), return_exceptions=True)
        for i, result in enumerate(results):
            if isinstance(result, BaseException):
                return i, result
        return len(oids), None

    async def _backfill_targets(self, pg: PG, interval: int) -> None:
        """Backfill each target in turn, ``osd_max_backfills`` PGs at a time."""
        while pg.interval_start == interval and pg.backfill:
            # norebalance holds back only a backfill that restores no redundancy.
            misplaced_only = not set(pg.backfill) & set(pg.view.acting)
            flags = MapFlag.NOBACKFILL | (MapFlag.NOREBALANCE if misplaced_only else 0)
            await self._wait_flag(pg, interval, flags)
            async with self._backfills:
                self._update_state(pg, backfilling=True)
                await self._backfill(pg, interval, min(pg.backfill))

    async def _wait_flag(self, pg: PG, interval: int, flags: MapFlag) -> None:
        osd = self.osd
        async with osd._map_changed:
            await osd._map_changed.wait_for(
                lambda: (
                    pg.interval_start != interval
                    or osd.osdmap is None
                    or not osd.osdmap.flags & flags
                )
            )

    async def _backfill(self, pg: PG, interval: int, target: int) -> None:
        """Copy the primary's objects to ``target`` in object order, a batch at a time."""
        osd, store = self.osd, self.osd.store
        while pg.interval_start == interval and target in pg.backfill:
            async with pg.lock:
                if pg.interval_start != interval:
                    return
                cursor = pg.backfill[target]
                batch = await asyncio.to_thread(
                    store.list_objects, pg.cid, after=cursor, limit=SCAN_BATCH
                )
                for start in range(0, len(batch), self._window()):
                    window = batch[start : start + self._window()]
                    done, error = await self._in_flight(
                        window, lambda o: self._push_read(pg, target, o)
                    )
                    if done:
                        pg.backfill[target] = window[done - 1]
                        stats = pg.stats.backfilled
                        stats[target] = stats.get(target, 0) + done
                    if error is not None:
                        raise error
                if len(batch) < SCAN_BATCH:
                    reply = await osd.osd_request(
                        target,
                        PGBackfillDone(pg.pgid.pool, pg.pgid.seed, osd.epoch, None),
                        QUERY_TIMEOUT,
                    )
                    if not isinstance(reply, PGAck):
                        raise RadosError(f"osd.{target} answered {type(reply).__name__}", EAGAIN)
                    del pg.backfill[target]
                    log.info("%s: pg %s backfilled osd.%d", osd.entity, pg.pgid, target)
                    # One more complete member: ops waiting for min_size may go.
                    async with osd._map_changed:
                        osd._map_changed.notify_all()
            if self.throttle.recovery_sleep:
                await asyncio.sleep(self.throttle.recovery_sleep)

    async def _push_read(self, pg: PG, target: int, oid: ObjectId) -> None:
        """Read ``oid`` here (off the event loop: 4 MiB from the block file) and push it."""
        state = await asyncio.to_thread(read_object, self.osd.store, pg.cid, oid)
        await self._push(pg, target, oid, state)

    async def _push(
        self,
        pg: PG,
        target: int,
        oid: ObjectId,
        state: ObjectState | None,
        snaps: list[tuple[ObjectId, ObjectState | None]] | None = None,
    ) -> None:
        msg = PGPush(pg.pgid.pool, pg.pgid.seed, self.osd.epoch, oid, state, snaps or [])
        reply = await self.osd.osd_request(target, msg, QUERY_TIMEOUT)
        if not isinstance(reply, PGAck):
            # The reply says why (a refused push stalls the PG's recovery).
            raise RadosError(f"osd.{target} refused the push of {oid}: {reply!r:.160}", EAGAIN)
        for pushed in [state, *(s for _, s in msg.snaps)]:
            if pushed is None:
                pg.stats.count_recovered(0, 0)
            else:
                pg.stats.count_recovered(len(pushed.data), len(pushed.omap))

    async def recover_object(self, pg: PG, oid: ObjectId) -> None:
        """Bring ``oid`` up to date on every member that misses it; call holding the
        PG's op lock, before an op on the object."""
        targets = [o for o, m in pg.peer_missing.items() if oid in m]
        if not targets:
            return
        store = self.osd.store
        state = await asyncio.to_thread(read_object, store, pg.cid, oid)
        # A write may have cloned the head for a snapshot in the same transaction:
        # the clones and the SnapSet go along with it.
        family = snap_objects(store, pg.cid, oid)
        if not family and self._had_snaps(pg, oid):
            family = [snapdir_of(oid)]  # none left here: the target drops what it has
        # A SnapSet object missing on its own (a trim's entry) is not sent twice.
        family = [o for o in family if o != oid]
        snaps = [(o, await asyncio.to_thread(read_object, store, pg.cid, o)) for o in family]
        interval = pg.interval_start
        for target in targets:
            await self._push(pg, target, oid, state, snaps)
            # A new interval cleared the missing sets during the push (its peering
            # builds them anew): the op waiting for this object must be resent.
            missing = pg.peer_missing.get(target)
            if pg.interval_start != interval or missing is None:
                raise RadosError(f"pg {pg.pgid}: new interval while {oid} was recovered", EAGAIN)
            missing.rm(oid)
        self._update_state(pg, recovering=True)
        # The snap trimmer may be waiting for this object.
        async with self.osd._map_changed:
            self.osd._map_changed.notify_all()

    def _had_snaps(self, pg: PG, oid: ObjectId) -> bool:
        """Whether head ``oid`` may have clones: its pool has had snapshots."""
        extras = self.osd.pool_extras.get(pg.pgid.pool)
        return extras is not None and bool(extras.snap_seq) and oid.snap == NOSNAP

    def repop_for(self, pg: PG, osd: int, txn: Transaction, oid: ObjectId) -> Transaction | None:
        """The transaction member ``osd`` applies for a write of ``oid``: log only when
        a backfill has not reached the object; None when it is the full one."""
        cursor = pg.backfill.get(osd)
        if cursor is None or oid <= cursor:
            return None
        return log_only(txn)

    def _update_state(self, pg: PG, recovering: bool = False, backfilling: bool = False) -> None:
        view = pg.view
        missing = sum(len(m) for m in pg.peer_missing.values())
        state = pg_state(
            active=pg.active,
            acting=len(view.acting),
            size=view.size,
            missing=missing,
            backfill_targets=len(pg.backfill),
            recovering=recovering and bool(missing),
            backfilling=backfilling,
            remapped=view.acting != view.up,
            serving=self.serving(pg),
        )
        self._set_state(pg, state)

    def _set_state(self, pg: PG, state: PgState) -> None:
        if state != pg.state:
            log.debug("%s: pg %s %s", self.osd.entity, pg.pgid, pg_state_string(state))
        pg.state = state
        pg.stats.note_state(state, time.time())

    # --- any OSD: answering the primary -------------------------------------------------

    async def _pg_for(self, pool: int, seed: int, map_epoch: int) -> PG | None:
        osd = self.osd
        if map_epoch > osd.epoch:
            await osd._wait_map(map_epoch, QUERY_TIMEOUT)
        return osd.pgs.get(PgId(pool, seed))

    async def handle_query(self, msg: PGQuery) -> PGNotify:
        """GetInfo/GetLog/GetMissing: what this OSD holds of the PG, mapped here or not,
        and the read leases it granted (taken after the query's map: none granted later
        to a primary of an older interval, see radospy.osd.read_lease)."""
        notify = await self._query_answer(msg)
        if self.osd.epoch < msg.map_epoch:
            # Without the query's map this OSD may still renew an old primary's lease
            # after answering: it must not count as having moved on.
            raise RadosError(f"no osdmap e{msg.map_epoch} yet", EAGAIN)
        await self.osd.heartbeat.settle_leases()
        spans = self.osd.leases.spans(time.monotonic())
        return msgspec.structs.replace(notify, lease_spans=spans)

    async def _query_answer(self, msg: PGQuery) -> PGNotify:
        pg = await self._pg_for(msg.pool, msg.pg_seed, msg.map_epoch)
        if pg is not None:
            # Writes in flight are in the log before they are durable: reported once
            # they are, as when each held the PG's lock to its end.
            await pg.lock.drained()
            if pg.info.is_empty and not len(pg.log):
                return PGNotify(past_intervals=list(pg.past.intervals))
            return PGNotify(
                pg.info.encode(), pg.log.encode(), pg.missing.encode(), list(pg.past.intervals)
            )
        from radospy.osd.daemon import load_pg, pg_collection

        pgid = PgId(msg.pool, msg.pg_seed)
        cid = pg_collection(pgid)
        store = self.osd.store
        if not store.collection_exists(cid):
            return PGNotify()
        pglog, info = load_pg(store, pgid, cid)
        if info.is_empty:
            return PGNotify()
        missing = load_missing(store, cid, pglog, info)
        past = self.osd.stray_pasts.get(pgid)
        intervals = list(past.intervals) if past is not None else []
        return PGNotify(info.encode(), pglog.encode(), missing.encode(), intervals)

    async def handle_activate(self, msg: PGActivate) -> PGActivateReply:
        """Adopt the primary's log: merge it (log recovery) or start empty (backfill)."""
        pg = await self._require_pg(msg.pool, msg.pg_seed, msg.map_epoch)
        try:
            olog = PgLog.decode(msg.log)
            oinfo = PgInfo.decode(msg.info)
        except PgLogError as exc:
            raise RadosError(f"malformed activation: {exc}", EINVAL) from None
        store, cid = self.osd.store, pg.cid
        async with pg.lock:
            self._check_current(pg, msg.map_epoch)
            # The primary's history, but the interval epochs this copy computed itself.
            history = pg.info.history.merge(oinfo.history)
            if msg.backfill:
                info = msgspec.structs.replace(
                    oinfo, last_backfill=BACKFILL_START, history=history
                )
                txn = write_log(Transaction().rmcoll(cid).mkcoll(cid), cid, olog, info)
                await asyncio.to_thread(store.apply, txn)
                pg.log, pg.info, pg.missing = olog, info, PgMissing()
                return PGActivateReply(PgMissing().encode())
            mylog, missing = pg.log.copy(), pg.missing.copy()
            merged = mylog.merge_log(olog, oinfo, pg.info, missing)
            info = msgspec.structs.replace(
                merged.info,
                last_epoch_started=oinfo.last_epoch_started,
                history=history,
                last_backfill=pg.info.last_backfill,
            )
            txn = Transaction()
            for oid in merged.remove:
                if store.stat(cid, oid) is not None:
                    txn.remove(cid, oid)
                latest = mylog.latest(oid)
                if self._had_snaps(pg, oid) and latest is not None:
                    # Its clones and SnapSet come from the primary (see _merge_own).
                    missing.add(oid, latest.version, ZERO)
            await asyncio.to_thread(store.apply, write_log(txn, cid, mylog, info))
            pg.log, pg.info, pg.missing = mylog, info, missing
        return PGActivateReply(missing.encode())

    async def handle_activated(self, msg: PGActivated) -> PGAck:
        """Record in the PG's history that it went active in ``msg.last_epoch_started``
        (every member activated then)."""
        pg = await self._require_pg(msg.pool, msg.pg_seed, msg.map_epoch)
        async with pg.lock:
            self._check_current(pg, msg.map_epoch)
            info = record_started(pg.info, msg.last_epoch_started)
            if info is not pg.info:
                txn = Transaction().set_pginfo(pg.cid, info.encode())
                await asyncio.to_thread(self.osd.store.apply, txn)
                pg.info = info
        return PGAck()

    async def handle_pull(self, msg: PGPull) -> PGPush:
        """Send an object of the PG as this OSD stores it."""
        from radospy.osd.daemon import pg_collection

        if msg.map_epoch > self.osd.epoch:
            await self.osd._wait_map(msg.map_epoch, QUERY_TIMEOUT)
        cid = pg_collection(PgId(msg.pool, msg.pg_seed))
        if not self.osd.store.collection_exists(cid):
            raise RadosError(f"pg {msg.pool}.{msg.pg_seed:x} is not here", ENOENT)
        state = await asyncio.to_thread(read_object, self.osd.store, cid, msg.oid)
        return PGPush(msg.pool, msg.pg_seed, self.osd.epoch, msg.oid, state)

    async def handle_push(self, msg: PGPush) -> PGAck:
        """Store a recovered object and take it off the missing set.

        The object is committed outside the PG's lock, so that the several pushes a
        primary has in flight share group commits; the primary sends nothing else for
        the object meanwhile (it holds its own PG lock). Only once the object is durable
        does it leave the missing set (a crash in between finds it stored, and
        ``load_missing`` agrees). A head comes with its SnapSet object and clones,
        stored in the same transaction."""
        pg = await self._require_pg(msg.pool, msg.pg_seed, msg.map_epoch)
        store, cid = self.osd.store, pg.cid
        async with pg.lock:
            self._check_current(pg, msg.map_epoch)
            objects = [(msg.oid, msg.state), *msg.snaps]
            txn = put_with_snaps(store, Transaction(), cid, objects)
        await asyncio.to_thread(store.apply, txn)
        async with pg.lock:
            self._check_current(pg, msg.map_epoch)
            pg.missing.rm(msg.oid)
            if not len(pg.missing) and pg.info.last_complete != pg.info.last_update:
                pg.info = msgspec.structs.replace(pg.info, last_complete=pg.info.last_update)
                info_txn = Transaction().set_pginfo(cid, pg.info.encode())
                await asyncio.to_thread(store.apply, info_txn)
        return PGAck()

    async def handle_scan(self, msg: PGScan) -> PGScanReply:
        """The next objects of the PG in object order, for a primary backfilling itself."""
        from radospy.osd.daemon import pg_collection

        cid = pg_collection(PgId(msg.pool, msg.pg_seed))
        if not self.osd.store.collection_exists(cid):
            raise RadosError(f"pg {msg.pool}.{msg.pg_seed:x} is not here", ENOENT)
        oids = self.osd.store.list_objects(cid, after=msg.after, limit=msg.max_entries)
        return PGScanReply(oids, len(oids) < msg.max_entries)

    async def handle_remove(self, msg: PGRemove) -> PGAck:
        """Delete this OSD's stray copy of a PG, unless the PG is mapped here (by this
        OSD's map, at least as new as the primary's)."""
        from radospy.osd.daemon import pg_collection

        await self._pg_for(msg.pool, msg.pg_seed, msg.map_epoch)
        pgid = PgId(msg.pool, msg.pg_seed)
        cid = pg_collection(pgid)
        store = self.osd.store
        # Decided and done inside the gate: a map taken meanwhile may map the PG here.
        async with self.removals.removal():
            if pgid not in self.osd.pgs and store.collection_exists(cid):
                txn = Transaction().rmcoll(cid).set_meta(past_intervals_key(cid), b"")
                await asyncio.to_thread(store.apply, txn)
        return PGAck()

    async def handle_backfill_done(self, msg: PGBackfillDone) -> PGAck:
        """The backfill into this copy finished (or reached ``last_backfill``)."""
        pg = await self._require_pg(msg.pool, msg.pg_seed, msg.map_epoch)
        async with pg.lock:
            self._check_current(pg, msg.map_epoch)
            pg.info = msgspec.structs.replace(pg.info, last_backfill=msg.last_backfill)
            txn = Transaction().set_pginfo(pg.cid, pg.info.encode())
            await asyncio.to_thread(self.osd.store.apply, txn)
        return PGAck()

    def _check_current(self, pg: PG, map_epoch: int) -> None:
        """EAGAIN when ``pg`` left this OSD, or a message sent in ``map_epoch`` belongs
        to an interval before the PG's current one (Ceph's ``old_peering_msg``) —
        checked again after each wait for the PG's lock, since a new interval may begin
        meanwhile: an older primary's push must not store an object, nor take it off a
        missing set the new interval's peering built."""
        if pg.interval_start == RETIRED:
            raise RadosError(f"pg {pg.pgid} is not mapped here any more", EAGAIN)
        if map_epoch < pg.interval_start:
            raise RadosError(
                f"pg {pg.pgid}: message of e{map_epoch} from before its interval "
                f"(since e{pg.interval_start})",
                EAGAIN,
            )

    async def _require_pg(self, pool: int, seed: int, map_epoch: int) -> PG:
        pg = await self._pg_for(pool, seed, map_epoch)
        if pg is None:
            raise RadosError(f"pg {pool}.{seed:x} is not mapped here", ENOENT)
        self._check_current(pg, map_epoch)
        return pg


def _empty(pgid: PgId) -> PeerReport:
    return PeerReport(PgInfo(pgid), PgLog(), PgMissing())


def _decode_report(answer: PGNotify) -> PeerReport:
    return PeerReport(
        PgInfo.decode(answer.info), PgLog.decode(answer.log), PgMissing.decode(answer.missing)
    )
