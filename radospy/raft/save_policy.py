"""Where a Raft leader saves a Ready whose messages are already on their way: on its
event loop's thread, blocking it as a follower's save does, or on the storage thread
(:class:`~radospy.raft.writer.StorageWriter`) while the loop goes on.

A background save costs a thread hand-off each way: the storage thread is woken, takes
the GIL from the loop, and wakes the loop again when it is done. With one change in
flight a commit made two (its entries, then its commit index), which cost the leader
0.67 against 0.55 ms of CPU per commit with both on the loop (bench/mon.py's changes,
loaded box, a 0.3 ms fsync). It pays off only while the loop has something else to do
during the fsync: taking the next proposals and sending them while earlier entries are
still being committed. So:

* a save that is not synced (a new commit index: WalStorage keeps it in memory until
  the next record) never goes to the thread unless it must queue behind a background
  save there, which the storage must see first;
* new entries are saved on the loop when they are the only ones in flight (every
  earlier entry committed) and were so for the last ``streak`` such Readys in a row —
  one change at a time, as a monitor serving one client sees — and in the background
  otherwise: a Ready cut while another entry is still in flight (changes pipelined, as
  under a burst of commands) resets the count, so a burst keeps its fsyncs off the loop
  until changes come one at a time again;
* anything else that must sync (a snapshot, a compaction) goes to the thread.

Either way the save reaches the storage after every earlier one, and the leader counts
its own copy toward a commit only once it is durable.
"""

from __future__ import annotations

from dataclasses import dataclass

from radospy.raft.core import Ready


@dataclass
class LeaderSavePolicy:
    """Decides, Ready by Ready, whether a leader's save runs on the loop's thread."""

    streak: int = 4
    """Readys in a row whose entries were the only ones in flight before a leader saves
    entries on its loop's thread; 0: never."""
    alone: int = 0
    """Readys in a row so far whose entries were the only ones in flight."""

    def inline(self, rd: Ready, committed: int, writer_busy: bool) -> bool:
        """Whether to save ``rd`` (a leader's ``send_first`` Ready, cut when the log was
        committed up to ``committed``) on the loop's thread, ``writer_busy`` telling
        whether a background save is still running or unreported."""
        if rd.entries:
            self.alone = self.alone + 1 if rd.entries[0].index <= committed + 1 else 0
        if writer_busy:
            return False
        if not rd.must_sync:
            return True
        return bool(rd.entries) and 0 < self.streak <= self.alone
