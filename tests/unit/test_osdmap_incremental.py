"""OSDMap incrementals: apply(old, diff(old, new)) is new, over random sequences of map
changes (OSDs, CRUSH edits and classes, pools, profiles, flags, ratios, PG overrides)."""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.crush import edit
from radospy.crush.map import WEIGHT_ONE
from radospy.mon.osdmap_wire import encode_osdmap
from radospy.osdmap import incremental
from radospy.osdmap.incremental import Incremental, IncrementalError
from radospy.osdmap.osdmap import MapFlag, OSDMap, build_simple_crush
from radospy.osdmap.pg import PgId

FSID = "87e61e46-58bb-4013-9cb7-8989654c4c9b"


def _first_map() -> OSDMap:
    osdmap = OSDMap(epoch=1, fsid=FSID, created="c", modified="m", crush=build_simple_crush(0))
    osdmap.erasure_code_profiles["default"] = {"k": "2", "m": "1"}
    return osdmap


def _mutate(osdmap: OSDMap, rng: random.Random) -> None:
    """One random change of the kind the monitor's commands make."""
    kind = rng.randrange(12)
    existing = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
    pools = sorted(osdmap.pools)
    if kind == 0 or not existing:
        osd = osdmap.max_osd if rng.random() < 0.7 else rng.randrange(osdmap.max_osd + 3)
        if not osdmap.exists(osd):
            osdmap.create_osd(osd)
        if osd not in osdmap.crush.device_names:
            edit.insert_device(
                osdmap.crush,
                osd,
                rng.randrange(1, 4) * WEIGHT_ONE,
                {"host": f"h{rng.randrange(3)}", "root": "default"},
                rng.choice([None, "ssd", "hdd"]),
            )
            edit.rebuild_shadow_trees(osdmap.crush)
            osdmap.crush_version += 1
    elif kind == 1:
        osd = rng.choice(existing)
        (osdmap.mark_down if osdmap.is_up(osd) else osdmap.mark_up)(osd)
    elif kind == 2:
        osdmap.set_reweight(rng.choice(existing), rng.choice([0, 0x8000, 0x10000]))
    elif kind == 3:
        osd = rng.choice(existing)
        edit.reweight_item(osdmap.crush, osd, rng.randrange(0, 5) * WEIGHT_ONE)
        edit.rebuild_shadow_trees(osdmap.crush)
        osdmap.crush_version += 1
    elif kind == 4:
        pool = osdmap.add_pool(f"p{osdmap.pool_max + 1}", rng.choice([1, 8, 32]))
        pool.last_change = osdmap.epoch + 1
    elif kind == 5 and pools:
        del osdmap.pools[rng.choice(pools)]
    elif kind == 6 and pools:
        pool = osdmap.pools[rng.choice(pools)]
        pool.size = rng.randrange(1, 4)
        pool.last_change = osdmap.epoch + 1
    elif kind == 7:
        osdmap.flags ^= rng.choice([MapFlag.NOOUT, MapFlag.NOUP, MapFlag.NOSCRUB])
    elif kind == 8 and pools:
        pg = PgId(rng.choice(pools), rng.randrange(8))
        table = rng.choice([osdmap.pg_temp, osdmap.pg_upmap])
        if pg in table and rng.random() < 0.5:
            del table[pg]
        else:
            table[pg] = rng.sample(existing, min(len(existing), 2))
    elif kind == 9 and pools:
        pg = PgId(rng.choice(pools), rng.randrange(8))
        if pg in osdmap.pg_upmap_items and rng.random() < 0.5:
            del osdmap.pg_upmap_items[pg]
        else:
            osdmap.pg_upmap_items[pg] = [(rng.choice(existing), rng.choice(existing))]
        if rng.random() < 0.5:
            osdmap.primary_temp[pg] = rng.choice(existing)
        else:
            osdmap.primary_temp.pop(pg, None)
    elif kind == 10:
        name = rng.choice(["default", "ec", "wide"])
        if name in osdmap.erasure_code_profiles and rng.random() < 0.5:
            del osdmap.erasure_code_profiles[name]
        else:
            osdmap.erasure_code_profiles[name] = {"k": str(rng.randrange(2, 5)), "m": "1"}
    else:
        osdmap.full_ratio = rng.choice([0.9, 0.95, 0.97])
        osdmap.require_osd_release = rng.choice(["", "pacific", "quincy"])
        if rng.random() < 0.3:
            osdmap.set_max_osd(max(osdmap.max_osd - 1, 0))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 40))
def test_apply_of_diff_makes_the_next_map(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    old = _first_map()
    for _ in range(steps):
        new = copy.deepcopy(old)
        for _ in range(rng.randrange(1, 4)):
            _mutate(new, rng)
        new.epoch = old.epoch + 1
        new.modified = f"m{new.epoch}"
        before = encode_osdmap(old, {})
        inc = incremental.decode(incremental.encode(incremental.diff(old, new)))
        made = incremental.apply(old, inc)
        assert encode_osdmap(made, {}) == encode_osdmap(new, {})
        assert made.crush == new.crush
        assert encode_osdmap(old, {}) == before  # the old map is left as it was
        old = made


def test_an_unchanged_map_makes_an_empty_incremental() -> None:
    old = _first_map()
    new = copy.deepcopy(old)
    new.epoch, new.modified = 2, "later"
    inc = incremental.diff(old, new)
    assert inc == Incremental(epoch=2, fsid=FSID, modified="later")
    assert len(incremental.encode(inc)) < 100


def test_a_gap_or_another_cluster_is_refused() -> None:
    old = _first_map()
    with pytest.raises(IncrementalError, match="does not follow epoch 1"):
        incremental.apply(old, Incremental(epoch=3, fsid=FSID, modified=""))
    with pytest.raises(IncrementalError):
        incremental.apply(old, Incremental(epoch=2, fsid="other", modified=""))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x81\xa5epoch\x02",
        b"garbage",
        incremental.encode(Incremental(2, FSID, "", crush=b"x")),
    ],
)
def test_malformed_incrementals_are_refused(data: bytes) -> None:
    with pytest.raises(IncrementalError):
        incremental.apply(_first_map(), incremental.decode(data))
