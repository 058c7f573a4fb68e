"""The leader's failure handling with a fake clock, and the map changes it proposes,
applied through the command table as a committed entry would be."""

from __future__ import annotations

import errno

import pytest

from radospy.common.errors import InvalidArgument, RadosError
from radospy.mon.failure_commands import parse_report
from radospy.mon.failures import FailureConfig, FailureTracker, MarkDown, MarkOut

from .mon_helpers import Mon, with_osds

CONFIG = FailureConfig(grace=20.0, down_out_interval=600.0, report_timeout=900.0)


def _apply(mon: Mon, decision: MarkDown | MarkOut) -> None:
    if isinstance(decision, MarkDown):
        cmd = {"prefix": "osd mark-failed", "id": decision.osd, "up_from": decision.up_from}
    else:
        cmd = {"prefix": "osd mark-autoout", "id": decision.osd}
    assert mon.cmd(cmd).rc == 0


def test_two_hosts_after_grace_mark_down_with_cephs_log_line() -> None:
    mon = with_osds(4)
    mon.ok("osd crush set osd.1 1.0 host=h0 root=default")
    osdmap = mon.state.osdmap
    up_from = osdmap.osds[3].up_from
    tracker = FailureTracker(CONFIG)
    assert tracker.report(osdmap, 0, 3, 25.0, osdmap.epoch, now=100.0) is None
    assert tracker.report(osdmap, 1, 3, 25.0, osdmap.epoch, now=100.0) is None
    # osd.0 and osd.1 share host h0: one subtree, not enough.
    assert tracker.check_failures(osdmap, 101.0) == []
    tracker.report(osdmap, 2, 3, 10.0, osdmap.epoch, now=101.0)
    # The newest failed-since (91) decides: 9 s < grace.
    assert tracker.check_failures(osdmap, 102.0) == []
    [decision] = tracker.check_failures(osdmap, 112.0)
    assert decision == MarkDown(
        3,
        up_from,
        "osd.3 failed (root=default,host=h3) (2 reporters from different host after "
        "21.000000 >= grace 20.000000)",
    )
    assert tracker.check_failures(osdmap, 113.0) == []  # proposed already
    _apply(mon, decision)
    assert not mon.state.osdmap.is_up(3)
    assert mon.state.osdmap.osds[3].down_at == mon.state.osdmap.epoch
    assert tracker.check_failures(mon.state.osdmap, 114.0) == []
    assert tracker.reports == {}


def test_cancel_and_ignored_reports() -> None:
    mon = with_osds(3)
    osdmap = mon.state.osdmap
    tracker = FailureTracker(CONFIG)
    tracker.report(osdmap, 0, 2, 30.0, osdmap.epoch, now=100.0)
    tracker.report(osdmap, 1, 2, 30.0, osdmap.epoch, now=100.0)
    tracker.cancel(1, 2)
    assert tracker.check_failures(osdmap, 100.0) == []
    assert "older osd.2" in str(tracker.report(osdmap, 1, 2, 30.0, 1, now=100.0))
    assert tracker.report(osdmap, 0, 7, 30.0, osdmap.epoch, now=100.0) == "osd.7 does not exist"
    mon.ok("osd down 1")
    down = mon.state.osdmap
    assert tracker.report(down, 1, 2, 1.0, down.epoch, 100.0) == "reporter osd.1 is down"
    assert tracker.report(down, 0, 1, 1.0, down.epoch, 100.0) == "osd.1 is already down"


def test_refused_connection_marks_down_at_once_unless_nodown() -> None:
    mon = with_osds(3)
    tracker = FailureTracker(CONFIG)
    mon.ok("osd set nodown")
    osdmap = mon.state.osdmap
    tracker.report(osdmap, 0, 2, 0.5, osdmap.epoch, now=100.0, immediate=True)
    assert tracker.check_failures(osdmap, 100.0) == []
    up_from = osdmap.osds[2].up_from
    decision = MarkDown(
        2, up_from, "osd.2 failed (root=default,host=h2) (connection refused reported by osd.0)"
    )
    assert mon.cmd({"prefix": "osd mark-failed", "id": 2, "up_from": up_from}).outs == (
        "nodown flag is set; osd.2 stays up"
    )
    mon.ok("osd unset nodown")
    assert tracker.check_failures(mon.state.osdmap, 101.0) == [decision]


def test_mark_failed_spares_a_rebooted_osd() -> None:
    mon = with_osds(2)
    old = mon.state.osdmap.osds[1].up_from
    mon.ok("osd down 1")
    mon.ok("osd boot 1")
    result = mon.cmd({"prefix": "osd mark-failed", "id": 1, "up_from": old})
    assert result.rc == 0 and mon.state.osdmap.is_up(1)
    assert result.outs == f"osd.1 is up since e{mon.state.osdmap.osds[1].up_from} now"


def test_silent_beacons_mark_down() -> None:
    mon = with_osds(2)
    tracker = FailureTracker(CONFIG)
    assert tracker.tick(mon.state.osdmap, 0.0) == []
    tracker.beacon(mon.state.osdmap, 0, 850.0)
    [decision] = tracker.tick(mon.state.osdmap, 900.5)
    assert decision.osd == 1
    assert decision.log == "osd.1 marked down after no beacon for 900.500000 seconds"
    _apply(mon, decision)
    assert not mon.state.osdmap.is_up(1) and mon.state.osdmap.is_up(0)


def test_down_osd_is_marked_out_after_the_interval_and_in_at_boot() -> None:
    mon = with_osds(4)
    mon.ok("osd down 3")
    tracker = FailureTracker(CONFIG)
    assert tracker.tick(mon.state.osdmap, 1000.0) == []
    assert tracker.tick(mon.state.osdmap, 1599.0) == []
    [decision] = tracker.tick(mon.state.osdmap, 1600.0)
    assert decision == MarkOut(3, "Marking osd.3 out (has been down for 600 seconds)")
    _apply(mon, decision)
    info = mon.state.osdmap.osds[3]
    assert mon.state.osdmap.is_out(3) and "autoout" in mon.ok("osd dump").outbuf.decode()
    mon.ok("osd boot 3")
    assert mon.state.osdmap.is_in(3) and not mon.state.osdmap.osds[3].state & 4
    assert info.state & 4


def test_noout_min_in_ratio_and_subtree_limit_keep_osds_in() -> None:
    mon = with_osds(4)
    mon.ok("osd set noout")
    mon.ok("osd down 3")
    tracker = FailureTracker(CONFIG)
    tracker.tick(mon.state.osdmap, 0.0)
    assert tracker.tick(mon.state.osdmap, 700.0) == []
    assert mon.cmd({"prefix": "osd mark-autoout", "id": 3}).outs == (
        "noout flag is set; osd.3 stays in"
    )
    mon.ok("osd unset noout")
    assert [d.osd for d in tracker.tick(mon.state.osdmap, 701.0)] == [3]
    # Three of four down: after two are out, half the OSDs are in, under 0.75.
    ratio = FailureTracker(CONFIG)
    mon.ok("osd down 1 2")
    ratio.tick(mon.state.osdmap, 0.0)
    assert [d.osd for d in ratio.tick(mon.state.osdmap, 600.0)] == [1, 2]
    # A whole rack down stays in (mon_osd_down_out_subtree_limit = rack).
    rack = with_osds(4)
    rack.ok("osd crush add-bucket r1 rack")
    rack.ok("osd crush move r1 root=default")
    rack.ok("osd crush move h3 rack=r1")
    rack.ok("osd down 3")
    limited = FailureTracker(CONFIG)
    limited.tick(rack.state.osdmap, 0.0)
    assert limited.tick(rack.state.osdmap, 600.0) == []


def test_report_validation() -> None:
    cmd = {"prefix": "osd failure", "target": 2, "failed_for": 3.5, "epoch": 9}
    msg = parse_report(cmd, "osd.4")
    assert (msg.reporter, msg.target, msg.failed_for, msg.epoch) == (4, 2, 3.5, 9)
    assert parse_report({"prefix": "osd beacon", "epoch": 3}, "osd.1").target == -1
    with pytest.raises(RadosError) as denied:
        parse_report(cmd, "client.admin")
    assert denied.value.errno == errno.EACCES
    for bad in (
        {"target": -1},
        {"target": "x"},
        {"failed_for": float("nan")},
        {"failed_for": -1},
        {"epoch": True},
        {"alive": "yes"},
    ):
        with pytest.raises(InvalidArgument):
            parse_report({**cmd, **bad}, "osd.4")


def test_reports_about_an_earlier_incarnation_do_not_mark_a_rebooted_osd_down() -> None:
    """An OSD killed and restarted before anyone marked it down boots again from a new
    address: the refused connections and silences reported about the old process are
    forgotten, and only reports about the new one count."""
    mon = with_osds(3)
    osdmap = mon.state.osdmap
    tracker = FailureTracker(CONFIG)
    tracker.report(osdmap, 0, 2, 0.5, osdmap.epoch, now=100.0, immediate=True)
    tracker.report(osdmap, 1, 2, 30.0, osdmap.epoch, now=100.0)
    mon.ok("osd boot 2 127.0.0.1:7002 127.0.0.1:7102")
    rebooted = mon.state.osdmap
    assert rebooted.is_up(2) and rebooted.osds[2].up_from > osdmap.osds[2].up_from
    assert tracker.tick(rebooted, 101.0) == []
    assert tracker.reports == {} and tracker.refused == {}
    # A report sent before the reboot was seen (its epoch older than up_from) is ignored;
    # a new one about the new process counts as usual.
    assert "older osd.2" in str(tracker.report(rebooted, 0, 2, 1.0, osdmap.epoch, now=102.0))
    tracker.report(rebooted, 0, 2, 0.5, rebooted.epoch, now=103.0, immediate=True)
    [decision] = tracker.check_failures(rebooted, 103.0)
    assert decision.up_from == rebooted.osds[2].up_from


def test_osd_alive_raises_up_thru_once() -> None:
    """A primary's ``osd alive``: up_thru moves to the new epoch when it is below the
    wanted one, and nothing changes when it covers it or the OSD is down."""
    mon = with_osds(3)
    osdmap = mon.state.osdmap
    assert osdmap.osds[1].up_thru == osdmap.osds[1].up_from
    mon.ok("osd out 2")
    want = mon.state.osdmap.epoch
    result = mon.cmd({"prefix": "osd alive", "id": 1, "want": want})
    assert result.rc == 0 and mon.state.osdmap.epoch == want + 1
    assert mon.state.osdmap.osds[1].up_thru == want + 1
    again = mon.cmd({"prefix": "osd alive", "id": 1, "want": want})
    assert again.rc == 0 and mon.state.osdmap.epoch == want + 1
    assert again.outs == f"osd.1 up_thru is {want + 1}"
    future = mon.cmd({"prefix": "osd alive", "id": 1, "want": want + 5})
    assert future.rc == -errno.EINVAL
    mon.ok("osd down 0")
    down = mon.cmd({"prefix": "osd alive", "id": 0, "want": mon.state.osdmap.epoch})
    assert down.rc == 0 and down.outs == "osd.0 is down"
    assert mon.cmd({"prefix": "osd alive", "id": 9, "want": 1}).rc == -errno.ENOENT
