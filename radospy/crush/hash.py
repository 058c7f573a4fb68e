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

import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

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


# -- many hashes at once ------------------------------------------------------------------


@dataclass(frozen=True)
class Lanes:
    """Constants for hashing `count` 32-bit words side by side in one Python int.

    Each word gets a 64-bit lane. Every operation of a mix round works lane by lane:
    adding `bias` (2^33, which is 0 modulo 2^32) before subtracting keeps each lane
    non-negative so no borrow crosses lanes; a left shift by at most 16 stays inside
    the lane; bits a right shift pulls in from the next lane land above bit 32; and
    `mask` clears everything above bit 32 after every step. The result is exactly the
    scalar hash of each lane, at a fraction of the interpreter cost.
    """

    count: int
    ones: int
    mask: int
    bias: int

    @classmethod
    def of(cls, count: int) -> Lanes:
        """The lane constants for `count` words."""
        ones = sum(1 << (64 * i) for i in range(count))
        return cls(count, ones, M32 * ones, (1 << 33) * ones)

    def pack(self, words: Sequence[int]) -> int:
        """One int holding `words` (taken modulo 2^32), the first in the lowest lane."""
        return sum((w & M32) << (64 * i) for i, w in enumerate(words))

    def unpack(self, packed: int) -> array[int]:
        """The lanes of `packed` as unsigned 64-bit integers, lowest first."""
        return array("Q", packed.to_bytes(8 * self.count, sys.byteorder))


def rjenkins1_3_lanes(a: int, packed_b: int, c: int, lanes: Lanes) -> int:
    """`rjenkins1_3(a, b, c)` for every b packed in `packed_b`, as packed lanes.

    Straw2 hashes (x, item, r) for every item of a bucket with the same x and r, so
    the items ride in lanes and a and c are broadcast to all of them.
    """
    ones = lanes.ones
    m = lanes.mask
    k = lanes.bias
    a &= M32
    c &= M32
    h = (SEED ^ a ^ c) * ones ^ packed_b
    a *= ones
    b = packed_b
    c *= ones
    x = 231232 * ones
    y = 1232 * ones
    a = (a + k - b - h ^ h >> 13) & m
    b = (b + k - h - a ^ a << 8) & m
    h = (h + k - a - b ^ b >> 13) & m
    a = (a + k - b - h ^ h >> 12) & m
    b = (b + k - h - a ^ a << 16) & m
    h = (h + k - a - b ^ b >> 5) & m
    a = (a + k - b - h ^ h >> 3) & m
    b = (b + k - h - a ^ a << 10) & m
    h = (h + k - a - b ^ b >> 15) & m
    c = (c + k - x - h ^ h >> 13) & m
    x = (x + k - h - c ^ c << 8) & m
    h = (h + k - c - x ^ x >> 13) & m
    c = (c + k - x - h ^ h >> 12) & m
    x = (x + k - h - c ^ c << 16) & m
    h = (h + k - c - x ^ x >> 5) & m
    c = (c + k - x - h ^ h >> 3) & m
    x = (x + k - h - c ^ c << 10) & m
    h = (h + k - c - x ^ x >> 15) & m
    y = (y + k - a - h ^ h >> 13) & m
    a = (a + k - h - y ^ y << 8) & m
    h = (h + k - y - a ^ a >> 13) & m
    y = (y + k - a - h ^ h >> 12) & m
    a = (a + k - h - y ^ y << 16) & m
    h = (h + k - y - a ^ a >> 5) & m
    y = (y + k - a - h ^ h >> 3) & m
    a = (a + k - h - y ^ y << 10) & m
    h = (h + k - y - a ^ a >> 15) & m
    b = (b + k - x - h ^ h >> 13) & m
    x = (x + k - h - b ^ b << 8) & m
    h = (h + k - b - x ^ x >> 13) & m
    b = (b + k - x - h ^ h >> 12) & m
    x = (x + k - h - b ^ b << 16) & m
    h = (h + k - b - x ^ x >> 5) & m
    b = (b + k - x - h ^ h >> 3) & m
    x = (x + k - h - b ^ b << 10) & m
    h = (h + k - b - x ^ x >> 15) & m
    y = (y + k - c - h ^ h >> 13) & m
    c = (c + k - h - y ^ y << 8) & m
    h = (h + k - y - c ^ c >> 13) & m
    y = (y + k - c - h ^ h >> 12) & m
    c = (c + k - h - y ^ y << 16) & m
    h = (h + k - y - c ^ c >> 5) & m
    y = (y + k - c - h ^ h >> 3) & m
    c = (c + k - h - y ^ y << 10) & m
    h = (h + k - y - c ^ c >> 15) & m
    return h
