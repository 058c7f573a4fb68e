"""The OSD's superblock epoch and the PGs it follows through every map."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.osd.daemon import mapped_pgs, placements
from radospy.osd.superblock import decode_newest_map, encode_newest_map
from radospy.osdmap.pg import PgId

from .mon_helpers import with_osds


@given(st.integers(0, 2**64 - 1))
def test_the_newest_map_epoch_reads_back(epoch: int) -> None:
    assert decode_newest_map(encode_newest_map(epoch)) == epoch


def test_no_or_unreadable_superblock_means_no_map_taken_in() -> None:
    assert decode_newest_map(None) == 0
    assert decode_newest_map(b"") == 0
    assert decode_newest_map(b"\x01\x02\x03") == 0


def test_held_pgs_not_mapped_here_are_strays_and_deleted_pools_are_not() -> None:
    mon = with_osds(6)
    mon.ok("osd pool create p 16")
    osdmap = mon.state.osdmap
    pool = osdmap.pool_by_name("p").id
    mine = mapped_pgs(osdmap, 0)
    others = [PgId(pool, s) for s in range(16) if PgId(pool, s) not in mine]
    assert mine and others
    held = {*mine, others[0], PgId(pool + 7, 0), PgId(pool, 99)}
    placed = placements(osdmap, 0, held)
    assert placed.mapped == mine
    assert set(placed.strays) == {others[0]}
    assert 0 not in placed.strays[others[0]].acting
