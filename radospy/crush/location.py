"""Where an item sits in the CRUSH hierarchy (Ceph's ``CrushWrapper::get_full_location``)."""

from __future__ import annotations

from radospy.crush.map import CrushMap


def full_location(cmap: CrushMap, item: int) -> list[tuple[str, str]]:
    """``(type, name)`` of ``item``'s ancestors, root first, following the first
    non-shadow bucket holding it at each level; empty for an item in no bucket."""
    path: list[tuple[str, str]] = []
    while len(path) <= len(cmap.buckets):
        parent = next(
            (
                b
                for b in sorted(cmap.buckets)
                if item in cmap.buckets[b].items and not cmap.is_shadow(b)
            ),
            None,
        )
        if parent is None:
            break
        bucket = cmap.buckets[parent]
        path.insert(0, (cmap.types.get(bucket.type_id, ""), bucket.name))
        item = parent
    return path


def parent_bucket(cmap: CrushMap, item: int) -> int | None:
    """The first non-shadow bucket holding ``item`` in Ceph's bucket order (-1, -2, ...:
    ``CrushWrapper::get_immediate_parent_id``); None for a root or an unplaced item."""
    for bucket_id in sorted(cmap.buckets, reverse=True):
        if not cmap.is_shadow(bucket_id) and item in cmap.buckets[bucket_id].items:
            return bucket_id
    return None


def devices_under(cmap: CrushMap, bucket: int) -> set[int]:
    """Every device (OSD id) anywhere below ``bucket``."""
    devices: set[int] = set()
    stack = [bucket]
    while stack:
        item = stack.pop()
        if item >= 0:
            devices.add(item)
        elif item in cmap.buckets:
            stack.extend(cmap.buckets[item].items)
    return devices


def location_string(cmap: CrushMap, item: int) -> str:
    """``root=default,host=h3``: Ceph's ``get_full_location_ordered_string``."""
    return ",".join(f"{kind}={name}" for kind, name in full_location(cmap, item))
