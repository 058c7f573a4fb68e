"""A gateway's cache of user and bucket metadata, coherent across every gateway and
admin tool of the cluster through one shared stamp object.

RGW caches users and bucket info in each gateway and invalidates the copies with
watch/notify on the `notify.N` objects of the control pool. Here the control pool holds
one object, `meta.stamp`, whose content every metadata change (user update or removal,
key change, bucket update, deletion or relink) rewrites with new random bytes once the
change is stored. A request reads the stamp first (one small read instead of the four
reads its key, user, bucket entrypoint and bucket instance cost) and takes a cached
entry only if it was loaded under that same stamp: a request that begins after a
change was acknowledged sees a new stamp, so it never acts on what the change replaced.

An entry is stored under the stamp read *before* it was loaded, so an entry loaded
while a change landed is never served under the change's stamp. A writer that dies
between its change and the stamp's rewrite leaves caches stale until
`rgw_cache_expiry_interval` (as RGW's cache when a notify is lost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Generic, TypeVar

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.store.rados_ops import run

STAMP_OID = "meta.stamp"
CAPACITY = 25000
"""Entries kept per cache (Ceph's rgw_cache_lru_size)."""
EXPIRY = 900.0
"""Seconds an entry is trusted at most (Ceph's rgw_cache_expiry_interval)."""

V = TypeVar("V")


class MetaStamp:
    """The shared stamp in the control pool."""

    def __init__(self, control: AsyncIoctx) -> None:
        self.control = control

    async def read(self) -> bytes:
        """The current stamp (b"" before the first change)."""
        try:
            results = await run(self.control, STAMP_OID, [o.Read()], "read meta stamp")
        except ObjectNotFound:
            return b""
        result = results[0]
        return result.data if isinstance(result, o.ReadData) else b""

    async def bump(self) -> None:
        """Tell every gateway that metadata changed: their cached entries are stale."""
        await run(self.control, STAMP_OID, [o.WriteFull(data=os.urandom(16))],
                  "write meta stamp")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    stamp: bytes
    loaded: float
    value: V


class MetaCache(Generic[V]):
    """Values by name, each valid only under the stamp it was loaded with and for
    `expiry` seconds (pure: the caller gives the stamp and the time). Values are shared
    with every caller that gets them: they must not be changed in place."""

    def __init__(self, capacity: int = CAPACITY, expiry: float = EXPIRY) -> None:
        self.capacity = capacity
        self.expiry = expiry
        self._entries: dict[str, _Entry[V]] = {}

    def get(self, name: str, stamp: bytes, now: float) -> V | None:
        """The value of `name` if it was loaded under `stamp` less than `expiry`
        seconds before `now`, else None."""
        entry = self._entries.get(name)
        if entry is None or entry.stamp != stamp or now - entry.loaded >= self.expiry:
            return None
        return entry.value

    def put(self, name: str, stamp: bytes, value: V, now: float) -> None:
        """Keep `value` of `name`, loaded at `now` after `stamp` was read; the oldest
        entry goes when the cache is full."""
        self._entries.pop(name, None)
        if len(self._entries) >= self.capacity:
            del self._entries[next(iter(self._entries))]
        self._entries[name] = _Entry(stamp, now, value)

    def __len__(self) -> int:
        return len(self._entries)
