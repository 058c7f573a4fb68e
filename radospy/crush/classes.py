"""Device classes: class ids and the per-class shadow trees, as `CrushWrapper` builds them.

A rule that says `step take default class ssd` starts from `default~ssd`, a copy of the
`default` subtree that keeps only the devices of class `ssd`. Ceph builds these shadow
buckets in `populate_classes` / `device_class_clone`; their ids feed the CRUSH hash, so
the order in which they are made and the ids they get must be exactly Ceph's.
"""

from __future__ import annotations

from collections.abc import Mapping

from radospy.common.errors import Exists, InvalidArgument
from radospy.crush import builder
from radospy.crush.map import Bucket, BucketAlg, CrushMap

SHADOW_SEPARATOR = "~"
"""Separates the original bucket name from the class name in a shadow bucket's name."""


def alloc_class_id(cmap: CrushMap) -> int:
    """The id Ceph gives the next new class (`_alloc_class_id`): one past the largest."""
    if not cmap.class_names:
        return 0
    return max(cmap.class_names) + 1


def get_or_create_class_id(cmap: CrushMap, name: str) -> int:
    """The id of class `name`, creating the class if the map does not know it yet."""
    for class_id, class_name in cmap.class_names.items():
        if class_name == name:
            return class_id
    class_id = alloc_class_id(cmap)
    cmap.class_names[class_id] = name
    return class_id


def add_bucket_slot(cmap: CrushMap, bucket_id: int) -> int:
    """Reserve the slot of `bucket_id` as `crush_add_bucket` does; return the id used.

    Id 0 means "the first free slot". The bucket array grows by doubling from 8, which
    is what `max_buckets` records. Raises Exists if the slot is taken.
    """
    if bucket_id == 0:
        bucket_id = next_free_bucket_id(cmap)
    position = -1 - bucket_id
    while position >= cmap.max_buckets:
        cmap.max_buckets = cmap.max_buckets * 2 if cmap.max_buckets else 8
    if bucket_id in cmap.buckets:
        raise Exists(f"bucket id {bucket_id} is already in use")
    return bucket_id


def next_free_bucket_id(cmap: CrushMap) -> int:
    """`crush_get_next_bucket_id`: the first empty slot of the bucket array (or just past it)."""
    position = 0
    while position < cmap.max_buckets and (-1 - position) in cmap.buckets:
        position += 1
    return -1 - position


def nonshadow_roots(cmap: CrushMap) -> list[int]:
    """Ids of the buckets no bucket contains, shadows excluded, ascending (a std::set)."""
    contained = {item for bucket in cmap.buckets.values() for item in bucket.items}
    return sorted(
        bucket.id
        for bucket in cmap.buckets.values()
        if bucket.id not in contained and SHADOW_SEPARATOR not in bucket.name
    )


def populate_classes(cmap: CrushMap, reserved: Mapping[int, Mapping[int, int]]) -> None:
    """Build the shadow tree of every class under every root (`populate_classes`).

    `reserved` maps an original bucket id to {class id: shadow id} for shadow ids that
    must be kept (the `id -N class C` lines of a text map); other shadows get the first
    id free in the map and not reserved. On failure the shadows built so far stay in
    the map and the error (InvalidArgument or Exists) is raised, as Ceph leaves them.
    """
    used = {shadow for per_class in reserved.values() for shadow in per_class.values()}
    names = {bucket.name: bucket.id for bucket in cmap.buckets.values()}
    for root in nonshadow_roots(cmap):
        for class_id in sorted(cmap.class_names):
            _clone(cmap, root, class_id, reserved, used, names)


def _clone(
    cmap: CrushMap,
    original_id: int,
    class_id: int,
    reserved: Mapping[int, Mapping[int, int]],
    used: set[int],
    names: dict[str, int],
) -> int:
    original = cmap.buckets[original_id]
    name = f"{original.name}{SHADOW_SEPARATOR}{cmap.class_names[class_id]}"
    if name in names:
        return names[name]
    copy = Bucket(id=0, name=name, type_id=original.type_id, alg=original.alg, hash=original.hash)
    straw_calc_version = cmap.tunables.straw_calc_version
    for item, weight in zip(original.items, original.item_weights, strict=True):
        if item >= 0:
            if cmap.device_classes.get(item) != class_id:
                continue
        else:
            item = _clone(cmap, item, class_id, reserved, used, names)
            weight = cmap.buckets[item].weight
        if copy.alg == BucketAlg.UNIFORM and weight != 0:
            # A new uniform bucket has item weight 0 and refuses any other weight, so
            # Ceph cannot build this shadow tree.
            raise InvalidArgument(
                f"cannot build shadow bucket {name!r}: uniform bucket {original.name!r} "
                "has items of non-zero weight"
            )
        try:
            builder.bucket_add_item(copy, item, weight, straw_calc_version)
        except builder.WeightOverflowError:
            raise InvalidArgument(
                f"cannot build shadow bucket {name!r}: its weight overflows"
            ) from None
    shadow_id = reserved.get(original_id, {}).get(class_id)
    if shadow_id is None:
        shadow_id = -1
        while shadow_id in cmap.buckets or shadow_id in used:
            shadow_id -= 1
    copy.id = add_bucket_slot(cmap, shadow_id)
    cmap.buckets[copy.id] = copy
    # Ceph's class_map records the class of each shadow bucket too (it is encoded).
    cmap.device_classes[copy.id] = class_id
    names[name] = copy.id
    cmap.class_buckets.setdefault(original_id, {})[class_id] = copy.id
    return copy.id


def split_id_class(cmap: CrushMap, item: int) -> tuple[int, int | None]:
    """(original id, class id) of a shadow bucket; (item, None) for anything else."""
    name = cmap.name_of(item)
    base, sep, class_name = name.partition(SHADOW_SEPARATOR)
    if not sep:
        return item, None
    try:
        return cmap.id_of(base), cmap.class_id(class_name)
    except KeyError:
        raise InvalidArgument(f"shadow bucket {name!r} has no original bucket or class") from None
