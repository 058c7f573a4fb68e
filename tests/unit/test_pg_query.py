"""`ceph pg PGID query`'s recovery_state while a PG peers: Ceph's substates, and the
prior set as ``Peering::react(QueryState)`` dumps it."""

from __future__ import annotations

from radospy.osd.peering import PastInterval, PastIntervals, PgView, build_prior_set
from radospy.osd.pg_query import PeeringDump, peering_states


def view(epoch: int, acting: tuple[int, ...]) -> PgView:
    return PgView(epoch, acting, acting[0] if acting else -1, acting, acting[0], 3, 2)


def test_a_down_pg_names_the_osds_it_waits_for() -> None:
    past = PastIntervals()
    past.note(view(1, (0, 1, 2)))
    past.note(view(5, (1, 2)))  # osd.0 gone: 1 and 2 take writes
    past.note(view(8, (0,)))  # 1 and 2 gone, 0 back alone
    prior = build_prior_set(past.intervals, view(8, (0,)), {0}.__contains__, 0)
    states = peering_states(PeeringDump("Down", prior, past.intervals), 20.0, 10.0)
    down, peering, started = states
    assert down["name"] == "Started/Primary/Peering/Down"
    assert down["comment"] == "not enough up instances of this PG to go active"
    assert peering["name"] == "Started/Primary/Peering"
    assert peering["blocked"] == "peering is blocked due to down osds"
    assert peering["probing_osds"] == ["0"]
    assert peering["down_osds_we_would_probe"] == [1, 2]
    assert [b["osd"] for b in peering["peering_blocked_by"]] == [1, 2]
    assert peering["peering_blocked_by"][0]["comment"] == (
        "starting or marking this osd lost may let us proceed"
    )
    assert peering["past_intervals"][1] == {
        "first": 5,
        "last": 7,
        "maybe_went_rw": 1,
        "up": [1, 2],
        "acting": [1, 2],
        "primary": 1,
        "up_primary": 1,
    }
    assert started["name"] == "Started"


def test_other_substates() -> None:
    prior = build_prior_set([], view(3, (0, 1)), {0, 1}.__contains__, 0)
    intervals: list[PastInterval] = []
    getinfo, peering, _ = peering_states(PeeringDump("GetInfo", prior, intervals), 1.0, 1.0)
    assert getinfo == {
        "name": "Started/Primary/Peering/GetInfo",
        "enter_time": getinfo["enter_time"],
        "requested_info_from": [],
    }
    assert "blocked" not in peering and peering["peering_blocked_by"] == []
    assert peering["probing_osds"] == ["0", "1"]
    comments = {
        step: peering_states(PeeringDump(step, prior, intervals), 1.0, 1.0)[0]["comment"]
        for step in ("Incomplete", "WaitUpThru", "WaitActingChange")
    }
    assert comments == {
        "Incomplete": "not enough complete instances of this PG",
        "WaitUpThru": "waiting for osdmap to reflect a new up_thru for this osd",
        "WaitActingChange": "waiting for pg acting set to change",
    }
