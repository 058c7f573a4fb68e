"""What `ceph osd dump|tree|stat` print, plain and JSON, from an OSDMap.

The plain layouts are Ceph 16's (`OSDMap::print`, `print_summary`, the `osd tree`
table); the JSON keeps Ceph's key names for the fields our model has.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from radospy.crush import treedump
from radospy.crush.map import WEIGHT_ONE
from radospy.mon.osdmap_wire import PoolExtras
from radospy.mon.state import MonState, format_stamp
from radospy.osdmap.osdmap import (
    MAP_FLAG_NAMES,
    MapFlag,
    OSDMap,
    map_flags_string,
    osd_state_names,
)
from radospy.osdmap.pool import Pool, PoolFlag, pool_flags_string
from radospy.osdmap.tree import osd_status, shown, tree_items

_SEMIHIDDEN_FLAGS = (
    MapFlag.SORTBITWISE
    | MapFlag.RECOVERY_DELETES
    | MapFlag.PURGED_SNAPDIRS
    | MapFlag.PGLOG_HARDLIMIT
)
"""Flags `osd stat` and `ceph -s` do not show (CEPH_OSDMAP_SEMIHIDDEN_FLAGS)."""


def timespan_str(seconds: float) -> str:
    """Ceph's `timespan_str`: `0.825627s`, `60s`, `3m`, `2h`, `3d`, `2w`, `5M`, `1y`."""
    if seconds < 2:
        return f"{max(seconds, 0.0):g}s"
    sec = int(seconds)
    for limit, unit, div in ((120, "s", 1), (120 * 60, "m", 60), (48 * 3600, "h", 3600)):
        if sec < limit:
            return f"{sec // div}{unit}"
    day = sec // 86400
    if day < 14:
        return f"{day}d"
    if day // 7 < 12:
        return f"{day // 7}w"
    if day // 30 < 24:
        return f"{day // 30}M"
    return f"{day // 365}y"


def important_flags(osdmap: OSDMap) -> int:
    return osdmap.flags & ~_SEMIHIDDEN_FLAGS


# -- pools ---------------------------------------------------------------------------------


def pool_lines(pool: Pool, extras: PoolExtras | None) -> list[str]:
    """`pool N 'name' ...` and its `\\tsnap ID 'name' STAMP` lines."""
    lines = [f"pool {pool.id} '{pool.name}' {pool.describe()}"]
    if extras is not None:
        lines += [
            f"\tsnap {sid} '{snap.name}' {format_stamp(snap.stamp)}"
            for sid, snap in sorted(extras.snaps.items())
        ]
    return lines


def pool_json(pool: Pool, extras: PoolExtras | None, id_key: str) -> dict[str, Any]:
    """A pool as `osd dump` (`id_key="pool"`) or `osd pool ls detail` (`"pool_id"`) shows it."""
    extras = extras or PoolExtras()
    return {
        id_key: pool.id,
        "pool_name": pool.name,
        "create_time": format_stamp(extras.create_time),
        "flags": int(pool.flags),
        "flags_names": pool_flags_string(pool.flags),
        "type": int(pool.type),
        "size": pool.size,
        "min_size": pool.min_size,
        "crush_rule": pool.crush_rule,
        "object_hash": int(pool.object_hash),
        "pg_autoscale_mode": pool.autoscale_mode,
        "pg_num": pool.pg_num,
        "pg_placement_num": pool.pgp_num,
        "pg_placement_num_target": pool.pgp_num_target or pool.pgp_num,
        "pg_num_target": pool.pg_num_target or pool.pg_num,
        "pg_num_pending": pool.pg_num,
        "last_change": str(pool.last_change),
        "snap_mode": "pool" if pool.has_flag(PoolFlag.POOL_SNAPS) else "selfmanaged",
        "snap_seq": extras.snap_seq,
        "snap_epoch": extras.snap_epoch,
        "pool_snaps": [
            {"snapid": sid, "stamp": format_stamp(s.stamp), "name": s.name}
            for sid, s in sorted(extras.snaps.items())
        ],
        "removed_snaps": "[]",
        "quota_max_bytes": pool.quota_max_bytes,
        "quota_max_objects": pool.quota_max_objects,
        "erasure_code_profile": pool.erasure_code_profile,
        "stripe_width": pool.stripe_width,
        "expected_num_objects": 0,
        "fast_read": False,
        "options": {},
        "application_metadata": {k: dict(v) for k, v in pool.application_metadata.items()},
    }


# -- osd dump ----------------------------------------------------------------------------


def dump_text(state: MonState, osdmap: OSDMap) -> str:
    """`ceph osd dump` plain, as Ceph 16's monitor prints it."""
    lines = [
        f"epoch {osdmap.epoch}",
        f"fsid {osdmap.fsid}",
        f"created {osdmap.created}",
        f"modified {osdmap.modified}",
        f"flags {map_flags_string(osdmap.flags)}",
        f"crush_version {osdmap.crush_version}",
        f"full_ratio {osdmap.full_ratio:g}",
        f"backfillfull_ratio {osdmap.backfillfull_ratio:g}",
        f"nearfull_ratio {osdmap.nearfull_ratio:g}",
    ]
    if osdmap.require_min_compat_client:
        lines.append(f"require_min_compat_client {osdmap.require_min_compat_client}")
    lines.append(f"min_compat_client {osdmap.min_compat_client()}")
    if osdmap.require_osd_release:
        lines.append(f"require_osd_release {osdmap.require_osd_release}")
    lines.append("stretch_mode_enabled false")
    for pid in sorted(osdmap.pools):
        lines += pool_lines(osdmap.pools[pid], state.pool_extras.get(pid))
    lines.append(f"max_osd {osdmap.max_osd}")
    lines += [osdmap.print_osd_line(osd) for osd in range(osdmap.max_osd) if osdmap.exists(osd)]
    lines += [f"pg_upmap {pg} {_ids(osds)}" for pg, osds in sorted(osdmap.pg_upmap.items())]
    lines += [
        f"pg_upmap_items {pg} {_ids([o for pair in pairs for o in pair])}"
        for pg, pairs in sorted(osdmap.pg_upmap_items.items())
    ]
    lines += [f"pg_temp {pg} {_ids(osds)}" for pg, osds in sorted(osdmap.pg_temp.items())]
    lines += [f"primary_temp {pg} {osd}" for pg, osd in sorted(osdmap.primary_temp.items())]
    return "".join(line + "\n" for line in lines)


def _ids(osds: list[int]) -> str:
    return "[" + ",".join(map(str, osds)) + "]"


def dump_json(state: MonState, osdmap: OSDMap) -> dict[str, Any]:
    """`ceph osd dump -f json`: Ceph's keys for what the model holds."""
    flag_names = sorted(name for bit, name in MAP_FLAG_NAMES.items() if osdmap.flags & bit)
    return {
        "epoch": osdmap.epoch,
        "fsid": osdmap.fsid,
        "created": osdmap.created,
        "modified": osdmap.modified,
        "last_up_change": format_stamp(state.last_up_change),
        "last_in_change": format_stamp(state.last_in_change),
        "flags": map_flags_string(osdmap.flags),
        "flags_num": int(osdmap.flags),
        "flags_set": flag_names,
        "crush_version": osdmap.crush_version,
        "full_ratio": osdmap.full_ratio,
        "backfillfull_ratio": osdmap.backfillfull_ratio,
        "nearfull_ratio": osdmap.nearfull_ratio,
        "cluster_snapshot": "",
        "pool_max": osdmap.pool_max,
        "max_osd": osdmap.max_osd,
        "require_min_compat_client": osdmap.require_min_compat_client,
        "min_compat_client": osdmap.min_compat_client(),
        "require_osd_release": osdmap.require_osd_release,
        "pools": [
            pool_json(osdmap.pools[pid], state.pool_extras.get(pid), "pool")
            for pid in sorted(osdmap.pools)
        ],
        "osds": [_osd_json(osdmap, osd) for osd in range(osdmap.max_osd) if osdmap.exists(osd)],
        "osd_xinfo": [
            _xinfo_json(osdmap, osd) for osd in range(osdmap.max_osd) if osdmap.exists(osd)
        ],
        "pg_upmap": [
            {"pgid": str(pg), "osds": list(osds)} for pg, osds in sorted(osdmap.pg_upmap.items())
        ],
        "pg_upmap_items": [
            {"pgid": str(pg), "mappings": [{"from": a, "to": b} for a, b in pairs]}
            for pg, pairs in sorted(osdmap.pg_upmap_items.items())
        ],
        "pg_temp": [
            {"pgid": str(pg), "osds": list(osds)} for pg, osds in sorted(osdmap.pg_temp.items())
        ],
        "primary_temp": [
            {"pgid": str(pg), "osd": osd} for pg, osd in sorted(osdmap.primary_temp.items())
        ],
        "blocklist": {},
        "erasure_code_profiles": {
            name: dict(profile) for name, profile in sorted(osdmap.erasure_code_profiles.items())
        },
    }


def _osd_json(osdmap: OSDMap, osd: int) -> dict[str, Any]:
    info = osdmap.osds[osd]
    return {
        "osd": osd,
        "uuid": info.uuid,
        "up": int(osdmap.is_up(osd)),
        "in": int(osdmap.is_in(osd)),
        "weight": info.weight / WEIGHT_ONE,
        "primary_affinity": info.primary_affinity / WEIGHT_ONE,
        "last_clean_begin": info.last_clean_begin,
        "last_clean_end": info.last_clean_end,
        "up_from": info.up_from,
        "up_thru": info.up_thru,
        "down_at": info.down_at,
        "lost_at": info.lost_at,
        "state": osd_state_names(info.state),
    }


def _xinfo_json(osdmap: OSDMap, osd: int) -> dict[str, Any]:
    """Ceph's `osd_xinfo_t::dump`; the fields radospy does not keep (features, the
    weight before an automatic out, snap-trim scrub stamp, dead epoch) as Ceph prints
    them unset."""
    info = osdmap.osds[osd]
    return {
        "osd": osd,
        "down_stamp": _utime(info.down_stamp),
        "laggy_probability": info.laggy_probability,
        "laggy_interval": info.laggy_interval,
        "features": 0,
        "old_weight": 0,
        "last_purged_snaps_scrub": _utime(0.0),
        "dead_epoch": 0,
    }


def _utime(stamp: float) -> str:
    # Ceph's utime_t prints a time within ten years of 1970 as seconds.microseconds
    # (an unset one as "0.000000"), any other as a date.
    if stamp < 10 * 365 * 86400:
        return f"{stamp:.6f}"
    return format_stamp(stamp)


# -- osd stat ----------------------------------------------------------------------------


def stat_counts(osdmap: OSDMap) -> tuple[int, int, int]:
    """(existing, up, in) OSD counts."""
    ids = [osd for osd in range(osdmap.max_osd) if osdmap.exists(osd)]
    return (
        len(ids),
        sum(1 for osd in ids if osdmap.is_up(osd)),
        sum(1 for osd in ids if osdmap.is_in(osd)),
    )


def stat_summary(state: MonState, now: float) -> str:
    """`OSDMap::print_summary`: the `N osds: U up, I in; epoch: eE` line and the flags."""
    osdmap = state.osdmap
    num, up, inn = stat_counts(osdmap)
    text = f"{num} osds: {up} up"
    if state.last_up_change:
        text += f" (since {timespan_str(now - state.last_up_change)})"
    text += f", {inn} in"
    if state.last_in_change:
        text += f" (since {timespan_str(now - state.last_in_change)})"
    text += f"; epoch: e{osdmap.epoch}"
    if osdmap.pg_temp:
        text += f"; {len(osdmap.pg_temp)} remapped pgs"
    text += "\n"
    flags = important_flags(osdmap)
    if flags:
        text += f"flags {map_flags_string(flags)}\n"
    return text


def stat_json(state: MonState) -> dict[str, Any]:
    num, up, inn = stat_counts(state.osdmap)
    return {
        "epoch": state.osdmap.epoch,
        "num_osds": num,
        "num_up_osds": up,
        "osd_up_since": int(state.last_up_change),
        "num_in_osds": inn,
        "osd_in_since": int(state.last_in_change),
        "num_remapped_pgs": len(state.osdmap.pg_temp),
    }


# -- osd tree ------------------------------------------------------------------------------


def tree_json(osdmap: OSDMap, states: Collection[str] = ()) -> dict[str, Any]:
    """`ceph osd tree [STATES...] -f json`: `nodes` in tree order, `stray` for unplaced
    OSDs; with `states`, only what `tree_items` keeps (children lists too)."""
    cmap = osdmap.crush
    nodes: list[dict[str, Any]] = []
    stray: list[dict[str, Any]] = []
    for item in tree_items(osdmap, states):
        if item.id < 0:
            bucket = cmap.buckets[item.id]
            node: dict[str, Any] = {
                "id": item.id,
                "name": bucket.name,
                "type": cmap.types.get(bucket.type_id, ""),
                "type_id": bucket.type_id,
            }
            if item.parent:
                node["pool_weights"] = {}
            node["children"] = [c for c in reversed(bucket.items) if shown(osdmap, c, states)]
            nodes.append(node)
            continue
        placed = item.parent != 0
        (nodes if placed else stray).append(_tree_osd_json(osdmap, item, placed))
    return {"nodes": nodes, "stray": stray}


def _tree_osd_json(osdmap: OSDMap, item: treedump.Item, placed: bool) -> dict[str, Any]:
    cmap = osdmap.crush
    node: dict[str, Any] = {"id": item.id}
    device_class = treedump.class_cell(cmap, item.id)
    if device_class:
        node["device_class"] = device_class
    node.update(
        {
            "name": f"osd.{item.id}",
            "type": "osd",
            "type_id": 0,
            "crush_weight": item.weight / WEIGHT_ONE,
            "depth": item.depth,
        }
    )
    if placed:
        node["pool_weights"] = {}
    exists = osdmap.exists(item.id)
    node["exists"] = int(exists)
    if exists:
        info = osdmap.osds[item.id]
        node["status"] = osd_status(osdmap, item.id)
        node["reweight"] = info.weight / WEIGHT_ONE
        node["primary_affinity"] = info.primary_affinity / WEIGHT_ONE
    return node
