"""Object -> PG -> OSDs against every scenario osdmaptool / ceph-mon printed."""

from __future__ import annotations

from typing import Any

import pytest

from radospy.crush.dump import from_dump
from radospy.osdmap.osdmap import OSD_STATE_NAMES, MapFlag, OSDMap
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import Pool
from tests.conftest import load_vector

SCENARIOS = [s["scenario"] for s in load_vector("manifest.json")["osdmap_scenarios"]]
NAME_BYTES = {
    o["name"]: bytes.fromhex(o["name_hex"]) for o in load_vector("hashes/rjenkins.json")["objects"]
}

# How the createsimple-based scenarios were built (see each file's build_commands):
# osd count, --pg-bits, --pgp-bits, hashpspool, OSDs marked out after --mark-up-in.
CREATESIMPLE = {
    "createsimple_6": (6, 2, 2, True, []),
    "two_level_pg12": (12, 0, 0, True, []),
    "three_level_pg100": (25, 2, 1, True, []),
    "ssd_primary_nohashpspool": (18, 0, 0, False, [4]),
    "weight_set_pg16": (16, 0, 0, True, []),
}


def _fixed(value: float) -> int:
    return round(value * 0x10000)


def _state_bits(names: list[str]) -> int:
    by_name = {name: bit for bit, name in OSD_STATE_NAMES.items()}
    bits = 0
    for name in names:
        bits |= by_name[name]
    return bits


def map_from_vector(scenario: dict[str, Any]) -> OSDMap:
    """The scenario's OSDMap from its `osdmap` section and its CRUSH map."""
    section = scenario["osdmap"]
    if scenario["crush_map"] is None:
        osdmap = OSDMap.build_simple(section["max_osd"])
    else:
        osdmap = OSDMap(crush=from_dump(load_vector(f"crush/{scenario['crush_map']}.dump.json")))
        osdmap.set_max_osd(section["max_osd"])
    for osd in section["osds"]:
        info = osdmap.osds[osd["osd"]]
        info.state = _state_bits(osd["state"])
        info.weight = _fixed(osd["weight"])
        info.primary_affinity = _fixed(osd["primary_affinity"])
    for entry in section["pools"]:
        pool = Pool.from_dict(entry)
        osdmap.pools[pool.id] = pool
    osdmap.pg_upmap = {PgId.parse(e["pgid"]): e["osds"] for e in section["pg_upmap"]}
    osdmap.pg_upmap_items = {
        PgId.parse(e["pgid"]): [(m["from"], m["to"]) for m in e["mappings"]]
        for e in section["pg_upmap_items"]
    }
    return osdmap


def map_from_createsimple(name: str, scenario: dict[str, Any]) -> OSDMap:
    """Replay `osdmaptool --createsimple ... --import-crush ... --mark-up-in --mark-out`."""
    num_osd, pg_bits, pgp_bits, hashpspool, out = CREATESIMPLE[name]
    osdmap = OSDMap.build_simple(
        num_osd, pg_bits=pg_bits, pgp_bits=pgp_bits, with_default_pool=True, hashpspool=hashpspool
    )
    if scenario["crush_map"] is not None:
        osdmap.crush = from_dump(load_vector(f"crush/{scenario['crush_map']}.dump.json"))
    for osd in range(num_osd):
        osdmap.mark_up(osd)
        osdmap.mark_in(osd)
    for osd in out:
        osdmap.mark_out(osd)
    return osdmap


def _mismatches(osdmap: OSDMap, pool_case: dict[str, Any]) -> list[str]:
    errors = []
    for obj in pool_case["objects"]:
        name = NAME_BYTES.get(obj["name"], obj["name"].encode())
        raw = osdmap.object_locator_to_pg(obj["pool"], name)
        pg = osdmap.raw_pg_to_pg(raw)
        m = osdmap.pg_to_up_acting_osds(pg)
        got = (f"{raw.seed:08x}", str(pg), pg.seed, m.up, m.up_primary, m.acting, m.acting_primary)
        want = (
            obj["raw_hash"],
            obj["pgid"],
            obj["ps"],
            obj["up"],
            obj["up_primary"],
            obj["acting"],
            obj["acting_primary"],
        )
        if got != want:
            errors.append(f"object {obj['name']!r}: got {got}, want {want}")
    for pgid, row in pool_case["pgs"].items():
        pg = PgId.parse(pgid)
        raw, raw_primary = osdmap.pg_to_raw_osds(pg)
        m = osdmap.pg_to_up_acting_osds(pg)
        got_pg = (raw, raw_primary, m.up, m.up_primary, m.acting, m.acting_primary)
        want_pg = tuple(
            row[k] for k in ("raw", "raw_primary", "up", "up_primary", "acting", "acting_primary")
        )
        if got_pg != want_pg:
            errors.append(f"pg {pgid}: got {got_pg}, want {want_pg}")
    return errors


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_placement(name: str) -> None:
    scenario = load_vector(f"osdmap/{name}.json")
    osdmap = map_from_vector(scenario)
    errors = [e for case in scenario["pools"] for e in _mismatches(osdmap, case)]
    assert not errors, f"{len(errors)} mismatches, first: {errors[:5]}"


@pytest.mark.parametrize("name", sorted(CREATESIMPLE))
def test_createsimple_replay(name: str) -> None:
    scenario = load_vector(f"osdmap/{name}.json")
    osdmap = map_from_createsimple(name, scenario)
    want_pool = scenario["pools"][0]["pool_info"]
    pool = osdmap.pools[1]
    assert (pool.pg_num, pool.pgp_num, pool.flags, pool.size, pool.min_size) == (
        want_pool["pg_num"],
        want_pool["pg_placement_num"],
        want_pool["flags"],
        want_pool["size"],
        want_pool["min_size"],
    )
    errors = _mismatches(osdmap, scenario["pools"][0])
    assert not errors, f"{len(errors)} mismatches, first: {errors[:5]}"


def _normalised_print(text: str) -> str:
    """Drop the lines the vectors leave out and hide last_change, as the vectors do."""
    kept = [
        line
        for line in text.split("\n")
        if not line.startswith(("epoch ", "created ", "modified "))
    ]
    return "\n".join(kept).replace("last_change 0 ", "last_change N ")


@pytest.mark.parametrize("name", sorted(CREATESIMPLE))
def test_createsimple_print(name: str) -> None:
    scenario = load_vector(f"osdmap/{name}.json")
    osdmap = map_from_createsimple(name, scenario)
    assert _normalised_print(osdmap.print_text()) == scenario["osdmap_print"]


# What ceph-mon recorded beyond the vectors' `osdmap` section, read off `osdmap_print`:
# crush_version, erasure stripe widths (k * 4096) and pgp_num targets.
MON_EXTRAS = {
    "mon_erasure_degraded": (13, {1: 16384}, {}),
    "mon_pools_device_classes": (3, {3: 8192}, {2: 100}),
}


@pytest.mark.parametrize("name", sorted(MON_EXTRAS))
def test_mon_print(name: str) -> None:
    scenario = load_vector(f"osdmap/{name}.json")
    osdmap = map_from_vector(scenario)
    crush_version, stripe_widths, pgp_targets = MON_EXTRAS[name]
    osdmap.fsid = "d1743484-0000-4000-8000-00000000c0de"
    osdmap.flags = MapFlag.SORTBITWISE | MapFlag.RECOVERY_DELETES
    osdmap.flags |= MapFlag.PURGED_SNAPDIRS | MapFlag.PGLOG_HARDLIMIT
    osdmap.crush_version = crush_version
    osdmap.full_ratio, osdmap.backfillfull_ratio, osdmap.nearfull_ratio = 0.95, 0.9, 0.85
    osdmap.require_min_compat_client = "luminous"
    osdmap.require_osd_release = "pacific"
    for osd, info in enumerate(osdmap.osds):
        info.uuid = f"00000000-0000-4000-8000-{osd:012d}"
    for pool in osdmap.pools.values():
        pool.autoscale_mode = "off"
        pool.stripe_width = stripe_widths.get(pool.id, 0)
        pool.pgp_num_target = pgp_targets.get(pool.id, pool.pgp_num)
    assert _normalised_print(osdmap.print_text()) == scenario["osdmap_print"]
