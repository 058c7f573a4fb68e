"""A bucket's index: one omap entry per key in `.dir.<marker>[.<gen>][.<shard>]` (and
one per non-null version, `<key>\\x00v<version id>`: see `radospy.rgw.s3.versions`),
the shard chosen by RGW's `rgw_bucket_shard_index` (`names.index_shard`) over the key
alone, so every version of a key lives in the same shard.

An entry is written only if the stored one for the key is older (omap compare on the
stamp that begins each value), so concurrent writers of a key leave the newest entry,
and only while the shard's xattr `rgw.state` is empty. `deleting` there means the
bucket is being deleted (the write fails: NoSuchBucket); `resharding <lease end>` means
a reshard is copying the shard into a new layout generation: the writer waits for it to end
(or for its lease to run out: `RESHARD_LEASE`),
re-reads the bucket's layout and writes into the new shards (RGW's writers block on
ERR_BUSY_RESHARDING the same way), so no update made during a reshard is lost.
Listing reads the shards in pages and merges them in key order for
`listing.list_page`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Future

from radospy.client.rados import AsyncIoctx, NoData, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.quota import Usage
from radospy.rgw.s3 import versions
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import BucketInfo, IndexEntry, decode_index_entry, encode_index_entry

STATE_XATTR = "rgw.state"
DELETING = b"deleting"
RESHARDING = b"resharding"
PAGE = 1000
RESHARD_WAIT = 120.0
"""Seconds a writer waits for a reshard to end before answering ServiceUnavailable."""
RESHARD_LEASE = 30.0
"""Seconds a reshard mark holds without renewal. The resharder renews it after each
page it copies; a writer that finds it expired takes the resharder for dead (SIGKILLed
mid-reshard) and lifts the marks, instead of waiting for `reshard cancel`."""
_RESHARD_POLL = 0.05
_ATTEMPTS = 50

Reload = Callable[[], Awaitable[BucketInfo]]
"""Reads a bucket's current metadata again (its index layout after a reshard)."""


def shard_oids(info: BucketInfo) -> list[str]:
    """Every index object of a bucket."""
    return layout_oids(info.marker, info.num_shards, info.index_gen)


def layout_oids(marker: str, num_shards: int, gen: int) -> list[str]:
    """The index objects of one layout: `num_shards` shards (0: one unsharded object)."""
    if num_shards <= 0:
        return [names.index_oid(marker, None, gen)]
    return [names.index_oid(marker, n, gen) for n in range(num_shards)]


def entry_name(entry: IndexEntry) -> str:
    """The omap key of an index entry."""
    return versions.index_key(entry.key, entry.version_id)


def reshard_mark(expiry: float) -> bytes:
    """The `rgw.state` of a shard being resharded under a lease ending at `expiry`."""
    return RESHARDING + b" " + str(round(expiry * 1e9)).encode()


def resharding(state: bytes | None) -> bool:
    """Whether a shard's `rgw.state` says it is being resharded."""
    return state is not None and state.startswith(RESHARDING)


def mark_expiry(state: bytes) -> float:
    """When a reshard mark's lease ends (0: a mark without one, expired)."""
    _, _, stamp = state.partition(b" ")
    return int(stamp) / 1e9 if stamp.isdigit() else 0.0


def key_oid(info: BucketInfo, key: str) -> str:
    """The index object holding `key`."""
    return names.index_oid(info.marker, names.index_shard(key, info.num_shards), info.index_gen)


def start_after_for(start: bytes) -> str:
    """An omap `start_after` that returns every key >= `start` (UTF-8 bytes); a few
    smaller keys may come too, which the reader skips. `start` may end in 0xff, the
    byte `listing` appends to skip past a common prefix."""
    if not start:
        return ""
    if start.endswith(b"\xff"):
        return start[:-1].decode() + "\U0010ffff" * 4
    text = start.decode()
    last = ord(text[-1])
    if last == 0:
        return text[:-1]
    below = last - 1
    if 0xD800 <= below <= 0xDFFF:
        below = 0xD7FF
    return text[:-1] + chr(below) + "\U0010ffff" * 4


class LayoutChanged(Exception):
    """A listing read a shard that a reshard removed: the bucket's index has a new
    layout (taken by the `BucketIndex`), and the listing must start over."""


def _vals(result: o.OpResult) -> dict[str, bytes]:
    return result.entries if isinstance(result, o.OmapVals) else {}


class BucketIndex:
    """The index of one bucket."""

    def __init__(self, ioctx: AsyncIoctx, info: BucketInfo, reload: Reload | None = None
                 ) -> None:
        self.ioctx = ioctx
        self.info = info
        self._reload = reload

    async def create(self) -> None:
        """Create the (empty) index objects of a new bucket."""
        for oid in shard_oids(self.info):
            await run(self.ioctx, oid, [o.Create(exclusive=True)], "create bucket index")

    async def put(self, entry: IndexEntry, stamp_ns: int) -> None:
        """Record `entry`, unless a newer write of its key is recorded already.
        NoSuchBucket when the bucket is being deleted; waits out a reshard."""
        name = entry_name(entry)
        value = encode_index_entry(entry, stamp_ns)
        deadline = time.monotonic() + RESHARD_WAIT
        for _ in range(_ATTEMPTS):
            oid = key_oid(self.info, entry.key)
            ops: list[o.OsdOp] = [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=b""),
                                  o.OmapCmp(key=name, value=value, op=o.CmpOp.LT),
                                  o.OmapSet(entries={name: value})]
            try:
                await run(self.ioctx, oid, ops, "update bucket index")
                return
            except (Conflict, ObjectNotFound):
                state = await self.state(oid)
                if state == DELETING or (state is None and self._reload is None):
                    raise S3Error(code="NoSuchBucket", BucketName=self.info.bucket) from None
                if state == b"":
                    stored = await self._raw(oid, name)
                    if stored is not None and not stored < value:
                        return  # a newer write of the key is recorded
                    continue  # the guard met a reshard mark lifted since: write again
            await self._await_layout(oid, deadline)
        raise S3Error(code="OperationAborted")

    async def remove(self, key: str, tag: str | None, version_id: str = "") -> None:
        """Drop the entry of `key` (of its version `version_id`, "" the null one) if it
        is still the write tagged `tag` (any write when None). Waits out a reshard."""
        name = versions.index_key(key, version_id)
        deadline = time.monotonic() + RESHARD_WAIT
        for _ in range(_ATTEMPTS):
            oid = key_oid(self.info, key)
            raw = await self._raw(oid, name)
            if raw is None or (tag is not None and decode_index_entry(raw).tag != tag):
                return
            ops: list[o.OsdOp] = [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=b""),
                                  o.OmapCmp(key=name, value=raw, op=o.CmpOp.EQ),
                                  o.OmapRmKeys(keys=[name])]
            try:
                await run(self.ioctx, oid, ops, "update bucket index")
                return
            except (Conflict, ObjectNotFound):
                state = await self.state(oid)
                # Deleting: the bucket goes with its entries. Idle: the entry changed
                # (read it again). Otherwise the layout is changing: wait for it.
                if state == DELETING or (state is None and self._reload is None):
                    return
                if state == b"":
                    continue
            await self._await_layout(oid, deadline)

    async def _await_layout(self, oid: str, deadline: float) -> None:
        """Wait until index object `oid` is no longer being resharded, then take the
        bucket's current layout (NoSuchBucket if the bucket is gone)."""
        delay = _RESHARD_POLL
        while resharding(state := await self.state(oid)):
            assert state is not None
            if time.time() > mark_expiry(state):
                await self._lift_dead_reshard()
                continue
            if time.monotonic() > deadline:
                raise S3Error(code="ServiceUnavailable",
                              message="The bucket index is being resharded")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        gone = S3Error(code="NoSuchBucket", BucketName=self.info.bucket)
        if self._reload is None:
            raise gone
        fresh = await self._reload()
        same = (fresh.num_shards, fresh.index_gen) == (self.info.num_shards, self.info.index_gen)
        if fresh.marker != self.info.marker or (same and await self.state(oid) is None):
            raise gone
        self.info = fresh

    async def _lift_dead_reshard(self) -> None:
        """Lift the expired reshard marks of this layout's shards, each only if it is
        still the expired one read (a live resharder renews its marks; one that finds
        a mark lifted gives up), so writers go on in this layout."""
        for oid in shard_oids(self.info):
            state = await self.state(oid)
            if not resharding(state) or state is None or time.time() <= mark_expiry(state):
                continue
            with contextlib.suppress(Conflict, ObjectNotFound):
                await run(self.ioctx, oid,
                          [o.CmpXattr(name=STATE_XATTR, op=o.CmpOp.EQ, value=state),
                           o.SetXattr(name=STATE_XATTR, value=b"")], "lift dead reshard")

    async def get(self, key: str, version_id: str = "") -> IndexEntry | None:
        """The entry of `key` (of its version `version_id`, "" the null one), or None."""
        name = versions.index_key(key, version_id)
        results = await self._read_shard(key, [o.OmapGetValsByKeys(keys=[name])])
        raw = None if results is None else _vals(results[0]).get(name)
        return None if raw is None else decode_index_entry(raw)

    async def latest(self, key: str) -> IndexEntry | None:
        """The current version of `key` (perhaps a delete marker), or None: the newer
        of its null entry and its newest other version, read in one operation."""
        ops: list[o.OsdOp] = [
            o.OmapGetValsByKeys(keys=[key]),
            o.OmapGetVals(start_after=key, filter_prefix=key + versions.SEPARATOR,
                          max_return=1),
        ]
        results = await self._read_shard(key, ops)
        if results is None:
            return None
        found = [decode_index_entry(v) for r in results for v in _vals(r).values()]
        return versions.newest(found)

    async def _read_shard(self, key: str, ops: list[o.OsdOp]) -> list[o.OpResult] | None:
        """`ops` run on the shard holding `key`, None when it is gone. A shard that is
        gone because a reshard replaced the layout this index was loaded with (a
        request that read the bucket just before the switch) is read again in the new
        layout rather than taken for an empty one."""
        for _ in range(_ATTEMPTS):
            try:
                return await run(self.ioctx, key_oid(self.info, key), ops, "read index")
            except ObjectNotFound:
                if not await self.relayout():
                    return None
        raise S3Error(code="OperationAborted")

    async def relayout(self) -> bool:
        """After an index object was found missing: whether the bucket's index moved to
        a new layout since `self.info` was read (then taken); False if it has not (the
        bucket is gone or being deleted) or cannot be re-read."""
        if self._reload is None:
            return False
        try:
            fresh = await self._reload()
        except S3Error:
            return False
        if fresh.marker != self.info.marker or (fresh.num_shards, fresh.index_gen) == (
                self.info.num_shards, self.info.index_gen):
            return False
        self.info = fresh
        return True

    async def _raw(self, oid: str, key: str) -> bytes | None:
        try:
            results = await run(self.ioctx, oid, [o.OmapGetValsByKeys(keys=[key])], "read index")
        except ObjectNotFound:
            return None
        vals = results[0]
        return vals.entries.get(key) if isinstance(vals, o.OmapVals) else None

    async def state(self, oid: str) -> bytes | None:
        """Index object `oid`'s `rgw.state` (b"" when idle), None when it is gone."""
        try:
            return await self.ioctx.get_xattr(oid, STATE_XATTR)
        except ObjectNotFound:
            return None
        except NoData:
            return b""

    async def page(
        self, oid: str, start_after: str, limit: int = PAGE
    ) -> tuple[list[IndexEntry], bool]:
        """Up to `limit` entries of one index object after `start_after`, and whether
        more follow; none when the object is gone."""
        try:
            return await self._page(oid, start_after, limit)
        except ObjectNotFound:
            return [], False

    async def listing_page(
        self, oid: str, start_after: str, limit: int = PAGE
    ) -> tuple[list[IndexEntry], bool]:
        """`page` for a listing: LayoutChanged when the object is gone because a
        reshard moved the index (the listing starts over in the new layout)."""
        try:
            return await self._page(oid, start_after, limit)
        except ObjectNotFound:
            if oid not in shard_oids(self.info) or await self.relayout():
                raise LayoutChanged() from None
            return [], False

    async def _page(self, oid: str, start_after: str, limit: int
                    ) -> tuple[list[IndexEntry], bool]:
        results = await run(self.ioctx, oid,
                            [o.OmapGetVals(start_after=start_after, max_return=limit)],
                            "list bucket index")
        vals = results[0]
        assert isinstance(vals, o.OmapVals)
        entries = [decode_index_entry(v) for _, v in sorted(vals.entries.items())]
        return entries, vals.more or len(entries) >= limit

    async def entries(self) -> AsyncIterator[IndexEntry]:
        """Every entry, shard by shard (not in key order)."""
        for oid in shard_oids(self.info):
            after = ""
            while True:
                entries, more = await self.page(oid, after)
                for entry in entries:
                    yield entry
                if not more or not entries:
                    break
                after = entry_name(entries[-1])

    async def usage(self) -> Usage:
        """What the bucket stores, counted over every shard: every version, as RGW
        counts them (a delete marker stores nothing and is not counted)."""
        total = Usage()
        async for entry in self.entries():
            if not entry.delete_marker:
                total += Usage.of_object(entry.size)
        return total

    async def is_empty(self) -> bool:
        """Whether no shard holds an entry."""
        for oid in shard_oids(self.info):
            entries, _ = await self.page(oid, "", 1)
            if entries:
                return False
        return True

    def source(self, loop: asyncio.AbstractEventLoop) -> ThreadSource:
        """A blocking `listing.Source` over this index, for a worker thread of `loop`."""
        return ThreadSource(self, loop)


class ThreadSource:
    """Entries at or after a UTF-8 start key, merged over the shards in key order.
    Called from a worker thread: each page is fetched on the event loop."""

    def __init__(self, index: BucketIndex, loop: asyncio.AbstractEventLoop) -> None:
        self.index = index
        self.loop = loop

    def __call__(self, start: bytes) -> Iterator[IndexEntry]:
        after = start_after_for(start)
        # Every shard's first page is asked for at once (the merge needs them all
        # before its first entry); later pages as the merge reaches them.
        streams = [self._shard(oid, after, start, self._fetch(oid, after))
                   for oid in shard_oids(self.index.info)]
        return heapq.merge(*streams, key=lambda e: entry_name(e).encode())

    def _fetch(self, oid: str, after: str) -> Future[tuple[list[IndexEntry], bool]]:
        return asyncio.run_coroutine_threadsafe(self.index.listing_page(oid, after),
                                                self.loop)

    def _shard(self, oid: str, after: str, start: bytes,
               first: Future[tuple[list[IndexEntry], bool]]) -> Iterator[IndexEntry]:
        future = first
        while True:
            entries, more = future.result()
            for entry in entries:
                if entry.key.encode() >= start:
                    yield entry
            if not more or not entries:
                return
            after = entry_name(entries[-1])
            future = self._fetch(oid, after)
