"""Thrashing: nothing acknowledged is lost while daemons die, pause and data moves.

3 monitors and 4 OSDs (one CRUSH host each) as real processes, a pool of size 3 and
min_size 2 with self-managed snapshots. A model workload runs on several client
connections while a thrasher with a logged seed SIGKILLs and restarts OSDs and
monitors, pauses them (SIGSTOP/SIGCONT), marks OSDs out and in and changes their CRUSH
weights — never more than one OSD failed at once (size − min_size) and never more than
one monitor (a minority of three).

The workload (``Workload``):

- writers, one client each, each owning its objects and applying ops to them one at a
  time: write_full, partial writes, appends, truncates, xattr set/rm, omap set/rm,
  removes, and compound ops touching data, xattrs and omap at once; self-managed
  snapshots taken, read back and removed (so writes clone and the OSDs trim);
- readers on clients of their own, reading any object (data, xattrs, omap in one op).

Every op's resulting object state is recorded in a per-object history (``History``).
A read must return a state of that history no older than the last acknowledged one
(and no older than one an earlier read returned), and no newer than the last one
issued: never an overwritten or never-written value, never a mix of two states
(torn). An op that times out has an unknown outcome: the writer reads the object back
and accepts either.

After thrashing every daemon is revived, every OSD put back in at weight 1, and every
PG must become active+clean within a bound; then every object and snapshot is read and
compared with the model, and, with the OSDs stopped, each PG's replicas are read
offline and compared with the primary's copy, object by object.

``RADOSPY_THRASH_SEED=N`` replays a seed (the thrasher's and the workload's choices;
the timing of real processes is not replayable). ``make soak`` runs the long variant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

import radospy
from radospy.client.rados import AsyncIoctx
from radospy.client.snapshots import write_context
from radospy.common import osdop as o
from radospy.osd.objectstore.types import NOSNAP
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import acting_sets, open_stores, replicas_differ, wait_clean
from tests.integration.rados_cluster import RadosCluster

log = logging.getLogger(__name__)

POOL = "thrash"
PG_NUM = 8
NUM_OSDS = 4
WRITERS = 3
OBJECTS_PER_WRITER = 5
READERS = 2
GRACE = 6
OP_TIMEOUT = 90
"""Seconds before a client op gives up (its outcome is then unknown)."""
CLEAN_BOUND = 240
"""Seconds after thrashing within which every PG must be active+clean."""


def seeds(count: int) -> list[int]:
    """``RADOSPY_THRASH_SEED`` when set, else ``count`` fresh seeds."""
    fixed = os.environ.get("RADOSPY_THRASH_SEED")
    if fixed:
        return [int(fixed)]
    return [int.from_bytes(os.urandom(4), "little") for _ in range(count)]


SHORT_LOGS = {
    "osd_min_pg_log_entries": "30",
    "osd_max_pg_log_entries": "60",
    "osd_pg_log_trim_min": "10",
}
"""Short PG logs, so an OSD that was down a while is backfilled rather than
log-recovered."""
DOWN_OUT = 15


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """An object as a read returns it."""

    data: bytes
    xattrs: tuple[tuple[str, bytes], ...] = ()
    omap: tuple[tuple[str, bytes], ...] = ()

    def describe(self) -> str:
        return f"{len(self.data)} B, xattrs {dict(self.xattrs)}, omap keys {dict(self.omap)}"


Value = State | None
"""An object's state; None when it does not exist."""


class Violation(AssertionError):
    """A read returned what the model does not allow."""


@dataclass
class History:
    """Every state one object was put in, in op order (one writer owns it).

    ``states[0]`` is absent. ``acked`` is the index of the newest state known to be
    applied, ``issued`` the newest one an op was sent for, ``floor`` the newest one a
    completed read returned (later reads may not go back past it).
    """

    name: str
    states: list[Value] = field(default_factory=lambda: [None])
    ops: list[str] = field(default_factory=lambda: ["(none)"])
    """The op that produced each state, for failure messages."""
    acked: int = 0
    issued: int = 0
    floor: int = 0

    @property
    def current(self) -> Value:
        return self.states[self.acked]

    def issue(self, value: Value, op: str) -> int:
        """Record the state an op about to be sent would produce."""
        self.states.append(value)
        self.ops.append(op)
        self.issued = len(self.states) - 1
        return self.issued

    def ack(self, index: int) -> None:
        self.acked = max(self.acked, index)

    def lower(self) -> int:
        """The oldest state a read starting now may return."""
        return max(self.acked, self.floor)

    def check(self, lower: int, got: Value, what: str) -> int:
        """The index of ``got`` among the states from ``lower`` to the last issued one;
        ``Violation`` when it is none of them."""
        for index in range(lower, self.issued + 1):
            if self.states[index] == got:
                self.floor = max(self.floor, index)
                return index
        older = [i for i in range(lower) if self.states[i] == got]
        seen = "an overwritten state" if older else "a state never written (torn?)"
        allowed = "; ".join(
            f"{i}: {self.ops[i]} -> {describe(self.states[i])}{mismatch(self.states[i], got)}"
            for i in range(max(lower - 2, 0), self.issued + 1)
        )
        raise Violation(
            f"{what} {self.name}: read {describe(got)}: {seen}; allowed states "
            f"{lower}..{self.issued} of: {allowed}"
        )


def describe(value: Value) -> str:
    return "absent" if value is None else value.describe()


def mismatch(want: Value, got: Value) -> str:
    """Where ``got``'s data first differs from ``want``'s."""
    if want is None or got is None or want.data == got.data:
        return ""
    at = next(
        (i for i, (a, b) in enumerate(zip(want.data, got.data, strict=False)) if a != b),
        min(len(want.data), len(got.data)),
    )
    return (
        f" (data differs from byte {at}: {want.data[at : at + 12]!r} vs {got.data[at : at + 12]!r})"
    )


async def read_state(ioctx: AsyncIoctx, name: str) -> Value:
    """Data, xattrs and omap of ``name`` in one op (None: it does not exist)."""
    ops: list[o.OsdOp] = [o.Read(offset=0, length=0), o.GetXattrs(), o.OmapGetVals()]
    try:
        data, xattrs, omap = await ioctx.operate(name, ops, "read")
    except radospy.ObjectNotFound:
        return None
    assert isinstance(data, o.ReadData) and isinstance(xattrs, o.XattrMap)
    assert isinstance(omap, o.OmapVals)
    return State(
        data.data, tuple(sorted(xattrs.xattrs.items())), tuple(sorted(omap.entries.items()))
    )


def describe_ops(ops: list[o.OsdOp]) -> str:
    parts = []
    for op in ops:
        fields = {
            k: (f"{len(v)} B" if isinstance(v, bytes) else v)
            for k, v in msgspec.structs.asdict(op).items()
            if k != "flags"
        }
        parts.append(f"{type(op).__name__}{fields}")
    return " + ".join(parts)


def _edit(data: bytes, offset: int, chunk: bytes) -> bytes:
    padded = data.ljust(offset, b"\0")
    return padded[:offset] + chunk + padded[offset + len(chunk) :]


def next_op(rng: random.Random, cur: Value, tag: bytes) -> tuple[list[o.OsdOp], Value]:
    """A random op on an object in state ``cur`` and the state it produces."""

    def blob(limit: int) -> bytes:
        # Mostly small; sometimes across several of the store's 64 KiB extents.
        size = rng.randrange(limit) if rng.random() < 0.9 else rng.randrange(200_000)
        return tag + rng.randbytes(size)

    if cur is None:
        data = blob(20_000)
        xattrs = {"gen": tag}
        omap = {f"k{rng.randrange(10)}": tag}
        ops: list[o.OsdOp] = [
            o.WriteFull(data=data),
            o.SetXattr(name="gen", value=tag),
            o.OmapSet(entries=omap),
        ]
        return ops, State(data, tuple(sorted(xattrs.items())), tuple(sorted(omap.items())))
    data, xattrs, omap = cur.data, dict(cur.xattrs), dict(cur.omap)
    kind = rng.choice(
        ["write_full", "write", "write", "append", "truncate", "setxattr", "rmxattr",
         "omap_set", "omap_rm", "remove", "compound"]
    )  # fmt: skip
    if kind == "remove":
        return [o.Remove()], None
    if kind == "write_full":
        data = blob(30_000)
        ops = [o.WriteFull(data=data)]
    elif kind == "write":
        offset = rng.randrange(len(data) + 4096)
        chunk = blob(8192)
        data = _edit(data, offset, chunk)
        ops = [o.Write(offset=offset, data=chunk)]
    elif kind == "append":
        chunk = blob(8192)
        data += chunk
        ops = [o.Append(data=chunk)]
    elif kind == "truncate":
        size = rng.randrange(len(data) + 4096)
        data = data[:size].ljust(size, b"\0")
        ops = [o.Truncate(size=size)]
    elif kind == "setxattr":
        key = rng.choice("abc")
        xattrs[key] = tag
        ops = [o.SetXattr(name=key, value=tag)]
    elif kind == "rmxattr":
        key = rng.choice("abc")
        xattrs.pop(key, None)
        ops = [o.RmXattr(name=key)]
    elif kind == "omap_set":
        entries = {f"k{rng.randrange(10)}": tag for _ in range(rng.randrange(1, 4))}
        omap.update(entries)
        ops = [o.OmapSet(entries=entries)]
    elif kind == "omap_rm":
        keys = [f"k{rng.randrange(10)}" for _ in range(rng.randrange(1, 4))]
        for key in keys:
            omap.pop(key, None)
        ops = [o.OmapRmKeys(keys=keys)]
    else:
        # Data, xattr and omap in one op: all or nothing.
        offset = rng.randrange(len(data) + 1)
        chunk = blob(4096)
        data = _edit(data, offset, chunk)
        xattrs["gen"] = tag
        omap["gen"] = tag
        ops = [
            o.Write(offset=offset, data=chunk),
            o.SetXattr(name="gen", value=tag),
            o.OmapSet(entries={"gen": tag}),
        ]
    return ops, State(data, tuple(sorted(xattrs.items())), tuple(sorted(omap.items())))


# --- the workload -------------------------------------------------------------------------


@dataclass
class Counters:
    acked: int = 0
    reads: int = 0
    timeouts: int = 0
    snaps: int = 0
    snap_reads: int = 0
    snaps_removed: int = 0


@dataclass
class Workload:
    """Writers and readers on clients of their own, checking every read."""

    cluster: RadosCluster
    seed: int
    snapshots: bool = True
    """Whether writers take, read and remove self-managed snapshots."""
    objects: dict[str, History] = field(default_factory=dict)
    snaps: dict[int, dict[str, Value]] = field(default_factory=dict)
    """Live self-managed snapshots: what each of the taking writer's objects was."""
    counters: Counters = field(default_factory=Counters)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self) -> radospy.AsyncRados:
        conf = {"rados_osd_op_timeout": str(OP_TIMEOUT), "rados_mon_op_timeout": "60"}
        r = radospy.AsyncRados(
            radospy.Rados(conffile=str(self.cluster.conf_path), conf=conf).config
        )
        await r.connect(60)
        return r

    async def run(self, until: asyncio.Event) -> None:
        """Run until ``until`` is set; raise the first violation."""
        rng = random.Random(self.seed)
        clients = [await self.client() for _ in range(WRITERS + READERS)]
        try:
            tasks = []
            for w in range(WRITERS):
                names = [f"w{w}-obj{i}" for i in range(OBJECTS_PER_WRITER)]
                for name in names:
                    self.objects[name] = History(name)
                ioctx = await clients[w].open_ioctx(POOL)
                wrng = random.Random(rng.getrandbits(32))
                tasks.append(asyncio.create_task(self.writer(w, ioctx, names, wrng)))
            for r in range(READERS):
                ioctx = await clients[WRITERS + r].open_ioctx(POOL)
                rrng = random.Random(rng.getrandbits(32))
                tasks.append(asyncio.create_task(self.reader(ioctx, rrng)))
            stop = asyncio.create_task(until.wait())
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            self.stop.set()
            stop.cancel()
            for task in done - {stop}:
                task.result()
            # Let every op in flight finish (each has an outcome or times out).
            await asyncio.gather(*tasks)
        finally:
            self.stop.set()
            for r in clients:
                await r.shutdown()

    async def writer(self, w: int, ioctx: AsyncIoctx, names: list[str], rng: random.Random) -> None:
        mine: list[int] = []
        seq = 0
        while not self.stop.is_set():
            roll = rng.random()
            if not self.snapshots:
                roll = 0.08 + roll * 0.92
            if roll < 0.03:
                await self.take_snap(ioctx, names, mine)
                continue
            if roll < 0.06 and mine:
                await self.read_snap(ioctx, names, mine, rng)
                continue
            if roll < 0.08 and len(mine) > 1:
                # The oldest goes: the OSDs trim the clones only it needed.
                sid = mine.pop(0)
                await ioctx.remove_self_managed_snap(sid)
                del self.snaps[sid]
                ioctx.snap.seq, ioctx.snap.snaps = write_context(mine)
                self.counters.snaps_removed += 1
                continue
            hist = self.objects[rng.choice(names)]
            if roll < 0.15:
                # Read one's own writes: exactly the last acknowledged state.
                try:
                    got = await read_state(ioctx, hist.name)
                except radospy.TimedOut:
                    self.counters.timeouts += 1
                    continue
                hist.check(hist.acked, got, "writer read")
                self.counters.reads += 1
                continue
            seq += 1
            ops, value = next_op(rng, hist.current, f"<w{w}.{seq}>".encode())
            index = hist.issue(value, describe_ops(ops))
            try:
                await ioctx.operate(hist.name, ops, "write")
            except radospy.TimedOut:
                self.counters.timeouts += 1
                log.warning("op %d on %s timed out: outcome unknown", index, hist.name)
                await self.resolve(ioctx, hist, index)
                continue
            hist.ack(index)
            self.counters.acked += 1

    async def resolve(self, ioctx: AsyncIoctx, hist: History, index: int) -> None:
        """After a timed-out op: read back which of the two states holds, and go on from
        it (a copy of the old state is appended when the op was not applied)."""
        while True:
            try:
                got = await read_state(ioctx, hist.name)
                break
            except radospy.TimedOut:
                self.counters.timeouts += 1
        before = hist.acked
        found = hist.check(before, got, "read after a timeout of")
        if found != index:
            found = hist.issue(hist.states[before], "(the timed-out op was not applied)")
        hist.ack(found)

    async def take_snap(self, ioctx: AsyncIoctx, names: list[str], mine: list[int]) -> None:
        sid = await ioctx.create_self_managed_snap()
        mine.append(sid)
        self.snaps[sid] = {n: self.objects[n].current for n in names}
        ioctx.snap.seq, ioctx.snap.snaps = write_context(mine)
        self.counters.snaps += 1

    async def read_snap(
        self, ioctx: AsyncIoctx, names: list[str], mine: list[int], rng: random.Random
    ) -> None:
        sid = rng.choice(mine)
        name = rng.choice(names)
        try:
            got = await read_at(ioctx, name, sid)
        except radospy.TimedOut:
            self.counters.timeouts += 1
            return
        want = self.snaps[sid][name]
        if got != want:
            raise Violation(f"{name} at snap {sid}: read {describe(got)}, was {describe(want)}")
        self.counters.snap_reads += 1

    async def reader(self, ioctx: AsyncIoctx, rng: random.Random) -> None:
        names = sorted(self.objects)
        while not self.stop.is_set():
            hist = self.objects[rng.choice(names)]
            lower = hist.lower()
            try:
                got = await read_state(ioctx, hist.name)
            except radospy.TimedOut:
                # No answer is no wrong answer; the count shows in the summary.
                self.counters.timeouts += 1
                continue
            hist.check(lower, got, "read")
            self.counters.reads += 1

    async def final_check(self) -> None:
        """Every object and every live snapshot read once more against the model."""
        r = await self.client()
        try:
            ioctx = await r.open_ioctx(POOL)
            for hist in self.objects.values():
                hist.check(hist.lower(), await read_state(ioctx, hist.name), "final read")
                # Nothing is in flight any more: only the newest state may remain.
                if hist.floor != hist.issued and hist.states[hist.floor] != hist.states[-1]:
                    raise Violation(f"{hist.name}: the last acknowledged write is lost")
            for sid, objects in self.snaps.items():
                for name, want in objects.items():
                    got = await read_at(ioctx, name, sid)
                    if got != want:
                        raise Violation(
                            f"final read of {name} at snap {sid}: {describe(got)}, "
                            f"was {describe(want)}"
                        )
        finally:
            await r.shutdown()


async def read_at(ioctx: AsyncIoctx, name: str, snap: int) -> Value:
    ioctx.snap.read = snap
    try:
        return await read_state(ioctx, name)
    finally:
        ioctx.snap.read = NOSNAP


# --- the thrasher -------------------------------------------------------------------------


@dataclass
class Thrasher:
    """Failures and data movement chosen by a seeded generator, until ``stop`` is set."""

    cluster: RadosCluster
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    actions: list[str] = field(default_factory=list)
    failed_osd: tuple[int, str, float] | None = None
    """(osd, "killed" or "stopped", when to revive)."""
    failed_mon: tuple[str, str, float] | None = None
    moved: dict[int, str] = field(default_factory=dict)
    """An OSD that is out or has a changed CRUSH weight (at most one at a time)."""
    error: BaseException | None = None

    def note(self, what: str) -> None:
        log.warning("thrash: %s", what)
        self.actions.append(f"{time.monotonic():.1f} {what}")

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # shown by the test thread
            self.error = exc

    def _run(self) -> None:
        rng = random.Random(self.seed)
        c = self.cluster
        while not self.stop.is_set():
            now = time.monotonic()
            if self.failed_osd is not None and now >= self.failed_osd[2]:
                self.revive_osd()
            if self.failed_mon is not None and now >= self.failed_mon[2]:
                self.revive_mon()
            choice = rng.random()
            if choice < 0.3 and self.failed_osd is None:
                osd = rng.randrange(NUM_OSDS)
                how = rng.choice(["killed", "killed", "stopped"])
                if how == "killed":
                    c.stop_osd(osd, signal.SIGKILL)
                else:
                    c.osd_procs[osd].send_signal(signal.SIGSTOP)
                self.failed_osd = (osd, how, now + rng.uniform(2, 3 * GRACE))
                self.note(f"osd.{osd} {how}")
            elif choice < 0.45 and self.failed_mon is None:
                mon = rng.choice(sorted(c.ports))
                how = rng.choice(["killed", "stopped"])
                if how == "killed":
                    c.kill(mon)
                else:
                    c.procs[mon].send_signal(signal.SIGSTOP)
                self.failed_mon = (mon, how, now + rng.uniform(2, 15))
                self.note(f"mon.{mon} {how}")
            elif choice < 0.7:
                if self.moved:
                    osd = next(iter(self.moved))
                    self.restore(osd)
                else:
                    osd = rng.randrange(NUM_OSDS)
                    if rng.random() < 0.5:
                        self.command(f"osd.{osd} out", "osd out", ids=[str(osd)])
                        self.moved[osd] = "out"
                    else:
                        weight = rng.choice([0.0, 0.3, 2.5])
                        self.command(
                            f"osd.{osd} crush weight {weight}",
                            "osd crush reweight", name=f"osd.{osd}", weight=weight,
                        )  # fmt: skip
                        self.moved[osd] = "weight"
            self.stop.wait(rng.uniform(0.5, 4))

    def command(self, what: str, prefix: str, **args: Any) -> bool:
        """A monitor command through the cluster's polling client (not a `radospy
        ceph` process each: ~0.3 s of CPU that the daemons under test would lack)."""
        rc, _, err = self.cluster.mon_command(prefix, **args)
        self.note(what if rc == 0 else f"{what} failed: {err.strip()}")
        return rc == 0

    def restore(self, osd: int) -> None:
        how = self.moved.pop(osd)
        if how == "out":
            ok = self.command(f"osd.{osd} in", "osd in", ids=[str(osd)])
        else:
            ok = self.command(f"osd.{osd} crush weight 1", "osd crush reweight",
                              name=f"osd.{osd}", weight=1.0)  # fmt: skip
        if not ok:
            self.moved[osd] = how

    def revive_osd(self) -> None:
        assert self.failed_osd is not None
        osd, how, _ = self.failed_osd
        if how == "killed":
            self.cluster.start_osd(osd)
        else:
            self.cluster.osd_procs[osd].send_signal(signal.SIGCONT)
        self.failed_osd = None
        self.note(f"osd.{osd} revived")

    def revive_mon(self) -> None:
        assert self.failed_mon is not None
        mon, how, _ = self.failed_mon
        if how == "killed":
            self.cluster.start(mon)
        else:
            self.cluster.procs[mon].send_signal(signal.SIGCONT)
        self.failed_mon = None
        self.note(f"mon.{mon} revived")

    def heal(self) -> None:
        """Revive everything and undo every out and weight change."""
        if self.failed_osd is not None:
            self.revive_osd()
        if self.failed_mon is not None:
            self.revive_mon()
        self.cluster.quorum(timeout=60)

        def restored() -> bool:
            for osd in list(self.moved):
                self.restore(osd)
            return not self.moved

        wait_for(restored, 120, "outs and weight changes undone")
        # An OSD marked out by the down-out interval is brought back in too.
        for osd in range(NUM_OSDS):
            rc, _, err = self.cluster.ceph("osd", "in", str(osd), timeout=30)
            assert rc == 0, err


# --- the checks after thrashing -----------------------------------------------------------


def check_replicas(cluster: RadosCluster) -> None:
    """With every OSD stopped, each PG's replicas hold exactly its primary's copy."""
    acting = acting_sets(cluster, POOL)
    for osd in list(cluster.osd_procs):
        cluster.stop_osd(osd)
    stores = open_stores(cluster, list(range(NUM_OSDS)))
    try:
        problems = replicas_differ(stores, acting)
    finally:
        for store in stores.values():
            store.close()
    assert not problems, problems[:10]


# --- the test -----------------------------------------------------------------------------


def thrash(tmp: Path, seed: int, seconds: float, snapshots: bool) -> None:
    """One cluster, ``seconds`` of thrashing under the workload, then every check."""
    print(f"thrash seed {seed} (replay: RADOSPY_THRASH_SEED={seed})")
    log.warning("thrash seed %d", seed)
    cluster = RadosCluster(
        tmp,
        num_osds=NUM_OSDS,
        fast_failure=True,
        heartbeat_grace=GRACE,
        mon_conf={"mon_osd_down_out_interval": str(DOWN_OUT)},
        osd_conf=SHORT_LOGS,
    )
    thrasher = Thrasher(cluster, seed)
    workload = Workload(cluster, seed, snapshots)
    try:
        cluster.bring_up()
        # A generous deadline: at load 40 a new cluster's first pool took over 20 s.
        for words in (
            ("osd", "pool", "create", POOL, str(PG_NUM)),
            ("osd", "pool", "set", POOL, "min_size", "2"),
        ):
            rc, _, err = cluster.ceph(*words, timeout=60)
            assert rc == 0, err

        async def run() -> None:
            until = asyncio.Event()
            thread = threading.Thread(target=thrasher.run, name="thrasher")
            thread.start()
            try:
                runner = asyncio.create_task(workload.run(until))
                await asyncio.wait([runner], timeout=seconds)
                thrasher.stop.set()
                await asyncio.to_thread(thread.join)
                until.set()
                await runner
            finally:
                thrasher.stop.set()
                until.set()
                await asyncio.to_thread(thread.join)
            if thrasher.error is not None:
                raise thrasher.error

        try:
            asyncio.run(run())
            thrasher.heal()
            cluster.wait_osds_up(NUM_OSDS, timeout=120)
            wait_clean(cluster, PG_NUM, CLEAN_BOUND)
            asyncio.run(workload.final_check())
            check_replicas(cluster)
        except AssertionError as exc:
            raise AssertionError(
                f"seed {seed} (RADOSPY_THRASH_SEED={seed}): {exc}\nthrasher: "
                + "\n".join(thrasher.actions[-30:])
            ) from exc
        counters = workload.counters
        print(f"seed {seed}: {counters}, thrash actions {len(thrasher.actions)}")
        assert counters.acked > 0 and counters.reads > 0
        assert counters.snaps > 0 or not snapshots
    finally:
        for proc in [*cluster.osd_procs.values(), *cluster.procs.values()]:
            proc.send_signal(signal.SIGCONT)
        cluster.close()


def test_thrash(tmp_path: Path) -> None:
    """A short run in `make test`, with snapshots: taken, written after (clone on
    write), read back, removed (trimmed), and every live one read at the end."""
    thrash(tmp_path, seeds(1)[0], 45, snapshots=True)


@pytest.mark.soak
@pytest.mark.parametrize("run", range(3))
def test_thrash_long(tmp_path: Path, run: int) -> None:
    """Ten minutes per seed, three seeds, with snapshots."""
    thrash(tmp_path, seeds(3)[run], 600, snapshots=True)
