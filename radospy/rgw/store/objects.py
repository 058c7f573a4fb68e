"""Object data: streamed into stripes as it arrives, committed by one atomic write of
the head object, read back piece by piece with bounded readahead.

The head object `<marker>_<key>` holds the first `head_size` bytes and the xattrs
`user.rgw.etag`, `user.rgw.idtag` (a tag unique to the write), `user.rgw.content_type`
and `user.rgw.attrs` (every other attribute and the manifest). A write commits by
replacing the head in one compound op guarded on the idtag it read (or an exclusive
create when there was no object): writes of one key from any number of gateways are
serialised there, each knows which tail objects it replaced (and removes them), and
stamps increase along that chain so the bucket index ends with the last one.

Tails are never removed while a reader may still need them: the replaced object's
tails go to the gc list (`gc.GcLog.defer`), and an upload lists its own stripes there
while it writes them (`GcLog.intent`), so a gateway killed mid-upload leaves nothing
the collector does not remove, and the previous version stays whole until the new
one is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import msgspec

from radospy.client.rados import AsyncIoctx, NoData, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.s3 import versions
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.gc import GcEntry, GcLog
from radospy.rgw.store.index import BucketIndex
from radospy.rgw.store.manifest import Manifest, data_oids, pieces, simple_manifest
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import BucketInfo, IndexEntry, ObjectAttrs, decode, encode

ETAG_XATTR = "user.rgw.etag"
TAG_XATTR = "user.rgw.idtag"
CONTENT_TYPE_XATTR = "user.rgw.content_type"
ATTRS_XATTR = "user.rgw.attrs"
STRIPE = 4 << 20
"""Head size and tail stripe size (Ceph's rgw_max_chunk_size and rgw_obj_stripe_size)."""
IN_FLIGHT = 4
"""Stripe writes of one upload in flight at once (memory: this many stripes + the head)."""
READAHEAD = 4
"""Pieces of one download fetched ahead of the client."""
_COMMIT_ATTEMPTS = 50

Precondition = Callable[[ObjectAttrs | None], None]
"""Checks the current object (None: none) before a write replaces it; raises to refuse."""


class StripeWriter:
    """Cuts a stream into the head buffer and tail stripes, writing full stripes while
    the next arrive (up to `IN_FLIGHT` at once): memory stays bounded by that many
    stripes and the head."""

    def __init__(self, ioctx: AsyncIoctx, prefix: str, *, head_size: int = STRIPE,
                 stripe_size: int = STRIPE, first: int = 1, gc: GcLog | None = None) -> None:
        self.ioctx = ioctx
        self.prefix = prefix
        self.gc = gc
        self._intent: GcEntry | None = None
        self._first = first
        self.head_size = head_size
        self.stripe_size = stripe_size
        self.size = 0
        # The head's and the next stripe's bytes as the pieces received (slices where a
        # piece straddles a boundary), joined once when written: one copy per byte.
        self._head: list[bytes | memoryview] = []
        self._head_len = 0
        self._buf: list[bytes | memoryview] = []
        self._buf_len = 0
        self._next = first
        self._written: list[str] = []
        self._pending: list[asyncio.Future[list[o.OpResult]]] = []

    async def feed(self, data: bytes) -> None:
        """Take the next bytes of the object (kept by reference: not to be changed)."""
        self.size += len(data)
        rest: bytes | memoryview = data
        if self._head_len < self.head_size:
            piece, rest = _cut(rest, self.head_size - self._head_len)
            self._head.append(piece)
            self._head_len += len(piece)
        while rest:
            piece, rest = _cut(rest, self.stripe_size - self._buf_len)
            self._buf.append(piece)
            self._buf_len += len(piece)
            if self._buf_len == self.stripe_size:
                await self._flush()

    async def _flush(self) -> None:
        if self.gc is not None and self._intent is None:
            self._intent = await self.gc.intent(self.prefix, self._first)
        while len(self._pending) >= IN_FLIGHT:
            await self._pending.pop(0)
        oid = f"{self.prefix}{self._next}"
        self._next += 1
        self._written.append(oid)
        data = b"".join(self._buf)
        self._buf, self._buf_len = [], 0
        self._pending.append(asyncio.ensure_future(
            run(self.ioctx, oid, [o.WriteFull(data=data)], "write stripe")))

    async def finish(self) -> bytes:
        """Write what is buffered; the head's bytes."""
        if self._buf_len:
            await self._flush()
        while self._pending:
            await self._pending.pop(0)
        if self.gc is not None and self._intent is not None:
            await self.gc.settle(self._intent)
            self._intent = None
        return b"".join(self._head)

    async def abort(self) -> None:
        """Remove every stripe written (the upload failed)."""
        # Let every write in flight land (or fail) before removing what it wrote.
        await asyncio.gather(*self._pending, return_exceptions=True)
        self._pending = []
        await remove_objects(self.ioctx, self._written)
        if self.gc is not None and self._intent is not None:
            await self.gc.forget(self._intent)
            self._intent = None


def _cut(data: bytes | memoryview, at: int) -> tuple[bytes | memoryview, bytes | memoryview]:
    """`data` split at `at` (sliced without copying; whole when it is shorter)."""
    if len(data) <= at:
        return data, b""
    view = memoryview(data)
    return view[:at], view[at:]


async def remove_objects(ioctx: AsyncIoctx, oids: list[str]) -> None:
    """Remove RADOS objects, ignoring those already gone."""
    for oid in oids:
        with contextlib.suppress(ObjectNotFound):
            await run(ioctx, oid, [o.Remove()], "remove")


class Head(msgspec.Struct, frozen=True):
    """An object's attributes and the head's data, read together atomically."""

    attrs: ObjectAttrs
    data: bytes


class Objects:
    """Objects of buckets: commit, read, delete."""

    def __init__(self, data: AsyncIoctx, gc: GcLog | None = None) -> None:
        self.data = data
        self.gc = gc

    def writer(self, info: BucketInfo) -> StripeWriter:
        """A writer for a new simple upload into bucket `info`."""
        return StripeWriter(self.data, names.tail_prefix(info.marker, names.new_tag()),
                            gc=self.gc)

    async def _retire(self, attrs: ObjectAttrs) -> None:
        """The tails of a replaced or deleted object: to the gc list (removed at once
        without one)."""
        oids = data_oids(attrs.manifest)
        if self.gc is None:
            await remove_objects(self.data, oids)
        else:
            await self.gc.defer(oids)

    async def head(self, info: BucketInfo, key: str, *, with_data: bool = False,
                   version_id: str = "") -> Head | None:
        """The object's attributes (and head data when asked), or None: of its null
        version, or of version `version_id`."""
        ops: list[o.OsdOp] = [o.GetXattr(name=ATTRS_XATTR)]
        if with_data:
            ops.append(o.Read(offset=0, length=STRIPE))
        oid = names.head_oid(info.marker, key, version_id)
        try:
            results = await run(self.data, oid, ops, "read head")
        except (ObjectNotFound, NoData):
            return None
        xattr = results[0]
        if not isinstance(xattr, o.XattrValue) or not xattr.value:
            return None
        data = results[1].data if with_data and isinstance(results[1], o.ReadData) else b""
        return Head(decode(xattr.value, ObjectAttrs), data)

    async def commit(
        self,
        info: BucketInfo,
        index: BucketIndex,
        key: str,
        head_data: bytes,
        make_attrs: Callable[[str, float], ObjectAttrs],
        precondition: Precondition | None = None,
    ) -> ObjectAttrs:
        """Make the object `key` the one `make_attrs(tag, mtime)` describes with head
        bytes `head_data`: replace the head atomically, record it in the index, remove
        the data of the object it replaced. `precondition` sees the current object
        first (If-Match, If-None-Match)."""
        oid = names.head_oid(info.marker, key)
        # Most writes are of new keys: the first attempt assumes there is no object
        # and writes without reading the head first (its exclusive create fails if
        # there is one, and the next attempt reads what it replaces).
        assume_new = _admits_none(precondition)
        for _ in range(_COMMIT_ATTEMPTS):
            old = None if assume_new else await self.head(info, key)
            assume_new = False
            if precondition is not None:
                precondition(old.attrs if old else None)
            tag = names.new_tag()
            mtime = time.time()
            if old is not None:
                mtime = max(mtime, old.attrs.mtime + 1e-6)
            attrs = make_attrs(tag, mtime)
            guard: list[o.OsdOp] = (
                [o.CmpXattr(name=TAG_XATTR, op=o.CmpOp.EQ, value=old.attrs.tag.encode())]
                if old is not None else [o.Create(exclusive=True)]
            )
            try:
                await run(self.data, oid, [*guard, *_head_ops(head_data, attrs)], "write head")
            except (Conflict, ObjectNotFound):
                continue
            await index.put(index_entry(attrs, key), round(mtime * 1e9))
            if old is not None:
                await self._retire(old.attrs)
            return attrs
        raise S3Error(code="OperationAborted")

    async def commit_version(
        self,
        info: BucketInfo,
        index: BucketIndex,
        key: str,
        head_data: bytes,
        make_attrs: Callable[[str, float], ObjectAttrs],
        precondition: Precondition | None = None,
    ) -> ObjectAttrs:
        """Add a new version of `key` (a versioning-enabled bucket): a head of its own,
        then its index entry, which makes it current. `precondition` sees the current
        version first."""
        if precondition is not None:
            precondition(await self.current(info, index, key))
        tag = names.new_tag()
        mtime = time.time()
        stamp = round(mtime * 1e9)
        version_id = versions.new_version_id(stamp)
        attrs = msgspec.structs.replace(make_attrs(tag, mtime), version_id=version_id)
        oid = names.head_oid(info.marker, key, version_id)
        await run(self.data, oid, [o.Create(exclusive=True), *_head_ops(head_data, attrs)],
                  "write head")
        await index.put(index_entry(attrs, key), stamp)
        return attrs

    async def current(self, info: BucketInfo, index: BucketIndex,
                      key: str) -> ObjectAttrs | None:
        """The attributes of the current version of `key` (None when it has none or
        that is a delete marker)."""
        entry = await index.latest(key)
        if entry is None or entry.delete_marker:
            return None
        head = await self.head(info, key, version_id=entry.version_id)
        return None if head is None else head.attrs

    async def add_delete_marker(self, info: BucketInfo, index: BucketIndex, key: str,
                                owner: str, *, null: bool) -> str:
        """Make a delete marker the current version of `key`: a new version of its own
        (versioning enabled) or the null version, whose object it replaces (suspended).
        Its version id ("" for null)."""
        if null:
            await self.delete(info, index, key)
        mtime = time.time()
        stamp = round(mtime * 1e9)
        version_id = "" if null else versions.new_version_id(stamp)
        entry = IndexEntry(key, 0, mtime, "", owner, tag=names.new_tag(),
                           version_id=version_id, delete_marker=True)
        await index.put(entry, stamp)
        return version_id

    async def set_attrs(self, info: BucketInfo, key: str,
                        change: Callable[[ObjectAttrs], ObjectAttrs],
                        version_id: str = "") -> ObjectAttrs:
        """Rewrite the attributes of object `key` (of its version `version_id`) without
        touching its data (tagging): NoSuchKey when there is none; retried when a write
        replaced it meanwhile."""
        oid = names.head_oid(info.marker, key, version_id)
        for _ in range(_COMMIT_ATTEMPTS):
            old = await self.head(info, key, version_id=version_id)
            if old is None:
                raise S3Error(code="NoSuchKey", Key=key)
            attrs = change(old.attrs)
            ops: list[o.OsdOp] = [
                o.CmpXattr(name=TAG_XATTR, op=o.CmpOp.EQ, value=old.attrs.tag.encode()),
                o.SetXattr(name=ATTRS_XATTR, value=encode(attrs)),
            ]
            try:
                await run(self.data, oid, ops, "write attrs")
            except (Conflict, ObjectNotFound):
                continue
            return attrs
        raise S3Error(code="OperationAborted")

    async def read(
        self, info: BucketInfo, head: Head, offset: int, length: int,
        readahead: int = READAHEAD,
    ) -> AsyncIterator[bytes]:
        """Bytes [offset, offset+length) of an object, piece by piece, at most
        `readahead` pieces fetched ahead of the consumer."""
        manifest = head.attrs.manifest
        queue: list[asyncio.Task[bytes]] = []
        plan = iter(pieces(manifest, offset, length))

        def schedule() -> None:
            while len(queue) < readahead:
                piece = next(plan, None)
                if piece is None:
                    return
                if piece.oid is None:
                    data = head.data[piece.offset: piece.offset + piece.length]
                    queue.append(asyncio.ensure_future(_ready(data)))
                else:
                    queue.append(asyncio.ensure_future(
                        self._read_piece(piece.oid, piece.offset, piece.length)))

        schedule()
        try:
            while queue:
                data = await queue.pop(0)
                schedule()
                yield data
        finally:
            for task in queue:
                task.cancel()

    def inline(self, head: Head, offset: int, length: int) -> bytes | None:
        """Bytes [offset, offset+length) of the object when the head read holds them
        all (no further read needed), else None."""
        end = offset + length
        if end > head.attrs.manifest.head_size or end > len(head.data):
            return None
        return head.data[offset:end]

    async def _read_piece(self, oid: str, offset: int, length: int) -> bytes:
        results = await run(self.data, oid, [o.Read(offset=offset, length=length)], "read")
        result = results[0]
        data = result.data if isinstance(result, o.ReadData) else b""
        if len(data) != length:
            raise S3Error(code="InternalError")
        return data

    async def delete(self, info: BucketInfo, index: BucketIndex, key: str,
                     version_id: str = "") -> None:
        """Remove object `key`, or its version `version_id` (nothing to do when there
        is none; a delete marker has only its index entry)."""
        oid = names.head_oid(info.marker, key, version_id)
        for _ in range(_COMMIT_ATTEMPTS):
            old = await self.head(info, key, version_id=version_id)
            if old is None:
                await index.remove(key, None, version_id)
                return
            guard = o.CmpXattr(name=TAG_XATTR, op=o.CmpOp.EQ, value=old.attrs.tag.encode())
            try:
                await run(self.data, oid, [guard, o.Remove()], "remove head")
            except (Conflict, ObjectNotFound):
                continue
            await index.remove(key, old.attrs.tag, version_id)
            await self._retire(old.attrs)
            return
        raise S3Error(code="OperationAborted")


def _admits_none(precondition: Precondition | None) -> bool:
    """Whether `precondition` lets a write go ahead when there is no object yet."""
    if precondition is None:
        return True
    try:
        precondition(None)
    except S3Error:
        return False
    return True


async def _ready(data: bytes) -> bytes:
    return data


def _head_ops(head_data: bytes, attrs: ObjectAttrs) -> list[o.OsdOp]:
    """The writes that make a head object hold `head_data` and describe `attrs`."""
    return [
        o.WriteFull(data=head_data),
        o.SetXattr(name=ETAG_XATTR, value=attrs.etag.encode()),
        o.SetXattr(name=TAG_XATTR, value=attrs.tag.encode()),
        o.SetXattr(name=CONTENT_TYPE_XATTR, value=attrs.content_type.encode()),
        o.SetXattr(name=ATTRS_XATTR, value=encode(attrs)),
    ]


def index_entry(attrs: ObjectAttrs, key: str) -> IndexEntry:
    """The index entry of an object."""
    return IndexEntry(key, attrs.size, attrs.mtime, attrs.etag, attrs.owner,
                      content_type=attrs.content_type, tag=attrs.tag,
                      checksum_algorithm=attrs.checksum_algorithm,
                      version_id=attrs.version_id)


def new_simple_manifest(writer: StripeWriter) -> Manifest:
    """The manifest of what `writer` wrote."""
    return simple_manifest(writer.size, writer.head_size, writer.stripe_size, writer.prefix)
