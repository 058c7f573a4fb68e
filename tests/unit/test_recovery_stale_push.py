"""A push from a primary of an older interval is refused even when the new interval
begins while the push waits for the PG's lock.

Before, the interval was checked only as the push arrived: one that then waited for
the lock (held by the new interval's activation, say) stored the older primary's
object and took it off the missing set the new interval's peering had built. The OSD
here is a stand-in holding a real store; the recovery code is the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from errno import EAGAIN
from pathlib import Path

import pytest

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.osd.daemon import PG
from radospy.osd.messages import ObjectState, PGAck, PGPush
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.op_lock import PgOpLock
from radospy.osd.peering import PgView
from radospy.osd.pglog import PgInfo, PgLog
from radospy.osd.read_order import InFlightWrites
from radospy.osd.recovery import Recovery, Throttle
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = str(PGID)
A = ObjectId("a")
OLD = ObjectState(b"older interval", {}, {}, b"", Eversion(5, 3), 1)


class ReplicaOsd:
    """Just what `Recovery` asks of its OSD when a push arrives: its map epoch, its
    PGs and its store (a real one). The PG is in an interval begun in e5 and misses
    object ``A``."""

    def __init__(self, root: Path) -> None:
        self.store = ObjectStore.mkfs(root / "store")
        self.store.apply(Transaction().mkcoll(CID))
        self.epoch = 5
        view = PgView(5, (0, 1), 0, (0, 1), 0, 2, 1)
        lock = PgOpLock(InFlightWrites())
        self.pg = PG(PGID, CID, [0, 1], 0, 5, PgLog(), PgInfo(PGID), view, lock=lock)
        self.pg.missing.add(A, Eversion(6, 1))
        self.pgs = {PGID: self.pg}
        self.recovery = Recovery(self, Throttle())  # type: ignore[arg-type]


@pytest.fixture
def osd(tmp_path: Path) -> Iterator[ReplicaOsd]:
    replica = ReplicaOsd(tmp_path)
    try:
        yield replica
    finally:
        replica.store.close()


def push_across_new_interval(osd: ReplicaOsd, new_interval: bool) -> object:
    """Deliver a push sent in e5 while the PG's lock is held; before the lock is
    released, the PG enters an interval begun in e6 (or, without ``new_interval``,
    stays in its own). What the push answered."""
    pg = osd.pg

    async def run() -> object:
        async with pg.lock:
            push = asyncio.create_task(
                osd.recovery.handle_push(PGPush(PGID.pool, PGID.seed, 5, A, OLD))
            )
            # Steps of the event loop until the push waits for the lock (a few).
            for _ in range(100):
                if _waiting_for_lock(pg):
                    break
                await asyncio.sleep(0)
            assert _waiting_for_lock(pg), "the push never waited for the PG's lock"
            if new_interval:
                osd.epoch, pg.interval_start = 6, 6
        try:
            return await push
        except RadosError as exc:
            return exc

    return asyncio.run(run())


def _waiting_for_lock(pg: PG) -> bool:
    """Whether some task waits for the PG's lock (asyncio.Lock keeps its waiters)."""
    return bool(pg.lock.ordered()._waiters)


def test_a_push_of_an_older_interval_is_refused_after_waiting_for_the_lock(
    osd: ReplicaOsd,
) -> None:
    answer = push_across_new_interval(osd, new_interval=True)
    assert isinstance(answer, RadosError) and answer.errno == EAGAIN, answer
    assert osd.store.stat(CID, A) is None
    assert A in osd.pg.missing


def test_a_push_of_the_current_interval_is_stored(osd: ReplicaOsd) -> None:
    answer = push_across_new_interval(osd, new_interval=False)
    assert isinstance(answer, PGAck), answer
    assert osd.store.read(CID, A) == b"older interval"
    assert A not in osd.pg.missing


def test_a_push_sent_before_the_interval_is_refused_at_once(osd: ReplicaOsd) -> None:
    with pytest.raises(RadosError) as caught:
        asyncio.run(osd.recovery.handle_push(PGPush(PGID.pool, PGID.seed, 4, A, OLD)))
    assert caught.value.errno == EAGAIN
    assert osd.store.stat(CID, A) is None
