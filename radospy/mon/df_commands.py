"""Usage and fullness commands: `ceph df [detail]`, `ceph osd df [plain|tree]`, the full
ratios (`osd set-full-ratio`, `set-backfillfull-ratio`, `set-nearfull-ratio`) and the
leader's own `osd full-status`.

The figures come from the leader's in-memory PG stats (`CommandContext.pgmap`), laid out
as Ceph 16 lays them out (PGMapDigest::dump_cluster_stats / dump_pool_stats_full,
OSDUtilizationDumper). A pool's USED is its logical bytes times its raw-used rate
(replicas, or (k+m)/k), and MAX AVAIL is Ceph's projection: the least free space above
the full ratio among the OSDs the pool maps to, scaled by each OSD's share of CRUSH
weight, divided by that rate.
"""

from __future__ import annotations

import math
from typing import Any

from radospy.common.errors import InvalidArgument
from radospy.common.units import byte_u, lowprecision, percentify, si_u
from radospy.crush import treedump
from radospy.crush.map import WEIGHT_ONE
from radospy.mon import full_status
from radospy.mon.cmdspec import (
    Command,
    CommandContext,
    CommandResult,
    Outcome,
    done,
    dump_json,
    reply,
    unchanged,
)
from radospy.mon.messages import OsdStat
from radospy.mon.pgmap import PGMap, PoolStats, used_raw
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pool import Pool
from radospy.osdmap.tree import tree_items

_LEFT, _RIGHT = treedump.Align.LEFT, treedump.Align.RIGHT


# --- helpers shared by the tables ---------------------------------------------------------


def raw_used_rate(osdmap: OSDMap, pool: Pool) -> float:
    """Raw bytes per stored byte: the replica count, or (k+m)/k for an erasure pool."""
    if pool.is_erasure:
        profile = osdmap.erasure_code_profiles.get(pool.erasure_code_profile, {})
        k, m = int(profile.get("k", 2)), int(profile.get("m", 1))
        return (k + m) / k if k else 1.0
    return float(pool.size)


def crush_weights(osdmap: OSDMap) -> dict[int, float]:
    """Each placed OSD's CRUSH weight (the first non-shadow bucket holding it)."""
    weights: dict[int, float] = {}
    cmap = osdmap.crush
    for bucket_id in sorted(cmap.buckets, reverse=True):
        if cmap.is_shadow(bucket_id):
            continue
        bucket = cmap.buckets[bucket_id]
        for item, weight in zip(bucket.items, bucket.item_weights, strict=True):
            if item >= 0:
                weights.setdefault(item, weight / WEIGHT_ONE)
    return weights


def raw_avail(osdmap: OSDMap, pgmap: PGMap, osds: set[int], weights: dict[int, float]) -> int:
    """Ceph's `get_rule_avail`: raw bytes the pool's OSDs can take before the fullest
    (relative to its weight share) passes the full ratio."""
    total_weight = sum(weights.get(o, 0.0) for o in osds)
    best = -1.0
    for osd in sorted(osds):
        stat = pgmap.osd_stats.get(osd)
        share = weights.get(osd, 0.0) / total_weight if total_weight else 0.0
        if stat is None or stat.total == 0 or share == 0:
            continue
        unusable = stat.total * (1.0 - osdmap.full_ratio)
        proj = max(0.0, stat.available - unusable) / share
        if best < 0 or proj < best:
            best = proj
    return int(max(best, 0.0))


def _device_class(osdmap: OSDMap, osd: int) -> str:
    return treedump.class_cell(osdmap.crush, osd)


# --- ceph df --------------------------------------------------------------------------------


def _pool_row(
    osdmap: OSDMap, pool: Pool, stats: PoolStats, avail_raw: int
) -> tuple[int, int, float, int]:
    """(stored, used, %used ratio, max avail) of a pool."""
    rate = raw_used_rate(osdmap, pool)
    used = int(stats.num_bytes * rate)
    ratio = used / (used + avail_raw) if avail_raw else 1.0 if used else 0.0
    return stats.num_bytes, used, ratio, int(avail_raw / rate) if rate else 0


def df(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap, pgmap = state.osdmap, ctx.pgmap
    verbose = cmd.get("detail") == "detail"
    total = pgmap.osd_sum()
    classes: dict[str, set[int]] = {}
    for osd in sorted(pgmap.osd_stats):
        cls = _device_class(osdmap, osd)
        if cls:
            classes.setdefault(cls, set()).add(osd)
    by_class = {cls: pgmap.osd_sum(osds) for cls, osds in sorted(classes.items())}
    placement = pgmap.pool_osds(osdmap)
    weights = crush_weights(osdmap)
    sums = pgmap.pool_stats()
    rows = []
    for pool_id, pool in sorted(osdmap.pools.items()):
        stats = sums.get(pool_id, PoolStats())
        avail = raw_avail(osdmap, pgmap, placement.get(pool_id, set()), weights)
        rows.append((pool, stats, avail, *_pool_row(osdmap, pool, stats, avail)))
    if cmd["format"] != "plain":
        body: dict[str, Any] = {
            "stats": {
                "total_bytes": total.total,
                "total_avail_bytes": total.available,
                "total_used_bytes": total.used_raw,
                "total_used_raw_bytes": total.used_raw,
                "total_used_raw_ratio": total.used_raw_ratio,
                "num_osds": total.num_osds,
                "num_per_pool_osds": total.num_osds,
                "num_per_pool_omap_osds": total.num_osds,
            },
            "stats_by_class": {
                cls: {
                    "total_bytes": s.total,
                    "total_avail_bytes": s.available,
                    "total_used_bytes": s.used_raw,
                    "total_used_raw_bytes": s.used_raw,
                    "total_used_raw_ratio": s.used_raw_ratio,
                }
                for cls, s in by_class.items()
            },
            "pools": [
                {"name": p.name, "id": p.id, "stats": _pool_json(p, s, a, row, verbose)}
                for p, s, a, *row in rows
            ],
        }
        return reply(outbuf=dump_json(body, cmd["format"]))
    raw = treedump.TextTable(
        [
            treedump.Column("CLASS", _LEFT, _LEFT),
            *(
                treedump.Column(h, _RIGHT, _RIGHT)
                for h in ("SIZE", "AVAIL", "USED", "RAW USED", "%RAW USED")
            ),
        ]
    )
    for name, s in [*by_class.items(), ("TOTAL", total)]:
        raw.add_row(
            [
                name,
                byte_u(s.total),
                byte_u(s.available),
                byte_u(s.used_raw),
                byte_u(s.used_raw),
                percentify(s.used_raw_ratio * 100),
            ]
        )
    headings = ["ID", "PGS", "STORED", "OBJECTS", "USED", "%USED", "MAX AVAIL"]
    if verbose:
        headings += ["QUOTA OBJECTS", "QUOTA BYTES", "DIRTY", "USED COMPR", "UNDER COMPR"]
    pools = treedump.TextTable(
        [treedump.Column("POOL", _LEFT, _LEFT)]
        + [treedump.Column(h, _RIGHT, _RIGHT) for h in headings]
    )
    for pool, stats, _, stored, used, ratio, max_avail in rows:
        cells = [
            pool.name,
            str(pool.id),
            str(pool.pg_num),
            byte_u(stored),
            si_u(stats.num_objects),
            byte_u(used),
            percentify(ratio * 100),
            byte_u(max_avail),
        ]
        if verbose:
            cells += [
                si_u(pool.quota_max_objects) if pool.quota_max_objects else "N/A",
                byte_u(pool.quota_max_bytes) if pool.quota_max_bytes else "N/A",
                "N/A",
                "0 B",
                "0 B",
            ]
        pools.add_row(cells)
    text = "--- RAW STORAGE ---\n" + raw.render() + "\n--- POOLS ---\n" + pools.render()
    return reply(outbuf=text)


def _pool_json(
    pool: Pool, stats: PoolStats, avail_raw: int, row: list[Any], verbose: bool
) -> dict[str, Any]:
    stored, used, ratio, max_avail = row
    out: dict[str, Any] = {"stored": stored}
    if verbose:
        out.update(stored_data=stored, stored_omap=0)
    out.update(objects=stats.num_objects, kb_used=-(-used // 1024), bytes_used=used)
    if verbose:
        out.update(data_bytes_used=used, omap_bytes_used=0)
    out.update(percent_used=ratio, max_avail=max_avail)
    if verbose:
        out.update(
            quota_objects=pool.quota_max_objects,
            quota_bytes=pool.quota_max_bytes,
            dirty=0,
            rd=0,
            rd_bytes=0,
            wr=0,
            wr_bytes=0,
            compress_bytes_used=0,
            compress_under_bytes=0,
            stored_raw=used,
            avail_raw=avail_raw,
        )
    return out


# --- ceph osd df ----------------------------------------------------------------------------


def _usage(stat: OsdStat | None) -> tuple[int, int, int, int, int, int]:
    """(size, raw use, data, omap, meta, avail) of an OSD; zeros when unreported."""
    if stat is None:
        return 0, 0, 0, 0, 0, 0
    raw = used_raw(stat)
    meta = max(0, raw - stat.data - stat.omap)
    return stat.total, raw, stat.data, stat.omap, meta, stat.available


def _sum_usage(rows: list[tuple[int, int, int, int, int, int]]) -> tuple[int, ...]:
    return tuple(sum(col) for col in zip(*rows, strict=True)) if rows else (0,) * 6


def osd_df(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap, pgmap = state.osdmap, ctx.pgmap
    tree = cmd.get("output_method") == "tree"
    cmap = osdmap.crush
    items = [i for i in tree_items(osdmap) if tree or i.id >= 0]
    pgs = pgmap.pgs_by_osd()
    osds = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
    usage = {o: _usage(pgmap.osd_stats.get(o)) for o in osds}
    total = _sum_usage(list(usage.values()))
    average = 100.0 * total[1] / total[0] if total[0] else 0.0

    def util(u: tuple[int, ...]) -> float:
        return 100.0 * u[1] / u[0] if u[0] else 0.0

    def var(u: tuple[int, ...]) -> float:
        return util(u) / average if average else 0.0

    reporting = [usage[o] for o in osds if o in pgmap.osd_stats]
    variances = [var(u) for u in reporting]
    min_var = min(variances, default=0.0)
    max_var = max(variances, default=0.0)
    dev = (
        math.sqrt(sum((util(u) - average) ** 2 for u in reporting) / len(reporting))
        if (reporting)
        else 0.0
    )

    def item_usage(item: treedump.Item) -> tuple[int, ...]:
        if item.id >= 0:
            return usage.get(item.id, (0,) * 6)
        under = _leaves(osdmap, item.id)
        return _sum_usage([usage[o] for o in sorted(under) if o in usage])

    if cmd["format"] != "plain":
        nodes = [_df_node(osdmap, item, item_usage(item), util, var, pgs) for item in items]
        summary = {
            "total_kb": total[0] // 1024,
            "total_kb_used": total[1] // 1024,
            "total_kb_used_data": total[2] // 1024,
            "total_kb_used_omap": total[3] // 1024,
            "total_kb_used_meta": total[4] // 1024,
            "total_kb_avail": total[5] // 1024,
            "average_utilization": average,
            "min_var": min_var,
            "max_var": max_var,
            "dev": dev,
        }
        return reply(
            outbuf=dump_json({"nodes": nodes, "stray": [], "summary": summary}, cmd["format"])
        )
    columns = [
        treedump.Column("ID", _LEFT, _RIGHT),
        treedump.Column("CLASS", _LEFT, _RIGHT),
        treedump.Column("WEIGHT", _LEFT, _RIGHT),
        treedump.Column("REWEIGHT", _LEFT, _RIGHT),
        *(
            treedump.Column(h, _RIGHT, _RIGHT)
            for h in (
                "SIZE",
                "RAW USE",
                "DATA",
                "OMAP",
                "META",
                "AVAIL",
                "%USE",
                "VAR",
                "PGS",
                "STATUS",
            )
        ),
    ]
    if tree:
        columns.append(treedump.Column("TYPE NAME", _LEFT, _LEFT))
    table = treedump.TextTable(columns)
    for item in items:
        u = item_usage(item)
        if item.id >= 0:
            info = osdmap.osds[item.id]
            cells = [
                str(item.id),
                _device_class(osdmap, item.id),
                treedump.weightf(item.weight),
                treedump.weightf_float(info.weight / WEIGHT_ONE),
            ]
        else:
            cells = [str(item.id), "", treedump.weightf(item.weight), "-"]
        cells += [byte_u(v) for v in u]
        cells += [lowprecision(util(u)), lowprecision(var(u))]
        if item.id >= 0:
            status = "up" if osdmap.is_up(item.id) else "down"
            cells += [str(pgs.get(item.id, 0)), status]
        else:
            cells += ["-", ""]
        if tree:
            cells.append(treedump.type_name_cell(cmap, item))
        table.add_row(cells)
    table.add_row(["", "", "", "TOTAL", *(byte_u(v) for v in total), lowprecision(average)])
    text = table.render()
    text += (
        f"MIN/MAX VAR: {lowprecision(min_var)}/{lowprecision(max_var)}"
        f"  STDDEV: {lowprecision(dev)}\n"
    )
    return reply(outbuf=text)


def _leaves(osdmap: OSDMap, bucket_id: int) -> set[int]:
    """The devices under a bucket."""
    out: set[int] = set()
    stack = [bucket_id]
    buckets = osdmap.crush.buckets
    while stack:
        item = stack.pop()
        if item >= 0:
            out.add(item)
        elif item in buckets:
            stack.extend(buckets[item].items)
    return out


def _df_node(
    osdmap: OSDMap,
    item: treedump.Item,
    u: tuple[int, ...],
    util: Any,
    var: Any,
    pgs: dict[int, int],
) -> dict[str, Any]:
    cmap = osdmap.crush
    if item.id >= 0:
        node: dict[str, Any] = {
            "id": item.id,
            "device_class": _device_class(osdmap, item.id),
            "name": f"osd.{item.id}",
            "type": "osd",
            "type_id": 0,
            "crush_weight": item.weight / WEIGHT_ONE,
            "depth": item.depth,
            "pool_weights": {},
            "reweight": osdmap.osds[item.id].weight / WEIGHT_ONE,
        }
    else:
        bucket = cmap.buckets[item.id]
        node = {
            "id": item.id,
            "name": bucket.name,
            "type": cmap.types.get(bucket.type_id, ""),
            "type_id": bucket.type_id,
            "reweight": -1,
        }
    node.update(
        kb=u[0] // 1024,
        kb_used=u[1] // 1024,
        kb_used_data=u[2] // 1024,
        kb_used_omap=u[3] // 1024,
        kb_used_meta=u[4] // 1024,
        kb_avail=u[5] // 1024,
        utilization=util(u),
        var=var(u),
    )
    if item.id >= 0:
        node["pgs"] = pgs.get(item.id, 0)
        node["status"] = "up" if osdmap.is_up(item.id) else "down"
    else:
        node["children"] = sorted(cmap.buckets[item.id].items, reverse=True)
    return node


# --- full ratios ----------------------------------------------------------------------------

_RATIO_FIELDS = {
    "osd set-full-ratio": "full_ratio",
    "osd set-backfillfull-ratio": "backfillfull_ratio",
    "osd set-nearfull-ratio": "nearfull_ratio",
}


def apply_set_ratio(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd set-full-ratio|set-backfillfull-ratio|set-nearfull-ratio RATIO`."""
    prefix = cmd["prefix"]
    ratio = float(cmd["ratio"])
    osdmap = state.begin_osdmap(cmd)
    setattr(osdmap, _RATIO_FIELDS[prefix], ratio)
    state.commit_osdmap(osdmap, stamp)
    return done(f"{prefix} {ratio:g}")


def apply_full_status(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """The leader's decision on which OSDs and pools are full (`full_status.changes`)."""
    osdmap = state.begin_osdmap(cmd)
    changed = False
    for word in cmd["states"]:
        try:
            kind, ident, bits = full_status.parse_word(word)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        if kind == "osd":
            if not osdmap.exists(ident):
                raise InvalidArgument(f"osd.{ident} does not exist")
            info = osdmap.osds[ident]
            new = (info.state & ~full_status.OSD_FULL_BITS) | bits
            changed |= new != info.state
            info.state = new
        else:
            pool = osdmap.pools.get(ident)
            if pool is None:
                raise InvalidArgument(f"pool {ident} does not exist")
            new = (pool.flags & ~full_status.POOL_FULL_BITS) | bits
            changed |= new != pool.flags
            pool.flags = new
    if not changed:
        return unchanged()
    state.commit_osdmap(osdmap, stamp)
    return done()


COMMANDS: tuple[Command, ...] = (
    Command(
        "df name=detail,type=CephChoices,strings=detail,req=false",
        "show cluster free space stats",
        "mon",
        "r",
        read=df,
    ),
    Command(
        "osd df name=output_method,type=CephChoices,strings=plain|tree,req=false",
        "show OSD utilization",
        "osd",
        "r",
        read=osd_df,
    ),
    *(
        Command(
            f"{prefix} name=ratio,type=CephFloat,range=0.0|1.0",
            f"set usage ratio at which OSDs are marked {field.split('_')[0]}",
            "osd",
            "rw",
            apply=apply_set_ratio,
        )
        for prefix, field in _RATIO_FIELDS.items()
    ),
    Command(
        "osd full-status name=states,type=CephString,n=N",
        "(internal) the leader's full and quota decisions: osd.N=FLAGS or pool.N=FLAGS",
        "osd",
        "rw",
        apply=apply_full_status,
    ),
)
