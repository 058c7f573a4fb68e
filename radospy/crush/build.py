"""`crushtool --build --num_osds N layer...`: a fresh map made of uniform layers.

Each layer `name alg size` groups the items of the layer below (the OSDs first) into
buckets of `size` items (0: all of them in one bucket) named `name0`, `name1`, ... (just
`name` for size 0), of bucket type `name`. The result has Ceph's default (jewel)
tunables, `osd.N` device names and the `replicated_rule` that
`OSDMap::build_simple_crush_rules` adds, rooted at the last layer's first bucket.
Names are truncated the way crushtool's fixed 20-byte buffers truncate them.
"""

from __future__ import annotations

from dataclasses import dataclass

from radospy.common.errors import InvalidArgument
from radospy.crush import builder
from radospy.crush.dump import bucket_array_size
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    RuleType,
    Tunables,
)

BUCKET_ALGS: dict[str, BucketAlg] = {
    "uniform": BucketAlg.UNIFORM,
    "list": BucketAlg.LIST,
    "straw": BucketAlg.STRAW,
    "straw2": BucketAlg.STRAW2,
    "tree": BucketAlg.TREE,
}

RULE_NAME = "replicated_rule"
FAILURE_DOMAIN_TYPE = 1
"""`osd_crush_chooseleaf_type`: the rule separates replicas across type 1 (the first layer)."""

_FORMAT_BUF = 18  # snprintf(format, sizeof(format) - 1, ...) into char[20]
_NAME_BUF = 19  # snprintf(name, sizeof(name), ...) into char[20]


class BuildError(InvalidArgument):
    """A layer crushtool rejects; `str()` is crushtool's message."""


@dataclass
class Layer:
    """One `name alg size` triple of `--build`."""

    name: str
    alg: str
    size: int


@dataclass
class BuildResult:
    """The built map and the warning crushtool prints when it has several roots."""

    cmap: CrushMap
    warning: str | None


def default_tunables() -> Tunables:
    """`CrushWrapper::set_tunables_default`: the jewel profile with straw_calc_version 1."""
    return Tunables(
        choose_local_tries=0,
        choose_local_fallback_tries=0,
        choose_total_tries=50,
        chooseleaf_descend_once=1,
        chooseleaf_vary_r=1,
        chooseleaf_stable=1,
        straw_calc_version=1,
        allowed_bucket_algs=ALL_BUCKET_ALGS,
    )


def _truncate(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def bucket_name(layer_name: str, size: int, index: int) -> str:
    """The name crushtool gives bucket `index` of a layer, C buffer truncation included."""
    if size == 0:
        return _truncate(layer_name, _NAME_BUF)
    fmt = _truncate(layer_name + "%d", _FORMAT_BUF)
    if fmt.endswith("%d"):
        name = fmt[:-2] + str(index)
    elif fmt.endswith("%"):
        # a conversion cut to a lone '%' prints nothing
        name = fmt[:-1]
    else:
        name = fmt
    return _truncate(name, _NAME_BUF)


def build(num_osds: int, layers: list[Layer]) -> BuildResult:
    """Build the map `crushtool --build --num_osds num_osds layers...` writes."""
    if not layers:
        raise BuildError("must specify at least one layer")
    cmap = CrushMap(tunables=default_tunables())
    cmap.types[0] = "osd"
    lower_items = list(range(max(num_osds, 0)))
    lower_weights = [WEIGHT_ONE] * len(lower_items)
    cmap.max_devices = len(lower_items)
    for dev in lower_items:
        cmap.device_names[dev] = f"osd.{dev}"
    straw_calc = cmap.tunables.straw_calc_version
    for type_id, layer in enumerate(layers, start=1):
        cmap.types[type_id] = layer.name
        if layer.alg not in BUCKET_ALGS:
            raise BuildError(f"unknown bucket type '{layer.alg}'")
        if layer.size < 0:
            # crushtool loops forever on a negative size; refuse it instead
            raise BuildError(f"layer '{layer.name}' has a negative size {layer.size}")
        cur_items: list[int] = []
        cur_weights: list[int] = []
        pos = 0
        index = 0
        while pos < len(lower_items):
            take = len(lower_items) - pos if layer.size == 0 else layer.size
            items = lower_items[pos : pos + take]
            weights = lower_weights[pos : pos + take]
            pos += len(items)
            bucket_id = -1 - len(cmap.buckets)
            bucket = Bucket(
                id=bucket_id,
                name=bucket_name(layer.name, layer.size, index),
                type_id=type_id,
                alg=BUCKET_ALGS[layer.alg],
                items=items,
                item_weights=weights,
            )
            builder.derive(bucket, straw_calc)
            cmap.buckets[bucket_id] = bucket
            # the next layer sees the sum of the items, even for a uniform bucket
            cur_items.append(bucket_id)
            cur_weights.append(sum(weights))
            index += 1
        lower_items, lower_weights = cur_items, cur_weights
    cmap.max_buckets = bucket_array_size(len(cmap.buckets))

    last = layers[-1]
    root_name = last.name if last.size == 0 else f"{last.name}0"
    warning = None
    if len(lower_items) > 1:
        warning = (
            f"The crush rulesets will use the root {root_name}\n"
            "and ignore the others.\n"
            f"There are {len(lower_items)} roots, they can be\n"
            "grouped into a single root by appending something like:\n"
            "  root straw 0\n"
        )
    root = _find_name(cmap, root_name)
    if root is None:
        raise BuildError(f"root item {root_name} does not exist")
    cmap.rules[0] = Rule(
        id=0,
        name=RULE_NAME,
        type=RuleType.REPLICATED,
        min_size=1,
        max_size=10,
        steps=[
            RuleStep(Op.TAKE, root, 0),
            RuleStep(Op.CHOOSELEAF_FIRSTN, 0, FAILURE_DOMAIN_TYPE),
            RuleStep(Op.EMIT),
        ],
    )
    return BuildResult(cmap=cmap, warning=warning)


def _find_name(cmap: CrushMap, name: str) -> int | None:
    try:
        return cmap.id_of(name)
    except KeyError:
        return None
