"""OSDMap behaviour beyond the oracle vectors: upmaps, temps, affinity, state, storage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.errors import Exists, NotFound
from radospy.crush.dump import from_dump, to_dump
from radospy.crush.map import ITEM_NONE
from radospy.osdmap.hash import ceph_str_hash_rjenkins
from radospy.osdmap.osdmap import OSDMap, OsdStateFlag, build_simple_crush
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import PoolFlag, PoolType
from tests.conftest import load_vector

PG = PgId(1, 3)


def cluster(crush_map: str = "two_level", num_osd: int = 12) -> OSDMap:
    """Every OSD up and in, one replicated size-3 pool with 32 PGs."""
    osdmap = OSDMap(crush=from_dump(load_vector(f"crush/{crush_map}.dump.json")))
    for osd in range(num_osd):
        osdmap.create_osd(osd)
        osdmap.mark_up(osd)
        osdmap.mark_in(osd)
    osdmap.add_pool("rep", 32, size=3)
    return osdmap


def spare_osd(osdmap: OSDMap, used: list[int]) -> int:
    return next(osd for osd in range(osdmap.max_osd) if osd not in used)


def test_state_helpers_follow_ceph() -> None:
    osdmap = OSDMap()
    osdmap.set_max_osd(3)
    assert not osdmap.exists(0) and osdmap.is_out(0) and osdmap.is_down(0)
    osdmap.mark_up(0)
    assert not osdmap.is_up(0), "marking up does not create an OSD"
    osdmap.mark_in(0)
    assert osdmap.exists(0) and osdmap.is_up(0) and osdmap.is_in(0)
    osdmap.mark_out(0)
    assert osdmap.is_out(0) and osdmap.exists(0)
    osdmap.create_osd(5, uuid="00000000-0000-4000-8000-000000000005")
    assert osdmap.max_osd == 6
    assert osdmap.osds[5].state == OsdStateFlag.EXISTS | OsdStateFlag.NEW
    osdmap.mark_down(0)
    assert not osdmap.is_up(0)
    with pytest.raises(NotFound):
        osdmap.mark_up(6)


def test_add_pool_numbers_and_rejects_duplicates() -> None:
    osdmap = OSDMap()
    first = osdmap.add_pool("a", 16)
    second = osdmap.add_pool("b", 12, 8, pool_type=PoolType.ERASURE, size=6, min_size=5)
    assert (first.id, second.id, osdmap.pool_max) == (1, 2, 2)
    assert (first.min_size, second.pgp_num, second.can_shift_osds()) == (2, 8, False)
    assert osdmap.pool_by_name("b") is second
    with pytest.raises(Exists):
        osdmap.add_pool("a", 8)
    with pytest.raises(NotFound):
        osdmap.pool(9)
    with pytest.raises(NotFound):
        osdmap.pool_by_name("nope")


def test_namespace_and_locator_key_hashing() -> None:
    pool = OSDMap().add_pool("p", 64)
    assert pool.hash_key("obj") == ceph_str_hash_rjenkins(b"obj")
    assert pool.hash_key("obj", "ns") == ceph_str_hash_rjenkins(b"ns\x1fobj")
    assert pool.object_locator_to_pg("obj", key="k") == PgId(1, ceph_str_hash_rjenkins(b"k"))
    assert pool.object_locator_to_pg("obj", namespace="ns").seed == pool.hash_key("obj", "ns")


def test_explicit_hash_position_wins() -> None:
    osdmap = cluster()
    assert osdmap.object_locator_to_pg(1, "obj", hash_position=77) == PgId(1, 77)
    assert osdmap.object_to_pg(1, "foo") == PgId(1, 0x7FC1F406 % 32)


def test_unknown_pool_maps_nowhere() -> None:
    osdmap = cluster()
    mapping = osdmap.pg_to_up_acting_osds(PgId(9, 0))
    assert (mapping.up, mapping.up_primary, mapping.acting, mapping.acting_primary) == (
        [],
        -1,
        [],
        -1,
    )
    assert osdmap.pg_to_raw_osds(PgId(9, 0)) == ([], -1)
    assert osdmap.pg_to_raw_upmap(PgId(9, 0)) == ([], [])


def test_raw_and_folded_pgs_map_alike() -> None:
    osdmap = cluster()
    raw = osdmap.object_locator_to_pg(1, "some-object")
    assert osdmap.pg_to_up_acting_osds(raw) == osdmap.pg_to_up_acting_osds(osdmap.raw_pg_to_pg(raw))


def test_down_osd_leaves_a_replicated_set() -> None:
    osdmap = cluster()
    raw, _ = osdmap.pg_to_raw_osds(PG)
    osdmap.mark_down(raw[1])
    mapping = osdmap.pg_to_up_acting_osds(PG)
    assert mapping.up == [raw[0], raw[2]]
    assert mapping.acting == mapping.up and mapping.acting_primary == raw[0]


def test_out_osd_is_remapped_by_crush() -> None:
    osdmap = cluster()
    raw, _ = osdmap.pg_to_raw_osds(PG)
    osdmap.mark_out(raw[0])
    assert raw[0] not in osdmap.pg_to_up_acting_osds(PG).up


def test_pg_upmap_items_replace_in_place() -> None:
    osdmap = cluster()
    raw, _ = osdmap.pg_to_raw_osds(PG)
    target = spare_osd(osdmap, raw)
    osdmap.pg_upmap_items[PG] = [(raw[1], target), (raw[2], raw[0])]
    # The second pair is skipped: its target is already in the set.
    assert osdmap.pg_to_raw_upmap(PG) == (raw, [raw[0], target, raw[2]])
    assert osdmap.pg_to_up_acting_osds(PG).up == [raw[0], target, raw[2]]


def test_upmap_targets_marked_out_are_ignored() -> None:
    osdmap = cluster()
    raw, _ = osdmap.pg_to_raw_osds(PG)
    target = spare_osd(osdmap, raw)
    osdmap.mark_out(target)
    osdmap.pg_upmap_items[PG] = [(raw[1], target)]
    assert osdmap.pg_to_raw_upmap(PG)[1] == raw
    # A pg_upmap naming an out OSD is dropped as a whole, and so are the items.
    other = spare_osd(osdmap, [*raw, target])
    osdmap.pg_upmap[PG] = [raw[0], raw[1], target]
    osdmap.pg_upmap_items[PG] = [(raw[1], other)]
    assert osdmap.pg_to_raw_upmap(PG)[1] == raw
    osdmap.mark_in(target)
    assert osdmap.pg_to_raw_upmap(PG)[1] == [raw[0], other, target]


def test_pg_temp_and_primary_temp_override_acting() -> None:
    osdmap = cluster()
    up = osdmap.pg_to_up_acting_osds(PG).up
    temp = [spare_osd(osdmap, up), up[0]]
    osdmap.pg_temp[PG] = temp
    mapping = osdmap.pg_to_up_acting_osds(PG)
    assert (mapping.up, mapping.acting, mapping.acting_primary) == (up, temp, temp[0])
    osdmap.primary_temp[PG] = up[0]
    assert osdmap.pg_to_up_acting_osds(PG).acting_primary == up[0]
    osdmap.mark_down(temp[0])
    assert osdmap.pg_to_up_acting_osds(PG).acting == [up[0]]
    del osdmap.pg_temp[PG]
    mapping = osdmap.pg_to_up_acting_osds(PG)
    assert (mapping.acting, mapping.acting_primary) == (mapping.up, up[0])


def test_zero_primary_affinity_moves_the_primary_to_the_front() -> None:
    osdmap = cluster()
    up = osdmap.pg_to_up_acting_osds(PG).up
    osdmap.set_primary_affinity(up[0], 0)
    mapping = osdmap.pg_to_up_acting_osds(PG)
    assert mapping.up == [up[1], up[0], up[2]] and mapping.up_primary == up[1]
    for osd in up:
        osdmap.set_primary_affinity(osd, 0)
    # When every member declines, the first one stays primary.
    mapping = osdmap.pg_to_up_acting_osds(PG)
    assert mapping.up == up and mapping.up_primary == up[0]


def erasure_cluster() -> OSDMap:
    osdmap = cluster("erasure", 12)
    osdmap.add_pool("ec", 32, pool_type=PoolType.ERASURE, size=6, min_size=5, crush_rule=1)
    return osdmap


def test_erasure_sets_keep_positions() -> None:
    osdmap = erasure_cluster()
    pg = PgId(2, 5)
    raw, _ = osdmap.pg_to_raw_osds(pg)
    shard = next(i for i, osd in enumerate(raw) if osd != ITEM_NONE and i > 0)
    osdmap.mark_down(raw[shard])
    mapping = osdmap.pg_to_up_acting_osds(pg)
    assert mapping.up[shard] == ITEM_NONE
    assert [osd for i, osd in enumerate(mapping.up) if i != shard] == [
        osd for i, osd in enumerate(raw) if i != shard
    ]
    osdmap.set_primary_affinity(mapping.up[0], 0)
    moved = osdmap.pg_to_up_acting_osds(pg)
    assert moved.up == mapping.up, "erasure shards never move"
    assert moved.up_primary != mapping.up[0]


def test_nonexistent_osds_leave_holes_in_erasure_raw_sets() -> None:
    osdmap = erasure_cluster()
    pg = PgId(2, 1)
    raw, _ = osdmap.pg_to_raw_osds(pg)
    osdmap.set_max_osd(max(osd for osd in raw if osd != ITEM_NONE))
    shrunk, _ = osdmap.pg_to_raw_osds(pg)
    assert len(shrunk) == len(raw) and ITEM_NONE in shrunk


def test_dict_round_trip_keeps_placement_and_print() -> None:
    osdmap = erasure_cluster()
    osdmap.epoch = 7
    osdmap.flags = 1 << 15
    osdmap.mark_out(4)
    osdmap.set_primary_affinity(2, 0x8000)
    osdmap.pg_temp[PgId(1, 2)] = [1, 2]
    osdmap.primary_temp[PgId(1, 2)] = 2
    osdmap.pg_upmap[PgId(1, 4)] = [3, 5, 7]
    osdmap.pg_upmap_items[PgId(2, 3)] = [(5, 11), (8, 0)]
    osdmap.pools[1].set_flag(PoolFlag.NODELETE)
    copy = OSDMap.from_dict(json.loads(json.dumps(osdmap.to_dict())))
    assert copy.print_text() == osdmap.print_text()
    assert copy.to_dict() == osdmap.to_dict()
    for pool in (1, 2):
        for seed in range(32):
            pg = PgId(pool, seed)
            assert copy.pg_to_up_acting_osds(pg) == osdmap.pg_to_up_acting_osds(pg)


def test_build_simple_without_pool() -> None:
    osdmap = OSDMap.build_simple(3)
    assert osdmap.pools == {} and osdmap.max_osd == 3 and osdmap.epoch == 0
    assert not any(osdmap.exists(osd) for osd in range(3))
    assert osdmap.erasure_code_profiles["default"]["plugin"] == "jerasure"
    empty = OSDMap.build_simple(0, with_default_pool=True)
    assert empty.pools[1].pg_num == 1 << 6


def test_build_simple_crush_matches_osdmaptool() -> None:
    # What `osdmaptool --createsimple 3` exports (crushtool --dump), in short.
    dump = to_dump(build_simple_crush(3))
    assert [
        (b["id"], b["name"], b["type_name"], b["alg"], b["weight"]) for b in dump["buckets"]
    ] == [
        (-1, "default", "root", "straw2", 3 * 0x10000),
        (-2, "localhost", "host", "straw2", 3 * 0x10000),
        (-3, "localrack", "rack", "straw2", 3 * 0x10000),
    ]
    assert [i["id"] for i in dump["buckets"][1]["items"]] == [0, 1, 2]
    assert dump["rules"][0]["rule_name"] == "replicated_rule"
    assert [s["op"] for s in dump["rules"][0]["steps"]] == ["take", "chooseleaf_firstn", "emit"]
    assert dump["rules"][0]["steps"][1]["type"] == "host"
    assert dump["tunables"]["profile"] == "jewel"
    assert [t["name"] for t in dump["types"]][-1] == "root"


@settings(max_examples=60, deadline=None)
@given(
    down=st.sets(st.integers(0, 11), max_size=6),
    out=st.sets(st.integers(0, 11), max_size=6),
    affinity=st.dictionaries(st.integers(0, 11), st.integers(0, 0x10000), max_size=6),
    seed=st.integers(0, 0xFFFFFFFF),
)
def test_placement_invariants(
    down: set[int], out: set[int], affinity: dict[int, int], seed: int
) -> None:
    osdmap = erasure_cluster()
    for osd in down:
        osdmap.mark_down(osd)
    for osd in out:
        osdmap.mark_out(osd)
    for osd, value in affinity.items():
        osdmap.set_primary_affinity(osd, value)
    for pool in osdmap.pools.values():
        pg = PgId(pool.id, seed)
        mapping = osdmap.pg_to_up_acting_osds(pg)
        assert mapping == osdmap.pg_to_up_acting_osds(pg), "placement is deterministic"
        members = [osd for osd in mapping.up if osd != ITEM_NONE]
        assert len(set(members)) == len(members)
        assert all(osdmap.is_up(osd) and osdmap.is_in(osd) for osd in members)
        assert (mapping.acting, mapping.acting_primary) == (mapping.up, mapping.up_primary)
        if pool.can_shift_osds():
            assert len(mapping.up) <= pool.size
            assert mapping.up_primary == (mapping.up[0] if mapping.up else -1)
        else:
            assert len(mapping.up) == pool.size
            assert mapping.up_primary in [*members, -1]
