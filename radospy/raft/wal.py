"""An append-only Raft log in segment files: the monitors' durable Raft state.

Layout of the directory: segment files ``<seq:016x>.log`` (written in sequence order,
only the newest one is appended to) and ``snapshot`` (the latest snapshot, replaced
atomically: temporary file, fsync, rename, fsync of the directory). ``lock`` is held
with ``flock`` while the log is open, so a second process gets :class:`StoreInUse`.

Each :meth:`WalStorage.save` appends ONE record — ``[u32 length][u64 xxh3_64 of the
payload, seeded with the length][payload]`` — whose payload (msgpack) holds the new
entries, the hard state and, after a snapshot or a compaction, a marker saying which
entries it dropped; then one ``fdatasync`` when the save must be durable. One record per
save makes a save atomic: a crash mid-write leaves a record whose checksum fails and
that recovery drops whole. A conflicting suffix is overwritten *logically* (replay
lets a record's entries replace every stored entry from their first index on), so
nothing on disk is ever rewritten in place.

Why the hard state lives in the log rather than in a file (or SQLite) of its own: a
Ready's term, vote and entries then reach the disk in one write and one fdatasync, and
are atomic together for free. Measured (300 B records, this machine): an append plus
fdatasync costs 67–79 µs of CPU against 130–175 µs for an SQLite WAL commit (p50 0.16
vs 0.33 ms on a quiet box), and a separate hard-state file would add a second fsync
(and a directory fsync for its rename) on every term or vote change. The snapshot
stays a file of its own because it is large and rare: copying it into the log would
make every segment rotation carry it.

A segment is filled with zeros to its full size when it is created, and records
overwrite the zeros in place: an fdatasync then flushes data blocks only. Appending to a
growing file instead changes its size with every record, which makes each fdatasync
commit the filesystem's journal too — measured on this machine's ext4 under load, a
median 0.6–1.4 ms per append+fdatasync against 0.2–1.2 ms in place (etcd preallocates
its WAL segments for the same reason; SQLite's WAL is rewritten in place).

A new segment starts with a record of the current hard state, so older segments can
be deleted once a snapshot covers every entry they hold (compaction), without losing
the term and vote. Recovery replays every segment in order; zeros where a record
header would be, with only zeros after them, end a segment. A bad record at the tail
of the newest segment — its header or body cut short by the end of the file, or a
checksum failure in a record some sector of which reads as zeros (a write the disk
never finished) — is a crash mid-append: it and everything after it are zeroed again.
Any other bad record (a checksum failure in the middle, a bad record in an older
segment) is corruption, refused with :class:`WalCorrupt` rather than silently dropping
entries that may have been acknowledged.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import xxhash

from radospy.common.files import write_atomic
from radospy.raft.messages import Entry, HardState, PersistentState, Snapshot
from radospy.raft.storage import StoreInUse

SEGMENT_BYTES = 1 << 20
"""A segment's preallocated size; a new one is begun once records fill it."""

_HEADER = struct.Struct("<IQ")
_SECTOR = 512
_SNAPSHOT = "snapshot"
_LOCK = "lock"
_SUFFIX = ".log"


class WalCorrupt(ValueError):
    """The log holds a record that is neither valid nor a torn tail; ``str()`` says where."""

    errno = errno.EIO


class _Mark(msgspec.Struct, array_like=True, frozen=True):
    """Entries dropped because of a snapshot: all of them (``replace``, a snapshot from
    the leader) or those up to ``index`` (a local compaction)."""

    index: int
    term: int
    replace: bool


class _Record(msgspec.Struct, array_like=True, frozen=True, omit_defaults=True):
    """One save: applied on replay in field order, marker first."""

    mark: _Mark | None = None
    entries: tuple[Entry, ...] = ()
    hard: HardState | None = None


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Record).decode


@dataclass
class _Segment:
    seq: int
    path: Path
    max_index: int = 0
    """The highest entry index written to this segment (0: none)."""


def _checksum(payload: bytes | memoryview, length: int) -> int:
    return xxhash.xxh3_64_intdigest(payload, seed=length)


def _torn(data: bytes, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` has a sector-aligned chunk of zeros: a block the disk
    had allocated but not yet written when the machine stopped."""
    pos = start
    while pos < end:
        stop = min(end, (pos // _SECTOR + 1) * _SECTOR)
        if not any(data[pos:stop]):
            return True
        pos = stop
    return False


class _Replay:
    """The log as records are replayed: contiguous entries from ``first``."""

    def __init__(self) -> None:
        self.hard = HardState()
        self.first = 0
        self.entries: list[Entry] = []
        self.mark: _Mark | None = None

    def apply(self, rec: _Record, where: str) -> None:
        if rec.mark is not None:
            self.mark = rec.mark
            if rec.mark.replace:
                self.entries, self.first = [], 0
            else:
                self._drop_through(rec.mark.index)
        if rec.entries:
            start = rec.entries[0].index
            if not self.entries or start < self.first:
                self.entries, self.first = list(rec.entries), start
            elif start <= self.first + len(self.entries):
                del self.entries[start - self.first :]
                self.entries.extend(rec.entries)
            else:
                raise WalCorrupt(f"{where}: entries jump from {self.last} to {start}")
        if rec.hard is not None:
            self.hard = rec.hard

    @property
    def last(self) -> int:
        return self.first + len(self.entries) - 1 if self.entries else 0

    def _drop_through(self, index: int) -> None:
        if self.entries and index >= self.first:
            del self.entries[: index - self.first + 1]
            self.first = index + 1

    def finish(self, snapshot: Snapshot | None) -> tuple[Entry, ...]:
        """The entries after ``snapshot``, checked to follow it without a hole."""
        if snapshot is not None:
            mark = self.mark
            if mark is None or (mark.index, mark.term) != (snapshot.index, snapshot.term):
                # The snapshot file was replaced but its marker never reached the log (a
                # crash between the two): keep the suffix only if it follows the
                # snapshot's entry, as Raft does when it installs a snapshot.
                at = snapshot.index - self.first
                if 0 <= at < len(self.entries) and self.entries[at].term == snapshot.term:
                    self._drop_through(snapshot.index)
                elif not self.entries or self.first <= snapshot.index:
                    self.entries, self.first = [], 0
            self._drop_through(snapshot.index)
        expected = snapshot.index + 1 if snapshot else 1
        if self.entries and self.first != expected:
            raise WalCorrupt(f"raft log starts at index {self.first}, expected {expected}")
        return tuple(self.entries)


class WalStorage:
    """Raft's durable state in append-only segment files (see the module docstring);
    implements :class:`~radospy.raft.storage.Storage`."""

    def __init__(self, path: str | Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._lock_fd = os.open(self.path / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StoreInUse(f"{self.path} is in use by another process") from None
        self._fd = -1
        self._size = 0
        """Bytes of records in the newest segment: where the next one is written."""
        try:
            self._segments = self._list_segments()
            state, end = self._replay(repair=True)
            self._open_tail(end)
        except BaseException:
            self.close()
            raise
        self._state: PersistentState | None = state
        self._hard = state.hard_state
        self._deferred: HardState | None = None
        self._snap_index = state.snapshot.index if state.snapshot else 0
        self._last_index = state.entries[-1].index if state.entries else self._snap_index

    def load(self) -> PersistentState:
        """Everything saved so far, checked for internal consistency."""
        state = self._state if self._state is not None else self._replay(repair=False)[0]
        self._state = state
        if self._deferred is not None:
            return PersistentState(self._deferred, state.snapshot, state.entries)
        return state

    def save(
        self,
        *,
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        compaction: Snapshot | None = None,
        sync: bool = True,
    ) -> None:
        """Persist atomically (see :meth:`Storage.save`); durable on return if ``sync``.

        A save of nothing but an unsynced hard state (a new commit index, once per
        commit) is kept in memory and written with the next save or on :meth:`close`:
        a crash may lose it anyway, and a record of its own would cost a write."""
        if not sync and hard_state is not None and not entries and snapshot is compaction is None:
            self._deferred = hard_state
            self._state = None
            return
        snap, last = self._snap_index, self._last_index
        if snapshot is not None:
            snap = last = snapshot.index
        if compaction is not None:
            snap, last = compaction.index, max(last, compaction.index)
        if entries:
            first = entries[0].index
            if not snap < first <= last + 1:
                expected = last + 1 if first > snap else snap + 1
                raise ValueError(f"entries start at {first}, expected {expected}")
            last = entries[-1].index
        if hard_state is None:
            hard_state = self._deferred
        self._deferred = None
        self._state = None
        # Both at once: the log is replaced, then compacted further; the newer one is kept.
        taken = compaction if compaction is not None else snapshot
        mark = None
        if taken is not None:
            write_atomic(self.path / _SNAPSHOT, msgspec.msgpack.encode(taken))
            mark = _Mark(taken.index, taken.term, snapshot is not None)
        if self._size >= self._segment_bytes:
            self._rotate()
        self._append(_Record(mark, tuple(entries), hard_state), sync or mark is not None)
        if hard_state is not None:
            self._hard = hard_state
        if entries:
            tail = self._segments[-1]
            tail.max_index = max(tail.max_index, last)
        self._snap_index, self._last_index = snap, last
        if taken is not None:
            self._drop_segments(snap)

    def close(self) -> None:
        """Write what is deferred, then release the files; everything saved stays."""
        try:
            if self._fd >= 0 and self._deferred is not None:
                self.save(hard_state=self._deferred)
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    # --- writing ---------------------------------------------------------------------

    def _append(self, rec: _Record, sync: bool) -> None:
        payload = _encode(rec)
        n = len(payload)
        data = _HEADER.pack(n, _checksum(payload, n)) + payload
        written = os.pwrite(self._fd, data, self._size)
        if written != len(data):
            # A disk that filled mid-record: take the fragment back, or the next record
            # would follow it and recovery would find corruption in the middle.
            os.pwrite(self._fd, bytes(written), self._size)
            raise OSError(errno.ENOSPC, f"short write to {self.path} ({written} of {len(data)})")
        self._size += written
        if sync:
            os.fdatasync(self._fd)

    def _rotate(self) -> None:
        """Close the current segment and begin the next with the hard state last
        written (not this save's: its commit index may count entries not yet written)."""
        seq = self._segments[-1].seq + 1
        seg = _Segment(seq, self.path / f"{seq:016x}{_SUFFIX}")
        fd = self._create_segment(seg.path)
        os.close(self._fd)
        self._fd = fd
        self._size = 0
        self._segments.append(seg)
        self._append(_Record(hard=self._hard), sync=True)

    def _create_segment(self, path: Path) -> int:
        """A new segment of zeros, durable with its directory entry; its fd."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            zeros = bytes(min(self._segment_bytes, 1 << 20))
            left = self._segment_bytes
            while left > 0:
                left -= os.write(fd, zeros[:left])
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        self._fsync_dir()
        return fd

    def _drop_segments(self, snap_index: int) -> None:
        """Delete the oldest segments whose every entry the snapshot covers."""
        dropped = False
        while len(self._segments) > 1 and self._segments[0].max_index <= snap_index:
            os.unlink(self._segments.pop(0).path)
            dropped = True
        if dropped:
            self._fsync_dir()

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # --- reading ---------------------------------------------------------------------

    def _list_segments(self) -> list[_Segment]:
        segs = []
        for p in self.path.iterdir():
            if p.suffix == _SUFFIX:
                try:
                    seq = int(p.stem, 16)
                except ValueError:
                    raise WalCorrupt(f"{p}: not a log segment name") from None
                segs.append(_Segment(seq, p))
        segs.sort(key=lambda s: s.seq)
        for a, b in itertools.pairwise(segs):
            if b.seq != a.seq + 1:
                raise WalCorrupt(f"{self.path}: log segment {a.seq + 1:016x} is missing")
        return segs

    def _open_tail(self, end: int) -> None:
        """Open the newest segment (a first one if there is none) to write at ``end``."""
        if not self._segments:
            self._segments.append(_Segment(0, self.path / f"{0:016x}{_SUFFIX}"))
            self._fd = self._create_segment(self._segments[0].path)
        else:
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY)
            self._size = end

    def _replay(self, *, repair: bool) -> tuple[PersistentState, int]:
        """The saved state, and where the newest segment's records end."""
        snapshot = None
        snap_path = self.path / _SNAPSHOT
        if snap_path.exists():
            try:
                snapshot = msgspec.msgpack.decode(snap_path.read_bytes(), type=Snapshot)
            except msgspec.DecodeError as exc:
                raise WalCorrupt(f"{snap_path}: {exc}") from None
        replay = _Replay()
        end = 0
        for i, seg in enumerate(self._segments):
            newest = i == len(self._segments) - 1
            seg.max_index, end = self._replay_segment(seg, replay, newest=newest, repair=repair)
        return PersistentState(replay.hard, snapshot, replay.finish(snapshot)), end

    def _replay_segment(
        self, seg: _Segment, replay: _Replay, *, newest: bool, repair: bool
    ) -> tuple[int, int]:
        """Apply ``seg``'s records; a torn tail of the newest segment ends the replay
        (and is zeroed if ``repair``). Returns the highest entry index the segment holds
        and the offset where its records end."""
        data = seg.path.read_bytes()
        size, pos, max_index = len(data), 0, 0
        while pos < size:
            if data.count(0, pos) == size - pos:
                break  # the unused, preallocated rest of the segment
            where = f"{seg.path} at offset {pos}"
            bad = _bad_record(data, pos)
            if bad is not None:
                torn, why = bad
                if not (torn and newest):
                    raise WalCorrupt(f"{where}: {why}")
                if repair:
                    self._zero(seg.path, pos, size)
                break
            n, _ = _HEADER.unpack_from(data, pos)
            body = memoryview(data)[pos + _HEADER.size : pos + _HEADER.size + n]
            try:
                rec = _decode(body)
            except msgspec.DecodeError as exc:
                raise WalCorrupt(f"{where}: undecodable record ({exc})") from None
            replay.apply(rec, where)
            if rec.entries:
                max_index = max(max_index, rec.entries[-1].index)
            pos += _HEADER.size + n
        return max_index, pos

    def _zero(self, path: Path, start: int, end: int) -> None:
        """Overwrite a torn tail with zeros, so that no fragment of it is left behind a
        shorter record written there later."""
        fd = os.open(path, os.O_WRONLY)
        try:
            os.pwrite(fd, bytes(end - start), start)
            os.fdatasync(fd)
        finally:
            os.close(fd)


def _bad_record(data: bytes, pos: int) -> tuple[bool, str] | None:
    """None if the record at ``pos`` is whole and valid; else whether it may be an
    unfinished write (torn) and why it is bad.

    An unfinished write is the last thing in its segment (only zeros follow it) and
    lacks its end: the file ends inside it, or its last byte or a whole sector of it
    still reads as the zeros the segment was created with."""
    size = len(data)
    if pos + _HEADER.size > size:
        return (True, "record header cut short")
    n, check = _HEADER.unpack_from(data, pos)
    end = pos + _HEADER.size + n
    if end > size:
        return (True, "record cut short")
    if _checksum(memoryview(data)[pos + _HEADER.size : end], n) == check:
        return None
    last = data.count(0, end) == size - end
    if last and (data[end - 1] == 0 or _torn(data, pos, end)):
        return (True, "record never finished")
    return (False, "checksum mismatch")
