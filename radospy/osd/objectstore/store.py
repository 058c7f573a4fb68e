"""`ObjectStore`: per OSD, a block file for bulk data and a SQLite database (WAL mode)
for everything else, BlueStore's split between its block device and RocksDB.

Files of a store directory: `store.db` (and its WAL), and `block`, which holds the
64 KiB extents of bulk writes in 64 KiB allocation units.

Why a block file: in the database every byte of a 4 MiB write went to disk twice (WAL,
then checkpoint) and came back through SQLite's page cache and blob copies. Extents
written by a write of at least `MIN_ALLOC` bytes now go once to `block` with one
`pwritev` (straight from the message buffer), and a read gathers them with `preadv`
into the reply buffer, one call per contiguous run. Smaller writes (and the merge of a
partial overwrite) stay inline in the database, as BlueStore's deferred writes do:
their WAL commit is the single fsync a small write needs. One block file per OSD rather
than a file per object or extent: a file creation is a journalled metadata change that
needs its own fsync (of the directory), while units inside `block` are reused in place
and one `fdatasync` covers every extent a group commit wrote.

Crash safety (nothing unreferenced or torn ever shows, space is never reused early):

- data never overwrites data in place: each write goes to freshly allocated units;
- the block file is `fdatasync`ed before the SQLite COMMIT whose rows point at those
  units, so metadata refers to data only once the data is durable;
- units that a transaction frees (overwrite, truncate, remove) return to the allocator
  only after that transaction committed, and once no read that looked them up before
  is still reading them (`reclaim.Reclaimer`); a crash before the commit leaves the old
  rows pointing at intact old data.
- the allocator is rebuilt on open from the units the committed rows reference, so
  units written by a transaction that never committed are simply free.

Tables:

- `meta` store-wide keys: the format stamp, and whatever the OSD keeps (superblock).
- `collections` one row per PG (`"1.4"`) with its PG info blob.
- `objects` one row per (collection, namespace, name, snap): size, mtime, version and
  the omap header; `id` is a small integer the other tables key on.
- `extents` object data in 64 KiB extents, keyed `id << 20 | index` so that one object's
  extents are one contiguous key range of the table's own B-tree. An extent holds at
  most 64 KiB and never bytes past the object's size; a missing extent, or the part
  of the object's range past an extent's data, reads as zeros (sparse objects,
  truncate-up and zero cost nothing). Each extent carries the xxh3-64 of its bytes,
  checked on every read. Its bytes are either `data` (inline) or the full 64 KiB at
  byte offset `loc` of the block file. A row per 64 KiB keeps partial overwrites,
  zero and truncate simple; a 4 MiB object is 64 small rows, fetched by one range
  query.
- `xattrs`, `omap` name/key-ordered rows per object id (`WITHOUT ROWID`, so a range
  scan is one B-tree walk in byte order, which is omap's listing order).
- `pglog` per-collection PG log entries keyed by eversion.

Every `apply` is one SQLite transaction (`BEGIN IMMEDIATE` … `COMMIT`) with
`synchronous=FULL`, so it returns only after the WAL is fsynced (and, before that, the
block file when the transaction wrote to it): one client op, one transaction, durable
when acknowledged. A crash leaves the last committed state.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import xxhash

from radospy.common.eversion import Eversion
from radospy.common.hugepages import HugeBufferPool, huge_buffer
from radospy.osd.objectstore import transaction as tx
from radospy.osd.objectstore.allocator import Allocator
from radospy.osd.objectstore.reclaim import Reclaimer
from radospy.osd.objectstore.types import (
    ChecksumError,
    ObjectId,
    ObjectInfo,
    StatFs,
    StoreError,
    StoreNotFound,
)

EXTENT_SIZE = 64 * 1024
_INDEX_BITS = 20
# One object's extents live in keys [id << 20, (id + 1) << 20): 64 GiB per object.
MAX_OBJECT_SIZE = EXTENT_SIZE << _INDEX_BITS
MIN_ALLOC = EXTENT_SIZE
"""Writes of at least this many bytes put their whole extents in the block file."""
DB_NAME = "store.db"
BLOCK_NAME = "block"
FORMAT = b"radospy-objectstore 2"
# Widest pwritev/preadv: IOV_MAX on Linux.
_IOV_MAX = 1024
# The staging buffer of O_DIRECT writes, and so the longest run written in one call.
_STAGING_SIZE = 1 << 20
_RUN_EXTENTS = _STAGING_SIZE // EXTENT_SIZE
# Runs of at least this many extents (1 MiB) are read with O_DIRECT.
_DIRECT_READ_MIN = 16
# Reads of up to a default object (4 MiB) take their buffer from a pool that keeps
# this many idle (16 MiB resident at most, given back once the reads stop: the OSD's
# periodic trim). 8 would map fewer new buffers (with 16 reads in flight on 3 OSDs a
# pool of 4 maps one, and the kernel zeroes its huge pages, for ~20 % of reads; 8 for
# ~3 %: OSD CPU per 384-object sequential read run 1.51-1.90 s -> 1.24-1.29 s), but its
# idle 32 MiB sit beside the heap's buffers of a 4 MiB write burst that starts before
# the trim: OSD peak RSS in such a burst 160-164 MiB with 8, 144-148 with 4 (target 150).
_POOLED_READ_SIZE = 4 << 20
_POOLED_READ_BUFFERS = 4
# What O_DIRECT needs of a buffer's address: a page (the logical block size divides it).
_DIRECT_ALIGN = mmap.PAGESIZE
PAGE_SIZE = 16384
# Omap and listing reads fetch this many rows per query, never a whole object's omap.
_PAGE_ROWS = 256
_SNAP_BIAS = 2**63
_SNAPDIR = 2**64 - 1
"""`CEPH_SNAPDIR`: the snap of the objects that hold SnapSets (`radospy.osd.snaps`)."""

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE collections(cid TEXT PRIMARY KEY, info BLOB) WITHOUT ROWID;
CREATE TABLE objects(
    id INTEGER PRIMARY KEY,
    cid TEXT NOT NULL, nspace TEXT NOT NULL, name TEXT NOT NULL, snap INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    v_epoch INTEGER NOT NULL, v_version INTEGER NOT NULL,
    omap_header BLOB);
CREATE UNIQUE INDEX objects_by_key ON objects(cid, nspace, name, snap);
CREATE TABLE extents(k INTEGER PRIMARY KEY, csum INTEGER NOT NULL, loc INTEGER, data BLOB,
    CHECK ((loc IS NULL) <> (data IS NULL)));
CREATE TABLE xattrs(id INTEGER, name TEXT, value BLOB NOT NULL, PRIMARY KEY(id, name))
    WITHOUT ROWID;
CREATE TABLE omap(id INTEGER, key TEXT, value BLOB NOT NULL, PRIMARY KEY(id, key))
    WITHOUT ROWID;
CREATE TABLE pglog(cid TEXT, epoch INTEGER, version INTEGER, entry BLOB NOT NULL,
    PRIMARY KEY(cid, epoch, version)) WITHOUT ROWID;
"""


def checksum(data: bytes | memoryview) -> int:
    """The extent checksum (xxh3-64) as SQLite's signed 64-bit integer."""
    value = xxhash.xxh3_64_intdigest(data)
    return value - 2**64 if value >= 2**63 else value


def _key(object_id: int, index: int) -> int:
    return (object_id << _INDEX_BITS) | index


def _snap_to_db(snap: int) -> int:
    # Biased so that SQLite's signed order is the unsigned snap order (head last).
    return snap - _SNAP_BIAS


def _oid_from_row(nspace: str, name: str, snap: int) -> ObjectId:
    return ObjectId(name, nspace, snap + _SNAP_BIAS)


class ObjectStore:
    """A transactional store of objects, their xattrs and omap, PG logs and PG infos.

    Create one with `mkfs`, open an existing one with `open` (`readonly=True` for an
    offline look at a stopped OSD's data). Reads go straight to the database; changes
    go through `apply(Transaction)`. Safe to share between threads.

    A writable store reads through a second connection of its own: in WAL mode a reader
    sees every committed transaction and never waits for a commit in progress, so a
    read (an op's object lookup on the event loop) does not stall behind another
    transaction's fsync. Reads serialise among themselves, commits among themselves.
    """

    def __init__(
        self, path: Path, db: sqlite3.Connection, blocks: _BlockFile, readonly: bool
    ) -> None:
        self.path = path
        self.readonly = readonly
        self._db = db
        self._blocks = blocks
        self._lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._reader = db
        self._read_lock = self._lock
        if not readonly:
            self._reader = _connect(str(path / DB_NAME), readonly=False)
            self._reader.execute("PRAGMA query_only=1")
            self._read_lock = threading.RLock()

    # --- lifecycle --------------------------------------------------------------------

    @classmethod
    def mkfs(cls, path: str | os.PathLike[str]) -> ObjectStore:
        """Create a new, empty store in directory `path` (created if missing)."""
        root = Path(path)
        db_path = root / DB_NAME
        if db_path.exists():
            raise StoreError(f"an object store already exists in {root}")
        try:
            root.mkdir(parents=True, exist_ok=True)
            # The block file first: a store whose format row exists has one.
            fd = os.open(root / BLOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            os.fsync(fd)
            os.close(fd)
            db = _connect(str(db_path), readonly=False)
            db.execute(f"PRAGMA page_size={PAGE_SIZE}")
            db.execute("PRAGMA journal_mode=WAL")
            # One transaction: a store without its format row is never left behind.
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA}"
                f" INSERT INTO meta VALUES ('format', X'{FORMAT.hex()}'); COMMIT;"
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot create an object store in {root}: {exc}") from exc
        _tune(db)
        return cls(root, db, _BlockFile.open(root, db, readonly=False), readonly=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> ObjectStore:
        """Open the store in directory `path`; a clear `StoreError` when it is missing
        or is not a valid store."""
        root = Path(path)
        db_path = root / DB_NAME
        if not root.is_dir():
            raise StoreNotFound(f"object store directory {root} does not exist")
        if not db_path.is_file():
            raise StoreNotFound(f"no object store in {root} (missing {DB_NAME}; run mkfs)")
        try:
            db = _connect(str(db_path), readonly=readonly)
            row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"object store in {root} is corrupt: {exc}") from exc
        if row is None or not bytes(row[0]).startswith(FORMAT.split()[0] + b" "):
            db.close()
            raise StoreError(f"object store in {root} has an unknown format")
        if bytes(row[0]) != FORMAT:
            db.close()
            raise StoreError(
                f"object store in {root} has format '{bytes(row[0]).decode(errors='replace')}'"
                f" and this radospy reads '{FORMAT.decode()}' only: pre-release formats are"
                " not converted, recreate the OSD"
            )
        if not readonly:
            _tune(db)
        try:
            blocks = _BlockFile.open(root, db, readonly=readonly)
        except (OSError, sqlite3.Error) as exc:
            db.close()
            raise StoreError(f"object store in {root} is corrupt: {exc}") from exc
        return cls(root, db, blocks, readonly=readonly)

    def release_idle_buffers(self) -> int:
        """Unmap the pooled read buffers if no read took one since the last call; how
        many (see `HugeBufferPool.trim`)."""
        return self._blocks.read_buffers.trim()

    def close(self) -> None:
        """Close the database (a clean close also checkpoints the WAL) and block file."""
        with self._lock, self._read_lock:
            if self._reader is not self._db:
                self._reader.close()
            self._db.close()
            self._blocks.close()

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- transactions -----------------------------------------------------------------

    def apply(self, txn: tx.Transaction) -> None:
        """Apply every step of `txn` atomically; return once it is durable.

        On any error nothing of `txn` is applied and a `StoreError` says why.

        Group commit: transactions applied from several threads at once share one SQLite
        transaction and so one fsync of the WAL (BlueStore batches its commits the
        same way). The thread that gets the store first commits everything queued by
        then; the others find theirs done, each returning only after the COMMIT that
        made it durable. A failing transaction takes no other down with it: the batch
        is rolled back and its transactions committed one by one.
        """
        if self.readonly:
            raise StoreError(f"object store in {self.path} is open read-only")
        mine = _Queued(txn)
        with self._queue_lock:
            self._queue.append(mine)
        with self._lock:
            if not mine.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if mine.error is not None:
            raise mine.error

    def apply_many(self, txns: list[tx.Transaction]) -> list[BaseException | None]:
        """Apply each of `txns` atomically, all in one commit when every one applies;
        return once they are durable, with the error of each that failed (None for
        those applied). A thread that commits for many ops at once (the OSD's
        committer) gets the group commit of `apply` without a thread per op."""
        if self.readonly:
            raise StoreError(f"object store in {self.path} is open read-only")
        mine = [_Queued(txn) for txn in txns]
        with self._queue_lock:
            self._queue += mine
        with self._lock:
            if not all(item.done for item in mine):
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        return [item.error for item in mine]

    def _commit(self, batch: list[_Queued]) -> None:
        """Commit ``batch`` in one transaction if every one of them applies, else each
        on its own; sets every item's outcome."""
        if len(batch) > 1:
            try:
                self._commit_all([item.txn for item in batch])
            except Exception:
                pass  # One of them fails: find which, committing the others alone.
            except BaseException as exc:
                for item in batch:
                    item.error, item.done = exc, True
                raise
            else:
                for item in batch:
                    item.done = True
                return
        for item in batch:
            try:
                self._commit_all([item.txn])
            except BaseException as exc:
                item.error = exc
            item.done = True

    def _commit_all(self, txns: list[tx.Transaction]) -> None:
        db, blocks = self._db, self._blocks
        try:
            db.execute("BEGIN IMMEDIATE")
            apply = _Applier(db, blocks)
            for txn in txns:
                for op in txn.ops:
                    apply(op)
            apply.finish()
            # The data first: a committed row never points at data not yet durable.
            blocks.sync()
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            blocks.rolled_back()
            if isinstance(exc, sqlite3.Error):
                raise _store_error(self.path, exc) from exc
            if isinstance(exc, OSError):
                raise StoreError(f"object store in {self.path}: {exc}", exc.errno) from exc
            raise
        blocks.committed()

    # --- reads ------------------------------------------------------------------------

    def list_collections(self) -> list[str]:
        """Every collection id, sorted."""
        return [r[0] for r in self._query("SELECT cid FROM collections ORDER BY cid")]

    def collection_exists(self, cid: str) -> bool:
        """Whether collection `cid` exists."""
        return bool(self._query("SELECT 1 FROM collections WHERE cid=?", (cid,)))

    def stat(self, cid: str, oid: ObjectId) -> ObjectInfo | None:
        """Size, mtime and version of an object, or None when it does not exist."""
        rows = self._query(
            "SELECT size, mtime_ns, v_epoch, v_version FROM objects"
            " WHERE cid=? AND nspace=? AND name=? AND snap=?",
            (cid, oid.nspace, oid.name, _snap_to_db(oid.snap)),
        )
        if not rows:
            return None
        size, mtime_ns, epoch, version = rows[0]
        return ObjectInfo(size, mtime_ns, Eversion(epoch, version))

    def read(self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None) -> bytes:
        """Up to `length` bytes at `offset` (to the end when None); short past the end.

        Only the extents covering the range are loaded, and each one's checksum is
        verified (`ChecksumError` names the object and the extent's offset).
        """
        return bytes(self.read_buffer(cid, oid, offset, length))

    def read_buffer(
        self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None
    ) -> memoryview:
        """What `read` returns, as a view of the buffer the extents were gathered into:
        a 4 MiB read goes from the block file to the reply with no further copy."""
        plan = self.plan_read(cid, oid, offset, length)
        plan.fill()
        return plan.result

    def plan_read(
        self, cid: str, oid: ObjectId, offset: int = 0, length: int | None = None
    ) -> ReadPlan:
        """A read of what `read` returns, looked up now (the object as it is now) and
        read from the block file by `ReadPlan.fill`, which may run on another thread
        while transactions commit: the units it reads stay allocated until it is done.
        `StoreNotFound` when there is no such object.

        One query finds the object and its extents in the range; each extent's checksum
        is verified once, over the bytes the result shows.
        """
        first = min(offset // EXTENT_SIZE, 1 << _INDEX_BITS)
        last = (1 << _INDEX_BITS) - 1
        if length is not None:
            last = min(last, max(offset + length - 1, 0) // EXTENT_SIZE)
        # Pinned before the lookup: a transaction that frees these units commits either
        # before it (the lookup sees them gone) or keeps them until `fill` is done.
        pin = self._blocks.pin()
        try:
            rows = self._query(
                _READ_EXTENTS, (first, last, cid, oid.nspace, oid.name, _snap_to_db(oid.snap))
            )
        except BaseException:
            self._blocks.unpin(pin)
            raise
        if not rows:
            self._blocks.unpin(pin)
            raise StoreNotFound(f"object {oid} does not exist in collection {cid}")
        size = rows[0][0]
        end = size if length is None else min(size, offset + length)
        base = first * EXTENT_SIZE
        # The whole extents the range touches, since each checksum covers one.
        total = max(min(size, (last + 1) * EXTENT_SIZE) - base, 0) if offset < end else 0
        extents = [row[1:] for row in rows if row[1] is not None] if total else []
        # Every byte comes from the block file when each extent of the range is there
        # whole: the buffer needs no zeroing first.
        whole = total == len(extents) * EXTENT_SIZE and all(e[2] is not None for e in extents)
        in_blocks = any(e[2] is not None for e in extents)
        if not in_blocks:
            self._blocks.unpin(pin)
        return ReadPlan(
            self._blocks, cid, oid, total, not whole, base, extents,
            offset - base, end - base, pin if in_blocks else None,
        )

    def getxattr(self, cid: str, oid: ObjectId, name: str) -> bytes | None:
        """One extended attribute, or None when unset."""
        object_id, _ = self._require(cid, oid)
        rows = self._query("SELECT value FROM xattrs WHERE id=? AND name=?", (object_id, name))
        return bytes(rows[0][0]) if rows else None

    def getxattrs(self, cid: str, oid: ObjectId) -> dict[str, bytes]:
        """All extended attributes, by name in byte order."""
        object_id, _ = self._require(cid, oid)
        rows = self._query("SELECT name, value FROM xattrs WHERE id=? ORDER BY name", (object_id,))
        return {name: bytes(value) for name, value in rows}

    def omap_get_header(self, cid: str, oid: ObjectId) -> bytes:
        """The omap header (empty when never set)."""
        self._require(cid, oid)
        rows = self._query(
            "SELECT omap_header FROM objects WHERE cid=? AND nspace=? AND name=? AND snap=?",
            (cid, oid.nspace, oid.name, _snap_to_db(oid.snap)),
        )
        header = rows[0][0]
        return b"" if header is None else bytes(header)

    def omap_iter(
        self, cid: str, oid: ObjectId, start_after: str = "", prefix: str = ""
    ) -> Iterator[tuple[str, bytes]]:
        """Omap pairs with keys after `start_after` that start with `prefix`, in byte
        order, fetched a page at a time (stop early and the rest is never read)."""
        object_id, _ = self._require(cid, oid)
        after, inclusive = (prefix, True) if prefix > start_after else (start_after, False)
        while True:
            op = ">=" if inclusive else ">"
            rows = self._query(
                f"SELECT key, value FROM omap WHERE id=? AND key {op} ? ORDER BY key LIMIT ?",
                (object_id, after, _PAGE_ROWS),
            )
            for key, value in rows:
                if not key.startswith(prefix):
                    return
                yield key, bytes(value)
            if len(rows) < _PAGE_ROWS:
                return
            after, inclusive = rows[-1][0], False

    def omap_get_vals_by_keys(self, cid: str, oid: ObjectId, keys: list[str]) -> dict[str, bytes]:
        """The pairs among `keys` that are set, in key order."""
        object_id, _ = self._require(cid, oid)
        found: dict[str, bytes] = {}
        for key in sorted(set(keys)):
            rows = self._query("SELECT value FROM omap WHERE id=? AND key=?", (object_id, key))
            if rows:
                found[key] = bytes(rows[0][0])
        return found

    def list_objects(
        self,
        cid: str,
        *,
        after: ObjectId | None = None,
        limit: int = 1000,
        nspace: str | None = None,
        snap: int | None = None,
    ) -> list[ObjectId]:
        """Up to `limit` objects of a collection after the cursor `after`, ordered by
        (namespace, name, snap); `nspace` restricts to one namespace (None: all),
        `snap` to one snap id (`NOSNAP`: heads only, as a client's listing wants).

        Page by passing the last object of one page as `after` of the next.
        """
        if not self.collection_exists(cid):
            raise StoreNotFound(f"collection {cid} does not exist")
        where, args = ["cid=?"], [cid]
        if nspace is not None:
            where.append("nspace=?")
            args.append(nspace)
        if snap is not None:
            where.append("snap=?")
            args.append(_snap_to_db(snap))
        if after is not None:
            where.append("(nspace, name, snap) > (?, ?, ?)")
            args += [after.nspace, after.name, _snap_to_db(after.snap)]
        rows = self._query(
            f"SELECT nspace, name, snap FROM objects WHERE {' AND '.join(where)}"
            " ORDER BY nspace, name, snap LIMIT ?",
            (*args, limit),
        )
        return [_oid_from_row(*row) for row in rows]

    def pglog(self, cid: str) -> list[tuple[Eversion, bytes]]:
        """The PG log entries of a collection, oldest first."""
        rows = self._query(
            "SELECT epoch, version, entry FROM pglog WHERE cid=? ORDER BY epoch, version",
            (cid,),
        )
        return [(Eversion(e, v), bytes(entry)) for e, v, entry in rows]

    def pginfo(self, cid: str) -> bytes | None:
        """The PG info blob of a collection, or None when never set."""
        rows = self._query("SELECT info FROM collections WHERE cid=?", (cid,))
        if not rows:
            raise StoreNotFound(f"collection {cid} does not exist")
        return None if rows[0][0] is None else bytes(rows[0][0])

    def get_meta(self, key: str) -> bytes | None:
        """A store-wide key set with `Transaction.set_meta`, or None."""
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return bytes(rows[0][0]) if rows else None

    def statfs(self) -> StatFs:
        """Capacity of the file system holding the store and what the store uses."""
        vfs = os.statvfs(self.path)
        page_size = self._query("PRAGMA page_size")[0][0]
        pages = self._query("PRAGMA page_count")[0][0]
        free = self._query("PRAGMA freelist_count")[0][0]
        stored, count = self._query("SELECT coalesce(sum(size), 0), count(*) FROM objects")[0]
        blocks = self._blocks.used_bytes
        if blocks is None:
            blocks = self._query(f"SELECT count(*) FROM ({_BLOCK_LOCS})")[0][0] * EXTENT_SIZE
        return StatFs(
            total=vfs.f_blocks * vfs.f_frsize,
            available=vfs.f_bavail * vfs.f_frsize,
            used=(pages - free) * page_size + blocks,
            stored=stored,
            num_objects=count,
        )

    def collection_usage(self) -> dict[str, tuple[int, int]]:
        """Objects and logical bytes of every collection: cid -> (num_objects, num_bytes),
        what a primary reports for its PGs. Clones count (as in Ceph's num_objects);
        SnapSet objects (snap `SNAPDIR`) are metadata and do not."""
        counts: dict[str, tuple[int, int]] = dict.fromkeys(self.list_collections(), (0, 0))
        rows = self._query(
            "SELECT cid, count(*), coalesce(sum(size), 0) FROM objects WHERE snap != ?"
            " GROUP BY cid",
            (_snap_to_db(_SNAPDIR),),
        )
        for cid, count, size in rows:
            counts[cid] = (int(count), int(size))
        return counts

    def fsck(self) -> list[str]:
        """Check every object's extents against its size and checksums, and the
        database's own integrity; returns the problems found (empty when sound)."""
        pin = self._blocks.pin()
        try:
            return self._fsck()
        finally:
            self._blocks.unpin(pin)

    def _fsck(self) -> list[str]:
        problems = [
            f"database: {row[0]}" for row in self._query("PRAGMA integrity_check") if row[0] != "ok"
        ]
        objects = self._query("SELECT id, cid, nspace, name, snap, size FROM objects")
        sizes = {row[0]: row for row in objects}
        block_size = os.fstat(self._blocks.fd).st_size
        owners: dict[int, str] = {}
        for k, csum, loc, data in self._query("SELECT k, csum, loc, data FROM extents"):
            object_id, index = k >> _INDEX_BITS, k & ((1 << _INDEX_BITS) - 1)
            row = sizes.get(object_id)
            if row is None:
                problems.append(f"extent {index} of missing object id {object_id}")
                continue
            _, cid, nspace, name, snap, size = row
            oid = _oid_from_row(nspace, name, snap)
            start = index * EXTENT_SIZE
            if loc is not None:
                where = f"{cid}/{oid} at {start}"
                if loc % EXTENT_SIZE or loc + EXTENT_SIZE > block_size:
                    problems.append(f"{where}: block extent at {loc} is outside the block file")
                    continue
                if loc in owners:
                    problems.append(f"{where}: block extent at {loc} is also {owners[loc]}'s")
                owners[loc] = where
                data = self._blocks.read(loc)
            if start + len(data) > size or len(data) > EXTENT_SIZE:
                problems.append(f"{cid}/{oid}: extent at {start} runs past size {size}")
            if checksum(data) != csum:
                problems.append(f"{cid}/{oid}: checksum mismatch at offset {start}")
        allocated = self._blocks.allocated_units()
        if allocated is not None:
            referenced = {loc // EXTENT_SIZE for loc in owners}
            if allocated != referenced:
                problems.append(
                    f"allocator: {len(allocated - referenced)} units allocated and unused,"
                    f" {len(referenced - allocated)} used and not allocated"
                )
        for table in ("xattrs", "omap"):
            orphans = self._query(
                f"SELECT count(*) FROM {table} WHERE id NOT IN (SELECT id FROM objects)"
            )[0][0]
            if orphans:
                problems.append(f"{orphans} {table} rows of missing objects")
        return problems

    # --- helpers ----------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        with self._read_lock:
            try:
                return self._reader.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc) from exc

    def _require(self, cid: str, oid: ObjectId) -> tuple[int, int]:
        rows = self._query(
            "SELECT id, size FROM objects WHERE cid=? AND nspace=? AND name=? AND snap=?",
            (cid, oid.nspace, oid.name, _snap_to_db(oid.snap)),
        )
        if not rows:
            raise StoreNotFound(f"object {oid} does not exist in collection {cid}")
        return rows[0][0], rows[0][1]


class _BlockFile:
    """The block file: extent I/O, and the allocation state of one transaction.

    Within a transaction `allocate` hands out units and `free` notes the units its
    rows stop referencing; `sync` makes the written data durable before the commit;
    then `committed` returns the freed units to the allocator, or `rolled_back` the
    allocated ones (nothing committed refers to them).
    """

    def __init__(
        self,
        fd: int,
        allocator: Allocator | None,
        direct_fd: int | None,
        direct_read_fd: int | None,
    ) -> None:
        self.fd = fd
        self._allocator = allocator
        self._direct_fd = direct_fd
        self._direct_read_fd = direct_read_fd
        # Page-aligned, as O_DIRECT wants; reused, so written through once faulted in.
        self._staging = mmap.mmap(-1, _STAGING_SIZE) if direct_fd is not None else None
        self.read_buffers = HugeBufferPool(_POOLED_READ_SIZE, _POOLED_READ_BUFFERS)
        self._reclaim = Reclaimer()
        self._allocated: list[int] = []
        self._freed: list[int] = []
        self._dirty = False

    @classmethod
    def open(cls, root: Path, db: sqlite3.Connection, *, readonly: bool) -> _BlockFile:
        """Open `root`'s block file; a writable one gets its allocator, rebuilt from
        the units the committed rows reference."""
        path = root / BLOCK_NAME
        if not path.is_file():
            raise OSError(errno.ENOENT, f"missing block file {BLOCK_NAME}")
        fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
        try:
            direct_read_fd = _open_direct(path, os.O_RDONLY)
            if readonly:
                return cls(fd, None, None, direct_read_fd)
            direct_fd = _open_direct(path, os.O_WRONLY)
        except OSError:
            os.close(fd)
            raise
        units = [loc // EXTENT_SIZE for (loc,) in db.execute(_BLOCK_LOCS)]
        allocator = Allocator(os.fstat(fd).st_size // EXTENT_SIZE, units)
        return cls(fd, allocator, direct_fd, direct_read_fd)

    @property
    def used_bytes(self) -> int | None:
        """Bytes of allocated units (None on a read-only store, which has no allocator)."""
        return None if self._allocator is None else self._allocator.used * EXTENT_SIZE

    def allocated_units(self) -> set[int] | None:
        """The units the allocator has handed out and no committed transaction freed
        (None on a read-only store)."""
        if self._allocator is None:
            return None
        used = {u for u in range(self._allocator.size) if self._allocator.is_used(u)}
        return used - self._reclaim.held_units()

    def close(self) -> None:
        """Close the file."""
        os.close(self.fd)
        for fd in (self._direct_fd, self._direct_read_fd):
            if fd is not None:
                os.close(fd)
        if self._staging is not None:
            self._staging.close()

    def write(self, pieces: list[memoryview]) -> list[int]:
        """Write each piece (a whole extent) to a newly allocated unit; their byte
        offsets, in order. One `pwritev` per contiguous run of units."""
        assert self._allocator is not None, "write on a read-only store"
        units = self._allocator.allocate(len(pieces))
        self._allocated += units
        self._dirty = True
        i = 0
        while i < len(units):
            j = i + 1
            while j < len(units) and j - i < _RUN_EXTENTS and units[j] == units[j - 1] + 1:
                j += 1
            self._write_run(pieces[i:j], units[i] * EXTENT_SIZE)
            i = j
        return [unit * EXTENT_SIZE for unit in units]

    def _write_run(self, pieces: list[memoryview], offset: int) -> None:
        if self._staging is None or self._direct_fd is None:
            _pwritev_all(self.fd, pieces, offset)
            return
        # O_DIRECT: the data goes from the staging buffer to the disk without a copy
        # into the page cache, whose allocation (the file grows) and copy cost ~10x
        # the CPU per MB here. The kernel drops cached pages of the range it writes,
        # so buffered reads through `fd` stay coherent.
        staging = memoryview(self._staging)
        for at, piece in enumerate(pieces):
            staging[at * EXTENT_SIZE : (at + 1) * EXTENT_SIZE] = piece
        _pwritev_all(self._direct_fd, [staging[: len(pieces) * EXTENT_SIZE]], offset)

    def free(self, locs: list[int]) -> None:
        """Note extents the transaction stops referencing (freed once it commits)."""
        self._freed += (loc // EXTENT_SIZE for loc in locs)

    def pin(self) -> int:
        """Keep the units freed from now on allocated until `unpin` (see `Reclaimer`)."""
        return self._reclaim.pin()

    def unpin(self, token: int) -> None:
        """The read that pinned ``token`` is done with its units."""
        self._reclaim.unpin(token)

    def read_target(self, size: int, zeroed: bool) -> memoryview:
        """A buffer of ``size`` bytes for a read, ``zeroed`` or not (a 4 MiB memset is a
        third of a read's CPU). A big one starts on a huge page boundary, so that
        `gather` reads into it with O_DIRECT in few, big requests (`hugepages`), and
        comes from a small pool, so its pages are not faulted in and zeroed again for
        every read."""
        if size < _DIRECT_READ_MIN * EXTENT_SIZE:
            return memoryview(bytearray(size))
        if size <= self.read_buffers.capacity:
            return self.read_buffers.take(size, zeroed)
        return huge_buffer(size)

    def read(self, loc: int) -> bytes:
        """The whole extent at byte offset `loc`."""
        return os.pread(self.fd, EXTENT_SIZE, loc)

    def gather(self, view: memoryview, base: int, rows: list[Any]) -> None:
        """Read the block-file extents among `rows` (`k, csum, loc, data`, ordered by
        k) into `view`, which holds the object's bytes from offset `base` on: one
        `preadv` per run of extents that are contiguous both in the object and on disk."""
        run: list[memoryview] = []
        run_loc = next_loc = 0
        for k, _, loc, _ in rows:
            if loc is None:
                continue
            at = (k & ((1 << _INDEX_BITS) - 1)) * EXTENT_SIZE - base
            piece = view[at : at + EXTENT_SIZE]
            if run and loc == next_loc and len(run) < _IOV_MAX:
                run.append(piece)
            else:
                if run:
                    self._read_run(run, run_loc)
                run, run_loc = [piece], loc
            next_loc = loc + EXTENT_SIZE
        if run:
            self._read_run(run, run_loc)

    def _read_run(self, pieces: list[memoryview], offset: int) -> None:
        # A big run goes around the page cache, into the reply buffer itself: the data
        # was written with O_DIRECT, and filling fresh page-cache pages costs ~7x the
        # CPU per MB here. Its pieces start a multiple of EXTENT_SIZE after the first,
        # which `read_target` places on a page boundary. Small runs stay buffered, so
        # they can be cached.
        direct = (
            self._direct_read_fd is not None
            and len(pieces) >= _DIRECT_READ_MIN
            and _address(pieces[0]) % _DIRECT_ALIGN == 0
        )
        fd = self._direct_read_fd if direct else self.fd
        assert fd is not None
        _zero_past(pieces, os.preadv(fd, pieces, offset))

    def sync(self) -> None:
        """Make what this transaction wrote durable."""
        if self._dirty:
            os.fdatasync(self.fd)

    def committed(self) -> None:
        """The transaction committed: its freed units may be allocated again once no
        read that looked them up before is reading them."""
        assert self._allocator is not None
        self._reclaim.retire(self._freed)
        self._allocator.release(self._reclaim.reusable())
        self._reset()

    def rolled_back(self) -> None:
        """The transaction was rolled back: its allocated units are free again."""
        if self._allocator is not None:
            self._allocator.release(self._allocated)
        self._reset()

    def _reset(self) -> None:
        self._allocated, self._freed, self._dirty = [], [], False


_BLOCK_LOCS = "SELECT loc FROM extents WHERE loc IS NOT NULL"
# An object's size and its extents with indexes in [?, ?] (the object's row alone when
# there are none): the lookup and the data of a read in one query.
_READ_EXTENTS = (
    "SELECT o.size, e.k, e.csum, e.loc, e.data FROM objects o LEFT JOIN extents e"
    f" ON e.k BETWEEN (o.id << {_INDEX_BITS}) + ? AND (o.id << {_INDEX_BITS}) + ?"
    " WHERE o.cid=? AND o.nspace=? AND o.name=? AND o.snap=? ORDER BY e.k"
)


class ReadPlan:
    """A read looked up by `ObjectStore.plan_read`, its bytes not read yet: `fill` reads
    them (on any thread) and verifies each extent's checksum, raising `ChecksumError`
    (or a `StoreError` with the errno of a failed read); `result` is then the range
    asked for. `io_bytes`: how much of it comes from the block file, so what `fill`
    waits for the disk for."""

    def __init__(
        self,
        blocks: _BlockFile,
        cid: str,
        oid: ObjectId,
        size: int,
        zeroed: bool,
        base: int,
        extents: list[Any],
        start: int,
        end: int,
        pin: int | None,
    ) -> None:
        self._blocks = blocks
        self._cid, self._oid = cid, oid
        # The buffer is taken when the read starts, not while it waits for a thread.
        self._size, self._zeroed = size, zeroed
        self._view = memoryview(b"")
        self._base = base
        self._extents = extents
        self._start, self._end = start, end
        self._pin = pin
        self._filled = False
        self._error: StoreError | None = None
        self.io_bytes = sum(EXTENT_SIZE for e in extents if e[2] is not None)

    @property
    def result(self) -> memoryview:
        """The bytes read (valid once `fill` returned)."""
        return self._view[self._start : self._end]

    def fill(self) -> None:
        """Read the extents into the buffer and verify them, once: a later call returns
        (or raises) as the first did."""
        if not self._filled:
            try:
                self._fill()
            except StoreError as exc:
                self._error = exc
            finally:
                self._filled = True
        if self._error is not None:
            raise self._error

    def _fill(self) -> None:
        if not self._size:
            return
        view = self._view = self._blocks.read_target(self._size, self._zeroed)
        base = self._base
        try:
            self._blocks.gather(view, base, self._extents)
        except OSError as exc:
            raise StoreError(f"cannot read {self._oid} of {self._cid}: {exc}", exc.errno) from exc
        finally:
            self.release()
        for k, csum, _, data in self._extents:
            start = (k & ((1 << _INDEX_BITS) - 1)) * EXTENT_SIZE
            if data is not None:
                view[start - base : start - base + len(data)] = data
            length = EXTENT_SIZE if data is None else len(data)
            if checksum(view[start - base : start - base + length]) != csum:
                raise ChecksumError(self._cid, self._oid, start)

    def release(self) -> None:
        """Give the plan up without `fill` (or after it): its units may be reused."""
        if self._pin is not None:
            self._blocks.unpin(self._pin)
            self._pin = None


def _zero_past(pieces: list[memoryview], got: int) -> None:
    """Zero what a read of ``got`` bytes into ``pieces`` left unwritten: past the end of
    a damaged block file, zeros (which fail the checksum), never what the buffer held."""
    for piece in pieces:
        if got < len(piece):
            start = max(got, 0)
            piece[start:] = bytes(len(piece) - start)
        got -= len(piece)


def _address(view: memoryview) -> int:
    """The address of a (writable, non-empty) buffer's first byte."""
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def _open_direct(path: Path, flags: int) -> int | None:
    """`path` opened with O_DIRECT, or None on a file system without it (tmpfs)."""
    try:
        return os.open(path, flags | os.O_DIRECT)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return None


def _pwritev_all(fd: int, pieces: list[memoryview], offset: int) -> None:
    """`pwritev` until every byte is written (a write may be short)."""
    while pieces:
        done = os.pwritev(fd, pieces, offset)
        offset += done
        while pieces and done >= len(pieces[0]):
            done -= len(pieces[0])
            pieces = pieces[1:]
        if done:
            pieces = [pieces[0][done:], *pieces[1:]]


@dataclass
class _Queued:
    """A transaction waiting for a group commit, and how that went."""

    txn: tx.Transaction
    done: bool = False
    error: BaseException | None = None


def _connect(db_path: str, *, readonly: bool) -> sqlite3.Connection:
    uri = f"file:{db_path}?mode={'ro' if readonly else 'rw'}"
    if not readonly and not os.path.exists(db_path):
        uri = f"file:{db_path}?mode=rwc"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=10000")
    return db


def _tune(db: sqlite3.Connection) -> None:
    # FULL makes each COMMIT fsync the WAL: an acknowledged transaction survives a crash.
    db.execute("PRAGMA synchronous=FULL")
    # Checkpoint every ~64 MiB of WAL rather than 4 MiB, and shrink it back afterwards.
    db.execute("PRAGMA wal_autocheckpoint=4096")
    db.execute(f"PRAGMA journal_size_limit={64 << 20}")
    # Bulk data lives in the block file: the cache holds metadata pages only.
    db.execute("PRAGMA cache_size=-4096")


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return StoreError(f"object store in {path}: {exc}", errno.ENOSPC if full else None)


class _Applier:
    """Carries out transaction steps on a database inside an open SQL transaction;
    `finish` before the commit.

    It remembers what it looked up or wrote for the rest of the SQL transaction (a
    group commit of several ops), so that one op's steps do not ask the database again
    what an earlier step of it (or of an op before it) settled: an object's row (id and
    size), that a collection exists. An object's new size waits in memory for the
    `SetObjectInfo` that a write's steps end with, and goes into the same UPDATE (or
    `finish` writes it). A 4 KiB write of a new object then costs 5 statements
    instead of 13 (its `Touch` inserts without looking up first).
    """

    def __init__(self, db: sqlite3.Connection, blocks: _BlockFile) -> None:
        self.db = db
        self.blocks = blocks
        self._objects: dict[tuple[str, ObjectId], tuple[int, int] | None] = {}
        """(cid, oid) -> (id, size) as this transaction has made it; None: no such object."""
        self._collections: set[str] = set()
        """Collections known to exist."""
        self._sizes: dict[int, int] = {}
        """Object id -> its new size, not yet written to its row."""
        self._fresh: set[int] = set()
        """Objects created in this transaction that have no extent in the block file
        (so an extent written to them frees nothing)."""
        self._handlers: dict[type, Callable[[Any], None]] = {
            tx.MakeCollection: self._mkcoll,
            tx.RemoveCollection: self._rmcoll,
            tx.Touch: self._touch,
            tx.WriteData: self._write,
            tx.ZeroData: self._zero,
            tx.TruncateData: self._truncate,
            tx.RemoveObject: self._remove,
            tx.CloneObject: self._clone,
            tx.SetAttrs: self._setattrs,
            tx.RemoveAttr: self._rmattr,
            tx.OmapSetKeys: self._omap_setkeys,
            tx.OmapRemoveKeys: self._omap_rmkeys,
            tx.OmapRemoveRange: self._omap_rmkeyrange,
            tx.OmapClearAll: self._omap_clear,
            tx.OmapSetHeader: self._omap_setheader,
            tx.SetObjectInfo: self._set_object_info,
            tx.PgLogAppend: self._pglog_append,
            tx.PgLogTrim: self._pglog_trim,
            tx.SetPgInfo: self._set_pginfo,
            tx.SetMeta: self._set_meta,
        }

    def __call__(self, op: tx.AnyTxOp) -> None:
        self._handlers[type(op)](op)

    def finish(self) -> None:
        """Write what still waits in memory (object sizes): call before the commit."""
        if self._sizes:
            self._write_sizes()

    def _write_sizes(self) -> None:
        self.db.executemany(
            "UPDATE objects SET size=? WHERE id=?",
            [(size, object_id) for object_id, size in self._sizes.items()],
        )
        self._sizes.clear()

    # --- lookups ----------------------------------------------------------------------

    def _find(self, cid: str, oid: ObjectId) -> tuple[int, int] | None:
        key = (cid, oid)
        if key in self._objects:
            return self._objects[key]
        found = self.db.execute(
            "SELECT id, size FROM objects WHERE cid=? AND nspace=? AND name=? AND snap=?",
            (cid, oid.nspace, oid.name, _snap_to_db(oid.snap)),
        ).fetchone()
        self._objects[key] = found
        return found

    def _object(self, cid: str, oid: ObjectId) -> tuple[int, int]:
        found = self._find(cid, oid)
        if found is None:
            raise StoreNotFound(f"object {oid} does not exist in collection {cid}")
        return found

    def _require_collection(self, cid: str) -> None:
        if cid in self._collections:
            return
        if self.db.execute("SELECT 1 FROM collections WHERE cid=?", (cid,)).fetchone() is None:
            raise StoreNotFound(f"collection {cid} does not exist")
        self._collections.add(cid)

    def _extent(self, object_id: int, index: int, cid: str, oid: ObjectId) -> bytes:
        row = self.db.execute(
            "SELECT csum, loc, data FROM extents WHERE k=?", (_key(object_id, index),)
        ).fetchone()
        if row is None:
            return b""
        csum, loc, data = row
        if data is None:
            data = self.blocks.read(loc)
        if checksum(data) != csum:
            raise ChecksumError(cid, oid, index * EXTENT_SIZE)
        return bytes(data)

    def _free_blocks(self, first: int, last: int) -> None:
        """Note the block-file extents of keys `first..last` as freed by this txn."""
        rows = self.db.execute(
            "SELECT loc FROM extents WHERE k BETWEEN ? AND ? AND loc IS NOT NULL",
            (first, last),
        ).fetchall()
        if rows:
            self.blocks.free([loc for (loc,) in rows])

    def _put_extent(self, object_id: int, index: int, data: bytes | memoryview) -> None:
        key = _key(object_id, index)
        if object_id not in self._fresh:
            self._free_blocks(key, key)
        self.db.execute(
            "INSERT OR REPLACE INTO extents VALUES (?, ?, NULL, ?)", (key, checksum(data), data)
        )

    def _put_blocks(self, object_id: int, first: int, pieces: list[memoryview]) -> None:
        """Extents `first`, `first + 1`, … (whole ones) into the block file."""
        start = _key(object_id, first)
        if object_id in self._fresh:
            self._fresh.discard(object_id)
        else:
            self._free_blocks(start, start + len(pieces) - 1)
        locs = self.blocks.write(pieces)
        self.db.executemany(
            "INSERT OR REPLACE INTO extents VALUES (?, ?, ?, NULL)",
            [
                (start + i, checksum(piece), loc)
                for i, (piece, loc) in enumerate(zip(pieces, locs, strict=True))
            ],
        )

    def _set_size(self, cid: str, oid: ObjectId, object_id: int, size: int) -> None:
        """The object's new size: in memory until `_set_object_info` or `finish`."""
        self._objects[(cid, oid)] = (object_id, size)
        self._sizes[object_id] = size

    def _drop_extents_from(self, object_id: int, index: int) -> None:
        first, last = _key(object_id, index), _key(object_id, (1 << _INDEX_BITS) - 1)
        self._free_blocks(first, last)
        self.db.execute("DELETE FROM extents WHERE k BETWEEN ? AND ?", (first, last))

    # --- collections ------------------------------------------------------------------

    def _mkcoll(self, op: tx.MakeCollection) -> None:
        self.db.execute("INSERT OR IGNORE INTO collections(cid) VALUES (?)", (op.cid,))
        self._collections.add(op.cid)

    def _rmcoll(self, op: tx.RemoveCollection) -> None:
        ids = [r[0] for r in self.db.execute("SELECT id FROM objects WHERE cid=?", (op.cid,))]
        for object_id in ids:
            self._drop_object(object_id)
        self.db.execute("DELETE FROM pglog WHERE cid=?", (op.cid,))
        self.db.execute("DELETE FROM collections WHERE cid=?", (op.cid,))
        self._collections.discard(op.cid)
        for key in [key for key in self._objects if key[0] == op.cid]:
            self._objects[key] = None

    # --- objects ----------------------------------------------------------------------

    def _touch(self, op: tx.Touch) -> None:
        key = (op.cid, op.oid)
        if self._objects.get(key) is not None:
            return
        self._require_collection(op.cid)
        # Ops touch objects they found missing: insert first, look up only if it was there.
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO objects(cid, nspace, name, snap, size, mtime_ns, v_epoch,"
            " v_version) VALUES (?, ?, ?, ?, 0, 0, 0, 0)",
            (op.cid, op.oid.nspace, op.oid.name, _snap_to_db(op.oid.snap)),
        )
        if cursor.rowcount != 1:
            self._objects.pop(key, None)
            self._find(op.cid, op.oid)
            return
        object_id = cursor.lastrowid
        assert object_id is not None
        self._objects[(op.cid, op.oid)] = (object_id, 0)
        # Its id may be one a removed object had, whose extents went with it.
        self._fresh.add(object_id)

    def _write(self, op: tx.WriteData) -> None:
        object_id, size = self._object(op.cid, op.oid)
        end = op.offset + len(op.data)
        if end > MAX_OBJECT_SIZE:
            raise StoreError(f"write past the largest object size {MAX_OBJECT_SIZE}")
        data = memoryview(op.data)
        bulk = len(data) >= MIN_ALLOC
        whole: list[memoryview] = []
        whole_first = 0
        for index in range(op.offset // EXTENT_SIZE, (end + EXTENT_SIZE - 1) // EXTENT_SIZE):
            start = index * EXTENT_SIZE
            lo, hi = max(op.offset, start), min(end, start + EXTENT_SIZE)
            piece = data[lo - op.offset : hi - op.offset]
            if bulk and len(piece) == EXTENT_SIZE:
                if not whole:
                    whole_first = index
                whole.append(piece)
                continue
            # An extent never holds bytes past the old size, so a piece that starts
            # the extent and reaches the old end (or the extent's end) replaces it.
            if lo == start and (hi - start == EXTENT_SIZE or hi >= size):
                self._put_extent(object_id, index, piece)
                continue
            old = self._extent(object_id, index, op.cid, op.oid)
            at = lo - start
            merged = bytearray(old.ljust(at, b"\0"))
            merged[at : at + len(piece)] = piece
            self._put_extent(object_id, index, merged)
        if whole:
            self._put_blocks(object_id, whole_first, whole)
        if end > size:
            self._set_size(op.cid, op.oid, object_id, end)

    def _zero(self, op: tx.ZeroData) -> None:
        object_id, size = self._object(op.cid, op.oid)
        end = min(size, op.offset + op.length)
        if op.offset >= end:
            return
        for index in range(op.offset // EXTENT_SIZE, (end + EXTENT_SIZE - 1) // EXTENT_SIZE):
            start = index * EXTENT_SIZE
            lo, hi = max(op.offset, start), min(end, start + EXTENT_SIZE)
            old = self._extent(object_id, index, op.cid, op.oid)
            if lo == start and hi >= start + len(old):
                key = _key(object_id, index)
                self._free_blocks(key, key)
                self.db.execute("DELETE FROM extents WHERE k=?", (key,))
            elif lo - start < len(old):
                merged = bytearray(old)
                cut = min(hi - start, len(old))
                merged[lo - start : cut] = bytes(cut - (lo - start))
                self._put_extent(object_id, index, merged)

    def _truncate(self, op: tx.TruncateData) -> None:
        object_id, size = self._object(op.cid, op.oid)
        if op.size > MAX_OBJECT_SIZE:
            raise StoreError(f"truncate past the largest object size {MAX_OBJECT_SIZE}")
        if op.size < size:
            index, keep = divmod(op.size, EXTENT_SIZE)
            if keep:
                old = self._extent(object_id, index, op.cid, op.oid)
                if len(old) > keep:
                    self._put_extent(object_id, index, old[:keep])
                index += 1
            self._drop_extents_from(object_id, index)
        self._set_size(op.cid, op.oid, object_id, op.size)

    def _remove(self, op: tx.RemoveObject) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self._drop_object(object_id)
        self._objects[(op.cid, op.oid)] = None

    def _clone(self, op: tx.CloneObject) -> None:
        src_id, src_size = self._object(op.cid, op.src)
        old = self._find(op.cid, op.dst)
        if old is not None:
            self._drop_object(old[0])
        if self._sizes:
            self._write_sizes()  # the copy takes the source's row as it is now
        cursor = self.db.execute(
            "INSERT INTO objects(cid, nspace, name, snap, size, mtime_ns, v_epoch, v_version,"
            " omap_header) SELECT cid, ?, ?, ?, size, mtime_ns, v_epoch, v_version, omap_header"
            " FROM objects WHERE id=?",
            (op.dst.nspace, op.dst.name, _snap_to_db(op.dst.snap), src_id),
        )
        dst_id = cursor.lastrowid
        assert dst_id is not None
        self._objects[(op.cid, op.dst)] = (dst_id, src_size)
        # Extents are keyed (object id, index): re-key the source's under the copy's
        # id; those in the block file get their own copy there (units are not shared).
        src_range = (_key(src_id, 0), _key(src_id, (1 << _INDEX_BITS) - 1))
        self.db.execute(
            "INSERT INTO extents SELECT ? | (k & ?), csum, NULL, data FROM extents"
            " WHERE k BETWEEN ? AND ? AND data IS NOT NULL",
            (_key(dst_id, 0), (1 << _INDEX_BITS) - 1, *src_range),
        )
        blocks = self.db.execute(
            "SELECT k, csum, loc FROM extents WHERE k BETWEEN ? AND ? AND loc IS NOT NULL",
            src_range,
        ).fetchall()
        for k, csum, loc in blocks:
            index = k & ((1 << _INDEX_BITS) - 1)
            data = self.blocks.read(loc)
            if checksum(data) != csum:
                raise ChecksumError(op.cid, op.src, index * EXTENT_SIZE)
            self._put_blocks(dst_id, index, [memoryview(data)])
        copy_xattrs = "INSERT INTO xattrs SELECT ?, name, value FROM xattrs WHERE id=?"
        copy_omap = "INSERT INTO omap SELECT ?, key, value FROM omap WHERE id=?"
        self.db.execute(copy_xattrs, (dst_id, src_id))
        self.db.execute(copy_omap, (dst_id, src_id))

    def _drop_object(self, object_id: int) -> None:
        self._sizes.pop(object_id, None)
        self._fresh.discard(object_id)
        self._drop_extents_from(object_id, 0)
        self.db.execute("DELETE FROM xattrs WHERE id=?", (object_id,))
        self.db.execute("DELETE FROM omap WHERE id=?", (object_id,))
        self.db.execute("DELETE FROM objects WHERE id=?", (object_id,))

    def _set_object_info(self, op: tx.SetObjectInfo) -> None:
        object_id, size = self._object(op.cid, op.oid)
        self._sizes.pop(object_id, None)
        self.db.execute(
            "UPDATE objects SET size=?, mtime_ns=?, v_epoch=?, v_version=? WHERE id=?",
            (size, op.mtime_ns, op.version.epoch, op.version.version, object_id),
        )

    # --- xattrs and omap --------------------------------------------------------------

    def _setattrs(self, op: tx.SetAttrs) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.executemany(
            "INSERT OR REPLACE INTO xattrs VALUES (?, ?, ?)",
            [(object_id, name, value) for name, value in op.attrs.items()],
        )

    def _rmattr(self, op: tx.RemoveAttr) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.execute("DELETE FROM xattrs WHERE id=? AND name=?", (object_id, op.name))

    def _omap_setkeys(self, op: tx.OmapSetKeys) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.executemany(
            "INSERT OR REPLACE INTO omap VALUES (?, ?, ?)",
            [(object_id, key, value) for key, value in op.entries.items()],
        )

    def _omap_rmkeys(self, op: tx.OmapRemoveKeys) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.executemany(
            "DELETE FROM omap WHERE id=? AND key=?", [(object_id, key) for key in op.keys]
        )

    def _omap_rmkeyrange(self, op: tx.OmapRemoveRange) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.execute(
            "DELETE FROM omap WHERE id=? AND key>=? AND key<?", (object_id, op.start, op.end)
        )

    def _omap_clear(self, op: tx.OmapClearAll) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.execute("DELETE FROM omap WHERE id=?", (object_id,))
        self.db.execute("UPDATE objects SET omap_header=NULL WHERE id=?", (object_id,))

    def _omap_setheader(self, op: tx.OmapSetHeader) -> None:
        object_id, _ = self._object(op.cid, op.oid)
        self.db.execute("UPDATE objects SET omap_header=? WHERE id=?", (op.data, object_id))

    # --- PG log, info, meta -----------------------------------------------------------

    def _pglog_append(self, op: tx.PgLogAppend) -> None:
        self._require_collection(op.cid)
        self.db.execute(
            "INSERT OR REPLACE INTO pglog VALUES (?, ?, ?, ?)",
            (op.cid, op.version.epoch, op.version.version, op.entry),
        )

    def _pglog_trim(self, op: tx.PgLogTrim) -> None:
        self.db.execute(
            "DELETE FROM pglog WHERE cid=? AND (epoch, version) <= (?, ?)",
            (op.cid, op.upto.epoch, op.upto.version),
        )

    def _set_pginfo(self, op: tx.SetPgInfo) -> None:
        self._require_collection(op.cid)
        self.db.execute("UPDATE collections SET info=? WHERE cid=?", (op.info, op.cid))

    def _set_meta(self, op: tx.SetMeta) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (op.key, op.value))
