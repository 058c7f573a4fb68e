"""Edits of a live crushmap, as `ceph osd crush add|remove|reweight` make them.

Each function mirrors the `CrushWrapper` method of the same purpose: weights are carried
up to every ancestor, and the device-class shadow trees are rebuilt afterwards keeping
the shadow ids they had (`rebuild_roots_with_classes`), because those ids feed the hash.
Every edit ends by dropping the mapper's prepared form of the map, so the next mapping
sees the change.
"""

from __future__ import annotations

from collections.abc import Mapping

from radospy.common.errors import Exists, InvalidArgument, NotFound
from radospy.crush import builder, classes, mapper
from radospy.crush.map import Bucket, BucketAlg, CrushMap


def rebuild_shadow_trees(cmap: CrushMap) -> None:
    """Drop every shadow bucket and build them again, each under its old id.

    This ends every edit, so it also invalidates the mapper's cache of `cmap`.
    """
    old = {original: dict(per_class) for original, per_class in cmap.class_buckets.items()}
    for bucket_id in [b for b in cmap.buckets if cmap.is_shadow(b)]:
        del cmap.buckets[bucket_id]
        cmap.device_classes.pop(bucket_id, None)
    cmap.class_buckets.clear()
    try:
        classes.populate_classes(cmap, old)
    finally:
        mapper.invalidate(cmap)


def remove_item(cmap: CrushMap, item: int) -> None:
    """Unlink `item` from every bucket and forget it (`CrushWrapper::remove_item`).

    A bucket must be empty to be removed (ENOTEMPTY-like InvalidArgument otherwise);
    a device loses its name and class as well.
    """
    if item < 0:
        bucket = cmap.buckets.get(item)
        if bucket is None or cmap.is_shadow(item):
            raise NotFound(f"bucket {item} does not exist")
        if bucket.items:
            raise InvalidArgument(f"bucket '{bucket.name}' is not empty")
    elif item not in cmap.device_names:
        raise NotFound(f"device osd.{item} does not exist")
    unlink_item(cmap, item)
    if item < 0:
        del cmap.buckets[item]
    else:
        del cmap.device_names[item]
        cmap.device_classes.pop(item, None)
    rebuild_shadow_trees(cmap)


def unlink_item(cmap: CrushMap, item: int, scope: set[int] | None = None) -> bool:
    """Take `item` out of every bucket (or every bucket of `scope`), carrying the weight
    change up the tree; True if it was linked anywhere. Shadow trees are not rebuilt."""
    scv = cmap.tunables.straw_calc_version
    found = False
    for bucket_id in sorted(cmap.buckets if scope is None else scope, reverse=True):
        bucket = cmap.buckets[bucket_id]
        if cmap.is_shadow(bucket_id) or item not in bucket.items:
            continue
        builder.bucket_adjust_item_weight(bucket, item, 0, scv)
        builder.bucket_remove_item(bucket, item, scv)
        builder.adjust_item_weight(cmap, bucket_id, bucket.weight)
        found = True
    return found


def reweight_item(cmap: CrushMap, item: int, weight: int) -> None:
    """Set the CRUSH weight (16.16) of `item` wherever it is linked, ancestors included."""
    if weight < 0:
        raise InvalidArgument("weight must be non-negative")
    if builder.adjust_item_weight(cmap, item, weight) == 0:
        raise NotFound(f"item {item} is not in the crush hierarchy")
    rebuild_shadow_trees(cmap)


def insert_device(
    cmap: CrushMap,
    device: int,
    weight: int,
    location: Mapping[str, str],
    device_class: str | None = None,
) -> None:
    """Add device `osd.N` at `location` ({type name: bucket name}), creating the buckets
    the location names but the map lacks (`CrushWrapper::insert_item`).

    Walks the location from the lowest type up: the device goes into the bucket of the
    lowest type given; a missing bucket is created (straw2) and then itself placed in
    the next level, until an existing bucket is reached.
    """
    if device < 0:
        raise InvalidArgument(f"invalid device id {device}")
    if device in cmap.device_names:
        raise Exists(f"device osd.{device} already exists")
    if weight < 0:
        raise InvalidArgument("weight must be non-negative")
    levels = _location_levels(cmap, location)
    check_linkable(cmap, device, levels)
    cmap.device_names[device] = f"osd.{device}"
    cmap.max_devices = max(cmap.max_devices, device + 1)
    if device_class is not None:
        cmap.device_classes[device] = classes.get_or_create_class_id(cmap, device_class)
    link_item(cmap, device, weight, levels)
    rebuild_shadow_trees(cmap)


def check_linkable(cmap: CrushMap, item: int, levels: list[tuple[int, str]]) -> None:
    """Refuse a location before anything changes: it must name some level, and the first
    bucket it names that exists must be of the type the location gives it and must not
    hold `item` already."""
    if not levels:
        raise InvalidArgument("location names no bucket type")
    for type_id, name in levels:
        existing = _bucket_by_name(cmap, name)
        if existing is not None:
            if existing.type_id != type_id:
                raise InvalidArgument(f"bucket '{name}' is not of type {cmap.types[type_id]}")
            if item in existing.items:
                raise Exists(f"item {cmap.name_of(item)} is already in bucket '{name}'")
            return


def link_item(cmap: CrushMap, item: int, weight: int, levels: list[tuple[int, str]]) -> None:
    """Add `item` with `weight` at `levels` ((type id, bucket name) from the lowest up),
    creating missing buckets (straw2) up to the first existing one, whose ancestors get
    the new weight (`CrushWrapper::insert_item`). Call `check_linkable` first; shadow
    trees are not rebuilt."""
    scv = cmap.tunables.straw_calc_version
    child, child_weight = item, weight
    for type_id, name in levels:
        existing = _bucket_by_name(cmap, name)
        if existing is not None:
            builder.bucket_add_item(existing, child, child_weight, scv)
            builder.adjust_item_weight(cmap, existing.id, existing.weight)
            return
        bucket = Bucket(id=0, name=name, type_id=type_id, alg=BucketAlg.STRAW2)
        builder.bucket_add_item(bucket, child, child_weight, scv)
        bucket.id = classes.add_bucket_slot(cmap, 0)
        cmap.buckets[bucket.id] = bucket
        child, child_weight = bucket.id, bucket.weight


def _location_levels(cmap: CrushMap, location: Mapping[str, str]) -> list[tuple[int, str]]:
    levels = []
    for type_name, bucket_name in location.items():
        try:
            type_id = cmap.type_id(type_name)
        except KeyError:
            raise InvalidArgument(f"unknown crush type '{type_name}'") from None
        if type_id == 0:
            raise InvalidArgument(f"'{type_name}' is the device type, not a bucket type")
        levels.append((type_id, bucket_name))
    return sorted(levels)


def _bucket_by_name(cmap: CrushMap, name: str) -> Bucket | None:
    for bucket in cmap.buckets.values():
        if bucket.name == name:
            return bucket
    return None
