"""The CRUSH map model: Ceph's `crush_map` plus the names `CrushWrapper` keeps beside it.

Weights are 16.16 fixed point integers (0x10000 == 1.0) everywhere, as in Ceph, so that
placement never depends on floating point. Bucket ids are negative, device ids are
non-negative. Derived per-algorithm data (straw lengths, tree node weights, list sums)
lives on the bucket because Ceph's binary encoding carries it and placement reads it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

ITEM_NONE = 0x7FFFFFFF
"""CRUSH_ITEM_NONE: an `indep` position that could not be filled (a hole)."""

ITEM_UNDEF = 0x7FFFFFFE
"""CRUSH_ITEM_UNDEF: an `indep` position not yet decided while mapping."""

WEIGHT_ONE = 0x10000
"""1.0 in 16.16 fixed point."""

DEFAULT_CHOOSE_ARGS = -1
"""choose_args key of the compat weight set (printed as 18446744073709551615)."""

HASH_RJENKINS1 = 0
"""The only hash Ceph implements (`hash 0 # rjenkins1`)."""


class BucketAlg(enum.IntEnum):
    """CRUSH_BUCKET_*: how a bucket picks among its items."""

    UNIFORM = 1
    LIST = 2
    TREE = 3
    STRAW = 4
    STRAW2 = 5


class RuleType(enum.IntEnum):
    """pg_pool_t / rule types as crushtool prints them."""

    REPLICATED = 1
    ERASURE = 3
    MSR_FIRSTN = 4
    MSR_INDEP = 5


class Op(enum.IntEnum):
    """CRUSH_RULE_* step opcodes (crush.h)."""

    NOOP = 0
    TAKE = 1
    CHOOSE_FIRSTN = 2
    CHOOSE_INDEP = 3
    EMIT = 4
    CHOOSELEAF_FIRSTN = 6
    CHOOSELEAF_INDEP = 7
    SET_CHOOSE_TRIES = 8
    SET_CHOOSELEAF_TRIES = 9
    SET_CHOOSE_LOCAL_TRIES = 10
    SET_CHOOSE_LOCAL_FALLBACK_TRIES = 11
    SET_CHOOSELEAF_VARY_R = 12
    SET_CHOOSELEAF_STABLE = 13


LEGACY_ALLOWED_BUCKET_ALGS = (
    (1 << BucketAlg.UNIFORM) | (1 << BucketAlg.LIST) | (1 << BucketAlg.STRAW)
)
"""allowed_bucket_algs of a map with legacy tunables (22)."""

ALL_BUCKET_ALGS = LEGACY_ALLOWED_BUCKET_ALGS | (1 << BucketAlg.STRAW2)
"""allowed_bucket_algs from hammer on (54)."""


@dataclass
class Tunables:
    """The CRUSH tunables; the defaults are Ceph's legacy (argonaut) values."""

    choose_local_tries: int = 2
    choose_local_fallback_tries: int = 5
    choose_total_tries: int = 19
    chooseleaf_descend_once: int = 0
    chooseleaf_vary_r: int = 0
    chooseleaf_stable: int = 0
    straw_calc_version: int = 0
    allowed_bucket_algs: int = LEGACY_ALLOWED_BUCKET_ALGS


@dataclass
class Bucket:
    """One interior node of the hierarchy.

    `item_weights[i]` is the 16.16 weight of `items[i]` as this bucket sees it; `weight`
    is their sum (for uniform buckets, `item_weight * len(items)`). The alg-specific
    fields are derived from the weights by `radospy.crush.builder` (or read from a binary
    map) and are empty for algorithms that do not use them.
    """

    id: int
    name: str
    type_id: int
    alg: BucketAlg
    hash: int = HASH_RJENKINS1
    items: list[int] = field(default_factory=list)
    item_weights: list[int] = field(default_factory=list)
    weight: int = 0
    straws: list[int] = field(default_factory=list)
    """straw: the per-item straw lengths."""
    node_weights: list[int] = field(default_factory=list)
    """tree: weights of the implicit binary tree's nodes (leaves at odd indices)."""
    sum_weights: list[int] = field(default_factory=list)
    """list: `sum_weights[i]` = weight of items[0..i]."""

    @property
    def size(self) -> int:
        return len(self.items)


@dataclass
class RuleStep:
    """One `step` of a rule: opcode and two arguments, as in `crush_rule_step`."""

    op: Op
    arg1: int = 0
    arg2: int = 0


@dataclass
class Rule:
    """A placement rule. Since Luminous a rule's id is also its ruleset."""

    id: int
    name: str
    type: int = RuleType.REPLICATED
    min_size: int = 1
    max_size: int = 10
    steps: list[RuleStep] = field(default_factory=list)


@dataclass
class ChooseArg:
    """Per-bucket weight-set override (`crush_choose_arg`).

    `weight_set[position]` replaces the bucket's item weights when choosing the replica
    at that position (the last set serves all later positions); `ids` replaces the item
    ids fed to the hash.
    """

    bucket_id: int
    weight_set: list[list[int]] = field(default_factory=list)
    ids: list[int] | None = None


@dataclass
class CrushMap:
    """A whole crushmap: hierarchy, rules, tunables, names, classes and weight sets."""

    buckets: dict[int, Bucket] = field(default_factory=dict)
    rules: dict[int, Rule] = field(default_factory=dict)
    tunables: Tunables = field(default_factory=Tunables)
    device_names: dict[int, str] = field(default_factory=dict)
    """Device id -> name (`osd.N`)."""
    max_devices: int = 0
    max_buckets: int = 0
    """Size of Ceph's bucket array (grows by doubling in builder.c; encoded in binary)."""
    max_rules: int = 0
    """Size of Ceph's rule array when larger than the highest rule id + 1 (slots left
    empty by removing the last rules survive in Ceph's encoding); 0 means just enough."""
    types: dict[int, str] = field(default_factory=dict)
    class_names: dict[int, str] = field(default_factory=dict)
    """Device class id -> name."""
    device_classes: dict[int, int] = field(default_factory=dict)
    """Device id -> class id (Ceph's `class_map`)."""
    class_buckets: dict[int, dict[int, int]] = field(default_factory=dict)
    """Original bucket id -> {class id -> shadow bucket id} (Ceph's `class_bucket`)."""
    choose_args: dict[int, dict[int, ChooseArg]] = field(default_factory=dict)
    """choose_args key (pool id, or -1 for compat) -> bucket id -> override."""

    def name_of(self, item: int) -> str:
        """The name of a device or bucket id."""
        if item >= 0:
            return self.device_names[item]
        return self.buckets[item].name

    def id_of(self, name: str) -> int:
        """The id of a device or bucket by name; KeyError if there is none."""
        for dev, dev_name in self.device_names.items():
            if dev_name == name:
                return dev
        for bucket in self.buckets.values():
            if bucket.name == name:
                return bucket.id
        raise KeyError(name)

    def type_id(self, name: str) -> int:
        """The id of a bucket type by name; KeyError if there is none."""
        for type_id, type_name in self.types.items():
            if type_name == name:
                return type_id
        raise KeyError(name)

    def class_id(self, name: str) -> int:
        """The id of a device class by name; KeyError if there is none."""
        for class_id, class_name in self.class_names.items():
            if class_name == name:
                return class_id
        raise KeyError(name)

    def rule_by_name(self, name: str) -> Rule:
        for rule in self.rules.values():
            if rule.name == name:
                return rule
        raise KeyError(name)

    def is_shadow(self, bucket_id: int) -> bool:
        """True for the per-class shadow buckets (`host0~ssd`) derived from the tree."""
        return "~" in self.buckets[bucket_id].name

