"""The OSD's malloc settings apply on glibc: big buffers are reused from the heap, and
what a burst leaves free goes back to the kernel on `release_free_memory` (checked in
a child process, so this one keeps its own malloc)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import pytest

from radospy.common.malloc import aligned_buffer, tune_for_big_buffers

CHILD = textwrap.dedent(
    """
    import sys
    from radospy.common.malloc import release_free_memory, tune_for_big_buffers

    def rss_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    if sys.argv[1] == "tuned":
        assert tune_for_big_buffers()
    base = rss_kib()
    for _ in range(3):
        burst = [bytearray(4 << 20) for _ in range(40)]
        for b in burst:
            b[::4096] = b"x" * len(b[::4096])
        # Free all but the last, as a daemon keeps a few buffers alive.
        del burst[:-1]
    release_free_memory()
    print(rss_kib() - base)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_freed_big_buffers_leave_the_process() -> None:
    assert tune_for_big_buffers() in (True, False)
    grown = int(subprocess.check_output([sys.executable, "-c", CHILD, "tuned"], text=True))
    # 40 x 4 MiB were touched; at most the one kept (plus noise) stays resident.
    assert grown < 32 * 1024


REUSE = textwrap.dedent(
    """
    import resource
    from radospy.common.malloc import tune_for_big_buffers

    assert tune_for_big_buffers()
    data = bytes(4 << 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        copy = bytearray(data)  # as a received 4 MiB payload, then freed
        del copy
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_big_buffers_reuse_memory_already_faulted_in() -> None:
    faults = int(subprocess.check_output([sys.executable, "-c", REUSE], text=True))
    # 50 fresh 4 MiB mappings would fault 50 x 1024 pages; reused heap memory, ~one's.
    assert faults < 5 * 1024


@pytest.mark.parametrize("zeroed", [True, False])
def test_aligned_buffers_are_aligned_writable_and_outlive_their_first_view(
    zeroed: bool,
) -> None:
    for size in (1, 4095, 4096, 65536 + 3, 4 << 20):
        view = aligned_buffer(size, 4096, zeroed)
        assert view.nbytes == size and view.format == "B" and not view.readonly
        assert ctypes.addressof(ctypes.c_char.from_buffer(view)) % 4096 == 0
        if zeroed:
            assert not any(view)
        view[:] = bytes([7]) * size
        tail = view[size // 2 :]
        del view
        # The memory stays while a slice of it lives.
        assert bytes(tail) == bytes([7]) * len(tail)


FREED = textwrap.dedent(
    """
    from radospy.common.malloc import aligned_buffer, tune_for_big_buffers

    def rss_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    tune_for_big_buffers()
    base = rss_kib()
    for _ in range(100):
        view = aligned_buffer(4 << 20, 4096, zeroed=True)
        part = view[100:]
        del view, part
    print(rss_kib() - base)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_aligned_buffers_are_freed_with_their_last_view() -> None:
    grown = int(subprocess.check_output([sys.executable, "-c", FREED], text=True))
    # 100 x 4 MiB were written; kept, they would be 400 MiB.
    assert grown < 64 * 1024
