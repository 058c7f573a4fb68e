"""The OSD's malloc settings apply on glibc, and big buffers freed after a burst go
back to the kernel (checked in a child process, so this one keeps its own malloc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from radospy.common.malloc import tune_for_big_buffers

CHILD = textwrap.dedent(
    """
    import sys
    from radospy.common.malloc import tune_for_big_buffers

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
    print(rss_kib() - base)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_freed_big_buffers_leave_the_process() -> None:
    assert tune_for_big_buffers() in (True, False)
    grown = int(subprocess.check_output([sys.executable, "-c", CHILD, "tuned"], text=True))
    # 40 x 4 MiB were touched; at most the one kept (plus noise) stays resident.
    assert grown < 32 * 1024
