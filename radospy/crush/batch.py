"""Whole-pool CRUSH: `do_rule` for many inputs at once, vectorised with numpy.

`map_batch` gives, for every x of an array, exactly what `mapper.do_rule` gives for that
x. All inputs walk the rule in lock-step: every loop iteration makes one bucket choice
for each input that still has work, with per-input retry counters, collision checks and
positions kept in arrays. The hot path (straw2 and straw buckets) is a vectorised
rjenkins1 hash over an (inputs x bucket items) matrix followed by a row argmax, whose
first-maximum rule is Ceph's tie-break (`i == 0 || draw > high_draw`). Uniform, list and
tree buckets and the legacy permutation fallback are vectorised the same way.

Inputs whose walk meets something Ceph leaves undefined or that is not vectorised here
(a bucket hash other than rjenkins1, a bucket id with no bucket behind it) are set
aside and mapped by the scalar `do_rule`, so the result is always identical to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from radospy.crush import ln as crush_ln_mod
from radospy.crush import mapper
from radospy.crush.map import (
    HASH_RJENKINS1,
    ITEM_NONE,
    ITEM_UNDEF,
    WEIGHT_ONE,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
)

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
Bools = npt.NDArray[np.bool_]

_SEED = np.uint32(1315423911)
_HASH_X = 231232
_HASH_Y = 1232
_S64_MIN = np.iinfo(np.int64).min
_LN_ONE = 0x1000000000000
"""crush_ln(0xffff) = 2^44 * log2(0x10000): straw2 subtracts it so that ln <= 0."""

_CHUNK = 32768
"""Hash matrix elements per numpy pass: small enough for the temporaries to stay in cache."""

_LANES = 1 << 18
"""Inputs mapped together; larger batches are cut into runs of this many."""

# How a (bucket, choose_args position) variant picks an item.
_K_SCALAR = 0
"""Not vectorised (an unknown hash or algorithm): the input goes to the scalar mapper."""
_K_STRAW2 = 1
"""straw2: exact signed division of ln by each item's weight (crush_ln is not monotone,
so no shortcut through the raw hash is exact)."""
_K_STRAW = 2
"""straw (v1): 16-bit hash times the item's straw length."""
_K_UNIFORM = 3
"""uniform: the bucket's pseudo-random permutation of its items, entry r mod size."""
_K_LIST = 4
"""list: from the tail, the first item whose scaled hash falls under its weight."""
_K_TREE = 5
"""tree: weighted coin flips down the implicit binary tree."""
_KIND_OF_ALG = {
    BucketAlg.STRAW2: _K_STRAW2,
    BucketAlg.STRAW: _K_STRAW,
    BucketAlg.UNIFORM: _K_UNIFORM,
    BucketAlg.LIST: _K_LIST,
    BucketAlg.TREE: _K_TREE,
}

# -- vectorised rjenkins1 ---------------------------------------------------------------------

_MIX_STEPS = (
    (0, 1, 2, 13),
    (1, 2, 0, -8),
    (2, 0, 1, 13),
    (0, 1, 2, 12),
    (1, 2, 0, -16),
    (2, 0, 1, 5),
    (0, 1, 2, 3),
    (1, 2, 0, -10),
    (2, 0, 1, 15),
)
"""crush_hashmix(a, b, c) as (target, first, second, shift): target -= first; target -=
second; target ^= second >> shift (negative: <<). Each line of the macro is one row."""


def _mix(a: U32, b: U32, c: U32, tmp: U32) -> None:
    regs = (a, b, c)
    for target, first, second, shift in _MIX_STEPS:
        t, f, s = regs[target], regs[first], regs[second]
        np.subtract(t, f, out=t)
        np.subtract(t, s, out=t)
        if shift > 0:
            np.right_shift(s, shift, out=tmp)
        else:
            np.left_shift(s, -shift, out=tmp)
        np.bitwise_xor(t, tmp, out=t)


def hash32_2(a: npt.ArrayLike, b: npt.ArrayLike) -> U32:
    """crush_hash32_2(CRUSH_HASH_RJENKINS1, a, b) elementwise (inputs broadcast)."""
    a_, b_ = (
        np.array(v, dtype=np.uint32)
        for v in np.broadcast_arrays(
            np.asarray(a).astype(np.uint32), np.asarray(b).astype(np.uint32)
        )
    )
    return _hash2_inplace(a_, b_)


def hash32_3(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> U32:
    """crush_hash32_3(CRUSH_HASH_RJENKINS1, a, b, c) elementwise (inputs broadcast)."""
    a_, b_, c_ = (
        np.array(v, dtype=np.uint32)
        for v in np.broadcast_arrays(*(np.asarray(v).astype(np.uint32) for v in (a, b, c)))
    )
    return _hash3_inplace(a_, b_, c_)


def _hash2_inplace(a: U32, b: U32) -> U32:
    """The hash of two uint32 arrays of one shape; clobbers both."""
    h = a ^ b
    h ^= _SEED
    x = np.full_like(a, _HASH_X)
    y = np.full_like(a, _HASH_Y)
    tmp = np.empty_like(a)
    _mix(a, b, h, tmp)
    _mix(x, a, h, tmp)
    _mix(b, y, h, tmp)
    return h


def _hash4_inplace(a: U32, b: U32, c: U32, d: U32) -> U32:
    """The hash of four uint32 arrays of one shape; clobbers all four."""
    h = a ^ b
    h ^= c
    h ^= d
    h ^= _SEED
    x = np.full_like(a, _HASH_X)
    y = np.full_like(a, _HASH_Y)
    tmp = np.empty_like(a)
    _mix(a, b, h, tmp)
    _mix(c, d, h, tmp)
    _mix(a, x, h, tmp)
    _mix(y, b, h, tmp)
    _mix(c, x, h, tmp)
    _mix(y, d, h, tmp)
    return h


def _hash3_inplace(a: U32, b: U32, c: U32) -> U32:
    """The hash of three uint32 arrays of one shape; clobbers all three."""
    h = a ^ b
    h ^= c
    h ^= _SEED
    x = np.full_like(a, _HASH_X)
    y = np.full_like(a, _HASH_Y)
    tmp = np.empty_like(a)
    _mix(a, b, h, tmp)
    _mix(c, x, h, tmp)
    _mix(y, a, h, tmp)
    _mix(b, x, h, tmp)
    _mix(y, c, h, tmp)
    return h


@cache
def _neg_ln_table() -> I64:
    """`0x1000000000000 - crush_ln(u)` for every 16-bit u: the straw2 ln, negated (>= 0)."""
    table = np.array([crush_ln_mod.crush_ln(u) for u in range(0x10000)], dtype=np.int64)
    return np.int64(_LN_ONE) - table


# -- the map compiled to arrays ---------------------------------------------------------------


@dataclass
class _Plan:
    """The parts of a map (and one choose_args set) that placement reads, as arrays.

    A variant is a bucket as seen at one choose_args position: variant
    `bucket_index * positions + min(position, positions - 1)`. Items, hash ids, weights
    and `aux` (straw lengths, list sums) of all variants sit in flat arrays at `var_off`;
    `bucket_off` is each bucket's own segment (its items in order, its own ids), which
    the permutation, list and tree choices use. Tree node weights are in `nodes`.
    """

    max_devices: int
    max_buckets: int
    positions: int
    bucket_type: I32
    bucket_size: I32
    bucket_exists: Bools
    bucket_uniform: Bools
    bucket_off: I64
    node_off: I64
    node_count: I64
    var_kind: npt.NDArray[np.int8]
    var_off: I64
    items: I32
    ids: U32
    weights: I64
    aux: I64
    nodes: I64


def _compile(cmap: CrushMap, args: dict[int, ChooseArg] | None) -> _Plan:
    nb = max(cmap.max_buckets, max((-1 - b for b in cmap.buckets), default=-1) + 1)
    positions = 1
    if args:
        positions = max([1, *(len(a.weight_set) for a in args.values())])
    bucket_type = np.full(nb, -1, dtype=np.int32)
    bucket_size = np.zeros(nb, dtype=np.int32)
    bucket_exists = np.zeros(nb, dtype=bool)
    bucket_uniform = np.zeros(nb, dtype=bool)
    bucket_off = np.zeros(nb, dtype=np.int64)
    node_off = np.zeros(nb, dtype=np.int64)
    node_count = np.zeros(nb, dtype=np.int64)
    var_kind = np.full(nb * positions, _K_SCALAR, dtype=np.int8)
    var_off = np.zeros(nb * positions, dtype=np.int64)
    items: list[int] = []
    ids: list[int] = []
    weights: list[int] = []
    aux: list[int] = []
    nodes: list[int] = []

    def segment(hash_ids: list[int], item_weights: list[int], extra: list[int]) -> int:
        off = len(items)
        items.extend(bucket.items)
        ids.extend(i & 0xFFFFFFFF for i in hash_ids)
        weights.extend(item_weights)
        aux.extend(extra or [0] * bucket.size)
        return off

    for bid, bucket in cmap.buckets.items():
        b = -1 - bid
        bucket_type[b] = bucket.type_id
        bucket_size[b] = bucket.size
        bucket_exists[b] = True
        bucket_uniform[b] = bucket.alg == BucketAlg.UNIFORM
        extra = bucket.straws if bucket.alg == BucketAlg.STRAW else bucket.sum_weights
        bucket_off[b] = segment(bucket.items, bucket.item_weights, extra)
        node_off[b] = len(nodes)
        node_count[b] = len(bucket.node_weights)
        nodes.extend(bucket.node_weights)
        kind = _KIND_OF_ALG.get(bucket.alg, _K_SCALAR)
        if bucket.hash != HASH_RJENKINS1:
            kind = _K_SCALAR
        rows = slice(b * positions, (b + 1) * positions)
        var_kind[rows] = kind
        var_off[rows] = bucket_off[b]
        arg = args.get(bid) if args else None
        if kind != _K_STRAW2 or arg is None:
            continue
        # A weight set's last position serves every later one; only straw2 reads them.
        hash_ids = arg.ids if arg.ids is not None else bucket.items
        sets = arg.weight_set or [bucket.item_weights]
        offs = [segment(hash_ids, list(ws), []) for ws in sets]
        for pos in range(positions):
            var_off[b * positions + pos] = offs[min(pos, len(offs) - 1)]
    return _Plan(
        max_devices=cmap.max_devices,
        max_buckets=cmap.max_buckets,
        positions=positions,
        bucket_type=bucket_type,
        bucket_size=bucket_size,
        bucket_exists=bucket_exists,
        bucket_uniform=bucket_uniform,
        bucket_off=bucket_off,
        node_off=node_off,
        node_count=node_count,
        var_kind=var_kind,
        var_off=var_off,
        items=np.array(items, dtype=np.int32),
        ids=np.array(ids, dtype=np.uint32),
        weights=np.array(weights, dtype=np.int64),
        aux=np.array(aux, dtype=np.int64),
        nodes=np.array(nodes, dtype=np.int64),
    )


# -- the mapper -------------------------------------------------------------------------------


class BatchMapper:
    """A map (and weight set) compiled for vectorised placement; reusable across calls.

    `choose_args_key` selects a weight set as `mapper.do_rule` does: that key's set, else
    the compat set (-1), else the plain bucket weights; None uses no weight set.
    """

    def __init__(self, cmap: CrushMap, choose_args_key: int | None = None) -> None:
        self.cmap = cmap
        self.choose_args_key = choose_args_key
        key = mapper.resolve_choose_args(cmap, choose_args_key)
        self._plan = _compile(cmap, cmap.choose_args[key] if key is not None else None)

    def map(
        self,
        ruleno: int,
        xs: npt.ArrayLike,
        result_max: int,
        weights: Sequence[int] | npt.NDArray[np.integer],
    ) -> tuple[I32, I32]:
        """Map every x; returns (results, lengths).

        `results[i, :lengths[i]]` is `do_rule(cmap, ruleno, xs[i], result_max, weights)`;
        the rest of each row is CRUSH_ITEM_NONE. `weights` is the 16.16 device weight
        vector (reweights), indexed by device id.
        """
        x = np.asarray(xs).astype(np.int64).astype(np.uint32)
        wvec = np.asarray(weights, dtype=np.int64)
        results = np.full((x.size, max(result_max, 0)), ITEM_NONE, dtype=np.int32)
        lengths = np.zeros(x.size, dtype=np.int32)
        wlist: list[int] | None = None
        # Chunks bound the per-input state (a few hundred bytes per input) for huge batches.
        for lo in range(0, x.size, _LANES):
            hi = min(lo + _LANES, x.size)
            run = _Run(self._plan, x[lo:hi], wvec)
            results[lo:hi], lengths[lo:hi] = run.do_rule(self.cmap, ruleno, result_max)
            for lane in np.flatnonzero(run.fallback) + lo:
                if wlist is None:
                    wlist = [int(w) for w in wvec]
                got = mapper.do_rule(
                    self.cmap, ruleno, int(x[lane]), result_max, wlist, self.choose_args_key
                )
                results[lane] = ITEM_NONE
                results[lane, : len(got)] = got
                lengths[lane] = len(got)
        return results, lengths


def map_batch(
    cmap: CrushMap,
    ruleno: int,
    xs: npt.ArrayLike,
    result_max: int,
    weights: Sequence[int] | npt.NDArray[np.integer],
    choose_args_key: int | None = None,
) -> I32:
    """`do_rule` for every x at once: an int32 array of shape (len(xs), result_max).

    Row i holds the mapping of xs[i]; positions past its length are CRUSH_ITEM_NONE.
    A firstn rule that finds fewer items than asked gives a shorter mapping; use
    `map_batch_with_lengths` (or `BatchMapper`) to tell those apart from indep holes.
    """
    return BatchMapper(cmap, choose_args_key).map(ruleno, xs, result_max, weights)[0]


def map_batch_with_lengths(
    cmap: CrushMap,
    ruleno: int,
    xs: npt.ArrayLike,
    result_max: int,
    weights: Sequence[int] | npt.NDArray[np.integer],
    choose_args_key: int | None = None,
) -> tuple[I32, I32]:
    """`map_batch` plus the length of every mapping (`len(do_rule(...))`)."""
    return BatchMapper(cmap, choose_args_key).map(ruleno, xs, result_max, weights)


class _Run:
    """One batch going through one rule: the inputs, the weight vector and the scratch."""

    def __init__(self, plan: _Plan, x: U32, weights: I64) -> None:
        self.plan = plan
        self.x = x
        self.weights = weights
        self.fallback = np.zeros(x.size, dtype=bool)

    # -- crush_do_rule ------------------------------------------------------------------------

    def do_rule(self, cmap: CrushMap, ruleno: int, result_max: int) -> tuple[I32, I32]:
        n = self.x.size
        plan = self.plan
        result = np.full((n, max(result_max, 0)), ITEM_NONE, dtype=np.int32)
        rlen = np.zeros(n, dtype=np.int32)
        rule = cmap.rules.get(ruleno)
        if rule is None or result_max <= 0:
            return result, rlen
        cap = result_max
        w = np.full((n, cap), ITEM_NONE, dtype=np.int32)
        o = np.full((n, cap), ITEM_NONE, dtype=np.int32)
        c = np.full((n, cap), ITEM_NONE, dtype=np.int32)
        wsize = np.zeros(n, dtype=np.int32)
        t = cmap.tunables
        choose_tries = t.choose_total_tries + 1
        choose_leaf_tries = 0
        local_retries = t.choose_local_tries
        local_fallback = t.choose_local_fallback_tries
        vary_r = t.chooseleaf_vary_r
        stable = t.chooseleaf_stable
        for step in rule.steps:
            op, arg1, arg2 = step.op, step.arg1, step.arg2
            if op == Op.TAKE:
                b = -1 - arg1
                if (0 <= arg1 < plan.max_devices) or (
                    0 <= b < plan.max_buckets and plan.bucket_exists[b]
                ):
                    w[:, 0] = arg1
                    wsize[:] = 1
            elif op == Op.SET_CHOOSE_TRIES:
                if arg1 > 0:
                    choose_tries = arg1
            elif op == Op.SET_CHOOSELEAF_TRIES:
                if arg1 > 0:
                    choose_leaf_tries = arg1
            elif op == Op.SET_CHOOSE_LOCAL_TRIES:
                if arg1 >= 0:
                    local_retries = arg1
            elif op == Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES:
                if arg1 >= 0:
                    local_fallback = arg1
            elif op == Op.SET_CHOOSELEAF_VARY_R:
                if arg1 >= 0:
                    vary_r = arg1
            elif op == Op.SET_CHOOSELEAF_STABLE:
                if arg1 >= 0:
                    stable = arg1
            elif op in (
                Op.CHOOSE_FIRSTN,
                Op.CHOOSELEAF_FIRSTN,
                Op.CHOOSE_INDEP,
                Op.CHOOSELEAF_INDEP,
            ):
                firstn = op in (Op.CHOOSE_FIRSTN, Op.CHOOSELEAF_FIRSTN)
                leaf = op in (Op.CHOOSELEAF_FIRSTN, Op.CHOOSELEAF_INDEP)
                osize = np.zeros(n, dtype=np.int32)
                numrep = arg1 if arg1 > 0 else arg1 + result_max
                for i in range(int(wsize.max(initial=0)) if numrep > 0 else 0):
                    bno = -1 - w[:, i].astype(np.int64)
                    ok = (i < wsize) & (bno >= 0) & (bno < plan.max_buckets)
                    lanes = np.flatnonzero(ok)
                    missing = ~plan.bucket_exists[bno[lanes]]
                    self.fallback[lanes[missing]] = True
                    lanes = lanes[~missing & ~self.fallback[lanes]]
                    if not lanes.size:
                        continue
                    start = bno[lanes]
                    base = osize[lanes].astype(np.int64)
                    if firstn:
                        if choose_leaf_tries:
                            recurse_tries = choose_leaf_tries
                        elif t.chooseleaf_descend_once:
                            recurse_tries = 1
                        else:
                            recurse_tries = choose_tries
                        got = self._firstn(
                            lanes,
                            start,
                            np.full(lanes.size, numrep),
                            arg2,
                            o,
                            base,
                            np.zeros(lanes.size, dtype=np.int64),
                            result_max - base,
                            choose_tries,
                            recurse_tries,
                            local_retries,
                            local_fallback,
                            leaf,
                            vary_r,
                            stable,
                            c,
                            np.zeros(lanes.size, dtype=np.int64),
                        )
                        osize[lanes] += got.astype(np.int32)
                    else:
                        out_size = np.minimum(numrep, result_max - base)
                        self._indep(
                            lanes,
                            start,
                            out_size,
                            numrep,
                            arg2,
                            o,
                            base,
                            0,
                            choose_tries,
                            choose_leaf_tries or 1,
                            leaf,
                            c,
                            np.zeros(lanes.size, dtype=np.int64),
                        )
                        osize[lanes] += out_size.astype(np.int32)
                if leaf:
                    np.copyto(o, c)
                w, o = o, w
                wsize = osize
            elif op == Op.EMIT:
                for i in range(int(wsize.max(initial=0))):
                    m = np.flatnonzero((i < wsize) & (rlen < result_max))
                    result[m, rlen[m]] = w[m, i]
                    rlen[m] += 1
                wsize = np.zeros(n, dtype=np.int32)
        return result, rlen

    # -- bucket choice ------------------------------------------------------------------------

    def _choose(self, lanes: npt.NDArray[np.intp], bucket: I64, r: I64, position: I64 | int) -> I64:
        """crush_bucket_choose for each lane: item of `bucket` for (x, r, position).

        Lanes in buckets not vectorised are flagged for the scalar mapper; their item is
        ITEM_NONE.
        """
        plan = self.plan
        var = bucket * plan.positions + np.minimum(position, plan.positions - 1)
        kind = plan.var_kind[var]
        size = plan.bucket_size[bucket]
        items = np.full(lanes.size, ITEM_NONE, dtype=np.int64)
        scalar = kind == _K_SCALAR
        if scalar.any():
            self.fallback[lanes[scalar]] = True
        key = kind.astype(np.int64) * (1 << 32) + size
        groups = np.unique(key[~scalar])
        for g in groups:
            sel = slice(None) if groups.size == 1 and not scalar.any() else np.flatnonzero(key == g)
            k, sz = int(g >> 32), int(g & 0xFFFFFFFF)
            x = self.x[lanes[sel]]
            rr = r[sel]
            if k == _K_UNIFORM:
                items[sel] = self._perm_kernel(sz, x, rr, bucket[sel])
            elif k == _K_LIST:
                items[sel] = self._list_kernel(sz, x, rr, bucket[sel])
            elif k == _K_TREE:
                items[sel] = self._tree_kernel(x, rr, bucket[sel])
            else:
                items[sel] = self._straw_kernel(k, sz, x, rr, plan.var_off[var[sel]])
        return items

    def _perm(self, lanes: npt.NDArray[np.intp], bucket: I64, r: I64) -> I64:
        """bucket_perm_choose for each lane (legacy fallback after many local retries)."""
        items = np.empty(lanes.size, dtype=np.int64)
        size = self.plan.bucket_size[bucket]
        for sz in np.unique(size):
            sel = np.flatnonzero(size == sz)
            items[sel] = self._perm_kernel(int(sz), self.x[lanes[sel]], r[sel], bucket[sel])
        return items

    def _straw_kernel(self, kind: int, size: int, x: U32, r: I64, off: I64) -> I64:
        """straw2 / straw: the first item with the highest draw, per (x, r)."""
        plan = self.plan
        cols = np.arange(size, dtype=np.int64)
        out = np.empty(x.size, dtype=np.int64)
        step = max(1, _CHUNK // size)
        ru = r.astype(np.uint32)
        for lo in range(0, x.size, step):
            hi = min(lo + step, x.size)
            flat = (off[lo:hi, None] + cols).ravel()
            h = _hash3_inplace(
                np.repeat(x[lo:hi], size), plan.ids[flat], np.repeat(ru[lo:hi], size)
            )
            h &= np.uint32(0xFFFF)
            if kind == _K_STRAW2:
                wt = plan.weights[flat]
                draw = _neg_ln_table()[h] // np.maximum(wt, 1)
                np.negative(draw, out=draw)
                draw[wt == 0] = _S64_MIN
                win = draw.reshape(hi - lo, size).argmax(axis=1)
            else:
                draw_u = h.astype(np.uint64) * plan.aux[flat].astype(np.uint64)
                win = draw_u.reshape(hi - lo, size).argmax(axis=1)
            out[lo:hi] = plan.items[off[lo:hi] + win]
        return out

    def _perm_kernel(self, size: int, x: U32, r: I64, bucket: I64) -> I64:
        """Entry r mod size of each (bucket, x)'s permutation (bucket_perm_choose).

        Ceph caches the permutation per call, computing a prefix lazily, but the entries
        are a pure function of (bucket, x), so building each prefix afresh is identical.
        """
        plan = self.plan
        m = x.size
        pr = r % size
        perm = np.tile(np.arange(size, dtype=np.int64), (m, 1))
        rows = np.arange(m)
        bid = (-1 - bucket).astype(np.uint32)
        for p in range(min(int(pr.max(initial=0)) + 1, size - 1)):
            i = _hash3_inplace(x.copy(), bid.copy(), np.full(m, p, dtype=np.uint32))
            j = p + (i % np.uint32(size - p)).astype(np.int64)
            swapped = perm[rows, j]
            perm[rows, j] = perm[:, p]
            perm[:, p] = swapped
        return plan.items[plan.bucket_off[bucket] + perm[rows, pr]].astype(np.int64)

    def _list_kernel(self, size: int, x: U32, r: I64, bucket: I64) -> I64:
        """bucket_list_choose: the last item (from the tail) whose draw is under its weight."""
        plan = self.plan
        m = x.size
        flat = (plan.bucket_off[bucket][:, None] + np.arange(size)).ravel()
        h = _hash4_inplace(
            np.repeat(x, size),
            plan.items[flat].astype(np.uint32),
            np.repeat(r.astype(np.uint32), size),
            np.repeat((-1 - bucket).astype(np.uint32), size),
        )
        draw = ((h & np.uint32(0xFFFF)).astype(np.int64) * plan.aux[flat]) >> 16
        under = (draw < plan.weights[flat]).reshape(m, size)[:, ::-1]
        last = size - 1 - under.argmax(axis=1)
        win = np.where(under.any(axis=1), last, 0)
        return plan.items[plan.bucket_off[bucket] + win].astype(np.int64)

    def _tree_kernel(self, x: U32, r: I64, bucket: I64) -> I64:
        """bucket_tree_choose: weighted coin flips from the root node down to a leaf."""
        plan = self.plan
        base = plan.node_off[bucket]
        n = plan.node_count[bucket] >> 1
        ru = r.astype(np.uint32)
        bid = (-1 - bucket).astype(np.uint32)
        inner = np.flatnonzero((n & 1) == 0)
        while inner.size:
            ni = n[inner]
            h = _hash4_inplace(x[inner], ni.astype(np.uint32), ru[inner], bid[inner])
            t = (h.astype(np.uint64) * plan.nodes[base[inner] + ni].astype(np.uint64)) >> 32
            half = (ni & -ni) >> 1
            left = ni - half
            n[inner] = np.where(
                t < plan.nodes[base[inner] + left].astype(np.uint64), left, ni + half
            )
            inner = inner[(n[inner] & 1) == 0]
        leaf = n >> 1
        inside = leaf < plan.bucket_size[bucket]
        found = plan.items[plan.bucket_off[bucket] + np.where(inside, leaf, 0)].astype(np.int64)
        return np.where(inside, found, ITEM_NONE)

    def _bucket_refs(
        self, lane: npt.NDArray[np.intp], item: I64, isb: Bools
    ) -> tuple[I64, I64, Bools]:
        """Bucket index and type of each bucket item; flags ids with no bucket behind them.

        Ceph would read past its bucket array for those, so they go to the scalar mapper.
        """
        plan = self.plan
        nb = plan.bucket_exists.size
        bidx = np.where(isb, -1 - item, 0)
        inside = bidx < min(plan.max_buckets, nb)
        safe = np.where(inside, bidx, 0)
        dangling = isb & ~(inside & plan.bucket_exists[safe])
        if dangling.any():
            self.fallback[lane[dangling]] = True
        itype = np.where(isb & ~dangling, plan.bucket_type[safe], 0).astype(np.int64)
        return bidx, itype, dangling

    def _is_out(self, lanes: npt.NDArray[np.intp], item: I64) -> Bools:
        """is_out(): the device is out for this x by the weight vector."""
        wmax = self.weights.size
        known = item < wmax
        wt = np.zeros(item.size, dtype=np.int64)
        wt[known] = self.weights[item[known]]
        out = wt < WEIGHT_ONE
        partial = np.flatnonzero(out & (wt > 0))
        if partial.size:
            h = _hash2_inplace(self.x[lanes[partial]].copy(), item[partial].astype(np.uint32))
            out[partial] = (h & 0xFFFF).astype(np.int64) >= wt[partial]
        return out

    # -- crush_choose_firstn ------------------------------------------------------------------

    def _firstn(
        self,
        lanes: npt.NDArray[np.intp],
        start: I64,
        numrep: I64,
        type_: int,
        out: I32,
        base: I64,
        outpos0: I64,
        count0: I64,
        tries: int,
        recurse_tries: int,
        local_retries: int,
        local_fallback: int,
        leaf: bool,
        vary_r: int,
        stable: int,
        out2: I32 | None,
        parent_r: I64,
    ) -> I64:
        """crush_choose_firstn for each lane; returns each lane's final outpos.

        `out[lane, base + k]` is position k of the lane's output vector.
        """
        plan = self.plan
        m = lanes.size
        outpos = outpos0.copy()
        count = count0.copy()
        rep = np.zeros(m, dtype=np.int64) if stable else outpos.copy()
        ftotal = np.zeros(m, dtype=np.int64)
        flocal = np.zeros(m, dtype=np.int64)
        cur = start.copy()
        cap = out.shape[1]
        cols = np.arange(cap)
        act = np.flatnonzero((rep < numrep) & (count > 0))
        while act.size:
            act = act[~self.fallback[lanes[act]]]
            lane = lanes[act]
            bkt = cur[act]
            size = plan.bucket_size[bkt].astype(np.int64)
            r = rep[act] + parent_r[act] + ftotal[act]
            empty = size == 0
            item = np.full(act.size, ITEM_NONE, dtype=np.int64)
            # Legacy tunables: after many local failures, a weight-blind permutation.
            perm = ~empty & (local_fallback > 0)
            perm &= (flocal[act] >= (size >> 1)) & (flocal[act] > local_fallback)
            go = np.flatnonzero(~empty & ~perm)
            item[go] = self._choose(lane[go], bkt[go], r[go], outpos[act[go]])
            by_perm = np.flatnonzero(perm)
            if by_perm.size:
                item[by_perm] = self._perm(lane[by_perm], bkt[by_perm], r[by_perm])
            keep = ~self.fallback[lane]
            act, lane, bkt, size, r, empty, item = (
                v[keep] for v in (act, lane, bkt, size, r, empty, item)
            )
            bad = ~empty & (item >= plan.max_devices)
            isb = ~empty & (item < 0)
            bidx, itype, dangling = self._bucket_refs(lane, item, isb)
            isb &= ~dangling
            chosen = ~empty & ~bad & ~dangling
            descend = chosen & (itype != type_) & isb
            bad |= chosen & (itype != type_) & ~isb
            hit = chosen & (itype == type_)
            cur[act[descend]] = bidx[descend]

            collide = np.zeros(act.size, dtype=bool)
            reject = empty.copy()
            h = np.flatnonzero(hit)
            if h.size:
                hp = outpos[act[h]]
                hb = base[act[h]]
                idx = np.minimum(hb[:, None] + cols, cap - 1)
                prev = np.take_along_axis(out[lane[h]], idx, axis=1)
                collide[h] = ((prev == item[h, None]) & (cols < hp[:, None])).any(axis=1)
                if leaf and out2 is not None:
                    sub = h[~collide[h] & (item[h] < 0)]
                    if sub.size:
                        sa = act[sub]
                        sub_r = r[sub] >> (vary_r - 1) if vary_r else np.zeros(sub.size, np.int64)
                        got = self._firstn(
                            lanes[sa],
                            bidx[sub],
                            np.ones(sub.size, np.int64) if stable else outpos[sa] + 1,
                            0,
                            out2,
                            base[sa],
                            outpos[sa],
                            count[sa],
                            recurse_tries,
                            0,
                            local_retries,
                            local_fallback,
                            False,
                            vary_r,
                            stable,
                            None,
                            sub_r,
                        )
                        reject[sub] = got <= outpos[sa]
                    dev = h[~collide[h] & (item[h] >= 0)]
                    out2[lane[dev], base[act[dev]] + outpos[act[dev]]] = item[dev]
                chk = h[~reject[h] & ~collide[h] & (itype[h] == 0)]
                reject[chk] = self._is_out(lane[chk], item[chk])

            fail = (hit | empty) & (reject | collide)
            fa = act[fail]
            ftotal[fa] += 1
            flocal[fa] += 1
            fl = flocal[act]
            retry_bucket = fail & (
                (collide & (fl <= local_retries))
                | ((local_fallback > 0) & (fl <= size + local_fallback))
            )
            retry_descent = fail & ~retry_bucket & (ftotal[act] < tries)
            skip = bad | (fail & ~retry_bucket & ~retry_descent)
            rd = act[retry_descent]
            cur[rd] = start[rd]
            flocal[rd] = 0

            ok = np.flatnonzero(hit & ~fail)
            oa = act[ok]
            out[lane[ok], base[oa] + outpos[oa]] = item[ok]
            outpos[oa] += 1
            count[oa] -= 1

            nxt = act[skip | (hit & ~fail)]
            rep[nxt] += 1
            ftotal[nxt] = 0
            flocal[nxt] = 0
            cur[nxt] = start[nxt]
            more = (rep[act] < numrep[act]) & (count[act] > 0)
            act = act[descend | retry_bucket | retry_descent | ((skip | (hit & ~fail)) & more)]
        return outpos

    # -- crush_choose_indep -------------------------------------------------------------------

    def _indep(
        self,
        lanes: npt.NDArray[np.intp],
        start: I64,
        left: I64,
        numrep: int,
        type_: int,
        out: I32,
        base: I64,
        outpos: int,
        tries: int,
        recurse_tries: int,
        leaf: bool,
        out2: I32 | None,
        parent_r: I64,
    ) -> None:
        """crush_choose_indep for each lane: fills positions [outpos, outpos + left)."""
        plan = self.plan
        endpos = outpos + left
        last = int(endpos.max(initial=outpos))
        for rep in range(outpos, last):
            m = np.flatnonzero(rep < endpos)
            out[lanes[m], base[m] + rep] = ITEM_UNDEF
            if out2 is not None:
                out2[lanes[m], base[m] + rep] = ITEM_UNDEF
        cap = out.shape[1]
        cols = np.arange(cap)
        for ftotal in range(tries):
            pending = False
            for rep in range(outpos, last):
                inside = rep < endpos
                slot = np.minimum(base + rep, cap - 1)
                act = np.flatnonzero(
                    inside & (out[lanes, slot] == ITEM_UNDEF) & ~self.fallback[lanes]
                )
                if not act.size:
                    continue
                pending = True
                cur = start[act]
                while act.size:
                    lane = lanes[act]
                    size = plan.bucket_size[cur]
                    live = size > 0
                    act, cur, lane, size = act[live], cur[live], lane[live], size[live]
                    # Uniform buckets whose size numrep divides step r by numrep + 1.
                    wide = plan.bucket_uniform[cur] & (size % numrep == 0)
                    r = rep + parent_r[act] + np.where(wide, numrep + 1, numrep) * ftotal
                    item = self._choose(lane, cur, r, outpos)
                    keep = ~self.fallback[lane]
                    act, cur, lane, item, r = (v[keep] for v in (act, cur, lane, item, r))
                    bad = item >= plan.max_devices
                    isb = item < 0
                    bidx, itype, dangling = self._bucket_refs(lane, item, isb)
                    isb &= ~dangling
                    bad |= ~dangling & (itype != type_) & ~isb
                    descend = (itype != type_) & isb
                    hit = np.flatnonzero(~bad & ~dangling & (itype == type_))
                    ba = act[bad]
                    out[lanes[ba], base[ba] + rep] = ITEM_NONE
                    if out2 is not None:
                        out2[lanes[ba], base[ba] + rep] = ITEM_NONE
                    if hit.size:
                        self._indep_hit(
                            lanes,
                            act[hit],
                            item[hit],
                            bidx[hit],
                            itype[hit],
                            type_,
                            out,
                            base,
                            outpos,
                            endpos,
                            cols,
                            rep,
                            r[hit],
                            numrep,
                            recurse_tries,
                            leaf,
                            out2,
                        )
                    act, cur = act[descend], bidx[descend]
            if not pending:
                break
        for rep in range(outpos, last):
            m = np.flatnonzero(rep < endpos)
            for vec in (out, out2):
                if vec is None:
                    continue
                slots = vec[lanes[m], base[m] + rep]
                undef = m[slots == ITEM_UNDEF]
                vec[lanes[undef], base[undef] + rep] = ITEM_NONE

    def _indep_hit(
        self,
        lanes: npt.NDArray[np.intp],
        act: npt.NDArray[np.intp],
        item: I64,
        bidx: I64,
        itype: I64,
        type_: int,
        out: I32,
        base: I64,
        outpos: int,
        endpos: I64,
        cols: npt.NDArray[np.intp],
        rep: int,
        r: I64,
        numrep: int,
        recurse_tries: int,
        leaf: bool,
        out2: I32 | None,
    ) -> None:
        """The end of one indep descent: collision, leaf recursion, is_out, placement."""
        cap = out.shape[1]
        lane = lanes[act]
        idx = np.minimum(base[act, None] + cols, cap - 1)
        prev = np.take_along_axis(out[lane], idx, axis=1)
        span = (cols >= outpos) & (cols < endpos[act, None])
        collide = ((prev == item[:, None]) & span).any(axis=1)
        ok = ~collide
        if leaf and out2 is not None:
            sub = np.flatnonzero(ok & (item < 0))
            if sub.size:
                sa = act[sub]
                self._indep(
                    lanes[sa],
                    bidx[sub],
                    np.ones(sub.size, np.int64),
                    numrep,
                    0,
                    out2,
                    base[sa],
                    rep,
                    recurse_tries,
                    0,
                    False,
                    None,
                    r[sub],
                )
                ok[sub] = out2[lane[sub], base[sa] + rep] != ITEM_NONE
                ok[sub] &= ~self.fallback[lane[sub]]
            dev = np.flatnonzero(ok & (item >= 0))
            out2[lane[dev], base[act[dev]] + rep] = item[dev]
        chk = np.flatnonzero(ok & (itype == 0))
        ok[chk] = ~self._is_out(lane[chk], item[chk])
        done = np.flatnonzero(ok)
        out[lane[done], base[act[done]] + rep] = item[done]
