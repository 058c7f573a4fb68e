"""Quotas (pure): usage as RGW accounts it, the limit a write must stay under, and
radosgw-admin's size arguments and quota documents.

As RGW: a write is refused (QuotaExceeded) when the usage plus one object and its
size would pass `max_objects` or `max_size`, whether it adds a key or overwrites one;
sizes count rounded up to 4 KiB per object unless `check_on_raw`. A bucket's own
quota applies when enabled, else its owner's bucket quota; the owner's user quota
applies to the sum over all its buckets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radospy.rgw.store.records import QuotaInfo

ROUND = 4096
"""RGW rounds each object's size up to this for `size_actual` (rgw_rounded_objsize)."""


def rounded(size: int) -> int:
    """An object's size as quota accounting counts it."""
    return -(-size // ROUND) * ROUND


@dataclass(frozen=True)
class Usage:
    """What a bucket or a user stores."""

    objects: int = 0
    size: int = 0
    size_rounded: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.objects + other.objects, self.size + other.size,
                     self.size_rounded + other.size_rounded)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.objects - other.objects, self.size - other.size,
                     self.size_rounded - other.size_rounded)

    @staticmethod
    def of_object(size: int) -> Usage:
        """The usage of one object of `size` bytes."""
        return Usage(1, size, rounded(size))

    def stats_json(self) -> dict[str, int]:
        """radosgw-admin's `usage`/`stats` numbers (`size_kb` rounded up)."""
        return {
            "size": self.size, "size_actual": self.size_rounded,
            "size_utilized": self.size,
            "size_kb": -(-self.size // 1024), "size_kb_actual": self.size_rounded // 1024,
            "size_kb_utilized": -(-self.size // 1024),
            "num_objects": self.objects,
        }


def exceeded(quota: QuotaInfo, usage: Usage, size: int) -> bool:
    """Whether writing one more object of `size` bytes passes `quota` (never when it
    is disabled)."""
    if not quota.enabled:
        return False
    if 0 <= quota.max_objects < usage.objects + 1:
        return True
    if quota.max_size < 0:
        return False
    if quota.check_on_raw:
        return usage.size + size > quota.max_size
    return usage.size_rounded + rounded(size) > quota.max_size


def bucket_quota(bucket: QuotaInfo, owner_default: QuotaInfo) -> QuotaInfo:
    """The quota a bucket is held to: its own when enabled, else its owner's."""
    return bucket if bucket.enabled else owner_default


_SIZE = re.compile(r"(-?\d+)\s*([KMGTPE]?)(i?B?)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A byte count as radosgw-admin's `--max-size` takes it: digits with an optional
    K/M/G/T/P/E suffix (powers of 1024, `KiB`/`KB`/`K` alike); -1 means no limit.
    ValueError with Ceph's message when it is not one."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"failed to parse '{text}'")
    value = int(match.group(1))
    if value < -1:
        raise ValueError(f"failed to parse '{text}'")
    if value == -1:
        return -1
    return value << (10 * " KMGTPE".index(match.group(2).upper() or " "))


def quota_json(quota: QuotaInfo) -> dict[str, object]:
    """A quota as `radosgw-admin user info` / `bucket stats` print it."""
    return {
        "enabled": quota.enabled,
        "check_on_raw": quota.check_on_raw,
        "max_size": quota.max_size,
        "max_size_kb": -(-quota.max_size // 1024) if quota.max_size >= 0 else 0,
        "max_objects": quota.max_objects,
    }
