"""The OSD daemon: a thin asyncio shell around the object store, the op engine and the
PG log.

An OSD's data directory (``osd_data``) holds:

    store/     the object store (SQLite, WAL): objects, PG logs and infos per collection
    keyring    this OSD's ``osd.N`` key
    osd_info   id, fsid and uuid; written last, so its presence means mkfs finished
    pid        the running daemon's process id

Start-up, as Ceph's ``ceph-osd`` does it: authenticate to the monitors, fetch the
``osd`` service secrets (to check the tickets clients present), bind, place itself in
the CRUSH map under its host (``osd_crush_update_on_start``), ``osd boot`` with its
address, and follow the OSDMap from then on.

PGs. For every PG whose acting set holds this OSD there is a collection (``POOL.SEED``)
with the PG's log. The primary orders the ops of a PG one at a time (a per-PG lock),
gives each write the next eversion (map epoch, version + 1), executes it with
:func:`radospy.osd.ops.execute`, appends the log entry to the same transaction, commits
it locally while sending it to the other acting OSDs as ``RepOp``, and answers the
client once every acting OSD has committed. A write whose reqid the log already holds is
answered from the log without being applied again.

Peering and recovery live in :mod:`radospy.osd.recovery`: a PG created or mapped here
gets its collection, its log is loaded from the store (and its missing set rebuilt), and
on every interval change its primary peers with the prior set, activates the members and
recovers or backfills them in the background. Client ops wait until the PG is active
(which implies ``min_size``); an op on an object still missing on some member recovers
that object first. A replication in flight when the PG's acting set changes is abandoned
and its client told to resend (the resend is answered from the log where it was logged).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import logging
import os
import socket
import time
import uuid as uuid_mod
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from errno import EACCES, EAGAIN, EEXIST, EINVAL, EIO, ENOENT, EPERM, ESTALE, errorcode
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from radospy.auth.caps import OSDCap
from radospy.auth.crypto import CryptoKey
from radospy.auth.handshake import (
    CephxClient,
    CephxServiceServer,
    ExpiringSecret,
    MonAuthClient,
    RotatingSecrets,
    ServiceAuthClient,
    ServiceAuthServer,
)
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common import osdop
from radospy.common.errors import InvalidArgument, RadosError
from radospy.common.eversion import Eversion
from radospy.common.files import write_atomic
from radospy.common.malloc import TRIM_INTERVAL, release_free_memory, tune_for_big_buffers
from radospy.common.osdop import Remove, is_write, may_write
from radospy.common.service import run_service
from radospy.common.tasks import DaemonTasks, TaskFailed, first_done
from radospy.common.types import ReqId
from radospy.mon.client import MonClient, MonClientConfig, refresh_tickets
from radospy.mon.messages import OsdScrubOrder, OsdStat, OsdStatReport, PgStat
from radospy.mon.osdmap_wire import OSDMapFollower, PoolExtras, Take, decode_osdmap
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed
from radospy.msg.messages import Message
from radospy.msg.messenger import Messenger
from radospy.osd import pg_query, pg_stats, report, snap_txn, trim_order
from radospy.osd.committer import Committer
from radospy.osd.heartbeat import HeartbeatConfig
from radospy.osd.heartbeat_service import HeartbeatService
from radospy.osd.map_wait import MapWaitPolicy, Step, decide
from radospy.osd.messages import (
    ListEntry,
    OSDOp,
    OSDOpReply,
    OSDRetry,
    PGActivate,
    PGActivated,
    PGBackfillDone,
    PGList,
    PGListReply,
    PGPull,
    PGPush,
    PGQuery,
    PGQueryCmd,
    PGQueryCmdReply,
    PGRemove,
    PGScan,
    PGScrubLs,
    PGScrubMap,
    RepOp,
    RepOpReply,
)
from radospy.osd.objectstore import ObjectId, ObjectStore, ReadPlan, StoreError, Transaction
from radospy.osd.objectstore.transaction import PgLogTrim, SetPgInfo
from radospy.osd.objectstore.types import NOSNAP
from radospy.osd.op_lock import PgOpLock
from radospy.osd.ops import ExecResult, OpContext, execute, finish_read, plan_read_alone
from radospy.osd.peering import PastIntervals, PgState, PgView, PriorSet, enter_interval
from radospy.osd.pg_stats import PgStatTracker
from radospy.osd.pglog import (
    OSD_MAX_PG_LOG_ENTRIES,
    OSD_MIN_PG_LOG_ENTRIES,
    OSD_PG_LOG_TRIM_MIN,
    OSD_TARGET_PG_LOG_ENTRIES_PER_OSD,
    ZERO,
    LogEntry,
    LogOp,
    PgInfo,
    PgLog,
    PgLogError,
    PgMissing,
    calc_trim_to,
    target_log_entries,
)
from radospy.osd.read_lease import ReadLeases, lease_interval
from radospy.osd.read_order import InFlightWrites, ObjectKey, read_may_run
from radospy.osd.recovery import (
    RETIRED,
    Recovery,
    Throttle,
    load_missing,
    past_intervals_key,
    replica_info,
)
from radospy.osd.rep_op_admission import RepOpAdmission, admit_rep_op
from radospy.osd.scrub import ScrubSchedule
from radospy.osd.scrubber import Scrubber
from radospy.osd.superblock import NEWEST_MAP_KEY, decode_newest_map, encode_newest_map
from radospy.osd.trim_order import TrimStep
from radospy.osdmap.osdmap import OSDMap, PgMapping
from radospy.osdmap.pg import PgId
from radospy.osdmap.placement_inputs import placement_unchanged
from radospy.osdmap.pool import Pool, PoolFlag

log = logging.getLogger("radospy.osd")

Addr = tuple[str, int]

STORE = "store"
KEYRING = "keyring"
OSD_INFO = "osd_info"
PID_FILE = "pid"

BIG_READ = 1 << 20
"""Reads of at least this many bytes of the block file wait for the disk on a read
thread (~1 ms or more here), so that the loop sends other replies meanwhile and several
reads are at the disk at once; below, the handoff would cost more than the wait."""
REPOP_ORDER_WAIT = 2.0
"""Seconds between checks of a replicated write waiting for the one before it."""
SECRET_REFRESH = 600.0
"""Seconds between fetches of the rotating ``osd`` service secrets."""
MON_TIMEOUT = 30.0
"""Seconds start-up may spend reaching the monitors for each step."""
TIB = float(1 << 40)
MIN_CRUSH_WEIGHT = 0.00001
"""Ceph's floor for a capacity-derived CRUSH weight, so a tiny disk still gets data."""


class OsdError(RadosError):
    """An OSD cannot be created or started; ``str()`` is the one-line reason."""


class OsdInfo(msgspec.Struct, frozen=True):
    """What mkfs records about the OSD it created."""

    whoami: int
    fsid: str
    uuid: str


# --- mkfs ------------------------------------------------------------------------------


def mkfs(osd_id: int, data_dir: Path, fsid: str, osd_uuid: str, key: CryptoKey) -> None:
    """Create OSD ``osd_id``'s data directory: an empty store and its key."""
    if (data_dir / OSD_INFO).exists():
        raise OsdError(f"'{data_dir}' already holds osd data", EEXIST)
    try:
        ObjectStore.mkfs(data_dir / STORE).close()
    except StoreError as exc:
        raise OsdError(str(exc), exc.errno) from None
    keyring = Keyring({EntityName("osd", str(osd_id)): EntityAuth(key, {})})
    write_atomic(data_dir / KEYRING, keyring.to_text().encode())
    info = OsdInfo(osd_id, fsid, osd_uuid)
    write_atomic(data_dir / OSD_INFO, msgspec.json.encode(info))


def load_data_dir(osd_id: int, data_dir: Path) -> tuple[OsdInfo, CryptoKey]:
    """The OSD's recorded identity and key; OsdError when missing, corrupt or another's."""
    if not (data_dir / OSD_INFO).is_file():
        raise OsdError(f"osd data directory '{data_dir}' is empty or missing; run --mkfs", ENOENT)
    try:
        info = msgspec.json.decode((data_dir / OSD_INFO).read_bytes(), type=OsdInfo)
        keyring = Keyring.parse((data_dir / KEYRING).read_text())
    except (OSError, ValueError, RadosError, msgspec.DecodeError) as exc:
        raise OsdError(f"osd data directory '{data_dir}' is corrupt: {exc}") from None
    if info.whoami != osd_id:
        raise OsdError(f"'{data_dir}' belongs to osd.{info.whoami}, not osd.{osd_id}", EINVAL)
    auth = keyring.get(EntityName("osd", str(osd_id)))
    if auth is None:
        raise OsdError(f"'{data_dir / KEYRING}' has no key for osd.{osd_id}", ENOENT)
    return info, auth.key


def new_uuid() -> str:
    """A random OSD uuid, as ``ceph-osd --mkfs`` makes one."""
    return str(uuid_mod.uuid4())


def crush_weight(total_bytes: int) -> float:
    """The CRUSH weight of a device of ``total_bytes``: its size in TiB, never 0."""
    return max(MIN_CRUSH_WEIGHT, round(total_bytes / TIB, 5))


def crush_location_args(location: str, host: str) -> list[str]:
    """``osd crush add`` location words from ``crush_location`` (``host=a rack=b``),
    defaulting to ``host=<host>`` under ``root=default``."""
    words = location.replace(",", " ").split()
    for word in words:
        kind, eq, value = word.partition("=")
        if not eq or not kind or not value:
            raise InvalidArgument(f"crush_location: bad item '{word}' (expected TYPE=NAME)")
    kinds = {w.partition("=")[0] for w in words}
    if "host" not in kinds:
        words.append(f"host={host}")
    if "root" not in kinds:
        words.append("root=default")
    return words


def pg_collection(pgid: PgId) -> str:
    """The collection of a PG: ``POOL.SEED`` (seed in hex, as Ceph prints a pgid)."""
    return str(pgid)


# --- authentication --------------------------------------------------------------------


class _DeferredRead(NamedTuple):
    """A request of one big read, looked up on the loop, for a read thread to fill."""

    plan: ReadPlan
    op: osdop.Read


@dataclass
class _OsdAuth:
    """cephx for an OSD: tickets from the monitors when it dials (monitors and peer
    OSDs), the rotating ``osd`` service secrets when it accepts (clients and peers)."""

    client_side: CephxClient
    rotating: RotatingSecrets = field(default_factory=RotatingSecrets)

    def client(self, my_name: str, peer_name: str) -> MonAuthClient | ServiceAuthClient:
        return self.client_side.client(my_name, peer_name)

    def server(self, my_name: str, peer_name: str) -> ServiceAuthServer:
        return CephxServiceServer("osd", self.rotating, time.time).server(my_name, peer_name)

    def load_secrets(self, data: Mapping[str, Any]) -> None:
        """Replace the service secrets with what ``auth get-rotating osd`` returned."""
        self.rotating.secrets = {
            int(sid): ExpiringSecret(base64.b64decode(entry["secret"]), float(entry["expires"]))
            for sid, entry in data.items()
        }


# --- PGs -------------------------------------------------------------------------------


@dataclass
class PG:
    """One PG this OSD holds a copy of, and what its shell needs to order ops."""

    pgid: PgId
    cid: str
    acting: list[int]
    primary: int
    interval_start: int
    log: PgLog
    info: PgInfo
    view: PgView
    missing: PgMissing = field(default_factory=PgMissing)
    past: PastIntervals = field(default_factory=PastIntervals)
    # Primary only: what each member misses, and how far each backfill got.
    peer_missing: dict[int, PgMissing] = field(default_factory=dict)
    backfill: dict[int, ObjectId] = field(default_factory=dict)
    active: bool = False
    state: PgState = PgState.PEERING
    task: asyncio.Task[Any] | None = None
    lock: PgOpLock = field(kw_only=True)
    stats: PgStatTracker = field(default_factory=PgStatTracker)
    """Stamps and counters for the primary's reports."""
    strays: set[int] = field(default_factory=set)
    """Primary only: OSDs outside the up and acting sets that reported a copy while
    peering; deleted once the PG is clean."""
    snaps_trimmed: frozenset[int] = frozenset()
    """The pool's removed snaps whose clones this PG (as primary) has trimmed."""
    trimming: bool = False
    prior: PriorSet | None = None
    """Primary only: the prior set of the current interval's peering, once built."""
    peering_step: str = "GetInfo"
    """Primary only: where peering is (Ceph's Peering substates: GetInfo, Down,
    Incomplete, WaitActingChange, WaitUpThru) until the PG activates."""
    blocked_by: frozenset[int] = frozenset()
    """Primary only: the OSDs peering waits for (``pg dump``'s blocked_by)."""
    readable_until: float = 0.0
    """Primary only: until when (monotonic clock) its replicas' read leases let it
    serve reads; past it the PG is ``laggy`` and reads wait (radospy.osd.read_lease)."""
    wait_until: float = 0.0
    """Primary only: until when it waits out the leases of the previous intervals'
    primaries before it serves anything (state ``wait``)."""

    @property
    def last_update(self) -> Eversion:
        return self.info.last_update

    @property
    def members(self) -> list[int]:
        """The acting set, then up members outside it: every OSD a write goes to."""
        return list(dict.fromkeys(o for o in (*self.acting, *self.view.up) if o >= 0))


def load_pg(store: ObjectStore, pgid: PgId, cid: str) -> tuple[PgLog, PgInfo]:
    """A PG's log and info as its store holds them (empty for a new collection)."""
    raw_info = store.pginfo(cid)
    info = PgInfo.decode(raw_info) if raw_info is not None else PgInfo(pgid)
    # The log is (tail, head]: rows at or before the tail are trimmed, even if a
    # crash or a replaced log left them stored.
    entries = [
        entry
        for entry in (LogEntry.decode(data) for _, data in store.pglog(cid))
        if entry.version > info.log_tail
    ]
    head = max(info.last_update, entries[-1].version if entries else ZERO)
    pglog = PgLog(info.log_tail, head, entries)
    return pglog, msgspec.structs.replace(info, last_update=head)


def _enter_interval(pg: PG, old: PgView | None, view: PgView) -> None:
    """Record in ``pg``'s history that ``view`` starts a new interval after ``old``."""
    pg.info = msgspec.structs.replace(
        pg.info, history=enter_interval(pg.info.history, old, view)
    )


def load_past_intervals(store: ObjectStore, cid: str) -> PastIntervals:
    """A PG's past intervals as its store holds them; none when never stored, removed,
    or unreadable (then logged: peering falls back on what its peers recorded)."""
    raw = store.get_meta(past_intervals_key(cid))
    if not raw:
        return PastIntervals()
    try:
        return PastIntervals.decode(raw)
    except ValueError as exc:
        log.warning("pg %s: stored past intervals unusable (%s); starting without", cid, exc)
        return PastIntervals()


def held_pgs(store: ObjectStore) -> set[PgId]:
    """The PGs this OSD holds a copy of (a collection each)."""
    return {PgId.parse(cid) for cid in store.list_collections()}


def stray_pgs(
    osdmap: OSDMap, held: set[PgId], mapped: Mapping[PgId, PgMapping]
) -> dict[PgId, PgMapping]:
    """The PGs of ``held`` that ``osdmap`` does not map here (strays), with their sets;
    PGs of deleted pools left out."""
    return {
        pgid: osdmap.pg_to_up_acting_osds(pgid)
        for pgid in held
        if pgid not in mapped
        and pgid.pool in osdmap.pools
        and pgid.seed < osdmap.pools[pgid.pool].pg_num
    }


@dataclass(frozen=True)
class Placed:
    """``mapped_pgs`` and ``stray_pgs`` of one map for one OSD holding ``held``."""

    osdmap: OSDMap
    held: frozenset[PgId]
    mapped: dict[PgId, PgMapping]
    strays: dict[PgId, PgMapping]


def placements(osdmap: OSDMap, osd: int, held: set[PgId], prev: Placed | None = None) -> Placed:
    """``mapped_pgs`` and ``stray_pgs`` of one map (placement costs CPU: run off the
    loop), taken from ``prev`` when its map places every PG alike: an OSD catching up
    walks hundreds of epochs, most of which change nothing placement reads."""
    kept = frozenset(held)
    if prev is not None and placement_unchanged(prev.osdmap, osdmap):
        if kept == prev.held:
            return Placed(osdmap, kept, prev.mapped, prev.strays)
        return Placed(osdmap, kept, prev.mapped, stray_pgs(osdmap, held, prev.mapped))
    mapped = mapped_pgs(osdmap, osd)
    return Placed(osdmap, kept, mapped, stray_pgs(osdmap, held, mapped))


def mapped_pgs(osdmap: OSDMap, osd: int) -> dict[PgId, PgMapping]:
    """The PGs whose acting or up set holds ``osd``, with their up and acting sets (an
    up member outside the acting set is being backfilled while ``pg_temp`` serves)."""
    mapped: dict[PgId, PgMapping] = {}
    for pool in osdmap.pools.values():
        for seed in range(pool.pg_num):
            pgid = PgId(pool.id, seed)
            mapping = osdmap.pg_to_up_acting_osds(pgid)
            if osd in mapping.acting or osd in mapping.up:
                mapped[pgid] = mapping
    return mapped


def pg_view(osdmap: OSDMap, pgid: PgId, mapping: PgMapping) -> PgView:
    """What ``osdmap`` says about a PG, for peering."""
    pool = osdmap.pools[pgid.pool]
    return PgView(
        osdmap.epoch,
        tuple(mapping.up),
        mapping.up_primary,
        tuple(mapping.acting),
        mapping.acting_primary,
        pool.size,
        pool.min_size,
    )


def log_entry_for(
    oid: ObjectId,
    ops: list[Any],
    version: Eversion,
    prior: Eversion,
    reqid: ReqId,
    mtime_ns: int,
) -> LogEntry:
    """The PG log entry of a successful write request: a delete when the request ends
    with the object removed, else a modify."""
    removes = [i for i, op in enumerate(ops) if isinstance(op, Remove)]
    deleted = bool(removes) and not any(may_write([op]) for op in ops[removes[-1] + 1 :])
    return LogEntry(
        LogOp.DELETE if deleted else LogOp.MODIFY,
        oid,
        version,
        prior_version=prior if prior < version else ZERO,
        reqid=reqid,
        mtime_ns=mtime_ns,
        user_version=version.version,
    )


# --- the daemon ------------------------------------------------------------------------


@dataclass(frozen=True)
class OsdConfig:
    """What a running OSD needs besides its data directory."""

    osd_id: int
    data_dir: Path
    mon_addrs: tuple[Addr, ...]
    public_addr: Addr = ("127.0.0.1", 0)
    crush_update_on_start: bool = True
    crush_location: str = ""
    host: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    max_object_size: int = 128 << 20
    read_threads: int = 3
    """``osd_read_threads``: threads that read big reads off the event loop."""
    throttle: Throttle = field(default_factory=Throttle)
    min_pg_log_entries: int = OSD_MIN_PG_LOG_ENTRIES
    max_pg_log_entries: int = OSD_MAX_PG_LOG_ENTRIES
    target_pg_log_entries_per_osd: int = OSD_TARGET_PG_LOG_ENTRIES_PER_OSD
    pg_log_trim_min: int = OSD_PG_LOG_TRIM_MIN
    report_interval: float = 5.0
    """``osd_mon_report_interval``: seconds between reports to the monitors."""
    capacity: int = 0
    """``osd_capacity``: bytes this OSD may fill; 0 for its file system's size."""
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    read_lease_interval: float = lease_interval(20.0)
    """``osd_pool_default_read_lease_ratio`` × ``osd_heartbeat_grace``: seconds a
    replica's grant of a read lease lasts."""
    beacon_interval: float = 300.0
    """``osd_beacon_report_interval``: seconds between beacons to the monitors."""
    map_wait: MapWaitPolicy = field(default_factory=MapWaitPolicy)
    """How an op that names a newer map than ours waits for it (radospy.osd.map_wait)."""
    messenger: MessengerConfig = field(
        default_factory=lambda: MessengerConfig(ms_initial_backoff=0.1, ms_max_backoff=2.0)
    )
    scrub: ScrubSchedule = field(default_factory=ScrubSchedule)
    """``osd_scrub_*``, ``osd_deep_scrub_interval``, ``osd_max_scrubs``."""


class OsdDaemon:
    """One running OSD: construct, then :meth:`run` until :meth:`stop`."""

    def __init__(self, config: OsdConfig) -> None:
        self.config = config
        self.whoami = config.osd_id
        self.entity = f"osd.{config.osd_id}"
        self.info, self.key = load_data_dir(config.osd_id, config.data_dir)
        try:
            self.store = ObjectStore.open(config.data_dir / STORE)
        except StoreError as exc:
            raise OsdError(str(exc), exc.errno) from None
        self.auth = _OsdAuth(CephxClient(self.entity, self.key, time.time, ("mon", "osd")))
        self.osdmap: OSDMap | None = None
        self.pool_extras: dict[int, PoolExtras] = {}
        self.pgs: dict[PgId, PG] = {}
        self._map_changed = asyncio.Condition()
        self._stop = asyncio.Event()
        self._tasks = DaemonTasks(self.entity, log)
        self._maps: asyncio.Queue[tuple[int, bytes, bool] | None] = asyncio.Queue()
        """Map messages in arrival order; None: start from the map taken in before a
        restart, found to be the newest (see `_start_at_base`)."""
        self._follower = OSDMapFollower(every_epoch=True)
        self._maps_asked: float | None = None
        """Loop time this OSD last asked the monitors for newer maps for a waiting op."""
        self._placed: Placed | None = None
        """The placement of the newest map taken in, which the next map may reuse."""
        self.stray_pasts: dict[PgId, PastIntervals] = {}
        """Past intervals of the PGs held here but not in ``pgs`` (strays: no longer
        mapped here, or not yet loaded after a restart), followed through every map so
        that a primary querying this copy learns them."""
        self.durable_epoch = 0
        """The newest map whose PG bookkeeping (past intervals) is in the store."""
        self.messenger: Messenger | None = None
        self.monc: MonClient | None = None
        self.recovery = Recovery(self, config.throttle)
        self.scrubber = Scrubber(self, config.scrub)
        self.committer = Committer(self.store)
        self._readers: ThreadPoolExecutor | None = None
        """Where big reads wait for the disk (`osd_read_threads`)."""
        self.writes_in_flight = InFlightWrites()
        """Client writes received and not answered yet: what a read orders behind."""
        self._repops: dict[asyncio.Future[Message], _RepOpInFlight] = {}
        """Replicated ops sent and not answered yet, for `_check_repops` on a new map."""
        self._addrs_of = (0, 0)
        self._addrs: dict[int, Addr | None] = {}
        """`_osd_addr`'s answers under the map identified by `_addrs_of` (id, epoch)."""
        self.usage: OsdStat | None = None
        """This OSD's usage as last reported (the write path's failsafe check)."""
        self._pending_growth = report.PendingGrowth()
        """Data bytes of the writes accepted that `usage` may not include, as primary
        (client ops) and as replica (replication ops)."""
        self._refusing: dict[int, int] = {}
        """Pools whose growing writes this OSD refuses, with the errno (for the log)."""
        self.leases = ReadLeases(config.read_lease_interval)
        self.heartbeat = HeartbeatService(
            self.whoami,
            config.heartbeat,
            config.beacon_interval,
            self.auth,
            config.messenger,
            lambda cmd: self._mon(**cmd),
            self._boot,
            self._ensure_tickets,
            self.leases,
            self._lease_granted,
        )
        self._addr = ""
        self._hb_addr = ""

    @property
    def epoch(self) -> int:
        return self.osdmap.epoch if self.osdmap is not None else 0

    def stop(self) -> None:
        """Ask :meth:`run` to shut down."""
        self._stop.set()

    # --- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Boot and serve until :meth:`stop`."""
        cfg = self.config
        monc = MonClient(
            MonClientConfig(self.entity, self.key, cfg.mon_addrs, MON_TIMEOUT, cfg.messenger)
        )
        self.monc = monc
        messenger = Messenger(self.entity, cfg.messenger, self.auth, self)
        self.messenger = messenger
        pid_path = cfg.data_dir / PID_FILE
        self.committer.start()
        if cfg.read_threads:
            self._readers = ThreadPoolExecutor(cfg.read_threads, thread_name_prefix="reader")
        try:
            await self._fetch_secrets()
            try:
                addr = await messenger.bind(*cfg.public_addr)
            except OSError as exc:
                raise OsdError(f"cannot bind {cfg.public_addr}: {exc.strerror}") from None
            hb_addr = await self.heartbeat.bind(addr[0])
            self._addr, self._hb_addr = f"{addr[0]}:{addr[1]}", f"{hb_addr[0]}:{hb_addr[1]}"
            write_atomic(pid_path, f"{os.getpid()}\n".encode())
            await refresh_tickets(messenger, cfg.mon_addrs, MON_TIMEOUT)
            if cfg.crush_update_on_start:
                await self._crush_add()
            monc.on_message = self._on_mon_message
            monc.subscribe("osdmap", await self._catch_up_base(), self._on_map)
            await self._boot()
            await self._check_base_is_newest()
            log.info("%s: booted at %s, heartbeats at %s", self.entity, self._addr, self._hb_addr)
            for loop in (
                self._map_loop(),
                self._secret_loop(),
                self._report_loop(),
                self._trim_loop(),
                self.heartbeat.run(),
                self.scrubber.run(),
            ):
                self._spawn(loop, vital=True)
            done = await first_done(self._stop.wait(), self._tasks.failure())
            if isinstance(failed := done.result(), TaskFailed):
                raise failed
        finally:
            # Serve no more reads: the heartbeat port closes below, and a closed port
            # tells the peers this OSD's read leases are void.
            for pg in self.pgs.values():
                pg.readable_until = 0.0
            await self._tasks.cancel_all()
            await self.heartbeat.shutdown()
            await messenger.shutdown()
            await monc.close()
            await self.committer.close()
            if self._readers is not None:
                await asyncio.to_thread(self._readers.shutdown)
            self.store.close()
            with contextlib.suppress(FileNotFoundError):
                pid_path.unlink()
            log.info("%s: stopped", self.entity)

    def _spawn(self, coro: Any, vital: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` as one of the daemon's tasks (see :mod:`radospy.common.tasks`):
        a ``vital`` one failing stops the OSD with a non-zero exit."""
        return self._tasks.spawn(coro, vital)

    def _on_mon_message(self, msg: Message) -> None:
        if isinstance(msg, OsdScrubOrder) and msg.osd == self.whoami:
            self.scrubber.order(msg)

    async def _mon(self, prefix: str, **args: Any) -> tuple[bytes, str]:
        assert self.monc is not None
        rc, out, outs = await self.monc.command({"prefix": prefix, **args}, timeout=MON_TIMEOUT)
        if rc < 0:
            raise OsdError(f"'{prefix}' failed: {outs}", -rc)
        return out, outs

    async def _boot(self, boot_epoch: int = 0) -> None:
        """Ask to be marked up; ``boot_epoch``: the epoch this process was up from before
        it was marked down (0 at start)."""
        args: dict[str, Any] = {"id": self.whoami, "addr": self._addr, "hb_addr": self._hb_addr}
        if boot_epoch:
            args["boot_epoch"] = boot_epoch
        await self._mon("osd boot", **args)

    async def _ensure_tickets(self) -> None:
        """Fetch fresh service tickets if the ``osd`` one is missing or expired."""
        assert self.messenger is not None
        if self.auth.client_side.session.ticket_for("osd", time.time()) is None:
            await refresh_tickets(self.messenger, self.config.mon_addrs, MON_TIMEOUT)

    async def _fetch_secrets(self) -> None:
        out, _ = await self._mon("auth get-rotating", service="osd")
        self.auth.load_secrets(json.loads(out))

    async def _secret_loop(self) -> None:
        while True:
            await asyncio.sleep(SECRET_REFRESH)
            try:
                await self._fetch_secrets()
            except RadosError as exc:
                log.warning("%s: cannot refresh service secrets: %s", self.entity, exc)

    async def _trim_loop(self) -> None:
        # Big buffers come from the heap (radospy.common.malloc) and from the store's
        # pool of read buffers: hand back what is free now and then, so that RSS falls
        # once a burst of 4 MiB ops is over.
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            await asyncio.to_thread(release_free_memory)
            self.store.release_idle_buffers()

    async def _report_loop(self) -> None:
        while True:
            try:
                await self._report()
            except RadosError as exc:
                log.info("%s: stats report not sent: %s", self.entity, exc)
            await asyncio.sleep(self.config.report_interval)

    async def _report(self) -> None:
        """Send the monitors this OSD's usage and its primary PGs' stats."""
        assert self.monc is not None
        osdmap = self.osdmap
        if osdmap is None:
            return
        mark = self._pending_growth.mark()
        statfs, usage = await asyncio.to_thread(
            lambda: (self.store.statfs(), self.store.collection_usage())
        )
        now = time.time()
        pgs = [
            self._pg_stat(pg, usage.get(pg.cid, (0, 0)), now)
            for pg in list(self.pgs.values())
            if pg.primary == self.whoami and pg.pgid.pool in osdmap.pools
        ]
        self.usage = report.osd_stat(statfs, self.config.capacity, len(self.pgs))
        self._pending_growth.measured(mark)
        await self.monc.send(OsdStatReport(self.whoami, self.epoch, self.usage, pgs))

    def _pg_stat(self, pg: PG, usage: tuple[int, int], now: float) -> PgStat:
        """A primary PG's stat as of ``now``, for a report or a query."""
        objects = usage[0]
        state = pg.state | self.scrubber.state_bits(pg) if pg.active else pg.state
        if pg.active:
            state |= self._lease_state(pg)
        pg.stats.note_state(state, now)
        counts = pg_stats.object_counts(
            objects,
            pg.view.size,
            pg.view.up,
            pg.view.acting,
            {o: len(m) for o, m in pg.peer_missing.items()},
            {o: max(0, objects - pg.stats.backfilled.get(o, 0)) for o in pg.backfill},
        )
        return report.pg_stat(
            pg.pgid, state, pg.view, self.epoch, usage, pg.log, pg.stats, counts,
            pg.interval_start, len(pg.missing), self.scrubber.record(pg), pg.blocked_by,
            pg.info.history.last_epoch_clean,
        )  # fmt: skip

    async def _pg_query(self, conn: Connection, msg: PGQueryCmd) -> Message:
        """`ceph pg PGID query`, answered by the PG's primary."""
        target = await self._primary_pg(msg.map_epoch, msg.pool, msg.pg_seed, None)
        if isinstance(target, OSDRetry):
            return target
        pg = target
        assert self.osdmap is not None
        if not _osd_capable(conn, self.osdmap.pools[msg.pool].name, "", "", True, False):
            raise RadosError("permission denied", EPERM)
        usage = await asyncio.to_thread(self.store.collection_usage)
        stat = self._pg_stat(pg, usage.get(pg.cid, (0, 0)), time.time())
        answer = pg_query.query_json(
            epoch=self.epoch,
            whoami=self.whoami,
            info=pg.info,
            stat=stat,
            members=pg.members,
            peer_missing={o: len(m) for o, m in pg.peer_missing.items()},
            backfill=dict(pg.backfill),
            state_since=pg.stats.last_change,
            started=pg.stats.interval_started,
            peering=None
            if pg.active or pg.prior is None
            else pg_query.PeeringDump(pg.peering_step, pg.prior, tuple(pg.past.intervals)),
        )
        return PGQueryCmdReply(json.dumps(answer, indent=4))

    async def _crush_add(self) -> None:
        cfg = self.config
        weight = crush_weight(self.store.statfs().total)
        args = crush_location_args(cfg.crush_location, cfg.host)
        _, outs = await self._mon("osd crush add", id=self.whoami, weight=weight, args=args)
        log.info("%s: %s", self.entity, outs)

    # --- maps ---------------------------------------------------------------------------

    def _on_map(self, epoch: int, data: bytes, full: bool) -> None:
        self._maps.put_nowait((epoch, data, full))

    async def _map_loop(self) -> None:
        unsaved: list[asyncio.Future[None]] = []
        while True:
            item = await self._maps.get()
            save = await (self._take_map(*item) if item is not None else self._start_at_base())
            if save is not None:
                unsaved.append(self.committer.submit(save))
            # Through the group committer, off the loop; peering waits for it
            # (`wait_durable`), so no PG acts on an interval a crash could forget.
            # While catching up, the maps queued behind commit in one batch with it.
            if not unsaved or not self._maps.empty():
                continue
            await asyncio.gather(*unsaved)
            unsaved.clear()
            self.durable_epoch = self.epoch
            async with self._map_changed:
                self._map_changed.notify_all()

    async def _take_map(self, epoch: int, data: bytes, full: bool) -> Transaction | None:
        """One map message from the monitors; what to store with it if it is a new map."""
        taken = self._follower.take(epoch, data, full)
        if taken is Take.GAP and self.monc is not None:
            self.monc.subscribe("osdmap", self._follower.resubscribe_from, self._on_map)
        if taken is not Take.NEW or self._follower.osdmap is None:
            return None
        osdmap, extras = self._follower.osdmap, self._follower.pool_extras
        # Placement of every PG costs CPU: computed off the loop, applied on it.
        held = held_pgs(self.store)
        placed = await asyncio.to_thread(placements, osdmap, self.whoami, held, self._placed)
        gap = self.osdmap is None or osdmap.epoch != self.osdmap.epoch + 1
        return await self._apply_map(osdmap, extras, placed, gap)

    async def _check_base_is_newest(self) -> None:
        """After a restart, when no map came since the one taken in before it (booting
        made none, e.g. under ``noup``): if that is still the newest, start from it."""
        if self.osdmap is None or self._follower.epoch != self.osdmap.epoch or self.pgs:
            return
        out, _ = await self._mon("osd stat", format="json")
        if json.loads(out)["epoch"] == self.epoch:
            self._maps.put_nowait(None)

    async def _start_at_base(self) -> Transaction | None:
        """Take the map of `_catch_up_base` as the current one, unless newer came."""
        osdmap = self.osdmap
        if osdmap is None or self._follower.epoch != osdmap.epoch or self.pgs:
            return None
        held = held_pgs(self.store)
        placed = await asyncio.to_thread(placements, osdmap, self.whoami, held, self._placed)
        return await self._apply_map(osdmap, self.pool_extras, placed, False)

    async def _apply_map(
        self,
        osdmap: OSDMap,
        extras: dict[int, PoolExtras],
        placed: Placed,
        gap: bool,
    ) -> Transaction:
        """`_advance_map`, then what follows a new map outside the PGs."""
        mapped = placed.mapped
        async with self.recovery.removals.advance():
            save = self._advance_map(osdmap, mapped, placed.strays, gap)
        self._placed = placed
        self.pool_extras = extras
        self._start_snap_trims()
        peers = {o for m in mapped.values() for o in (*m.up, *m.acting)}
        self.heartbeat.update_map(osdmap, peers)
        self._check_repops()
        self._drop_moved_osds()
        return save

    async def _catch_up_base(self) -> int:
        """The epoch to subscribe to maps from.

        After a restart, the one after the newest map this OSD took in before (its
        superblock): that map comes from the monitors and the PGs mapped here in it are
        loaded with their past intervals, so that every epoch since is folded into
        them (Ceph's OSD consumes every incremental it missed). 1 (the newest map only)
        when no map was taken in yet, or the monitors no longer keep that one (trimmed
        after ``mon_min_osdmap_epochs``): the PGs then close their interval over the
        epochs they cannot see as maybe read-write, and peering merges the intervals
        their peers recorded.
        """
        newest = decode_newest_map(self.store.get_meta(NEWEST_MAP_KEY))
        if not newest:
            return 1
        try:
            data, _ = await self._mon("osd getmap", epoch=newest)
            osdmap, extras = decode_osdmap(data)
        except (OsdError, InvalidArgument, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "%s: osdmap epoch %d, the newest taken in, is not available (%s); "
                "starting from the newest map",
                self.entity, newest, exc,
            )  # fmt: skip
            return 1
        held = held_pgs(self.store)
        placed = await asyncio.to_thread(placements, osdmap, self.whoami, held)
        for pgid, mapping in (*placed.mapped.items(), *placed.strays.items()):
            if pgid in held:
                past = load_past_intervals(self.store, pg_collection(pgid))
                past.reload(pg_view(osdmap, pgid, mapping))
                self.stray_pasts[pgid] = past
        self._follower.osdmap, self._follower.pool_extras = osdmap, extras
        self.osdmap, self.pool_extras, self.durable_epoch = osdmap, extras, newest
        self._placed = placed
        log.info("%s: catching up on osdmap epochs after %d", self.entity, newest)
        return newest + 1

    def _load_pg(self, pgid: PgId, osdmap: OSDMap, mapping: PgMapping) -> PG:
        """A PG as the store holds it (log, info, missing set, past intervals)."""
        cid = pg_collection(pgid)
        pglog, info = load_pg(self.store, pgid, cid)
        missing = load_missing(self.store, cid, pglog, info)
        view = pg_view(osdmap, pgid, mapping)
        acting, primary = mapping.acting, mapping.acting_primary
        pg = PG(
            pgid, cid, acting, primary, osdmap.epoch, pglog, info, view, missing,
            lock=PgOpLock(self.writes_in_flight),
        )  # fmt: skip
        pg.past = load_past_intervals(self.store, cid)
        return pg

    async def wait_durable(self, epoch: int) -> None:
        """Wait until the PGs' past intervals are in the store through map ``epoch``."""
        async with self._map_changed:
            await self._map_changed.wait_for(lambda: self.durable_epoch >= epoch)

    def _advance_map(
        self,
        osdmap: OSDMap,
        mapped: dict[PgId, PgMapping],
        strays: dict[PgId, PgMapping],
        gap: bool,
    ) -> Transaction:
        """Take a new map: create the PGs mapped here, note interval changes (of the
        strays too), drop the PGs of deleted pools. ``gap``: maps before it were not
        seen. Returns what to store with it: the changed past intervals and the
        superblock's epoch, in one transaction (Ceph's OSD writes the map epoch and the
        PGs' past intervals together)."""
        txn = Transaction()
        for pgid in mapped:
            if not self.store.collection_exists(pg_collection(pgid)):
                # A new copy: intervals an earlier copy here left behind are not its own.
                cid = pg_collection(pgid)
                txn.mkcoll(cid).set_meta(past_intervals_key(cid), b"")
                self.stray_pasts.pop(pgid, None)
        for cid in self.store.list_collections():
            pool_id = int(cid.partition(".")[0])
            if pool_id not in osdmap.pools:
                txn.rmcoll(cid).set_meta(past_intervals_key(cid), b"")
        if len(txn):
            self.store.apply(txn)
        pgs: dict[PgId, PG] = {}
        changed: list[PG] = []
        inexact: list[PG] = []
        for pgid, mapping in mapped.items():
            acting, primary = mapping.acting, mapping.acting_primary
            view = pg_view(osdmap, pgid, mapping)
            pg = self.pgs.get(pgid)
            if pg is None:
                pg = self._load_pg(pgid, osdmap, mapping)
                kept = self.stray_pasts.pop(pgid, None)
                if kept is not None and not gap:
                    # Followed through the map before this one (or reloaded at it
                    # after a restart): this map goes on, and closes the interval
                    # as a map taken in live would.
                    pg.past, before = kept, kept.current
                    if kept.note(view, self._closing_up_thru(kept, osdmap)):
                        _enter_interval(pg, before, view)
                    else:
                        pg.interval_start = kept.current_start
                else:
                    start = pg.past.current_start
                    pg.past.resume(view)
                    if pg.past.current_start != start:
                        _enter_interval(pg, None, view)
                changed.append(pg)
            else:
                before = pg.past.current
                if pg.past.note(view, self._closing_up_thru(pg.past, osdmap)):
                    if gap:
                        pg.past.exact_start = False
                    pg.acting, pg.primary, pg.interval_start = acting, primary, osdmap.epoch
                    _enter_interval(pg, None if gap else before, view)
                    changed.append(pg)
                elif gap and pg.past.exact_start:
                    # The skipped epochs may have held intervals this OSD never saw, so
                    # ``interval_start`` may predate the true start; stored so, or a
                    # restart would take it for exact.
                    pg.past.exact_start = False
                    inexact.append(pg)
            pg.view = view
            pgs[pgid] = pg
        # Kept so that a restart still knows who may have served writes (Ceph keeps
        # past_intervals with the PG's info); written only when an interval changes,
        # with the info whose history records when it began.
        save = Transaction().set_meta(NEWEST_MAP_KEY, encode_newest_map(osdmap.epoch))
        for pg in (*changed, *inexact):
            save.set_meta(past_intervals_key(pg.cid), pg.past.encode())
        for pg in changed:
            save.set_pginfo(pg.cid, pg.info.encode())
        stray_pasts: dict[PgId, PastIntervals] = {}
        save_strays = False
        for pgid, mapping in strays.items():
            view = pg_view(osdmap, pgid, mapping)
            left, past = self.pgs.get(pgid), self.stray_pasts.get(pgid)
            if left is not None and not gap:
                past = left.past
                noted = past.note(view, self._closing_up_thru(past, osdmap))
            elif past is not None and not gap:
                noted = past.note(view)
            else:
                if left is not None:
                    past = left.past
                else:
                    past = load_past_intervals(self.store, pg_collection(pgid))
                past.resume(view)
                noted = True
            stray_pasts[pgid] = past
            save_strays = save_strays or noted
            if noted:
                save.set_meta(past_intervals_key(pg_collection(pgid)), past.encode())
        dropped = False
        for pgid, pg in self.pgs.items():
            if pgid not in pgs:
                self.recovery.stop(pg)
                dropped = True
        if changed or dropped or gap or save_strays or self.osdmap is None:
            # A primary that has not seen this map must not be granted a read lease
            # any more: the PG may have another primary now.
            self.leases.fence(osdmap.epoch)
        self.osdmap, self.pgs, self.stray_pasts = osdmap, pgs, stray_pasts
        for pg in pgs.values():
            self._renew_lease(pg)
        for pg in changed:
            self.recovery.interval_changed(pg)
        return save

    # --- read leases ----------------------------------------------------------------------

    def _renew_lease(self, pg: PG) -> None:
        """Recompute how long ``pg``'s replicas let it serve reads, if primary here."""
        if pg.primary == self.whoami:
            pg.readable_until = self.leases.readable_until(
                o for o in pg.acting if o != self.whoami and o >= 0
            )

    def _lease_granted(self, peer: int) -> None:
        """``peer`` granted our read lease: renew the PGs it replicates, and wake the
        ops of those whose lease had run out."""
        now = time.monotonic()
        woke = False
        for pg in self.pgs.values():
            if pg.primary == self.whoami and peer in pg.acting:
                expired = pg.readable_until <= now
                self._renew_lease(pg)
                woke = woke or (expired and pg.readable_until > now and pg.active)
        if woke:
            self._spawn(self._wake())

    def _lease_state(self, pg: PG) -> PgState:
        """``wait`` while an active primary waits out its predecessors' leases,
        ``laggy`` while its own lease has run out."""
        now = time.monotonic()
        if now < pg.wait_until:
            return PgState.WAIT
        return PgState.LAGGY if now >= pg.readable_until else PgState(0)

    def wake_at(self, when: float) -> None:
        """Wake the waiting ops at ``when`` (monotonic clock): a wait ends then."""
        delay = when - time.monotonic()
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, lambda: self._spawn(self._wake()))

    async def _wake(self) -> None:
        async with self._map_changed:
            self._map_changed.notify_all()

    async def _wait_readable(self, pg: PG, interval: int) -> None:
        """Wait until ``pg`` may serve reads, or its interval changes."""
        async with self._map_changed:
            await self._map_changed.wait_for(
                lambda: pg.interval_start != interval or time.monotonic() < pg.readable_until
            )

    def _closing_up_thru(self, past: PastIntervals, osdmap: OSDMap) -> int | None:
        """The ``up_thru`` of the primary of the interval in progress in ``past`` in the
        map before ``osdmap`` (the last of that interval if ``osdmap`` starts a new one);
        None when this OSD did not see that map (a jump of several epochs): the interval
        then counts as having maybe gone read-write, as it does when this OSD did not
        see the interval begin (``past.exact_start``; its start may be later than the one
        the primary asked for)."""
        prev, current = self.osdmap, past.current
        if not past.exact_start or prev is None or current is None:
            return None
        if osdmap.epoch != prev.epoch + 1:
            return None
        primary = current.primary
        if primary < 0 or not prev.exists(primary):
            return None
        return prev.osds[primary].up_thru

    # --- snap trimming -------------------------------------------------------------------

    def _start_snap_trims(self) -> None:
        """Trim, in every PG this OSD is primary of, the clones of newly removed snaps."""
        for pg in self.pgs.values():
            extras = self.pool_extras.get(pg.pgid.pool)
            if extras is None or pg.primary != self.whoami or pg.trimming:
                continue
            if not set(extras.removed_snaps) <= pg.snaps_trimmed:
                pg.trimming = True
                self._spawn(self._trim_pg(pg))

    async def _trim_pg(self, pg: PG) -> None:
        """Ceph's snap trimmer, one object per transaction, each logged and replicated
        like a client write (so replicas drop the same clones). An object still missing
        on some member waits for its recovery while the others are trimmed (see
        `radospy.osd.trim_order`)."""
        try:
            while pg.primary == self.whoami:
                # Like client ops, trimming waits for peering to make the PG active.
                async with self._map_changed:
                    await self._map_changed.wait_for(lambda: pg.active or pg.primary != self.whoami)
                extras = self.pool_extras.get(pg.pgid.pool)
                removed = frozenset(extras.removed_snaps) if extras else frozenset()
                if removed <= pg.snaps_trimmed:
                    return
                interval = pg.interval_start
                if await self._trim_pass(pg, removed, interval):
                    pg.snaps_trimmed = removed
                else:
                    # The interval ended: trim again once the next one is active.
                    await self._wait_interval_change(pg, interval)
        except (RadosError, OSError) as exc:
            log.warning("%s: snap trim of pg %s stopped: %s", self.entity, pg.pgid, exc)
        finally:
            pg.trimming = False

    async def _trim_pass(self, pg: PG, removed: frozenset[int], interval: int) -> bool:
        """Trim every object of the PG, the degraded ones once recovered; False when
        the interval ended first."""
        pending = await asyncio.to_thread(
            lambda: list(snap_txn.objects_with_snapsets(self.store, pg.cid))
        )
        while pending:
            waiting = []
            for oid in pending:
                step = await self._trim_object(pg, oid, removed)
                if step is TrimStep.STOP:
                    return False
                if step is TrimStep.WAIT:
                    waiting.append(oid)
            if waiting and not await self._wait_trimmable(pg, interval, waiting):
                return False
            pending = waiting
        return True

    async def _wait_trimmable(self, pg: PG, interval: int, waiting: list[ObjectId]) -> bool:
        """Wait until one of ``waiting`` (degraded objects) is recovered everywhere;
        False when the interval ended first."""
        log.info(
            "%s: snap trim of pg %s waits for %d degraded objects",
            self.entity, pg.pgid, len(waiting),
        )  # fmt: skip

        def moved() -> bool:
            if pg.interval_start != interval or pg.primary != self.whoami:
                return True
            missing = [pg.missing, *pg.peer_missing.values()]
            return not all(trim_order.degraded(oid, missing) for oid in waiting)

        async with self._map_changed:
            await self._map_changed.wait_for(moved)
        return pg.interval_start == interval and pg.primary == self.whoami

    async def _trim_object(self, pg: PG, oid: ObjectId, removed: frozenset[int]) -> TrimStep:
        # Trimming writes, so it waits for a scrubbed chunk holding the object as well.
        while True:
            await self.scrubber.wait_unblocked(pg, oid)
            async with pg.lock:
                if not self.scrubber.blocks(pg, oid):
                    return await self._trim_locked(pg, oid, removed)

    async def _trim_locked(self, pg: PG, oid: ObjectId, removed: frozenset[int]) -> TrimStep:
        """Trim one object's clones; call holding the PG's op lock."""
        if pg.primary != self.whoami or not pg.active:
            return TrimStep.STOP
        if trim_order.degraded(oid, [pg.missing, *pg.peer_missing.values()]):
            return TrimStep.WAIT
        trimmed = snap_txn.trim_object(self.store, pg.cid, oid, removed)
        if trimmed is None:
            return TrimStep.DONE
        where = snap_txn.snapdir_of(oid)
        version = Eversion(self.epoch, pg.last_update.version + 1)
        prior = self.store.stat(pg.cid, where)
        mtime = time.time_ns()
        if trimmed.snapset_kept:
            # The entry names the SnapSet object: recovery wants it at this version.
            trimmed.txn.set_object_info(pg.cid, where, version, mtime)
        entry = LogEntry(
            LogOp.MODIFY if trimmed.snapset_kept else LogOp.DELETE,
            where,
            version,
            prior_version=prior.version if prior and prior.version < version else ZERO,
            mtime_ns=mtime,
            user_version=version.version,
        )
        return TrimStep.DONE if await self._commit(pg, trimmed.txn, entry) else TrimStep.STOP

    async def _wait_op_map(self, epoch: int, who: str) -> bool:
        """Wait until our map is at least ``epoch``, the one an op from ``who`` named,
        asking the monitors for newer maps now and then (radospy.osd.map_wait); False
        when it did not come in time."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            now = loop.time()
            since = None if self._maps_asked is None else now - self._maps_asked
            decision = decide(epoch, self.epoch, now - start, since, self.config.map_wait)
            if decision.step is Step.READY:
                return True
            if decision.step is Step.GIVE_UP:
                log.info(
                    "%s: op from %s waited %.1fs for osdmap e%d, have e%d",
                    self.entity, who, now - start, epoch, self.epoch,
                )  # fmt: skip
                return False
            if decision.ask and self.monc is not None:
                self._maps_asked = now
                log.info("%s: asking the monitors for osdmaps after e%d (an op named e%d)",
                         self.entity, self._follower.epoch, epoch)  # fmt: skip
                self.monc.subscribe("osdmap", self._follower.resubscribe_from, self._on_map)
            await self._wait_map(epoch, decision.wait)

    async def _wait_map(self, epoch: int, timeout: float) -> bool:
        """Wait until our map is at least ``epoch``; False at the deadline."""
        try:
            async with asyncio.timeout(timeout), self._map_changed:
                await self._map_changed.wait_for(lambda: self.epoch >= epoch)
        except TimeoutError:
            return False
        return True

    # --- dispatcher ---------------------------------------------------------------------

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Messenger dispatcher: ops run as tasks so one slow PG holds no connection up."""
        if isinstance(msg, OSDOp):
            if not may_write(msg.ops):
                reply = self._read_now(conn, msg)
                if reply is None:
                    self._spawn(self._answer(conn, tid, self._client_op(conn, msg)))
                elif not isinstance(reply, Message):
                    self._spawn(self._answer(conn, tid, reply))
                elif not conn.try_reply(tid, reply):
                    self._spawn(self._answer(conn, tid, _ready(reply)))
                return
            # Noted in arrival order, before the op can wait for anything.
            key = (msg.loc.pool, msg.loc.nspace, msg.loc.name)
            self.writes_in_flight.add(key)
            self._spawn(self._answer(conn, tid, self._client_op(conn, msg), key))
        elif isinstance(msg, RepOp):
            if not self._rep_op_now(conn, msg, tid):
                self._spawn(self._answer(conn, tid, self._rep_op(conn, msg)))
        elif isinstance(msg, PGList):
            self._spawn(self._answer(conn, tid, self._pg_list(conn, msg)))
        elif isinstance(msg, PGScrubLs):
            self._spawn(self._answer(conn, tid, self._scrub_ls(conn, msg)))
        elif isinstance(msg, PGQueryCmd):
            self._spawn(self._answer(conn, tid, self._pg_query(conn, msg)))
        elif isinstance(msg, PEERING_MESSAGES):
            if not conn.peer_name.startswith("osd."):
                self._spawn(self._answer(conn, tid, _refuse(conn)))
                return
            self._spawn(self._answer(conn, tid, self._peering_message(msg)))

    async def _peering_message(self, msg: Message) -> Message:
        rec = self.recovery
        if isinstance(msg, PGQuery):
            return await rec.handle_query(msg)
        if isinstance(msg, PGActivate):
            return await rec.handle_activate(msg)
        if isinstance(msg, PGActivated):
            return await rec.handle_activated(msg)
        if isinstance(msg, PGPull):
            return await rec.handle_pull(msg)
        if isinstance(msg, PGPush):
            return await rec.handle_push(msg)
        if isinstance(msg, PGScan):
            return await rec.handle_scan(msg)
        if isinstance(msg, PGScrubMap):
            return await self.scrubber.handle_map(msg)
        if isinstance(msg, PGRemove):
            return await rec.handle_remove(msg)
        assert isinstance(msg, PGBackfillDone)
        return await rec.handle_backfill_done(msg)

    async def osd_request(self, osd: int, msg: Message, timeout: float) -> Message:
        """Send ``msg`` to OSD ``osd`` and return its answer (errors raised)."""
        addr = self._osd_addr(osd)
        if addr is None:
            raise RadosError(f"osd.{osd} is down", EAGAIN)
        conn = await self._connect_osd(osd, addr)
        return await conn.request(msg, timeout)

    async def _answer(
        self, conn: Connection, tid: int, work: Any, write: ObjectKey | None = None
    ) -> None:
        """Send ``work``'s outcome; ``write``: the object of the client write it is."""
        try:
            reply = await work
        except RadosError as exc:
            reply = OSDOpReply(-exc.errno, [])
        except Exception:
            log.exception("%s: op failed", self.entity)
            reply = OSDOpReply(-EIO, [])
        finally:
            if write is not None:
                self.writes_in_flight.done(write)
        with contextlib.suppress(ConnectionClosed):
            await conn.reply(tid, reply)

    def _note_refusal(self, pool: Pool, refusal: report.Refusal | None) -> None:
        """Log when this OSD starts or stops refusing growing writes to ``pool``, and
        why: the pool's flags in which map, or this OSD's own usage (failsafe)."""
        errno = refusal.errno if refusal else 0
        if self._refusing.get(pool.id, 0) == errno:
            return
        if refusal:
            self._refusing[pool.id] = errno
            log.info(
                "%s: refusing writes to pool '%s' with %s at epoch %d: %s",
                self.entity,
                pool.name,
                errorcode.get(errno, str(errno)),
                self.epoch,
                refusal.reason,
            )
        else:
            del self._refusing[pool.id]
            log.info(
                "%s: writes to pool '%s' accepted again at epoch %d",
                self.entity,
                pool.name,
                self.epoch,
            )

    async def _primary_pg(
        self, map_epoch: int, pool_id: int, pg_seed: int, loc: tuple[str, str, str] | None
    ) -> PG | OSDRetry:
        """The PG an op addresses, if this OSD is its primary under the newer of the
        two maps; else the answer that makes the client resend."""
        if map_epoch > self.epoch and not await self._wait_op_map(map_epoch, "a client"):
            raise RadosError(f"no osdmap e{map_epoch} yet", EAGAIN)
        osdmap = self.osdmap
        if osdmap is None:
            return OSDRetry(map_epoch, "no map yet")
        if pool_id not in osdmap.pools:
            raise RadosError(f"pool {pool_id} does not exist", ENOENT)
        if loc is not None:
            nspace, name, key = loc
            pgid = osdmap.object_to_pg(pool_id, name, key, nspace)
            if pgid.seed != pg_seed:
                return OSDRetry(self.epoch, f"object is in pg {pgid}")
        pg = self.pgs.get(PgId(pool_id, pg_seed))
        if pg is None or pg.primary != self.whoami:
            return OSDRetry(self.epoch, "not the primary")
        return pg

    def _admit(self, conn: Connection, msg: OSDOp, write: bool) -> _Admitted | Message | None:
        """The checks every client op passes before it runs, all without waiting (under
        this OSD's map, which the caller has brought up to the op's where it could):
        the op's PG, object and ordering key; or the answer that makes the client resend
        (wrong PG, not the primary, no map) or the error (no such pool, caps, a bad snap
        request); None while this OSD is the primary but the PG does not serve yet
        (peering, fewer than ``min_size`` complete members): ops wait for that."""
        loc = msg.loc
        osdmap = self.osdmap
        if osdmap is None:
            return OSDRetry(msg.map_epoch, "no map yet")
        pool = osdmap.pools.get(loc.pool)
        if pool is None:
            return OSDOpReply(-ENOENT, [])
        pgid = osdmap.object_to_pg(loc.pool, loc.name, loc.key, loc.nspace)
        if pgid.seed != msg.pg_seed:
            return OSDRetry(self.epoch, f"object is in pg {pgid}")
        pg = self.pgs.get(pgid)
        if pg is None or pg.primary != self.whoami:
            return OSDRetry(self.epoch, "not the primary")
        read = not msg.ops or not all(is_write(op) for op in msg.ops)
        if not _osd_capable(conn, pool.name, loc.nspace, loc.name, read, write):
            return OSDOpReply(-EPERM, [])
        rc = snap_txn.check_request(msg.ops, msg.snap)
        if rc < 0:
            return OSDOpReply(rc, [])
        if not self.recovery.serving(pg):
            return None
        # The read lease (radospy.osd.read_lease): one clock read, two compares.
        now = time.monotonic()
        if now < pg.wait_until or (read and now >= pg.readable_until):
            return None
        oid = ObjectId(loc.name, loc.nspace)
        return _Admitted(pg, oid, (loc.pool, loc.nspace, loc.name), pool)

    async def _client_op(self, conn: Connection, msg: OSDOp) -> Message:
        if msg.map_epoch > self.epoch and not await self._wait_op_map(
            msg.map_epoch, conn.peer_name
        ):
            # Never judged under an older map than its client's (the pool's flags may
            # have changed since): the client sends it again after a backoff.
            return OSDOpReply(-EAGAIN, [])
        write = may_write(msg.ops)
        while (admitted := self._admit(conn, msg, write)) is None:
            async with self._map_changed:
                await self._map_changed.wait_for(
                    lambda: self._admit(conn, msg, write) is not None
                )
        if isinstance(admitted, Message):
            return admitted
        pg, oid, key, pool = admitted
        if write:
            refusal = report.write_refusal(pool, msg.ops, self.usage, self._pending_growth.bytes)
            if refusal or (pool.id in self._refusing and report.may_grow(msg.ops)):
                self._note_refusal(pool, refusal)
            if refusal:
                return OSDOpReply(-refusal.errno, [])
            self._pending_growth.add(report.growth(msg.ops))
        elif self._may_read_now(pg, key, oid):
            # No await since `_admit`: nothing can have changed in between.
            reply = self._counted_read(pg, oid, msg)
            return reply if isinstance(reply, Message) else await reply
        while True:
            if write:
                # A write to the chunk being scrubbed waits for that chunk only.
                await self.scrubber.wait_unblocked(pg, oid)
            async with pg.lock.ordered():
                if pg.primary != self.whoami or not self.recovery.serving(pg):
                    return OSDRetry(self.epoch, "not the primary any more")
                if write and self.scrubber.blocks(pg, oid):
                    continue
                # Ops of one object in the order they came; other objects' writes
                # may be in flight meanwhile.
                await pg.lock.wait_object(key)
                if pg.primary != self.whoami or not self.recovery.serving(pg):
                    return OSDRetry(self.epoch, "not the primary any more")
                interval = pg.interval_start
                while True:
                    try:
                        await self.recovery.recover_object(pg, oid)
                        break
                    except (RadosError, OSError, TimeoutError) as exc:
                        # A member that cannot take the object now: the op waits (as
                        # the object's recovery retries) until it can or the interval
                        # ends.
                        log.warning("%s: recovery of %s for an op: %s", self.entity, oid, exc)
                    await self._wait_interval_change(pg, interval, timeout=1.0)
                    if pg.interval_start != interval:
                        return OSDRetry(self.epoch, "the acting set changed")
                if not write:
                    if time.monotonic() >= pg.readable_until:
                        await self._wait_readable(pg, interval)
                        if pg.interval_start != interval:
                            return OSDRetry(self.epoch, "the acting set changed")
                    read = self._counted_read(pg, oid, msg)
                    if isinstance(read, Message):
                        return read
                    break
                pg.stats.count_write(msg.ops)
                started = self._write(pg, oid, msg)
                if isinstance(started, Message):
                    return started
                token = pg.lock.begin(key)
            # The lock is the next op's: this one finishes once every member committed.
            try:
                return await started
            finally:
                pg.lock.end(key, token)
        # The lock is the next op's while a big read waits for the disk: its bytes were
        # looked up under it, and the units they are in stay allocated until read.
        return await read

    def _read_now(
        self, conn: Connection, msg: OSDOp
    ) -> Message | Coroutine[Any, Any, Message] | None:
        """The answer to a read that waits for nothing (most reads), computed at once
        without a task, or its refusal, or (a big read) what waits for its bytes on a
        read thread; None when `_client_op` must handle it (it waits for a newer map,
        for the PG to serve, or behind a write to its object)."""
        if msg.map_epoch > self.epoch:
            return None
        admitted = self._admit(conn, msg, False)
        if admitted is None or isinstance(admitted, Message):
            return admitted
        pg, oid, key, _ = admitted
        if not self._may_read_now(pg, key, oid):
            return None
        try:
            return self._counted_read(pg, oid, msg)
        except RadosError as exc:
            return OSDOpReply(-exc.errno, [])
        except Exception:
            log.exception("%s: op failed", self.entity)
            return OSDOpReply(-EIO, [])

    def _may_read_now(self, pg: PG, key: ObjectKey, oid: ObjectId) -> bool:
        """Whether a read of ``oid`` may run now without a turn under the PG's op lock
        (see `radospy.osd.read_order`)."""
        return read_may_run(
            key in self.writes_in_flight,
            any(oid in missing for missing in pg.peer_missing.values()),
            pg.lock.barrier_held,
        )

    def _counted_read(
        self, pg: PG, oid: ObjectId, msg: OSDOp
    ) -> OSDOpReply | Coroutine[Any, Any, OSDOpReply]:
        """`_read`'s answer, counted in the PG's stats; a big read's once it is read."""
        reply = self._read(pg, oid, msg)
        if isinstance(reply, _DeferredRead):
            return self._read_on_thread(pg, reply)
        pg.stats.count_read(reply.results)
        return reply

    async def _read_on_thread(self, pg: PG, deferred: _DeferredRead) -> OSDOpReply:
        """A big read's answer once a read thread filled its plan. Shielded: a cancelled
        op still lets the thread finish with the plan's units (and let them go)."""
        assert self._readers is not None
        plan = deferred.plan
        try:
            filled = self._readers.submit(plan.fill)
        except RuntimeError:
            # The pool is shut down: the OSD is stopping, and the plan's pin must not
            # outlive the op.
            plan.release()
            raise
        with contextlib.suppress(StoreError):
            await asyncio.shield(asyncio.wrap_future(filled))
        result = finish_read(plan, deferred.op)
        reply = OSDOpReply(result.rc, list(result.results))
        pg.stats.count_read(reply.results)
        return reply

    def _read(self, pg: PG, oid: ObjectId, msg: OSDOp) -> OSDOpReply | _DeferredRead:
        """A read of the head or, with ``msg.snap``, of the clone that holds that snap;
        a big one only looked up, for a read thread to fill."""
        if msg.ops and isinstance(msg.ops[0], osdop.ListSnaps):
            listing = snap_txn.list_snaps(self.store, pg.cid, oid)
            if listing is None:
                return OSDOpReply(-ENOENT, [osdop.Status(rc=-ENOENT)])
            return OSDOpReply(0, [listing])
        target = snap_txn.read_target(self.store, pg.cid, oid, msg.snap)
        if target is None:
            return OSDOpReply(-ENOENT, [osdop.Status(rc=-ENOENT)])
        op = msg.ops[0] if len(msg.ops) == 1 else None
        if self._readers is not None and type(op) is osdop.Read:
            planned = plan_read_alone(self.store, pg.cid, target, op, BIG_READ)
            if isinstance(planned, ReadPlan):
                return _DeferredRead(planned, op)
            return OSDOpReply(planned.rc, list(planned.results))
        now = time.time_ns()
        result = execute(self.store, pg.cid, target, msg.ops, self._ctx(now, pg.last_update))
        return OSDOpReply(result.rc, list(result.results))

    def _ctx(self, mtime_ns: int, version: Eversion) -> OpContext:
        return OpContext(mtime_ns, version, max_object_size=self.config.max_object_size)

    def _write(
        self, pg: PG, oid: ObjectId, msg: OSDOp
    ) -> Message | Coroutine[Any, Any, Message]:
        """Start a write holding the PG's op lock: the answer when there is nothing to
        replicate (a resend, an error), else what waits for the write to be durable."""
        dup = pg.log.lookup_reqid(msg.reqid)
        if dup is not None:
            return OSDOpReply(dup.return_code, [], dup.version, dup.user_version)
        version = Eversion(self.epoch, pg.last_update.version + 1)
        mtime = time.time_ns()
        assert self.osdmap is not None
        pool = self.osdmap.pools[pg.pgid.pool]
        extras = self.pool_extras.get(pool.id)
        snapc = snap_txn.write_context(
            pool.has_flag(PoolFlag.POOL_SNAPS), extras, msg.snap_seq, msg.snaps
        )
        if snapc is None:
            return OSDOpReply(-EINVAL, [])
        prior = self.store.stat(pg.cid, oid)
        entry = log_entry_for(
            oid, msg.ops, version, prior.version if prior else ZERO, msg.reqid, mtime
        )
        op = msg.ops[0]
        if isinstance(op, osdop.Rollback):
            rolled = snap_txn.rollback(self.store, pg.cid, oid, snapc, op.snap, version, mtime)
            result = ExecResult(rolled.txn, [osdop.Status()], 0)
            if not rolled.head_exists:
                entry = msgspec.structs.replace(entry, op=LogOp.DELETE)
        else:
            result = execute(self.store, pg.cid, oid, msg.ops, self._ctx(mtime, version), prior)
        if result.txn is None:
            return OSDOpReply(result.rc, list(result.results))
        txn = result.txn
        if extras is not None and extras.snap_seq and not isinstance(op, osdop.Rollback):
            # The pool has had snapshots: clone the head first where they need it.
            exists_after = entry.op != LogOp.DELETE
            txn = snap_txn.write(self.store, pg.cid, oid, snapc, txn, exists_after)
        return self._reply_when(self._commit(pg, txn, entry), list(result.results), version)

    async def _reply_when(
        self, committed: Coroutine[Any, Any, bool], results: list[Any], version: Eversion
    ) -> Message:
        """The client's answer once the write `_commit` started is durable everywhere."""
        if not await committed:
            return OSDRetry(self.epoch, "acting set changed during replication")
        return OSDOpReply(0, results, version, version.version)

    def _commit(self, pg: PG, txn: Transaction, entry: LogEntry) -> Coroutine[Any, Any, bool]:
        """Log ``entry`` in ``txn``, start applying it here and on every other acting
        OSD, and return what waits for them all: True, or False when the acting set
        changed meanwhile (the client must resend). The PG's log and info take the
        entry at once, so that the PG's next write follows it before it is durable
        (replicas apply in version order; an op on the same object waits for it)."""
        version = entry.version
        raw_entry = entry.encode()
        txn.pglog_append(pg.cid, version, raw_entry)
        info = msgspec.structs.replace(
            pg.info, last_update=version, last_complete=version, last_user_version=version.version
        )
        # A member still recovering needs the log it recovers by: no trim until then.
        limit = ZERO if self.recovery.degraded(pg) else pg.last_update
        cfg = self.config
        target = target_log_entries(
            len(self.pgs),
            cfg.target_pg_log_entries_per_osd,
            cfg.min_pg_log_entries,
            cfg.max_pg_log_entries,
        )
        trim_to = calc_trim_to(pg.log, target, limit, trim_min=cfg.pg_log_trim_min)
        if trim_to is not None:
            txn.pglog_trim(pg.cid, trim_to)
            info = msgspec.structs.replace(info, log_tail=trim_to)
        txn.set_pginfo(pg.cid, info.encode())
        interval = pg.interval_start
        replicas = [o for o in pg.members if o != self.whoami]
        repop = RepOp(
            pg.pgid.pool, pg.pgid.seed, self.epoch, version, txn, raw_entry, pg.last_update
        )
        repops = {osd: repop for osd in replicas}
        for osd in replicas:
            partial = self.recovery.repop_for(pg, osd, txn, entry.oid)
            if partial is not None:
                repops[osd] = msgspec.structs.replace(repop, txn=partial)
        # Sent before the local commit starts, so replicas and this OSD commit at once.
        sent = {osd: self._send_repop(osd, repops[osd], pg, interval) for osd in replicas}
        local = self.committer.submit(txn)
        local.add_done_callback(functools.partial(self._check_durable, pg))
        # A replica without a ready session gets its op from a task that dials it.
        dialled = [
            asyncio.ensure_future(self._replicate(osd, repops[osd], pg, interval))
            for osd, future in sent.items()
            if future is None
        ]
        pg.log.append(entry)
        if trim_to is not None:
            pg.log.trim(trim_to)
        pg.info = info
        return self._committed(pg, interval, local, repops, sent, dialled)

    async def _committed(
        self,
        pg: PG,
        interval: int,
        local: asyncio.Future[None],
        repops: dict[int, RepOp],
        sent: dict[int, asyncio.Future[Message] | None],
        dialled: list[asyncio.Future[None]],
    ) -> bool:
        """Wait for the commits `_commit` started; whether the interval is still theirs."""
        try:
            await local
            for osd, future in sent.items():
                if future is not None:
                    await self._repop_done(osd, repops[osd], pg, interval, future)
            for task in dialled:
                await task
        finally:
            for future in sent.values():
                if future is not None:
                    self._repops.pop(future, None)
        return pg.interval_start == interval

    def _check_durable(self, pg: PG, local: asyncio.Future[None]) -> None:
        """A transaction of ``pg`` that this OSD logged (and sent on) but its store
        refused: the PG's log has it, the store does not. Fatal, as a failed
        transaction is to Ceph's OSD (it restarts from what its store holds), unless
        the PG has left this OSD meanwhile (its pool deleted, say)."""
        if local.cancelled() or (exc := local.exception()) is None:
            return
        if self.pgs.get(pg.pgid) is pg and pg.interval_start != RETIRED:
            self._tasks.fail(f"committing a logged transaction of pg {pg.pgid}", exc)

    def _send_repop(
        self, osd: int, repop: RepOp, pg: PG, interval: int
    ) -> asyncio.Future[Message] | None:
        """Send ``repop`` on the ready session with ``osd`` and return the future of its
        reply, watched by `_check_repops`; None when there is no such session (or its
        send queue is full): `_replicate` then dials and sends."""
        addr = self._osd_addr(osd)
        if addr is None or self.messenger is None:
            return None
        conn = self.messenger.connected(addr, f"osd.{osd}")
        future = conn.call(repop) if conn is not None else None
        if conn is None or future is None:
            return None
        self._repops[future] = _RepOpInFlight(pg, interval, osd, addr, conn)
        return future

    async def _repop_done(
        self, osd: int, repop: RepOp, pg: PG, interval: int, future: asyncio.Future[Message]
    ) -> None:
        """Wait for the reply `_send_repop` asked for; on a map change or a failure,
        carry on as `_replicate` does (resend, or give up when the interval changed)."""
        outcome: Message | Exception
        try:
            outcome = await future
        except _RepOpSuperseded:
            if pg.interval_start != interval:
                return
            # The OSD moved: its old session would redial a dead address.
            self._repops.pop(future).conn.mark_down()
            await self._replicate(osd, repop, pg, interval)
            return
        except (RadosError, OSError) as exc:
            outcome = exc
        finally:
            self._repops.pop(future, None)
        if isinstance(outcome, RepOpReply) and outcome.rc == 0:
            return
        # A failure or a refusal (a replica that moved on to a newer map): as
        # `_replicate`, wait for the interval change (then the client resends) or
        # try again; never an error to the client for a write this OSD applied.
        log.warning(
            "%s: osd.%d did not commit %s of pg %s: %s",
            self.entity, osd, repop.version, pg.pgid, outcome,
        )  # fmt: skip
        await self._wait_interval_change(pg, interval, timeout=1.0)
        await self._replicate(osd, repop, pg, interval)

    def _drop_moved_osds(self) -> None:
        """Sessions with OSDs the new map shows elsewhere or down are dropped (after
        `_check_repops` failed the ops on them, which then dial the new address)."""
        if self.messenger is None:
            return
        dropped = self.messenger.drop_moved("osd.", lambda name: self._osd_addr(int(name[4:])))
        for name in dropped:
            log.info("%s: %s moved or is down: its old session is dropped", self.entity, name)

    def _check_repops(self) -> None:
        """After a new map: fail the replicated ops whose PG changed interval or whose
        OSD moved, so that their writers resend or give up (`_repop_done`)."""
        for future, op in list(self._repops.items()):
            if future.done():
                continue
            if op.pg.interval_start != op.interval or self._osd_addr(op.osd) != op.addr:
                future.set_exception(_RepOpSuperseded())

    async def _replicate(self, osd: int, repop: RepOp, pg: PG, interval: int) -> None:
        """Send ``repop`` to ``osd`` and wait for its commit; give up (without error)
        when the PG's interval changes, which the caller notices. The messenger resends
        across reconnects by itself, so one request covers a flapping connection; an
        OSD that restarted in place (booted from a new address, same interval) gets it
        again there, and its old session, redialling a dead address, is dropped."""
        while pg.interval_start == interval:
            addr = self._osd_addr(osd)
            if addr is None:
                await self._wait_interval_change(pg, interval)
                continue
            try:
                conn = await self._connect_osd(osd, addr)
            except (RadosError, OSError, TimeoutError) as exc:
                log.warning("%s: cannot reach osd.%d: %s", self.entity, osd, exc)
                await self._wait_interval_change(pg, interval, timeout=1.0)
                continue
            request = asyncio.ensure_future(conn.request(repop, None))  # type: ignore[arg-type]
            changed = asyncio.ensure_future(self._wait_interval_change(pg, interval, osd, addr))
            try:
                await asyncio.wait({request, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
                if not request.done():
                    request.cancel()
            if not request.done() or request.cancelled():
                if pg.interval_start == interval:
                    conn.mark_down()  # the OSD moved: resend to its new address
                    continue
                return
            try:
                reply = request.result()
            except (RadosError, OSError) as exc:
                log.warning("%s: replication to osd.%d failed: %s", self.entity, osd, exc)
                await self._wait_interval_change(pg, interval, timeout=1.0)
                continue
            if isinstance(reply, RepOpReply) and reply.rc == 0:
                return
            # A replica refuses a write of a PG it no longer holds under a newer map:
            # the primary gets that map soon and the interval change ends the wait.
            log.warning(
                "%s: osd.%d refused %s of pg %s: %s",
                self.entity, osd, repop.version, pg.pgid, reply,
            )  # fmt: skip
            await self._wait_interval_change(pg, interval, timeout=1.0)

    async def _wait_interval_change(
        self,
        pg: PG,
        interval: int,
        osd: int | None = None,
        addr: Addr | None = None,
        timeout: float = 3600.0,
    ) -> None:
        """Wait until the PG's interval changes (or, given ``osd``, until that OSD's
        address is no longer ``addr``), at most ``timeout`` seconds."""

        def changed() -> bool:
            return pg.interval_start != interval or (
                osd is not None and self._osd_addr(osd) != addr
            )

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._map_changed:
                await self._map_changed.wait_for(changed)

    def _osd_addr(self, osd: int) -> Addr | None:
        """Where ``osd`` listens under the current map; None while it is down.
        Remembered per map: every replicated op asks, for each replica."""
        osdmap = self.osdmap
        if osdmap is None:
            return None
        if self._addrs_of != (id(osdmap), osdmap.epoch):
            self._addrs_of, self._addrs = (id(osdmap), osdmap.epoch), {}
        if osd not in self._addrs:
            self._addrs[osd] = _public_addr(osdmap, osd)
        return self._addrs[osd]

    async def _connect_osd(self, osd: int, addr: Addr) -> Connection:
        assert self.messenger is not None
        await self._ensure_tickets()
        return await self.messenger.connect(addr, f"osd.{osd}")

    def _rep_op_now(self, conn: Connection, msg: RepOp, tid: int) -> bool:
        """Start the replicated write ``msg`` at once, without a task, when it waits for
        nothing (most do): one `admit_rep_op` applies, to a PG whose op lock nobody
        holds, under our map; its reply goes out from the commit's callback. False when
        `_rep_op` must handle it (which checks, waits for and refuses everything else)."""
        pg = self.pgs.get(PgId(msg.pool, msg.pg_seed))
        if (
            pg is None
            or msg.map_epoch > self.epoch
            or pg.lock.locked()
            or not conn.peer_name.startswith("osd.")
        ):
            return False
        try:
            entry = LogEntry.decode(msg.log_entry)
        except (msgspec.DecodeError, msgspec.ValidationError, PgLogError):
            return False
        admission = _rep_op_admission(pg, msg, entry)
        if admission is not RepOpAdmission.APPLY:
            return False
        # Nothing can run between these checks and the start: no await in between.
        key = (msg.pool, entry.oid.nspace, entry.oid.name)
        try:
            local = self._start_rep_op(pg, msg.txn, entry)
        except Exception as exc:  # answered as `_rep_op`'s would be
            self._spawn(self._answer(conn, tid, _raise(exc)))
            return True
        token = pg.lock.begin(key, ordered=False)
        reply = RepOpReply(msg.pool, msg.pg_seed, msg.version)
        local.add_done_callback(
            functools.partial(self._rep_op_done, conn, tid, pg, key, token, reply)
        )
        return True

    def _rep_op_done(
        self,
        conn: Connection,
        tid: int,
        pg: PG,
        key: ObjectKey,
        token: asyncio.Future[None],
        reply: Message,
        local: asyncio.Future[None],
    ) -> None:
        """A write `_rep_op_now` started is durable here (or failed): answer the primary."""
        pg.lock.end(key, token)
        if local.cancelled() or local.exception() is not None:
            self._spawn(self._answer(conn, tid, local))
        elif not conn.try_reply(tid, reply):
            self._spawn(self._answer(conn, tid, _ready(reply)))

    async def _rep_op(self, conn: Connection, msg: RepOp) -> Message:
        if not conn.peer_name.startswith("osd."):
            raise RadosError(f"{conn.peer_name} may not replicate", EACCES)
        if msg.map_epoch > self.epoch:
            # Applied under our map if the primary's does not come in time, as before
            # the primary's was asked for: the primary resends what fails.
            await self._wait_op_map(msg.map_epoch, conn.peer_name)
        pg = self.pgs.get(PgId(msg.pool, msg.pg_seed))
        if pg is None:
            raise RadosError(f"pg {msg.pool}.{msg.pg_seed:x} is not mapped here", ENOENT)
        txn = msg.txn
        try:
            entry = LogEntry.decode(msg.log_entry)
        except (msgspec.DecodeError, msgspec.ValidationError, PgLogError) as exc:
            raise RadosError(f"malformed replication op: {exc}", EINVAL) from None
        key = (msg.pool, entry.oid.nspace, entry.oid.name)
        waits, interval = 0, pg.interval_start
        while True:
            async with pg.lock.ordered():
                admission = _rep_op_admission(pg, msg, entry)
                if admission is RepOpAdmission.DUPLICATE:
                    await pg.lock.wait_object(key)
                    return RepOpReply(msg.pool, msg.pg_seed, msg.version)
                if admission is RepOpAdmission.RETIRED:
                    raise RadosError(f"pg {pg.pgid} is not mapped here any more", ENOENT)
                if admission is RepOpAdmission.STALE:
                    raise RadosError(f"pg {pg.pgid}: replication op from an older interval", ESTALE)
                if waits and pg.interval_start != interval:
                    # The write it waited for belongs to an interval that is over.
                    raise RadosError(f"pg {pg.pgid}: its interval changed", ESTALE)
                if admission is RepOpAdmission.APPLY:
                    local = self._start_rep_op(pg, txn, entry)
                    token = pg.lock.begin(key)
                    break
            # WAIT: the write before this one (resent, or sent by a task that dialled
            # this OSD) is not here yet.
            if waits == 1:
                log.warning(
                    "%s: pg %s: %s waits for %s before it",
                    self.entity, pg.pgid, entry.version, msg.prev_version,
                )  # fmt: skip
            waits += 1
            await pg.lock.wait_begun(REPOP_ORDER_WAIT)
        try:
            await local
        finally:
            pg.lock.end(key, token)
        return RepOpReply(msg.pool, msg.pg_seed, msg.version)

    def _start_rep_op(self, pg: PG, txn: Transaction, entry: LogEntry) -> asyncio.Future[None]:
        """Holding the PG's op lock: start committing a replicated write and take its
        entry into the PG's log and info at once, so that the next one may follow."""
        # The primary's info, less what is this copy's own (missing, backfill).
        info = pg.info
        for i, op in enumerate(txn.ops):
            if isinstance(op, SetPgInfo):
                try:
                    primary_info = PgInfo.decode(op.info)
                except PgLogError as exc:
                    raise RadosError(f"malformed replication op: {exc}", EINVAL) from None
                info = replica_info(primary_info, pg.info, pg.missing)
                txn.ops[i] = SetPgInfo(pg.cid, info.encode())
        # Refused before the store changes: an entry that does not follow this
        # copy's log (from a primary that lost entries this copy holds) touches nothing.
        pg.log.check_append(entry)
        self._pending_growth.add(report.replica_growth(txn))
        local = self.committer.submit(txn)
        local.add_done_callback(functools.partial(self._check_durable, pg))
        pg.log.append(entry)
        for op in txn.ops:
            if isinstance(op, PgLogTrim):
                pg.log.trim(op.upto)
        pg.info = info
        return local

    async def _pg_list(self, conn: Connection, msg: PGList) -> Message:
        target = await self._primary_pg(msg.map_epoch, msg.pool, msg.pg_seed, None)
        if isinstance(target, OSDRetry):
            return target
        pg = target
        assert self.osdmap is not None
        pool = self.osdmap.pools[msg.pool]
        if not _osd_capable(conn, pool.name, msg.nspace, "", True, False):
            raise RadosError("permission denied", EPERM)
        after = ObjectId(msg.after_name, msg.after_nspace) if msg.after_name else None
        nspace = None if msg.all_nspaces else msg.nspace
        async with pg.lock:
            oids = self.store.list_objects(
                pg.cid, after=after, limit=msg.max_entries, nspace=nspace, snap=NOSNAP
            )
        entries = [ListEntry(o.nspace, o.name) for o in oids]
        return PGListReply(entries, len(oids) < msg.max_entries)

    async def _scrub_ls(self, conn: Connection, msg: PGScrubLs) -> Message:
        """``rados list-inconsistent-obj``: what the PG's last scrub found."""
        target = await self._primary_pg(msg.map_epoch, msg.pool, msg.pg_seed, None)
        if isinstance(target, OSDRetry):
            return target
        assert self.osdmap is not None
        pool = self.osdmap.pools[msg.pool]
        if not _osd_capable(conn, pool.name, "", "", True, False):
            raise RadosError("permission denied", EPERM)
        return self.scrubber.handle_ls(target)


class _Admitted(NamedTuple):
    """A client op `OsdDaemon._admit` let through: where it goes and how it orders."""

    pg: PG
    oid: ObjectId
    key: ObjectKey
    pool: Pool


@dataclass(frozen=True, slots=True)
class _RepOpInFlight:
    """A replicated op sent by `_send_repop`: what makes it obsolete on a new map."""

    pg: PG
    interval: int
    osd: int
    addr: Addr
    conn: Connection


def _public_addr(osdmap: OSDMap, osd: int) -> Addr | None:
    if not osdmap.is_up(osd) or not osdmap.osds[osd].public_addr:
        return None
    host, _, port = osdmap.osds[osd].public_addr.rpartition(":")
    return host, int(port)


class _RepOpSuperseded(Exception):
    """A new map changed the PG's interval or moved the OSD a replicated op went to."""


PEERING_MESSAGES = (
    PGQuery, PGActivate, PGActivated, PGPull, PGPush, PGScan, PGBackfillDone, PGScrubMap,
    PGRemove,
)  # fmt: skip


def _rep_op_admission(pg: PG, msg: RepOp, entry: LogEntry) -> RepOpAdmission:
    """`admit_rep_op` for a RepOp carrying `entry` to `pg` as it is now."""
    return admit_rep_op(
        entry.version,
        msg.prev_version,
        msg.map_epoch,
        pg.last_update,
        pg.info.last_epoch_started,
        pg.interval_start == RETIRED,
    )


async def _ready(reply: Message) -> Message:
    """An answer already computed, for `_answer` to send once the send queue has room."""
    return reply


async def _raise(exc: BaseException) -> Message:
    raise exc


async def _refuse(conn: Connection) -> Message:
    raise RadosError(f"{conn.peer_name} may not take part in peering", EACCES)


@functools.lru_cache(maxsize=256)
def _parse_osd_caps(text: str) -> OSDCap:
    """Parsed once per distinct caps string rather than once per op."""
    return OSDCap.parse(text)


def _osd_capable(
    conn: Connection, pool: str, nspace: str, name: str, read: bool, write: bool
) -> bool:
    """Whether the peer's ``osd`` caps allow this op (clients' caps come in tickets)."""
    try:
        caps = _parse_osd_caps(conn.caps.get("osd", ""))
    except InvalidArgument:
        return False
    return caps.is_capable(pool, nspace, read=read, write=write, object_name=name)


def run_daemon(config: OsdConfig) -> None:
    """Run an OSD until SIGTERM/SIGINT."""
    tune_for_big_buffers()
    run_service(lambda: OsdDaemon(config))
