"""The op engine: executes one client request (a list of librados ops on one object).

`execute` runs the ops in order against a working view of the object: the stored
object (read through the store's read API, only the parts an op needs) overlaid with
the changes of the earlier ops of the same request, so a read sees the request's own
writes. It returns the store `Transaction` that makes the request's changes, or None
when the request fails or only reads. Nothing is written here: the PG adds its log
entry to the transaction and applies it on every replica, so a request is all or
nothing.

Semantics follow Ceph's `PrimaryLogPG::do_osd_ops`:

- ops run in order; the first failing op fails the request with its errno and later
  ops do not run, unless it carries `FAILOK` (its own result still shows the error);
- writes create the object as needed (create, write*, append, setxattr, omap_set,
  omap_set_header); create with `exclusive` fails with EEXIST on an existing object;
- remove, rmxattr, omap_rm_keys, omap_rm_range, omap_clear need the object (ENOENT);
  truncate and zero of a missing object do nothing;
- zero reaching the end of the object shrinks it (Ceph turns it into a truncate);
- a read past the end is short (empty at or past the end); `length` 0 reads to the end;
- writes past `max_object_size` fail with EFBIG;
- cmpxattr compares the given value to the stored one (`value <op> stored`), omap_cmp
  the stored one to the given one (`stored <op> value`); both fail with ECANCELED;
- assert_version fails with ERANGE when the given version is older than the object's
  and EOVERFLOW when newer;
- an object that changed gets the request's version and mtime from the context.

One deliberate simplification: every read or guard of an object that does not exist
(at that point of the request) fails with ENOENT, where Ceph's answer depends on the
op and on whether the request also writes.
"""

from __future__ import annotations

import errno
import heapq
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any, NamedTuple, Protocol

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.osd.objectstore.store import MAX_OBJECT_SIZE, ReadPlan
from radospy.osd.objectstore.transaction import Transaction
from radospy.osd.objectstore.types import ObjectId, ObjectInfo, StoreError

_LEADING_DIGITS = re.compile(rb"\s*(\d+)")


class StoreReader(Protocol):
    """The read API of `ObjectStore` that the engine uses."""

    def stat(self, cid: str, oid: ObjectId) -> ObjectInfo | None: ...

    def read(
        self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None
    ) -> bytes: ...

    def read_buffer(
        self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None
    ) -> memoryview: ...

    def plan_read(
        self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None
    ) -> ReadPlan: ...

    def getxattrs(self, cid: str, oid: ObjectId) -> dict[str, bytes]: ...

    def omap_get_header(self, cid: str, oid: ObjectId) -> bytes: ...

    def omap_iter(
        self, cid: str, oid: ObjectId, start_after: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, bytes]]: ...

    def omap_get_vals_by_keys(
        self, cid: str, oid: ObjectId, keys: list[str]
    ) -> dict[str, bytes]: ...


@dataclass(frozen=True)
class OpContext:
    """What the PG decides for a request: when it happens and the version it gets.

    Limits default to Ceph's `osd_max_object_size`, `osd_max_omap_entries_per_request`
    and `osd_max_attr_name_len`.
    """

    mtime_ns: int
    version: Eversion
    max_object_size: int = 128 << 20
    max_omap_entries: int = 1024
    max_attr_name_len: int = 100


class ExecResult(NamedTuple):
    """The outcome of `execute`.

    `txn` is the transaction to apply (None when the request failed or only reads),
    `results` one result per op that ran (so shorter than the request when an op failed
    it), `rc` 0 or the negative errno that failed the request.
    """

    txn: Transaction | None
    results: list[o.OpResult]
    rc: int


def execute(
    store: StoreReader,
    cid: str,
    oid: ObjectId,
    ops: Sequence[o.OsdOp],
    ctx: OpContext,
    info: ObjectInfo | EllipsisType | None = ...,
) -> ExecResult:
    """Execute a request's ops on object `oid` of collection `cid` (see module doc).
    `info` is the object's stat when the caller has read it already (None: there is
    no such object), which saves reading it again."""
    if len(ops) == 1 and type(ops[0]) is o.Read:
        planned = plan_read_alone(store, cid, oid, ops[0], None)
        return planned if isinstance(planned, ExecResult) else finish_read(planned, ops[0])
    engine = _Engine(_WorkingObject.load(store, cid, oid, info), ctx)
    results: list[o.OpResult] = []
    for op in ops:
        result = engine.run(op)
        results.append(result)
        if result.rc < 0 and not op.failok:
            return ExecResult(None, results, result.rc)
    if not o.may_write(list(ops)):
        return ExecResult(None, results, 0)
    return ExecResult(engine.state.finish(ctx), results, 0)


def plan_read_alone(
    store: StoreReader, cid: str, oid: ObjectId, op: o.Read, defer_from: int | None
) -> ExecResult | ReadPlan:
    """A request of one read, as most are: what the engine would answer, from one store
    query (the object's lookup and its extents) instead of a stat and then a read.

    With ``defer_from``, a read that needs at least that many bytes from the block file
    is only looked up: its plan is returned, for the caller to `ReadPlan.fill` (on a
    thread, while other ops go on) and then `finish_read`."""
    try:
        plan = store.plan_read(cid, oid, op.offset, op.length or None)
    except StoreError as exc:
        return _read_failed(op, exc)
    if defer_from is not None and plan.io_bytes >= defer_from:
        return plan
    return finish_read(plan, op)


def finish_read(plan: ReadPlan, op: o.Read) -> ExecResult:
    """The answer to `plan_read_alone`'s deferred read: fills the plan unless that was
    done already (`fill` is idempotent)."""
    try:
        plan.fill()
    except StoreError as exc:
        return _read_failed(op, exc)
    return ExecResult(None, [o.ReadData(plan.result)], 0)  # type: ignore[arg-type]


def _read_failed(op: o.Read, exc: StoreError) -> ExecResult:
    status = o.Status(rc=-exc.errno)
    return ExecResult(None, [status], 0 if op.failok else status.rc)


class _OpError(Exception):
    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


def _fail(err: int) -> _OpError:
    return _OpError(-err)


@dataclass
class _WorkingObject:
    """The object as the request has made it so far, and the steps that made it so.

    Data: `data_base` says whether the stored bytes still underlie the view;
    `data_changes` are the request's writes/zeroes/truncates, replayed over the stored
    bytes of a read range. Omap: `omap_base` plus the request's sets, removals and
    removed ranges, merged with the stored pairs on listing.
    """

    store: StoreReader
    cid: str
    oid: ObjectId
    exists: bool
    size: int
    mtime_ns: int
    user_version: int
    data_base: bool
    omap_base: bool
    txn: Transaction = field(default_factory=Transaction)
    modified: bool = False
    data_changes: list[tuple[str, int, Any]] = field(default_factory=list)
    xattrs: dict[str, bytes] | None = None
    omap_set: dict[str, bytes] = field(default_factory=dict)
    omap_removed: set[str] = field(default_factory=set)
    omap_removed_ranges: list[tuple[str, str]] = field(default_factory=list)
    omap_header: bytes | None = None

    @classmethod
    def load(
        cls, store: StoreReader, cid: str, oid: ObjectId, info: ObjectInfo | EllipsisType | None
    ) -> _WorkingObject:
        if info is ...:
            info = store.stat(cid, oid)
        if info is None:
            return cls(store, cid, oid, False, 0, 0, 0, data_base=False, omap_base=False)
        return cls(
            store,
            cid,
            oid,
            True,
            info.size,
            info.mtime_ns,
            info.user_version,
            data_base=True,
            omap_base=True,
        )

    # --- existence --------------------------------------------------------------------

    def require(self) -> None:
        if not self.exists:
            raise _fail(errno.ENOENT)

    def ensure_created(self, ctx: OpContext) -> None:
        if self.exists:
            return
        self.exists = True
        self.size = 0
        self.user_version = 0
        self.mtime_ns = ctx.mtime_ns
        self.xattrs = {}
        self.txn.touch(self.cid, self.oid)

    def touched(self, ctx: OpContext) -> None:
        self.modified = True
        self.mtime_ns = ctx.mtime_ns

    def remove(self) -> None:
        self.txn.remove(self.cid, self.oid)
        self.exists = False
        self.size = 0
        self.data_base = self.omap_base = False
        self.data_changes.clear()
        self.xattrs = {}
        self._forget_omap()
        self.modified = True

    def finish(self, ctx: OpContext) -> Transaction:
        if self.modified and self.exists:
            self.txn.set_object_info(self.cid, self.oid, ctx.version, self.mtime_ns)
        return self.txn

    # --- data -------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        return bytes(self.read_view(offset, length))

    def read_view(self, offset: int, length: int) -> bytes | memoryview:
        """The object's bytes in the range, as the request has made them so far; bytes
        as stored come as a view of the store's read buffer (no copy of a 4 MiB read)."""
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        base: bytes | memoryview = b""
        if self.data_base:
            base = self.store.read_buffer(self.cid, self.oid, offset, end - offset)
            if not self.data_changes and len(base) == end - offset:
                return base
        buf = bytearray(end - offset)
        if base:
            buf[: len(base)] = base
        for kind, at, arg in self.data_changes:
            _replay(buf, offset, kind, at, arg)
        return bytes(buf)

    def write(self, offset: int, data: bytes) -> None:
        self.txn.write(self.cid, self.oid, offset, data)
        self.data_changes.append(("write", offset, data))
        self.size = max(self.size, offset + len(data))

    def truncate(self, size: int) -> None:
        self.txn.truncate(self.cid, self.oid, size)
        if size == 0:
            # Nothing stored or written so far can show through any more.
            self.data_base = False
            self.data_changes.clear()
        else:
            self.data_changes.append(("truncate", size, None))
        self.size = size

    def zero(self, offset: int, length: int) -> None:
        self.txn.zero(self.cid, self.oid, offset, length)
        self.data_changes.append(("zero", offset, length))

    # --- xattrs -----------------------------------------------------------------------

    def get_xattrs(self) -> dict[str, bytes]:
        if self.xattrs is None:
            self.xattrs = self.store.getxattrs(self.cid, self.oid)
        return self.xattrs

    # --- omap -------------------------------------------------------------------------

    def _forget_omap(self) -> None:
        self.omap_base = False
        self.omap_set.clear()
        self.omap_removed.clear()
        self.omap_removed_ranges.clear()
        self.omap_header = b""

    def omap_clear(self) -> None:
        self.txn.omap_clear(self.cid, self.oid)
        self._forget_omap()

    def omap_set_keys(self, entries: dict[str, bytes]) -> None:
        self.txn.omap_setkeys(self.cid, self.oid, entries)
        self.omap_set.update(entries)

    def omap_rm_keys(self, keys: list[str]) -> None:
        self.txn.omap_rmkeys(self.cid, self.oid, keys)
        for key in keys:
            self.omap_set.pop(key, None)
            self.omap_removed.add(key)

    def omap_rm_range(self, start: str, end: str) -> None:
        self.txn.omap_rmkeyrange(self.cid, self.oid, start, end)
        for key in [k for k in self.omap_set if start <= k < end]:
            del self.omap_set[key]
        self.omap_removed_ranges.append((start, end))

    def _hidden(self, key: str) -> bool:
        return (
            key in self.omap_set
            or key in self.omap_removed
            or any(start <= key < end for start, end in self.omap_removed_ranges)
        )

    def omap_iter(self, start_after: str, prefix: str) -> Iterator[tuple[str, bytes]]:
        overlay = sorted(
            (k, v) for k, v in self.omap_set.items() if k > start_after and k.startswith(prefix)
        )
        if not self.omap_base:
            return iter(overlay)
        base = (
            (k, v)
            for k, v in self.store.omap_iter(self.cid, self.oid, start_after, prefix)
            if not self._hidden(k)
        )
        return heapq.merge(base, overlay)

    def omap_get(self, keys: Sequence[str]) -> dict[str, bytes]:
        wanted = sorted(set(keys))
        stored: dict[str, bytes] = {}
        if self.omap_base:
            lookup = [k for k in wanted if not self._hidden(k)]
            stored = self.store.omap_get_vals_by_keys(self.cid, self.oid, lookup)
        found = {k: self.omap_set[k] if k in self.omap_set else stored.get(k) for k in wanted}
        return {k: v for k, v in found.items() if v is not None}

    def get_omap_header(self) -> bytes:
        if self.omap_header is None:
            self.omap_header = (
                self.store.omap_get_header(self.cid, self.oid) if self.omap_base else b""
            )
        return self.omap_header


def _replay(buf: bytearray, offset: int, kind: str, at: int, arg: Any) -> None:
    """Apply one data change to `buf`, which holds the object's bytes from `offset`."""
    end = offset + len(buf)
    if kind == "write":
        lo, hi = max(offset, at), min(end, at + len(arg))
        if lo < hi:
            buf[lo - offset : hi - offset] = arg[lo - at : hi - at]
        return
    # zero and truncate both leave zeros behind (truncate: everything from `at` on).
    lo = max(offset, at)
    hi = end if kind == "truncate" else min(end, at + arg)
    if lo < hi:
        buf[lo - offset : hi - offset] = bytes(hi - lo)


def _check_extent(offset: int, length: int, ctx: OpContext) -> None:
    """Ceph's `check_offset_and_length` against `osd_max_object_size`."""
    limit = min(ctx.max_object_size, MAX_OBJECT_SIZE)
    if offset >= limit or length > limit or offset + length > limit:
        raise _fail(errno.EFBIG)


def _compare(op: o.CmpOp, left: Any, right: Any) -> bool:
    if op == o.CmpOp.EQ:
        return left == right
    if op == o.CmpOp.NE:
        return left != right
    if op == o.CmpOp.GT:
        return left > right
    if op == o.CmpOp.GTE:
        return left >= right
    if op == o.CmpOp.LT:
        return left < right
    return left <= right


def _leading_u64(value: bytes) -> int:
    """`atoll` of a stored value: its leading decimal digits, 0 when none."""
    match = _LEADING_DIGITS.match(value)
    return int(match.group(1)) if match else 0


class _Engine:
    """Runs ops one at a time against a working object."""

    def __init__(self, state: _WorkingObject, ctx: OpContext) -> None:
        self.state = state
        self.ctx = ctx

    def run(self, op: o.OsdOp) -> o.OpResult:
        """One op's result; errors become a `Status` with a negative `rc`."""
        try:
            return _HANDLERS[type(op)](self, op)
        except _OpError as exc:
            return o.Status(rc=exc.rc)
        except StoreError as exc:
            return o.Status(rc=-exc.errno)

    # --- data writes ------------------------------------------------------------------

    def _create(self, op: o.Create) -> o.OpResult:
        if op.exclusive and self.state.exists:
            raise _fail(errno.EEXIST)
        self.state.ensure_created(self.ctx)
        self.state.touched(self.ctx)
        return o.Status()

    def _write(self, op: o.Write) -> o.OpResult:
        return self._write_at(op.offset, op.data)

    def _write_at(self, offset: int, data: bytes) -> o.OpResult:
        _check_extent(offset, len(data), self.ctx)
        state = self.state
        state.ensure_created(self.ctx)
        if data:
            state.write(offset, data)
        elif offset > state.size:
            state.truncate(offset)
        state.touched(self.ctx)
        return o.Status()

    def _write_full(self, op: o.WriteFull) -> o.OpResult:
        _check_extent(0, len(op.data), self.ctx)
        state = self.state
        state.ensure_created(self.ctx)
        state.truncate(0)
        if op.data:
            state.write(0, op.data)
        state.touched(self.ctx)
        return o.Status()

    def _append(self, op: o.Append) -> o.OpResult:
        return self._write_at(self.state.size, op.data)

    def _writesame(self, op: o.WriteSame) -> o.OpResult:
        if not op.data or op.length % len(op.data):
            raise _fail(errno.EINVAL)
        _check_extent(op.offset, op.length, self.ctx)
        return self._write_at(op.offset, op.data * (op.length // len(op.data)))

    def _zero(self, op: o.Zero) -> o.OpResult:
        _check_extent(op.offset, op.length, self.ctx)
        state = self.state
        if not state.exists or op.length == 0 or op.offset >= state.size:
            return o.Status()
        if op.offset + op.length >= state.size:
            state.truncate(op.offset)
        else:
            state.zero(op.offset, op.length)
        state.touched(self.ctx)
        return o.Status()

    def _truncate(self, op: o.Truncate) -> o.OpResult:
        state = self.state
        if not state.exists:
            return o.Status()
        _check_extent(op.size, 0, self.ctx)
        state.truncate(op.size)
        state.touched(self.ctx)
        return o.Status()

    def _remove(self, op: o.Remove) -> o.OpResult:
        self.state.require()
        self.state.remove()
        return o.Status()

    # --- data reads and guards --------------------------------------------------------

    def _read(self, op: o.Read) -> o.OpResult:
        self.state.require()
        length = op.length or max(0, self.state.size - op.offset)
        # A view is sent as it is: the reply is encoded before the buffer could change.
        return o.ReadData(self.state.read_view(op.offset, length))  # type: ignore[arg-type]

    def _stat(self, op: o.Stat) -> o.OpResult:
        self.state.require()
        return o.StatData(self.state.size, self.state.mtime_ns)

    def _assert_exists(self, op: o.AssertExists) -> o.OpResult:
        self.state.require()
        return o.Status()

    def _assert_version(self, op: o.AssertVersion) -> o.OpResult:
        self.state.require()
        if op.version == 0:
            raise _fail(errno.EINVAL)
        if op.version < self.state.user_version:
            raise _fail(errno.ERANGE)
        if op.version > self.state.user_version:
            raise _fail(errno.EOVERFLOW)
        return o.Status()

    def _cmpext(self, op: o.CmpExt) -> o.OpResult:
        self.state.require()
        stored = self.state.read(op.offset, len(op.data)).ljust(len(op.data), b"\0")
        for index, (want, have) in enumerate(zip(op.data, stored, strict=True)):
            if want != have:
                return o.Status(rc=-o.MAX_ERRNO - index)
        return o.Status()

    # --- xattrs -----------------------------------------------------------------------

    def _setxattr(self, op: o.SetXattr) -> o.OpResult:
        if len(op.name.encode()) > self.ctx.max_attr_name_len:
            raise _fail(errno.ENAMETOOLONG)
        state = self.state
        state.ensure_created(self.ctx)
        state.get_xattrs()[op.name] = op.value
        state.txn.setattrs(state.cid, state.oid, {op.name: op.value})
        state.touched(self.ctx)
        return o.Status()

    def _getxattr(self, op: o.GetXattr) -> o.OpResult:
        self.state.require()
        value = self.state.get_xattrs().get(op.name)
        if value is None:
            raise _fail(errno.ENODATA)
        return o.XattrValue(value)

    def _getxattrs(self, op: o.GetXattrs) -> o.OpResult:
        self.state.require()
        return o.XattrMap(dict(sorted(self.state.get_xattrs().items())))

    def _rmxattr(self, op: o.RmXattr) -> o.OpResult:
        state = self.state
        state.require()
        state.get_xattrs().pop(op.name, None)
        state.txn.rmattr(state.cid, state.oid, op.name)
        state.touched(self.ctx)
        return o.Status()

    def _cmpxattr(self, op: o.CmpXattr) -> o.OpResult:
        self.state.require()
        stored = self.state.get_xattrs().get(op.name, b"")
        if op.mode == o.CmpMode.U64:
            if not op.value.strip().isdigit():
                raise _fail(errno.EINVAL)
            holds = _compare(op.op, int(op.value), _leading_u64(stored))
        else:
            holds = _compare(op.op, op.value, stored)
        if not holds:
            raise _fail(errno.ECANCELED)
        return o.Status()

    # --- omap -------------------------------------------------------------------------

    def _omap_page(
        self, start_after: str, prefix: str, max_return: int
    ) -> tuple[list[tuple[str, bytes]], bool]:
        limit = min(max_return, self.ctx.max_omap_entries)
        page: list[tuple[str, bytes]] = []
        for pair in self.state.omap_iter(start_after, prefix):
            if len(page) == limit:
                return page, True
            page.append(pair)
        return page, False

    def _omap_get_vals(self, op: o.OmapGetVals) -> o.OpResult:
        self.state.require()
        page, more = self._omap_page(op.start_after, op.filter_prefix, op.max_return)
        return o.OmapVals(dict(page), more)

    def _omap_get_keys(self, op: o.OmapGetKeys) -> o.OpResult:
        self.state.require()
        page, more = self._omap_page(op.start_after, "", op.max_return)
        return o.OmapKeys([key for key, _ in page], more)

    def _omap_get_vals_by_keys(self, op: o.OmapGetValsByKeys) -> o.OpResult:
        self.state.require()
        return o.OmapVals(self.state.omap_get(op.keys))

    def _omap_get_header(self, op: o.OmapGetHeader) -> o.OpResult:
        self.state.require()
        return o.OmapHeader(self.state.get_omap_header())

    def _omap_set(self, op: o.OmapSet) -> o.OpResult:
        state = self.state
        state.ensure_created(self.ctx)
        state.omap_set_keys(dict(op.entries))
        state.touched(self.ctx)
        return o.Status()

    def _omap_set_header(self, op: o.OmapSetHeader) -> o.OpResult:
        state = self.state
        state.ensure_created(self.ctx)
        state.omap_header = op.data
        state.txn.omap_setheader(state.cid, state.oid, op.data)
        state.touched(self.ctx)
        return o.Status()

    def _omap_rm_keys(self, op: o.OmapRmKeys) -> o.OpResult:
        self.state.require()
        self.state.omap_rm_keys(list(op.keys))
        self.state.touched(self.ctx)
        return o.Status()

    def _omap_rm_range(self, op: o.OmapRmRange) -> o.OpResult:
        self.state.require()
        self.state.omap_rm_range(op.start, op.end)
        self.state.touched(self.ctx)
        return o.Status()

    def _omap_clear(self, op: o.OmapClear) -> o.OpResult:
        self.state.require()
        self.state.omap_clear()
        self.state.touched(self.ctx)
        return o.Status()

    def _omap_cmp(self, op: o.OmapCmp) -> o.OpResult:
        self.state.require()
        if op.op not in (o.CmpOp.EQ, o.CmpOp.LT, o.CmpOp.GT):
            raise _fail(errno.EINVAL)
        stored = self.state.omap_get([op.key]).get(op.key, b"")
        if not _compare(op.op, stored, op.value):
            raise _fail(errno.ECANCELED)
        return o.Status()


# Built once, not per op: the handler of each op type.
_HANDLERS: dict[type, Callable[[_Engine, Any], o.OpResult]] = {
    o.Create: _Engine._create,
    o.Write: _Engine._write,
    o.WriteFull: _Engine._write_full,
    o.Append: _Engine._append,
    o.WriteSame: _Engine._writesame,
    o.Zero: _Engine._zero,
    o.Truncate: _Engine._truncate,
    o.Remove: _Engine._remove,
    o.Read: _Engine._read,
    o.Stat: _Engine._stat,
    o.AssertExists: _Engine._assert_exists,
    o.AssertVersion: _Engine._assert_version,
    o.CmpExt: _Engine._cmpext,
    o.SetXattr: _Engine._setxattr,
    o.GetXattr: _Engine._getxattr,
    o.GetXattrs: _Engine._getxattrs,
    o.RmXattr: _Engine._rmxattr,
    o.CmpXattr: _Engine._cmpxattr,
    o.OmapGetVals: _Engine._omap_get_vals,
    o.OmapGetKeys: _Engine._omap_get_keys,
    o.OmapGetValsByKeys: _Engine._omap_get_vals_by_keys,
    o.OmapGetHeader: _Engine._omap_get_header,
    o.OmapSet: _Engine._omap_set,
    o.OmapSetHeader: _Engine._omap_set_header,
    o.OmapRmKeys: _Engine._omap_rm_keys,
    o.OmapRmRange: _Engine._omap_rm_range,
    o.OmapClear: _Engine._omap_clear,
    o.OmapCmp: _Engine._omap_cmp,
}
