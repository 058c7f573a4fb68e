"""Moving a monitor's Raft state from the SQLite store of earlier versions into the
append-only log (:class:`~radospy.raft.wal.WalStorage`).

The new log is built in a temporary directory next to the old store and renamed into
place only once complete and durable; the old store is removed after that. A crash at
any point leaves either the old store alone (migrated again on the next start) or a
complete new log (a leftover old store is then removed), never half of each.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from radospy.raft.storage import SqliteStorage
from radospy.raft.wal import WalStorage

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def migrate_sqlite_store(old: Path, new: Path) -> bool:
    """Turn the SQLite store ``old`` into the log directory ``new``, if ``old`` exists.

    Returns whether ``old`` was migrated. Raises
    :class:`~radospy.raft.storage.StoreInUse` if another process holds ``old``, and
    what reading it raises (``sqlite3.DatabaseError``, ``ValueError``) if it is corrupt;
    in every case ``old`` is left as it was.
    """
    if not old.exists():
        return False
    if not new.exists():
        sqlite = SqliteStorage(old)
        try:
            state = sqlite.load()
        finally:
            sqlite.close()
        tmp = new.with_name(f".{new.name}.migrating")
        shutil.rmtree(tmp, ignore_errors=True)
        wal = WalStorage(tmp)
        try:
            if state.snapshot is not None:
                wal.save(snapshot=state.snapshot)
            wal.save(hard_state=state.hard_state, entries=state.entries)
        finally:
            wal.close()
        os.rename(tmp, new)
        _fsync_dir(new.parent)
    for suffix in ("", *_SQLITE_SIDE_FILES):
        old.with_name(old.name + suffix).unlink(missing_ok=True)
    _fsync_dir(old.parent)
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
