"""Which buckets have lifecycle rules, and who processes them, as RGW keeps it: the
omap of `lc.<n>` (n < 32, Ceph's rgw_lc_max_objs) in `default.rgw.log` namespace `lc`
holds one entry `:<bucket>:<marker>` per bucket with a lifecycle configuration (its
last run's start and status). A worker processes a shard only while it holds the
shard's lock: an xattr naming the holder and when the lock expires, taken and
released by compare-and-set (RGW takes a cls_lock with the same expiry), so of any
number of gateways one at a time acts on a bucket, and a holder that died is
replaced once its lock expires.
"""

from __future__ import annotations

import contextlib
import time

import msgspec
import xxhash

from radospy.client.rados import AsyncIoctx, NoData, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import BucketInfo, decode, encode

SHARDS = 32
"""Ceph's rgw_lc_max_objs."""
LOCK_XATTR = "lc_process"
UNINITIAL, PROCESSING, FAILED, COMPLETE = "UNINITIAL", "PROCESSING", "FAILED", "COMPLETE"


class LcEntry(msgspec.Struct, frozen=True):
    """A bucket's entry in its lc shard."""

    bucket: str
    marker: str
    started: float = 0.0
    status: str = UNINITIAL


def shard_oid(shard: int) -> str:
    """The name of lc shard `shard`."""
    return f"lc.{shard}"


def shard_of(bucket: str) -> int:
    """The lc shard that lists `bucket`."""
    return xxhash.xxh32_intdigest(bucket.encode()) % SHARDS


def entry_key(bucket: str, marker: str) -> str:
    """An lc entry's omap key, `<tenant>:<bucket>:<marker>` (no tenants here)."""
    return f":{bucket}:{marker}"


class LcShards:
    """The lc shards in the log pool (namespace `lc`)."""

    def __init__(self, ioctx: AsyncIoctx) -> None:
        self.ioctx = ioctx

    async def add(self, info: BucketInfo) -> None:
        """List bucket `info` for lifecycle processing (kept as it is when listed)."""
        key = entry_key(info.bucket, info.marker)
        value = encode(LcEntry(info.bucket, info.marker))
        oid = shard_oid(shard_of(info.bucket))
        with contextlib.suppress(Conflict):
            # The compare fails when the entry exists: its run status stays.
            await run(self.ioctx, oid, [o.Create(), o.OmapCmp(key=key, value=b"", op=o.CmpOp.EQ),
                                        o.OmapSet(entries={key: value})], "lc add")

    async def remove(self, bucket: str, marker: str) -> None:
        """Stop processing a bucket (its configuration was deleted, or the bucket)."""
        with contextlib.suppress(ObjectNotFound):
            await run(self.ioctx, shard_oid(shard_of(bucket)),
                      [o.OmapRmKeys(keys=[entry_key(bucket, marker)])], "lc remove")

    async def entries(self, shard: int) -> list[LcEntry]:
        """The buckets listed in one shard."""
        try:
            results = await run(self.ioctx, shard_oid(shard), [o.OmapGetVals()], "lc list")
        except ObjectNotFound:
            return []
        vals = results[0]
        assert isinstance(vals, o.OmapVals)
        return [decode(v, LcEntry) for _, v in sorted(vals.entries.items())]

    async def set_status(self, entry: LcEntry, started: float, status: str) -> None:
        """Record a run's start and outcome (only while the bucket is still listed)."""
        key = entry_key(entry.bucket, entry.marker)
        new = LcEntry(entry.bucket, entry.marker, started, status)
        with contextlib.suppress(Conflict, ObjectNotFound):
            await run(self.ioctx, shard_oid(shard_of(entry.bucket)),
                      [o.OmapCmp(key=key, value=b"", op=o.CmpOp.GT),
                       o.OmapSet(entries={key: encode(new)})], "lc status")

    async def lock(self, shard: int, owner: str, duration: float) -> bool:
        """Take shard `shard`'s lock for `duration` seconds unless another holds it
        unexpired; whether it is now `owner`'s."""
        oid = shard_oid(shard)
        try:
            current = await self.ioctx.get_xattr(oid, LOCK_XATTR)
        except (ObjectNotFound, NoData):
            current = b""
        holder, _, expires = current.decode().partition(" ")
        if current and holder != owner and float(expires or 0) > time.time():
            return False
        mine = f"{owner} {time.time() + duration:.3f}".encode()
        try:
            await run(self.ioctx, oid, [o.Create(), o.CmpXattr(name=LOCK_XATTR, op=o.CmpOp.EQ,
                                                               value=current),
                                        o.SetXattr(name=LOCK_XATTR, value=mine)], "lc lock")
        except Conflict:
            return False
        return True

    async def unlock(self, shard: int, owner: str) -> None:
        """Release shard `shard`'s lock if `owner` still holds it."""
        oid = shard_oid(shard)
        try:
            current = await self.ioctx.get_xattr(oid, LOCK_XATTR)
        except (ObjectNotFound, NoData):
            return
        if current.decode().partition(" ")[0] != owner:
            return
        with contextlib.suppress(Conflict, ObjectNotFound):
            await run(self.ioctx, oid, [o.CmpXattr(name=LOCK_XATTR, op=o.CmpOp.EQ, value=current),
                                        o.SetXattr(name=LOCK_XATTR, value=b"")], "lc unlock")
