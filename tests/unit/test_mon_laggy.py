"""Laggy estimates (Ceph's ``mon_osd_adjust_heartbeat_grace``): their update at boot,
the grace they add, and how they travel in the OSDMap and ``osd dump``."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from radospy.mon.failures import FailureConfig, FailureTracker, MarkDown
from radospy.mon.laggy import LaggyConfig, LaggyInfo, after_boot, grace

from .mon_helpers import with_osds

DEFAULT = LaggyConfig()
HOUR = 3600.0

infos = st.builds(
    LaggyInfo,
    down_stamp=st.floats(0.0, 2e9),
    laggy_probability=st.floats(0.0, 1.0),
    laggy_interval=st.integers(0, 300),
)


def test_a_laggy_boot_moves_the_averages_towards_the_sample() -> None:
    before = LaggyInfo(down_stamp=1000.5, laggy_probability=0.0, laggy_interval=0)
    after = after_boot(before, booted_before=True, now=1040.2, config=DEFAULT)
    # Whole seconds down: 1040 - 1000 = 40; 40 * 0.3 = 12.
    assert after == LaggyInfo(1000.5, 0.3, 12)
    again = after_boot(after, booted_before=True, now=1020.0, config=DEFAULT)
    assert math.isclose(again.laggy_probability, 0.3 + 0.3 * 0.7)
    assert again.laggy_interval == int(20 * 0.3 + 12 * 0.7)


def test_a_laggy_sample_is_capped_at_max_interval() -> None:
    before = LaggyInfo(down_stamp=1000.0)
    after = after_boot(before, True, 1000.0 + 5000, DEFAULT)
    assert after.laggy_interval == int(300 * 0.3)
    uncapped = after_boot(before, True, 1000.0 + 5000, LaggyConfig(max_interval=0))
    assert uncapped.laggy_interval == 1500


def test_a_fresh_start_decays_both_and_a_never_down_osd_keeps_its_interval() -> None:
    before = LaggyInfo(down_stamp=1000.0, laggy_probability=0.5, laggy_interval=100)
    assert after_boot(before, False, 2000.0, DEFAULT) == LaggyInfo(1000.0, 0.35, 70)
    never_down = LaggyInfo(laggy_probability=0.5, laggy_interval=100)
    after = after_boot(never_down, True, 2000.0, DEFAULT)
    assert (after.down_stamp, after.laggy_interval) == (0.0, 100)
    assert math.isclose(after.laggy_probability, 0.65)


def test_grace_adds_the_decayed_estimates_of_target_and_reporters() -> None:
    target = LaggyInfo(down_stamp=0.0, laggy_probability=0.5, laggy_interval=100)
    assert grace(20.0, target, [LaggyInfo()], 0.0, 1e9, DEFAULT) == 70.0
    # One half-life of failing halves the target's part.
    assert math.isclose(grace(20.0, target, [LaggyInfo()], HOUR, 1e9, DEFAULT), 45.0)
    # Reporters: averaged, each decayed by the time since it was last down.
    now = 10 * HOUR
    laggy_peer = LaggyInfo(down_stamp=now - HOUR, laggy_probability=1.0, laggy_interval=40)
    value = grace(20.0, LaggyInfo(), [laggy_peer, LaggyInfo()], 0.0, now, DEFAULT)
    assert math.isclose(value, 20.0 + 40 * 0.5 / 2)
    off = LaggyConfig(adjust_heartbeat_grace=False)
    assert grace(20.0, target, [laggy_peer], 0.0, now, off) == 20.0


@given(infos, st.lists(infos, min_size=1, max_size=5), st.floats(0, 1e5), st.floats(0, 1e5))
def test_grace_is_at_least_the_base_and_shrinks_as_failure_goes_on(
    target: LaggyInfo, reporters: list[LaggyInfo], failed_for: float, more: float
) -> None:
    now = 2e9 + 1.0
    first = grace(20.0, target, reporters, failed_for, now, DEFAULT)
    later = grace(20.0, target, reporters, failed_for + more, now, DEFAULT)
    assert 20.0 <= later <= first <= 20.0 + 2 * 300


@given(infos, st.booleans(), st.floats(0, 2e9))
def test_boot_keeps_probability_in_unit_interval_and_interval_bounded(
    info: LaggyInfo, booted_before: bool, now: float
) -> None:
    after = after_boot(info, booted_before, now, DEFAULT)
    assert 0.0 <= after.laggy_probability <= 1.0
    assert 0 <= after.laggy_interval <= max(info.laggy_interval, DEFAULT.max_interval)
    assert after.down_stamp == info.down_stamp


def test_osdmap_keeps_xinfo_across_mark_down_and_laggy_boot() -> None:
    mon = with_osds(3)
    up_from = mon.state.osdmap.osds[2].up_from
    mon.ok(f"osd mark-failed osd.2 {up_from}")
    down_stamp = mon.state.osdmap.osds[2].down_stamp
    assert down_stamp == mon.now
    mon.now += 29.0
    # Booting again without a restart: the epoch it was up from before.
    mon.ok(f"osd boot 2 --boot_epoch={up_from}")
    info = mon.state.osdmap.osds[2]
    assert (info.laggy_probability, info.laggy_interval) == (0.3, 9)  # 30 s * 0.3
    dump = json.loads(mon.ok("osd dump --format json").outbuf)
    xinfo = {x["osd"]: x for x in dump["osd_xinfo"]}
    assert xinfo[2]["laggy_probability"] == 0.3
    assert xinfo[2]["laggy_interval"] == 9
    # Ceph's utime_t prints a stamp this close to 1970 as plain seconds.
    assert xinfo[2]["down_stamp"] == f"{down_stamp:.6f}"
    assert xinfo[0]["down_stamp"] == "0.000000"
    assert set(xinfo[0]) == {
        "osd",
        "down_stamp",
        "laggy_probability",
        "laggy_interval",
        "features",
        "old_weight",
        "last_purged_snaps_scrub",
        "dead_epoch",
    }
    # A restarted OSD's boot (no boot_epoch) decays the estimates.
    mon.ok("osd down 2")
    mon.ok("osd boot 2")
    info = mon.state.osdmap.osds[2]
    assert math.isclose(info.laggy_probability, 0.21)
    assert info.laggy_interval == 6


def test_a_laggy_osd_gets_a_longer_grace_before_it_is_marked_down() -> None:
    mon = with_osds(3)
    up_from = mon.state.osdmap.osds[2].up_from
    mon.ok(f"osd mark-failed osd.2 {up_from}")
    mon.now += 99.0
    mon.ok(f"osd boot 2 --boot_epoch={up_from}")  # down 100 s: interval 30, p 0.3
    osdmap = mon.state.osdmap
    tracker = FailureTracker(FailureConfig(grace=20.0))
    now = mon.now + 10.0
    tracker.report(osdmap, 0, 2, 25.0, osdmap.epoch, now=now)
    tracker.report(osdmap, 1, 2, 25.0, osdmap.epoch, now=now)
    # Plain grace 20 s has passed, but 20 + 30 * 0.3 * decay(25 s) ~ 28.9 has not.
    assert tracker.check_failures(osdmap, now) == []
    [decision] = tracker.check_failures(osdmap, now + 4.0)
    assert isinstance(decision, MarkDown)
    expected = 20.0 + 9.0 * math.exp(29.0 * math.log(0.5) / HOUR)
    assert f"after 29.000000 >= grace {expected:.6f})" in decision.log
