"""An OSD's liveness: heartbeats with its peers, failure reports and beacons to the
monitors, and booting again when the monitors marked it down while it runs. A thin
asyncio shell around :class:`~radospy.osd.heartbeat.HeartbeatTracker`.

Heartbeats travel on a messenger of their own, bound to another port than client and
replication traffic (Ceph's ``hb_back`` messenger), so a busy data path does not delay
them; its address goes into the OSDMap at boot. A ``Ping`` carries the sender's clock
and map epoch and the ``Pong`` echoes the clock: the pings double as read lease
requests, and a pong says whether the lease is granted (radospy.osd.read_lease), so
pings go out at least every quarter of the lease. A heartbeat connection that lost
its TCP connection is dropped and dialled afresh at the next ping, so a peer whose
port now refuses (the process died) is seen at once and reported as immediate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.common.tasks import DaemonTasks
from radospy.msg.auth import Authenticator
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection
from radospy.msg.messages import Message, Ping, Pong
from radospy.msg.messenger import Messenger
from radospy.osd.heartbeat import (
    FailureReport,
    HeartbeatConfig,
    HeartbeatTracker,
    heartbeat_peers,
)
from radospy.osd.read_lease import ReadLeases, renew_every
from radospy.osdmap.osdmap import MapFlag, OSDMap

log = logging.getLogger("radospy.osd")

Addr = tuple[str, int]
PROBE_TIMEOUT = 1.0
"""Seconds to try a down OSD's heartbeat port before counting its process alive."""
MonCommand = Callable[[dict[str, Any]], Awaitable[object]]
"""Send a command to the monitors (raises RadosError when it fails)."""


def heartbeat_config(config: Config) -> HeartbeatConfig:
    """The OSD's heartbeat options from its configuration."""
    return HeartbeatConfig(
        interval=float(config.get_int("osd_heartbeat_interval")),
        grace=float(config.get_int("osd_heartbeat_grace")),
        min_peers=config.get_int("osd_heartbeat_min_peers"),
        report_interval=float(config.get_int("osd_mon_report_interval")),
        fast_fail_on_refused=config.get_bool("osd_fast_fail_on_connection_refused"),
    )


class HeartbeatService:
    """Heartbeats, failure reports, beacons and re-boots of OSD ``whoami``."""

    def __init__(
        self,
        whoami: int,
        config: HeartbeatConfig,
        beacon_interval: float,
        auth: Authenticator,
        messenger_config: MessengerConfig,
        mon_command: MonCommand,
        boot: Callable[[int], Awaitable[None]],
        before_dial: Callable[[], Awaitable[None]],
        leases: ReadLeases,
        on_lease: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.whoami = whoami
        self.entity = f"osd.{whoami}"
        self.tracker = HeartbeatTracker(config)
        self.beacon_interval = beacon_interval
        self.messenger = Messenger(self.entity, messenger_config, auth, self)
        self._mon_command = mon_command
        self._boot = boot
        self._before_dial = before_dial
        self._clock = clock
        self.leases = leases
        self._on_lease = on_lease
        """Called with a peer that just granted a lease."""
        self.osdmap: OSDMap | None = None
        self.up_from: int | None = None
        """The epoch the monitors last marked this OSD up in, once a map showed it."""
        self.boot_epoch = 0
        """The epoch this process was last up from before the monitors marked it down
        while it ran; 0 until then. Its boots say so: the monitors count it laggy."""
        self._addrs: dict[int, Addr] = {}
        self._last_addrs: dict[int, Addr] = {}
        """Every OSD's newest known heartbeat address, kept after it goes down."""
        self._probes: dict[int, asyncio.Task[None]] = {}
        self._conns: dict[int, Connection] = {}
        self._dialing: set[int] = set()
        self._booting = False
        self._tasks = DaemonTasks(self.entity, log)

    async def bind(self, host: str) -> Addr:
        """Listen for heartbeats on a free port of ``host``."""
        return await self.messenger.bind(host, 0)

    async def run(self) -> None:
        """Ping rounds and beacons until cancelled (or until either fails)."""
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self._ping_loop())
            loops.create_task(self._beacon_loop())

    async def _ping_loop(self) -> None:
        renew = renew_every(self.leases.interval)
        while True:
            await asyncio.sleep(min(self.tracker.next_delay(), renew))
            self._ping_round()

    def ping_now(self) -> None:
        """A ping round now (a new primary asks its replicas for leases at once)."""
        self._ping_round()

    async def shutdown(self) -> None:
        """Stop every task and the heartbeat messenger."""
        await self._tasks.cancel_all()
        await self.messenger.shutdown()

    # --- maps ---------------------------------------------------------------------------

    def update_map(self, osdmap: OSDMap, pg_peers: set[int]) -> None:
        """Follow a new map: heartbeat peers and their addresses, and whether the
        monitors marked this OSD down while it runs (then boot again)."""
        self.osdmap = osdmap
        for osd, info in enumerate(osdmap.osds):
            if (known := _addr(info.hb_addr)) is not None:
                self._last_addrs[osd] = known
        peers = heartbeat_peers(osdmap, self.whoami, pg_peers, self.tracker.config.min_peers)
        addrs = {p: a for p in peers if (a := _addr(osdmap.osds[p].hb_addr)) is not None}
        for osd, conn in list(self._conns.items()):
            if addrs.get(osd) != self._addrs.get(osd):
                conn.mark_down()
                del self._conns[osd]
        self._addrs = addrs
        self.tracker.set_peers(addrs, self._clock())
        self._check_marked_down(osdmap)

    def _check_marked_down(self, osdmap: OSDMap) -> None:
        if osdmap.is_up(self.whoami):
            self.up_from = osdmap.osds[self.whoami].up_from
            return
        if self.up_from is not None:
            log.warning(
                "%s: log_channel(cluster) log [WRN] : Monitor daemon marked %s down, "
                "but it is still running",
                self.entity,
                self.entity,
            )
            log.warning(
                "%s: log_channel(cluster) log [DBG] : map e%d wrongly marked me down at e%d",
                self.entity,
                osdmap.epoch,
                osdmap.osds[self.whoami].down_at,
            )
            self.boot_epoch = self.up_from
            self.up_from = None
        if not osdmap.flags & MapFlag.NOUP and not self._booting:
            self._booting = True
            self._spawn(self._reboot())

    async def _reboot(self) -> None:
        try:
            await self._boot(self.boot_epoch)
        except RadosError as exc:
            log.warning("%s: boot failed: %s", self.entity, exc)
        finally:
            self._booting = False

    # --- pings --------------------------------------------------------------------------

    def _epoch(self) -> int:
        return self.osdmap.epoch if self.osdmap is not None else 0

    def _ping_round(self) -> None:
        now = self._clock()
        for peer in self.tracker.ping_round(now):
            conn = self._conns.get(peer)
            if conn is not None and conn.is_ready:
                conn.try_send(Ping(now, epoch=self._epoch()))
            elif peer not in self._dialing:
                if conn is not None:
                    conn.mark_down()
                    del self._conns[peer]
                self._dialing.add(peer)
                self._spawn(self._dial(peer, self._addrs[peer], now))
        for report in self.tracker.reports(now):
            self._spawn(self._send_report(report))

    async def _dial(self, peer: int, addr: Addr, stamp: float) -> None:
        epoch = self._epoch()
        try:
            await self._before_dial()
            conn = await self.messenger.connect(addr, f"osd.{peer}")
        except ConnectionRefusedError:
            log.info("%s: heartbeat to osd.%d at %s:%d refused", self.entity, peer, *addr)
            self.tracker.refused(peer, self._clock(), addr)
            if self._addrs.get(peer) == addr:
                self.leases.void(peer)
            for report in self.tracker.reports(self._clock()):
                self._spawn(self._send_report(report))
            return
        except (OSError, RadosError, TimeoutError) as exc:
            log.debug("%s: heartbeat to osd.%d: %s", self.entity, peer, exc)
            return
        finally:
            self._dialing.discard(peer)
        if self._addrs.get(peer) != addr:
            conn.mark_down()
            return
        self._conns[peer] = conn
        conn.try_send(Ping(stamp, epoch=epoch))

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Heartbeat messenger dispatcher: answer pings from OSDs, note their pongs."""
        kind, _, ident = conn.peer_name.partition(".")
        if kind != "osd" or not ident.isdigit():
            return
        if isinstance(msg, Ping):
            granted = self.leases.grant(int(ident), msg.epoch, self._clock())
            conn.try_send(Pong(msg.stamp, lease=granted))
        elif isinstance(msg, Pong):
            if msg.lease:
                self.leases.acknowledged(int(ident), msg.stamp)
                self._on_lease(int(ident))
            self.tracker.pong(int(ident), msg.stamp, self._clock())
            for report in self.tracker.reports(self._clock()):
                self._spawn(self._send_report(report))

    # --- read leases -------------------------------------------------------------------

    async def settle_leases(self) -> None:
        """Void the leases granted to OSDs that are down and whose process is gone:
        their heartbeat port refuses a connection (a paused process still accepts
        one). A new primary then need not wait out a crashed one's lease."""
        osdmap = self.osdmap
        if osdmap is None:
            return
        now = self._clock()
        probes = []
        for osd in self.leases.spans(now):
            if osdmap.is_up(osd) or (addr := self._last_addrs.get(osd)) is None:
                continue
            probe = self._probes.get(osd)
            if probe is None or probe.done():
                probe = self._probes[osd] = asyncio.ensure_future(self._probe(osd, addr))
            probes.append(probe)
        if probes:
            await asyncio.wait(probes)

    async def _probe(self, osd: int, addr: Addr) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                _, writer = await asyncio.open_connection(*addr)
        except ConnectionRefusedError:
            if self._last_addrs.get(osd) == addr:
                self.leases.void(osd)
            return
        except (OSError, TimeoutError):
            return
        writer.close()

    # --- the monitors -------------------------------------------------------------------

    async def _send_report(self, report: FailureReport) -> None:
        epoch = self.osdmap.epoch if self.osdmap is not None else 0
        cmd = {
            "prefix": "osd failure",
            "target": report.target,
            "failed_for": report.failed_for,
            "epoch": epoch,
            "immediate": report.immediate,
            "alive": report.alive,
        }
        what = "still alive" if report.alive else f"failed for {report.failed_for:.1f}s"
        log.info("%s: reporting osd.%d %s", self.entity, report.target, what)
        try:
            await self._mon_command(cmd)
        except RadosError as exc:
            log.warning("%s: failure report about osd.%d: %s", self.entity, report.target, exc)

    async def _beacon_loop(self) -> None:
        while True:
            await asyncio.sleep(self.beacon_interval)
            if self.osdmap is None or not self.osdmap.is_up(self.whoami):
                continue
            with contextlib.suppress(RadosError):
                await self._mon_command({"prefix": "osd beacon", "epoch": self.osdmap.epoch})

    def _spawn(self, coro: Any) -> None:
        self._tasks.spawn(coro)


def _addr(text: str) -> Addr | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host, int(port)
