"""`Recovery.recover_object` across an interval change: the op that waits for the
object is resent, never answered EIO.

Regression (thrash seed 1535890960): a client read of a degraded object pushed it to a
replica; a map change meanwhile started a new interval, which clears the primary's
missing sets, and taking the object off that replica's set raised KeyError, which the
OSD answered as EIO. The OSD here is a stand-in that holds a real store and answers
the push after the interval has changed; the recovery code is the real one.
"""

from __future__ import annotations

import asyncio
from errno import EAGAIN
from pathlib import Path
from typing import Any

import pytest

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.osd.daemon import PG
from radospy.osd.messages import PGAck
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.op_lock import PgOpLock
from radospy.osd.peering import PgView
from radospy.osd.pglog import PgInfo, PgLog, PgMissing
from radospy.osd.read_order import InFlightWrites
from radospy.osd.recovery import Recovery, Throttle
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = str(PGID)
A = ObjectId("a")
V = Eversion(5, 3)


class ChangingOsd:
    """Just what `recover_object` asks of its OSD; each push it sends lands after a
    new interval began (as `Recovery.interval_changed` leaves the PG)."""

    def __init__(self, store: ObjectStore, pg: PG) -> None:
        self.store = store
        self.pg = pg
        self.epoch = 7
        self.whoami = 0
        self.entity = "osd.0"
        self.pool_extras: dict[int, Any] = {}
        self._map_changed = asyncio.Condition()
        self.pushes = 0

    async def osd_request(self, osd: int, msg: object, timeout: float) -> object:
        self.pushes += 1
        self.pg.interval_start = self.epoch + 1
        self.pg.active = False
        self.pg.peer_missing.clear()
        return PGAck()


def test_a_push_answered_after_an_interval_change_asks_for_a_resend(tmp_path: Path) -> None:
    store = ObjectStore.mkfs(tmp_path / "store")
    store.apply(
        Transaction().mkcoll(CID).touch(CID, A).write(CID, A, 0, b"x").set_object_info(CID, A, V, 0)
    )
    view = PgView(7, (0, 1, 2), 0, (0, 1, 2), 0, 3, 2)
    pg = PG(
        PGID, CID, [0, 1, 2], 0, 7, PgLog(), PgInfo(PGID, V, V), view,
        active=True, lock=PgOpLock(InFlightWrites()),
    )  # fmt: skip
    missing = PgMissing()
    missing.add(A, V)
    pg.peer_missing = {1: missing, 2: missing.copy()}
    osd = ChangingOsd(store, pg)
    recovery = Recovery(osd, Throttle())  # type: ignore[arg-type]
    try:
        with pytest.raises(RadosError) as caught:
            asyncio.run(recovery.recover_object(pg, A))
    finally:
        store.close()
    assert caught.value.errno == EAGAIN
    assert osd.pushes == 1  # nothing more is pushed for an interval that is over
