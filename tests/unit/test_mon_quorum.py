"""The quorum as `ceph -s`, `status --format json`, `health [detail]` and
`quorum_status` show it, and MON_DOWN."""

from __future__ import annotations

import json

from radospy.mon.monmap import Addr, MonMap
from radospy.mon.quorum import QuorumTracker, QuorumView, election_epoch
from tests.unit.mon_helpers import Mon


def _monmap() -> MonMap:
    monmap = MonMap.create("87e61e46-58bb-4013-9cb7-8989654c4c9b")
    for i, name in enumerate("abc"):
        monmap.add(name, Addr("127.0.0.1", 3300 + i))
    monmap.epoch = 1
    monmap.min_mon_release = 16
    return monmap


def _view(quorum: tuple[str, ...], age: float = 300.0) -> QuorumView:
    return QuorumView(_monmap(), quorum, quorum[0], 8, age)


def test_all_in_quorum_is_healthy_and_shows_the_mon_line() -> None:
    mon = Mon(quorum=_view(("a", "b", "c")))
    assert mon.ok("health").outbuf == b"HEALTH_OK\n"
    text = mon.ok("status").outbuf.decode()
    assert "    mon: 3 daemons, quorum a,b,c (age 5m)\n" in text
    assert text.index("    mon:") < text.index("    osd:")


def test_a_monitor_out_of_quorum_is_mon_down() -> None:
    mon = Mon(quorum=_view(("a", "b"), age=14.0))
    assert mon.ok("health").outbuf == b"HEALTH_WARN 1/3 mons down, quorum a,b\n"
    assert mon.ok("health detail").outbuf.decode() == (
        "HEALTH_WARN 1/3 mons down, quorum a,b\n"
        "[WRN] MON_DOWN: 1/3 mons down, quorum a,b\n"
        "    mon.c (rank 2) addr v2:127.0.0.1:3302/0 is down (out of quorum)\n"
    )
    text = mon.ok("status").outbuf.decode()
    assert "    health: HEALTH_WARN\n            1/3 mons down, quorum a,b\n" in text
    assert "    mon: 3 daemons, quorum a,b (age 14s), out of quorum: c\n" in text
    checks = json.loads(mon.ok("health detail --format json").outbuf)["checks"]
    assert checks["MON_DOWN"] == {
        "severity": "HEALTH_WARN",
        "summary": {"message": "1/3 mons down, quorum a,b", "count": 1},
        "detail": [{"message": "mon.c (rank 2) addr v2:127.0.0.1:3302/0 is down (out of quorum)"}],
        "muted": False,
    }


def test_status_json_has_the_quorum_keys() -> None:
    body = json.loads(Mon(quorum=_view(("a", "c"), age=61.7)).ok("status --format json").outbuf)
    assert list(body)[:7] == [
        "fsid", "health", "election_epoch", "quorum", "quorum_names", "quorum_age", "monmap",
    ]  # fmt: skip
    assert body["election_epoch"] == 8
    assert body["quorum"] == [0, 2]
    assert body["quorum_names"] == ["a", "c"]
    assert body["quorum_age"] == 61
    assert body["monmap"] == {"epoch": 1, "min_mon_release_name": "pacific", "num_mons": 3}
    assert body["health"]["checks"]["MON_DOWN"]["summary"]["count"] == 1


def test_quorum_status_names_the_leader_and_dumps_the_monmap() -> None:
    status = _view(("a", "b")).quorum_status()
    assert status["quorum_leader_name"] == "a"
    assert [m["name"] for m in status["monmap"]["mons"]] == ["a", "b", "c"]


def test_election_epoch_is_odd_while_electing_even_when_settled_and_grows() -> None:
    epochs = [election_epoch(t, settled) for t in range(1, 6) for settled in (False, True)]
    assert epochs == sorted(set(epochs))
    assert all(e % 2 == 1 for e in epochs[0::2]) and all(e % 2 == 0 for e in epochs[1::2])


def test_quorum_age_restarts_when_the_quorum_or_the_election_changes() -> None:
    tracker = QuorumTracker()
    assert tracker.update(2, ("a", "b", "c"), 5.0, 10.0) == 5.0
    assert tracker.update(2, ("a", "b", "c"), 5.0, 20.0) == 5.0
    assert tracker.update(2, ("a", "b"), 5.0, 30.0) == 30.0
    assert tracker.update(4, ("a", "b"), 35.0, 40.0) == 35.0
