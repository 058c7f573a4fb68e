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


def location_string(cmap: CrushMap, item: int) -> str:
    """``root=default,host=h3``: Ceph's ``get_full_location_ordered_string``."""
    return ",".join(f"{kind}={name}" for kind, name in full_location(cmap, item))
