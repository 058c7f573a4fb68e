"""Pool fields, flags and the text `osdmaptool --print` shows for a pool."""

from __future__ import annotations

import pytest

from radospy.common.errors import InvalidArgument
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import (
    Pool,
    PoolFlag,
    PoolType,
    pool_flag_by_name,
    pool_flags_string,
)


def test_flag_names() -> None:
    assert pool_flags_string(PoolFlag.HASHPSPOOL | PoolFlag.CREATING) == "hashpspool,creating"
    assert pool_flags_string(PoolFlag.NODEEP_SCRUB | 1 << 40) == "nodeep-scrub,???"
    assert pool_flags_string(0) == ""
    assert pool_flag_by_name("nodelete") == PoolFlag.NODELETE
    with pytest.raises(InvalidArgument):
        pool_flag_by_name("bogus")


def test_describe_erasure_pool_with_targets_and_quotas() -> None:
    pool = Pool(
        id=2,
        name="ec",
        type=PoolType.ERASURE,
        size=6,
        min_size=5,
        crush_rule=1,
        pg_num=32,
        pgp_num=16,
        pgp_num_target=32,
        flags=PoolFlag.HASHPSPOOL | PoolFlag.EC_OVERWRITES,
        erasure_code_profile="k4m2",
        stripe_width=16384,
        quota_max_bytes=1 << 30,
        quota_max_objects=10,
        last_change=9,
        autoscale_mode="warn",
        application_metadata={"rgw": {}, "cephfs": {"data": "fs"}},
    )
    assert pool.describe() == (
        "erasure profile k4m2 size 6 min_size 5 crush_rule 1 object_hash rjenkins"
        " pg_num 32 pgp_num 16 pgp_num_target 32 autoscale_mode warn last_change 9"
        " flags hashpspool,ec_overwrites max_bytes 1073741824 max_objects 10"
        " stripe_width 16384 application cephfs,rgw"
    )
    assert Pool.from_dict(pool.to_dict()) == pool


def test_placement_seed_without_hashpspool_adds_the_pool_id() -> None:
    pool = Pool(id=5, name="legacy", pg_num=12, pgp_num=12, flags=0)
    # 0x1d & 15 = 13 is not below pgp_num 12, so it folds to 0x1d & 7 = 5; + pool id 5.
    assert pool.raw_pg_to_pps(PgId(5, 0x1D)) == 10
    assert pool.raw_pg_to_pg(PgId(5, 0x1D)) == PgId(5, 5)
    hashed = Pool(id=5, name="hashed", pg_num=12, pgp_num=12)
    assert hashed.raw_pg_to_pps(PgId(5, 0x1D)) == hashed.raw_pg_to_pps(PgId(5, 5))
