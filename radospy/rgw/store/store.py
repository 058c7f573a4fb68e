"""`Store`: the whole RGW storage layer on one connected `AsyncRados`."""

from __future__ import annotations

import os

from radospy.client.rados import AsyncRados
from radospy.rgw.store.buckets import Buckets
from radospy.rgw.store.gc import MIN_WAIT, GcLog
from radospy.rgw.store.lc import LcShards
from radospy.rgw.store.meta_cache import CAPACITY, EXPIRY, MetaCache, MetaStamp
from radospy.rgw.store.multipart import Uploads
from radospy.rgw.store.objects import Objects
from radospy.rgw.store.rados_ops import Pools
from radospy.rgw.store.usage import UsageCache
from radospy.rgw.store.users import Users

QUOTA_TTL = 600.0
"""Seconds cached usage is trusted (Ceph's rgw_bucket_quota_ttl)."""


class Store:
    """Users, buckets, objects and uploads over RGW's pools."""

    def __init__(self, rados: AsyncRados, *, num_shards: int = 0,
                 quota_ttl: float = QUOTA_TTL, gc_min_wait: float = MIN_WAIT,
                 cache_size: int = CAPACITY, cache_expiry: float = EXPIRY) -> None:
        self.rados = rados
        self.pools = Pools(rados)
        self.num_shards = num_shards
        self.quota_ttl = quota_ttl
        self.gc_min_wait = gc_min_wait
        self.cache_size = cache_size
        self.cache_expiry = cache_expiry
        self.stamp: MetaStamp
        self.users: Users
        self.buckets: Buckets
        self.objects: Objects
        self.uploads: Uploads
        self.usage: UsageCache
        self.gc: GcLog
        self.lc: LcShards

    async def open(self, *, create: bool = True) -> Store:
        """Open the pools (creating them on a first start when `create`)."""
        await self.pools.open(create=create)
        self.stamp = MetaStamp(self.pools.control)
        self.users = Users(self.pools, self.stamp,
                           MetaCache(self.cache_size, self.cache_expiry))
        self.buckets = Buckets(self.pools, self.users, self.stamp,
                               MetaCache(self.cache_size, self.cache_expiry),
                               os.getpid(), self.num_shards)
        self.gc = GcLog(self.pools.gc, self.pools.data, self.gc_min_wait)
        self.objects = Objects(self.pools.data, self.gc)
        self.uploads = Uploads(self.pools.non_ec, self.pools.data, self.gc)
        self.usage = UsageCache(self.buckets, self.quota_ttl)
        self.lc = LcShards(self.pools.lc)
        return self
