"""Resharding a bucket's index online, as RGW's in-place reshard does: the entries are
copied into the shards of a new layout generation, the bucket's metadata is switched
to it, and the old shards are removed.

Writes are blocked, not journalled, while the entries are copied (RGW's choice too:
its index ops fail with ERR_BUSY_RESHARDING and the writer waits): every old shard is
first marked `resharding` with a guarded xattr write, an index update against a
marked shard fails its guard, and `BucketIndex` waits for the mark to go and writes
into the new layout. Object data is never blocked, only the index update that ends
a write. The marks are a lease the resharder renews after every page it copies: a
reshard whose tool died leaves marks that expire after `RESHARD_LEASE`, and the next
writer lifts them (as RGW's writers clear a reshard whose lock they can take);
`reshard cancel` removes them at once.

Queued reshards (`reshard add`, and a running `bucket reshard`) are entries of the
omap of `reshard.0000000000` in the log pool, namespace `reshard`, as RGW's reshard
log.
"""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable

import msgspec

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.common.errors import RadosError
from radospy.rgw.s3 import versions
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.buckets import Buckets
from radospy.rgw.store.index import (
    PAGE,
    RESHARD_LEASE,
    STATE_XATTR,
    layout_oids,
    reshard_mark,
    resharding,
    shard_oids,
)
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import BucketInfo, decode, encode

RESHARD_LOG_OID = "reshard.0000000000"
MAX_SHARDS = names.RGW_SHARDS_PRIME_1


class ReshardError(RadosError):
    """A refused reshard; `str()` is radosgw-admin's message."""


class ReshardEntry(msgspec.Struct, frozen=True):
    """A queued or running reshard (`radosgw-admin reshard list`)."""

    time: float
    bucket_name: str
    bucket_id: str
    old_num_shards: int
    tentative_new_num_shards: int
    tenant: str = ""
    new_instance_id: str = ""


class Resharder:
    """Reshards bucket indexes and keeps the reshard log."""

    def __init__(self, buckets: Buckets, log: AsyncIoctx) -> None:
        self.buckets = buckets
        self.index_pool = buckets.pools.index
        self.log = log

    async def queue(self) -> list[ReshardEntry]:
        """Every queued or running reshard, by bucket name."""
        try:
            results = await run(self.log, RESHARD_LOG_OID, [o.OmapGetVals()], "reshard list")
        except ObjectNotFound:
            return []
        vals = results[0]
        assert isinstance(vals, o.OmapVals)
        return [decode(v, ReshardEntry) for _, v in sorted(vals.entries.items())]

    async def add(self, info: BucketInfo, num_shards: int) -> ReshardEntry:
        """Queue a reshard of bucket `info` to `num_shards` shards."""
        check_shards(info, num_shards)
        entry = ReshardEntry(time.time(), info.bucket, info.marker, info.num_shards,
                             num_shards)
        await run(self.log, RESHARD_LOG_OID, [o.OmapSet(entries={info.bucket: encode(entry)})],
                  "reshard add")
        return entry

    async def _unqueue(self, bucket: str) -> None:
        with contextlib.suppress(ObjectNotFound):
            await run(self.log, RESHARD_LOG_OID, [o.OmapRmKeys(keys=[bucket])], "reshard rm")

    async def status(self, info: BucketInfo) -> list[dict[str, object]]:
        """Each shard's reshard status, as `radosgw-admin reshard status` prints it."""
        index = self.buckets.index(info)
        out: list[dict[str, object]] = []
        for oid in shard_oids(info):
            busy = resharding(await index.state(oid))
            out.append({"reshard_status": "in-progress" if busy else "not-resharding",
                        "new_bucket_instance_id": "", "num_shards": -1})
        return out

    async def reshard(self, info: BucketInfo, num_shards: int) -> BucketInfo:
        """Move bucket `info`'s index to `num_shards` shards, blocking index updates
        only while the entries are copied. The bucket's new metadata."""
        check_shards(info, num_shards)
        old = shard_oids(info)
        await self.add(info, num_shards)
        lease = _Lease(self.index_pool, old)
        try:
            await lease.take()
        except (Conflict, ObjectNotFound):
            await lease.release()
            await self._unqueue(info.bucket)
            raise ReshardError("ERROR: the bucket is being resharded or deleted",
                               errno.EBUSY) from None
        gen = info.index_gen + 1
        new = layout_oids(info.marker, num_shards, gen)
        try:
            for oid in new:
                # A cancelled earlier attempt may have left this generation's objects.
                await run(self.index_pool, oid, [o.Create(), o.OmapClear()], "reshard")
            for oid in old:
                await self._copy(oid, info.marker, num_shards, gen, lease)
            # Renewed just before the switch, so no writer lifts the marks meanwhile.
            await lease.renew()
        except (Conflict, ObjectNotFound):
            await lease.release()
            await self._unqueue(info.bucket)
            raise ReshardError("ERROR: the reshard's marks were lifted (its lease ran out)",
                               errno.ECANCELED) from None

        def switch(current: BucketInfo) -> BucketInfo:
            if current.index_gen != info.index_gen:
                raise ReshardError("ERROR: the bucket was resharded concurrently", errno.EBUSY)
            return msgspec.structs.replace(current, num_shards=num_shards, index_gen=gen)

        fresh = await self.buckets.update(info, switch)
        for oid in old:
            with contextlib.suppress(ObjectNotFound):
                await run(self.index_pool, oid, [o.Remove()], "reshard")
        await self._unqueue(info.bucket)
        return fresh

    async def _copy(self, oid: str, marker: str, num_shards: int, gen: int,
                    lease: _Lease) -> None:
        after = ""
        while True:
            results = await run(self.index_pool, oid,
                                [o.OmapGetVals(start_after=after, max_return=PAGE)], "reshard")
            vals = results[0]
            assert isinstance(vals, o.OmapVals)
            if not vals.entries:
                return
            batches: dict[str, dict[str, bytes]] = {}
            for name, value in vals.entries.items():
                # A version's entry goes where its key goes: every version of a key
                # stays in one shard, where `BucketIndex.latest` finds them together.
                shard = names.index_shard(versions.object_key(name), num_shards)
                batches.setdefault(names.index_oid(marker, shard, gen), {})[name] = value
            for target, entries in batches.items():
                await run(self.index_pool, target, [o.OmapSet(entries=entries)], "reshard")
            await lease.renew()
            if not vals.more and len(vals.entries) < PAGE:
                return
            after = max(vals.entries)

    async def _unmark(self, oids: list[str]) -> None:
        for oid in oids:
            with contextlib.suppress(ObjectNotFound):
                await run(self.index_pool, oid, [o.SetXattr(name=STATE_XATTR, value=b"")],
                          "reshard")

    async def cancel(self, info: BucketInfo) -> None:
        """Undo a reshard that did not finish: the new generation's objects go, the
        old shards take updates again."""
        for num in {e.tentative_new_num_shards for e in await self.queue()
                    if e.bucket_name == info.bucket}:
            for oid in layout_oids(info.marker, num, info.index_gen + 1):
                with contextlib.suppress(ObjectNotFound):
                    await run(self.index_pool, oid, [o.Remove()], "reshard cancel")
        await self._unmark(shard_oids(info))
        await self._unqueue(info.bucket)

    async def process(self) -> list[str]:
        """Run every queued reshard; the buckets resharded."""
        done = []
        for entry in await self.queue():
            try:
                info = await self.buckets.get(entry.bucket_name)
            except S3Error:
                await self._unqueue(entry.bucket_name)
                continue
            if info.num_shards != entry.tentative_new_num_shards:
                await self.reshard(info, entry.tentative_new_num_shards)
            else:
                await self._unqueue(entry.bucket_name)
            done.append(entry.bucket_name)
        return done


class _Lease:
    """A reshard's marks on the old shards: `rgw.state` = `resharding <lease end>`,
    renewed while the copy goes on. Every change is guarded on the mark this reshard
    wrote last, so one whose marks a writer lifted as expired finds out (Conflict)."""

    def __init__(self, pool: AsyncIoctx, oids: list[str]) -> None:
        self.pool = pool
        self.oids = oids
        self.marks: dict[str, bytes] = {}

    async def take(self) -> None:
        """Mark every shard (Conflict when one is marked already)."""
        await self._set(lambda oid: b"")

    async def renew(self) -> None:
        """Push the lease end out again (Conflict when a mark was lifted)."""
        await self._set(lambda oid: self.marks[oid])

    async def _set(self, expected: Callable[[str], bytes]) -> None:
        mark = reshard_mark(time.time() + RESHARD_LEASE)
        for oid in self.oids:
            await run(self.pool, oid,
                      [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=expected(oid)),
                       o.SetXattr(name=STATE_XATTR, value=mark)], "reshard")
            self.marks[oid] = mark

    async def release(self) -> None:
        """Lift the marks this reshard still holds."""
        for oid, mark in self.marks.items():
            with contextlib.suppress(Conflict, ObjectNotFound):
                await run(self.pool, oid,
                          [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=mark),
                           o.SetXattr(name=STATE_XATTR, value=b"")], "reshard")
        self.marks = {}


def check_shards(info: BucketInfo, num_shards: int) -> None:
    """ReshardError unless `num_shards` is a shard count bucket `info` can move to."""
    if not 1 <= num_shards <= MAX_SHARDS:
        raise ReshardError(f"ERROR: num_shards must be between 1 and {MAX_SHARDS}",
                           errno.EINVAL)
    if num_shards == info.num_shards:
        raise ReshardError("ERROR: the number of shards requested is the same as the "
                           "bucket's current number of shards", errno.EINVAL)
