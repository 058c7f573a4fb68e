"""Placement-group ids and the PG arithmetic of `ceph_fs.h` / `osd_types.h`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from radospy.common.errors import InvalidArgument

_MASK32 = 0xFFFFFFFF
_PGID_RE = re.compile(r"(\d+)\.([0-9a-fA-F]+)")


def _as_int32(value: int) -> int:
    """Reinterpret the low 32 bits as a C `int`."""
    value &= _MASK32
    return value - (1 << 32) if value & 0x80000000 else value


def cbits(value: int) -> int:
    """Number of significant bits of an unsigned value (`cbits`; 0 for 0)."""
    return value.bit_length()


def pg_num_mask(pg_num: int) -> int:
    """`calc_pg_masks`: the smallest all-ones mask covering `pg_num - 1`."""
    return ((1 << cbits((pg_num - 1) & _MASK32)) - 1) & _MASK32


def ceph_stable_mod(x: int, b: int, bmask: int) -> int:
    """`ceph_stable_mod`: fold a hash into `[0, b)` so that growing `b` splits PGs.

    The C function takes `int` arguments and compares signed, so the same is done
    here: with b = 2**31, b is negative and every x takes the second branch.
    """
    x, b, bmask = _as_int32(x), _as_int32(b), _as_int32(bmask)
    if (x & bmask) < b:
        return (x & bmask) & _MASK32
    return (x & (bmask >> 1)) & _MASK32


@dataclass(frozen=True, order=True)
class PgId:
    """`pg_t`: a pool id and a placement seed, printed `POOL.SEED` with the seed in hex.

    A *raw* PgId carries the full object hash as its seed; `Pool.raw_pg_to_pg` folds it
    into the pool's `pg_num`.
    """

    pool: int
    seed: int

    def __str__(self) -> str:
        return f"{self.pool}.{self.seed:x}"

    @classmethod
    def parse(cls, text: str) -> PgId:
        """Parse `POOL.SEED` (decimal pool, hex seed) as Ceph's `pg_t::parse` reads it."""
        match = _PGID_RE.fullmatch(text.strip())
        if match is None:
            raise InvalidArgument(f"invalid pgid '{text}'")
        seed = int(match.group(2), 16)
        if seed > _MASK32:
            raise InvalidArgument(f"invalid pgid '{text}'")
        return cls(int(match.group(1)), seed)

    def split_children(self, old_pg_num: int, new_pg_num: int) -> list[PgId]:
        """The PGs that take over part of this PG when `pg_num` grows (`pg_t::is_split`)."""
        old_mask = pg_num_mask(old_pg_num)
        return [
            PgId(self.pool, seed)
            for seed in range(old_pg_num, new_pg_num)
            if ceph_stable_mod(seed, old_pg_num, old_mask) == self.seed
        ]
