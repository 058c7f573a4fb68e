"""CRUSH's rjenkins1 hash (`crush_hash32*`): Robert Jenkins' 96-bit mix on 32-bit words.

All arithmetic wraps at 32 bits as C's `__u32` does; arguments may be negative Python
ints (bucket ids), which are taken modulo 2^32 like a C cast to `__u32`.

Each function spells out its `crush_hashmix` rounds (nine lines per round, the variable
triple changing from round to round exactly as in Ceph's hash.c) instead of calling a
helper: these run for every item of every bucket a mapping looks at, and a Python call
per round would cost more than the round itself. Each line is one C statement pair
`a = a - b - c; a ^= c >> 13` with the wrap applied once at the end, which is exact
because subtraction, xor and left shifts commute with reduction modulo 2^32.
"""

from __future__ import annotations

from radospy.crush.map import HASH_RJENKINS1

M32 = 0xFFFFFFFF
SEED = 1315423911
"""crush_hash_seed."""


def rjenkins1(a: int) -> int:
    """crush_hash32_rjenkins1."""
    a &= 0xFFFFFFFF
    h = SEED ^ a
    b = a
    x = 231232
    y = 1232
    b = (b - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - b ^ b << 8) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 13) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - b ^ b << 16) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 5) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - b ^ b << 10) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 13) & 0xFFFFFFFF
    a = (a - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 13) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 12) & 0xFFFFFFFF
    a = (a - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 5) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 3) & 0xFFFFFFFF
    a = (a - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 15) & 0xFFFFFFFF
    return h


def rjenkins1_2(a: int, b: int) -> int:
    """crush_hash32_rjenkins1_2."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    h = SEED ^ a ^ b
    x = 231232
    y = 1232
    a = (a - b - h ^ h >> 13) & 0xFFFFFFFF
    b = (b - h - a ^ a << 8) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 13) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 12) & 0xFFFFFFFF
    b = (b - h - a ^ a << 16) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 5) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 3) & 0xFFFFFFFF
    b = (b - h - a ^ a << 10) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 15) & 0xFFFFFFFF
    x = (x - a - h ^ h >> 13) & 0xFFFFFFFF
    a = (a - h - x ^ x << 8) & 0xFFFFFFFF
    h = (h - x - a ^ a >> 13) & 0xFFFFFFFF
    x = (x - a - h ^ h >> 12) & 0xFFFFFFFF
    a = (a - h - x ^ x << 16) & 0xFFFFFFFF
    h = (h - x - a ^ a >> 5) & 0xFFFFFFFF
    x = (x - a - h ^ h >> 3) & 0xFFFFFFFF
    a = (a - h - x ^ x << 10) & 0xFFFFFFFF
    h = (h - x - a ^ a >> 15) & 0xFFFFFFFF
    b = (b - y - h ^ h >> 13) & 0xFFFFFFFF
    y = (y - h - b ^ b << 8) & 0xFFFFFFFF
    h = (h - b - y ^ y >> 13) & 0xFFFFFFFF
    b = (b - y - h ^ h >> 12) & 0xFFFFFFFF
    y = (y - h - b ^ b << 16) & 0xFFFFFFFF
    h = (h - b - y ^ y >> 5) & 0xFFFFFFFF
    b = (b - y - h ^ h >> 3) & 0xFFFFFFFF
    y = (y - h - b ^ b << 10) & 0xFFFFFFFF
    h = (h - b - y ^ y >> 15) & 0xFFFFFFFF
    return h


def rjenkins1_3(a: int, b: int, c: int) -> int:
    """crush_hash32_rjenkins1_3."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    c &= 0xFFFFFFFF
    h = SEED ^ a ^ b ^ c
    x = 231232
    y = 1232
    a = (a - b - h ^ h >> 13) & 0xFFFFFFFF
    b = (b - h - a ^ a << 8) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 13) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 12) & 0xFFFFFFFF
    b = (b - h - a ^ a << 16) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 5) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 3) & 0xFFFFFFFF
    b = (b - h - a ^ a << 10) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 15) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - c ^ c << 8) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 13) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - c ^ c << 16) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 5) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - c ^ c << 10) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 13) & 0xFFFFFFFF
    a = (a - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 13) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 12) & 0xFFFFFFFF
    a = (a - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 5) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 3) & 0xFFFFFFFF
    a = (a - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 15) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - b ^ b << 8) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 13) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - b ^ b << 16) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 5) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - b ^ b << 10) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 13) & 0xFFFFFFFF
    c = (c - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 13) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 12) & 0xFFFFFFFF
    c = (c - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 5) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 3) & 0xFFFFFFFF
    c = (c - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 15) & 0xFFFFFFFF
    return h


def rjenkins1_4(a: int, b: int, c: int, d: int) -> int:
    """crush_hash32_rjenkins1_4."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    c &= 0xFFFFFFFF
    d &= 0xFFFFFFFF
    h = SEED ^ a ^ b ^ c ^ d
    x = 231232
    y = 1232
    a = (a - b - h ^ h >> 13) & 0xFFFFFFFF
    b = (b - h - a ^ a << 8) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 13) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 12) & 0xFFFFFFFF
    b = (b - h - a ^ a << 16) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 5) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 3) & 0xFFFFFFFF
    b = (b - h - a ^ a << 10) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 15) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 13) & 0xFFFFFFFF
    d = (d - h - c ^ c << 8) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 13) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 12) & 0xFFFFFFFF
    d = (d - h - c ^ c << 16) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 5) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 3) & 0xFFFFFFFF
    d = (d - h - c ^ c << 10) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 15) & 0xFFFFFFFF
    a = (a - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - a ^ a << 8) & 0xFFFFFFFF
    h = (h - a - x ^ x >> 13) & 0xFFFFFFFF
    a = (a - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - a ^ a << 16) & 0xFFFFFFFF
    h = (h - a - x ^ x >> 5) & 0xFFFFFFFF
    a = (a - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - a ^ a << 10) & 0xFFFFFFFF
    h = (h - a - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - b - h ^ h >> 13) & 0xFFFFFFFF
    b = (b - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - b ^ b >> 13) & 0xFFFFFFFF
    y = (y - b - h ^ h >> 12) & 0xFFFFFFFF
    b = (b - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - b ^ b >> 5) & 0xFFFFFFFF
    y = (y - b - h ^ h >> 3) & 0xFFFFFFFF
    b = (b - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - b ^ b >> 15) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - c ^ c << 8) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 13) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - c ^ c << 16) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 5) & 0xFFFFFFFF
    c = (c - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - c ^ c << 10) & 0xFFFFFFFF
    h = (h - c - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - d - h ^ h >> 13) & 0xFFFFFFFF
    d = (d - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - d ^ d >> 13) & 0xFFFFFFFF
    y = (y - d - h ^ h >> 12) & 0xFFFFFFFF
    d = (d - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - d ^ d >> 5) & 0xFFFFFFFF
    y = (y - d - h ^ h >> 3) & 0xFFFFFFFF
    d = (d - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - d ^ d >> 15) & 0xFFFFFFFF
    return h


def rjenkins1_5(a: int, b: int, c: int, d: int, e: int) -> int:
    """crush_hash32_rjenkins1_5."""
    a &= 0xFFFFFFFF
    b &= 0xFFFFFFFF
    c &= 0xFFFFFFFF
    d &= 0xFFFFFFFF
    e &= 0xFFFFFFFF
    h = SEED ^ a ^ b ^ c ^ d ^ e
    x = 231232
    y = 1232
    a = (a - b - h ^ h >> 13) & 0xFFFFFFFF
    b = (b - h - a ^ a << 8) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 13) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 12) & 0xFFFFFFFF
    b = (b - h - a ^ a << 16) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 5) & 0xFFFFFFFF
    a = (a - b - h ^ h >> 3) & 0xFFFFFFFF
    b = (b - h - a ^ a << 10) & 0xFFFFFFFF
    h = (h - a - b ^ b >> 15) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 13) & 0xFFFFFFFF
    d = (d - h - c ^ c << 8) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 13) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 12) & 0xFFFFFFFF
    d = (d - h - c ^ c << 16) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 5) & 0xFFFFFFFF
    c = (c - d - h ^ h >> 3) & 0xFFFFFFFF
    d = (d - h - c ^ c << 10) & 0xFFFFFFFF
    h = (h - c - d ^ d >> 15) & 0xFFFFFFFF
    e = (e - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - e ^ e << 8) & 0xFFFFFFFF
    h = (h - e - x ^ x >> 13) & 0xFFFFFFFF
    e = (e - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - e ^ e << 16) & 0xFFFFFFFF
    h = (h - e - x ^ x >> 5) & 0xFFFFFFFF
    e = (e - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - e ^ e << 10) & 0xFFFFFFFF
    h = (h - e - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 13) & 0xFFFFFFFF
    a = (a - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 13) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 12) & 0xFFFFFFFF
    a = (a - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 5) & 0xFFFFFFFF
    y = (y - a - h ^ h >> 3) & 0xFFFFFFFF
    a = (a - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - a ^ a >> 15) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - b ^ b << 8) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 13) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - b ^ b << 16) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 5) & 0xFFFFFFFF
    b = (b - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - b ^ b << 10) & 0xFFFFFFFF
    h = (h - b - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 13) & 0xFFFFFFFF
    c = (c - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 13) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 12) & 0xFFFFFFFF
    c = (c - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 5) & 0xFFFFFFFF
    y = (y - c - h ^ h >> 3) & 0xFFFFFFFF
    c = (c - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - c ^ c >> 15) & 0xFFFFFFFF
    d = (d - x - h ^ h >> 13) & 0xFFFFFFFF
    x = (x - h - d ^ d << 8) & 0xFFFFFFFF
    h = (h - d - x ^ x >> 13) & 0xFFFFFFFF
    d = (d - x - h ^ h >> 12) & 0xFFFFFFFF
    x = (x - h - d ^ d << 16) & 0xFFFFFFFF
    h = (h - d - x ^ x >> 5) & 0xFFFFFFFF
    d = (d - x - h ^ h >> 3) & 0xFFFFFFFF
    x = (x - h - d ^ d << 10) & 0xFFFFFFFF
    h = (h - d - x ^ x >> 15) & 0xFFFFFFFF
    y = (y - e - h ^ h >> 13) & 0xFFFFFFFF
    e = (e - h - y ^ y << 8) & 0xFFFFFFFF
    h = (h - y - e ^ e >> 13) & 0xFFFFFFFF
    y = (y - e - h ^ h >> 12) & 0xFFFFFFFF
    e = (e - h - y ^ y << 16) & 0xFFFFFFFF
    h = (h - y - e ^ e >> 5) & 0xFFFFFFFF
    y = (y - e - h ^ h >> 3) & 0xFFFFFFFF
    e = (e - h - y ^ y << 10) & 0xFFFFFFFF
    h = (h - y - e ^ e >> 15) & 0xFFFFFFFF
    return h


def crush_hash32(hash_type: int, a: int) -> int:
    """`crush_hash32`: 0 for an unknown hash type, as in Ceph."""
    return rjenkins1(a) if hash_type == HASH_RJENKINS1 else 0


def crush_hash32_2(hash_type: int, a: int, b: int) -> int:
    """`crush_hash32_2` (the in/out coin flip, and how a pool id salts a PG seed)."""
    return rjenkins1_2(a, b) if hash_type == HASH_RJENKINS1 else 0


def crush_hash32_3(hash_type: int, a: int, b: int, c: int) -> int:
    """`crush_hash32_3` (straw, straw2 and permutation draws)."""
    return rjenkins1_3(a, b, c) if hash_type == HASH_RJENKINS1 else 0


def crush_hash32_4(hash_type: int, a: int, b: int, c: int, d: int) -> int:
    """`crush_hash32_4` (list and tree draws)."""
    return rjenkins1_4(a, b, c, d) if hash_type == HASH_RJENKINS1 else 0


def crush_hash32_5(hash_type: int, a: int, b: int, c: int, d: int, e: int) -> int:
    """`crush_hash32_5`."""
    return rjenkins1_5(a, b, c, d, e) if hash_type == HASH_RJENKINS1 else 0
