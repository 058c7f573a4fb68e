"""What subscribers get: updates after their epoch while kept, else a full map; and
`OSDMapFollower`, which applies them and asks for a full map once per gap."""

from __future__ import annotations

from radospy.mon.osdmap_wire import OSDMapFollower, Take, encode_osdmap, extras_dicts

from .mon_helpers import Mon, with_osds


def _follow(mon: Mon, follower: OSDMapFollower) -> list[Take]:
    """Feed `follower` what the monitor would send a subscriber at its epoch."""
    state = mon.state
    updates = state.osdmap_updates(follower.epoch) if follower.epoch else None
    if updates is None:
        data = state.osdmap_bytes(state.osdmap.epoch)
        assert data is not None
        return [follower.take(state.osdmap.epoch, data, True)]
    return [follower.take(epoch, data, False) for epoch, data in updates]


def _same(mon: Mon, follower: OSDMapFollower) -> bool:
    assert follower.osdmap is not None
    return encode_osdmap(follower.osdmap, {}) == encode_osdmap(mon.state.osdmap, {})


def test_a_subscriber_catches_up_with_updates() -> None:
    mon = with_osds(2)
    follower = OSDMapFollower()
    assert _follow(mon, follower) == [Take.NEW]
    before = mon.state.osdmap.epoch
    mon.ok("osd pool create p 8")
    mon.ok("osd crush set-device-class ssd 0")
    mon.ok("osd down 1")
    mon.ok("osd pool mksnap p s1")
    assert _follow(mon, follower) == [Take.NEW] * (mon.state.osdmap.epoch - before)
    assert _same(mon, follower)
    # The pools' snapshot records travel with the updates (OSDs trim by them).
    assert extras_dicts(follower.pool_extras) == extras_dicts(mon.state.pool_extras)
    assert [s.name for s in follower.pool_extras[1].snaps.values()] == ["s1"]
    assert _follow(mon, follower) == []


def test_a_gap_is_reported_once_then_a_full_map_heals_it() -> None:
    mon = with_osds(1)
    follower = OSDMapFollower()
    _follow(mon, follower)
    mon.ok("osd set noout")
    mon.ok("osd unset noout")
    updates = mon.state.osdmap_updates(follower.epoch)
    assert updates is not None and len(updates) == 2
    (e1, u1), (e2, u2) = updates
    assert follower.take(e2, u2, False) is Take.GAP
    assert follower.take(e1, u1, False) is Take.STALE  # waits for the full map
    assert follower.take(e2, b"garbage", False) is Take.STALE
    full = mon.state.osdmap_bytes(e2)
    assert full is not None and follower.take(e2, full, True) is Take.NEW
    assert _same(mon, follower)
    mon.ok("osd set noout")
    ((e3, _),) = mon.state.osdmap_updates(e2) or []
    assert follower.take(e3, b"\x93garbage", False) is Take.GAP


def test_an_osd_asks_for_the_updates_it_missed_not_a_full_map() -> None:
    mon = with_osds(1)
    follower = OSDMapFollower(every_epoch=True)
    _follow(mon, follower)
    have = follower.epoch
    for flag in ("noout", "noup", "nodown"):
        mon.ok(f"osd set {flag}")
    updates = mon.state.osdmap_updates(have)
    assert updates is not None and len(updates) == 3
    e3, u3 = updates[-1]
    assert follower.take(e3, u3, False) is Take.GAP
    assert follower.resubscribe_from == have + 1
    assert follower.take(e3, u3, False) is Take.STALE  # asked once per gap
    # What the monitors send a subscriber from have + 1: every update, in order.
    assert [follower.take(e, u, False) for e, u in updates] == [Take.NEW] * 3
    assert _same(mon, follower)
    assert follower.take(e3 + 1, b"\x93garbage", False) is Take.GAP
    assert follower.resubscribe_from == 0
