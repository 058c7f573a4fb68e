"""OSDMap.copy: equal to the original and sharing no mutable object with it (but the
CRUSH map, when asked to share it), so changing the copy never changes the original."""

from __future__ import annotations

import dataclasses
from typing import Any

from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

from .mon_helpers import with_osds


def _mutables(obj: Any, skip: Any, found: dict[int, Any]) -> dict[int, Any]:
    """Every list, dict, set and dataclass instance reachable from `obj`, by id."""
    if obj is skip or id(obj) in found:
        return found
    if isinstance(obj, (list, dict, set)) or (
        dataclasses.is_dataclass(obj) and not isinstance(obj, type)
    ):
        found[id(obj)] = obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            _mutables(key, skip, found)
            _mutables(value, skip, found)
    elif isinstance(obj, (list, tuple, set)):
        for item in obj:
            _mutables(item, skip, found)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        frozen = obj.__dataclass_params__.frozen  # type: ignore[attr-defined]
        if frozen:
            del found[id(obj)]
        for f in dataclasses.fields(obj):
            _mutables(getattr(obj, f.name), skip, found)
    return found


def _busy_map() -> OSDMap:
    mon = with_osds(3)
    for line in (
        "osd pool create rbd 16",
        "osd pool create e1 4 4 erasure",
        "osd pool application enable rbd rbd",
        "osd crush set-device-class ssd 0",
    ):
        mon.run(line)
    osdmap = mon.state.osdmap.copy()
    osdmap.pg_temp[PgId(1, 0)] = [0, 1]
    osdmap.primary_temp[PgId(1, 0)] = 1
    osdmap.pg_upmap[PgId(1, 1)] = [2, 1]
    osdmap.pg_upmap_items[PgId(1, 2)] = [(0, 2)]
    return osdmap


def test_a_copy_is_equal_and_independent() -> None:
    original = _busy_map()
    for share_crush in (False, True):
        copy = original.copy(crush=not share_crush)
        assert copy == original
        skip = original.crush if share_crush else None
        shared = set(_mutables(copy, skip, {})) & set(_mutables(original, skip, {}))
        assert not shared, [type(_mutables(copy, skip, {})[i]).__name__ for i in shared]
        assert (copy.crush is original.crush) == share_crush
