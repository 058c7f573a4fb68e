"""`Recovery.update_history`: the primary stores the PG history its peers reported,
whether or not the PG then activates (Ceph's ``update_history`` at GetInfo)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from radospy.common.eversion import Eversion
from radospy.osd.daemon import PG, load_pg
from radospy.osd.objectstore import ObjectStore, Transaction
from radospy.osd.op_lock import PgOpLock
from radospy.osd.peering import PgView
from radospy.osd.pglog import PgHistory, PgInfo, PgLog
from radospy.osd.read_order import InFlightWrites
from radospy.osd.recovery import Recovery, Throttle
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = str(PGID)
V = Eversion(3, 2)


class StoreOnlyOsd:
    """Just what `update_history` asks of its OSD: the store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store


def pg_at(interval: int, history: PgHistory) -> PG:
    view = PgView(interval, (0, 1), 0, (0, 1), 0, 3, 2)
    info = PgInfo(PGID, V, V, last_epoch_started=3, history=history)
    return PG(
        PGID, CID, [0, 1], 0, interval, PgLog(), info, view, lock=PgOpLock(InFlightWrites())
    )  # fmt: skip


def test_the_merged_history_is_stored_before_activation(tmp_path: Path) -> None:
    store = ObjectStore.mkfs(tmp_path / "store")
    try:
        own = PgHistory(epoch_created=1, last_epoch_started=3, last_epoch_clean=2)
        pg = pg_at(9, own)
        store.apply(Transaction().mkcoll(CID).set_pginfo(CID, pg.info.encode()))
        recovery = Recovery(StoreOnlyOsd(store), Throttle())  # type: ignore[arg-type]
        reported = PgHistory(last_epoch_started=7, last_epoch_clean=5)
        asyncio.run(recovery.update_history(pg, 9, reported))
        want = PgHistory(epoch_created=1, last_epoch_started=7, last_epoch_clean=5)
        assert pg.info.history == want
        assert load_pg(store, PGID, CID)[1].history == want
        # Older epochs move nothing back.
        asyncio.run(recovery.update_history(pg, 9, PgHistory(last_epoch_started=4)))
        assert load_pg(store, PGID, CID)[1].history == want
        # Nor does anything land once the interval is over.
        asyncio.run(recovery.update_history(pg, 8, PgHistory(last_epoch_started=8)))
        assert load_pg(store, PGID, CID)[1].history == want
    finally:
        store.close()
