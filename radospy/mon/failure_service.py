"""The monitor daemon's failure handling: a thin shell around
:class:`~radospy.mon.failures.FailureTracker`.

On the leader it answers ``osd failure`` and ``osd beacon`` from the OSDs, checks the
reported OSDs at once and every ``mon_tick_interval`` (beacons, down-out timers), and
proposes each decision as one OSDMap change (``osd mark-failed`` / ``osd
mark-autoout``) through the daemon's write path. What Ceph writes to the cluster log
goes to the monitor's log as ``log_channel(cluster) log [INF] : ...``. A monitor that
stops or starts leading forgets every report, as Ceph's does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.common.tasks import DaemonTasks
from radospy.mon.cmdspec import CommandResult
from radospy.mon.failure_commands import parse_report
from radospy.mon.failures import Decision, FailureConfig, FailureTracker, MarkDown
from radospy.mon.laggy import LaggyConfig
from radospy.osdmap.osdmap import OSDMap
from radospy.raft import ProposalError

log = logging.getLogger("radospy.mon")

Submit = Callable[[dict[str, Any]], Awaitable[tuple[bool, CommandResult]]]
"""Propose a command as the monitor itself: (whether it proposed a change, result)."""


def failure_config(config: Config) -> FailureConfig:
    """The monitor's failure options from its configuration."""
    return FailureConfig(
        grace=float(config.get_int("osd_heartbeat_grace")),
        min_down_reporters=config.get_int("mon_osd_min_down_reporters"),
        reporter_subtree_level=config.get_str("mon_osd_reporter_subtree_level"),
        down_out_interval=float(config.get_int("mon_osd_down_out_interval")),
        down_out_subtree_limit=config.get_str("mon_osd_down_out_subtree_limit"),
        min_in_ratio=config.get_float("mon_osd_min_in_ratio"),
        report_timeout=float(config.get_int("mon_osd_report_timeout")),
        laggy=LaggyConfig(
            adjust_heartbeat_grace=config.get_bool("mon_osd_adjust_heartbeat_grace"),
            halflife=float(config.get_int("mon_osd_laggy_halflife")),
            weight=config.get_float("mon_osd_laggy_weight"),
            max_interval=config.get_int("mon_osd_laggy_max_interval"),
        ),
    )


def cluster_log(entity: str, line: str) -> None:
    """A line of Ceph's cluster log, written to this monitor's log."""
    log.info("%s: log_channel(cluster) log [INF] : %s", entity, line)


class FailureService:
    """Failure reports, beacons and timers on the leader."""

    def __init__(
        self,
        entity: str,
        config: FailureConfig,
        osdmap: Callable[[], OSDMap],
        submit: Submit,
        clock: Callable[[], float] = time.time,
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        self.entity = entity
        self.on_log = on_log
        """Also given each cluster log line (the monitor's `ClusterLog`)."""
        self.config = config
        self._osdmap = osdmap
        self._submit = submit
        self._clock = clock
        self.tracker = FailureTracker(config)
        self._tasks = DaemonTasks(entity, log)

    def reset(self) -> None:
        """Forget every report and timer (leadership changed)."""
        self.tracker = FailureTracker(self.config)

    def handle(self, cmd: dict[str, Any], peer: str) -> CommandResult:
        """Answer ``osd failure`` / ``osd beacon`` from ``peer`` (raises RadosError for a
        malformed one or a sender that is not an OSD)."""
        msg = parse_report(cmd, peer)
        osdmap, now = self._osdmap(), self._clock()
        if msg.target < 0:
            self.tracker.beacon(osdmap, msg.reporter, now)
            return CommandResult(0)
        if msg.alive:
            self.tracker.cancel(msg.reporter, msg.target)
            log.debug("%s: osd.%d failure report canceled by %s", self.entity, msg.target, peer)
            return CommandResult(0)
        ignored = self.tracker.report(
            osdmap, msg.reporter, msg.target, msg.failed_for, msg.epoch, now, msg.immediate
        )
        if ignored is not None:
            log.debug("%s: failure report from %s ignored: %s", self.entity, peer, ignored)
            return CommandResult(0)
        how = "immediately failed" if msg.immediate else "failed"
        log.info("%s: osd.%d reported %s by %s", self.entity, msg.target, how, peer)
        self._carry_out(self.tracker.check_failures(osdmap, now))
        return CommandResult(0)

    async def run(self, tick_interval: float, is_leader: Callable[[], bool]) -> None:
        """Check the timers every ``tick_interval`` seconds while leading."""
        while True:
            await asyncio.sleep(tick_interval)
            if is_leader():
                self._carry_out(self.tracker.tick(self._osdmap(), self._clock()))

    def _carry_out(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            self._tasks.spawn(self._propose(decision))

    async def _propose(self, decision: Decision) -> None:
        if isinstance(decision, MarkDown):
            cmd: dict[str, Any] = {
                "prefix": "osd mark-failed",
                "id": decision.osd,
                "up_from": decision.up_from,
            }
        else:
            cmd = {"prefix": "osd mark-autoout", "id": decision.osd}
        tracker = self.tracker
        try:
            proposed, result = await self._submit(cmd)
        except (RadosError, ProposalError, TimeoutError) as exc:  # lost leadership: decide again
            log.info("%s: %s not proposed: %s", self.entity, cmd["prefix"], exc)
            tracker.proposal_failed(decision)
            return
        if proposed and result.rc == 0:
            cluster_log(self.entity, decision.log)
            if self.on_log is not None:
                self.on_log(decision.log)
        else:
            tracker.proposal_failed(decision)
