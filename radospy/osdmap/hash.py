"""Object-name hashes of `ceph_hash.cc`: the first step of object -> PG.

Both work on raw bytes (an object name is hashed as its UTF-8 encoding) and return an
unsigned 32-bit value, as the C functions do.
"""

from __future__ import annotations

import enum
import functools
import struct
from collections.abc import Callable

_MASK32 = 0xFFFFFFFF
_GOLDEN_RATIO = 0x9E3779B9


class StrHash(enum.IntEnum):
    """CEPH_STR_HASH_*: the `object_hash` of a pool."""

    LINUX = 1
    RJENKINS = 2


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    """Bob Jenkins' 96-bit mix; every step wraps at 32 bits like the C `__u32` math."""
    a = ((a - b - c) & _MASK32) ^ (c >> 13)
    b = ((b - c - a) & _MASK32) ^ ((a << 8) & _MASK32)
    c = ((c - a - b) & _MASK32) ^ (b >> 13)
    a = ((a - b - c) & _MASK32) ^ (c >> 12)
    b = ((b - c - a) & _MASK32) ^ ((a << 16) & _MASK32)
    c = ((c - a - b) & _MASK32) ^ (b >> 5)
    a = ((a - b - c) & _MASK32) ^ (c >> 3)
    b = ((b - c - a) & _MASK32) ^ ((a << 10) & _MASK32)
    c = ((c - a - b) & _MASK32) ^ (b >> 15)
    return a, b, c


def ceph_str_hash_rjenkins(data: bytes) -> int:
    """`ceph_str_hash_rjenkins`: Jenkins' lookup2 hash with initval 0, as Ceph uses it.

    Every object op hashes its name (client and OSD alike): the 12-byte blocks are
    unpacked in one call and mixed inline, ~2x faster than a `_mix` call per block."""
    length = len(data)
    a = b = _GOLDEN_RATIO
    c = 0
    blocks = length // 12
    words = _unpack_words(blocks)(data, 0) if blocks else ()
    for i in range(0, 3 * blocks, 3):
        a = (a + words[i]) & _MASK32
        b = (b + words[i + 1]) & _MASK32
        c = (c + words[i + 2]) & _MASK32
        a = ((a - b - c) & _MASK32) ^ (c >> 13)
        b = ((b - c - a) & _MASK32) ^ ((a << 8) & _MASK32)
        c = ((c - a - b) & _MASK32) ^ (b >> 13)
        a = ((a - b - c) & _MASK32) ^ (c >> 12)
        b = ((b - c - a) & _MASK32) ^ ((a << 16) & _MASK32)
        c = ((c - a - b) & _MASK32) ^ (b >> 5)
        a = ((a - b - c) & _MASK32) ^ (c >> 3)
        b = ((b - c - a) & _MASK32) ^ ((a << 10) & _MASK32)
        c = ((c - a - b) & _MASK32) ^ (b >> 15)
    tail = data[12 * blocks :]
    # The low byte of c is reserved for the length, so the tail's bytes 8..10 land in
    # c shifted up by one byte.
    c = (c + length) & _MASK32
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK32
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK32
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & _MASK32
    a, b, c = _mix(a, b, c)
    return c


@functools.lru_cache(maxsize=64)
def _unpack_words(blocks: int) -> Callable[[bytes, int], tuple[int, ...]]:
    """The unpacker of ``blocks`` 12-byte blocks as little-endian 32-bit words."""
    return struct.Struct(f"<{3 * blocks}I").unpack_from


def ceph_str_hash_linux(data: bytes) -> int:
    """`ceph_str_hash_linux`: the Linux dcache name hash."""
    value = 0
    for byte in data:
        value = ((value + (byte << 4) + (byte >> 4)) * 11) & _MASK32
    return value


def ceph_str_hash(kind: int, data: bytes) -> int:
    """`ceph_str_hash`: dispatch on a pool's `object_hash`; unknown kinds give -1 as u32."""
    if kind == StrHash.LINUX:
        return ceph_str_hash_linux(data)
    if kind == StrHash.RJENKINS:
        return ceph_str_hash_rjenkins(data)
    return _MASK32


def str_hash_name(kind: int) -> str:
    """`ceph_str_hash_name`: the name `osdmaptool --print` shows for `object_hash`."""
    if kind == StrHash.LINUX:
        return "linux"
    if kind == StrHash.RJENKINS:
        return "rjenkins"
    return "unknown"
