"""The lifecycle worker: walks the lc shards, and for each bucket listed in a shard
whose lock it holds, applies the bucket's rules (`radospy.rgw.s3.lifecycle` decides)
to every key's versions and to incomplete multipart uploads. Runs in each gateway
every `rgw_lc_debug_interval` seconds when that is set, else hourly (a decision
depends only on the objects' ages, so running more often than RGW's once a day
changes nothing), and once on demand for `radosgw-admin lc process`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator

from radospy.common.errors import RadosError
from radospy.rgw import versioned
from radospy.rgw.s3 import lifecycle, versions
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import lc
from radospy.rgw.store.index import BucketIndex, entry_name, shard_oids
from radospy.rgw.store.records import BucketInfo, IndexEntry
from radospy.rgw.store.store import Store

log = logging.getLogger("radospy.rgw.lc")

IDLE_PERIOD = 3600.0
"""Seconds between runs without `rgw_lc_debug_interval`."""


class LifecycleWorker:
    """Applies lifecycle rules to the buckets of the shards it can lock."""

    def __init__(self, store: Store, *, debug_interval: int = -1,
                 lock_time: float = 90.0) -> None:
        self.store = store
        self.debug_interval = debug_interval
        self.lock_time = lock_time
        self.owner = f"{socket.gethostname()}.{os.getpid()}.{random.getrandbits(32):08x}"

    @property
    def period(self) -> float:
        """Seconds between two runs."""
        return float(self.debug_interval) if self.debug_interval > 0 else IDLE_PERIOD

    async def run(self, stopping: asyncio.Event) -> None:
        """Process every shard each period until `stopping` is set."""
        while not stopping.is_set():
            try:
                await self.process()
            except (RadosError, S3Error) as exc:
                log.warning("rgw lc: run failed: %s", exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.period)

    async def process(self, bucket: str | None = None) -> None:
        """One run over every shard (only `bucket`'s when given), skipping shards
        another worker holds."""
        shards = [lc.shard_of(bucket)] if bucket is not None else list(range(lc.SHARDS))
        random.shuffle(shards)
        for shard in shards:
            # Most shards list no bucket: those are neither locked nor created.
            if not await self.store.lc.entries(shard):
                continue
            if not await self.store.lc.lock(shard, self.owner, self.lock_time):
                continue
            try:
                for entry in await self.store.lc.entries(shard):
                    if bucket is None or entry.bucket == bucket:
                        await self._process_entry(entry)
            finally:
                await self.store.lc.unlock(shard, self.owner)

    async def _process_entry(self, entry: lc.LcEntry) -> None:
        try:
            info = await self.store.buckets.get(entry.bucket)
        except S3Error:
            info = None
        if info is None or info.marker != entry.marker or not info.lifecycle:
            await self.store.lc.remove(entry.bucket, entry.marker)
            return
        started = time.time()
        await self.store.lc.set_status(entry, started, lc.PROCESSING)
        status = lc.COMPLETE
        try:
            await self.process_bucket(info)
        except (RadosError, S3Error) as exc:
            log.warning("rgw lc: bucket %s: %s", info.bucket, exc)
            status = lc.FAILED
        await self.store.lc.set_status(entry, started, status)

    async def process_bucket(self, info: BucketInfo) -> None:
        """Apply bucket `info`'s lifecycle rules now."""
        rules = s3xml.parse_lifecycle(info.lifecycle.encode())
        clock = lifecycle.Clock(time.time(), self.debug_interval)
        index = self.store.buckets.index(info)
        for oid in shard_oids(info):
            async for group in _keys(index, oid):
                await self._apply(info, index, rules, clock, group)
        # Quota checks count again what the expirations left.
        self.store.usage.removed(info)
        for upload in await self.store.uploads.list(info):
            if lifecycle.abort_due(rules, upload.key, upload.initiated, clock):
                with contextlib.suppress(S3Error):
                    await self.store.uploads.claim(info, upload.key, upload.upload_id)
                    await self.store.uploads.finish(info, upload.key, upload.upload_id)

    async def _apply(self, info: BucketInfo, index: BucketIndex,
                     rules: list[s3xml.LifecycleRule], clock: lifecycle.Clock,
                     group: list[IndexEntry]) -> None:
        key = group[0].key
        tagged = lifecycle.needs_tags(rules, key)
        seen = []
        for entry in group:
            tags: tuple[tuple[str, str], ...] = ()
            if tagged and not entry.delete_marker:
                head = await self.store.objects.head(info, key, version_id=entry.version_id)
                tags = tuple(head.attrs.tags) if head is not None else ()
            seen.append(lifecycle.Version(key, entry.version_id, entry.mtime, entry.size,
                                          entry.delete_marker, tags))
        for action in lifecycle.plan(rules, seen, clock, versioned=bool(info.versioning)):
            if isinstance(action, lifecycle.Remove):
                # A version object lock protects stays (AccessDenied), as in RGW.
                with contextlib.suppress(S3Error):
                    await versioned.delete(self.store, info, key, action.version_id,
                                           info.owner)
                continue
            current = await index.latest(key) if info.versioning else await index.get(key)
            # Act only on what was decided about: a write since then is left alone.
            if current is not None and current.version_id == action.version_id and \
                    current.tag == group[0].tag and not current.delete_marker:
                await versioned.delete(self.store, info, key, None, info.owner)


async def _keys(index: BucketIndex, oid: str) -> AsyncIterator[list[IndexEntry]]:
    """The entries of one index object grouped per key, each group newest first."""
    group: list[IndexEntry] = []
    after = ""
    while True:
        entries, more = await index.page(oid, after)
        for entry in entries:
            if group and group[0].key != entry.key:
                yield versions.newest_first(group)
                group = []
            group.append(entry)
        if not more or not entries:
            break
        after = entry_name(entries[-1])
    if group:
        yield versions.newest_first(group)
