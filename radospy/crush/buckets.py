"""Bucket choose functions (`crush_bucket_choose` and friends in Ceph's mapper.c).

The mapper works on `Chooser`s: immutable per-bucket snapshots holding exactly what
each algorithm reads (tuples, no attribute chains), built from a `Bucket` by
`make_chooser`. Given the input `x`, the replica rank `r` and the output position
(which selects a straw2 weight set), `choose` returns one item of the bucket.

The only mutable state of a mapping is the permutation cache of `perm_choose` (Ceph's
`crush_work_bucket`): it lives in a `Work` dict created fresh for each `do_rule` call
and shared by every choice within that call, because Ceph's results depend on it when
the same bucket is drawn from repeatedly.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from radospy.crush.hash import Lanes, rjenkins1_3, rjenkins1_3_lanes, rjenkins1_4
from radospy.crush.ln import crush_ln
from radospy.crush.map import HASH_RJENKINS1, ITEM_NONE, Bucket, BucketAlg, ChooseArg

_NEVER = 1 << 64
"""Straw2 quotient of a zero-weight item: larger than any real one (Ceph uses S64_MIN)."""


def _hash3(hash_type: int, a: int, b: int, c: int) -> int:
    return rjenkins1_3(a, b, c) if hash_type == HASH_RJENKINS1 else 0


def _hash4(hash_type: int, a: int, b: int, c: int, d: int) -> int:
    return rjenkins1_4(a, b, c, d) if hash_type == HASH_RJENKINS1 else 0


# -- permutation choice (uniform buckets, and the legacy local fallback) ---------------------


@dataclass
class PermState:
    """`crush_work_bucket`: the partial permutation of one bucket for one input x."""

    perm_x: int = 0
    perm_n: int = 0
    perm: list[int] = field(default_factory=list)


Work = dict[int, PermState]
"""Per-`do_rule` permutation state, keyed by bucket id."""

_R0_ONLY = 0xFFFF
"""perm_n marker: only perm[0] is known (the cheap r = 0 case)."""


def perm_choose(bucket: Chooser, work: Work, x: int, r: int) -> int:
    """`bucket_perm_choose`: item at rank r of a pseudo-random permutation of the bucket.

    The permutation is built lazily, one swap per rank, and kept in `work` for the
    same x; r = 0 takes a shortcut that records only the first slot.
    """
    size = bucket.size
    state = work.get(bucket.id)
    if state is None:
        state = work[bucket.id] = PermState(perm=[0] * size)
    perm = state.perm
    pr = r % size
    if state.perm_x != x or state.perm_n == 0:
        state.perm_x = x
        if pr == 0:
            s = _hash3(bucket.hash, x, bucket.id, 0) % size
            perm[0] = s
            state.perm_n = _R0_ONLY
            return bucket.items[s]
        perm[:] = range(size)
        state.perm_n = 0
    elif state.perm_n == _R0_ONLY:
        # Expand the r = 0 shortcut into a real permutation prefix of length 1.
        perm[1:] = range(1, size)
        perm[perm[0]] = 0
        state.perm_n = 1
    while state.perm_n <= pr:
        p = state.perm_n
        if p < size - 1:
            i = _hash3(bucket.hash, x, bucket.id, p) % (size - p)
            if i:
                perm[p], perm[p + i] = perm[p + i], perm[p]
        state.perm_n += 1
    return bucket.items[perm[pr]]


# -- choosers ---------------------------------------------------------------------------------


class Chooser:
    """What the mapper needs of one bucket; subclasses implement one algorithm each."""

    __slots__ = ("alg", "hash", "id", "items", "size", "type")

    def __init__(self, bucket: Bucket) -> None:
        self.id = bucket.id
        self.type = bucket.type_id
        self.alg = bucket.alg
        self.hash = bucket.hash
        self.items: tuple[int, ...] = tuple(bucket.items)
        self.size = len(self.items)

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        """One item of the bucket for input x, rank r and output position."""
        raise NotImplementedError


class UniformChooser(Chooser):
    """Uniform buckets: every item equally likely, via the permutation."""

    __slots__ = ()

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        return perm_choose(self, work, x, r)


class ListChooser(Chooser):
    """List buckets: walk from the tail, keep an item with probability weight/sum-so-far."""

    __slots__ = ("item_weights", "sum_weights")

    def __init__(self, bucket: Bucket) -> None:
        super().__init__(bucket)
        self.item_weights = tuple(bucket.item_weights)
        self.sum_weights = tuple(bucket.sum_weights)

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        for i in range(self.size - 1, -1, -1):
            w = _hash4(self.hash, x, self.items[i], r, self.id) & 0xFFFF
            if (w * self.sum_weights[i]) >> 16 < self.item_weights[i]:
                return self.items[i]
        return self.items[0]


class TreeChooser(Chooser):
    """Tree buckets: descend the implicit binary tree by weighted coin flips."""

    __slots__ = ("node_weights",)

    def __init__(self, bucket: Bucket) -> None:
        super().__init__(bucket)
        self.node_weights = tuple(bucket.node_weights)

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        nodes = self.node_weights
        n = len(nodes) >> 1
        while not n & 1:
            t = (_hash4(self.hash, x, n, r, self.id) * nodes[n]) >> 32
            half = (n & -n) >> 1  # 2^(height-1): distance to either child
            left = n - half
            n = left if t < nodes[left] else n + half
        leaf = n >> 1
        # Ceph's reweight leaves interior nodes stale, so a descent can end past the last
        # item, where C reads out of bounds; answer "nothing here" instead.
        return self.items[leaf] if leaf < self.size else ITEM_NONE


class StrawChooser(Chooser):
    """Straw buckets: the longest scaled straw wins (ties go to the first)."""

    __slots__ = ("straws",)

    def __init__(self, bucket: Bucket) -> None:
        super().__init__(bucket)
        self.straws = tuple(bucket.straws)

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        high = 0
        high_draw = -1
        for i, (item, straw) in enumerate(zip(self.items, self.straws, strict=True)):
            draw = (_hash3(self.hash, x, item, r) & 0xFFFF) * straw
            if draw > high_draw:
                high, high_draw = i, draw
        return self.items[high]


_NEG_LN: array[int] = array("q")
"""-(crush_ln(u) - 2^48) for every 16-bit u, built on first use (65536 entries).

Packed 64-bit ints, 512 KiB: a list of Python ints took 2.5 MiB in every process that
maps, and was no faster to index (its int objects are spread over five times the cache
lines)."""


def neg_ln_table() -> array[int]:
    """The straw2 numerators 2^48 - crush_ln(u), u = 0..0xffff (all >= 0)."""
    global _NEG_LN
    if not _NEG_LN:
        # Built aside and published whole: the monitor maps PGs on two threads at once,
        # and a table filled in place let the other thread index past its end.
        _NEG_LN = array("q", (0x1000000000000 - crush_ln(u) for u in range(0x10000)))
    return _NEG_LN


class Straw2Chooser(Chooser):
    """Straw2 buckets: each item draws ln(u)/weight; the largest draw wins.

    `weight_sets` holds one weight tuple per output position (the bucket's own weights
    when no choose_args apply; the last set serves all later positions) and the hashed
    ids are the choose_args `ids` if given, else the items. The ids are kept packed
    for `rjenkins1_3_lanes`, which hashes all of them in one pass.
    """

    __slots__ = ("lanes", "packed_ids", "weight_sets")

    def __init__(self, bucket: Bucket, arg: ChooseArg | None = None) -> None:
        super().__init__(bucket)
        weight_sets = [bucket.item_weights]
        ids = bucket.items
        if arg is not None:
            if arg.weight_set:
                weight_sets = arg.weight_set
            if arg.ids:
                ids = arg.ids
        self.weight_sets = tuple(tuple(ws) for ws in weight_sets)
        self.lanes = Lanes.of(self.size)
        self.packed_ids = self.lanes.pack(ids)

    def choose(self, x: int, r: int, position: int, work: Work) -> int:
        sets = self.weight_sets
        weights = sets[position] if position < len(sets) else sets[-1]
        neg_ln = _NEG_LN or neg_ln_table()
        if self.hash == HASH_RJENKINS1:
            lanes = self.lanes
            draws = lanes.unpack(rjenkins1_3_lanes(x, self.packed_ids, r, lanes))
        else:
            draws = array("Q", bytes(8 * self.size))
        # Maximising ln(u)/w (<= 0, C division truncates toward zero) is minimising
        # the non-negative quotient (2^48 - crush_ln(u)) // w; ties keep the first item.
        high = 0
        high_q = _NEVER + 1
        for i, w in enumerate(weights):
            q = neg_ln[draws[i] & 0xFFFF] // w if w else _NEVER
            if q < high_q:
                high, high_q = i, q
        return self.items[high]


_CHOOSERS: dict[BucketAlg, type[Chooser]] = {
    BucketAlg.UNIFORM: UniformChooser,
    BucketAlg.LIST: ListChooser,
    BucketAlg.TREE: TreeChooser,
    BucketAlg.STRAW: StrawChooser,
}


def make_chooser(bucket: Bucket, arg: ChooseArg | None = None) -> Chooser:
    """The chooser of `bucket`; `arg` (its choose_args entry) only affects straw2."""
    if bucket.alg == BucketAlg.STRAW2:
        return Straw2Chooser(bucket, arg)
    return _CHOOSERS[bucket.alg](bucket)
