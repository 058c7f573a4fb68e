"""RGW's garbage collector: tail objects no object needs any more are not removed at
once but listed, and removed once `rgw_gc_obj_min_wait` has passed, so a download of
the previous version that is still reading keeps its data (as RGW's gc does).

The list is the omap of `gc.<n>` (n < `rgw_gc_max_objs`, chosen by the tag's hash) in
the log pool, namespace `gc`; a key is the expiry in nanoseconds and the tag, so each
shard lists in expiry order. Two kinds of entries:

- the tails an overwrite or a deletion replaced (`oids`);
- an upload in progress (`prefix`): written when the upload writes its first tail
  stripe and removed just before its head is committed. A gateway killed mid-upload
  leaves it, and the collector later removes the stripes `<prefix><n>` it wrote.

Whoever removes an entry first owns it (a guarded omap removal): the collector claims
an entry before removing its objects, and an upload settles its entry before its
commit, so a collector can never remove the stripes of an upload that commits; an
upload too slow for its entry fails instead (RequestTimeout).
"""

from __future__ import annotations

import time

import msgspec

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.osdmap.hash import ceph_str_hash_linux
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import decode, encode

GC_MAX_OBJS = 32
"""Shards of the gc list (Ceph's rgw_gc_max_objs)."""
MIN_WAIT = 7200.0
"""Seconds before listed objects may be removed (Ceph's rgw_gc_obj_min_wait)."""
_MISSES = 8
"""Consecutive missing stripes after which a killed upload's prefix is done with (it
had at most this many stripe writes in flight)."""


class GcEntry(msgspec.Struct, frozen=True):
    """Objects to remove after `time`: listed ones, or an upload's stripes."""

    tag: str
    time: float
    oids: list[str] = msgspec.field(default_factory=list)
    prefix: str = ""
    first: int = 1


def shard_oid(tag: str, shards: int = GC_MAX_OBJS) -> str:
    """The gc list object holding the entry tagged `tag` (RGW's rgw_shard_id)."""
    return f"gc.{names.shards_mod(ceph_str_hash_linux(tag.encode()), shards)}"


def entry_key(entry: GcEntry) -> str:
    """An entry's omap key: expiry first, so each shard lists oldest first."""
    return f"{round(entry.time * 1e9):020d}_{entry.tag}"


class GcLog:
    """The gc list and its collector."""

    def __init__(self, log: AsyncIoctx, data: AsyncIoctx, min_wait: float = MIN_WAIT) -> None:
        self.log = log
        self.data = data
        self.min_wait = min_wait

    async def defer(self, oids: list[str]) -> None:
        """List `oids` for removal after the minimum wait."""
        if oids:
            await self._add(GcEntry(names.new_tag(), time.time() + self.min_wait, list(oids)))

    async def intent(self, prefix: str, first: int) -> GcEntry:
        """List the stripes an upload is about to write under `prefix`."""
        entry = GcEntry(names.new_tag(), time.time() + self.min_wait, prefix=prefix,
                        first=first)
        await self._add(entry)
        return entry

    async def _add(self, entry: GcEntry) -> None:
        await run(self.log, shard_oid(entry.tag),
                  [o.OmapSet(entries={entry_key(entry): encode(entry)})], "gc add")

    async def _claim(self, entry: GcEntry) -> bool:
        """Remove `entry` from the list; whether this call did."""
        key = entry_key(entry)
        ops: list[o.OsdOp] = [o.OmapCmp(key=key, value=encode(entry), op=o.CmpOp.EQ),
                              o.OmapRmKeys(keys=[key])]
        try:
            await run(self.log, shard_oid(entry.tag), ops, "gc claim")
        except (Conflict, ObjectNotFound):
            return False
        return True

    async def settle(self, entry: GcEntry) -> None:
        """An upload's stripes are about to be committed: take them off the list.
        RequestTimeout when the collector took them first."""
        if not await self._claim(entry):
            raise S3Error(code="RequestTimeout")

    async def forget(self, entry: GcEntry) -> None:
        """An upload removed its own stripes: drop its entry if still listed."""
        await self._claim(entry)

    async def entries(self) -> list[GcEntry]:
        """Every listed entry, oldest first."""
        out: list[GcEntry] = []
        for n in range(GC_MAX_OBJS):
            try:
                results = await run(self.log, f"gc.{n}", [o.OmapGetVals()], "gc list")
            except ObjectNotFound:
                continue
            vals = results[0]
            assert isinstance(vals, o.OmapVals)
            out += [decode(v, GcEntry) for v in vals.entries.values()]
        return sorted(out, key=lambda e: (e.time, e.tag))

    async def process(self, *, include_all: bool = False) -> int:
        """Remove the objects of every expired entry (all of them with
        `include_all`); how many entries this call collected."""
        now = time.time()
        done = 0
        for entry in await self.entries():
            if (entry.time > now and not include_all) or not await self._claim(entry):
                continue
            for oid in entry.oids:
                await self._remove(oid)
            if entry.prefix:
                await self._remove_stripes(entry.prefix, entry.first)
            done += 1
        return done

    async def _remove(self, oid: str) -> bool:
        try:
            await run(self.data, oid, [o.Remove()], "gc remove")
        except ObjectNotFound:
            return False
        return True

    async def _remove_stripes(self, prefix: str, first: int) -> None:
        n, misses = first, 0
        while misses < _MISSES:
            misses = 0 if await self._remove(f"{prefix}{n}") else misses + 1
            n += 1

