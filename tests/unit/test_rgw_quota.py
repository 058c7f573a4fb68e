"""Quota accounting and limits as RGW applies them, and radosgw-admin's size syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.quota import Usage, bucket_quota, exceeded, parse_size, quota_json, rounded
from radospy.rgw.store.records import QuotaInfo


def test_sizes_round_to_4k_per_object() -> None:
    assert [rounded(n) for n in (0, 1, 4096, 4097)] == [0, 4096, 4096, 8192]
    usage = Usage.of_object(1) + Usage.of_object(5000)
    assert usage == Usage(2, 5001, 12288)
    assert usage - Usage.of_object(1) == Usage.of_object(5000)
    stats = usage.stats_json()
    assert stats["size_kb"] == 5 and stats["size_kb_actual"] == 12 and stats["num_objects"] == 2


def test_limits() -> None:
    off = QuotaInfo(enabled=False, max_objects=0, max_size=0)
    assert not exceeded(off, Usage(10, 10, 10), 10)
    objects = QuotaInfo(enabled=True, max_objects=2)
    assert not exceeded(objects, Usage(1, 0, 0), 0)
    assert exceeded(objects, Usage(2, 0, 0), 0)  # an overwrite counts too, as RGW's
    size = QuotaInfo(enabled=True, max_size=8192)
    assert not exceeded(size, Usage.of_object(10), 4000)
    assert exceeded(size, Usage.of_object(10), 4097)
    raw = QuotaInfo(enabled=True, max_size=8192, check_on_raw=True)
    assert not exceeded(raw, Usage.of_object(10), 8182)
    assert exceeded(raw, Usage.of_object(10), 8183)
    own = QuotaInfo(enabled=True, max_objects=5)
    default = QuotaInfo(enabled=True, max_objects=1)
    assert bucket_quota(own, default) is own
    assert bucket_quota(QuotaInfo(max_objects=5), default) is default


@given(st.integers(0, 100), st.integers(0, 1 << 40), st.integers(-1, 100),
       st.integers(-1, 1 << 41), st.integers(0, 1 << 33))
def test_never_exceeded_without_limits_and_monotonic(objects: int, size: int, max_objects: int,
                                                     max_size: int, add: int) -> None:
    usage = Usage(objects, size, rounded(size))
    assert not exceeded(QuotaInfo(enabled=True), usage, add)
    q = QuotaInfo(enabled=True, max_objects=max_objects, max_size=max_size)
    if exceeded(q, usage, add):
        assert exceeded(q, usage + Usage.of_object(1), add)
        assert exceeded(q, usage, add + 4096)


def test_parse_size() -> None:
    assert parse_size("1024") == 1024
    assert parse_size("4K") == 4096
    assert parse_size("10M") == 10 << 20
    assert parse_size("2GiB") == 2 << 30
    assert parse_size("1T") == 1 << 40
    assert parse_size("-1") == -1
    for bad in ("", "ten", "5X", "-5", "1.5G"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_quota_json() -> None:
    assert quota_json(QuotaInfo()) == {"enabled": False, "check_on_raw": False,
                                       "max_size": -1, "max_size_kb": 0, "max_objects": -1}
    assert quota_json(QuotaInfo(enabled=True, max_size=1500))["max_size_kb"] == 2
