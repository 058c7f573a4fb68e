"""Striped objects, as Ceph's libradosstriper keeps them: one logical object of any size
over RADOS objects ``SOID.%016x`` (4 MiB each by default).

The first object (``SOID.0000000000000000``) always exists and carries the striped
object's metadata in xattrs, as decimal strings: ``striper.layout.stripe_unit``,
``striper.layout.stripe_count``, ``striper.layout.object_size`` and ``striper.size``
(the logical size). Where bytes go is `radospy.client.striper.file_to_extents`.

As in libradosstriper the logical size is raised before the data is written (a
``cmpxattr`` guard keeps a concurrent larger write's size), so a write cut short reads
back as zeros, never as bytes beyond an old end; a remove deletes the data objects from
the last to the first, the first (the metadata) last. libradosstriper's shared/exclusive
``striper.lock`` is not taken: radospy has no object classes yet, so concurrent
truncates and writes of one striped object are not serialised.

`AsyncRadosStriper` runs on an `AsyncIoctx`; `RadosStriper` is its synchronous facade
over an `Ioctx`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import Awaitable, Iterable
from typing import TypeVar

from radospy.client.rados import (
    LIBRADOS_CMPXATTR_OP_GT,
    AsyncIoctx,
    InvalidArgumentError,
    Ioctx,
    ObjectNotFound,
    OSError,
)
from radospy.client.striper import (
    FileLayout,
    StripedReadResult,
    file_to_extents,
    get_num_objects,
    object_truncate_size,
    striper_object_namer,
)
from radospy.common import osdop as o

T = TypeVar("T")

XATTR_LAYOUT_STRIPE_UNIT = "striper.layout.stripe_unit"
XATTR_LAYOUT_STRIPE_COUNT = "striper.layout.stripe_count"
XATTR_LAYOUT_OBJECT_SIZE = "striper.layout.object_size"
XATTR_SIZE = "striper.size"
INTERNAL_XATTRS = frozenset(
    (XATTR_LAYOUT_STRIPE_UNIT, XATTR_LAYOUT_STRIPE_COUNT, XATTR_LAYOUT_OBJECT_SIZE, XATTR_SIZE)
)
MIN_STRIPE_UNIT = 64 << 10
"""``CEPH_MIN_STRIPE_UNIT``: stripe units and object sizes are multiples of it."""
FIRST_OBJECT_SUFFIX = f".{0:016x}"
MAX_IN_FLIGHT = 8
"""RADOS ops one striped call keeps in flight."""


def first_object(soid: str) -> str:
    """The RADOS object holding a striped object's metadata."""
    return soid + FIRST_OBJECT_SUFFIX


async def _bounded(aws: Iterable[Awaitable[T]]) -> list[T]:
    """Await ``aws`` with at most MAX_IN_FLIGHT running; results in order."""
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def one(aw: Awaitable[T]) -> T:
        async with gate:
            return await aw

    return list(await asyncio.gather(*(one(aw) for aw in aws)))


def _layout_of(xattrs: dict[str, bytes], soid: str) -> tuple[FileLayout, int]:
    try:
        layout = FileLayout(
            int(xattrs[XATTR_LAYOUT_STRIPE_UNIT]),
            int(xattrs[XATTR_LAYOUT_STRIPE_COUNT]),
            int(xattrs[XATTR_LAYOUT_OBJECT_SIZE]),
        )
        return layout, int(xattrs[XATTR_SIZE])
    except (KeyError, ValueError) as exc:
        raise OSError(f"{soid} is not a striped object: bad layout ({exc})", errno.EINVAL) from None


class AsyncRadosStriper:
    """Striped objects in one `AsyncIoctx` (libradosstriper's ``RadosStriper``)."""

    def __init__(self, ioctx: AsyncIoctx) -> None:
        self.ioctx = ioctx
        self.layout = FileLayout()

    # --- layout of new objects ----------------------------------------------------------

    def set_object_layout_stripe_unit(self, stripe_unit: int) -> None:
        if stripe_unit <= 0 or stripe_unit % MIN_STRIPE_UNIT:
            raise InvalidArgumentError(f"invalid stripe unit {stripe_unit}", errno.EINVAL)
        self.layout = FileLayout(stripe_unit, self.layout.stripe_count, self.layout.object_size)

    def set_object_layout_stripe_count(self, stripe_count: int) -> None:
        if stripe_count <= 0:
            raise InvalidArgumentError(f"invalid stripe count {stripe_count}", errno.EINVAL)
        self.layout = FileLayout(self.layout.stripe_unit, stripe_count, self.layout.object_size)

    def set_object_layout_object_size(self, object_size: int) -> None:
        su = self.layout.stripe_unit
        if object_size <= 0 or object_size % MIN_STRIPE_UNIT or object_size % su:
            raise InvalidArgumentError(f"invalid object size {object_size}", errno.EINVAL)
        self.layout = FileLayout(su, self.layout.stripe_count, object_size)

    # --- metadata -----------------------------------------------------------------------

    async def _open(self, soid: str) -> tuple[FileLayout, int]:
        """The layout and logical size of an existing striped object; ENOENT if none."""
        return _layout_of(await self.ioctx.get_xattrs(first_object(soid)), soid)

    async def _open_for_write(self, soid: str, new_size: int) -> FileLayout:
        """Create the striped object if needed, raise its size to ``new_size``, and
        return its layout."""
        layout = self.layout
        create = [
            o.Create(exclusive=True),
            o.SetXattr(name=XATTR_LAYOUT_STRIPE_UNIT, value=b"%d" % layout.stripe_unit),
            o.SetXattr(name=XATTR_LAYOUT_STRIPE_COUNT, value=b"%d" % layout.stripe_count),
            o.SetXattr(name=XATTR_LAYOUT_OBJECT_SIZE, value=b"%d" % layout.object_size),
            o.SetXattr(name=XATTR_SIZE, value=b"%d" % new_size),
        ]
        try:
            await self.ioctx.operate(first_object(soid), create, "create striped")
            return layout
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        layout, size = await self._open(soid)
        if new_size > size:
            await self._raise_size(soid, new_size)
        return layout

    async def _raise_size(self, soid: str, new_size: int) -> None:
        """``striper.size = new_size`` unless it is already larger (a concurrent write)."""
        value = b"%d" % new_size
        ops = [
            o.CmpXattr(name=XATTR_SIZE, op=o.CmpOp(LIBRADOS_CMPXATTR_OP_GT), value=value,
                       mode=o.CmpMode.U64),
            o.SetXattr(name=XATTR_SIZE, value=value),
        ]  # fmt: skip
        try:
            await self.ioctx.operate(first_object(soid), ops, "set size of")
        except OSError as exc:
            if exc.errno != errno.ECANCELED:
                raise

    # --- data ---------------------------------------------------------------------------

    async def write(self, soid: str, data: bytes, offset: int = 0) -> None:
        """Write ``data`` at logical ``offset``, growing the object as needed."""
        if offset < 0:
            raise InvalidArgumentError(f"invalid offset {offset}", errno.EINVAL)
        layout = await self._open_for_write(soid, offset + len(data))
        await self._write_extents(soid, layout, data, offset)

    async def _write_extents(self, soid: str, layout: FileLayout, data: bytes, offset: int) -> None:
        view = memoryview(data)
        extents = file_to_extents(layout, offset, len(data), striper_object_namer(soid))

        async def put(ext_oid: str, ext_off: int, pieces: tuple[tuple[int, int], ...]) -> None:
            chunk = b"".join(view[b : b + n] for b, n in pieces)
            await self.ioctx.write(ext_oid, chunk, ext_off)

        await _bounded(put(e.oid, e.offset, e.buffer_extents) for e in extents)

    async def write_full(self, soid: str, data: bytes) -> None:
        """Replace the whole striped object with ``data``."""
        with contextlib.suppress(ObjectNotFound):
            await self.trunc(soid, 0)
        await self.write(soid, data, 0)

    async def append(self, soid: str, data: bytes) -> None:
        """Write ``data`` at the current logical end."""
        try:
            _, size = await self._open(soid)
        except ObjectNotFound:
            size = 0
        await self.write(soid, data, size)

    async def read(self, soid: str, length: int, offset: int = 0) -> bytes:
        """Up to ``length`` bytes from logical ``offset`` (short at the end)."""
        if offset < 0 or length < 0:
            raise InvalidArgumentError(f"invalid range {offset}~{length}", errno.EINVAL)
        layout, size = await self._open(soid)
        length = max(0, min(length, size - offset))
        extents = file_to_extents(layout, offset, length, striper_object_namer(soid))

        async def get(ext_oid: str, ext_off: int, ext_len: int) -> bytes | memoryview:
            try:
                # A view: the pieces are copied once, into the assembled bytes.
                return await self.ioctx.read_view(ext_oid, ext_len, ext_off)
            except ObjectNotFound:
                return b""  # never written: a hole

        chunks = await _bounded(get(e.oid, e.offset, e.length) for e in extents)
        result = StripedReadResult()
        for ext, chunk in zip(extents, chunks, strict=True):
            result.add_partial_result(chunk, ext.buffer_extents)
        return result.assemble(zero_tail=True)

    async def stat(self, soid: str) -> tuple[int, int]:
        """(logical size, mtime in nanoseconds of the first object)."""
        _, size = await self._open(soid)
        _, mtime_ns = await self.ioctx.stat(first_object(soid))
        return size, mtime_ns

    async def remove(self, soid: str) -> None:
        """Delete every object of the striped object, the metadata object last."""
        layout, size = await self._open(soid)
        await self._remove_from(soid, 1, get_num_objects(layout, size))
        await self.ioctx.remove_object(first_object(soid))

    async def _remove_from(self, soid: str, first: int, count: int) -> None:
        namer = striper_object_namer(soid)

        async def rm(objectno: int) -> None:
            with contextlib.suppress(ObjectNotFound):  # never written
                await self.ioctx.remove_object(namer(objectno))

        await _bounded(rm(n) for n in range(count - 1, first - 1, -1))

    async def trunc(self, soid: str, size: int) -> None:
        """Cut (or extend with zeros) the striped object to ``size`` bytes."""
        if size < 0:
            raise InvalidArgumentError(f"invalid size {size}", errno.EINVAL)
        layout, old = await self._open(soid)
        if size >= old:
            await self.ioctx.set_xattr(first_object(soid), XATTR_SIZE, b"%d" % size)
            return
        # The size first: a reader never sees stale bytes past the new end.
        await self.ioctx.set_xattr(first_object(soid), XATTR_SIZE, b"%d" % size)
        namer = striper_object_namer(soid)
        count, keep = get_num_objects(layout, old), get_num_objects(layout, size)

        async def cut(objectno: int) -> None:
            with contextlib.suppress(ObjectNotFound):  # never written
                await self.ioctx.trunc(
                    namer(objectno), object_truncate_size(layout, objectno, size)
                )

        await _bounded(cut(n) for n in range(max(keep - layout.stripe_count, 0), max(keep, 1)))
        await self._remove_from(soid, max(keep, 1), count)

    # --- xattrs (on the first object, the internal ones hidden) -------------------------

    async def get_xattr(self, soid: str, name: str) -> bytes:
        return await self.ioctx.get_xattr(first_object(soid), name)

    async def set_xattr(self, soid: str, name: str, value: bytes) -> None:
        await self.ioctx.set_xattr(first_object(soid), name, value)

    async def rm_xattr(self, soid: str, name: str) -> None:
        await self.ioctx.rm_xattr(first_object(soid), name)

    async def get_xattrs(self, soid: str) -> dict[str, bytes]:
        xattrs = await self.ioctx.get_xattrs(first_object(soid))
        return {k: v for k, v in xattrs.items() if k not in INTERNAL_XATTRS}


class RadosStriper:
    """The synchronous striper over an `Ioctx`: ``RadosStriper(ioctx).write_full(...)``."""

    def __init__(self, ioctx: Ioctx) -> None:
        self._ioctx = ioctx
        self._core = AsyncRadosStriper(ioctx._core)

    def set_object_layout_stripe_unit(self, stripe_unit: int) -> None:
        self._core.set_object_layout_stripe_unit(stripe_unit)

    def set_object_layout_stripe_count(self, stripe_count: int) -> None:
        self._core.set_object_layout_stripe_count(stripe_count)

    def set_object_layout_object_size(self, object_size: int) -> None:
        self._core.set_object_layout_object_size(object_size)

    def write(self, soid: str, data: bytes, offset: int = 0) -> None:
        self._ioctx._run(self._core.write(soid, data, offset))

    def write_full(self, soid: str, data: bytes) -> None:
        self._ioctx._run(self._core.write_full(soid, data))

    def append(self, soid: str, data: bytes) -> None:
        self._ioctx._run(self._core.append(soid, data))

    def read(self, soid: str, length: int = 8192, offset: int = 0) -> bytes:
        return self._ioctx._run(self._core.read(soid, length, offset))

    def stat(self, soid: str) -> tuple[int, time.struct_time]:
        size, mtime_ns = self._ioctx._run(self._core.stat(soid))
        return size, time.localtime(mtime_ns / 1e9)

    def remove(self, soid: str) -> None:
        self._ioctx._run(self._core.remove(soid))

    def trunc(self, soid: str, size: int) -> None:
        self._ioctx._run(self._core.trunc(soid, size))

    def get_xattr(self, soid: str, name: str) -> bytes:
        return self._ioctx._run(self._core.get_xattr(soid, name))

    def set_xattr(self, soid: str, name: str, value: bytes) -> None:
        self._ioctx._run(self._core.set_xattr(soid, name, value))

    def rm_xattr(self, soid: str, name: str) -> None:
        self._ioctx._run(self._core.rm_xattr(soid, name))

    def get_xattrs(self, soid: str) -> dict[str, bytes]:
        return self._ioctx._run(self._core.get_xattrs(soid))
