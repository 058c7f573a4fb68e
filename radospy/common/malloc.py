"""glibc malloc settings for daemons that move big buffers (the OSD's 4 MiB payloads).

Two costs pull against each other:

- A buffer served by mmap is handed back to the kernel when freed, so RSS follows the
  buffers alive; but every new one is fresh memory, and touching it costs a page
  fault and a zeroed page per 4 KiB: ~2 ms per 4 MiB buffer on this VM, ten times the
  copy into it, several times per OSD op (receive, decode, encode per replica).
- A buffer served from the heap reuses memory already faulted in, but glibc keeps
  freed heap memory resident (and, left alone, raises its mmap threshold after the
  first big free, so a daemon that carried one burst keeps its peak RSS for good).

So: buffers up to `MMAP_THRESHOLD` (4 MiB objects and their messages) come from the
heap, two arenas keep the store's worker threads from each growing a heap, and the
daemon calls `release_free_memory` every few seconds (`TRIM_INTERVAL`), which returns
whatever the heap holds free to the kernel (`malloc_trim`): under load the freed
4 MiB chunks are reused straight away; once the load stops RSS falls back.

Measured (`bench/rados.py`, 4 MiB writes): OSD CPU per MB in the allocator and page
faults fell by ~2 ms per 4 MiB buffer; peak RSS is what is alive, as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import weakref

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 << 20
"""The largest threshold glibc accepts on 64-bit (half its 64 MiB heap size)."""
TRIM_THRESHOLD = MMAP_THRESHOLD
ARENA_MAX = 2
TRIM_INTERVAL = 2.0
"""Seconds between two `release_free_memory` calls of a daemon."""


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def tune_for_big_buffers() -> bool:
    """Apply the settings to this process; False where there is no glibc ``mallopt``."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    results = [
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        mallopt(M_ARENA_MAX, ARENA_MAX),
    ]
    return all(result == 1 for result in results)


def release_free_memory() -> bool:
    """Return the heap's free memory to the kernel (``malloc_trim(0)``); False where
    there is no glibc, or when there was nothing to return."""
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))


def aligned_buffer(size: int, alignment: int, zeroed: bool) -> memoryview:
    """``size`` bytes starting at a multiple of ``alignment`` (a power of two, as
    O_DIRECT wants), ``zeroed`` or left as malloc hands them out (a 4 MiB memset is a
    third of a big read's CPU), freed once the last view of them is gone. They come
    from malloc's heap like any buffer here, so a 4 MiB read reuses memory already
    faulted in. Without glibc: a bytearray, zeroed, sliced at the boundary."""
    libc = _libc()
    malloc = getattr(libc, "malloc", None)
    if malloc is None or libc is None:
        spare = bytearray(size + alignment)
        skip = -ctypes.addressof(ctypes.c_char.from_buffer(spare)) % alignment
        return memoryview(spare)[skip : skip + size]
    malloc.argtypes = [ctypes.c_size_t]
    malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # A plain malloc with room to start at the boundary, as numpy does. aligned_alloc
    # (memalign) splits small free chunks off each buffer, which other allocations take,
    # keeping freed big ones from merging: OSD peak RSS under 4 MiB reads was 141-200
    # MiB with it, 107-147 with this (bench 4M seq, 3 runs each, load 12-19).
    address = malloc(size + alignment)
    if not address:
        raise MemoryError(f"malloc of {size} bytes failed")
    start = address + (-address % alignment)
    if zeroed:
        ctypes.memset(start, 0, size)
    array = (ctypes.c_ubyte * size).from_address(start)
    # The array is what every view of the memory holds on to: freed with the last one.
    weakref.finalize(array, libc.free, address)
    return memoryview(array).cast("B")
