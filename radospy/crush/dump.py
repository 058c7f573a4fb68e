"""`crushtool --dump` JSON to and from the CRUSH map model.

`from_dump` builds a `CrushMap` from the dump's JSON (as parsed by `json.loads`);
`to_dump` produces the same structure `CrushWrapper::dump` prints, key order included,
so `json.dumps(to_dump(m))` reads back equal to what Ceph printed.
"""

from __future__ import annotations

import struct
from typing import Any

from radospy.crush import builder
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    LEGACY_ALLOWED_BUCKET_ALGS,
    Bucket,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    Tunables,
)

ALG_NAMES: dict[BucketAlg, str] = {
    BucketAlg.UNIFORM: "uniform",
    BucketAlg.LIST: "list",
    BucketAlg.TREE: "tree",
    BucketAlg.STRAW: "straw",
    BucketAlg.STRAW2: "straw2",
}
HASH_NAMES = {0: "rjenkins1"}
OP_NAMES: dict[Op, str] = {
    Op.NOOP: "noop",
    Op.TAKE: "take",
    Op.CHOOSE_FIRSTN: "choose_firstn",
    Op.CHOOSE_INDEP: "choose_indep",
    Op.EMIT: "emit",
    Op.CHOOSELEAF_FIRSTN: "chooseleaf_firstn",
    Op.CHOOSELEAF_INDEP: "chooseleaf_indep",
    Op.SET_CHOOSE_TRIES: "set_choose_tries",
    Op.SET_CHOOSELEAF_TRIES: "set_chooseleaf_tries",
    Op.SET_CHOOSE_LOCAL_TRIES: "set_choose_local_tries",
    Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES: "set_choose_local_fallback_tries",
    Op.SET_CHOOSELEAF_VARY_R: "set_chooseleaf_vary_r",
    Op.SET_CHOOSELEAF_STABLE: "set_chooseleaf_stable",
}
_CHOOSE_OPS = (Op.CHOOSE_FIRSTN, Op.CHOOSE_INDEP, Op.CHOOSELEAF_FIRSTN, Op.CHOOSELEAF_INDEP)
_TUNABLE_FIELDS = (
    "choose_local_tries",
    "choose_local_fallback_tries",
    "choose_total_tries",
    "chooseleaf_descend_once",
    "chooseleaf_vary_r",
    "chooseleaf_stable",
    "straw_calc_version",
    "allowed_bucket_algs",
)


def _by_name(table: dict[Any, str]) -> dict[str, Any]:
    return {name: key for key, name in table.items()}


# -- from_dump ------------------------------------------------------------------------------


def from_dump(d: dict[str, Any]) -> CrushMap:
    """Build a map from `crushtool --dump` JSON, deriving the per-bucket data.

    Device class ids are numbered in order of first appearance among the devices (as
    Ceph allocates them while compiling); a bucket named `NAME~CLASS` is the shadow of
    bucket `NAME` for that class. choose_args weights (floats) become 16.16 integers.
    """
    cmap = CrushMap()
    cmap.tunables = Tunables(**{name: int(d["tunables"][name]) for name in _TUNABLE_FIELDS})
    cmap.types = {int(t["type_id"]): t["name"] for t in d["types"]}
    _load_devices(cmap, d["devices"])
    alg_ids = _by_name(ALG_NAMES)
    for b in d["buckets"]:
        bucket = Bucket(
            id=int(b["id"]),
            name=b["name"],
            type_id=int(b["type_id"]),
            alg=alg_ids[b["alg"]],
            hash=_by_name(HASH_NAMES)[b["hash"]],
            items=[int(i["id"]) for i in b["items"]],
            item_weights=[int(i["weight"]) for i in b["items"]],
        )
        builder.derive(bucket, cmap.tunables.straw_calc_version)
        cmap.buckets[bucket.id] = bucket
    _link_shadow_buckets(cmap)
    cmap.rules = {int(r["rule_id"]): _load_rule(cmap, r) for r in d["rules"]}
    cmap.choose_args = {
        int(key): _load_choose_args(args) for key, args in d.get("choose_args", {}).items()
    }
    bucket_items = [i for b in cmap.buckets.values() for i in b.items if i >= 0]
    cmap.max_devices = max([*cmap.device_names, *bucket_items], default=-1) + 1
    cmap.max_buckets = bucket_array_size(max((-b for b in cmap.buckets), default=0))
    return cmap


def bucket_array_size(positions: int) -> int:
    """Ceph's `max_buckets` for `positions` bucket slots: 8, doubled until they fit."""
    size = 0
    while positions > size:
        size = size * 2 if size else 8
    return size


def _load_devices(cmap: CrushMap, devices: list[dict[str, Any]]) -> None:
    class_ids: dict[str, int] = {}
    for dev in devices:
        dev_id = int(dev["id"])
        cmap.device_names[dev_id] = dev["name"]
        class_name = dev.get("class")
        if class_name is None:
            continue
        if class_name not in class_ids:
            class_ids[class_name] = len(class_ids)
        cmap.device_classes[dev_id] = class_ids[class_name]
    cmap.class_names = {cid: name for name, cid in class_ids.items()}


def _link_shadow_buckets(cmap: CrushMap) -> None:
    ids_by_name = {b.name: b.id for b in cmap.buckets.values()}
    class_ids = _by_name(cmap.class_names)
    for bucket in cmap.buckets.values():
        base, sep, class_name = bucket.name.partition("~")
        if not sep:
            continue
        original = ids_by_name.get(base)
        if original is None or class_name not in class_ids:
            raise ValueError(f"shadow bucket {bucket.name!r} has no original bucket or class")
        cmap.class_buckets.setdefault(original, {})[class_ids[class_name]] = bucket.id


def _load_rule(cmap: CrushMap, r: dict[str, Any]) -> Rule:
    op_ids = _by_name(OP_NAMES)
    type_ids = _by_name(cmap.types)
    steps: list[RuleStep] = []
    for s in r["steps"]:
        if "opcode" in s:
            steps.append(RuleStep(Op(int(s["opcode"])), int(s["arg1"]), int(s["arg2"])))
            continue
        op = op_ids[s["op"]]
        if op == Op.TAKE:
            steps.append(RuleStep(op, int(s["item"])))
        elif op in _CHOOSE_OPS:
            steps.append(RuleStep(op, int(s["num"]), type_ids[s["type"]]))
        elif "num" in s:
            steps.append(RuleStep(op, int(s["num"])))
        else:
            steps.append(RuleStep(op))
    return Rule(
        id=int(r["rule_id"]),
        name=r.get("rule_name", ""),
        type=int(r["type"]),
        min_size=int(r["min_size"]),
        max_size=int(r["max_size"]),
        steps=steps,
    )


def _load_choose_args(args: list[dict[str, Any]]) -> dict[int, ChooseArg]:
    result: dict[int, ChooseArg] = {}
    for arg in args:
        bucket_id = int(arg["bucket_id"])
        weight_set = [[round(w * 0x10000) for w in ws] for ws in arg.get("weight_set", [])]
        ids = [int(i) for i in arg["ids"]] if "ids" in arg else None
        result[bucket_id] = ChooseArg(bucket_id=bucket_id, weight_set=weight_set, ids=ids)
    return result


# -- to_dump --------------------------------------------------------------------------------


def to_dump(cmap: CrushMap) -> dict[str, Any]:
    """The `crushtool --dump` structure of `cmap` (devices, types, buckets, rules,
    tunables with Ceph's derived feature flags, choose_args)."""
    return {
        "devices": [_dump_device(cmap, dev) for dev in sorted(cmap.device_names)],
        "types": [{"type_id": t, "name": n} for t, n in sorted(cmap.types.items())],
        "buckets": [
            _dump_bucket(cmap, cmap.buckets[b]) for b in sorted(cmap.buckets, reverse=True)
        ],
        "rules": [_dump_rule(cmap, cmap.rules[r]) for r in sorted(cmap.rules)],
        "tunables": dump_tunables(cmap),
        "choose_args": {
            str(key): _dump_choose_args(cmap.choose_args[key]) for key in sorted(cmap.choose_args)
        },
    }


def _dump_device(cmap: CrushMap, dev: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": dev, "name": cmap.device_names[dev]}
    if dev in cmap.device_classes:
        out["class"] = cmap.class_names[cmap.device_classes[dev]]
    return out


def _dump_bucket(cmap: CrushMap, bucket: Bucket) -> dict[str, Any]:
    return {
        "id": bucket.id,
        "name": bucket.name,
        "type_id": bucket.type_id,
        "type_name": cmap.types.get(bucket.type_id, ""),
        "weight": bucket.weight,
        "alg": ALG_NAMES[bucket.alg],
        "hash": HASH_NAMES.get(bucket.hash, "unknown"),
        "items": [
            {"id": item, "weight": _item_weight(bucket, pos), "pos": pos}
            for pos, item in enumerate(bucket.items)
        ],
    }


def _item_weight(bucket: Bucket, pos: int) -> int:
    if bucket.alg == BucketAlg.TREE and bucket.node_weights:
        return bucket.node_weights[builder.tree_node(pos)]
    return bucket.item_weights[pos]


def _dump_rule(cmap: CrushMap, rule: Rule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "ruleset": rule.id,
        "type": int(rule.type),
        "min_size": rule.min_size,
        "max_size": rule.max_size,
        "steps": [_dump_step(cmap, step) for step in rule.steps],
    }


def _dump_step(cmap: CrushMap, step: RuleStep) -> dict[str, Any]:
    name = OP_NAMES.get(step.op)
    if name is None:
        return {"opcode": int(step.op), "arg1": step.arg1, "arg2": step.arg2}
    if step.op == Op.TAKE:
        item_name = _name_or_empty(cmap, step.arg1)
        return {"op": name, "item": step.arg1, "item_name": item_name}
    if step.op in _CHOOSE_OPS:
        return {"op": name, "num": step.arg1, "type": cmap.types.get(step.arg2, "")}
    if step.op in (Op.NOOP, Op.EMIT):
        return {"op": name}
    return {"op": name, "num": step.arg1}


def _name_or_empty(cmap: CrushMap, item: int) -> str:
    try:
        return cmap.name_of(item)
    except KeyError:
        return ""


def _dump_choose_args(args: dict[int, ChooseArg]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for bucket_id in sorted(args, reverse=True):
        arg = args[bucket_id]
        if not arg.weight_set and not arg.ids:
            continue
        entry: dict[str, Any] = {"bucket_id": bucket_id}
        if arg.weight_set:
            entry["weight_set"] = [[_float_weight(w) for w in ws] for ws in arg.weight_set]
        if arg.ids:
            entry["ids"] = list(arg.ids)
        out.append(entry)
    return out


def _float_weight(weight: int) -> float:
    """A 16.16 weight as Ceph prints it: the exact value of the C float `weight / 0x10000`
    (e.g. 8090 -> 0.123443603515625), which JSON then prints in full."""
    return struct.unpack("<f", struct.pack("<f", weight / 0x10000))[0]


# -- tunables and feature flags -----------------------------------------------------------


def _profile(t: Tunables) -> str:
    legacy_local = (t.choose_local_tries, t.choose_local_fallback_tries, t.choose_total_tries)
    if legacy_local == (2, 5, 19) and (t.chooseleaf_descend_once, t.chooseleaf_vary_r) == (0, 0):
        if t.chooseleaf_stable == 0 and t.allowed_bucket_algs == LEGACY_ALLOWED_BUCKET_ALGS:
            return "argonaut"
        return "unknown"
    if legacy_local != (0, 0, 50) or t.chooseleaf_descend_once != 1:
        return "unknown"
    profiles = {
        (0, 0, LEGACY_ALLOWED_BUCKET_ALGS): "bobtail",
        (1, 0, LEGACY_ALLOWED_BUCKET_ALGS): "firefly",
        (1, 0, ALL_BUCKET_ALGS): "hammer",
        (1, 1, ALL_BUCKET_ALGS): "jewel",
    }
    return profiles.get(
        (t.chooseleaf_vary_r, t.chooseleaf_stable, t.allowed_bucket_algs), "unknown"
    )


def _rules_use(cmap: CrushMap, ops: tuple[Op, ...]) -> bool:
    return any(step.op in ops for rule in cmap.rules.values() for step in rule.steps)


def dump_tunables(cmap: CrushMap) -> dict[str, Any]:
    """`CrushWrapper::dump_tunables`: the tunables plus the profile and feature flags."""
    t = cmap.tunables
    profile = _profile(t)
    nondefault = (t.choose_local_tries, t.choose_local_fallback_tries, t.choose_total_tries) != (
        2,
        5,
        19,
    )
    v2_rules = _rules_use(
        cmap, (Op.CHOOSE_INDEP, Op.CHOOSELEAF_INDEP, Op.SET_CHOOSE_TRIES, Op.SET_CHOOSELEAF_TRIES)
    )
    v3_rules = _rules_use(cmap, (Op.SET_CHOOSELEAF_VARY_R,))
    v4_buckets = any(b.alg == BucketAlg.STRAW2 for b in cmap.buckets.values())
    v5_rules = _rules_use(cmap, (Op.SET_CHOOSELEAF_STABLE,))
    if v5_rules or t.chooseleaf_stable:
        min_version = "jewel"
    elif v4_buckets:
        min_version = "hammer"
    elif t.chooseleaf_vary_r:
        min_version = "firefly"
    elif nondefault or t.chooseleaf_descend_once:
        min_version = "bobtail"
    else:
        min_version = "argonaut"
    out: dict[str, Any] = {name: getattr(t, name) for name in _TUNABLE_FIELDS}
    out.update(
        {
            "profile": profile,
            "optimal_tunables": int(profile == "jewel"),
            "legacy_tunables": int(profile == "argonaut"),
            "minimum_required_version": min_version,
            "require_feature_tunables": int(nondefault),
            "require_feature_tunables2": int(t.chooseleaf_descend_once != 0),
            "has_v2_rules": int(v2_rules),
            "require_feature_tunables3": int(t.chooseleaf_vary_r != 0),
            "has_v3_rules": int(v3_rules),
            "has_v4_buckets": int(v4_buckets),
            "require_feature_tunables5": int(t.chooseleaf_stable != 0),
            "has_v5_rules": int(v5_rules),
        }
    )
    return out
