"""The OSD's object store: a block file for bulk data and an embedded database per OSD.

Objects (data in 64 KiB extents, each with an xxh3 checksum verified on read; size,
mtime, eversion; xattrs; omap and its header) live in collections, one per PG, beside
each PG's log entries and info. Changes are `Transaction`s applied atomically and
durably; one client op is one transaction. See `store` for the layout: extents of
writes of 64 KiB or more go once, with O_DIRECT, to a per-OSD block file (as
BlueStore's data goes to its block device); everything else, small writes included,
is in SQLite.

Why SQLite in WAL mode and not LMDB for the rest (measured with `bench/objectstore.py`
when all data still lived in 64 KiB SQLite extents, with checksums and a log entry per
transaction, each commit durable, on this 2-core VM, one run, load ~3 from other work):

    engine                  size  write tx/s  write MB/s  read MB/s  RSS MiB
    SQLite WAL, sync=FULL  4 KiB         321         1.3      232.2       74
    SQLite WAL, sync=FULL  4 MiB          34       141.1      407.5       74
    LMDB, sync=True        4 KiB         189         0.8      823.2      256
    LMDB, sync=True        4 MiB          38       158.8      676.9      256
    raw files + fsync      4 KiB         315         1.3      352.1       39
    raw files + fsync      4 MiB          44       184.0     8212.5       39

- Small writes decide IOPS: a SQLite WAL commit is one fsync (of the WAL) and keeps up
  with a bare file write + fsync; LMDB syncs data then meta page, two flushes, and
  reaches ~60% of it.
- For 4 MiB writes SQLite wrote the data twice (WAL, then checkpoint): the reason bulk
  extents moved to the block file, which writes them once.
- LMDB reads faster, but through a memory map that shows up in the OSD's RSS as data
  is touched (256 MiB after 200 MiB of objects), against a budget of 150 MiB per OSD;
  SQLite's page cache is bounded (4 MiB now that it holds metadata only).
- SQLite ships with Python, needs no new dependency, and its WAL lets an offline reader
  (tests, `radospy` tools) open a stopped OSD's store read-only.
"""

from radospy.osd.objectstore.store import (
    EXTENT_SIZE,
    MAX_OBJECT_SIZE,
    ObjectStore,
    ReadPlan,
    checksum,
)
from radospy.osd.objectstore.transaction import Transaction
from radospy.osd.objectstore.types import (
    NOSNAP,
    ChecksumError,
    ObjectId,
    ObjectInfo,
    StatFs,
    StoreError,
    StoreNotFound,
)

__all__ = [
    "EXTENT_SIZE",
    "MAX_OBJECT_SIZE",
    "NOSNAP",
    "ChecksumError",
    "ObjectId",
    "ObjectInfo",
    "ObjectStore",
    "ReadPlan",
    "StatFs",
    "StoreError",
    "StoreNotFound",
    "Transaction",
    "checksum",
]
