"""The OSD's malloc settings apply on glibc: big buffers are reused from the heap, and
what a burst leaves free goes back to the kernel on `release_free_memory` (checked in
a child process, so this one keeps its own malloc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from radospy.common.malloc import tune_for_big_buffers

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
