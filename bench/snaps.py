"""Clone on write in the object store: what a snapshot costs the next write.

Every object is first written whole; then each is overwritten whole three ways, each
a durable store transaction built the way the OSD builds it (`execute` + `snap_txn.write`
+ version stamp + PG log entry):

- `no snaps` (the reference): a pool that never had snapshots;
- `1st after snap`: the first overwrite after a pool snapshot, which clones the head
  (data, xattrs, omap) and stores the SnapSet in the same transaction;
- `2nd after snap`: a later overwrite under the same snap context (SnapSet read and
  updated, no clone).

`match` says every snapshot read back the data it had at snap time and every head the
new data. Run alone: `.venv/bin/python bench/snaps.py`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.osd import snap_txn
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.ops import OpContext, execute
from radospy.osd.snaps import SnapContext

SIZES = {"4 KiB": (4096, 1000), "4 MiB": (4 << 20, 30)}
CID = "1.0"


class _Writer:
    def __init__(self, root: Path) -> None:
        self.store = ObjectStore.mkfs(root)
        self.store.apply(Transaction().mkcoll(CID))
        self.version = 0

    def write(self, oid: ObjectId, data: bytes, snapc: SnapContext | None) -> None:
        self.version += 1
        version = Eversion(1, self.version)
        result = execute(
            self.store, CID, oid, [o.WriteFull(data=data)], OpContext(time.time_ns(), version)
        )
        assert result.txn is not None
        txn = result.txn
        if snapc is not None:
            txn = snap_txn.write(self.store, CID, oid, snapc, txn, True)
        txn.pglog_append(CID, version, b"e" * 120)
        self.store.apply(txn)


def _timed(writer: _Writer, count: int, data: bytes, snapc: SnapContext | None) -> float:
    start = time.perf_counter()
    for i in range(count):
        writer.write(ObjectId(f"obj{i}"), data, snapc)
    return time.perf_counter() - start


def _run(size: int, count: int) -> tuple[list[float], bool]:
    old, new, newer = b"a" * size, b"b" * size, b"c" * size
    with tempfile.TemporaryDirectory() as tmp:
        writer = _Writer(Path(tmp))
        _timed(writer, count, old, None)
        plain = _timed(writer, count, new, None)
        snapc = SnapContext(1, (1,))
        first = _timed(writer, count, old, snapc)
        second = _timed(writer, count, newer, snapc)
        store = writer.store
        match = all(
            store.read(CID, ObjectId(f"obj{i}")) == newer
            and store.read(CID, snap_txn.clone_of(ObjectId(f"obj{i}"), 1)) == new
            for i in range(count)
        )
        store.close()
    return [plain, first, second], match


def _rate(size: int, count: int, seconds: float) -> str:
    if size < 1 << 20:
        return f"{count / seconds:.0f} op/s"
    return f"{count * size / seconds / 2**20:.1f} MiB/s"


def main() -> None:
    print(f"{'size':>6} {'objects':>8} {'no snaps':>16} {'1st after snap':>16} "
          f"{'2nd after snap':>16} {'match':>6}")  # fmt: skip
    for label, (size, count) in SIZES.items():
        times, match = _run(size, count)
        cells = [_rate(size, count, t) for t in times]
        print(f"{label:>6} {count:>8} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16} "
              f"{'yes' if match else 'NO':>6}")  # fmt: skip


if __name__ == "__main__":
    main()
