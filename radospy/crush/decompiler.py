"""Print a `CrushMap` in Ceph's crushmap text format, byte for byte as `crushtool -d` does.

The layout follows `CrushCompiler::decompile` of Ceph 16: tunables only where they
differ from the legacy values, devices, types, buckets children first (shadow buckets
appear only as `id -N class C` lines of their originals), rules, choose_args. Weights are
printed as C's `printf("%.3f", (float)w / (float)0x10000)`, single precision included.
"""

from __future__ import annotations

import struct

from radospy.common.errors import InvalidArgument
from radospy.crush import classes
from radospy.crush.compiler import RULE_TYPES
from radospy.crush.map import (
    HASH_RJENKINS1,
    LEGACY_ALLOWED_BUCKET_ALGS,
    WEIGHT_ONE,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    Tunables,
)

__all__ = ["decompile", "format_weight"]

_ALG_NAMES = {
    BucketAlg.UNIFORM: "uniform",
    BucketAlg.LIST: "list",
    BucketAlg.TREE: "tree",
    BucketAlg.STRAW: "straw",
    BucketAlg.STRAW2: "straw2",
}
_ALG_NOTES = {
    BucketAlg.UNIFORM: "\t# do not change bucket size ({size}) unnecessarily",
    BucketAlg.LIST: "\t# add new items at the end; do not change order unnecessarily",
    BucketAlg.TREE: "\t# do not change pos for existing items unnecessarily",
}
_RULE_TYPE_NAMES = {int(value): name for name, value in RULE_TYPES.items()}
_SET_STEP_NAMES = {
    Op.SET_CHOOSE_TRIES: "set_choose_tries",
    Op.SET_CHOOSE_LOCAL_TRIES: "set_choose_local_tries",
    Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES: "set_choose_local_fallback_tries",
    Op.SET_CHOOSELEAF_TRIES: "set_chooseleaf_tries",
    Op.SET_CHOOSELEAF_VARY_R: "set_chooseleaf_vary_r",
    Op.SET_CHOOSELEAF_STABLE: "set_chooseleaf_stable",
}
_CHOOSE_STEP_NAMES = {
    Op.CHOOSE_FIRSTN: "choose firstn",
    Op.CHOOSE_INDEP: "choose indep",
    Op.CHOOSELEAF_FIRSTN: "chooseleaf firstn",
    Op.CHOOSELEAF_INDEP: "chooseleaf indep",
}
_LEGACY = Tunables()


def format_weight(weight: int) -> str:
    """A 16.16 weight as Ceph prints it: `%.3f` of a float32 quotient of a signed int."""
    signed = weight - (1 << 32) if weight & 0x80000000 else weight
    as_float32 = struct.unpack("<f", struct.pack("<f", float(signed)))[0]
    return f"{as_float32 / WEIGHT_ONE:.3f}"


def decompile(cmap: CrushMap) -> str:
    """The crushmap text of `cmap`, identical to what Ceph 16's `crushtool -d` prints."""
    out: list[str] = ["# begin crush map\n"]
    out += _tunables(cmap.tunables)
    out.append("\n# devices\n")
    for dev in sorted(d for d in cmap.device_names if d < cmap.max_devices):
        line = f"device {dev} {cmap.device_names[dev]}"
        class_name = cmap.class_names.get(cmap.device_classes.get(dev, -1))
        if class_name is not None:
            line += f" class {class_name}"
        out.append(line + "\n")
    out.append("\n# types\n")
    out += _types(cmap)
    out.append("\n# buckets\n")
    done: set[int] = set()
    for bucket_id in sorted(cmap.buckets, reverse=True):
        _bucket_tree(cmap, bucket_id, done, set(), out)
    out.append("\n# rules\n")
    for rule_id in sorted(cmap.rules):
        out += _rule(cmap, cmap.rules[rule_id])
    if cmap.choose_args:
        out.append("\n# choose_args\n")
        # Sorted as signed numbers (the compat set -1 first), printed as unsigned.
        for key in sorted(cmap.choose_args):
            out += _choose_args(cmap, key, cmap.choose_args[key])
    out.append("\n# end crush map\n")
    return "".join(out)


def _tunables(t: Tunables) -> list[str]:
    lines = []
    for name in (
        "choose_local_tries",
        "choose_local_fallback_tries",
        "choose_total_tries",
        "chooseleaf_descend_once",
        "chooseleaf_vary_r",
        "chooseleaf_stable",
        "straw_calc_version",
    ):
        value = getattr(t, name)
        if value != getattr(_LEGACY, name):
            lines.append(f"tunable {name} {value}\n")
    if t.allowed_bucket_algs != LEGACY_ALLOWED_BUCKET_ALGS:
        lines.append(f"tunable allowed_bucket_algs {t.allowed_bucket_algs}\n")
    return lines


def _types(cmap: CrushMap) -> list[str]:
    ids = sorted(i for i in cmap.types if i >= 0)
    # Ceph names type 0 "osd" when a map has types but none numbered 0.
    lines = [] if not ids or ids[0] == 0 else ["type 0 osd\n"]
    lines += [f"type {i} {cmap.types[i]}\n" for i in ids]
    return lines


def _type_name(cmap: CrushMap, type_id: int) -> str:
    name = cmap.types.get(type_id)
    if name is not None:
        return name
    return "device" if type_id == 0 else f"type{type_id}"


def _item_name(cmap: CrushMap, item: int) -> str:
    if item >= 0:
        return cmap.device_names.get(item, f"device{item}")
    bucket = cmap.buckets.get(item)
    return bucket.name if bucket is not None else f"bucket{-1 - item}"


def _bucket_tree(
    cmap: CrushMap, bucket_id: int, done: set[int], in_progress: set[int], out: list[str]
) -> None:
    """Print a bucket after its children (depth first); each bucket once."""
    if bucket_id in done or bucket_id not in cmap.buckets:
        return
    if bucket_id in in_progress:
        raise InvalidArgument(f"bucket {bucket_id} contains itself: buckets must form a DAG")
    in_progress.add(bucket_id)
    for item in cmap.buckets[bucket_id].items:
        if item < 0:
            _bucket_tree(cmap, item, done, in_progress, out)
    in_progress.discard(bucket_id)
    done.add(bucket_id)
    if not cmap.is_shadow(bucket_id):
        out += _bucket(cmap, bucket_id)


def _bucket(cmap: CrushMap, bucket_id: int) -> list[str]:
    b = cmap.buckets[bucket_id]
    lines = [
        f"{_type_name(cmap, b.type_id)} {b.name} {{\n",
        f"\tid {b.id}\t\t# do not change unnecessarily\n",
    ]
    for class_id, shadow_id in sorted(cmap.class_buckets.get(bucket_id, {}).items()):
        class_name = cmap.class_names[class_id]
        lines.append(f"\tid {shadow_id} class {class_name}\t\t# do not change unnecessarily\n")
    lines.append(f"\t# weight {format_weight(b.weight)}\n")
    lines.append(f"\talg {_ALG_NAMES[b.alg]}{_ALG_NOTES.get(b.alg, '').format(size=b.size)}\n")
    hash_name = "rjenkins1" if b.hash == HASH_RJENKINS1 else "unknown"
    lines.append(f"\thash {b.hash}\t# {hash_name}\n")
    with_pos = b.alg in (BucketAlg.UNIFORM, BucketAlg.TREE)
    for pos, (item, weight) in enumerate(zip(b.items, b.item_weights, strict=True)):
        line = f"\titem {_item_name(cmap, item)} weight {format_weight(weight)}"
        if with_pos:
            line += f" pos {pos}"
        lines.append(line + "\n")
    lines.append("}\n")
    return lines


def _rule(cmap: CrushMap, rule: Rule) -> list[str]:
    rule_type = _RULE_TYPE_NAMES.get(rule.type, str(rule.type))
    lines = [
        f"rule {rule.name} {{\n",
        f"\tid {rule.id}\n",
        f"\ttype {rule_type}\n",
        f"\tmin_size {rule.min_size}\n",
        f"\tmax_size {rule.max_size}\n",
    ]
    lines += [_step(cmap, step) for step in rule.steps]
    lines.append("}\n")
    return lines


def _step(cmap: CrushMap, step: RuleStep) -> str:
    if step.op == Op.TAKE:
        original, class_id = classes.split_id_class(cmap, step.arg1)
        text = f"\tstep take {_item_name(cmap, original)}"
        if class_id is not None:
            text += f" class {cmap.class_names[class_id]}"
        return text + "\n"
    if step.op in _CHOOSE_STEP_NAMES:
        kind = _CHOOSE_STEP_NAMES[step.op]
        return f"\tstep {kind} {step.arg1} type {_type_name(cmap, step.arg2)}\n"
    if step.op in _SET_STEP_NAMES:
        return f"\tstep {_SET_STEP_NAMES[step.op]} {step.arg1}\n"
    if step.op == Op.EMIT:
        return "\tstep emit\n"
    return "\tstep noop\n"


def _choose_args(cmap: CrushMap, key: int, args: dict[int, ChooseArg]) -> list[str]:
    lines = [f"choose_args {key & 0xFFFFFFFFFFFFFFFF} {{\n"]
    for bucket_id in sorted(args, reverse=True):
        arg = args[bucket_id]
        bucket = cmap.buckets.get(bucket_id)
        # Ceph drops the overrides of anything but straw2 buckets when it loads a map,
        # so `crushtool -d` never prints them.
        if bucket is None or bucket.alg != BucketAlg.STRAW2 or not (arg.weight_set or arg.ids):
            continue
        lines += ["  {\n", f"    bucket_id {bucket_id}\n"]
        if arg.weight_set:
            lines.append("    weight_set [\n")
            for weights in arg.weight_set:
                lines.append("      [ " + "".join(f"{format_weight(w)} " for w in weights) + "]\n")
            lines.append("    ]\n")
        if arg.ids:
            lines.append("    ids [ " + "".join(f"{i} " for i in arg.ids) + "]\n")
        lines.append("  }\n")
    lines.append("}\n")
    return lines
