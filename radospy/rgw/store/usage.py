"""Bucket and user usage as one gateway's quota checks see it: counted from the bucket
indexes, trusted for `rgw_bucket_quota_ttl` seconds, with this gateway's own writes
added meanwhile (as RGW's quota cache keeps stats and applies its own updates). A
deletion drops the cached counts so the next check counts again."""

from __future__ import annotations

import time
from dataclasses import dataclass

from radospy.rgw.quota import Usage
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store.buckets import Buckets
from radospy.rgw.store.records import BucketInfo


@dataclass
class _Cached:
    usage: Usage
    read_at: float


class UsageCache:
    """Cached usage per bucket (by marker) and per user."""

    def __init__(self, buckets: Buckets, ttl: float) -> None:
        self.buckets = buckets
        self.ttl = ttl
        self._buckets: dict[str, _Cached] = {}
        self._users: dict[str, _Cached] = {}

    def _fresh(self, cached: _Cached | None) -> bool:
        return cached is not None and time.monotonic() - cached.read_at < self.ttl

    async def bucket(self, info: BucketInfo) -> Usage:
        """What bucket `info` stores."""
        cached = self._buckets.get(info.marker)
        if cached is None or not self._fresh(cached):
            cached = _Cached(await self.buckets.index(info).usage(), time.monotonic())
            self._buckets[info.marker] = cached
        return cached.usage

    async def user(self, uid: str) -> Usage:
        """What user `uid` stores over all its buckets."""
        cached = self._users.get(uid)
        if cached is None or not self._fresh(cached):
            total = Usage()
            for name in await self.buckets.users.bucket_names(uid):
                try:
                    info = await self.buckets.get(name)
                except S3Error:
                    continue  # deleted meanwhile: it stores nothing
                total += await self.buckets.index(info).usage()
            cached = _Cached(total, time.monotonic())
            self._users[uid] = cached
        return cached.usage

    def wrote(self, info: BucketInfo, delta: Usage) -> None:
        """Add a write this gateway made to the cached counts."""
        for cache, name in ((self._buckets, info.marker), (self._users, info.owner)):
            cached = cache.get(name)
            if cached is not None:
                cached.usage += delta

    def removed(self, info: BucketInfo) -> None:
        """Forget the counts a deletion in bucket `info` changed."""
        self._buckets.pop(info.marker, None)
        self._users.pop(info.owner, None)
