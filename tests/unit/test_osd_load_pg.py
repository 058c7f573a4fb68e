"""A PG's log as an OSD loads it at start or when the PG comes back to it."""

from __future__ import annotations

from pathlib import Path

from radospy.common.eversion import Eversion
from radospy.osd.daemon import load_pg
from radospy.osd.objectstore import ObjectStore, Transaction
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import LogEntry, LogOp, PgInfo
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = "1.0"


def _entry(v: int) -> LogEntry:
    prior = Eversion(1, v - 1) if v > 1 else Eversion(0, 0)
    return LogEntry(LogOp.MODIFY, ObjectId(f"o{v % 2}"), Eversion(1, v), prior)


def test_rows_at_or_before_the_tail_are_not_part_of_the_log(tmp_path: Path) -> None:
    """Rows a trim or a replaced log left behind (the info's tail is past them) must not
    stop the PG from loading, nor come back as log entries."""
    with ObjectStore.mkfs(tmp_path / "store") as store:
        txn = Transaction().mkcoll(CID)
        for v in range(1, 9):
            txn.pglog_append(CID, Eversion(1, v), _entry(v).encode())
        info = PgInfo(PGID, last_update=Eversion(1, 8), log_tail=Eversion(1, 5))
        store.apply(txn.set_pginfo(CID, info.encode()))
        log, loaded = load_pg(store, PGID, CID)
    assert [e.version for e in log] == [Eversion(1, v) for v in (6, 7, 8)]
    assert (log.tail, log.head) == (Eversion(1, 5), Eversion(1, 8))
    assert loaded.last_update == Eversion(1, 8)
