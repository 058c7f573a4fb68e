"""`radospy rados bench` and `radospy rados cleanup`, as Ceph's ``rados`` has them.

    rados -p POOL bench SECONDS write|seq|rand [-b SIZE] [-t THREADS] [-O OBJSIZE]
                                               [--no-cleanup] [--run-name NAME]
    rados -p POOL cleanup [--run-name NAME] [--prefix PREFIX]

The output is Ceph's ``ObjBencher`` (src/common/obj_bencher.cc) line for line: the
``hints = 1`` and ``Maintaining ...`` header, one row a second (the column header again
every 20 rows, after a ``min lat/max lat/avg lat`` line), the summary, and the same
object names (``benchmark_data_HOST_PID_objectN``), contents (``I'm the Nth op!`` padded
with ``z``) and ``benchmark_last_metadata`` object, so ``seq``/``rand`` read what an
earlier ``write --no-cleanup`` left.

Two layers: `BenchStats` and the format helpers are pure (counters, per-second rows,
summaries; unit-tested), the async functions below them drive an `AsyncIoctx` with
``-t`` operations in flight and feed the stats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import functools
import math
import os
import random
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from radospy.client.rados import AsyncIoctx, Ioctx, ObjectNotFound
from radospy.common.errors import RadosError

BENCH_PREFIX = "benchmark_data"
BENCH_LASTRUN_METADATA = "benchmark_last_metadata"
DEFAULT_OP_SIZE = 4 << 20
DEFAULT_CONCURRENCY = 16
_METADATA = struct.Struct("<QiiQ")
"""object_size (u64), ops written (i32), writer's pid (i32), op size (u64): Ceph's
``encode_bench_metadata`` layout."""
_DBL_MAX = sys.float_info.max
_INT_MAX = 2**31 - 1
_HEADER = (
    f"{'sec':>5}{'Cur ops':>8}{'started':>10}{'finished':>10}{'avg MB/s':>10}"
    f"{'cur MB/s':>10}{'last lat(s)':>12}{'avg lat(s)':>12}"
)
_MB = 1024 * 1024


class BenchError(Exception):
    """A failed bench or cleanup: ``str()`` is the text for stderr (exit status 1)."""


# --- pure helpers ------------------------------------------------------------------------


def num(value: float) -> str:
    """A double as a C++ ostream prints it by default (6 significant digits, ``%g``)."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"


def strict_iec(value: str) -> int:
    """Ceph's ``strict_iecstrtoll``: ``4096``, ``4K``, ``4M``, ``1Gi``; ValueError with
    Ceph's wording otherwise."""
    digits = value.lstrip("-")
    end = len(digits) - len(digits.lstrip("0123456789"))
    number, unit = value[: len(value) - len(digits) + end], digits[end:]
    if len(unit) > 2:
        raise ValueError("strict_iecstrtoll: illegal prefix (length > 2)")
    if len(unit) == 2 and unit[1] != "i":
        raise ValueError("strict_iecstrtoll: illegal prefix (wrong second character)")
    shifts = {"": 0, "B": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}
    if unit[:1] not in shifts:
        raise ValueError("strict_iecstrtoll: unit prefix not recognized")
    try:
        parsed = int(number)
    except ValueError:
        raise ValueError(f"strict_iecstrtoll: expected integer, got: '{number}'") from None
    if parsed < 0:
        raise ValueError("strict_iecstrtoll: value should not be negative")
    return parsed << shifts[unit[:1]]


def object_prefix(host: str, pid: int) -> str:
    """``benchmark_data_HOST_PID`` (the host name cut to 29 bytes, as Ceph's buffer)."""
    return f"{BENCH_PREFIX}_{host[:29]}_{pid}"


def object_name(host: str, pid: int, objnum: int) -> str:
    """``benchmark_data_HOST_PID_objectN``."""
    return f"{object_prefix(host, pid)}_object{objnum}"


def op_contents(index: int, op_size: int) -> bytes:
    """What op ``index`` writes: ``I'm the %16dth op!``, a NUL, then ``z`` up to
    ``op_size`` (Ceph's snprintf into a buffer of z's)."""
    if op_size <= 0:
        return b""
    text = _op_head(index, op_size)
    # One copy of op_size bytes per op: the z's come from a buffer made once per size.
    return text + memoryview(_z_fill(op_size))[len(text) :]


def _op_head(index: int, op_size: int) -> bytes:
    return f"I'm the {index:16d}th op!".encode()[: op_size - 1] + b"\0"


class ContentsCheck:
    """Whether a read got what op ``index`` wrote (`op_contents`), without building
    those contents per op: one buffer of z's, whose head is written for the op being
    checked and compared whole (a 4 MiB read costs a comparison, not also a copy)."""

    def __init__(self, op_size: int) -> None:
        self._op_size = op_size
        self._expected = bytearray(_z_fill(op_size)) if op_size > 0 else bytearray()

    def matches(self, index: int, data: bytes | memoryview) -> bool:
        """True when ``data`` is exactly what op ``index`` wrote."""
        if self._op_size <= 0:
            return len(data) == 0
        head = _op_head(index, self._op_size)
        self._expected[: len(head)] = head
        # bytearray == view compares with memcmp (view == bytearray goes byte by byte).
        same = self._expected == data
        self._expected[: len(head)] = _z_fill(self._op_size)[: len(head)]
        return same


@functools.lru_cache(maxsize=4)
def _z_fill(size: int) -> bytes:
    return b"z" * size


@dataclass(frozen=True)
class BenchMetadata:
    """What a write run leaves in its metadata object for seq/rand and cleanup."""

    object_size: int
    num_ops: int
    pid: int
    op_size: int

    def encode(self) -> bytes:
        return _METADATA.pack(self.object_size, self.num_ops, self.pid, self.op_size)

    @classmethod
    def decode(cls, data: bytes) -> BenchMetadata:
        """Raises ValueError for a short or malformed object."""
        if len(data) == _METADATA.size - 8:
            object_size, num_ops, pid = struct.unpack("<Qii", data)
            return cls(object_size, num_ops, pid, object_size)
        if len(data) != _METADATA.size:
            raise ValueError(f"bench metadata of {len(data)} bytes")
        return cls(*_METADATA.unpack(data))

    @property
    def ops_per_object(self) -> int:
        if self.op_size > 0 and self.object_size > self.op_size:
            return self.object_size // self.op_size
        return 1

    @property
    def num_objects(self) -> int:
        per = self.ops_per_object
        return (self.num_ops + per - 1) // per


@dataclass
class BenchStats:
    """The counters of one run and ObjBencher's status-printer arithmetic."""

    op_size: int
    object_size: int
    in_flight: int = 0
    started: int = 0
    finished: int = 0
    cur_latency: float = 0.0
    min_latency: float = 9999.0
    max_latency: float = 0.0
    avg_latency: float = 0.0
    total_latency: float = 0.0
    latency_diff_sum: float = 0.0
    max_bandwidth: float = 0.0
    min_bandwidth: float = _DBL_MAX
    bandwidths: list[float] = field(default_factory=list)
    max_iops: int = 0
    min_iops: int = _INT_MAX
    iops_samples: list[int] = field(default_factory=list)
    _tick: int = 0
    _previous: int = 0
    _cycles: int = 0
    _last_iops: int = 0

    @property
    def ticks(self) -> int:
        """How many rows the status printer has written."""
        return self._tick

    def start_op(self) -> None:
        self.started += 1
        self.in_flight += 1

    def finish_op(self, latency: float) -> None:
        """One op completed after ``latency`` seconds (Welford for the stddev)."""
        self.in_flight -= 1
        self.cur_latency = latency
        self.total_latency += latency
        self.max_latency = max(self.max_latency, latency)
        self.min_latency = min(self.min_latency, latency)
        self.finished += 1
        delta = latency - self.avg_latency
        self.avg_latency = self.total_latency / self.finished
        self.latency_diff_sum += delta * (latency - self.avg_latency)

    def tick(self, elapsed: float, stamp: str) -> list[str]:
        """The lines the status printer writes at second ``self._tick`` (``elapsed``
        seconds since the start, ``stamp`` the local time as Ceph prints it)."""
        lines = []
        i = self._tick
        if i % 20 == 0:
            if i > 0:
                lines.append(
                    f"{stamp} min lat: {num(self.min_latency)} max lat: "
                    f"{num(self.max_latency)} avg lat: {num(self.avg_latency)}"
                )
            lines.append(_HEADER)
        changed = self.finished - self._previous
        bandwidth = changed * self.op_size / _MB / self._cycles if self._cycles else -1.0
        if bandwidth > -1:
            self.max_bandwidth = max(self.max_bandwidth, bandwidth)
            self.min_bandwidth = min(self.min_bandwidth, bandwidth)
            self.bandwidths.append(bandwidth)
        iops = int(changed / self._cycles) if self._cycles else -1
        self._last_iops = iops
        if iops > -1:
            self.max_iops = max(self.max_iops, iops)
            self.min_iops = min(self.min_iops, iops)
            self.iops_samples.append(iops)
        avg_bw = self.op_size * self.finished / elapsed / _MB if elapsed > 0 else math.nan
        head = f"{i:5d} {self.in_flight:7d} {self.started:9d} {self.finished:9d} {num(avg_bw):>9}"
        if changed:
            self._previous = self.finished
            self._cycles = 0
            tail = f" {num(bandwidth):>9} {num(self.cur_latency):>11} {num(self.avg_latency):>11}"
        else:
            tail = f" {'0':>9} {'-':>11} {num(self.avg_latency):>11}"
        lines.append(head + tail)
        self._tick += 1
        self._cycles += 1
        return lines

    def printer_done(self, runtime: float) -> None:
        """The status printer stopping ``runtime`` seconds after the start: with only the
        first row printed, Ceph takes the run's average as both IOPS extremes."""
        if self._last_iops < 0 and runtime > 0:
            self.min_iops = self.max_iops = int(self.finished / runtime)

    def write_summary(self, time_run: float) -> list[str]:
        """The summary of a write run that took ``time_run`` seconds."""
        bandwidth = self.finished * self.op_size / time_run / _MB if time_run > 0 else 0.0
        lat_stddev = (
            math.sqrt(self.latency_diff_sum / (self.finished - 1)) if self.finished > 1 else 0.0
        )
        return [
            f"Total time run:         {num(time_run)}",
            f"Total writes made:      {self.finished}",
            f"Write size:             {self.op_size}",
            f"Object size:            {self.object_size}",
            f"Bandwidth (MB/sec):     {num(bandwidth)}",
            f"Stddev Bandwidth:       {num(_stddev(self.bandwidths))}",
            f"Max bandwidth (MB/sec): {num(self.max_bandwidth)}",
            f"Min bandwidth (MB/sec): {num(self.min_bandwidth)}",
            f"Average IOPS:           {self._avg_iops(time_run)}",
            f"Stddev IOPS:            {num(_stddev(self.iops_samples))}",
            f"Max IOPS:               {self.max_iops}",
            f"Min IOPS:               {self.min_iops}",
            f"Average Latency(s):     {num(self.avg_latency)}",
            f"Stddev Latency(s):      {num(lat_stddev)}",
            f"Max latency(s):         {num(self.max_latency)}",
            f"Min latency(s):         {num(self.min_latency)}",
        ]

    def read_summary(self, time_run: float) -> list[str]:
        """The summary of a seq or rand run that took ``time_run`` seconds."""
        bandwidth = self.finished * self.op_size / time_run / _MB if time_run > 0 else 0.0
        return [
            f"Total time run:       {num(time_run)}",
            f"Total reads made:     {self.finished}",
            f"Read size:            {self.op_size}",
            f"Object size:          {self.object_size}",
            f"Bandwidth (MB/sec):   {num(bandwidth)}",
            f"Average IOPS:         {self._avg_iops(time_run)}",
            f"Stddev IOPS:          {num(_stddev(self.iops_samples))}",
            f"Max IOPS:             {self.max_iops}",
            f"Min IOPS:             {self.min_iops}",
            f"Average Latency(s):   {num(self.avg_latency)}",
            f"Max latency(s):       {num(self.max_latency)}",
            f"Min latency(s):       {num(self.min_latency)}",
        ]

    def _avg_iops(self, time_run: float) -> int:
        return int(self.finished / time_run) if time_run > 0 else 0


def _stddev(samples: list[float] | list[int]) -> float:
    """Sample standard deviation (n - 1), 0 for fewer than two samples."""
    if len(samples) < 2:
        return 0.0
    mean = sum(samples) / len(samples)
    return math.sqrt(sum((s - mean) ** 2 for s in samples) / (len(samples) - 1))


def stamp(now: float) -> str:
    """``utime_t::localtime``: ``2026-11-28T17:05:42.313805+0000``."""
    whole = int(now)
    local = time.localtime(whole)
    micros = int((now - whole) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{micros:06d}" + time.strftime("%z", local)


# --- the async driver ------------------------------------------------------------------


Emit = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass
class _Run:
    """One bench run against a pool: where to write, how, and what to print to."""

    ioctx: AsyncIoctx
    seconds: int
    concurrency: int
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    emit: Emit = _print


async def _with_printer(stats: BenchStats, emit: Emit, body: Awaitable[None]) -> float:
    """Run ``body`` while a status line is printed every second; the run's duration.

    As Ceph's status thread, the printer finishes its current one-second wait before it
    stops."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    done = asyncio.Event()

    async def printer() -> None:
        while not done.is_set():
            for line in stats.tick(loop.time() - start, stamp(time.time())):
                emit(line)
            # The next row is due a whole second after this one's, not when ops finish.
            await asyncio.sleep(max(0.0, start + stats.ticks - loop.time()))
        stats.printer_done(loop.time() - start)

    task = asyncio.ensure_future(printer())
    try:
        await body
    finally:
        elapsed = loop.time() - start
        done.set()
        await task
    return elapsed


async def write_bench(
    run: _Run, op_size: int, object_size: int, run_name: str, max_objects: int = 0
) -> BenchStats:
    """Keep ``run.concurrency`` writes in flight for ``run.seconds``; print the table and
    summary; record the run in the metadata object ``run_name``."""
    run.emit(
        f"Maintaining {run.concurrency} concurrent writes of {op_size} bytes to objects of"
        f" size {object_size} for up to {run.seconds} seconds or {max_objects} objects"
    )
    run.emit(f"Object prefix: {object_prefix(run.host, run.pid)}")
    stats = BenchStats(op_size, object_size)
    per_object = object_size // op_size if op_size else 1
    per_object = max(per_object, 1)
    limit = (object_size * max_objects + op_size - 1) // op_size if op_size and max_objects else 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.seconds

    async def slot(first: int) -> None:
        index = first
        while True:
            name = object_name(run.host, run.pid, index // per_object)
            data = op_contents(index, op_size)
            began = loop.time()
            await run.ioctx.write(name, data, op_size * (index % per_object))
            stats.finish_op(loop.time() - began)
            if run.seconds <= 0 or loop.time() >= deadline:
                return
            if limit and stats.started >= limit:
                return
            index = stats.started
            stats.start_op()

    async def body() -> None:
        tasks = []
        for i in range(run.concurrency):
            stats.start_op()
            tasks.append(asyncio.ensure_future(slot(i)))
        await _gather(tasks)

    elapsed = await _with_printer(stats, run.emit, body())
    for line in stats.write_summary(elapsed):
        run.emit(line)
    meta = BenchMetadata(object_size, stats.finished, run.pid, op_size)
    await run.ioctx.write_full(run_name, meta.encode())
    return stats


async def read_bench(run: _Run, meta: BenchMetadata, rand: bool, verify: bool = True) -> int:
    """Read back what a write run left, in order (seq) or at random (rand), for up to
    ``run.seconds``; print the table and summary; the number of wrong objects."""
    stats = BenchStats(meta.op_size, meta.object_size)
    check = ContentsCheck(meta.op_size)
    per_object = meta.ops_per_object
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.seconds
    errors = 0
    concurrency = min(run.concurrency, meta.num_ops)

    async def slot(first: int) -> None:
        nonlocal errors
        index = first
        while True:
            name = object_name(run.host, meta.pid, index // per_object)
            began = loop.time()
            data = await run.ioctx.read_view(
                name, meta.op_size, meta.op_size * (index % per_object)
            )
            stats.finish_op(loop.time() - began)
            if verify and not check.matches(index, data):
                print(f"{name} is not correct!", file=sys.stderr, flush=True)
                errors += 1
            if run.seconds <= 0 or loop.time() >= deadline:
                return
            if rand:
                index = random.randrange(meta.num_ops)
            elif stats.started < meta.num_ops:
                index = stats.started
            else:
                return
            stats.start_op()

    async def body() -> None:
        tasks = []
        for i in range(concurrency):
            stats.start_op()
            tasks.append(asyncio.ensure_future(slot(i)))
        await _gather(tasks)

    elapsed = await _with_printer(stats, run.emit, body())
    for line in stats.read_summary(elapsed):
        run.emit(line)
    return errors


async def _gather(tasks: list[asyncio.Future[None]]) -> None:
    """Wait for every task; on the first failure cancel the others and raise it."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def remove_objects(run: _Run, names: list[str]) -> int:
    """Remove ``names`` with ``run.concurrency`` in flight (a missing one is fine);
    prints and returns how many were handled."""
    pending = iter(names)
    count = 0

    async def slot() -> None:
        nonlocal count
        for name in pending:
            with contextlib.suppress(ObjectNotFound):
                await run.ioctx.remove_object(name)
            count += 1

    await _gather([asyncio.ensure_future(slot()) for _ in range(max(run.concurrency, 1))])
    run.emit(f"Removed {count} object{'s' if count != 1 else ''}")
    return count


async def fetch_metadata(ioctx: AsyncIoctx, run_name: str) -> BenchMetadata | None:
    """The metadata a write run left under ``run_name``; None when there is none."""
    try:
        data = await ioctx.read(run_name, _METADATA.size)
    except ObjectNotFound:
        return None
    if not data:
        return None
    try:
        return BenchMetadata.decode(data)
    except ValueError:
        raise BenchError(
            f"error during benchmark: ({errno.EINVAL}) {os.strerror(errno.EINVAL)}"
        ) from None


async def clean_up_run(run: _Run, meta: BenchMetadata, run_name: str) -> None:
    """Remove a run's objects and its metadata object."""
    host_names = [object_name(run.host, meta.pid, n) for n in range(meta.num_objects)]
    await remove_objects(run, host_names)
    with contextlib.suppress(ObjectNotFound):
        await run.ioctx.remove_object(run_name)


# --- the commands ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bench and cleanup options on the ``rados`` tool's parser."""
    parser.add_argument("-b", "--block-size", dest="bench_block_size")
    parser.add_argument("-t", "--concurrent-ios", dest="bench_concurrency")
    parser.add_argument("-O", "--object-size", dest="bench_object_size")
    parser.add_argument("--max-objects", dest="bench_max_objects")
    parser.add_argument("--no-cleanup", dest="bench_no_cleanup", action="store_true")
    parser.add_argument("--no-verify", dest="bench_no_verify", action="store_true")
    parser.add_argument("--run-name", dest="bench_run_name", default="")
    parser.add_argument("--prefix", dest="bench_prefix", default="")


_USAGE = (
    "usage: rados bench <seconds> write|seq|rand [-t concurrent_operations] [--no-cleanup]"
    " [--run-name run_name] [-b op_size] [-O object_size]"
)


def _option(args: argparse.Namespace, attr: str, what: str, default: int) -> int:
    raw = getattr(args, attr, None)
    if raw is None:
        return default
    try:
        return strict_iec(str(raw))
    except ValueError as exc:
        raise BenchError(f"Invalid value for {what}: {exc}") from None


def _failed(what: str, err: int) -> BenchError:
    text = f"({err}) {os.strerror(err)}"
    return BenchError(f"error during {what}: {text}\nerror {err}: {text}")


def _run_on(ioctx: Ioctx, coro: Coroutine[Any, Any, None]) -> None:
    try:
        ioctx._run(coro)
    except RadosError as exc:
        raise _failed("benchmark", exc.errno or errno.EIO) from None


def bench(ioctx: Ioctx, args: argparse.Namespace, words: list[str]) -> None:
    """``rados bench SECONDS write|seq|rand``."""
    if len(words) < 2 or words[1] not in ("write", "seq", "rand"):
        raise BenchError(_USAGE)
    try:
        seconds = int(words[0])
    except ValueError:
        raise BenchError(f"Invalid value for seconds: '{words[0]}'") from None
    op_size = _option(args, "bench_block_size", "block-size", DEFAULT_OP_SIZE)
    object_size = _option(args, "bench_object_size", "object-size", 0) or op_size
    concurrency = _option(args, "bench_concurrency", "concurrent-ios", DEFAULT_CONCURRENCY)
    max_objects = _option(args, "bench_max_objects", "max-objects", 0)
    op_size = min(op_size, object_size)
    run_name = args.bench_run_name or BENCH_LASTRUN_METADATA
    print("hints = 1", flush=True)
    if concurrency <= 0:
        raise _failed("benchmark", errno.EINVAL)
    run = _Run(ioctx._core, seconds, concurrency)

    async def go() -> None:
        if words[1] == "write":
            await write_bench(run, op_size, object_size, run_name, max_objects)
            if args.bench_no_cleanup:
                return
            meta = await fetch_metadata(run.ioctx, run_name)
            if meta is None:
                raise BenchError("Should never happen: bench metadata missing for current run!")
            began = time.monotonic()
            run.emit("Cleaning up (deleting benchmark objects)")
            await clean_up_run(run, meta, run_name)
            run.emit(f"Clean up completed and total clean up time :{num(time.monotonic() - began)}")
            return
        meta = await fetch_metadata(run.ioctx, run_name)
        if meta is None:
            print("Must write data before running a read benchmark!", file=sys.stderr)
            raise _failed("benchmark", errno.ENOENT)
        errors = await read_bench(run, meta, words[1] == "rand", not args.bench_no_verify)
        if errors:
            raise _failed("benchmark", errno.EIO)

    _run_on(ioctx, go())


def cleanup(ioctx: Ioctx, args: argparse.Namespace, words: list[str]) -> None:
    """``rados cleanup [--run-name NAME] [--prefix PREFIX]``: remove what bench runs left
    (by their metadata, or every object under the prefix when there is none)."""
    run_name = args.bench_run_name or BENCH_LASTRUN_METADATA
    concurrency = _option(args, "bench_concurrency", "concurrent-ios", DEFAULT_CONCURRENCY)
    run = _Run(ioctx._core, 0, concurrency)
    prefix = args.bench_prefix or f"{BENCH_PREFIX}_{run.host[:29]}"
    if not prefix.startswith(BENCH_PREFIX):
        print(f'Specified --prefix invalid, it must begin with "{BENCH_PREFIX}"', file=sys.stderr)
        raise _failed("cleanup", errno.EINVAL)

    async def go() -> None:
        names = [e.name for e in await run.ioctx.list_objects()]
        if not any(n.startswith(prefix) for n in names):
            return
        meta = await fetch_metadata(run.ioctx, run_name) if run_name in names else None
        if meta is None:
            run.emit("Warning: using slow linear search")
            await remove_objects(run, [n for n in names if n.startswith(prefix)])
            return
        await clean_up_run(run, meta, run_name)

    try:
        ioctx._run(go())
    except RadosError as exc:
        raise _failed("cleanup", exc.errno or errno.EIO) from None
