"""A librados-shaped client: `Rados`, `Ioctx`, `WriteOp`/`ReadOp`, `Completion`.

The names, signatures and exceptions are those of Ceph's Python binding (`rados.pyx`),
so code written for `import rados` runs against radospy with `import radospy as rados`.

Two layers: `AsyncRados`/`AsyncIoctx` are asyncio-native (coroutines on the caller's
loop); `Rados`/`Ioctx` are the synchronous facade, running an `AsyncRados` on an event
loop in a background thread, and what the `aio_*` calls' `Completion`s wait on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import json
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from radospy.client import snapshots
from radospy.client.objecter import MESSENGER as OBJECTER_MESSENGER
from radospy.client.objecter import Objecter
from radospy.client.snapshots import LIBRADOS_SNAP_DIR as LIBRADOS_SNAP_DIR
from radospy.client.snapshots import LIBRADOS_SNAP_HEAD as LIBRADOS_SNAP_HEAD
from radospy.client.snapshots import Snap, SnapIterator, SnapState
from radospy.common import osdop as o
from radospy.common.config import Config, find_conf
from radospy.common.errors import RadosError
from radospy.mon.client import MonClient, client_config
from radospy.osd.messages import ListEntry, ObjectLocator
from radospy.osdmap.pg import PgId

T = TypeVar("T")

LIBRADOS_ALL_NSPACES = "\001"
"""`set_namespace(LIBRADOS_ALL_NSPACES)` lists every namespace (Ceph's value)."""
LIBRADOS_OPERATION_NOFLAG = 0
LIBRADOS_OP_FLAG_EXCL = int(o.OpFlag.EXCL)
LIBRADOS_OP_FLAG_FAILOK = int(o.OpFlag.FAILOK)
LIBRADOS_CREATE_EXCLUSIVE = 1
LIBRADOS_CREATE_IDEMPOTENT = 0
LIBRADOS_CMPXATTR_OP_EQ = int(o.CmpOp.EQ)
LIBRADOS_CMPXATTR_OP_NE = int(o.CmpOp.NE)
LIBRADOS_CMPXATTR_OP_GT = int(o.CmpOp.GT)
LIBRADOS_CMPXATTR_OP_GTE = int(o.CmpOp.GTE)
LIBRADOS_CMPXATTR_OP_LT = int(o.CmpOp.LT)
LIBRADOS_CMPXATTR_OP_LTE = int(o.CmpOp.LTE)
MAX_ERRNO = o.MAX_ERRNO


# --- exceptions (rados.pyx's hierarchy) --------------------------------------------------


class Error(RadosError):
    """Base of every radospy client error (`rados.Error`)."""


class OSError(Error):
    """An error with an errno (`rados.OSError`)."""


class InvalidArgumentError(OSError):
    errno = errno.EINVAL


class PermissionError(OSError):
    errno = errno.EPERM


class PermissionDeniedError(OSError):
    errno = errno.EACCES


class ObjectNotFound(OSError):
    errno = errno.ENOENT


class NoData(OSError):
    errno = errno.ENODATA


class ObjectExists(OSError):
    errno = errno.EEXIST


class ObjectBusy(OSError):
    errno = errno.EBUSY


class IOError(OSError):
    errno = errno.EIO


class NoSpace(OSError):
    errno = errno.ENOSPC


class NotConnected(OSError):
    errno = errno.ENOTCONN


class TimedOut(OSError):
    errno = errno.ETIMEDOUT


class InterruptedOrTimeoutError(OSError):
    errno = errno.EINTR


class RadosStateError(Error):
    """A call that the handle's state (configuring, connected, shutdown) forbids."""


class IoctxStateError(Error):
    """A call on a closed Ioctx."""


_ERRNO_CLASSES: dict[int, type[OSError]] = {
    errno.EINVAL: InvalidArgumentError,
    errno.EPERM: PermissionError,
    errno.EACCES: PermissionDeniedError,
    errno.ENOENT: ObjectNotFound,
    errno.ENODATA: NoData,
    errno.EEXIST: ObjectExists,
    errno.EBUSY: ObjectBusy,
    errno.EIO: IOError,
    errno.ENOSPC: NoSpace,
    errno.EDQUOT: NoSpace,
    errno.ENOTCONN: NotConnected,
    errno.ETIMEDOUT: TimedOut,
    errno.EINTR: InterruptedOrTimeoutError,
}


def make_ex(ret: int, msg: str) -> OSError:
    """The exception for a negative (or positive) errno `ret`, as rados.pyx's `make_ex`."""
    code = abs(ret)
    cls = _ERRNO_CLASSES.get(code, OSError)
    text = os.strerror(code)
    return cls(f"{msg}: [Errno {code}] {text}", code)


def _raise_for(rc: int, msg: str) -> None:
    if rc < 0:
        raise make_ex(rc, msg)


def _translate(exc: RadosError, msg: str) -> Error:
    if isinstance(exc, Error):
        return exc
    return make_ex(exc.errno, f"{msg}: {exc}" if str(exc) else msg)


# --- compound ops ----------------------------------------------------------------------


class _Op:
    """Ops collected for one `operate_*_op` call; nothing is sent before it."""

    def __init__(self) -> None:
        self.ops: list[o.OsdOp] = []
        self.flags = 0
        self._sinks: list[tuple[int, Callable[[o.OpResult], None]]] = []

    def set_flags(self, flags: int) -> None:
        """Op flags (`LIBRADOS_OP_FLAG_*`) for every op added after this call."""
        self.flags = flags

    def _add(self, op: o.OsdOp, sink: Callable[[o.OpResult], None] | None = None) -> None:
        if sink is not None:
            self._sinks.append((len(self.ops), sink))
        self.ops.append(op)

    def _deliver(self, results: Sequence[o.OpResult]) -> None:
        for index, sink in self._sinks:
            if index < len(results):
                sink(results[index])

    def release(self) -> None:
        """Accepted for the old-style API; nothing to free."""

    def __enter__(self) -> _Op:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class WriteOp(_Op):
    """Write ops applied atomically by `Ioctx.operate_write_op`."""

    def new(self, exclusive: int | None = None) -> None:
        self._add(o.Create(exclusive=bool(exclusive), flags=self.flags))

    def remove(self) -> None:
        self._add(o.Remove(flags=self.flags))

    def write(self, to_write: bytes, offset: int = 0) -> None:
        self._add(o.Write(offset=offset, data=bytes(to_write), flags=self.flags))

    def write_full(self, to_write: bytes) -> None:
        self._add(o.WriteFull(data=bytes(to_write), flags=self.flags))

    def append(self, to_append: bytes) -> None:
        self._add(o.Append(data=bytes(to_append), flags=self.flags))

    def writesame(self, to_write: bytes, write_len: int, offset: int = 0) -> None:
        self._add(o.WriteSame(offset=offset, length=write_len, data=bytes(to_write)))

    def zero(self, offset: int, length: int) -> None:
        self._add(o.Zero(offset=offset, length=length, flags=self.flags))

    def truncate(self, offset: int) -> None:
        self._add(o.Truncate(size=offset, flags=self.flags))

    def set_xattr(self, xattr_name: str, xattr_value: bytes) -> None:
        self._add(o.SetXattr(name=xattr_name, value=bytes(xattr_value), flags=self.flags))

    def rm_xattr(self, xattr_name: str) -> None:
        self._add(o.RmXattr(name=xattr_name, flags=self.flags))

    def assert_version(self, version: int) -> None:
        self._add(o.AssertVersion(version=version, flags=self.flags))

    def assert_exists(self) -> None:
        self._add(o.AssertExists(flags=self.flags))

    def cmpext(self, cmp_buf: bytes, offset: int = 0) -> None:
        self._add(o.CmpExt(offset=offset, data=bytes(cmp_buf), flags=self.flags))

    def cmpxattr(self, xattr_name: str, cmp_op: int, value: bytes) -> None:
        self._add(o.CmpXattr(name=xattr_name, op=o.CmpOp(cmp_op), value=bytes(value)))

    def omap_cmp(self, key: str, val: bytes, cmp_op: int) -> None:
        self._add(o.OmapCmp(key=key, value=bytes(val), op=o.CmpOp(cmp_op)))


class WriteOpCtx(WriteOp):
    """`with WriteOpCtx() as op:` (rados.pyx's spelling)."""


class ReadOp(_Op):
    """Read ops run by `Ioctx.operate_read_op`; their iterators fill afterwards."""

    def cmpext(self, cmp_buf: bytes, offset: int = 0) -> None:
        self._add(o.CmpExt(offset=offset, data=bytes(cmp_buf), flags=self.flags))

    def assert_exists(self) -> None:
        self._add(o.AssertExists(flags=self.flags))


class ReadOpCtx(ReadOp):
    """`with ReadOpCtx() as op:`."""


class OmapIterator:
    """Yields `(key, value)` (or `(key, None)` for key listings) once the op ran."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes | None]] = []
        self.rc = 0

    def fill(self, result: o.OpResult) -> None:
        self.rc = result.rc
        if isinstance(result, o.OmapVals):
            self.items = list(result.entries.items())
        elif isinstance(result, o.OmapKeys):
            self.items = [(k, None) for k in result.keys]

    def __iter__(self) -> Iterator[tuple[str, bytes | None]]:
        return iter(self.items)

    def __next__(self) -> tuple[str, bytes | None]:
        if not self.items:
            raise StopIteration
        return self.items.pop(0)


# --- the asyncio-native core -----------------------------------------------------------


class AsyncRados:
    """The cluster handle on the caller's event loop."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.monc: MonClient | None = None
        self.objecter: Objecter | None = None

    async def connect(self, timeout: float | None = None) -> None:
        """Authenticate to the monitors and get the first OSDMap."""
        cfg = client_config(self.config, timeout)
        self.monc = MonClient(cfg)
        try:
            await self.monc.connect()
        except RadosError as exc:
            await self.monc.close()
            self.monc = None
            raise _translate(exc, "error connecting to the cluster") from None
        op_timeout = float(self.config.get_int("rados_osd_op_timeout"))
        self.objecter = Objecter(
            self.monc, cfg.entity, cfg.key, cfg.mon_addrs, op_timeout,
            messenger=OBJECTER_MESSENGER.with_modes(self.config),
        )  # fmt: skip
        await self.objecter.start(cfg.timeout)

    async def shutdown(self) -> None:
        if self.objecter is not None:
            await self.objecter.close()
        if self.monc is not None:
            await self.monc.close()
        self.objecter = self.monc = None

    def _objecter(self) -> Objecter:
        if self.objecter is None:
            raise RadosStateError("RADOS is not connected")
        return self.objecter

    async def mon_command(
        self, cmd: dict[str, Any], inbuf: bytes = b"", timeout: float | None = None
    ) -> tuple[int, bytes, str]:
        if self.monc is None:
            raise RadosStateError("RADOS is not connected")
        mon_timeout = float(self.config.get_int("rados_mon_op_timeout"))
        return await self.monc.command(cmd, inbuf, timeout or mon_timeout or None)

    async def wait_for_latest_osdmap(self) -> None:
        """Wait until the client's map is the monitors' newest."""
        rc, out, outs = await self.mon_command({"prefix": "osd stat", "format": "json"})
        _raise_for(rc, f"osd stat: {outs}")
        await self._objecter().wait_for_epoch(int(json.loads(out)["epoch"]), None)

    async def get_inconsistent_objects(self, pgid: str) -> dict[str, Any]:
        """``{"epoch", "inconsistents"}``: what PG ``pgid``'s last scrub found
        (librados' ``get_inconsistent_objects``)."""
        await self.wait_for_latest_osdmap()
        try:
            pg = PgId.parse(pgid)
        except RadosError:
            raise InvalidArgumentError(f"invalid pgid '{pgid}'", errno.EINVAL) from None
        osdmap = self._objecter().osdmap
        assert osdmap is not None
        pool = osdmap.pools.get(pg.pool)
        if pool is None or pg.seed >= pool.pg_num:
            raise ObjectNotFound(f"pg {pg} does not exist", errno.ENOENT)
        reply = await self._objecter().scrub_ls(pg.pool, pg.seed)
        return {"epoch": reply.epoch, "inconsistents": json.loads(reply.inconsistents)}

    async def get_inconsistent_pgs(self, pool_id: int) -> list[str]:
        """The PGs of a pool whose last scrub found inconsistencies."""
        osdmap = self._objecter().osdmap
        assert osdmap is not None
        if pool_id not in osdmap.pools:
            raise ObjectNotFound(f"pool {pool_id} does not exist", errno.ENOENT)
        found = []
        for seed in range(osdmap.pools[pool_id].pg_num):
            reply = await self._objecter().scrub_ls(pool_id, seed)
            if json.loads(reply.inconsistents):
                found.append(str(PgId(pool_id, seed)))
        return found

    async def pool_lookup(self, name: str) -> int | None:
        await self.wait_for_latest_osdmap()
        osdmap = self._objecter().osdmap
        assert osdmap is not None
        for pool in osdmap.pools.values():
            if pool.name == name:
                return pool.id
        return None

    async def list_pools(self) -> list[str]:
        await self.wait_for_latest_osdmap()
        osdmap = self._objecter().osdmap
        assert osdmap is not None
        return [p.name for p in sorted(osdmap.pools.values(), key=lambda p: p.id)]

    async def create_pool(self, pool_name: str, crush_rule: int | None = None) -> None:
        if await self.pool_lookup(pool_name) is not None:
            raise ObjectExists(f"pool '{pool_name}' exists", errno.EEXIST)
        cmd: dict[str, Any] = {"prefix": "osd pool create", "pool": pool_name}
        if crush_rule is not None:
            rc, out, _ = await self.mon_command({"prefix": "osd crush rule ls", "format": "json"})
            rules = json.loads(out) if rc == 0 else []
            if isinstance(crush_rule, int) and 0 <= crush_rule < len(rules):
                cmd["rule"] = rules[crush_rule]
        rc, _, outs = await self.mon_command(cmd)
        _raise_for(rc, f"error creating pool '{pool_name}': {outs}")
        await self.wait_for_latest_osdmap()

    async def delete_pool(self, pool_name: str) -> None:
        cmd = {
            "prefix": "osd pool delete",
            "pool": pool_name,
            "pool2": pool_name,
            "yes_i_really_really_mean_it": True,
        }
        rc, _, outs = await self.mon_command(cmd)
        _raise_for(rc, f"error deleting pool '{pool_name}': {outs}")
        await self.wait_for_latest_osdmap()

    async def open_ioctx(self, pool_name: str) -> AsyncIoctx:
        pool_id = await self.pool_lookup(pool_name)
        if pool_id is None:
            raise ObjectNotFound(f"error opening pool '{pool_name}'", errno.ENOENT)
        return AsyncIoctx(self, pool_id, pool_name)


class AsyncIoctx:
    """One pool (plus a namespace and locator key) of an `AsyncRados`."""

    def __init__(self, rados: AsyncRados, pool_id: int, pool_name: str) -> None:
        self.rados = rados
        self.pool_id = pool_id
        self.name = pool_name
        self.nspace = ""
        self.locator_key = ""
        self.last_version = 0
        self.snap = SnapState()

    def _loc(self, key: str) -> ObjectLocator:
        if self.nspace == LIBRADOS_ALL_NSPACES:
            raise InvalidArgumentError("no object ops with LIBRADOS_ALL_NSPACES", errno.EINVAL)
        return ObjectLocator(self.pool_id, self.nspace, key, self.locator_key)

    async def operate(
        self, key: str, ops: list[o.OsdOp], what: str, *, views: bool = False
    ) -> list[o.OpResult]:
        """Run ``ops`` on object ``key``; raises the errno of a failed request. With
        ``views``, read data comes as `ReadDataView` (no copy out of the reply)."""
        try:
            snap = self.snap
            reply = await self.rados._objecter().op(
                self._loc(key),
                ops,
                snap_seq=snap.seq,
                snaps=snap.snaps,
                snap=snap.read,
                views=views,
            )
        except RadosError as exc:
            raise _translate(exc, f"{what} {key}") from None
        if reply.user_version:
            self.last_version = reply.user_version
        _raise_for(reply.rc, f"Failed to {what} object {key}")
        return list(reply.results)

    async def write(self, key: str, data: bytes, offset: int = 0) -> None:
        await self.operate(key, [o.Write(offset=offset, data=bytes(data))], "write")

    async def write_full(self, key: str, data: bytes) -> None:
        await self.operate(key, [o.WriteFull(data=bytes(data))], "write_full")

    async def append(self, key: str, data: bytes) -> None:
        await self.operate(key, [o.Append(data=bytes(data))], "append")

    async def read(self, key: str, length: int = 8192, offset: int = 0) -> bytes:
        if length == 0:
            return b""
        results = await self.operate(key, [o.Read(offset=offset, length=length)], "read")
        result = results[0]
        return result.data if isinstance(result, o.ReadData) else b""

    async def read_view(self, key: str, length: int = 8192, offset: int = 0) -> memoryview:
        """`read` without the copy into bytes: a read-only view of the reply's buffer,
        for callers that only look at the data (``rados bench`` verifying it) or copy
        it somewhere themselves (assembling a striped read)."""
        if length == 0:
            return memoryview(b"")
        ops: list[o.OsdOp] = [o.Read(offset=offset, length=length)]
        result = (await self.operate(key, ops, "read", views=True))[0]
        return result.data.toreadonly() if isinstance(result, o.ReadDataView) else memoryview(b"")

    async def stat(self, key: str) -> tuple[int, int]:
        """(size, mtime in nanoseconds)."""
        result = (await self.operate(key, [o.Stat()], "stat"))[0]
        assert isinstance(result, o.StatData)
        return result.size, result.mtime_ns

    async def trunc(self, key: str, size: int) -> None:
        await self.operate(key, [o.AssertExists(), o.Truncate(size=size)], "truncate")

    async def remove_object(self, key: str) -> None:
        await self.operate(key, [o.Remove()], "delete")

    async def get_xattr(self, key: str, xattr_name: str) -> bytes:
        result = (await self.operate(key, [o.GetXattr(name=xattr_name)], "get xattr"))[0]
        return result.value if isinstance(result, o.XattrValue) else b""

    async def get_xattrs(self, key: str) -> dict[str, bytes]:
        result = (await self.operate(key, [o.GetXattrs()], "get xattrs"))[0]
        return dict(result.xattrs) if isinstance(result, o.XattrMap) else {}

    async def set_xattr(self, key: str, xattr_name: str, xattr_value: bytes) -> None:
        op = o.SetXattr(name=xattr_name, value=bytes(xattr_value))
        await self.operate(key, [op], "set xattr")

    async def rm_xattr(self, key: str, xattr_name: str) -> None:
        await self.operate(key, [o.RmXattr(name=xattr_name)], "delete xattr")

    async def list_objects(self) -> list[ListEntry]:
        all_ns = self.nspace == LIBRADOS_ALL_NSPACES
        try:
            return await self.rados._objecter().list_objects(
                self.pool_id, "" if all_ns else self.nspace, all_ns
            )
        except RadosError as exc:
            raise _translate(exc, "list objects") from None

    async def operate_write_op(self, write_op: WriteOp, oid: str) -> None:
        results = await self.operate(oid, write_op.ops, "operate write op on")
        write_op._deliver(results)

    async def operate_read_op(self, read_op: ReadOp, oid: str) -> None:
        results = await self.operate(oid, read_op.ops, "operate read op on")
        read_op._deliver(results)

    # --- snapshots (see radospy.client.snapshots) ------------------------------------

    async def _snap_command(self, prefix: str, what: str, **args: Any) -> bytes:
        rc, out, outs = await self.rados.mon_command({"prefix": prefix, "pool": self.name, **args})
        _raise_for(rc, f"{what}: {outs}")
        await self.rados.wait_for_latest_osdmap()
        return out

    async def list_snaps(self) -> list[tuple[int, str, float]]:
        await self.rados.wait_for_latest_osdmap()
        return snapshots.pool_snaps(self.rados._objecter().pool_extras.get(self.pool_id))

    async def lookup_snap(self, snap_name: str) -> tuple[int, float]:
        await self.rados.wait_for_latest_osdmap()
        extras = self.rados._objecter().pool_extras.get(self.pool_id)
        try:
            return snapshots.find_snap(extras, snap_name)
        except RadosError as exc:
            raise _translate(exc, "Failed to lookup snap") from None

    async def create_snap(self, snap_name: str) -> None:
        what = f"Failed to create snap {snap_name}"
        if any(name == snap_name for _, name, _ in await self.list_snaps()):
            raise make_ex(-errno.EEXIST, what)
        await self._snap_command("osd pool mksnap", what, snap=snap_name)

    async def remove_snap(self, snap_name: str) -> None:
        what = f"Failed to remove snap {snap_name}"
        if all(name != snap_name for _, name, _ in await self.list_snaps()):
            raise make_ex(-errno.ENOENT, what)
        await self._snap_command("osd pool rmsnap", what, snap=snap_name)

    async def rollback(self, oid: str, snap_id: int) -> None:
        await self.operate(oid, [o.Rollback(snap=snap_id)], "rollback")

    async def create_self_managed_snap(self) -> int:
        what = "Failed to create self managed snapshot"
        return int(await self._snap_command("osd pool selfmanaged-snap create", what))

    async def remove_self_managed_snap(self, snap_id: int) -> None:
        what = f"Failed to remove self managed snapshot {snap_id}"
        await self._snap_command("osd pool selfmanaged-snap rm", what, snapid=snap_id)

    async def list_object_snaps(self, oid: str) -> o.SnapList:
        """The clones and head of ``oid`` (`rados listsnaps`)."""
        result = (await self.operate(oid, [o.ListSnaps()], "list snaps of"))[0]
        assert isinstance(result, o.SnapList)
        return result


# --- the synchronous facade ------------------------------------------------------------


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (as the daemons run), else asyncio's own: uvloop's
    transports write big payloads with fewer copies and less CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _LoopThread:
    """An event loop running in a daemon thread; coroutines submitted from any thread."""

    def __init__(self) -> None:
        self.loop = _new_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.submit(coro).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class Completion:
    """An `aio_*` operation in flight (rados.pyx's `Completion`)."""

    def __init__(self, future: concurrent.futures.Future[Any]) -> None:
        self._future = future

    def is_complete(self) -> bool:
        return self._future.done()

    def is_safe(self) -> bool:
        return self._future.done()

    def wait_for_complete(self) -> None:
        concurrent.futures.wait([self._future])

    wait_for_safe = wait_for_complete
    wait_for_complete_and_cb = wait_for_complete

    def get_return_value(self) -> int:
        """0 or a negative errno once complete; for a read, the bytes read."""
        self.wait_for_complete()
        exc = self._future.exception()
        if exc is not None:
            return -exc.errno if isinstance(exc, RadosError) else -errno.EIO
        value = self._future.result()
        return len(value) if isinstance(value, bytes) else 0


class Rados:
    """The cluster handle: `Rados(conffile=..., conf=..., rados_id=...)`, then `connect()`."""

    def __init__(
        self,
        rados_id: str | None = None,
        name: str | None = None,
        clustername: str | None = None,
        conf_defaults: dict[str, str] | None = None,
        conffile: str | None = None,
        conf: dict[str, str] | None = None,
        flags: int = 0,
    ) -> None:
        if rados_id is not None and name is not None:
            raise Error("Rados(): can't supply both rados_id and name")
        entity = name or f"client.{rados_id or 'admin'}"
        try:
            self.config = Config(entity, clustername)
            for key, value in (conf_defaults or {}).items():
                self.config.set(key, value)
            path = find_conf(conffile or None)
            if path is not None:
                self.config.load_file(path)
            for key, value in (conf or {}).items():
                self.config.set(key, value)
        except RadosError as exc:
            raise _translate(exc, "error configuring the cluster handle") from None
        self.state = "configuring"
        self._core = AsyncRados(self.config)
        self._thread: _LoopThread | None = None

    @classmethod
    def from_config(cls, config: Config) -> Rados:
        """A handle on an already built configuration (what the CLI tools parsed)."""
        rados = cls.__new__(cls)
        rados.config = config
        rados.state = "configuring"
        rados._core = AsyncRados(config)
        rados._thread = None
        return rados

    # --- life cycle ---------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._thread is None or self.state != "connected":
            coro.close()
            raise RadosStateError("RADOS is not connected")
        try:
            return self._thread.run(coro)
        except Error:
            raise
        except RadosError as exc:
            raise _translate(exc, "error") from None

    def conf_get(self, option: str) -> str:
        return self.config.raw(option)

    def conf_set(self, option: str, val: str) -> None:
        if self.state != "configuring":
            raise RadosStateError("conf_set only before connect()")
        self.config.set(option, val)

    def conf_read_file(self, path: str | None = None) -> None:
        found = find_conf(path)
        if found is not None:
            self.config.load_file(found)

    def connect(self, timeout: int = 0) -> None:
        """Connect to the cluster (give up after ``timeout`` seconds, 0: the config's)."""
        if self.state == "connected":
            return
        self._thread = _LoopThread()
        try:
            self._thread.run(self._core.connect(float(timeout) if timeout else None))
        except RadosError as exc:
            self._thread.stop()
            self._thread = None
            raise _translate(exc, "error connecting to the cluster") from None
        self.state = "connected"

    def shutdown(self) -> None:
        if self._thread is None:
            return
        self._thread.run(self._core.shutdown())
        self._thread.stop()
        self._thread = None
        self.state = "shutdown"

    def __enter__(self) -> Rados:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def version(self) -> tuple[int, int, int]:
        return (16, 2, 0)

    # --- cluster ------------------------------------------------------------------------

    def get_fsid(self) -> str:
        objecter = self._core._objecter()
        assert objecter.osdmap is not None
        return objecter.osdmap.fsid

    def mon_command(
        self, cmd: str, inbuf: bytes = b"", timeout: int = 0, target: str | None = None
    ) -> tuple[int, bytes, str]:
        """Run a monitor command given as Ceph's JSON; ``(ret, outbuf, outs)``."""
        try:
            parsed = json.loads(cmd)
        except json.JSONDecodeError:
            return -errno.EINVAL, b"", "command is not valid JSON"
        return self._run(self._core.mon_command(parsed, inbuf, float(timeout) or None))

    def wait_for_latest_osdmap(self) -> int:
        self._run(self._core.wait_for_latest_osdmap())
        return 0

    def get_cluster_stats(self) -> dict[str, int]:
        """``kb``, ``kb_used``, ``kb_avail`` (raw space over all OSDs, from ``ceph df``)
        and ``num_objects`` (objects in all pools, replicas not counted)."""
        doc = self._df()
        stats = doc.get("stats", {})
        return {
            "kb": int(stats.get("total_bytes", 0)) // 1024,
            "kb_used": int(stats.get("total_used_raw_bytes", 0)) // 1024,
            "kb_avail": int(stats.get("total_avail_bytes", 0)) // 1024,
            "num_objects": sum(int(p["stats"]["objects"]) for p in doc.get("pools", [])),
        }

    def get_pool_stats(self) -> dict[str, dict[str, int]]:
        """Every pool's usage as `Ioctx.get_stats` gives it, by pool name."""
        self._run(self._core.wait_for_latest_osdmap())
        osdmap = self._core._objecter().osdmap
        assert osdmap is not None
        sizes = {pool.name: pool.size for pool in osdmap.pools.values()}
        return {
            p["name"]: _pool_stats(p["stats"], sizes.get(p["name"], 1))
            for p in self._df().get("pools", [])
            if p["name"] in sizes
        }

    def _df(self) -> dict[str, Any]:
        rc, out, outs = self.mon_command(
            json.dumps({"prefix": "df", "detail": "detail", "format": "json"})
        )
        _raise_for(rc, f"get_cluster_stats: {outs}")
        doc: dict[str, Any] = json.loads(out)
        return doc

    # --- pools --------------------------------------------------------------------------

    def pool_exists(self, pool_name: str) -> bool:
        return self._run(self._core.pool_lookup(pool_name)) is not None

    def pool_lookup(self, pool_name: str) -> int:
        pool_id = self._run(self._core.pool_lookup(pool_name))
        if pool_id is None:
            raise ObjectNotFound(f"pool '{pool_name}' does not exist", errno.ENOENT)
        return pool_id

    def pool_reverse_lookup(self, pool_id: int) -> str:
        for name in self.list_pools():
            if self.pool_lookup(name) == pool_id:
                return name
        raise ObjectNotFound(f"pool {pool_id} does not exist", errno.ENOENT)

    def list_pools(self) -> list[str]:
        return self._run(self._core.list_pools())

    def get_inconsistent_objects(self, pgid: str) -> dict[str, Any]:
        """What PG ``pgid``'s last scrub found: ``{"epoch", "inconsistents"}``."""
        try:
            return self._run(self._core.get_inconsistent_objects(pgid))
        except RadosError as exc:
            raise _translate(exc, "error getting inconsistent objects") from None

    def get_inconsistent_pgs(self, pool_id: int) -> list[str]:
        """The PGs of pool ``pool_id`` whose last scrub found inconsistencies."""
        try:
            return self._run(self._core.get_inconsistent_pgs(pool_id))
        except RadosError as exc:
            raise _translate(exc, "error getting inconsistent pgs") from None

    def create_pool(self, pool_name: str, crush_rule: int | None = None) -> None:
        self._run(self._core.create_pool(pool_name, crush_rule))

    def delete_pool(self, pool_name: str) -> None:
        self._run(self._core.delete_pool(pool_name))

    def open_ioctx(self, ioctx_name: str) -> Ioctx:
        return Ioctx(self, self._run(self._core.open_ioctx(ioctx_name)))

    def open_ioctx2(self, pool_id: int) -> Ioctx:
        return self.open_ioctx(self.pool_reverse_lookup(pool_id))


def _pool_stats(stats: dict[str, Any], size: int) -> dict[str, int]:
    """``ceph df detail`` figures of a pool in librados' ``rados_pool_stat_t`` keys."""
    used = int(stats.get("bytes_used", 0))
    objects = int(stats.get("objects", 0))
    return {
        "num_bytes": used,
        "num_kb": -(-used // 1024),
        "num_objects": objects,
        "num_object_clones": 0,
        "num_object_copies": objects * size,
        "num_objects_missing_on_primary": 0,
        "num_objects_unfound": 0,
        "num_objects_degraded": 0,
        "num_rd": int(stats.get("rd", 0)),
        "num_rd_kb": int(stats.get("rd_bytes", 0)) // 1024,
        "num_wr": int(stats.get("wr", 0)),
        "num_wr_kb": int(stats.get("wr_bytes", 0)) // 1024,
        "compress_bytes_used": int(stats.get("compress_bytes_used", 0)),
        "compress_under_bytes": int(stats.get("compress_under_bytes", 0)),
    }


class Object:
    """One listed object (`rados.Object`): ``key``, ``nspace``, ``locator_key``."""

    def __init__(self, ioctx: Ioctx, key: str, locator_key: str = "", nspace: str = ""):
        self.ioctx = ioctx
        self.key = key
        self.locator_key = locator_key
        self.nspace = nspace

    def __repr__(self) -> str:
        return f"rados.Object(ioctx={self.ioctx.name},key={self.key},nspace={self.nspace})"


class Ioctx:
    """A pool I/O context of a connected `Rados` (`rados.Ioctx`): ``name``, ``nspace``
    and ``locator_key`` as rados.pyx has them."""

    def __init__(self, rados: Rados, core: AsyncIoctx) -> None:
        self.rados = rados
        self._core = core
        self.name = core.name
        self.closed = False

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.closed:
            coro.close()
            raise IoctxStateError("Ioctx is closed")
        return self.rados._run(coro)

    def _aio(
        self,
        coro: Coroutine[Any, Any, Any],
        oncomplete: Callable[..., Any] | None,
        with_result: bool = False,
    ) -> Completion:
        if self.closed or self.rados._thread is None:
            coro.close()
            raise IoctxStateError("Ioctx is closed")
        future = self.rados._thread.submit(coro)
        completion = Completion(future)
        if oncomplete is not None:

            def done(_: concurrent.futures.Future[Any]) -> None:
                if with_result:
                    data = None if future.exception() else future.result()
                    oncomplete(completion, data)
                else:
                    oncomplete(completion)

            future.add_done_callback(done)
        return completion

    def __enter__(self) -> Ioctx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True

    # --- addressing ---------------------------------------------------------------------

    @property
    def nspace(self) -> str:
        return self._core.nspace

    @property
    def locator_key(self) -> str:
        return self._core.locator_key

    def set_namespace(self, nspace: str | None) -> None:
        self._core.nspace = nspace or ""

    def get_namespace(self) -> str:
        return self._core.nspace

    def set_locator_key(self, loc_key: str | None) -> None:
        self._core.locator_key = loc_key or ""

    def get_locator_key(self) -> str:
        return self._core.locator_key

    def get_stats(self) -> dict[str, int]:
        """This pool's usage, as rados.pyx's ``Ioctx.get_stats`` keys it (``num_bytes``
        is the raw space its objects take, replicas included)."""
        stats = self.rados.get_pool_stats().get(self.name)
        if stats is None:
            raise ObjectNotFound(f"get_stats: pool '{self.name}' does not exist", errno.ENOENT)
        return stats

    def get_pool_id(self) -> int:
        return self._core.pool_id

    def get_pool_name(self) -> str:
        return self._core.name

    def get_last_version(self) -> int:
        return self._core.last_version

    # --- snapshots ----------------------------------------------------------------------

    def create_snap(self, snap_name: str) -> None:
        """Make pool snapshot ``snap_name`` (ObjectExists if it exists)."""
        self._run(self._core.create_snap(snap_name))

    def remove_snap(self, snap_name: str) -> None:
        """Remove pool snapshot ``snap_name``; the OSDs trim its clones."""
        self._run(self._core.remove_snap(snap_name))

    def lookup_snap(self, snap_name: str) -> Snap:
        """Pool snapshot ``snap_name`` (ObjectNotFound if there is none)."""
        snap_id, stamp = self._run(self._core.lookup_snap(snap_name))
        return Snap(self, snap_name, snap_id, stamp)

    def list_snaps(self) -> SnapIterator:
        """The pool's snapshots, oldest first."""
        found = self._run(self._core.list_snaps())
        return SnapIterator([Snap(self, name, sid, stamp) for sid, name, stamp in found])

    def snap_rollback(self, oid: str, snap_name: str) -> None:
        """Make object ``oid`` what it was at pool snapshot ``snap_name``."""
        snap_id, _ = self._run(self._core.lookup_snap(snap_name))
        self._run(self._core.rollback(oid, snap_id))

    def set_read(self, snap_id: int) -> None:
        """Read at snapshot ``snap_id`` from now on (``LIBRADOS_SNAP_HEAD``: the head)."""
        self._core.snap.read = int(snap_id)

    set_snap_read = set_read
    """The name librados' C API has (`rados_ioctx_snap_set_read`)."""

    def create_self_managed_snap(self) -> int:
        """A new self-managed snapshot id of the pool."""
        return self._run(self._core.create_self_managed_snap())

    def remove_self_managed_snap(self, snap_id: int) -> None:
        """Remove self-managed snapshot ``snap_id``; the OSDs trim its clones."""
        self._run(self._core.remove_self_managed_snap(int(snap_id)))

    def set_self_managed_snap_write(self, snaps: Sequence[int]) -> None:
        """Writes preserve the object as it is at each of ``snaps`` (self-managed ids)."""
        try:
            self._core.snap.seq, self._core.snap.snaps = snapshots.write_context(snaps)
        except RadosError as exc:
            raise _translate(exc, "Failed to set self managed snap write") from None

    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        """Make object ``oid`` what it was at self-managed snapshot ``snap_id``."""
        self._run(self._core.rollback(oid, int(snap_id)))

    def list_object_snaps(self, oid: str) -> o.SnapList:
        """Object ``oid``'s clones, oldest first, then its head (`rados listsnaps`)."""
        return self._run(self._core.list_object_snaps(oid))

    # --- data ---------------------------------------------------------------------------

    def write(self, key: str, data: bytes, offset: int = 0) -> None:
        self._run(self._core.write(key, data, offset))

    def write_full(self, key: str, data: bytes) -> None:
        self._run(self._core.write_full(key, data))

    def append(self, key: str, data: bytes) -> None:
        self._run(self._core.append(key, data))

    def read(self, key: str, length: int = 8192, offset: int = 0) -> bytes:
        return self._run(self._core.read(key, length, offset))

    def stat(self, key: str) -> tuple[int, time.struct_time]:
        size, mtime_ns = self._run(self._core.stat(key))
        return size, time.localtime(mtime_ns / 1e9)

    def trunc(self, key: str, size: int) -> None:
        self._run(self._core.trunc(key, size))

    def remove_object(self, key: str) -> bool:
        self._run(self._core.remove_object(key))
        return True

    # --- xattrs -------------------------------------------------------------------------

    def get_xattr(self, key: str, xattr_name: str) -> bytes:
        return self._run(self._core.get_xattr(key, xattr_name))

    def get_xattrs(self, oid: str) -> Iterator[tuple[str, bytes]]:
        return iter(self._run(self._core.get_xattrs(oid)).items())

    def set_xattr(self, key: str, xattr_name: str, xattr_value: bytes) -> bool:
        self._run(self._core.set_xattr(key, xattr_name, xattr_value))
        return True

    def rm_xattr(self, key: str, xattr_name: str) -> bool:
        self._run(self._core.rm_xattr(key, xattr_name))
        return True

    # --- listing ------------------------------------------------------------------------

    def list_objects(self) -> Iterator[Object]:
        entries = self._run(self._core.list_objects())
        return iter([Object(self, e.name, e.key, e.nspace) for e in entries])

    # --- async --------------------------------------------------------------------------

    def aio_write(
        self,
        key: str,
        data: bytes,
        offset: int = 0,
        oncomplete: Callable[..., Any] | None = None,
        onsafe: Callable[..., Any] | None = None,
    ) -> Completion:
        return self._aio(self._core.write(key, data, offset), oncomplete or onsafe)

    def aio_write_full(
        self,
        key: str,
        data: bytes,
        oncomplete: Callable[..., Any] | None = None,
        onsafe: Callable[..., Any] | None = None,
    ) -> Completion:
        return self._aio(self._core.write_full(key, data), oncomplete or onsafe)

    def aio_append(
        self,
        key: str,
        data: bytes,
        oncomplete: Callable[..., Any] | None = None,
        onsafe: Callable[..., Any] | None = None,
    ) -> Completion:
        return self._aio(self._core.append(key, data), oncomplete or onsafe)

    def aio_read(
        self,
        key: str,
        length: int,
        offset: int,
        oncomplete: Callable[..., Any] | None = None,
    ) -> Completion:
        return self._aio(self._core.read(key, length, offset), oncomplete, with_result=True)

    def aio_remove(
        self,
        key: str,
        oncomplete: Callable[..., Any] | None = None,
        onsafe: Callable[..., Any] | None = None,
    ) -> Completion:
        return self._aio(self._core.remove_object(key), oncomplete or onsafe)

    def aio_flush(self) -> None:
        """Every aio call's future completes on its own; nothing is buffered."""

    # --- compound ops -------------------------------------------------------------------

    def create_write_op(self) -> WriteOp:
        return WriteOp()

    def create_read_op(self) -> ReadOp:
        return ReadOp()

    def release_write_op(self, write_op: WriteOp) -> None:
        write_op.release()

    def release_read_op(self, read_op: ReadOp) -> None:
        read_op.release()

    def operate_write_op(self, write_op: WriteOp, oid: str, mtime: int = 0, flags: int = 0) -> None:
        self._run(self._core.operate_write_op(write_op, oid))

    def operate_read_op(self, read_op: ReadOp, oid: str, flag: int = 0) -> None:
        self._run(self._core.operate_read_op(read_op, oid))

    def set_omap(self, write_op: WriteOp, keys: Sequence[str], values: Sequence[bytes]) -> None:
        if len(keys) != len(values):
            raise Error("keys and values must have the same length")
        entries = {
            k: v.encode() if isinstance(v, str) else bytes(v)
            for k, v in zip(keys, values, strict=True)
        }
        write_op._add(o.OmapSet(entries=entries, flags=write_op.flags))

    def remove_omap_keys(self, write_op: WriteOp, keys: Sequence[str]) -> None:
        write_op._add(o.OmapRmKeys(keys=list(keys), flags=write_op.flags))

    def remove_omap_range2(self, write_op: WriteOp, key_begin: str, key_end: str) -> None:
        write_op._add(o.OmapRmRange(start=key_begin, end=key_end, flags=write_op.flags))

    def clear_omap(self, write_op: WriteOp) -> None:
        write_op._add(o.OmapClear(flags=write_op.flags))

    def set_omap_header(self, write_op: WriteOp, data: bytes) -> None:
        write_op._add(o.OmapSetHeader(data=bytes(data), flags=write_op.flags))

    def get_omap_vals(
        self, read_op: ReadOp, start_after: str, filter_prefix: str, max_return: int
    ) -> tuple[OmapIterator, int]:
        it = OmapIterator()
        op = o.OmapGetVals(
            start_after=start_after or "",
            filter_prefix=filter_prefix or "",
            max_return=max_return,
            flags=read_op.flags,
        )
        read_op._add(op, it.fill)
        return it, 0

    def get_omap_keys(
        self, read_op: ReadOp, start_after: str, max_return: int
    ) -> tuple[OmapIterator, int]:
        it = OmapIterator()
        op = o.OmapGetKeys(start_after=start_after or "", max_return=max_return)
        read_op._add(op, it.fill)
        return it, 0

    def get_omap_vals_by_keys(
        self, read_op: ReadOp, keys: Sequence[str]
    ) -> tuple[OmapIterator, int]:
        it = OmapIterator()
        read_op._add(o.OmapGetValsByKeys(keys=list(keys), flags=read_op.flags), it.fill)
        return it, 0

    def get_omap_header(self, read_op: ReadOp) -> tuple[OmapIterator, int]:
        it = OmapIterator()

        def fill(result: o.OpResult) -> None:
            it.rc = result.rc
            if isinstance(result, o.OmapHeader):
                it.items = [("", result.data)]

        read_op._add(o.OmapGetHeader(flags=read_op.flags), fill)
        return it, 0
