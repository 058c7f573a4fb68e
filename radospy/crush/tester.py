"""`crushtool --test` and `--compare`: run a map's rules over a range of inputs.

`CrushTester` mirrors Ceph's CrushTester: the same defaults (x = 0..1023, every rule,
num_rep from the rule's min_size..max_size), the same device weight vector, and the same
output lines, byte for byte. Ceph computes the expected-utilization figures in single
precision floats; `_f32` rounds every intermediate the same way so the printed numbers
agree.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from radospy.crush import batch, mapper
from radospy.crush.hash import crush_hash32_2
from radospy.crush.map import (
    DEFAULT_CHOOSE_ARGS,
    HASH_RJENKINS1,
    ITEM_NONE,
    WEIGHT_ONE,
    CrushMap,
    Op,
)

DEFAULT_MIN_X = 0
DEFAULT_MAX_X = 1023

# Ceph's `crushtool --test` passes choose_args index 0 to do_rule.
_TEST_CHOOSE_ARGS = 0

ChooseTries = list[int]
"""Ceph's choose_tries profile: how many placements needed each number of retries."""

BATCH_MIN_INPUTS = 64
"""Below this many inputs the scalar mapper beats numpy's per-call overhead."""


def _f32(value: float) -> float:
    """`value` rounded to IEEE single precision, as a C `float` holds it."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def cpp_double(value: float) -> str:
    """A double as C++ `ostream << double` prints it (6 significant digits, %g style).

    glibc prints the NaN that 0.0/0.0 produces on x86 as `-nan`; callers pass
    `-math.nan`-signed values where Ceph divides zero by zero.
    """
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return f"{value:g}"


def device_weight_16_16(weight: float) -> int:
    """`CrushTester::set_device_weight`: `(int)(w * 0x10000)` clamped to [0, 0x10000]."""
    scaled = _f32(_f32(weight) * WEIGHT_ONE)
    if math.isnan(scaled):
        return 0
    w = int(scaled) if abs(scaled) < 2**31 else (-(2**31))
    return min(max(w, 0), WEIGHT_ONE)


def format_result(items: list[int]) -> str:
    """A mapping as crushtool prints it: `[1,2147483647,3]`."""
    return "[" + ",".join(str(i) for i in items) + "]"


def choose_args_key(cmap: CrushMap, index: int | None) -> int | None:
    """`choose_args_get_with_fallback`: the set `index`, else the compat set, else none."""
    if index is not None and index in cmap.choose_args:
        return index
    if DEFAULT_CHOOSE_ARGS in cmap.choose_args:
        return DEFAULT_CHOOSE_ARGS
    return None


def item_present(cmap: CrushMap, item: int) -> bool:
    """`CrushWrapper::check_item_present`: is `item` inside some bucket."""
    return any(item in bucket.items for bucket in cmap.buckets.values())


def map_range(
    cmap: CrushMap,
    rule: int,
    xs: range,
    num_rep: int,
    weights: list[int],
    pool_id: int = -1,
    choose_tries: ChooseTries | None = None,
) -> list[list[int]]:
    """Map every x of `xs` with `rule`.

    With `pool_id` >= 0 the CRUSH input is `crush_hash32_2(x, pool_id)` as for a
    hashpspool pool. `choose_tries`, when given, accumulates Ceph's choose-tries profile,
    which only the scalar mapper keeps; otherwise long ranges go through the vectorised
    mapper, whose results are identical.
    """
    key = choose_args_key(cmap, _TEST_CHOOSE_ARGS)
    inputs = [x & 0xFFFFFFFF for x in xs]
    if pool_id != -1:
        inputs = [crush_hash32_2(HASH_RJENKINS1, x, pool_id & 0xFFFFFFFF) for x in inputs]
    if choose_tries is None and len(inputs) >= BATCH_MIN_INPUTS and rule in cmap.rules:
        results, lengths = batch.map_batch_with_lengths(
            cmap, rule, np.array(inputs, dtype=np.uint32), num_rep, weights, key
        )
        return [row[:n] for row, n in zip(results.tolist(), lengths.tolist(), strict=True)]
    return [
        mapper.do_rule(cmap, rule, x, num_rep, weights, key, choose_tries=choose_tries)
        for x in inputs
    ]


@dataclass
class CrushTester:
    """The parameters and output switches of one `crushtool --test` / `--compare` run.

    Negative values mean "not set", exactly as in Ceph: rules default to all of them,
    x to 0..1023 and num_rep to each rule's min_size..max_size.
    """

    cmap: CrushMap
    min_rule: int = -1
    max_rule: int = -1
    min_x: int = -1
    max_x: int = -1
    min_rep: int = -1
    max_rep: int = -1
    pool_id: int = -1
    device_weight: dict[int, int] = field(default_factory=dict)
    output_utilization: bool = False
    output_utilization_all: bool = False
    output_statistics: bool = False
    output_mappings: bool = False
    output_bad_mappings: bool = False
    output_choose_tries: bool = False

    def set_rule(self, rule: int) -> None:
        self.min_rule = self.max_rule = rule

    def set_num_rep(self, num_rep: int) -> None:
        self.min_rep = self.max_rep = num_rep

    def set_x(self, x: int) -> None:
        self.min_x = self.max_x = x

    def set_device_weight(self, dev: int, weight: float) -> None:
        self.device_weight[dev] = device_weight_16_16(weight)

    def _resolve_ranges(self) -> None:
        if self.min_rule < 0 or self.max_rule < 0:
            self.min_rule = 0
            self.max_rule = self._max_rules() - 1
        if self.min_x < 0 or self.max_x < 0:
            self.min_x, self.max_x = DEFAULT_MIN_X, DEFAULT_MAX_X

    def _max_rules(self) -> int:
        return max(self.cmap.rules, default=-1) + 1

    def weights(self) -> list[int]:
        """The device weight vector: overrides, else 1.0 if in the hierarchy, else 0."""
        out = []
        for dev in range(self.cmap.max_devices):
            if dev in self.device_weight:
                out.append(self.device_weight[dev])
            elif item_present(self.cmap, dev):
                out.append(WEIGHT_ONE)
            else:
                out.append(0)
        return out

    def _rep_range(self, rule: int) -> tuple[int, int]:
        if self.min_rep < 0 or self.max_rep < 0:
            r = self.cmap.rules[rule]
            return r.min_size, r.max_size
        return self.min_rep, self.max_rep

    def maximum_affected_by_rule(self, rule: int) -> int:
        """`CrushTester::get_maximum_affected_by_rule`, quirks included.

        Every step with opcode >= 2 other than emit counts (the set_* steps too, with
        their type read from arg2), devices never match a type, and a type named by
        two steps is counted twice.
        """
        cmap = self.cmap
        affected: list[int] = []
        replications: dict[int, int] = {}
        for step in cmap.rules[rule].steps:
            if step.op >= Op.CHOOSE_FIRSTN and step.op != Op.EMIT:
                affected.append(step.arg2)
                replications[step.arg2] = step.arg1
        named_types = [b.type_id for b in cmap.buckets.values()]
        per_type: dict[int, int] = {}
        for t in affected:
            per_type[t] = per_type.get(t, 0) + named_types.count(t)
        for t in affected:
            if 0 < replications[t] < per_type[t]:
                per_type[t] = replications[t]
        max_affected = max(cmap.max_buckets, cmap.max_devices)
        for t in affected:
            if 0 < per_type[t] < max_affected:
                max_affected = per_type[t]
        return max_affected

    def test(self, out: TextIO, err: TextIO) -> int:
        """Run `crushtool --test`; lines go to `out` (Ceph prints them on stdout)."""
        self._resolve_ranges()
        weight = self.weights()
        if self.output_utilization_all:
            hexes = ",".join(f"{w:x}" for w in weight)
            err.write(f"devices weights (hex): [{hexes}]\n")
        tries: ChooseTries | None = None
        if self.output_choose_tries:
            tries = [0] * (self.cmap.tunables.choose_total_tries + 1)
        max_rules = self._max_rules()
        r = self.min_rule
        while r < max_rules and r <= self.max_rule:
            if r not in self.cmap.rules:
                if self.output_statistics:
                    out.write(f"rule {r} dne\n")
            else:
                self._test_rule(r, weight, tries, out)
            r += 1
        if tries is not None:
            for i in range(self.cmap.tunables.choose_total_tries):
                out.write(f"{i:>2}: {tries[i]:>9}\n")
        return 0

    def _test_rule(self, r: int, weight: list[int], tries: ChooseTries | None, out: TextIO) -> None:
        name = self.cmap.rules[r].name
        minr, maxr = self._rep_range(r)
        if self.output_statistics:
            out.write(
                f"rule {r} ({name}), x = {self.min_x}..{self.max_x}, numrep = {minr}..{maxr}\n"
            )
        num_devices = len(weight)
        total_weight = sum(weight)
        for nr in range(minr, maxr + 1):
            if total_weight == 0:
                continue
            num_objects = self.max_x - self.min_x + 1
            expected_objects = _f32(min(nr, self.maximum_affected_by_rule(r)) * num_objects)
            expected = [_f32(_f32(_f32(w) / _f32(total_weight)) * expected_objects) for w in weight]
            per = [0] * num_devices
            sizes: dict[int, int] = {}
            xs = range(self.min_x, self.max_x + 1)
            results = map_range(self.cmap, r, xs, nr, weight, self.pool_id, tries)
            for x, result in zip(xs, results, strict=True):
                if self.output_mappings:
                    out.write(f"CRUSH rule {r} x {x} {format_result(result)}\n")
                has_none = False
                for item in result:
                    if item == ITEM_NONE:
                        has_none = True
                    else:
                        per[item] += 1
                sizes[len(result)] = sizes.get(len(result), 0) + 1
                if self.output_bad_mappings and (len(result) != nr or has_none):
                    out.write(
                        f"bad mapping rule {r} x {x} num_rep {nr} result {format_result(result)}\n"
                    )
            if self.output_utilization and not self.output_statistics:
                for i in range(num_devices):
                    out.write(f"  device {i}:\t{per[i]}\n")
            if self.output_statistics:
                for size in sorted(sizes):
                    out.write(
                        f"rule {r} ({name}) num_rep {nr} result size == {size}:\t"
                        f"{sizes[size]}/{num_objects}\n"
                    )
                for i in range(num_devices):
                    show = self.output_utilization_all or (
                        self.output_utilization and expected[i] > 0 and per[i] > 0
                    )
                    if show:
                        out.write(
                            f"  device {i}:\t\t stored : {per[i]}\t expected : "
                            f"{cpp_double(expected[i])}\n"
                        )

    def compare(self, other: CrushMap, out: TextIO, err: TextIO) -> int:
        """Run `crushtool --compare`: count inputs whose mapping differs in `other`.

        Returns 0 when every mapping agrees, -1 otherwise (after the warning on `err`).
        """
        self._resolve_ranges()
        weight = self.weights()
        ret = 0
        max_rules = self._max_rules()
        r = self.min_rule
        while r < max_rules and r <= self.max_rule:
            if r not in self.cmap.rules:
                if self.output_statistics:
                    out.write(f"rule {r} dne\n")
                r += 1
                continue
            minr, maxr = self._rep_range(r)
            xs = range(self.min_x, self.max_x + 1)
            bad = 0
            for nr in range(minr, maxr + 1):
                mine = map_range(self.cmap, r, xs, nr, weight)
                theirs = (
                    map_range(other, r, xs, nr, weight) if r in other.rules else [[] for _ in xs]
                )
                bad += sum(1 for a, b in zip(mine, theirs, strict=True) if a != b)
            if bad:
                ret = -1
            total = (maxr - minr + 1) * (self.max_x - self.min_x + 1)
            ratio = bad / total if total else (-math.nan if bad == 0 else math.inf)
            out.write(f"rule {r} had {bad}/{total} mismatched mappings ({cpp_double(ratio)})\n")
            r += 1
        if ret:
            err.write("warning: maps are NOT equivalent\n")
        else:
            out.write("maps appear equivalent\n")
        return ret
