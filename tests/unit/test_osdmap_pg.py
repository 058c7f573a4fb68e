"""PG ids and ceph_stable_mod: the folding of a hash into pg_num."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.common.errors import InvalidArgument
from radospy.osdmap.pg import PgId, ceph_stable_mod, pg_num_mask

hashes = st.integers(min_value=0, max_value=0xFFFFFFFF)
pg_nums = st.integers(min_value=1, max_value=1 << 16)


def test_masks_match_calc_pg_masks() -> None:
    assert [pg_num_mask(n) for n in (1, 2, 3, 4, 5, 8, 12, 16, 100)] == [
        0,
        1,
        3,
        3,
        7,
        7,
        15,
        15,
        127,
    ]


def test_pgid_format_and_parse() -> None:
    assert str(PgId(1, 0x1A)) == "1.1a"
    assert PgId.parse("1.1a") == PgId(1, 26)
    assert PgId.parse("12.0") == PgId(12, 0)
    assert PgId.parse(str(PgId(3, 0xFFFFFFFF))) == PgId(3, 0xFFFFFFFF)


@pytest.mark.parametrize("bad", ["", "1", "1.", ".1", "1.g", "a.1", "1.2.3", "1.100000000"])
def test_pgid_parse_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        PgId.parse(bad)


def test_pgids_sort_by_pool_then_seed() -> None:
    assert sorted([PgId(2, 0), PgId(1, 5), PgId(1, 2)]) == [PgId(1, 2), PgId(1, 5), PgId(2, 0)]


@given(hashes, pg_nums)
def test_stable_mod_is_below_b(x: int, b: int) -> None:
    assert 0 <= ceph_stable_mod(x, b, pg_num_mask(b)) < b


@given(hashes, pg_nums)
def test_stable_mod_is_deterministic_and_exact_for_powers_of_two(x: int, b: int) -> None:
    mask = pg_num_mask(b)
    assert ceph_stable_mod(x, b, mask) == ceph_stable_mod(x, b, mask)
    power = mask + 1
    assert ceph_stable_mod(x, power, mask) == x % power


@given(hashes, pg_nums, st.integers(min_value=1, max_value=1 << 10))
def test_growing_pg_num_only_splits(x: int, old: int, growth: int) -> None:
    # An object either stays in its PG or moves to one of that PG's split children.
    new = old + growth
    before = ceph_stable_mod(x, old, pg_num_mask(old))
    after = ceph_stable_mod(x, new, pg_num_mask(new))
    if after != before:
        assert after >= old
        assert PgId(1, after) in PgId(1, before).split_children(old, new)


def test_split_children_of_a_power_of_two() -> None:
    assert PgId(1, 3).split_children(8, 16) == [PgId(1, 11)]
    assert PgId(1, 3).split_children(8, 8) == []
    assert PgId(1, 1).split_children(4, 6) == [PgId(1, 5)]
    assert PgId(1, 2).split_children(4, 6) == []
