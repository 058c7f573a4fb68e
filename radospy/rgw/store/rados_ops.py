"""The RADOS side of the store: the pools RGW uses, opened (and created on first start)
through the asyncio client, and one call that runs a compound op and says how a guard
failed."""

from __future__ import annotations

import errno

from radospy.client.rados import AsyncIoctx, AsyncRados, Error, ObjectExists, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.store import names

RGW_POOL_PG_NUM = 8
"""PGs of each pool the gateway creates (Ceph creates them with the autoscaler's 8 or 32)."""


class Conflict(Exception):
    """A guard of a compound op failed (ECANCELED, a cmpext mismatch, EEXIST on an
    exclusive create): another writer got there first."""


async def run(ioctx: AsyncIoctx, oid: str, ops: list[o.OsdOp], what: str) -> list[o.OpResult]:
    """Run `ops` on `oid` atomically. A failed guard or exclusive create raises
    `Conflict`; a missing object `ObjectNotFound`; other failures the client's error."""
    try:
        return await ioctx.operate(oid, ops, what)
    except ObjectExists as exc:
        raise Conflict(str(exc)) from None
    except ObjectNotFound:
        raise
    except Error as exc:
        code = getattr(exc, "errno", 0)
        if code == errno.ECANCELED or code >= o.MAX_ERRNO:
            raise Conflict(str(exc)) from None
        raise


class Pools:
    """Open handles on RGW's pools, one per namespace in use (an ioctx's namespace is
    per handle, so concurrent requests never share a mutable one)."""

    def __init__(self, rados: AsyncRados) -> None:
        self.rados = rados
        self.users: AsyncIoctx
        self.keys: AsyncIoctx
        self.root: AsyncIoctx
        self.index: AsyncIoctx
        self.data: AsyncIoctx
        self.non_ec: AsyncIoctx
        self.reshard_log: AsyncIoctx
        self.gc: AsyncIoctx
        self.lc: AsyncIoctx
        self.control: AsyncIoctx

    async def open(self, *, create: bool = True) -> None:
        """Open every pool, creating the missing ones when `create` (first start)."""
        existing = set(await self.rados.list_pools())
        for pool in names.POOLS:
            if pool not in existing and create:
                await self._create(pool)
        self.users = await self._ioctx(names.META_POOL, names.NS_USERS)
        self.keys = await self._ioctx(names.META_POOL, names.NS_KEYS)
        self.root = await self._ioctx(names.META_POOL, names.NS_BUCKETS)
        self.index = await self._ioctx(names.INDEX_POOL, "")
        self.data = await self._ioctx(names.DATA_POOL, "")
        self.non_ec = await self._ioctx(names.NON_EC_POOL, "")
        self.reshard_log = await self._ioctx(names.LOG_POOL, names.NS_RESHARD)
        self.gc = await self._ioctx(names.LOG_POOL, names.NS_GC)
        self.lc = await self._ioctx(names.LOG_POOL, names.NS_LC)
        self.control = await self._ioctx(names.CONTROL_POOL, "")

    async def _create(self, pool: str) -> None:
        cmd = {"prefix": "osd pool create", "pool": pool, "pg_num": RGW_POOL_PG_NUM}
        rc, _, outs = await self.rados.mon_command(cmd)
        # Another gateway may have created it meanwhile: EEXIST is success here.
        if rc < 0 and rc != -errno.EEXIST:
            raise Error(f"error creating pool '{pool}': {outs}", -rc)
        app = {"prefix": "osd pool application enable", "pool": pool, "app": "rgw",
               "yes_i_really_mean_it": True}
        await self.rados.mon_command(app)
        await self.rados.wait_for_latest_osdmap()

    async def _ioctx(self, pool: str, nspace: str) -> AsyncIoctx:
        ioctx = await self.rados.open_ioctx(pool)
        ioctx.nspace = nspace
        return ioctx

