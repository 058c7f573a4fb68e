"""An OSD walking map epochs reuses the previous epoch's placement when the new map
changes nothing placement reads (`placement_unchanged`), and ends up with the same
PG sets and past intervals as placing every PG in every epoch."""

from __future__ import annotations

import copy
import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.osd.daemon import Placed, pg_view, placements
from radospy.osd.peering import PastIntervals
from radospy.osdmap.osdmap import MapFlag, OSDMap
from radospy.osdmap.pg import PgId
from radospy.osdmap.placement_inputs import placement_unchanged
from radospy.osdmap.pool import PoolFlag
from tests.unit.test_osdmap_incremental import _mutate

from .mon_helpers import with_osds


def _touch(osdmap: OSDMap, rng: random.Random) -> None:
    """One change of the kind most epochs make, which no placement reads."""
    existing = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
    pools = sorted(osdmap.pools)
    kind = rng.randrange(4)
    if kind == 0 and existing:
        info = osdmap.osds[rng.choice(existing)]
        info.up_thru = osdmap.epoch + 1
        info.public_addr = f"127.0.0.1:{rng.randrange(6800, 7300)}"
    elif kind == 1 and pools:
        pool = osdmap.pools[rng.choice(pools)]
        pool.flags ^= PoolFlag.FULL
        pool.quota_max_objects = rng.randrange(3)
    elif kind == 2 and pools:
        osdmap.pools[rng.choice(pools)].min_size = rng.randrange(1, 3)
    else:
        osdmap.flags ^= MapFlag.NOOUT


def _steer(osdmap: OSDMap, rng: random.Random) -> None:
    """One change of one placement input alone (`_mutate` changes some only together)."""
    existing = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
    pools = sorted(osdmap.pools)
    if not existing or not pools:
        return
    pg = PgId(rng.choice(pools), rng.randrange(8))
    a, b = rng.choice(existing), rng.choice(existing)
    kind = rng.randrange(6)
    if kind == 0:
        osdmap.osds[a].primary_affinity = rng.choice([0, 0x8000, 0x10000])
    elif kind == 1:
        pool = osdmap.pools[pg.pool]
        pool.pgp_num = rng.randrange(1, pool.pg_num + 1)
    elif kind == 2:
        osdmap.primary_temp[pg] = a
    elif kind == 3:
        osdmap.pg_temp[pg] = [a, b]
    elif kind == 4:
        osdmap.pg_upmap_items[pg] = [(a, b)]
    else:
        for table in (osdmap.primary_temp, osdmap.pg_temp, osdmap.pg_upmap_items):
            table.pop(pg, None)


def _walk(seed: int, steps: int) -> list[OSDMap]:
    """Maps of consecutive epochs, each made from the one before by random changes, a
    third of them of what placement does not read."""
    rng = random.Random(seed)
    mon = with_osds(6)
    mon.ok("osd pool create p 16")
    mon.ok("osd pool create q 8")
    maps = [mon.state.osdmap]
    for _ in range(steps):
        new = copy.deepcopy(maps[-1])
        for _ in range(rng.randrange(1, 3)):
            rng.choices([_touch, _steer, _mutate], [35, 25, 40])[0](new, rng)
        new.epoch += 1
        maps.append(new)
    return maps


def _all_pgs(osdmap: OSDMap) -> list[PgId]:
    return [PgId(p.id, s) for p in osdmap.pools.values() for s in range(p.pg_num)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 30))
def test_maps_alike_in_what_placement_reads_place_every_pg_alike(seed: int, steps: int) -> None:
    maps = _walk(seed, steps)
    for old, new in itertools.pairwise(maps):
        if placement_unchanged(old, new):
            for pgid in _all_pgs(new):
                assert new.pg_to_up_acting_osds(pgid) == old.pg_to_up_acting_osds(pgid)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 30), osd=st.integers(0, 3))
def test_reusing_placement_gives_the_intervals_of_placing_every_epoch(
    seed: int, steps: int, osd: int
) -> None:
    rng = random.Random(seed ^ 0x5EED)
    reused: Placed | None = None
    pasts: tuple[dict[PgId, PastIntervals], dict[PgId, PastIntervals]] = ({}, {})
    for osdmap in _walk(seed, steps):
        pgs = _all_pgs(osdmap)
        held = set(rng.sample(pgs, min(len(pgs), rng.randrange(6))))
        full = placements(osdmap, osd, held)
        reused = placements(osdmap, osd, held, reused)
        assert (reused.mapped, reused.strays) == (full.mapped, full.strays)
        for placed, past in zip((full, reused), pasts, strict=True):
            for pgid, mapping in (*placed.mapped.items(), *placed.strays.items()):
                past.setdefault(pgid, PastIntervals()).note(pg_view(osdmap, pgid, mapping))
    assert {p: v.intervals for p, v in pasts[0].items()} == {
        p: v.intervals for p, v in pasts[1].items()
    }


def test_an_epoch_that_changes_no_placement_input_reuses_the_placement() -> None:
    mon = with_osds(6)
    mon.ok("osd pool create p 16")
    before = mon.state.osdmap
    held = set(_all_pgs(before)[:3])
    placed = placements(before, 0, held)
    for line in ("osd set noout", "osd pool set p min_size 1", "osd set-full-ratio 0.9"):
        mon.ok(line)
        again = placements(mon.state.osdmap, 0, held, placed)
        assert again.mapped is placed.mapped and again.strays is placed.strays
        placed = again
    mon.ok("osd out 3")
    moved = placements(mon.state.osdmap, 0, held, placed)
    assert moved.mapped is not placed.mapped
    assert moved.mapped == placements(mon.state.osdmap, 0, held).mapped
    more = placements(mon.state.osdmap, 0, held | set(_all_pgs(before)[3:6]), moved)
    assert more.mapped is moved.mapped
    assert more.strays == placements(mon.state.osdmap, 0, set(more.held)).strays
