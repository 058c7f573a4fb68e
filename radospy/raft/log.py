"""The in-memory view of one node's Raft log.

The log is a snapshot (everything up to ``snapshot.index``, compacted away) followed by
``entries``. Entries up to ``stable`` were handed to storage (written, or being written
in order behind the earlier ones); the rest are *unstable*: the next ``Ready`` hands them
to the driver to persist. Entries up to ``durable`` are known to be on stable storage: a
leader counts its own copy toward a commit only up to there. The view mirrors the
storage, so a restart rebuilds it from ``Storage.load()`` with nothing unstable.
"""

from __future__ import annotations

from collections.abc import Sequence

from radospy.raft.messages import Entry, Snapshot


class RaftLog:
    """Entries after the last snapshot, plus the commit, apply and persistence marks."""

    def __init__(self, snapshot: Snapshot, entries: Sequence[Entry], committed: int) -> None:
        if entries and entries[0].index != snapshot.index + 1:
            raise ValueError("stored entries do not follow the stored snapshot")
        self.snapshot = snapshot
        self.entries: list[Entry] = list(entries)
        self.stable = self.last_index
        self.durable = self.last_index
        self.snapshot_unstable = False
        self.committed = max(min(committed, self.last_index), snapshot.index)
        self.applied = snapshot.index

    # --- positions ------------------------------------------------------------------

    @property
    def first_index(self) -> int:
        """The first index still held as an entry (not compacted)."""
        return self.snapshot.index + 1

    @property
    def last_index(self) -> int:
        """The index of the last entry (the snapshot's index when there is none)."""
        return self.snapshot.index + len(self.entries)

    @property
    def last_term(self) -> int:
        """The term of the last entry or of the snapshot."""
        return self.entries[-1].term if self.entries else self.snapshot.term

    def term(self, index: int) -> int | None:
        """The term of the entry at ``index``; None when compacted away or not yet held."""
        if index == self.snapshot.index:
            return self.snapshot.term
        if self.first_index <= index <= self.last_index:
            return self.entries[index - self.first_index].term
        return None

    def match_term(self, index: int, term: int) -> bool:
        """Whether this log holds an entry of ``term`` at ``index``."""
        return self.term(index) == term

    def is_up_to_date(self, last_index: int, last_term: int) -> bool:
        """Whether a log ending at (``last_index``, ``last_term``) is at least as up to
        date as this one (the §5.4.1 voting restriction)."""
        if last_term != self.last_term:
            return last_term > self.last_term
        return last_index >= self.last_index

    def entry(self, index: int) -> Entry:
        """The entry at ``index`` (which must be held)."""
        return self.entries[index - self.first_index]

    def slice(self, lo: int, hi: int, limit: int) -> list[Entry]:
        """At most ``limit`` entries from ``lo`` up to (excluding) ``hi``; all held."""
        start = lo - self.first_index
        return self.entries[start : min(hi - self.first_index, start + limit)]

    # --- conflict search ------------------------------------------------------------

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """The index of the first entry that this log lacks or holds with another term;
        0 when every one of ``entries`` is already here."""
        for e in entries:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """Walk back from ``index`` to the last entry whose term is at most ``term``.

        Returns that index and its term (0 when it fell into the compacted prefix). The
        leader and follower both use it to skip a term's worth of entries per probe.
        """
        while True:
            t = self.term(index)
            if t is None:
                return index, 0
            if t <= term:
                return index, t
            index -= 1

    # --- mutation -------------------------------------------------------------------

    def append(self, entries: Sequence[Entry]) -> None:
        """Append ``entries``, first truncating any held suffix from their first index."""
        if not entries:
            return
        first = entries[0].index
        if first <= self.committed:
            raise AssertionError(f"truncating committed entry {first} <= {self.committed}")
        if first > self.last_index + 1:
            raise AssertionError(f"gap in log: appending {first} after {self.last_index}")
        del self.entries[first - self.first_index :]
        # Entries replaced on disk must be written again, overwriting the stale suffix.
        self.stable = min(self.stable, first - 1)
        self.durable = min(self.durable, first - 1)
        self.entries.extend(entries)

    def maybe_append(
        self, prev_index: int, prev_term: int, commit: int, entries: Sequence[Entry]
    ) -> int | None:
        """Apply an AppendEntries; the last index now known to match, or None on mismatch."""
        if not self.match_term(prev_index, prev_term):
            return None
        last_new = prev_index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            self.append(entries[conflict - prev_index - 1 :])
        # Only entries proven to match the leader's may be marked committed.
        self.commit_to(min(commit, last_new))
        return last_new

    def commit_to(self, index: int) -> None:
        """Raise the commit index (never lowers it)."""
        if index > self.committed:
            if index > self.last_index:
                raise AssertionError(f"commit {index} beyond last index {self.last_index}")
            self.committed = index

    def applied_to(self, index: int) -> None:
        """Record that the application has applied up to ``index``."""
        if index > self.committed:
            raise AssertionError(f"applied {index} beyond committed {self.committed}")
        self.applied = max(self.applied, index)

    def stable_to(self, index: int, term: int) -> None:
        """Record that entries up to ``index`` of ``term`` were handed to storage;
        ignored when the entry was replaced after the Ready that carried it."""
        if self.match_term(index, term) and index > self.stable:
            self.stable = index

    def durable_to(self, index: int, term: int) -> bool:
        """Record that entries up to ``index`` of ``term`` reached stable storage;
        whether that is news. Ignored when the entry was replaced (or compacted away)
        since: by log matching, an entry still held with the same term stands for the
        same prefix that was written."""
        if index > self.durable and index <= self.stable and self.match_term(index, term):
            self.durable = index
            return True
        return False

    def unstable_entries(self) -> list[Entry]:
        """Entries not yet handed to storage."""
        return self.entries[max(0, self.stable - self.snapshot.index) :]

    def committed_to_apply(self) -> list[Entry]:
        """Committed entries the application has not yet been given."""
        lo = max(self.applied, self.snapshot.index) + 1
        return self.entries[lo - self.first_index : self.committed - self.snapshot.index]

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the whole log by a snapshot received from the leader."""
        self.snapshot = snapshot
        self.entries = []
        self.stable = snapshot.index
        self.durable = snapshot.index
        self.snapshot_unstable = True
        self.committed = snapshot.index
        self.applied = snapshot.index

    def compact(self, snapshot: Snapshot) -> None:
        """Drop entries covered by a snapshot the application took locally."""
        if snapshot.index > self.applied:
            raise ValueError(f"cannot compact to {snapshot.index}: applied is {self.applied}")
        if snapshot.index <= self.snapshot.index:
            raise ValueError(f"already compacted to {self.snapshot.index}")
        del self.entries[: snapshot.index - self.snapshot.index]
        self.snapshot = snapshot
        # Applied entries are committed, so they were handed to storage in the Ready
        # that sent them; they may still be on their way to the disk (``durable``).
        self.stable = max(self.stable, snapshot.index)
