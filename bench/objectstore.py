"""Object store speed: 4 KiB and 4 MiB write transactions and reads, beside references.

Each write is what one client op turns into: create the object, write its data, stamp
its version and append a PG log entry, committed durably (fsync) before the next one.
Reads fetch each object whole, checksums verified. References, measured in the same run:

- `raw files`: one file per object, `write` + `fsync` (no metadata, no log, no atomicity);
  the floor a durable store pays on this disk;
- `lmdb`: the same layout (64 KiB extents with xxh3 checksums, object row, log entry)
  on LMDB with `sync=True`, when the `lmdb` package is installed (it is not a project
  dependency: see `radospy.osd.objectstore` for why).

Each engine runs in a fresh process so that its peak RSS is its own.
Run alone: `.venv/bin/python bench/objectstore.py`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from radospy.common.eversion import Eversion
from radospy.osd.objectstore import EXTENT_SIZE, ObjectId, ObjectStore, Transaction, checksum

SIZES = {"4 KiB": (4096, 2000), "4 MiB": (4 << 20, 50)}
CID = "1.0"


def _store_engine(root: Path) -> tuple[Callable[[int, bytes], None], Callable[[int], bytes]]:
    store = ObjectStore.mkfs(root)
    store.apply(Transaction().mkcoll(CID))

    def write(i: int, data: bytes) -> None:
        oid = ObjectId(f"obj{i}")
        store.apply(
            Transaction()
            .touch(CID, oid)
            .write(CID, oid, 0, data)
            .set_object_info(CID, oid, Eversion(1, i + 1), time.time_ns())
            .pglog_append(CID, Eversion(1, i + 1), b"e" * 120)
        )

    def read(i: int) -> bytes:
        return store.read(CID, ObjectId(f"obj{i}"))

    return write, read


def _raw_engine(root: Path) -> tuple[Callable[[int, bytes], None], Callable[[int], bytes]]:
    def write(i: int, data: bytes) -> None:
        fd = os.open(root / f"obj{i}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(i: int) -> bytes:
        return (root / f"obj{i}").read_bytes()

    return write, read


def _lmdb_engine(root: Path) -> tuple[Callable[[int, bytes], None], Callable[[int], bytes]]:
    import lmdb

    env = lmdb.open(str(root), map_size=1 << 36, sync=True, max_dbs=3)
    objects, extents, log = (env.open_db(name) for name in (b"objects", b"extents", b"log"))

    def write(i: int, data: bytes) -> None:
        key = f"obj{i}".encode()
        with env.begin(write=True) as txn:
            for at in range(0, len(data), EXTENT_SIZE):
                chunk = data[at : at + EXTENT_SIZE]
                value = checksum(chunk).to_bytes(8, "little", signed=True) + chunk
                txn.put(key + b"\0" + (at // EXTENT_SIZE).to_bytes(4, "big"), value, db=extents)
            meta = len(data).to_bytes(8, "little") + time.time_ns().to_bytes(8, "little")
            txn.put(key, meta, db=objects)
            txn.put((i + 1).to_bytes(8, "big"), b"e" * 120, db=log)

    def read(i: int) -> bytes:
        key = f"obj{i}".encode()
        out = bytearray()
        with env.begin() as txn:
            size = int.from_bytes(txn.get(key, db=objects)[:8], "little")
            for index in range((size + EXTENT_SIZE - 1) // EXTENT_SIZE):
                value = txn.get(key + b"\0" + index.to_bytes(4, "big"), db=extents)
                if checksum(value[8:]) != int.from_bytes(value[:8], "little", signed=True):
                    raise RuntimeError("checksum mismatch")
                out += value[8:]
        return bytes(out)

    return write, read


ENGINES = {"radospy (SQLite WAL)": _store_engine, "lmdb": _lmdb_engine, "raw files": _raw_engine}


def _measure(engine: str) -> dict[str, object]:
    """Run one engine over every size in this process; the parent prints the table."""
    rows = {}
    for label, (size, count) in SIZES.items():
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
            write, read = ENGINES[engine](Path(tmp))
            payloads = [os.urandom(size) for _ in range(4)]
            started = time.perf_counter()
            for i in range(count):
                write(i, payloads[i % 4])
            write_s = time.perf_counter() - started
            started = time.perf_counter()
            for i in range(count):
                if read(i) != payloads[i % 4]:
                    raise RuntimeError(f"{engine}: object {i} read back wrong")
            read_s = time.perf_counter() - started
        rows[label] = {"count": count, "size": size, "write_s": write_s, "read_s": read_s}
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "rss_mib": rss_kib / 1024}


def _available(engine: str) -> bool:
    if engine != "lmdb":
        return True
    try:
        import lmdb  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        print(json.dumps(_measure(sys.argv[2])))
        return
    header = (
        f"{'engine':<22} {'size':>6} {'write tx/s':>11} {'write MB/s':>11}"
        f" {'read ops/s':>11} {'read MB/s':>10} {'RSS MiB':>8}"
    )
    print(header)
    print("-" * len(header))
    for engine in ENGINES:
        if not _available(engine):
            print(f"{engine:<22} (not installed: pip install lmdb to compare)")
            continue
        out = subprocess.run(
            [sys.executable, __file__, "--engine", engine],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout)
        for label, row in result["rows"].items():
            mb = row["count"] * row["size"] / 1e6
            print(
                f"{engine:<22} {label:>6} {row['count'] / row['write_s']:>11.0f}"
                f" {mb / row['write_s']:>11.1f} {row['count'] / row['read_s']:>11.0f}"
                f" {mb / row['read_s']:>10.1f} {result['rss_mib']:>8.0f}"
            )


if __name__ == "__main__":
    main()
