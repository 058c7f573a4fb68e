"""Lifecycle decisions: ages counted as RGW counts them (whole days to today's
midnight, or debug-interval "days" from now), filters, current-version expiry,
noncurrent expiry from the successor's mtime with NewerNoncurrentVersions kept,
expired delete markers, and aborting old uploads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.s3 import lifecycle
from radospy.rgw.s3.lifecycle import DAY, Clock, Expire, Remove, Version, plan
from radospy.rgw.s3.xml import LifecycleRule

MIDNIGHT = 1_795_824_000.0  # 2026-11-28T00:00:00Z


def rule(**kwargs: object) -> LifecycleRule:
    return LifecycleRule("Enabled", "r", **kwargs)  # type: ignore[arg-type]


def test_days_count_to_todays_midnight() -> None:
    written = MIDNIGHT - DAY + 3600  # yesterday 01:00
    assert Clock(MIDNIGHT + 10).aged(written, 1) is False
    assert Clock(MIDNIGHT + DAY + 10).aged(written, 1) is True
    assert Clock(written + 5, debug_interval=2).aged(written, 2) is True
    assert Clock(written + 3, debug_interval=2).aged(written, 2) is False


@given(st.floats(0, 10 * DAY), st.floats(0, 10 * DAY), st.integers(1, 5))
def test_age_only_grows(written_offset: float, wait: float, days: int) -> None:
    written = MIDNIGHT + written_offset
    now = written + wait
    for debug in (-1, 3):
        if Clock(now, debug).aged(written, days):
            assert Clock(now + DAY, debug).aged(written, days)
            assert not Clock(now, debug).aged(written, days + 10**6)


def test_current_expiry_and_filters() -> None:
    clock = Clock(MIDNIGHT + 10 * DAY)
    old = Version("logs/a", "", MIDNIGHT, 10, tags=(("t", "1"),))
    assert plan([rule(prefix="logs/", expiration_days=3)], [old], clock,
                versioned=False) == [Expire("logs/a", "")]
    assert plan([rule(prefix="tmp/", expiration_days=3)], [old], clock, versioned=False) == []
    assert plan([rule(expiration_days=30)], [old], clock, versioned=False) == []
    assert plan([rule(tags=[("t", "1")], expiration_days=1)], [old], clock,
                versioned=False) == [Expire("logs/a", "")]
    assert plan([rule(tags=[("t", "2")], expiration_days=1)], [old], clock,
                versioned=False) == []
    assert plan([rule(object_size_greater_than=10, expiration_days=1)], [old], clock,
                versioned=False) == []
    assert plan([rule(expiration_date=MIDNIGHT + DAY)], [old], clock,
                versioned=False) == [Expire("logs/a", "")]
    off = LifecycleRule("Disabled", "r", expiration_days=1)
    assert plan([off], [old], clock, versioned=False) == []


def test_noncurrent_versions_and_markers() -> None:
    clock = Clock(MIDNIGHT + 100, debug_interval=10)
    marker = Version("k", "m", MIDNIGHT + 95, 0, delete_marker=True)
    newer = Version("k", "v2", MIDNIGHT + 50, 1)
    older = Version("k", "v1", MIDNIGHT, 1)
    history = [marker, newer, older]
    # v2 stopped being current 5 s ago (< 1 day of 10 s); v1 50 s ago.
    assert plan([rule(noncurrent_days=1)], history, clock, versioned=True) == [
        Remove("k", "v1")]
    assert plan([rule(noncurrent_days=1, newer_noncurrent_versions=1)],
                [Version("k", "v3", MIDNIGHT + 90, 1), newer, older], clock,
                versioned=True) == [Remove("k", "v1")]
    assert plan([rule(noncurrent_days=1, newer_noncurrent_versions=2)],
                [Version("k", "v3", MIDNIGHT + 90, 1), newer, older], clock,
                versioned=True) == []
    # A marker goes once no noncurrent version is left (or all are going now).
    assert plan([rule(expired_object_delete_marker=True)], history, clock,
                versioned=True) == []
    assert plan([rule(expired_object_delete_marker=True)], [marker], clock,
                versioned=True) == [Remove("k", "m")]
    late = Clock(MIDNIGHT + 200, debug_interval=10)
    assert plan([rule(noncurrent_days=1, expired_object_delete_marker=True)], history, late,
                versioned=True) == [Remove("k", "v2"), Remove("k", "v1"), Remove("k", "m")]
    # Expiring the current version of a versioned key (the worker adds a marker).
    assert plan([rule(expiration_days=1)], [newer, older], late, versioned=True) == [
        Expire("k", "v2")]


def test_abort_incomplete_uploads() -> None:
    rules = [rule(prefix="big/", abort_incomplete_days=2)]
    assert lifecycle.abort_due(rules, "big/x", MIDNIGHT, Clock(MIDNIGHT + 3 * DAY))
    assert not lifecycle.abort_due(rules, "big/x", MIDNIGHT, Clock(MIDNIGHT + DAY))
    assert not lifecycle.abort_due(rules, "small/x", MIDNIGHT, Clock(MIDNIGHT + 3 * DAY))
    assert lifecycle.needs_tags([rule(prefix="a", tags=[("k", "v")], expiration_days=1)], "ab")
    assert not lifecycle.needs_tags([rule(prefix="a", expiration_days=1)], "ab")
