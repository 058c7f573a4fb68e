"""Object-name hashes of `ceph_hash.cc`: the first step of object -> PG.

Both work on raw bytes (an object name is hashed as its UTF-8 encoding) and return an
unsigned 32-bit value, as the C functions do.
"""

from __future__ import annotations

import enum

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
    """`ceph_str_hash_rjenkins`: Jenkins' lookup2 hash with initval 0, as Ceph uses it."""
    length = len(data)
    a = b = _GOLDEN_RATIO
    c = 0
    pos = 0
    while length - pos >= 12:
        a = (a + int.from_bytes(data[pos : pos + 4], "little")) & _MASK32
        b = (b + int.from_bytes(data[pos + 4 : pos + 8], "little")) & _MASK32
        c = (c + int.from_bytes(data[pos + 8 : pos + 12], "little")) & _MASK32
        a, b, c = _mix(a, b, c)
        pos += 12
    tail = data[pos:]
    # The low byte of c is reserved for the length, so the tail's bytes 8..10 land in
    # c shifted up by one byte.
    c = (c + length) & _MASK32
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK32
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK32
    c = (c + (int.from_bytes(tail[8:11], "little") << 8)) & _MASK32
    a, b, c = _mix(a, b, c)
    return c


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
