"""The one thread a Raft driver writes its storage from, so that a leader's fsync runs
while its event loop goes on (etcd's leader appends to its WAL in parallel with sending
to its followers).

Saves run one at a time in the order they were handed over, each behind every earlier
one, so the storage sees exactly the sequence of saves a synchronous driver would make.
A save may run in the background (:meth:`StorageWriter.start`: the caller is told when
it is done) or in the foreground (:meth:`StorageWriter.save`: it returns once this save
and every earlier one are done). While no background save is queued or running, a
foreground save is made on the caller's thread — even if the loop has not yet been told
that the last background one finished — so a follower, whose saves are all in the
foreground, and a leader saving on its loop pay no thread hand-off for them.

Once a save fails, every later one fails too without touching the storage: a log with a
save missing in the middle must not be written on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

from radospy.raft.core import Ready
from radospy.raft.storage import Storage, save_ready


class StorageFailed(OSError):
    """An earlier save failed; nothing more is written."""


class StorageWriter:
    """Carries out the saves of :class:`Ready` objects in order; used from one event
    loop."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="raft-storage")
        # Each counter is written by one thread only (the loop's, the storage
        # thread's): no lock needed for the loop to compare them.
        self._submitted = 0
        """Saves handed to the storage thread."""
        self._finished = 0
        """Saves the storage thread has carried out (successfully or not)."""
        self._failure: BaseException | None = None

    @property
    def busy(self) -> bool:
        """Whether a background save is queued or running on the storage thread."""
        return self._finished != self._submitted

    def start(self, rd: Ready, done: Callable[[BaseException | None], None]) -> None:
        """Save ``rd`` in the background; ``done(error)`` is called on the event loop
        (``error`` None on success) once it is on storage, after every earlier save."""
        loop = asyncio.get_running_loop()

        def finished(future: concurrent.futures.Future[None]) -> None:
            loop.call_soon_threadsafe(done, future.exception())

        self._submitted += 1
        self._pool.submit(self._save_in_thread, rd).add_done_callback(finished)

    def save(self, rd: Ready) -> None:
        """Save ``rd`` now, behind every background save; raises what the save raised."""
        if not self.busy:
            # The thread is idle and stays so: only the caller submits to it.
            self._save(rd)
        else:
            # Not counted as a background save: the caller waits for it right here.
            self._pool.submit(self._save, rd).result()

    def _save_in_thread(self, rd: Ready) -> None:
        try:
            self._save(rd)
        finally:
            self._finished += 1

    def close(self) -> None:
        """Wait for every save handed over; later saves are refused."""
        self._pool.shutdown(wait=True)

    def _save(self, rd: Ready) -> None:
        if self._failure is not None:
            raise StorageFailed(f"an earlier save of the raft log failed: {self._failure}")
        try:
            save_ready(self._storage, rd)
        except BaseException as exc:
            self._failure = exc
            raise
