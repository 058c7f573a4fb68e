"""The monitor daemon: a thin asyncio shell around Raft and the monitor state.

A monitor's data directory (``mon_data``) holds:

    raft/      the Raft store: an append-only log with the hard state, and the
               snapshot (radospy.raft.wal); a ``store.db`` (SQLite) of an earlier
               version is migrated into it on start
    keyring    this monitor's ``mon.`` key (and whatever else mkfs was given)
    monmap     the monmap mkfs was given: where to find peers before the log says
    bootstrap  founders only: the founding state the first leader proposes
    mon_info   name, fsid, address; written last, so its presence means mkfs finished

Raft node ids are derived from monitor names (:func:`mon_node_id`), so they never
change when ranks do. The monmap in the replicated state is the membership a leader
steers Raft's voter set to (one single-server change at a time): ``mon add`` and
``mon remove`` change the monmap, and the leader then adds or removes the voter.

Commands go to the leader: a follower answers "retry there" with the leader's address.
The leader checks the client's caps in ``handle_command`` and answers a read-only
command after a ReadIndex barrier (linearizable). A change is validated against the
state every change already accepted leads to, and joins the next Raft entry: while one
entry is being committed, the changes that arrive meanwhile accumulate into the next
(group commit, as Ceph's monitors do), so a busy leader writes and fsyncs once for many
commands. A change is acknowledged once its entry is committed and applied; an answer
that changes nothing is given only from the committed state after a barrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from errno import EACCES, EAGAIN, EBUSY, EEXIST, EINVAL, EIO, ENOENT, ETIMEDOUT
from pathlib import Path
from typing import Any

import msgspec

from radospy.auth.caps import MonCap
from radospy.auth.handshake import MonAuthClient, MonAuthServer, RotatingSecrets
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.errors import InvalidArgument, RadosError
from radospy.common.files import write_atomic
from radospy.common.service import run_service
from radospy.common.tasks import log_failure
from radospy.mon import cluster_log, full_status, status_commands
from radospy.mon.cluster_log import ClusterLog
from radospy.mon.cmdspec import CommandContext, CommandResult, Propose
from radospy.mon.commands import COMMANDS_BY_NAME, handle_command
from radospy.mon.failure_commands import REPORT_PREFIXES
from radospy.mon.failure_service import FailureService
from radospy.mon.failures import FailureConfig
from radospy.mon.health import HealthCheck
from radospy.mon.machine import (
    BatchEntry,
    BootstrapEntry,
    CommandEntry,
    MonMapEntry,
    ReplicatedMonState,
    encode_envelope,
)
from radospy.mon.messages import (
    MonCommand,
    MonCommandReply,
    MonMapData,
    MonSubscribe,
    OsdScrubOrder,
    OsdStatReport,
)
from radospy.mon.monmap import MonMap, now_stamp
from radospy.mon.pgmap import PGMap
from radospy.mon.progress import Progress
from radospy.mon.quorum import QuorumTracker, QuorumView, election_epoch
from radospy.mon.state import MonState
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed
from radospy.msg.messages import Message
from radospy.msg.messenger import Messenger
from radospy.osdmap.osdmap import OSDMap
from radospy.raft import (
    ConfChange,
    ConfChangeOp,
    ConfChangePending,
    HardState,
    NotLeader,
    ProposalError,
    Role,
    StoreInUse,
    WalStorage,
    bootstrap_entries,
)
from radospy.raft.driver import (
    DriverConfig,
    MessengerTransport,
    ProposalDropped,
    QuorumTimeout,
    RaftDriver,
    RaftMessage,
    decode_raft,
)
from radospy.raft.migrate import migrate_sqlite_store

log = logging.getLogger("radospy.mon")

Addr = tuple[str, int]

STORE = "raft"
LEGACY_STORE = "store.db"
"""The SQLite Raft store of earlier versions, migrated into ``STORE`` on start."""
KEYRING = "keyring"
MONMAP = "monmap"
BOOTSTRAP = "bootstrap"
MON_INFO = "mon_info"

COMMAND_TIMEOUT = 10.0
"""Seconds the leader waits for a command's barrier and commit before giving up."""
AUTH_BARRIER_TIMEOUT = 5.0
"""Seconds a monitor waits to confirm an entity unknown to it (below the messenger's
ms_connection_ready_timeout, so the peer is told to retry rather than timed out)."""
MAX_BATCH = 256
"""Changes carried by one Raft entry at most."""
MAX_ENTRIES_IN_FLIGHT = 2
"""Raft entries the leader's write pipeline has in flight at once: the next one is
replicated while the followers' disks are busy with this one."""
RECONCILE_INTERVAL = 0.5
"""Seconds between a leader's checks that the voters match the monmap."""
FULL_CHECK_INTERVAL = 1.0
"""Seconds between a leader's checks of the PG stats against quotas and full ratios."""

DAEMON_COMMANDS = {"mon stat", "mon dump", "mon getmap", "quorum_status", "mon add", "mon remove"}
"""Answered by the daemon itself: they need Raft's view, not only the state."""


class MonError(RadosError):
    """A monitor cannot be created or started; ``str()`` is the one-line reason."""


def _raise_for_dead_loop(
    entity: str, loops: dict[asyncio.Task[Any], str], done: set[asyncio.Task[Any]]
) -> None:
    """A loop that should run as long as the monitor failed: log why and stop the
    monitor with a MonError (a leader whose status or failure loop died would go on
    answering while no longer logging health or marking OSDs down). Each failed loop
    is logged once, with its traceback; the error names the first."""
    first: MonError | None = None
    for task, name in loops.items():
        exc = task.exception() if task in done and not task.cancelled() else None
        if exc is None:
            continue
        log.error("%s: %s loop failed", entity, name, exc_info=exc)
        first = first or MonError(f"{name} loop failed: {exc!r}")
    if first is not None:
        raise first


def mon_node_id(name: str) -> int:
    """The Raft node id of monitor ``name`` (``a``, not ``mon.a``): a 48-bit hash."""
    digest = hashlib.blake2b(name.encode(), digest_size=6, person=b"radospy-mon").digest()
    return int.from_bytes(digest, "big") or 1


class MonInfo(msgspec.Struct, frozen=True):
    """What mkfs records about the monitor it created."""

    name: str
    fsid: str
    public_addr: str = ""


# --- mkfs --------------------------------------------------------------------------


def mkfs(
    name: str,
    data_dir: Path,
    monmap: MonMap,
    keyring: Keyring,
    public_addr: Addr | None = None,
) -> None:
    """Create monitor ``name``'s data directory.

    A monitor listed in a monmap that no cluster has changed yet (epoch 0, as
    monmaptool makes it) is a founder: its Raft log starts with the founding voters, all of that
    monmap's monitors. Any other monitor joins an existing cluster (``mon add``) and
    learns everything from the leader.
    """
    mon_key = keyring.get(EntityName("mon", ""))
    if mon_key is None:
        raise MonError("the keyring has no 'mon.' key (create it with ceph-authtool)", EINVAL)
    if any((data_dir / f).exists() for f in (MON_INFO, STORE, LEGACY_STORE)):
        raise MonError(f"'{data_dir}' already holds a monitor store", EEXIST)
    addrs = monmap_addrs(monmap)
    founder = name in addrs and monmap.epoch == 0
    if name not in addrs and public_addr is None:
        raise MonError(f"mon.{name} is not in the monmap: give its --public-addr", EINVAL)
    data_dir.mkdir(parents=True, exist_ok=True)
    storage = WalStorage(data_dir / STORE)
    try:
        if founder:
            boot = bootstrap_entries(mon_node_id(m) for m in addrs)
            storage.save(entries=boot, hard_state=HardState(term=1, commit=len(boot)))
            state = MonState.bootstrap(monmap.fsid, time.time(), keyring)
            founding = MonMap.decode(monmap.encode())
            founding.epoch = 1
            entry = BootstrapEntry(state.snapshot(), founding.encode())
            write_atomic(data_dir / BOOTSTRAP, encode_envelope(entry))
    finally:
        storage.close()
    write_atomic(data_dir / KEYRING, keyring.to_text().encode())
    write_atomic(data_dir / MONMAP, monmap.encode())
    addr = f"{public_addr[0]}:{public_addr[1]}" if public_addr else ""
    info = MonInfo(name, monmap.fsid, addr)
    write_atomic(data_dir / MON_INFO, msgspec.json.encode(info))


def monmap_addrs(monmap: MonMap) -> dict[str, Addr]:
    """Monitor name → (host, port)."""
    return {name: (a.host, a.port) for name, a in monmap.mons.items()}


# --- the daemon --------------------------------------------------------------------


@dataclass(frozen=True)
class MonConfig:
    """What a running monitor needs besides its data directory."""

    name: str
    data_dir: Path
    public_addr: Addr | None = None
    driver: DriverConfig = field(default_factory=DriverConfig)
    messenger: MessengerConfig = field(
        default_factory=lambda: MessengerConfig(ms_initial_backoff=0.1, ms_max_backoff=1.0)
    )
    failure: FailureConfig = field(default_factory=FailureConfig)
    tick_interval: float = 5.0
    """``mon_tick_interval``: seconds between the leader's failure-timer checks."""
    pg_stuck_threshold: float = 60.0
    """``mon_pg_stuck_threshold``: seconds before a PG in a bad state counts as stuck."""
    op_retry_timeout: float = 30.0
    """``mon_op_retry_timeout``: seconds a change refused with EAGAIN at apply time is
    validated and proposed again before the command is answered ETIMEDOUT."""


class MonDaemon:
    """One running monitor: :meth:`open` the data directory, then :meth:`run`."""

    def __init__(self, config: MonConfig) -> None:
        self.config = config
        self.name = config.name
        self.entity = f"mon.{config.name}"
        self.node_id = mon_node_id(config.name)
        self.info, self.keyring, self.initial_monmap = _load_data_dir(config.data_dir)
        if self.info.name != config.name:
            raise MonError(
                f"'{config.data_dir}' belongs to mon.{self.info.name}, not {self.entity}", EINVAL
            )
        mon_key = self.keyring.get(EntityName("mon", ""))
        if mon_key is None:
            raise MonError(f"'{config.data_dir / KEYRING}' has no 'mon.' key", EINVAL)
        self.mon_key: EntityAuth = mon_key
        self.machine = ReplicatedMonState()
        self.storage = _open_store(config.data_dir)
        self._stop = asyncio.Event()
        self._subscribers: dict[Connection, dict[str, int]] = {}
        self._feed_locks: dict[Connection, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._was_member = False
        self.messenger: Messenger | None = None
        self.driver: RaftDriver | None = None
        self._pipeline: _WritePipeline | None = None
        self._quorum_since = QuorumTracker()
        self.pgmap = self._new_pgmap()
        """The OSDs' last reports; kept by the leader only (see radospy.mon.pgmap)."""
        ranks = self.initial_monmap.ranks
        rank = f"mon.{ranks.index(config.name)}" if config.name in ranks else self.entity
        self.cluster_log = ClusterLog(self.entity, rank)
        """This monitor's cluster log (see radospy.mon.cluster_log)."""
        self.progress = Progress()
        """The leader's progress events."""
        self._health: dict[str, HealthCheck] = {}
        """The checks failing at the leader's last status tick."""
        self._logged_states: list[tuple[str, int]] = []
        self._last_osdmap: OSDMap | None = None
        self.failures = FailureService(
            self.entity,
            config.failure,
            lambda: self.machine.state.osdmap,
            self._submit_own,
            on_log=lambda line: self.cluster_log.add(time.time(), "[INF]", line),
        )

    def _new_pgmap(self) -> PGMap:
        return PGMap(
            started=time.time(),
            report_timeout=self.config.failure.report_timeout,
            stuck_threshold=self.config.pg_stuck_threshold,
        )

    # --- lifecycle ------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to shut down."""
        self._stop.set()

    async def run(self) -> None:
        """Bind, join the quorum and serve until :meth:`stop`."""
        auth = _MonAuth(self)
        messenger = Messenger(
            self.entity, self.config.messenger, auth, self, before_auth=auth.before_auth
        )
        transport = MessengerTransport(messenger, self._resolve)
        driver = RaftDriver(
            self.node_id,
            self.storage,
            self.machine,
            transport,
            self.config.driver,
            on_applied=self._on_applied,
            on_role_change=self._on_role_change,
        )
        self.messenger, self.driver = messenger, driver
        self._pipeline = _WritePipeline(self.machine, driver.propose)
        addr = self._my_addr()
        try:
            await messenger.bind(*addr)
        except OSError as exc:
            raise MonError(f"cannot bind {addr[0]}:{addr[1]}: {exc.strerror}") from None
        self._was_member = self.name in self._monmap_addrs()
        log.info("%s: listening on %s:%d, fsid %s", self.entity, *addr, self.info.fsid)
        raft_task = driver.start()
        reconcile = asyncio.create_task(self._reconcile_loop())
        full_checks = asyncio.create_task(self._full_check_loop())
        failure_ticks = asyncio.create_task(
            self.failures.run(self.config.tick_interval, lambda: driver.is_leader)
        )
        status_ticks = asyncio.create_task(self._status_loop())
        stop_task = asyncio.create_task(self._stop.wait())
        loops = {
            raft_task: "raft",
            reconcile: "reconcile",
            full_checks: "full check",
            failure_ticks: "failure",
            status_ticks: "status",
        }
        try:
            done, _ = await asyncio.wait({*loops, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            _raise_for_dead_loop(self.entity, loops, done)
        finally:
            tasks = (reconcile, full_checks, failure_ticks, status_ticks, stop_task)
            for task in (*tasks, *self._tasks):
                task.cancel()
            await driver.stop()
            await transport.close()
            await messenger.shutdown()
            self.storage.close()
            log.info("%s: stopped", self.entity)

    # --- where everyone is ----------------------------------------------------------

    def _monmap(self) -> MonMap:
        return self.machine.monmap if self.machine.bootstrapped else self.initial_monmap

    def _monmap_addrs(self) -> dict[str, Addr]:
        addrs = monmap_addrs(self.initial_monmap)
        if self.machine.bootstrapped:
            addrs.update(monmap_addrs(self.machine.monmap))
        return addrs

    def _my_addr(self) -> Addr:
        addrs = self._monmap_addrs()
        if self.config.public_addr is not None:
            return self.config.public_addr
        if self.name in addrs:
            return addrs[self.name]
        if self.info.public_addr:
            host, _, port = self.info.public_addr.rpartition(":")
            return host, int(port)
        raise MonError(f"{self.entity} has no address: it is not in the monmap", EINVAL)

    def _resolve(self, node_id: int) -> tuple[str, Addr] | None:
        for name, addr in self._monmap_addrs().items():
            if mon_node_id(name) == node_id:
                return f"mon.{name}", addr
        return None

    def _name_of(self, node_id: int) -> str:
        target = self._resolve(node_id)
        return target[0].removeprefix("mon.") if target else f"{node_id:x}"

    # --- dispatcher -----------------------------------------------------------------

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Messenger dispatcher."""
        if isinstance(msg, RaftMessage):
            self._step(conn, msg)
        elif isinstance(msg, MonCommand):
            self._spawn(self._serve_command(conn, msg, tid))
        elif isinstance(msg, MonSubscribe):
            await self._subscribe(conn, msg)
        elif isinstance(msg, OsdStatReport):
            self._on_stat_report(conn, msg)
        elif isinstance(msg, OsdScrubOrder):
            if not conn.peer_name.startswith("mon."):
                raise RadosError(f"{conn.peer_name} may not order scrubs", EACCES)
            self._push_scrub_order(msg)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(log_failure(log, self.entity))

    def _step(self, conn: Connection, msg: RaftMessage) -> None:
        assert self.driver is not None
        peer = conn.peer_name
        if not peer.startswith("mon."):
            raise RadosError(f"{peer} may not send raft messages", EACCES)
        m = decode_raft(msg)
        if m.frm != mon_node_id(peer.removeprefix("mon.")) or m.to != self.node_id:
            raise RadosError(f"raft message {m.frm:x}->{m.to:x} from {peer} refused", EACCES)
        self.driver.step(m)

    # --- commands -------------------------------------------------------------------

    async def _serve_command(self, conn: Connection, msg: MonCommand, tid: int) -> None:
        try:
            reply = await self._command(conn, msg)
        except (NotLeader, ProposalDropped, ConfChangePending):
            reply = self._retry_reply()
        except QuorumTimeout as exc:
            # This monitor could not hear from a majority: the client tries again
            # (another monitor, or this one once the quorum is back) until its own
            # deadline, as Ceph's clients wait out an election. Commands are applied
            # once per (nonce, seq), so a retried change is not applied twice.
            log.info("%s: no quorum for a command (%s); the client retries", self.entity, exc)
            reply = MonCommandReply(-EAGAIN, b"", f"no quorum: {exc}", True)
        except RadosError as exc:
            reply = MonCommandReply(-exc.errno, b"", str(exc))
        with contextlib.suppress(ConnectionClosed):
            await conn.reply(tid, reply)

    def _retry_reply(self) -> MonCommandReply:
        assert self.driver is not None
        lead = self.driver.leader
        if lead and lead != self.node_id and (target := self._resolve(lead)) is not None:
            name, (host, port) = target
            return MonCommandReply(-EAGAIN, b"", "not the leader", True, name, f"{host}:{port}")
        return MonCommandReply(-EAGAIN, b"", "no leader elected yet", True)

    async def _command(self, conn: Connection, msg: MonCommand) -> MonCommandReply:
        assert self.driver is not None
        cmd = _parse_cmd(msg.cmd)
        if not self.driver.is_leader or not self.machine.bootstrapped:
            return self._retry_reply()
        prefix = cmd["prefix"]
        caps = _mon_caps(conn)
        if prefix in REPORT_PREFIXES:
            return _reply(self.failures.handle(cmd, conn.peer_name))
        if prefix in DAEMON_COMMANDS:
            return await self._daemon_command(conn, prefix, cmd, caps, msg)
        ctx = CommandContext(
            conn.peer_name,
            caps,
            time.time(),
            secrets.token_bytes,
            pgmap=self.pgmap,
            cluster_log=self.cluster_log,
            progress=self.progress,
            laggy=self.config.failure.laggy,
        )
        inbuf = bytes(msg.inbuf)
        command = COMMANDS_BY_NAME.get(prefix)
        if command is not None and command.read is not None:
            await self.driver.read_barrier(COMMAND_TIMEOUT)
            ctx.quorum = self._quorum_view()
            result = handle_command(self.machine.state, cmd, ctx, inbuf)
            if ctx.scrub_orders:
                self._spawn(self._send_scrub_orders(ctx.scrub_orders))
            return _reply(result)
        result = await self._write(
            msg,
            lambda state: handle_command(state, cmd, ctx, inbuf),
            lambda entry: CommandEntry(msg.nonce, msg.seq, entry),
        )
        return _reply(result)

    async def _write(
        self,
        msg: MonCommand,
        validate: Callable[[MonState], CommandResult | Propose],
        wrap: Callable[[bytes], CommandEntry | MonMapEntry],
    ) -> CommandResult:
        """Validate and replicate client (nonce, seq)'s command.

        A change is validated against the state the changes accepted before it lead to
        and joins the write pipeline; one refused with EAGAIN at apply time (validated
        against a change that did not happen as expected) is validated again, as Ceph's
        monitor keeps a pool op waiting for the next proposal until it applies. Each
        attempt waits for the changes before it, so the retries are bounded by time
        (``mon_op_retry_timeout``), not by a count that a busy cluster outruns: past
        the deadline the command is answered ETIMEDOUT, as a Ceph client's monitor op
        that did not complete in time. An answer without a change must not reflect
        changes that may never commit, nor miss one committed by a newer leader: it is
        given only from the committed state, once everything accepted before it is
        applied and a ReadIndex barrier confirmed this monitor still leads.
        """
        assert self.driver is not None and self._pipeline is not None
        pipeline = self._pipeline
        deadline = time.monotonic() + self.config.op_retry_timeout
        settled = False
        while True:
            cached = self.machine.result_of(msg.nonce, msg.seq)
            if cached is not None:
                return cached
            if settled:
                result = validate(self.machine.state)
                if not isinstance(result, Propose):
                    return result
                if pipeline.state is not self.machine.state:
                    result = validate(pipeline.state)
            else:
                result = validate(pipeline.state)
            if isinstance(result, Propose):
                applied = await pipeline.submit(wrap(result.entry), result.after)
                if applied.rc != -EAGAIN:
                    return applied
                settled = False
            else:
                await pipeline.drained()
                await self.driver.read_barrier(COMMAND_TIMEOUT)
                settled = True
            if time.monotonic() >= deadline:
                timeout = self.config.op_retry_timeout
                outs = f"the monitors' state kept changing for {timeout:g} s; retry"
                return CommandResult(-ETIMEDOUT, b"", outs)

    async def _daemon_command(
        self, conn: Connection, prefix: str, cmd: dict[str, Any], caps: MonCap, msg: MonCommand
    ) -> MonCommandReply:
        write = prefix in ("mon add", "mon remove")
        if not caps.is_capable(conn.peer_name, "mon", prefix, read=True, write=write):
            return MonCommandReply(-EACCES, b"", "access denied")
        fmt = cmd.get("format", "plain")
        if write:
            result = await self._write(
                msg,
                lambda _state: self._monmap_change(prefix, cmd),
                lambda data: MonMapEntry(msg.nonce, msg.seq, data),
            )
            if result.rc == 0:
                self._spawn(self._reconcile())
            return _reply(result)
        assert self.driver is not None
        await self.driver.read_barrier(COMMAND_TIMEOUT)
        if prefix == "quorum_status":
            view = self._quorum_view()
            return _json_reply(view.quorum_status(), fmt if fmt != "plain" else "json")
        if prefix in ("mon dump", "mon getmap"):
            return self._monmap_command(prefix, cmd.get("epoch"), fmt)
        return self._mon_stat(fmt)

    def _monmap_command(self, prefix: str, epoch: Any, fmt: str) -> MonCommandReply:
        """`mon dump [EPOCH]` and `mon getmap [EPOCH]`."""
        if epoch is not None and (type(epoch) is not int or epoch < 0):
            return MonCommandReply(-EINVAL, b"", f"invalid epoch {epoch!r}")
        monmap = self._monmap()
        if epoch and epoch != monmap.epoch:
            found = self.machine.monmap_at(epoch)
            if found is None:
                return MonCommandReply(-ENOENT, b"", f"there is no map for epoch {epoch}")
            monmap = found
        if prefix == "mon dump":
            if fmt != "plain":
                return _json_reply(monmap.dump(), fmt)
            return MonCommandReply(
                0, monmap.print_text().encode(), f"dumped monmap epoch {monmap.epoch}"
            )
        return MonCommandReply(0, monmap.encode(), f"got monmap epoch {monmap.epoch}")

    def _monmap_change(self, prefix: str, cmd: dict[str, Any]) -> CommandResult | Propose:
        """``mon add NAME ADDR`` / ``mon remove NAME`` as the next monmap."""
        new = MonMap.decode(self.machine.monmap.encode())
        name = str(cmd.get("name", ""))
        try:
            if prefix == "mon add":
                if name in new.mons:
                    addr = new.mons[name]
                    return CommandResult(
                        0, b"", f"mon.{name} at {addr.entity_str()} already exists"
                    )
                new.add(name, str(cmd.get("addr", "")))
                outs = f"adding mon.{name} at {new.mons[name].entity_str()}"
            else:
                if name not in new.mons:
                    outs = f"mon.{name} does not exist or has already been removed"
                    return CommandResult(0, b"", outs)
                if len(new.mons) == 1:
                    return CommandResult(-EINVAL, b"", "refusing to remove the last monitor")
                new.remove(name)
                outs = f"removing mon.{name}, there will be {len(new.mons)} monitors"
        except RadosError as exc:
            return CommandResult(-exc.errno, b"", str(exc))
        new.epoch += 1
        new.modified = now_stamp()
        return Propose(new.encode(), prefix)

    def _quorum_view(self) -> QuorumView:
        """The quorum as this leader sees it: the voters it heard from within an
        election timeout (followers answer every heartbeat)."""
        assert self.driver is not None
        loop_now = asyncio.get_running_loop().time()
        cfg = self.config.driver
        window = cfg.tick_interval * cfg.election_tick
        alive = {self.node_id} | {
            n for n, t in self.driver.last_heard.items() if loop_now - t <= window
        }
        names = {self._name_of(v) for v in self.driver.voters if v in alive}
        monmap = self._monmap()
        quorum = tuple(n for n in monmap.ranks if n in names)
        epoch = election_epoch(self.driver.term, settled=self.driver.leader != 0)
        since = self._quorum_since.update(epoch, quorum, self.driver.leader_since, loop_now)
        return QuorumView(monmap, quorum, self.name, epoch, loop_now - since)

    def _mon_stat(self, fmt: str) -> MonCommandReply:
        view = self._quorum_view()
        if fmt != "plain":
            return _json_reply(view.monmap.stat_dict(self.name, view.quorum), fmt)
        text = view.monmap.stat_line(view.election_epoch, self.name, view.quorum) + "\n"
        return MonCommandReply(0, text.encode(), "")

    # --- membership -----------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_INTERVAL)
            if self.driver is not None and self.driver.is_leader:
                self._quorum_view()  # notice a monitor leaving or joining when it does
            await self._reconcile()

    async def _reconcile(self) -> None:
        """On the leader: one step of bringing Raft's voters to the monmap's monitors."""
        driver = self.driver
        if driver is None or not driver.is_leader:
            return
        if not self.machine.bootstrapped:
            await self._propose_bootstrap()
            return
        wanted = {mon_node_id(n) for n in monmap_addrs(self.machine.monmap)}
        voters = set(driver.voters)
        change = None
        if wanted - voters:
            change = ConfChange(ConfChangeOp.ADD_VOTER, min(wanted - voters))
        elif voters - wanted:
            change = ConfChange(ConfChangeOp.REMOVE_VOTER, min(voters - wanted))
        if change is None:
            return
        name = self._name_of(change.node_id)
        try:
            await driver.propose_conf_change(change, COMMAND_TIMEOUT)
            log.info("%s: voter %s %s", self.entity, name, change.op.name.lower())
        except (ProposalError, RadosError) as exc:
            log.info("%s: voter change for %s deferred: %s", self.entity, name, exc)

    async def _propose_bootstrap(self) -> None:
        assert self.driver is not None
        path = self.config.data_dir / BOOTSTRAP
        if not path.exists():
            return
        data = path.read_bytes()
        with contextlib.suppress(ProposalError, RadosError):
            await self.driver.propose(data, COMMAND_TIMEOUT)
            log.info("%s: founding state committed", self.entity)

    async def _submit_own(self, cmd: dict[str, Any]) -> tuple[bool, CommandResult]:
        """Run ``cmd`` as this monitor (failure handling's map changes): whether it
        proposed a change, and its result."""
        ctx = CommandContext(self.entity, MonCap.parse("allow *"), time.time(), secrets.token_bytes)
        proposed = False

        def validate(state: MonState) -> CommandResult | Propose:
            nonlocal proposed
            result = handle_command(state, cmd, ctx)
            proposed = isinstance(result, Propose)
            return result

        result = await self._write(
            MonCommand(json.dumps(cmd)), validate, lambda entry: CommandEntry(0, 0, entry)
        )
        return proposed, result

    def _on_role_change(self, role: Role, lead: int) -> None:
        self.failures.reset()
        if role is Role.LEADER:
            # Figures kept from an earlier term may be stale: start over from the
            # next reports (full_status leaves alone what the map cannot judge).
            self.pgmap = self._new_pgmap()
            self.progress = Progress()
            self._health = {}
            self._spawn(self._reconcile())

    # --- PG stats and full flags ----------------------------------------------------

    def _on_stat_report(self, conn: Connection, msg: OsdStatReport) -> None:
        """Keep an OSD's report if leading, else pass it on to the leader."""
        peer = conn.peer_name
        if peer != f"osd.{msg.osd}" and not peer.startswith("mon."):
            raise RadosError(f"{peer} may not report for osd.{msg.osd}", EACCES)
        driver = self.driver
        if driver is None:
            return
        if driver.is_leader:
            self.pgmap.apply_report(msg, time.time())
            return
        target = self._resolve(driver.leader) if driver.leader else None
        if target is not None and not peer.startswith("mon."):
            self._spawn(self._forward(target, msg))

    async def _forward(self, target: tuple[str, Addr], msg: OsdStatReport) -> None:
        assert self.messenger is not None
        name, addr = target
        try:
            conn = await self.messenger.connect(addr, name)
        except (RadosError, OSError) as exc:
            log.debug("%s: cannot forward a report to %s: %s", self.entity, name, exc)
            return
        conn.try_send(msg)

    # --- scrub orders ---------------------------------------------------------------

    async def _send_scrub_orders(self, orders: list[OsdScrubOrder]) -> None:
        """Hand each order to the OSD's session here and to every other monitor, since
        the OSD may hold its session with any of them (one-way, as Ceph's are)."""
        assert self.messenger is not None
        for order in orders:
            self._push_scrub_order(order)
        for name, addr in self._monmap_addrs().items():
            if name == self.name:
                continue
            try:
                conn = await self.messenger.connect(addr, f"mon.{name}")
            except (RadosError, OSError) as exc:
                log.debug("%s: cannot pass scrub orders to mon.%s: %s", self.entity, name, exc)
                continue
            for order in orders:
                conn.try_send(order)

    def _push_scrub_order(self, order: OsdScrubOrder) -> None:
        """Send ``order`` to the OSD if its monitor session is with this monitor."""
        for conn in list(self._subscribers):
            if conn.peer_name == f"osd.{order.osd}" and not conn.is_closed:
                conn.try_send(order)

    async def _full_check_loop(self) -> None:
        while True:
            await asyncio.sleep(FULL_CHECK_INTERVAL)
            try:
                await self._full_check()
            except (NotLeader, ProposalDropped, ConfChangePending, ProposalError) as exc:
                log.info("%s: full-status change deferred: %s", self.entity, exc)

    async def _full_check(self) -> None:
        """On the leader: mark OSDs and pools full (or no longer) as the stats say."""
        driver = self.driver
        if driver is None or not driver.is_leader or not self.machine.bootstrapped:
            return
        if not self.pgmap.osd_stats:
            return
        pgmap = self.pgmap
        osdmap = self.machine.state.osdmap
        pgmap.prune(osdmap)
        await asyncio.to_thread(pgmap.pool_osds, osdmap)

        last = full_status.FullChanges()

        def validate(state: MonState) -> CommandResult | Propose:
            nonlocal last
            found = last = full_status.changes(state.osdmap, pgmap, pgmap.pool_osds(state.osdmap))
            if not found:
                return CommandResult(0, b"", "")
            cmd = {"prefix": "osd full-status", "states": found.to_words()}
            ctx = CommandContext(
                self.entity, MonCap.parse("allow *"), time.time(), secrets.token_bytes
            )
            return handle_command(state, cmd, ctx)

        if isinstance(validate(self.machine.state), CommandResult):
            return
        before = self.machine.state.osdmap
        msg = MonCommand(json.dumps({"prefix": "osd full-status"}))
        result = await self._write(msg, validate, lambda e: CommandEntry(0, 0, e))
        if result.rc < 0:
            log.info("%s: full-status change refused: %s", self.entity, result.outs)
            return
        if last:
            # Operators want to see why a pool stopped or resumed taking writes.
            log.info(
                "%s: full-status %s at epoch %d (%s)",
                self.entity,
                " ".join(last.to_words()),
                self.machine.state.osdmap.epoch,
                full_status.usage_summary(pgmap),
            )
        for line in full_status.describe(before, self.machine.state.osdmap, pgmap):
            log.warning("%s: %s", self.entity, line)

    # --- cluster log, health and progress -------------------------------------------

    def _note_osdmap(self, osdmap: OSDMap) -> None:
        """Log what a newly applied map changed; on the leader, follow OSDs marked out
        or in with progress events."""
        before, self._last_osdmap = self._last_osdmap, osdmap
        if before is None or before.epoch == osdmap.epoch:
            return
        now = time.time()
        for priority, message in cluster_log.osdmap_events(before, osdmap):
            self.cluster_log.add(now, priority, message)
        if self.driver is not None and self.driver.is_leader:
            marked = cluster_log.marked_out_or_in(before, osdmap)
            # Placing every PG costs more than the rest of an apply: only when needed.
            rows = self.pgmap.current(before, now) if marked else []
            for osd, direction in marked:
                self.progress.osd_marked(osd, direction, rows, now)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            driver = self.driver
            if driver is not None and driver.is_leader and self.machine.bootstrapped:
                try:
                    self._status_tick(time.time())
                except Exception:
                    # What operators see must not take the quorum down with it: a
                    # thrash run once hit an IndexError placing an unreported PG here
                    # (crush straw2 weights longer than items); log it and go on.
                    log.exception("%s: status tick failed", self.entity)

    def _status_tick(self, now: float) -> None:
        """On the leader: update progress, log health changes and PG state summaries."""
        osdmap, pgmap = self.machine.state.osdmap, self.pgmap
        pgmap.note_pgs(osdmap, now)
        self.progress.update(pgmap.current(osdmap, now), now)
        checks = status_commands.health_checks(osdmap, self._quorum_view(), pgmap, now)
        for priority, message in cluster_log.health_events(self._health, checks):
            self.cluster_log.add(now, priority, message)
        self._health = checks
        states = pgmap.pgs_by_state(osdmap, now)
        if pgmap.osd_stats and states != self._logged_states:
            self._logged_states = states
            summary = ", ".join(f"{n} {s}" for s, n in states)
            self.cluster_log.add(now, "[DBG]", f"pgmap v{pgmap.version}: {summary}")

    # --- subscriptions --------------------------------------------------------------

    async def _subscribe(self, conn: Connection, msg: MonSubscribe) -> None:
        if msg.what != "osdmap":
            raise RadosError(f"unknown subscription '{msg.what}'", EINVAL)
        self._subscribers.setdefault(conn, {})[msg.what] = msg.start_epoch
        await self._feed(conn)

    def _on_applied(self) -> None:
        if self.machine.bootstrapped:
            self._note_osdmap(self.machine.state.osdmap)
            member = self.name in monmap_addrs(self.machine.monmap)
            if self._was_member and not member:
                log.info("%s: removed from the monmap; shutting down", self.entity)
                self._stop.set()
            self._was_member = member
        for conn in list(self._subscribers):
            self._spawn(self._feed(conn))

    async def _feed(self, conn: Connection) -> None:
        if conn.is_closed:
            self._subscribers.pop(conn, None)
            self._feed_locks.pop(conn, None)
            return
        # One feed at a time per subscriber, so its updates go out in epoch order.
        lock = self._feed_locks.setdefault(conn, asyncio.Lock())
        async with lock:
            subs = self._subscribers.get(conn, {})
            want = subs.get("osdmap")
            if want is None or not self.machine.bootstrapped:
                return
            state = self.machine.state
            epoch = state.osdmap.epoch
            if epoch < max(want, 1):
                return
            updates = state.osdmap_updates(want - 1) if want > 1 else None
            subs["osdmap"] = epoch + 1
            with contextlib.suppress(ConnectionClosed):
                if updates is None:
                    data = state.osdmap_bytes(epoch)
                    assert data is not None
                    await conn.send(MonMapData("osdmap", epoch, data))
                    return
                for update_epoch, update in updates:
                    await conn.send(MonMapData("osdmap", update_epoch, update, full=False))


# --- the write pipeline ------------------------------------------------------------


class _WritePipeline:
    """Group commit on the leader: up to two Raft entries in flight, the next filling up.

    Each change was validated against :attr:`state`, the committed state with every
    change accepted before it applied (the dry runs' results, chained), so a batch is
    valid in order. If a change does not come out of its commit as validated, or an
    entry fails (leadership lost, timeout), the changes queued behind it are answered
    EAGAIN or fail the same way, to be validated again against the committed state.
    """

    def __init__(
        self,
        machine: ReplicatedMonState,
        propose: Callable[[bytes, float], Awaitable[object]],
    ) -> None:
        self._machine = machine
        self._propose = propose
        self._spec: MonState | None = None
        self._queue: list[tuple[MonMapEntry | CommandEntry, asyncio.Future[CommandResult]]] = []
        self._last: asyncio.Future[CommandResult] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> MonState:
        """What the next change is validated against."""
        return self._spec if self._spec is not None else self._machine.state

    async def submit(
        self, change: MonMapEntry | CommandEntry, after: MonState | None
    ) -> CommandResult:
        """Queue ``change`` (``after``: the state it leads to, if it changes MonState);
        its result once committed and applied."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._queue.append((change, future))
        self._last = future
        if after is not None:
            self._spec = after
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return await future

    async def drained(self) -> None:
        """Return once every change submitted so far is applied or failed."""
        if self._last is not None and not self._last.done():
            await asyncio.wait([self._last])

    async def _run(self) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while self._queue or in_flight:
                while self._queue and len(in_flight) < MAX_ENTRIES_IN_FLIGHT:
                    batch = self._queue[:MAX_BATCH]
                    del self._queue[:MAX_BATCH]
                    # Tasks start in creation order, and each proposes before its first
                    # await: the entries reach the Raft log in the order validated.
                    in_flight.add(asyncio.create_task(self._commit(batch)))
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        finally:
            for task in in_flight:
                task.cancel()
            self._task = None
            self._spec = None

    async def _commit(
        self, batch: list[tuple[MonMapEntry | CommandEntry, asyncio.Future[CommandResult]]]
    ) -> None:
        data = encode_envelope(BatchEntry([change for change, _ in batch]))
        try:
            results = await self._propose(data, COMMAND_TIMEOUT)
        except (ProposalError, RadosError) as exc:
            self._fail(batch + self._queue, exc)
            return
        assert isinstance(results, list) and len(results) == len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        # An entry already proposed behind this one was validated for epochs that
        # this failure did not make: it applies as EAGAIN and its commands are
        # validated again. The ones not proposed yet are answered that way now.
        if any(r.rc != 0 for r in results) and self._queue:
            stale = CommandResult(-EAGAIN, b"", "validated against a change that failed")
            for _, future in self._queue:
                if not future.done():
                    future.set_result(stale)
            self._queue.clear()

    def _fail(
        self,
        waiting: list[tuple[MonMapEntry | CommandEntry, asyncio.Future[CommandResult]]],
        exc: Exception,
    ) -> None:
        for _, future in waiting:
            if not future.done():
                future.set_exception(exc)
        self._queue.clear()


# --- helpers -----------------------------------------------------------------------


class _MonAuth:
    """cephx for a monitor: peers prove the shared ``mon.`` key, everyone else the key
    the replicated auth database holds for them."""

    def __init__(self, daemon: MonDaemon) -> None:
        self._daemon = daemon
        self._decoy_seed = secrets.token_bytes(32)

    def _lookup(self, name: EntityName) -> EntityAuth | None:
        d = self._daemon
        if name.type == "mon":
            return d.mon_key
        if not d.machine.bootstrapped:
            return None
        return d.machine.state.auth.lookup(name)

    def _rotating(self) -> Mapping[str, RotatingSecrets]:
        d = self._daemon
        return d.machine.state.auth.rotating if d.machine.bootstrapped else {}

    async def before_auth(self, peer_name: str) -> None:
        """Make sure an entity this monitor does not know is not one created a moment
        ago: a commit applied by the leader (which acknowledged ``auth get-or-create``)
        reaches the followers a little later. A ReadIndex barrier brings this monitor up
        to every change committed before the peer connected; only then may it refuse."""
        d = self._daemon
        if peer_name.startswith("mon.") or not d.machine.bootstrapped or d.driver is None:
            return
        try:
            name = EntityName.parse(peer_name)
        except InvalidArgument:
            return  # refused by the handshake as any unknown entity is
        if d.machine.state.auth.lookup(name) is not None:
            return
        try:
            await d.driver.read_barrier(AUTH_BARRIER_TIMEOUT)
        except (RadosError, NotLeader) as exc:
            # Hang up rather than refuse: without a quorum this monitor cannot tell an
            # unknown entity from a new one, and the client will try another monitor.
            error = f"cannot look up {peer_name} without a quorum: {exc}"
            raise RadosError(error, EAGAIN) from None

    def client(self, my_name: str, peer_name: str) -> MonAuthClient:
        return MonAuthClient(my_name, self._daemon.mon_key.key, peer_name, ("mon",))

    def server(self, my_name: str, peer_name: str) -> MonAuthServer:
        if not self._daemon.machine.bootstrapped and not peer_name.startswith("mon."):
            # Hang up rather than refuse: the client tries again instead of reporting
            # a key that will be valid in a moment as wrong.
            raise RadosError("monitor state not bootstrapped yet", EAGAIN)
        return MonAuthServer(
            self._lookup,
            self._rotating(),
            global_id=secrets.randbits(48) | 1,
            decoy_seed=self._decoy_seed,
            now=time.time(),
        )


def _load_data_dir(data_dir: Path) -> tuple[MonInfo, Keyring, MonMap]:
    if not data_dir.is_dir():
        raise MonError(
            f"monitor data directory '{data_dir}' does not exist; run mon --mkfs", ENOENT
        )
    has_store = (data_dir / STORE).exists() or (data_dir / LEGACY_STORE).exists()
    if not (data_dir / MON_INFO).exists() or not has_store:
        raise MonError(
            f"monitor data directory '{data_dir}' is empty or incomplete; run mon --mkfs", ENOENT
        )
    try:
        info = msgspec.json.decode((data_dir / MON_INFO).read_bytes(), type=MonInfo)
        keyring = Keyring.parse((data_dir / KEYRING).read_text())
        monmap = MonMap.decode((data_dir / MONMAP).read_bytes())
    except (OSError, ValueError, RadosError, msgspec.DecodeError) as exc:
        raise MonError(f"monitor data directory '{data_dir}' is corrupt: {exc}") from None
    return info, keyring, monmap


def _open_store(data_dir: Path) -> WalStorage:
    path = data_dir / STORE
    legacy = data_dir / LEGACY_STORE
    storage = None
    try:
        if not path.exists() and legacy.exists():
            path = legacy
        if migrate_sqlite_store(legacy, data_dir / STORE):
            log.info("migrated the monitor store %s to %s", legacy, data_dir / STORE)
        path = data_dir / STORE
        storage = WalStorage(path)
        storage.load()
    except StoreInUse:
        raise MonError(
            f"monitor store '{path}' is in use by another process (is this monitor running?)",
            EBUSY,
        ) from None
    except (sqlite3.DatabaseError, ValueError, msgspec.DecodeError) as exc:
        if storage is not None:
            storage.close()
        raise MonError(f"monitor store '{path}' is corrupt: {exc}", EIO) from None
    return storage


def check_data_dir(config: MonConfig) -> None:
    """Raise MonError if ``config.data_dir`` is missing, incomplete, corrupt or another
    monitor's."""
    info, _, _ = _load_data_dir(config.data_dir)
    if info.name != config.name:
        raise MonError(f"'{config.data_dir}' belongs to mon.{info.name}, not mon.{config.name}")
    _open_store(config.data_dir).close()


def _parse_cmd(text: str) -> dict[str, Any]:
    try:
        cmd = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"command is not valid JSON: {exc}") from None
    if not isinstance(cmd, dict) or not isinstance(cmd.get("prefix"), str):
        raise InvalidArgument("command must be a JSON object with a 'prefix'")
    return cmd


def _mon_caps(conn: Connection) -> MonCap:
    return _parse_mon_caps(conn.caps.get("mon", ""))


@functools.lru_cache(maxsize=1024)
def _parse_mon_caps(text: str) -> MonCap:
    # Every command checks its sender's caps; they are few distinct strings.
    try:
        return MonCap.parse(text)
    except InvalidArgument:
        return MonCap(())


def _reply(result: CommandResult) -> MonCommandReply:
    return MonCommandReply(result.rc, bytes(result.outbuf), result.outs)


def _json_reply(value: Any, fmt: str) -> MonCommandReply:
    if fmt == "json-pretty":
        text = json.dumps(value, indent=4) + "\n"
    else:
        text = json.dumps(value, separators=(",", ":")) + "\n"
    return MonCommandReply(0, text.encode(), "")


def run_daemon(config: MonConfig) -> None:
    """Run a monitor until SIGTERM/SIGINT (raises MonError on a bad data directory)."""
    run_service(lambda: MonDaemon(config))
