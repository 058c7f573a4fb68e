"""Laggy estimates: how Ceph's monitors lengthen the heartbeat grace of OSDs that were
wrongly marked down before (``mon_osd_adjust_heartbeat_grace``).

Each OSD's ``osd_xinfo_t`` in the OSDMap keeps ``laggy_probability`` (how likely a
mark-down of it is a false alarm) and ``laggy_interval`` (how long it stayed down then,
in seconds), both moving averages with weight ``mon_osd_laggy_weight`` for the newest
sample, and ``down_stamp`` (when it was last marked down).

* At boot (Ceph's ``OSDMonitor::prepare_boot``): an OSD that boots again without having
  restarted (it was marked down while it ran: its boot names the epoch it booted in
  before) was laggy: the probability moves towards 1, the interval towards the time it
  was down (at most ``mon_osd_laggy_max_interval``). A freshly started OSD was not: both
  decay by ``1 - weight``.
* At failure checks (Ceph's ``OSDMonitor::check_failure``): the grace is
  ``osd_heartbeat_grace`` plus the target's ``laggy_interval * laggy_probability``, decayed
  by how long it has been failing (half-life ``mon_osd_laggy_halflife``), plus the average
  of the same product over the reporters, each decayed by the time since it was last
  down (a laggy subcluster reporting a peer is itself a hint of lag).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LaggyConfig:
    """The laggy-estimate options, with Ceph's defaults."""

    adjust_heartbeat_grace: bool = True
    """``mon_osd_adjust_heartbeat_grace``."""
    halflife: float = 3600.0
    """``mon_osd_laggy_halflife``: seconds after which an estimate counts half."""
    weight: float = 0.3
    """``mon_osd_laggy_weight``: the newest sample's weight in the moving averages."""
    max_interval: int = 300
    """``mon_osd_laggy_max_interval``: cap on one sample of ``laggy_interval``; 0: none."""


@dataclass(frozen=True)
class LaggyInfo:
    """The laggy part of one OSD's ``osd_xinfo_t``."""

    down_stamp: float = 0.0
    """When it was last marked down (0: never)."""
    laggy_probability: float = 0.0
    laggy_interval: int = 0
    """Seconds (Ceph keeps a ``uint32``)."""


def after_boot(info: LaggyInfo, booted_before: bool, now: float, config: LaggyConfig) -> LaggyInfo:
    """``info`` updated for a boot at ``now``; ``booted_before``: the OSD was up in an
    earlier epoch and did not restart since (Ceph's ``boot_epoch != 0``)."""
    keep = 1.0 - config.weight
    if not booted_before:
        return LaggyInfo(
            info.down_stamp, info.laggy_probability * keep, int(info.laggy_interval * keep)
        )
    interval = info.laggy_interval
    if info.down_stamp >= 1.0:
        # Ceph subtracts whole seconds.
        sample = int(now) - int(info.down_stamp)
        if config.max_interval and sample > config.max_interval:
            sample = config.max_interval
        interval = int(sample * config.weight + info.laggy_interval * keep)
    probability = config.weight + info.laggy_probability * keep
    return LaggyInfo(info.down_stamp, probability, max(0, interval))


def grace(
    base: float,
    target: LaggyInfo,
    reporters: Iterable[LaggyInfo],
    failed_for: float,
    now: float,
    config: LaggyConfig,
) -> float:
    """The heartbeat grace for ``target``, reported by ``reporters`` (at least one),
    silent for ``failed_for`` seconds: ``base`` (``osd_heartbeat_grace``) plus the decayed
    laggy estimates of the target and, averaged, of its reporters."""
    if not config.adjust_heartbeat_grace:
        return base
    decay_k = math.log(0.5) / config.halflife
    own = _expected_lag(target) * math.exp(failed_for * decay_k)
    peers = [_expected_lag(r) * math.exp((now - r.down_stamp) * decay_k) for r in reporters]
    return base + own + (sum(peers) / len(peers) if peers else 0.0)


def _expected_lag(info: LaggyInfo) -> float:
    return info.laggy_interval * info.laggy_probability
