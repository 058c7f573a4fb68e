"""Buckets as RGW keeps them: the entrypoint `<bucket>` (owner, instance marker) and
the instance `.bucket.meta.<bucket>:<marker>` in `default.rgw.meta` namespace `root`,
the index objects in `default.rgw.buckets.index`, and an entry in the owner's bucket
list.

Creation writes the instance and the index first and then takes the name with an
exclusive create of the entrypoint: of two gateways creating one name at once, one
wins and the other cleans up. Deletion marks every index shard as deleting (guarded:
an index update then fails), checks they are empty, and only then removes the
entrypoint; a non-empty bucket is unmarked again. Every change of an existing bucket
(update, deletion, relink) then rewrites the metadata stamp, so gateways drop what they
cached of it (`meta_cache`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import msgspec

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.index import DELETING, STATE_XATTR, BucketIndex, shard_oids
from radospy.rgw.store.meta_cache import MetaCache, MetaStamp
from radospy.rgw.store.rados_ops import Conflict, Pools, run
from radospy.rgw.store.records import BucketEntrypoint, BucketInfo, UserInfo, decode, encode
from radospy.rgw.store.users import Users

_UPDATE_ATTEMPTS = 20


class Buckets:
    """Bucket metadata and lifecycle."""

    def __init__(self, pools: Pools, users: Users, stamp: MetaStamp,
                 cache: MetaCache[BucketInfo], instance: int, num_shards: int = 0) -> None:
        self.pools = pools
        self.users = users
        self.stamp = stamp
        self._cache = cache
        self.instance = instance
        self.num_shards = num_shards

    async def entrypoint(self, bucket: str) -> BucketEntrypoint | None:
        """The entrypoint of `bucket`, or None."""
        data = await self._read(names.bucket_entrypoint_oid(bucket))
        return None if data is None else decode(data, BucketEntrypoint)

    async def get(self, bucket: str, stamp: bytes | None = None) -> BucketInfo:
        """The bucket's instance metadata; NoSuchBucket if there is no such bucket.
        With `stamp` (the metadata stamp read before this call) the metadata cached
        under that stamp is taken as it is, and the one read is cached; the caller must
        not change it."""
        if stamp is None:
            return await self._get(bucket)
        now = time.monotonic()
        info = self._cache.get(bucket, stamp, now)
        if info is None:
            info = await self._get(bucket)
            self._cache.put(bucket, stamp, info, now)
        return info

    async def _get(self, bucket: str) -> BucketInfo:
        entry = await self.entrypoint(bucket)
        data = None if entry is None else await self._read(
            names.bucket_instance_oid(bucket, entry.marker))
        if data is None:
            raise S3Error(code="NoSuchBucket", BucketName=bucket)
        return decode(data, BucketInfo)

    async def _read(self, oid: str) -> bytes | None:
        try:
            results = await run(self.pools.root, oid, [o.Read()], "read bucket")
        except ObjectNotFound:
            return None
        result = results[0]
        return result.data if isinstance(result, o.ReadData) else b""

    def index(self, info: BucketInfo) -> BucketIndex:
        """The index of bucket `info`."""
        return BucketIndex(self.pools.index, info, lambda: self.get(info.bucket))

    async def create(self, bucket: str, owner: UserInfo, location: str = "",
                     acl: str = "private", *, object_lock: bool = False) -> BucketInfo:
        """A new bucket owned by `owner` (with object lock, versioned from the start).
        BucketAlreadyOwnedByYou / BucketAlreadyExists when the name is taken,
        TooManyBuckets past the owner's max_buckets."""
        await self._check_free(bucket, owner.user_id)
        if len(await self.users.bucket_names(owner.user_id)) >= owner.max_buckets:
            raise S3Error(code="TooManyBuckets")
        now = time.time()
        marker = names.new_marker(self.instance)
        info = BucketInfo(bucket, marker, owner.user_id, now, self.num_shards, location=location,
                          acl=acl, object_lock=object_lock,
                          versioning="Enabled" if object_lock else "")
        instance_oid = names.bucket_instance_oid(bucket, marker)
        await run(self.pools.root, instance_oid,
                  [o.Create(exclusive=True), o.WriteFull(data=encode(info))], "create bucket")
        index = self.index(info)
        await index.create()
        entry = BucketEntrypoint(bucket, owner.user_id, marker, now)
        try:
            await run(self.pools.root, names.bucket_entrypoint_oid(bucket),
                      [o.Create(exclusive=True), o.WriteFull(data=encode(entry))],
                      "create bucket")
        except Conflict:
            await self._discard(info)
            await self._check_free(bucket, owner.user_id)
            raise S3Error(code="BucketAlreadyExists", BucketName=bucket) from None
        await self.users.link_bucket(owner.user_id, bucket, now)
        return info

    async def _check_free(self, bucket: str, uid: str) -> None:
        existing = await self.entrypoint(bucket)
        if existing is None:
            return
        if existing.owner == uid:
            raise S3Error(code="BucketAlreadyOwnedByYou", BucketName=bucket)
        raise S3Error(code="BucketAlreadyExists", BucketName=bucket)

    async def _discard(self, info: BucketInfo) -> None:
        """Remove an instance and its index objects (a lost creation race, a deletion)."""
        for oid in shard_oids(info):
            await _remove(self.pools.index, oid)
        await _remove(self.pools.root, names.bucket_instance_oid(info.bucket, info.marker))

    async def delete(self, info: BucketInfo) -> None:
        """Delete an empty bucket; BucketNotEmpty while it holds objects."""
        index = self.index(info)
        marked: list[str] = []
        try:
            for oid in shard_oids(info):
                await run(self.pools.index, oid,
                          [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=b""),
                           o.SetXattr(name=STATE_XATTR, value=DELETING)], "delete bucket")
                marked.append(oid)
            empty = await index.is_empty()
        except (Conflict, ObjectNotFound):
            await self._unmark(marked)
            raise S3Error(code="NoSuchBucket", BucketName=info.bucket) from None
        if not empty:
            await self._unmark(marked)
            raise S3Error(code="BucketNotEmpty", BucketName=info.bucket)
        await _remove(self.pools.root, names.bucket_entrypoint_oid(info.bucket))
        await self.users.unlink_bucket(info.owner, info.bucket)
        await self.stamp.bump()
        await self._discard(info)
        await _remove(self.pools.non_ec, names.uploads_oid(info.marker))

    async def _unmark(self, oids: list[str]) -> None:
        for oid in oids:
            await run(self.pools.index, oid, [o.SetXattr(name=STATE_XATTR, value=b"")],
                      "delete bucket")

    async def update(self, info: BucketInfo, change: Callable[[BucketInfo], BucketInfo]
                     ) -> BucketInfo:
        """Rewrite bucket `info`'s instance metadata with `change` applied, only if no
        one changed it meanwhile (cmpext guard; retried with what they wrote)."""
        oid = names.bucket_instance_oid(info.bucket, info.marker)
        for _ in range(_UPDATE_ATTEMPTS):
            raw = await self._read(oid)
            if raw is None:
                raise S3Error(code="NoSuchBucket", BucketName=info.bucket)
            new = change(decode(raw, BucketInfo))
            try:
                await run(self.pools.root, oid,
                          [o.CmpExt(offset=0, data=raw), o.WriteFull(data=encode(new))],
                          "update bucket")
            except Conflict:
                continue
            await self.stamp.bump()
            return new
        raise S3Error(code="OperationAborted")

    async def list_all(self) -> list[str]:
        """Every bucket name, sorted."""
        entries = await self.pools.root.list_objects()
        return sorted(e.name for e in entries if not e.name.startswith(".bucket.meta."))

    async def relink(self, info: BucketInfo, new_owner: str) -> BucketInfo:
        """Give bucket `info` to user `new_owner` (radosgw-admin bucket link)."""
        new = msgspec.structs.replace(info, owner=new_owner)
        await run(self.pools.root, names.bucket_instance_oid(info.bucket, info.marker),
                  [o.WriteFull(data=encode(new))], "link bucket")
        entry = BucketEntrypoint(info.bucket, new_owner, info.marker, info.creation_time)
        await run(self.pools.root, names.bucket_entrypoint_oid(info.bucket),
                  [o.WriteFull(data=encode(entry))], "link bucket")
        await self.users.unlink_bucket(info.owner, info.bucket)
        await self.users.link_bucket(new_owner, info.bucket, info.creation_time)
        await self.stamp.bump()
        return new


async def _remove(ioctx: AsyncIoctx, oid: str) -> None:
    with contextlib.suppress(ObjectNotFound):
        await run(ioctx, oid, [o.Remove()], "remove")
