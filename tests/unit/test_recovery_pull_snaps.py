"""A primary pulling an object it misses takes the head and its clones together, or
neither: when no source answers for the clones, that object's recovery fails with
EAGAIN (peering tries again later) rather than storing the head alone.

Before, the clones' pull returned nothing when every source failed, and the head was
stored without the clones its SnapSet names. The OSD here is a stand-in holding a real
store that answers the head's pull and fails the clones'; the recovery code is the
real one.
"""

from __future__ import annotations

import asyncio
from errno import EAGAIN
from pathlib import Path

import pytest

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.mon.osdmap_wire import PoolExtras
from radospy.osd.daemon import PG
from radospy.osd.messages import ObjectState, PGPull, PGPush
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.op_lock import PgOpLock
from radospy.osd.peering import PgView
from radospy.osd.pglog import LogEntry, LogOp, PgInfo, PgLog, PgMissing
from radospy.osd.read_order import InFlightWrites
from radospy.osd.recovery import Recovery, Throttle
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = str(PGID)
A = ObjectId("a")
V = Eversion(5, 3)


class HeadOnlyOsd:
    """Just what `Recovery` asks of its OSD when the primary pulls: the source answers
    for the head and times out for everything else (its SnapSet object, clones)."""

    def __init__(self, store: ObjectStore, snap_seq: int) -> None:
        self.store = store
        self.epoch = 7
        self.whoami = 0
        self.entity = "osd.0"
        self.pool_extras = {PGID.pool: PoolExtras(snap_seq=snap_seq)}
        self._map_changed = asyncio.Condition()

    async def osd_request(self, osd: int, msg: object, timeout: float) -> object:
        assert isinstance(msg, PGPull)
        if msg.oid == A:
            state = ObjectState(b"new", {}, {}, b"", V, 1)
            return PGPush(PGID.pool, PGID.seed, self.epoch, A, state)
        raise TimeoutError(f"osd.{osd} did not answer")


def pull(tmp_path: Path, snap_seq: int) -> tuple[PG, ObjectStore]:
    store = ObjectStore.mkfs(tmp_path / "store")
    store.apply(Transaction().mkcoll(CID))
    view = PgView(7, (0, 1), 0, (0, 1), 0, 2, 1)
    log = PgLog(entries=[LogEntry(LogOp.MODIFY, A, V, Eversion(0, 0))])
    info = PgInfo(PGID, V, Eversion(0, 0))
    pg = PG(PGID, CID, [0, 1], 0, 7, PgLog(), PgInfo(PGID), view, lock=PgOpLock(InFlightWrites()))
    missing = PgMissing()
    missing.add(A, V)
    recovery = Recovery(HeadOnlyOsd(store, snap_seq), Throttle())  # type: ignore[arg-type]
    merge = recovery._merge_own(pg, log, info, frozenset(), missing, {A: [1]}, 1)
    try:
        asyncio.run(merge)
    except BaseException:
        store.close()
        raise
    return pg, store


def test_a_head_whose_clones_no_source_sends_is_not_stored(tmp_path: Path) -> None:
    with pytest.raises(RadosError) as caught:
        pull(tmp_path, snap_seq=2)
    assert caught.value.errno == EAGAIN
    store = ObjectStore.open(tmp_path / "store")
    try:
        assert store.stat(CID, A) is None
    finally:
        store.close()


def test_without_snapshots_the_head_alone_is_recovered(tmp_path: Path) -> None:
    pg, store = pull(tmp_path, snap_seq=0)
    try:
        assert store.read(CID, A) == b"new"
        assert not len(pg.missing)
    finally:
        store.close()
