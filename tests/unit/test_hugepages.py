"""`HugeBufferPool`: buffers start on a huge page boundary, return to the pool only once
every view of them is gone, and the pool keeps no more idle buffers than it was told."""

from __future__ import annotations

import ctypes
import gc
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.hugepages import HugeBufferPool, huge_buffer, huge_page_size

MiB = 1 << 20


def address(view: memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def test_a_buffer_starts_on_a_huge_page_and_holds_what_is_written() -> None:
    pool = HugeBufferPool(4 * MiB, keep=2)
    view = pool.take(3 * MiB)
    assert len(view) == 3 * MiB and address(view) % huge_page_size() == 0
    view[-5:] = b"tail!"
    view[:4] = b"head"
    assert bytes(view[:4]) == b"head" and bytes(view[-5:]) == b"tail!"


def test_a_buffer_goes_back_only_when_its_last_view_is_gone() -> None:
    pool = HugeBufferPool(4 * MiB, keep=2)
    view = pool.take(4 * MiB)
    first = address(view)
    piece = view[MiB : 2 * MiB]
    del view
    gc.collect()
    # A slice still reads the buffer: handing it out again would let a read overwrite it.
    assert pool.idle == 0
    other = pool.take(4 * MiB)
    assert address(other) != first
    piece[:] = b"\x07" * MiB
    del piece
    assert pool.idle == 1
    again = pool.take(4 * MiB)
    assert address(again) == first
    del other, again


def test_a_reused_buffer_is_zeroed_when_asked_and_left_as_is_otherwise() -> None:
    pool = HugeBufferPool(2 * MiB, keep=1)
    view = pool.take(2 * MiB)
    view[:] = b"\xff" * (2 * MiB)
    del view
    kept = pool.take(2 * MiB)
    assert bytes(kept[:16]) == b"\xff" * 16
    del kept
    zeroed = pool.take(2 * MiB, zeroed=True)
    assert bytes(zeroed) == bytes(len(zeroed))


@settings(max_examples=40, deadline=None)
@given(taken=st.integers(min_value=0, max_value=6), keep=st.integers(min_value=0, max_value=4))
def test_the_pool_keeps_at_most_keep_idle_buffers(taken: int, keep: int) -> None:
    pool = HugeBufferPool(MiB, keep=keep)
    views = [pool.take(MiB) for _ in range(taken)]
    addresses = {address(v) for v in views}
    assert len(addresses) == taken
    del views
    assert pool.idle == min(taken, keep)


def test_trim_gives_back_the_idle_buffers_of_a_pool_unused_since_the_last_trim() -> None:
    pool = HugeBufferPool(MiB, keep=3)
    views = [pool.take(MiB) for _ in range(3)]
    del views
    # Taken from since the last trim: in use, so it keeps its buffers.
    assert pool.trim() == 0 and pool.idle == 3
    assert pool.trim() == 3 and pool.idle == 0
    held = pool.take(MiB)
    pool.trim()
    # A buffer out at the time is not the pool's to unmap: it comes back afterwards.
    assert pool.trim() == 0
    held[:4] = b"live"
    del held
    assert pool.idle == 1


def test_a_size_the_pool_cannot_hold_is_refused() -> None:
    pool = HugeBufferPool(2 * MiB, keep=1)
    with pytest.raises(ValueError):
        pool.take(pool.capacity + 1)
    with pytest.raises(ValueError):
        pool.take(0)


def test_threads_never_share_a_buffer() -> None:
    """Each thread fills its buffer with its own byte and reads it back: a buffer handed
    to two threads at once would show the other's byte."""
    pool = HugeBufferPool(MiB, keep=3)
    errors: list[str] = []

    def work(mark: int) -> None:
        for _ in range(200):
            view = pool.take(MiB)
            view[:] = bytes([mark]) * MiB
            os.sched_yield()
            if bytes(view) != bytes([mark]) * MiB:
                errors.append(f"thread {mark} saw another's bytes")
            del view

    threads = [threading.Thread(target=work, args=(m,)) for m in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and pool.idle <= 3


def test_an_unpooled_buffer_is_zeroed_and_aligned() -> None:
    view = huge_buffer(5 * MiB)
    assert len(view) == 5 * MiB and address(view) % huge_page_size() == 0
    assert bytes(view) == bytes(len(view))


AFTER_A_WRITE_BURST = textwrap.dedent(
    """
    from radospy.common.hugepages import HugeBufferPool
    from radospy.common.malloc import tune_for_big_buffers

    def rss_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    assert tune_for_big_buffers()
    burst = [bytearray(4 << 20) for _ in range(16)]
    for b in burst:
        b[::4096] = b"x" * len(b[::4096])
    # Free all but the last, which keeps the heap's top from being trimmed on free.
    del burst[:-1]
    before = rss_kib()
    view = HugeBufferPool(4 << 20, keep=1).take(4 << 20)
    view[::4096] = b"y" * len(view[::4096])
    print(rss_kib() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_a_new_pool_buffer_takes_the_place_of_what_the_heap_holds_free() -> None:
    grown = int(subprocess.check_output([sys.executable, "-c", AFTER_A_WRITE_BURST], text=True))
    # 15 x 4 MiB lay free in the heap: handed back, they more than pay for the new 4 MiB.
    assert grown < -32 * 1024
