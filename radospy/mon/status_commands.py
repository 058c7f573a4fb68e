"""`ceph health [detail]`, `ceph status` (`-s`) and `ceph fsid`, from what the monitor
state knows (OSDMap flags, down OSDs, full OSDs and pools, pools without redundancy)
and the quorum the leader sees (monitors down); the data section of `status` (objects,
usage, PG states) comes from the leader's PG stats (`CommandContext.pgmap`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from radospy.common.units import byte_u, si_u
from radospy.crush.location import location_string
from radospy.mon import osd_output, pg_health, pg_output
from radospy.mon.cmdspec import Command, CommandContext, CommandResult, dump_json, reply
from radospy.mon.health import HealthCheck
from radospy.mon.pgmap import RATE_WINDOW, UNKNOWN, PGMap
from radospy.mon.progress import Progress
from radospy.mon.quorum import QuorumView
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import MapFlag, OSDMap, OsdStateFlag, map_flags_string
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import PoolFlag

_WARN_FLAGS = (
    MapFlag.FULL
    | MapFlag.PAUSERD
    | MapFlag.PAUSEWR
    | MapFlag.NOUP
    | MapFlag.NODOWN
    | MapFlag.NOIN
    | MapFlag.NOOUT
    | MapFlag.NOBACKFILL
    | MapFlag.NORECOVER
    | MapFlag.NOREBALANCE
    | MapFlag.NOSCRUB
    | MapFlag.NODEEP_SCRUB
    | MapFlag.NOTIERAGENT
    | MapFlag.NOSNAPTRIM
)
"""The cluster flags OSDMAP_FLAGS warns about (`OSDMap::check_health`)."""

OSD_SCRUB_MAX_INTERVAL = 7 * 86400.0
OSD_DEEP_SCRUB_INTERVAL = 7 * 86400.0
MON_WARN_PG_NOT_SCRUBBED_RATIO = 0.5
MON_WARN_PG_NOT_DEEP_SCRUBBED_RATIO = 0.75
"""A PG is overdue (PG_NOT_SCRUBBED, PG_NOT_DEEP_SCRUBBED) once its interval plus this
share of it has passed since its last (deep) scrub; Ceph's defaults."""


def health_checks(
    osdmap: OSDMap,
    quorum: QuorumView | None = None,
    pgmap: PGMap | None = None,
    now: float = 0.0,
) -> dict[str, HealthCheck]:
    """The failing checks by code, sorted by code as Ceph's map is; the PG checks
    (`radospy.mon.pg_health`) once some OSD has reported to ``pgmap``."""
    checks: dict[str, HealthCheck] = {}
    if pgmap is not None and pgmap.osd_stats:
        rows = pgmap.current(osdmap, now)
        checks.update(pg_health.pg_health_checks(rows, now, pgmap.stuck_threshold))
    mon_down = quorum.mon_down() if quorum is not None else None
    if mon_down is not None:
        summary, detail = mon_down
        checks["MON_DOWN"] = HealthCheck(summary, len(detail), detail)
    flags = osdmap.flags & _WARN_FLAGS
    if flags:
        checks["OSDMAP_FLAGS"] = HealthCheck(
            f"{map_flags_string(flags)} flag(s) set", bin(flags).count("1")
        )
    down = [
        osd
        for osd in range(osdmap.max_osd)
        if osdmap.exists(osd)
        and not osdmap.is_up(osd)
        and not osdmap.osds[osd].state & OsdStateFlag.NEW
    ]
    if down:
        checks["OSD_DOWN"] = HealthCheck(
            f"{len(down)} osds down", len(down), [_down_detail(osdmap, osd) for osd in down]
        )
        checks.update(_subtrees_down(osdmap, set(down)))
    checks.update(_full_checks(osdmap))
    if pgmap is not None:
        checks.update(_scrub_checks(osdmap, pgmap, now))
    single = [p for _, p in sorted(osdmap.pools.items()) if p.size == 1]
    if single:
        checks["POOL_NO_REDUNDANCY"] = HealthCheck(
            f"{len(single)} pool(s) have no replicas configured",
            len(single),
            [f"pool '{p.name}' has no replicas configured" for p in single],
        )
    return dict(sorted(checks.items()))


_OSD_FULL_CHECKS = (
    ("OSD_FULL", OsdStateFlag.FULL, "full osd(s)", "is full", "HEALTH_ERR"),
    ("OSD_BACKFILLFULL", OsdStateFlag.BACKFILLFULL, "backfillfull osd(s)", "is backfill full",
     "HEALTH_WARN"),
    ("OSD_NEARFULL", OsdStateFlag.NEARFULL, "nearfull osd(s)", "is near full", "HEALTH_WARN"),
)  # fmt: skip


def _full_checks(osdmap: OSDMap) -> dict[str, HealthCheck]:
    """OSD_FULL/OSD_BACKFILLFULL/OSD_NEARFULL from the OSD states and POOL_FULL/
    POOL_BACKFILLFULL/POOL_NEARFULL from the pool flags (`OSDMap::check_health`)."""
    checks: dict[str, HealthCheck] = {}
    osds = [o for o in range(osdmap.max_osd) if osdmap.exists(o)]
    for code, bit, summary, detail, severity in _OSD_FULL_CHECKS:
        hit = [o for o in osds if osdmap.osds[o].state & bit]
        if hit:
            lines = [f"osd.{o} {detail}" for o in hit]
            checks[code] = HealthCheck(f"{len(hit)} {summary}", len(hit), lines, severity)
    full: list[str] = []
    backfillfull: list[str] = []
    nearfull: list[str] = []
    for _, pool in sorted(osdmap.pools.items()):
        if pool.flags & PoolFlag.FULL:
            why = "running out of quota" if pool.flags & PoolFlag.FULL_QUOTA else "no space"
            full.append(f"pool '{pool.name}' is full ({why})")
        elif pool.flags & PoolFlag.BACKFILLFULL:
            backfillfull.append(f"pool '{pool.name}' is backfillfull")
        elif pool.flags & PoolFlag.NEARFULL:
            nearfull.append(f"pool '{pool.name}' is nearfull")
    for code, lines, word in (
        ("POOL_FULL", full, "full"),
        ("POOL_BACKFILLFULL", backfillfull, "backfillfull"),
        ("POOL_NEARFULL", nearfull, "nearfull"),
    ):
        if lines:
            checks[code] = HealthCheck(f"{len(lines)} pool(s) {word}", len(lines), lines)
    return checks


def _scrub_checks(osdmap: OSDMap, pgmap: PGMap, now: float) -> dict[str, HealthCheck]:
    """OSD_SCRUB_ERRORS, PG_DAMAGED (inconsistent PGs), PG_NOT_SCRUBBED and
    PG_NOT_DEEP_SCRUBBED (`PGMap::get_health_checks`), from the PGs' reported stamps."""
    checks: dict[str, HealthCheck] = {}
    stats = [
        (key, pg)
        for key, pg in sorted(pgmap.pg_stats.items())
        if key[0] in osdmap.pools and key[1] < osdmap.pools[key[0]].pg_num
    ]
    errors = sum(pg.num_scrub_errors for _, pg in stats)
    if errors:
        checks["OSD_SCRUB_ERRORS"] = HealthCheck(f"{errors} scrub errors", errors, [],
                                                 "HEALTH_ERR")  # fmt: skip
    damaged = [
        f"pg {PgId(*key)} is {pg.state}, acting [{','.join(map(str, pg.acting))}]"
        for key, pg in stats
        if "inconsistent" in pg.state.split("+")
    ]
    if damaged:
        count = f"{len(damaged)} pg{'s' if len(damaged) != 1 else ''} inconsistent"
        checks["PG_DAMAGED"] = HealthCheck(f"Possible data damage: {count}", len(damaged),
                                           damaged, "HEALTH_ERR")  # fmt: skip
    scrub_cutoff = now - OSD_SCRUB_MAX_INTERVAL * (1 + MON_WARN_PG_NOT_SCRUBBED_RATIO)
    deep_cutoff = now - OSD_DEEP_SCRUB_INTERVAL * (1 + MON_WARN_PG_NOT_DEEP_SCRUBBED_RATIO)
    for code, word, cutoff, stamp_of in (
        ("PG_NOT_SCRUBBED", "scrubbed", scrub_cutoff, lambda pg: pg.last_scrub_stamp),
        ("PG_NOT_DEEP_SCRUBBED", "deep-scrubbed", deep_cutoff,
         lambda pg: pg.last_deep_scrub_stamp),
    ):  # fmt: skip
        late = [
            f"pg {PgId(*key)} not {word} since {_utime(stamp_of(pg))}"
            for key, pg in stats
            if 0 < stamp_of(pg) < cutoff
        ]
        if late:
            checks[code] = HealthCheck(f"{len(late)} pgs not {word} in time", len(late), late)
    return checks


def _utime(stamp: float) -> str:
    """A stamp as Ceph's ``utime_t`` prints it in health detail."""
    when = datetime.fromtimestamp(stamp, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def _down_detail(osdmap: OSDMap, osd: int) -> str:
    where = location_string(osdmap.crush, osd)
    return f"osd.{osd}{' (' + where + ')' if where else ''} is down"


def _subtrees_down(osdmap: OSDMap, down: set[int]) -> dict[str, HealthCheck]:
    """OSD_HOST_DOWN, OSD_RACK_DOWN, ...: CRUSH buckets whose every OSD is down, each
    counted at the highest level that is down as a whole (`OSDMap::check_health`)."""
    cmap = osdmap.crush
    devices: dict[int, list[int]] = {}

    def under(bucket: int) -> list[int]:
        if bucket not in devices:
            found: list[int] = []
            for item in cmap.buckets[bucket].items:
                if item in cmap.buckets:
                    found += under(item)
                elif item >= 0 and osdmap.exists(item):
                    found.append(item)
            devices[bucket] = found
        return devices[bucket]

    def is_down(bucket: int) -> bool:
        osds = under(bucket)
        return bool(osds) and all(o in down for o in osds)

    parents = {
        item: b
        for b, bucket in cmap.buckets.items()
        if not cmap.is_shadow(b)
        for item in bucket.items
    }
    by_type: dict[str, list[int]] = {}
    for b in sorted(cmap.buckets, reverse=True):
        if cmap.is_shadow(b) or not is_down(b):
            continue
        parent = parents.get(b)
        if parent is not None and is_down(parent):
            continue
        by_type.setdefault(cmap.types.get(cmap.buckets[b].type_id, ""), []).append(b)
    checks = {}
    for kind, buckets in by_type.items():
        osds = sum(len(under(b)) for b in buckets)
        plural = "s" if len(buckets) > 1 else ""
        details = []
        for b in buckets:
            where = location_string(cmap, b)
            where = f" ({where})" if where else ""
            details.append(f"{kind} {cmap.buckets[b].name}{where} ({len(under(b))} osds) is down")
        checks[f"OSD_{kind.upper()}_DOWN"] = HealthCheck(
            f"{len(buckets)} {kind}{plural} ({osds} osds) down", len(buckets), details
        )
    return checks


def _status(checks: dict[str, HealthCheck]) -> str:
    if any(c.severity == "HEALTH_ERR" for c in checks.values()):
        return "HEALTH_ERR"
    return "HEALTH_WARN" if checks else "HEALTH_OK"


def health_json(checks: dict[str, HealthCheck], detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for code, check in checks.items():
        entry: dict[str, Any] = {
            "severity": check.severity,
            "summary": {"message": check.summary, "count": check.count},
        }
        if detail:
            entry["detail"] = [{"message": m} for m in check.detail]
        entry["muted"] = False
        body[code] = entry
    return {"status": _status(checks), "checks": body, "mutes": []}


def health(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    checks = health_checks(state.osdmap, ctx.quorum, ctx.pgmap, ctx.now)
    detail = cmd.get("detail") == "detail"
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(health_json(checks, detail), cmd["format"]))
    line = _status(checks)
    if checks:
        line += " " + "; ".join(c.summary for c in checks.values())
    lines = [line]
    if detail:
        for code, check in checks.items():
            level = "ERR" if check.severity == "HEALTH_ERR" else "WRN"
            lines.append(f"[{level}] {code}: {check.summary}")
            lines += [f"    {m}" for m in check.detail]
    return reply(outbuf="".join(x + "\n" for x in lines))


def status(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap, pgmap = state.osdmap, ctx.pgmap
    checks = health_checks(osdmap, ctx.quorum, pgmap, ctx.now)
    pools = len(osdmap.pools)
    pgs = sum(p.pg_num for p in osdmap.pools.values())
    by_state = pgmap.pgs_by_state(osdmap, ctx.now)
    usage = pgmap.osd_sum()
    rates = pgmap.rates(ctx.now)
    progress = ctx.progress or Progress()
    if cmd["format"] != "plain":
        body = {
            "fsid": state.fsid,
            "health": health_json(checks, detail=False),
            **(ctx.quorum.status_json() if ctx.quorum is not None else {}),
            "osdmap": osd_output.stat_json(state),
            "pgmap": {
                "pgs_by_state": [{"state_name": n, "count": c} for n, c in by_state],
                "num_pgs": pgs,
                "num_pools": pools,
                "num_objects": pgmap.num_objects(),
                "data_bytes": pgmap.num_bytes(),
                "bytes_used": usage.used_raw,
                "bytes_avail": usage.available,
                "bytes_total": usage.total,
                **pg_health.object_sums(pgmap.current(osdmap, ctx.now)).json(),
                **pg_output.client_io_json(rates),
                **pg_output.recovery_io_json(rates, RATE_WINDOW),
            },
            "progress_events": progress.status_json(ctx.now),
        }
        return reply(outbuf=dump_json(body, cmd["format"]))
    summary = osd_output.stat_summary(state, ctx.now).splitlines()
    lines = ["  cluster:", f"    id:     {state.fsid}", f"    health: {_status(checks)}"]
    lines += [f"            {c.summary}" for c in checks.values()]
    lines += [" ", "  services:"]
    if ctx.quorum is not None:
        lines.append(f"    mon: {ctx.quorum.services_line()}")
    lines.append(f"    osd: {summary[0].split(';')[0]}")
    lines += [f"         {extra}" for extra in summary[1:]]
    lines += [" ", "  data:", *data_lines(osdmap, pgmap, ctx.now), " "]
    io = [
        f"    {name}{text}"
        for name, text in (
            ("client:   ", pg_output.client_io(rates)),
            ("recovery: ", pg_output.recovery_io(rates)),
        )
        if text
    ]
    if io:
        lines += ["  io:", *io, " "]
    if progress_lines := progress.status_lines(ctx.now):
        lines += [*progress_lines, " "]
    return reply(outbuf="".join(x + "\n" for x in lines))


def data_lines(osdmap: OSDMap, pgmap: PGMap, now: float) -> list[str]:
    """The data section of `ceph -s` (`PGMapDigest::print_summary`)."""
    pgs = sum(p.pg_num for p in osdmap.pools.values())
    usage = pgmap.osd_sum()
    lines = [
        f"    pools:   {len(osdmap.pools)} pools, {pgs} pgs",
        f"    objects: {si_u(pgmap.num_objects())} objects, {byte_u(pgmap.num_bytes())}",
        f"    usage:   {byte_u(usage.used_raw)} used, {byte_u(usage.available)} / "
        f"{byte_u(usage.total)} avail",
    ]
    rows = pgmap.current(osdmap, now)
    by_state = pgmap.pgs_by_state(osdmap, now)
    if not by_state:
        return lines
    first = "    pgs:     "
    unknown = dict(by_state).get(UNKNOWN, 0)
    if unknown:
        lines.append(f"{first}{100.0 * unknown / pgs:.3f}% pgs unknown")
        first = " " * len(first)
    inactive = sum(1 for pg in rows if pg.state != UNKNOWN and "active" not in pg_health.states(pg))
    if inactive:
        lines.append(f"{first}{100.0 * inactive / pgs:.3f}% pgs not active")
        first = " " * len(first)
    for line in pg_health.object_sums(rows).lines():
        lines.append(first + line)
        first = " " * len(first)
    width = max(len(str(c)) for _, c in by_state)
    for name, count in by_state:
        lines.append(f"{first}{str(count).ljust(width)} {name}")
        first = " " * len(first)
    return lines


def fsid(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json({"fsid": state.fsid}, cmd["format"]))
    return reply(outbuf=state.fsid + "\n")


COMMANDS: tuple[Command, ...] = (
    Command("status", "show cluster status", "mon", "r", read=status),
    Command(
        "health name=detail,type=CephChoices,strings=detail,req=false",
        "show cluster health",
        "mon",
        "r",
        read=health,
    ),
    Command("fsid", "show cluster FSID/UUID", "mon", "r", read=fsid),
)
