"""What a bucket's lifecycle rules do to a key's versions and to incomplete uploads
(pure): the decisions of RGW's lifecycle worker, which the gateway's background
worker and `radosgw-admin lc process` carry out.

Time is measured as RGW measures it: an object is `days` old when the time from its
mtime to the start of today (UTC midnight) is at least `days` days, so everything
written on one day expires together. With `rgw_lc_debug_interval` > 0 a "day" lasts
that many seconds and the age is counted from now, which lets tests see expiry in
seconds. A noncurrent version's age counts from when it stopped being current, the
mtime of the version that replaced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from radospy.rgw.s3.xml import LifecycleRule

DAY = 86400


@dataclass(frozen=True)
class Clock:
    """Now, and how long a lifecycle day is (`rgw_lc_debug_interval`, or <= 0 for
    real days)."""

    now: float
    debug_interval: int = -1

    def aged(self, since: float, days: int) -> bool:
        """Whether `days` days have passed since `since`."""
        if self.debug_interval > 0:
            return self.now - since >= days * self.debug_interval
        return (self.now - self.now % DAY) - since >= days * DAY


@dataclass(frozen=True)
class Version:
    """One version of a key as the worker sees it (newest first in a key's list)."""

    key: str
    version_id: str
    """"" for the null version."""
    mtime: float
    size: int
    delete_marker: bool = False
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Expire:
    """Expire the current version of `key`: removed in a bucket that never had
    versioning, else hidden behind a new delete marker. `version_id` is the version
    decided on, which must still be current when the worker acts."""

    key: str
    version_id: str


@dataclass(frozen=True)
class Remove:
    """Remove version `version_id` of `key` for good (a noncurrent version, or an
    expired delete marker)."""

    key: str
    version_id: str


Action = Expire | Remove


def enabled(rules: Sequence[LifecycleRule]) -> list[LifecycleRule]:
    """The rules that are on."""
    return [r for r in rules if r.status == "Enabled"]


def needs_tags(rules: Sequence[LifecycleRule], key: str) -> bool:
    """Whether deciding about `key` needs its versions' tags."""
    return any(r.tags and key.startswith(r.prefix) for r in enabled(rules))


def _matches(rule: LifecycleRule, version: Version) -> bool:
    if not version.key.startswith(rule.prefix):
        return False
    if version.delete_marker:
        return not rule.tags
    if rule.tags and not set(rule.tags) <= set(version.tags):
        return False
    if rule.object_size_greater_than is not None and \
            not version.size > rule.object_size_greater_than:
        return False
    return rule.object_size_less_than is None or version.size < rule.object_size_less_than


def _current_expired(rule: LifecycleRule, version: Version, clock: Clock) -> bool:
    if rule.expiration_days is not None:
        return clock.aged(version.mtime, rule.expiration_days)
    return rule.expiration_date is not None and clock.now >= rule.expiration_date


def plan(rules: Sequence[LifecycleRule], versions: Sequence[Version], clock: Clock,
         *, versioned: bool) -> list[Action]:
    """What the rules do to one key whose versions are `versions`, newest first.
    `versioned`: the bucket has (had) versioning, so expiry adds a delete marker."""
    if not versions:
        return []
    on = enabled(rules)
    actions: list[Action] = []
    latest, older = versions[0], versions[1:]
    removed_older = 0
    for n, version in enumerate(older):
        successor = versions[n]
        rank = n
        for rule in on:
            if rule.noncurrent_days is None or not _matches(rule, version):
                continue
            keep = rule.newer_noncurrent_versions or 0
            if rank >= keep and clock.aged(successor.mtime, rule.noncurrent_days):
                actions.append(Remove(version.key, version.version_id))
                removed_older += 1
                break
    if latest.delete_marker:
        if versioned and removed_older == len(older) and any(
                rule.expired_object_delete_marker and _matches(rule, latest) for rule in on):
            actions.append(Remove(latest.key, latest.version_id))
        return actions
    if any(_current_expired(rule, latest, clock) and _matches(rule, latest) for rule in on):
        actions.append(Expire(latest.key, latest.version_id))
    return actions


def abort_due(rules: Sequence[LifecycleRule], key: str, initiated: float,
              clock: Clock) -> bool:
    """Whether an upload of `key` begun at `initiated` is to be aborted."""
    return any(rule.abort_incomplete_days is not None and key.startswith(rule.prefix)
               and clock.aged(initiated, rule.abort_incomplete_days) for rule in enabled(rules))
