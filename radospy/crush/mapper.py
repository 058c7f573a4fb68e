"""`crush_do_rule`: run a placement rule for one input, bit-exact with Ceph's mapper.c.

`do_rule(cmap, ruleno, x, result_max, weights, choose_args_key)` returns the items the
rule emits (devices for a normal rule; `ITEM_NONE` holes for `indep` positions that
could not be filled).

Speed: the first mapping with a map (and choose_args key) builds immutable per-bucket
`Chooser`s and caches them, keyed by the map object's identity (a weak reference
drops the entry when the map is collected). The cache does not watch the map: after
changing a map in place that has been used for mapping, call `invalidate(cmap)`.
Maps that are rebuilt or decoded per epoch need nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from radospy.crush.buckets import Chooser, Work, make_chooser, perm_choose
from radospy.crush.hash import rjenkins1_2
from radospy.crush.map import (
    DEFAULT_CHOOSE_ARGS,
    ITEM_NONE,
    ITEM_UNDEF,
    BucketAlg,
    CrushMap,
    Op,
    Tunables,
)

# -- prepared maps ------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedMap:
    """The choosers of every bucket of a map under one choose_args set."""

    choosers: dict[int, Chooser]
    max_devices: int
    max_buckets: int


_CACHE: dict[int, tuple[weakref.ref[CrushMap], dict[int | None, PreparedMap]]] = {}


def resolve_choose_args(cmap: CrushMap, key: int | None) -> int | None:
    """The choose_args set a mapping with `key` uses: `key` itself if the map has it,
    else the compat set (-1) if present, else none (Ceph's choose_args_get_with_fallback).
    """
    if key is None:
        return None
    if key in cmap.choose_args:
        return key
    return DEFAULT_CHOOSE_ARGS if DEFAULT_CHOOSE_ARGS in cmap.choose_args else None


def prepare(cmap: CrushMap, choose_args_key: int | None = None) -> PreparedMap:
    """The (cached) prepared form of `cmap` for `choose_args_key` (resolved with fallback)."""
    key = resolve_choose_args(cmap, choose_args_key)
    entry = _CACHE.get(id(cmap))
    if entry is None or entry[0]() is not cmap:
        map_id = id(cmap)
        entry = (weakref.ref(cmap, lambda _ref: _CACHE.pop(map_id, None)), {})
        _CACHE[map_id] = entry
    prepared = entry[1].get(key)
    if prepared is None:
        prepared = entry[1][key] = _build(cmap, key)
    return prepared


def invalidate(cmap: CrushMap) -> None:
    """Forget the prepared form of `cmap`; needed after changing a map in place."""
    _CACHE.pop(id(cmap), None)


def _build(cmap: CrushMap, key: int | None) -> PreparedMap:
    args = cmap.choose_args.get(key, {}) if key is not None else {}
    choosers = {bid: make_chooser(b, args.get(bid)) for bid, b in cmap.buckets.items()}
    return PreparedMap(choosers, cmap.max_devices, cmap.max_buckets)


# -- one rule run ---------------------------------------------------------------------------


class _Run:
    """State shared by every choose step of one `do_rule` call."""

    __slots__ = (
        "choosers",
        "max_buckets",
        "max_devices",
        "profile",
        "total_tries",
        "weight_max",
        "weights",
        "work",
        "x",
    )

    def __init__(
        self,
        prepared: PreparedMap,
        x: int,
        weights: Sequence[int],
        profile: list[int] | None,
        total_tries: int,
    ) -> None:
        self.profile = profile
        self.total_tries = total_tries
        self.choosers = prepared.choosers
        self.max_devices = prepared.max_devices
        self.max_buckets = prepared.max_buckets
        self.x = x
        self.weights = weights
        self.weight_max = len(weights)
        self.work: Work = {}

    def is_out(self, item: int) -> bool:
        """Whether device `item` is rejected: weight 0 (or beyond the vector) is out,
        >= 1.0 is in, anything between is a coin flip on hash(x, item)."""
        if item >= self.weight_max:
            return True
        w = self.weights[item]
        if w >= 0x10000:
            return False
        if w == 0:
            return True
        return (rjenkins1_2(self.x, item) & 0xFFFF) >= w

    def count_tries(self, ftotal: int) -> None:
        """Record how many retries a choice took (crushtool's --show-choose-tries)."""
        profile = self.profile
        if profile is not None and ftotal <= self.total_tries and ftotal < len(profile):
            profile[ftotal] += 1

    def bucket_of(self, item: int) -> Chooser | None:
        """The bucket an item id names, None for devices and ids beyond the map."""
        if item >= 0 or -1 - item >= self.max_buckets:
            return None
        return self.choosers.get(item)

    def choose_firstn(
        self,
        bucket: Chooser,
        numrep: int,
        type_id: int,
        out: list[int],
        outpos: int,
        count: int,
        tries: int,
        recurse_tries: int,
        local_retries: int,
        local_fallback_retries: int,
        recurse_to_leaf: bool,
        vary_r: int,
        stable: int,
        out2: list[int] | None,
        parent_r: int,
    ) -> int:
        """`crush_choose_firstn`: fill out[outpos:] with up to numrep distinct items of
        `type_id` (plus a leaf each in out2 for chooseleaf); returns the new outpos."""
        x = self.x
        work = self.work
        rep = 0 if stable else outpos
        while rep < numrep and count > 0:
            ftotal = 0
            skip_rep = False
            item = 0
            retry_descent = True
            while retry_descent:
                retry_descent = False
                current = bucket
                flocal = 0
                retry_bucket = True
                while retry_bucket:
                    retry_bucket = False
                    collide = False
                    r = rep + parent_r + ftotal
                    if current.size == 0:
                        reject = True
                    else:
                        if (
                            local_fallback_retries > 0
                            and flocal >= current.size >> 1
                            and flocal > local_fallback_retries
                        ):
                            item = perm_choose(current, work, x, r)
                        else:
                            item = current.choose(x, r, outpos, work)
                        if item >= self.max_devices:
                            skip_rep = True
                            break
                        child = self.bucket_of(item)
                        if item < 0 and child is None:
                            skip_rep = True
                            break
                        itemtype = child.type if child is not None else 0
                        if itemtype != type_id:
                            if child is None:
                                skip_rep = True
                                break
                            current = child
                            retry_bucket = True
                            continue
                        collide = item in out[:outpos]
                        reject = False
                        if not collide and recurse_to_leaf:
                            assert out2 is not None
                            if child is not None:
                                sub_r = r >> (vary_r - 1) if vary_r else 0
                                got = self.choose_firstn(
                                    child,
                                    1 if stable else outpos + 1,
                                    0,
                                    out2,
                                    outpos,
                                    count,
                                    recurse_tries,
                                    0,
                                    local_retries,
                                    local_fallback_retries,
                                    False,
                                    vary_r,
                                    stable,
                                    None,
                                    sub_r,
                                )
                                reject = got <= outpos
                            else:
                                out2[outpos] = item
                        if not reject and not collide and itemtype == 0:
                            reject = self.is_out(item)
                    if reject or collide:
                        ftotal += 1
                        flocal += 1
                        # A collision retries the same bucket a few times; the
                        # legacy fallback then keeps searching it exhaustively;
                        # otherwise restart the descent from the top.
                        local_retry = collide and flocal <= local_retries
                        exhaustive = (
                            local_fallback_retries > 0
                            and flocal <= current.size + local_fallback_retries
                        )
                        if local_retry or exhaustive:
                            retry_bucket = True
                        elif ftotal < tries:
                            retry_descent = True
                        else:
                            skip_rep = True
            if not skip_rep:
                out[outpos] = item
                outpos += 1
                count -= 1
                self.count_tries(ftotal)
            rep += 1
        return outpos

    def choose_indep(
        self,
        bucket: Chooser,
        left: int,
        numrep: int,
        type_id: int,
        out: list[int],
        outpos: int,
        tries: int,
        recurse_tries: int,
        recurse_to_leaf: bool,
        out2: list[int] | None,
        parent_r: int,
    ) -> None:
        """`crush_choose_indep`: fill out[outpos:outpos+left] position by position; a
        position keeps its item across retries of the others, unfillable ones get
        ITEM_NONE."""
        x = self.x
        work = self.work
        endpos = outpos + left
        for rep in range(outpos, endpos):
            out[rep] = ITEM_UNDEF
            if out2 is not None:
                out2[rep] = ITEM_UNDEF
        ftotal = 0
        while left > 0 and ftotal < tries:
            for rep in range(outpos, endpos):
                if out[rep] != ITEM_UNDEF:
                    continue
                current = bucket
                while True:
                    r = rep + parent_r
                    # Uniform buckets whose size is a multiple of numrep would cycle
                    # through the same items, so they step by numrep + 1.
                    if current.alg == BucketAlg.UNIFORM and current.size % numrep == 0:
                        r += (numrep + 1) * ftotal
                    else:
                        r += numrep * ftotal
                    if current.size == 0:
                        break
                    item = current.choose(x, r, outpos, work)
                    child = self.bucket_of(item)
                    if item >= self.max_devices or (item < 0 and child is None):
                        out[rep] = ITEM_NONE
                        if out2 is not None:
                            out2[rep] = ITEM_NONE
                        left -= 1
                        break
                    itemtype = child.type if child is not None else 0
                    if itemtype != type_id:
                        if child is None:
                            out[rep] = ITEM_NONE
                            if out2 is not None:
                                out2[rep] = ITEM_NONE
                            left -= 1
                            break
                        current = child
                        continue
                    if item in out[outpos:endpos]:
                        break
                    if recurse_to_leaf:
                        assert out2 is not None
                        if child is not None:
                            self.choose_indep(
                                child, 1, numrep, 0, out2, rep, recurse_tries, 0, False, None, r
                            )
                            if out2[rep] == ITEM_NONE:
                                break
                        else:
                            out2[rep] = item
                    if itemtype == 0 and self.is_out(item):
                        break
                    out[rep] = item
                    left -= 1
                    break
            ftotal += 1
        for rep in range(outpos, endpos):
            if out[rep] == ITEM_UNDEF:
                out[rep] = ITEM_NONE
            if out2 is not None and out2[rep] == ITEM_UNDEF:
                out2[rep] = ITEM_NONE
        self.count_tries(ftotal)


# -- do_rule --------------------------------------------------------------------------------


@dataclass
class _Settings:
    """The tunables a rule's set_* steps may override for the rest of the rule."""

    choose_tries: int
    choose_leaf_tries: int
    local_retries: int
    local_fallback_retries: int
    vary_r: int
    stable: int
    descend_once: int

    @classmethod
    def from_tunables(cls, t: Tunables) -> _Settings:
        # choose_total_tries historically counted retries, not tries: hence + 1.
        return cls(
            choose_tries=t.choose_total_tries + 1,
            choose_leaf_tries=0,
            local_retries=t.choose_local_tries,
            local_fallback_retries=t.choose_local_fallback_tries,
            vary_r=t.chooseleaf_vary_r,
            stable=t.chooseleaf_stable,
            descend_once=t.chooseleaf_descend_once,
        )

    def apply(self, op: Op, arg: int) -> None:
        """A set_* step: tries only take positive values, the others non-negative."""
        if op == Op.SET_CHOOSE_TRIES and arg > 0:
            self.choose_tries = arg
        elif op == Op.SET_CHOOSELEAF_TRIES and arg > 0:
            self.choose_leaf_tries = arg
        elif op == Op.SET_CHOOSE_LOCAL_TRIES and arg >= 0:
            self.local_retries = arg
        elif op == Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES and arg >= 0:
            self.local_fallback_retries = arg
        elif op == Op.SET_CHOOSELEAF_VARY_R and arg >= 0:
            self.vary_r = arg
        elif op == Op.SET_CHOOSELEAF_STABLE and arg >= 0:
            self.stable = arg


_SET_OPS = frozenset(
    {
        Op.SET_CHOOSE_TRIES,
        Op.SET_CHOOSELEAF_TRIES,
        Op.SET_CHOOSE_LOCAL_TRIES,
        Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES,
        Op.SET_CHOOSELEAF_VARY_R,
        Op.SET_CHOOSELEAF_STABLE,
    }
)
_FIRSTN_OPS = frozenset({Op.CHOOSE_FIRSTN, Op.CHOOSELEAF_FIRSTN})
_CHOOSE_OPS = _FIRSTN_OPS | {Op.CHOOSE_INDEP, Op.CHOOSELEAF_INDEP}
_LEAF_OPS = frozenset({Op.CHOOSELEAF_FIRSTN, Op.CHOOSELEAF_INDEP})


def do_rule(
    cmap: CrushMap,
    ruleno: int,
    x: int,
    result_max: int,
    weights: Sequence[int],
    choose_args_key: int | None = None,
    choose_tries: list[int] | None = None,
) -> list[int]:
    """Map input `x` with rule `ruleno` to at most `result_max` items.

    `weights` is the per-device 16.16 in/out vector (index = device id; missing or 0
    means out, >= 0x10000 in, between a per-x coin flip). `choose_args_key` selects a
    weight set: the map's set with that key, else the compat set (-1), else none;
    `None` uses the plain bucket weights. A rule that does not exist maps to [].
    `choose_tries`, if given, is a retry histogram to add to as Ceph's choose_tries
    profile does: entry n counts choices that succeeded after n retries (firstn) or
    choose_indep calls that ran n rounds.
    """
    rule = cmap.rules.get(ruleno)
    if rule is None or result_max <= 0:
        return []
    prepared = prepare(cmap, choose_args_key)
    run = _Run(prepared, x & 0xFFFFFFFF, weights, choose_tries, cmap.tunables.choose_total_tries)
    settings = _Settings.from_tunables(cmap.tunables)
    result: list[int] = []
    w: list[int] = []
    for step in rule.steps:
        op = step.op
        if op == Op.TAKE:
            if _valid_take(prepared, step.arg1):
                w = [step.arg1]
        elif op in _SET_OPS:
            settings.apply(op, step.arg1)
        elif op in _CHOOSE_OPS:
            if w:
                w = _choose_step(run, settings, op, step.arg1, step.arg2, w, result_max)
        elif op == Op.EMIT:
            result.extend(w[: result_max - len(result)])
            w = []
    return result


def _valid_take(prepared: PreparedMap, item: int) -> bool:
    if item >= 0:
        return item < prepared.max_devices
    return -1 - item < prepared.max_buckets and item in prepared.choosers


def _choose_step(
    run: _Run,
    s: _Settings,
    op: Op,
    num: int,
    type_id: int,
    w: list[int],
    result_max: int,
) -> list[int]:
    """One choose/chooseleaf step over every item of the working vector `w`."""
    firstn = op in _FIRSTN_OPS
    recurse_to_leaf = op in _LEAF_OPS
    chosen: list[int] = []
    leaves: list[int] = []
    for start in w:
        numrep = num if num > 0 else num + result_max
        if numrep <= 0:
            continue
        bucket = run.bucket_of(start)
        if bucket is None:
            continue
        room = result_max - len(chosen)
        if firstn:
            if s.choose_leaf_tries:
                recurse_tries = s.choose_leaf_tries
            elif s.descend_once:
                recurse_tries = 1
            else:
                recurse_tries = s.choose_tries
            out = [0] * room
            out2 = [0] * room
            n = run.choose_firstn(
                bucket,
                numrep,
                type_id,
                out,
                0,
                room,
                s.choose_tries,
                recurse_tries,
                s.local_retries,
                s.local_fallback_retries,
                recurse_to_leaf,
                s.vary_r,
                s.stable,
                out2,
                0,
            )
        else:
            n = min(numrep, room)
            out = [0] * n
            out2 = [0] * n
            run.choose_indep(
                bucket,
                n,
                numrep,
                type_id,
                out,
                0,
                s.choose_tries,
                s.choose_leaf_tries or 1,
                recurse_to_leaf,
                out2,
                0,
            )
        chosen.extend(out[:n])
        leaves.extend(out2[:n])
    return leaves if recurse_to_leaf else chosen
