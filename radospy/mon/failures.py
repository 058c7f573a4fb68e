"""The leader monitor's failure handling: when to mark an OSD down or out (the pure core
of Ceph's ``OSDMonitor::prepare_failure``, ``check_failure``, ``handle_osd_timeouts`` and
the down-out part of ``OSDMonitor::tick``).

Like Ceph's ``failure_info``, ``last_osd_report`` and ``down_pending_out``, this state
lives only in the leader's memory: a new leader starts afresh, and the OSDs repeat their
reports while a peer stays silent. Decisions come back as :class:`MarkDown` and
:class:`MarkOut` values, each with the cluster-log line Ceph writes; the shell turns each
into one OSDMap epoch through Raft.

* Failure reports: OSDs report a silent peer with ``failed_for``; the report's
  failed-since is the monitor's receipt time minus that. Reporters count once per CRUSH
  subtree of type ``mon_osd_reporter_subtree_level`` (the reporter itself when it has no
  such ancestor). With at least ``mon_osd_min_down_reporters`` subtrees reporting and the
  newest failed-since at least the grace ago, the OSD is marked down. The grace is
  ``osd_heartbeat_grace`` lengthened by the laggy estimates of the target and its
  reporters (:mod:`radospy.mon.laggy`). A
  report of a refused connection (immediate) marks it down at once. A cancellation
  withdraws a reporter's report. Reports are about one incarnation of the OSD (its
  ``up_from``): one that restarts and boots again before it is marked down starts with
  none (Ceph drops reports older than the target's ``up_from``).
* Beacons: an up OSD not heard from for ``mon_osd_report_timeout`` is marked down.
* Down-out: an OSD down (and in) for ``mon_osd_down_out_interval`` is marked out, unless
  ``noout`` is set, fewer than ``mon_osd_min_in_ratio`` of the OSDs would stay in, or its
  whole ``mon_osd_down_out_subtree_limit`` subtree is down (then its timer restarts).
* ``nodown`` stops every mark-down; reports are kept and act once it is unset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radospy.crush.location import devices_under, full_location, location_string
from radospy.crush.map import CrushMap
from radospy.mon import laggy
from radospy.mon.laggy import LaggyConfig, LaggyInfo
from radospy.osdmap.osdmap import MapFlag, OSDMap, OsdStateFlag


@dataclass(frozen=True)
class FailureConfig:
    """The monitor-side failure options, with Ceph's defaults."""

    grace: float = 20.0
    """``osd_heartbeat_grace``."""
    min_down_reporters: int = 2
    """``mon_osd_min_down_reporters``."""
    reporter_subtree_level: str = "host"
    """``mon_osd_reporter_subtree_level``."""
    down_out_interval: float = 600.0
    """``mon_osd_down_out_interval``; 0 never marks out."""
    down_out_subtree_limit: str = "rack"
    """``mon_osd_down_out_subtree_limit``: no auto-out when a whole one is down."""
    min_in_ratio: float = 0.75
    """``mon_osd_min_in_ratio``: no auto-out below this fraction of OSDs in."""
    report_timeout: float = 900.0
    """``mon_osd_report_timeout``: seconds without a beacon before marking down."""
    laggy: LaggyConfig = field(default_factory=LaggyConfig)
    """How the grace grows for OSDs wrongly marked down before."""


@dataclass(frozen=True)
class MarkDown:
    """Mark ``osd`` (the incarnation up since epoch ``up_from``) down."""

    osd: int
    up_from: int
    log: str


@dataclass(frozen=True)
class MarkOut:
    """Mark the down ``osd`` out (automatically: ``autoout``)."""

    osd: int
    log: str


Decision = MarkDown | MarkOut


@dataclass
class _Beacon:
    up_from: int
    stamp: float


@dataclass
class FailureTracker:
    """Reports, beacons and down timers on the leader; all times come from the caller."""

    config: FailureConfig = field(default_factory=FailureConfig)
    reports: dict[int, dict[int, float]] = field(default_factory=dict)
    """Target -> reporter -> failed-since."""
    reported_up_from: dict[int, int] = field(default_factory=dict)
    """Target -> the ``up_from`` of the incarnation its reports are about: an OSD that
    restarted and booted again before anyone marked it down is a new incarnation, and
    the reports about the old one (a refused connection above all) must not mark the
    new one down."""
    beacons: dict[int, _Beacon] = field(default_factory=dict)
    down_since: dict[int, float] = field(default_factory=dict)
    """Down and in OSD -> when this monitor first saw it so."""
    refused: dict[int, set[int]] = field(default_factory=dict)
    """Target -> reporters whose connection to it was refused."""
    proposed: dict[tuple[str, int], Decision] = field(default_factory=dict)
    """Decisions handed out and not yet seen in a map, by (kind, osd): not handed out
    again meanwhile."""

    # -- inputs --------------------------------------------------------------------------

    def report(
        self,
        osdmap: OSDMap,
        reporter: int,
        target: int,
        failed_for: float,
        epoch: int,
        now: float,
        immediate: bool = False,
    ) -> str | None:
        """A failure report; why it was ignored, or None when it was taken."""
        ignored = _ignore_reason(osdmap, reporter, target, epoch)
        if ignored is not None:
            return ignored
        up_from = osdmap.osds[target].up_from
        if self.reported_up_from.get(target) != up_from:
            self._forget(target)
            self.reported_up_from[target] = up_from
        self.reports.setdefault(target, {})[reporter] = now - max(0.0, failed_for)
        if immediate:
            self.refused.setdefault(target, set()).add(reporter)
        return None

    def cancel(self, reporter: int, target: int) -> None:
        """``reporter`` hears from ``target`` again."""
        reporters = self.reports.get(target)
        if reporters is not None:
            reporters.pop(reporter, None)
            if not reporters:
                del self.reports[target]
        self.refused.get(target, set()).discard(reporter)

    def beacon(self, osdmap: OSDMap, osd: int, now: float) -> None:
        """An up OSD said it is alive."""
        if osdmap.is_up(osd):
            self.beacons[osd] = _Beacon(osdmap.osds[osd].up_from, now)

    def proposal_failed(self, decision: Decision) -> None:
        """``decision`` did not make it into a map; it may be decided again."""
        if self.proposed.get(_key(decision)) == decision:
            del self.proposed[_key(decision)]

    # -- decisions -----------------------------------------------------------------------

    def check_failures(self, osdmap: OSDMap, now: float) -> list[MarkDown]:
        """The reported OSDs to mark down now (Ceph's ``check_failure`` for each)."""
        self._forget_settled(osdmap)
        if osdmap.flags & MapFlag.NODOWN:
            return []
        out = []
        for target in sorted(self.reports):
            decision = self._check_failure(osdmap, target, now)
            if decision is not None and _key(decision) not in self.proposed:
                self.proposed[_key(decision)] = decision
                out.append(decision)
        return out

    def tick(self, osdmap: OSDMap, now: float) -> list[Decision]:
        """Everything due now: failures, missing beacons, down-out timers."""
        decisions: list[Decision] = list(self.check_failures(osdmap, now))
        for decision in self._beacon_timeouts(osdmap, now) + self._down_outs(osdmap, now):
            if _key(decision) not in self.proposed and all(
                d.osd != decision.osd for d in decisions
            ):
                self.proposed[_key(decision)] = decision
                decisions.append(decision)
        return decisions

    def _forget(self, target: int) -> None:
        self.reports.pop(target, None)
        self.refused.pop(target, None)
        self.reported_up_from.pop(target, None)

    def _forget_settled(self, osdmap: OSDMap) -> None:
        for target in list(self.reported_up_from):
            if not osdmap.is_up(target) or (
                osdmap.osds[target].up_from != self.reported_up_from[target]
            ):
                self._forget(target)
        for target, reporters in list(self.reports.items()):
            for reporter in [r for r in reporters if not osdmap.exists(r)]:
                del reporters[reporter]
            if not reporters:
                del self.reports[target]
        self.refused = {
            t: {r for r in rs if r in self.reports.get(t, {})} for t, rs in self.refused.items()
        }
        self.proposed = {k: d for k, d in self.proposed.items() if not _settled(osdmap, d)}

    def _check_failure(self, osdmap: OSDMap, target: int, now: float) -> MarkDown | None:
        reporters = self.reports[target]
        where = location_string(osdmap.crush, target)
        up_from = osdmap.osds[target].up_from
        immediate = sorted(self.refused.get(target, ()))
        if immediate:
            return MarkDown(
                target,
                up_from,
                f"osd.{target} failed ({where}) "
                f"(connection refused reported by osd.{immediate[0]})",
            )
        level = self.config.reporter_subtree_level
        subtrees = {_subtree(osdmap.crush, r, level) for r in reporters}
        if len(subtrees) < self.config.min_down_reporters:
            return None
        failed_for = now - max(reporters.values())
        grace = laggy.grace(
            self.config.grace,
            _laggy_info(osdmap, target),
            [_laggy_info(osdmap, r) for r in reporters],
            failed_for,
            now,
            self.config.laggy,
        )
        if failed_for < grace:
            return None
        return MarkDown(
            target,
            up_from,
            f"osd.{target} failed ({where}) ({len(subtrees)} reporters from different "
            f"{level} after {failed_for:.6f} >= grace {grace:.6f})",
        )

    def _beacon_timeouts(self, osdmap: OSDMap, now: float) -> list[Decision]:
        out: list[Decision] = []
        for osd in range(osdmap.max_osd):
            if not osdmap.is_up(osd):
                self.beacons.pop(osd, None)
                continue
            up_from = osdmap.osds[osd].up_from
            seen = self.beacons.get(osd)
            if seen is None or seen.up_from != up_from:
                self.beacons[osd] = _Beacon(up_from, now)
                continue
            silent = now - seen.stamp
            if silent > self.config.report_timeout and not osdmap.flags & MapFlag.NODOWN:
                log = f"osd.{osd} marked down after no beacon for {silent:.6f} seconds"
                out.append(MarkDown(osd, up_from, log))
        return out

    def _down_outs(self, osdmap: OSDMap, now: float) -> list[Decision]:
        down_in = [
            o
            for o in range(osdmap.max_osd)
            if osdmap.exists(o)
            and not osdmap.is_up(o)
            and osdmap.is_in(o)
            and not osdmap.osds[o].state & OsdStateFlag.NEW
        ]
        for osd in [o for o in self.down_since if o not in down_in]:
            del self.down_since[osd]
        interval = self.config.down_out_interval
        if interval <= 0 or osdmap.flags & MapFlag.NOOUT:
            for osd in down_in:
                self.down_since.setdefault(osd, now)
            return []
        exists = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
        num_in = sum(1 for o in exists if osdmap.is_in(o))
        out: list[Decision] = []
        for osd in down_in:
            since = self.down_since.setdefault(osd, now)
            down_for = now - since
            if down_for < interval:
                continue
            if _subtree_down(osdmap, osd, self.config.down_out_subtree_limit):
                self.down_since[osd] = now
                continue
            if not exists or num_in / len(exists) < self.config.min_in_ratio:
                continue
            num_in -= 1
            log = f"Marking osd.{osd} out (has been down for {int(down_for)} seconds)"
            out.append(MarkOut(osd, log))
        return out


def _ignore_reason(osdmap: OSDMap, reporter: int, target: int, epoch: int) -> str | None:
    """Ceph's ``preprocess_failure`` checks: why a report is dropped, if it is."""
    if not osdmap.exists(target):
        return f"osd.{target} does not exist"
    if not osdmap.is_up(target):
        return f"osd.{target} is already down"
    if epoch < osdmap.osds[target].up_from:
        up_from = osdmap.osds[target].up_from
        return f"report from e{epoch} is about an older osd.{target} (up from e{up_from})"
    if not osdmap.is_up(reporter):
        return f"reporter osd.{reporter} is down"
    return None


def _laggy_info(osdmap: OSDMap, osd: int) -> LaggyInfo:
    info = osdmap.osds[osd]
    return LaggyInfo(info.down_stamp, info.laggy_probability, info.laggy_interval)


def _key(decision: Decision) -> tuple[str, int]:
    return ("down" if isinstance(decision, MarkDown) else "out", decision.osd)


def _settled(osdmap: OSDMap, decision: Decision) -> bool:
    """Whether the map already shows ``decision`` done or moot."""
    if isinstance(decision, MarkDown):
        info = osdmap.osds[decision.osd] if osdmap.exists(decision.osd) else None
        return info is None or not osdmap.is_up(decision.osd) or info.up_from != decision.up_from
    return osdmap.is_up(decision.osd) or osdmap.is_out(decision.osd)


def _subtree(cmap: CrushMap, osd: int, level: str) -> str:
    """The name of ``osd``'s ancestor of type ``level``; ``osd.N`` when there is none."""
    for kind, name in full_location(cmap, osd):
        if kind == level:
            return name
    return f"osd.{osd}"


def _subtree_down(osdmap: OSDMap, osd: int, level: str) -> bool:
    """Whether ``osd`` has an ancestor of type ``level`` under which every OSD is down
    (Ceph's ``containing_subtree_is_down``)."""
    cmap = osdmap.crush
    ancestor = next(
        (cmap.id_of(name) for kind, name in full_location(cmap, osd) if kind == level), None
    )
    if ancestor is None:
        return False
    return not any(osdmap.is_up(o) for o in devices_under(cmap, ancestor))
