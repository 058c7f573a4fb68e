"""The OSD's committer: one thread that makes store transactions durable for the loop.

Ops hand their transactions to `Committer.submit` and await the future it returns. The
thread takes everything submitted since its last commit and applies it with
`ObjectStore.apply_many`: one SQLite transaction and one fsync for all the ops that
arrived while the previous fsync ran (group commit, as BlueStore's kv_sync_thread
does), and one wakeup of the event loop per batch instead of a worker thread, a
future chain and a wakeup per op. Transactions commit in submission order, so ops a
PG orders one after the other reach the store in that order.
"""

from __future__ import annotations

import asyncio
import threading

from radospy.osd.objectstore import ObjectStore, Transaction

_Batch = list[tuple[Transaction, "asyncio.Future[None]"]]


class Committer:
    """Applies transactions on a thread of its own; `start` on the loop, `close` at the end."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._queue: _Batch = []
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; results are delivered to the running loop."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def submit(self, txn: Transaction) -> asyncio.Future[None]:
        """Queue ``txn``; the future completes once it is durable (or with the store's
        error, when it cannot apply: then nothing of it is applied)."""
        assert self._loop is not None, "Committer.start() first"
        future: asyncio.Future[None] = self._loop.create_future()
        with self._cond:
            if self._closing:
                raise RuntimeError("committer is closed")
            self._queue.append((txn, future))
            if len(self._queue) == 1:
                self._cond.notify()
        return future

    async def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                outcome = self._store.apply_many([txn for txn, _ in batch])
            except BaseException as exc:  # delivered to every waiter, not lost in a thread
                outcome = [exc] * len(batch)
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(_settle, batch, outcome)
            except RuntimeError:
                return  # the loop is closed: nobody waits any more


def _settle(batch: _Batch, outcome: list[BaseException | None]) -> None:
    for (_, future), error in zip(batch, outcome, strict=True):
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
