"""`crush_ln`: 2^44 * log2(x + 1) in fixed point, as straw2 uses it (Ceph's mapper.c)."""

from __future__ import annotations

from radospy.crush.ln_tables import LL, RH_LH

M64 = 0xFFFFFFFFFFFFFFFF


def crush_ln(xin: int) -> int:
    """2^44 * log2(xin + 1) for 0 <= xin <= 0xffff, with Ceph's exact table arithmetic."""
    x = xin + 1
    iexpon = 15
    if not x & 0x18000:
        # Normalise x into [0x8000, 0x10000) with one shift, like the C __builtin_clz.
        bits = 16 - (x & 0x1FFFF).bit_length()
        x <<= bits
        iexpon = 15 - bits
    index1 = (x >> 8) << 1
    rh = RH_LH[index1 - 256]
    lh = RH_LH[index1 + 1 - 256]
    xl64 = ((x * rh) & M64) >> 48
    lh = (lh + LL[xl64 & 0xFF]) >> (48 - 12 - 32)
    return (iexpon << (12 + 32)) + lh


def straw2_draw(u: int, weight: int) -> int:
    """The straw2 draw of a 16-bit hash `u` for an item of 16.16 `weight` (> 0).

    ln(u/2^16) scaled to 2^44 is negative (or 0), divided by the weight with C's
    truncation toward zero, so heavier items get draws closer to zero and win more.
    """
    ln = crush_ln(u) - 0x1000000000000
    return -(-ln // weight)
