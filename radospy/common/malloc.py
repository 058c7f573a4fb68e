"""glibc malloc settings for daemons that move big buffers (the OSD's 4 MiB payloads).

glibc serves a large allocation with mmap only until the first such block is freed;
then it raises its mmap threshold (up to 32 MiB on 64-bit) and later 4 MiB buffers come
from the heap, where freed blocks stay resident and fragment: an OSD that has carried a
burst of big writes keeps its peak RSS for good. Pinning the threshold at 128 KiB
(setting it also stops the adjustment) hands every big buffer back to the kernel when
it is freed, and two arenas keep the store's worker threads from each growing a heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 2


def tune_for_big_buffers() -> bool:
    """Apply the settings to this process; False where there is no glibc ``mallopt``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    threshold = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    arenas = mallopt(M_ARENA_MAX, ARENA_MAX) == 1
    return threshold and arenas
