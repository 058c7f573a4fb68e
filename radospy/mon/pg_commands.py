"""What operators ask about PGs: `ceph pg dump|dump_stuck|map|stat|ls|ls-by-pool|
ls-by-osd|ls-by-primary`, `ceph osd pool stats`, `ceph log last` and `ceph progress`.

Everything answers from the leader's in-memory PG stats (`CommandContext.pgmap`), its
cluster log and progress events, laid out by `radospy.mon.pg_output`. (`ceph pg PGID
query` goes to the PG's primary OSD instead; see `radospy.cli.ceph`.)
"""

from __future__ import annotations

from errno import ENOENT
from typing import Any

from radospy.common.errors import RadosError
from radospy.common.units import byte_u
from radospy.mon import cluster_log, pg_health, pg_output
from radospy.mon.cmdspec import Command, CommandContext, CommandResult, dump_json, reply
from radospy.mon.messages import OsdStat, PgStat
from radospy.mon.pgmap import RATE_WINDOW
from radospy.mon.progress import Progress
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

_DUMP_CHOICES = "all|summary|sum|delta|pools|osds|pgs|pgs_brief"
_STATES = (
    "active|clean|down|scrubbing|degraded|inconsistent|peering|repair|recovering|"
    "backfill_wait|incomplete|stale|remapped|deep_scrub|backfilling|forced_recovery|"
    "forced_backfill|backfill_toofull|recovery_wait|recovery_toofull|undersized|activating|"
    "peered|snaptrim|snaptrim_wait|snaptrim_error|creating|unknown|premerge|failed_repair|"
    "laggy|wait"
)
_STATE_WORDS = {"deep_scrub": "deep"}
"""`pg ls` state names that print differently in a state string."""


class NotFound(RadosError):
    errno = ENOENT


def _rows(state: MonState, ctx: CommandContext) -> list[PgStat]:
    return ctx.pgmap.current(state.osdmap, ctx.now)


def _header(ctx: CommandContext) -> str:
    pgmap = ctx.pgmap
    return (
        f"version {pgmap.version}\nstamp {pg_output.stamp(pgmap.stamp)}\n"
        "last_osdmap_epoch 0\nlast_pg_scan 0\n"
    )


def _primaries(rows: list[PgStat]) -> dict[int, int]:
    out: dict[int, int] = {}
    for pg in rows:
        if pg.acting_primary >= 0:
            out[pg.acting_primary] = out.get(pg.acting_primary, 0) + 1
    return out


def _osd_sum(stats: dict[int, OsdStat]) -> OsdStat:
    return OsdStat(
        sum(s.total for s in stats.values()),
        sum(s.available for s in stats.values()),
        sum(s.data for s in stats.values()),
        sum(s.omap for s in stats.values()),
        sum(s.num_pgs for s in stats.values()),
    )


def pg_dump(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    what = cmd.get("dumpcontents") or ["all"]
    rows = _rows(state, ctx)
    osd_stats = dict(ctx.pgmap.osd_stats)
    total = pg_output.sum_of(rows)
    pools = pg_output.pool_sums(rows)
    outs = "dumped " + ",".join(what)
    if cmd["format"] != "plain":
        body: dict[str, Any] = {"pg_ready": True}
        for part in what:
            body |= _dump_json(part, ctx, rows, osd_stats, total, pools)
        return reply(outs, dump_json(body, cmd["format"]))
    text = ""
    note = "\n" + pg_output.OMAP_NOTE + "\n"
    for part in what:
        if part == "all":
            text += _header(ctx) + pg_output.pgs_table(rows)
            text += pg_output.pool_sum_table(pools, heading=False)
            text += pg_output.total_table(total, heading=False)
            text += pg_output.osd_table(osd_stats, _primaries(rows), summary=False) + note
        elif part in ("summary", "sum"):
            text += _header(ctx) + pg_output.total_table(total, heading=True)
            text += pg_output.osd_table(osd_stats, {}, summary=True) + note
        elif part == "pools":
            text += pg_output.pool_sum_table(pools, heading=True) + note
        elif part == "osds":
            text += pg_output.osd_table(osd_stats, _primaries(rows), summary=False)
        elif part == "pgs":
            text += pg_output.pgs_table(rows) + note
        elif part == "pgs_brief":
            text += pg_output.brief_table(rows)
    return reply(outs, text)


def _dump_json(
    part: str,
    ctx: CommandContext,
    rows: list[PgStat],
    osd_stats: dict[int, OsdStat],
    total: pg_output.StatSum,
    pools: dict[int, pg_output.StatSum],
) -> dict[str, Any]:
    delta = pg_output.sum_json(pg_output.StatSum()) | {"stamp_delta": f"{RATE_WINDOW:f}"}
    osd_sum = pg_output.osd_stat_json(None, _osd_sum(osd_stats), len(osd_stats))
    pool_list = [
        {"poolid": pool, "num_pg": s.num_pgs, **pg_output.sum_json(s)} for pool, s in pools.items()
    ]
    osd_list = [pg_output.osd_stat_json(o, s) for o, s in sorted(osd_stats.items())]
    head = {
        "version": ctx.pgmap.version,
        "stamp": pg_output.stamp(ctx.pgmap.stamp),
        "last_osdmap_epoch": 0,
        "last_pg_scan": 0,
    }
    if part == "all":
        return {
            "pg_map": head
            | {
                "pg_stats_sum": pg_output.sum_json(total),
                "osd_stats_sum": osd_sum,
                "pg_stats_delta": delta,
                "pg_stats": [pg_output.pg_json(pg) for pg in rows],
                "pool_stats": pool_list,
                "osd_stats": osd_list,
                "pool_statfs": [],
            }
        }
    if part in ("summary", "sum"):
        return head | {
            "pg_stats_sum": pg_output.sum_json(total),
            "osd_stats_sum": osd_sum,
            "pg_stats_delta": delta,
        }
    if part == "delta":
        return {"pg_stats_delta": delta}
    if part == "pools":
        return {"pool_stats": pool_list}
    if part == "osds":
        return {"osd_stats": osd_list}
    if part == "pgs":
        return {"pg_stats": [pg_output.pg_json(pg) for pg in rows]}
    return {"pg_stats": [pg_output.brief_json(pg) for pg in rows]}


def pg_dump_stuck(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    kinds = cmd.get("stuckops") or ["unclean"]
    threshold = cmd.get("threshold")
    if threshold is None:
        threshold = ctx.pgmap.stuck_threshold
    found = pg_health.stuck(_rows(state, ctx), kinds, ctx.now - threshold)
    if cmd["format"] != "plain":
        body = {"pg_ready": True, "stuck_pg_stats": [pg_output.pg_json(pg) for pg in found]}
        return reply("ok", dump_json(body, cmd["format"]))
    return reply("ok", pg_output.brief_table(found) if found else "")


def _pg_in_map(osdmap: OSDMap, text: str) -> tuple[PgId, PgId]:
    raw = PgId.parse(text)
    if raw.pool not in osdmap.pools:
        raise NotFound(f"pg '{text}' does not exist")
    return raw, osdmap.raw_pg_to_pg(raw)


def pg_map(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = state.osdmap
    raw, pgid = _pg_in_map(osdmap, cmd["pgid"])
    mapping = osdmap.pg_to_up_acting_osds(pgid)
    if cmd["format"] != "plain":
        body = {
            "epoch": osdmap.epoch,
            "raw_pgid": str(raw),
            "pgid": str(pgid),
            "up": list(mapping.up),
            "acting": list(mapping.acting),
        }
        return reply(outbuf=dump_json(body, cmd["format"]))
    return reply(
        outbuf=f"osdmap e{osdmap.epoch} pg {raw} ({pgid}) -> up {pg_output.osds(mapping.up)} "
        f"acting {pg_output.osds(mapping.acting)}\n"
    )


def oneline(osdmap: OSDMap, ctx: CommandContext, rows: list[PgStat]) -> str:
    """``33 pgs: 4 active+clean, ...; 306 MiB data, 613 MiB used, 5.4 GiB / 6 GiB avail;
    ...`` (``PGMap::print_oneline_summary``)."""
    pgmap = ctx.pgmap
    by_state = pgmap.pgs_by_state(osdmap, ctx.now)
    usage = pgmap.osd_sum()
    states = ", ".join(f"{n} {s}" for s, n in by_state)
    text = (
        f"{len(rows)} pgs: {states}; {byte_u(pgmap.num_bytes())} data, "
        f"{byte_u(usage.used_raw)} used, {byte_u(usage.available)} / {byte_u(usage.total)} "
        "avail"
    )
    rates = pgmap.rates(ctx.now)
    parts = [pg_output.client_io_oneline(rates), *pg_health.object_sums(rows).lines()]
    recovery = pg_output.recovery_io(rates)
    if recovery:
        parts.append(recovery + " recovering")
    return text + "".join(f"; {p}" for p in parts if p)


def pg_stat(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap, pgmap = state.osdmap, ctx.pgmap
    rows = _rows(state, ctx)
    if cmd["format"] == "plain":
        return reply(outbuf=oneline(osdmap, ctx, rows) + "\n")
    usage = pgmap.osd_sum()
    rates = pgmap.rates(ctx.now)
    summary: dict[str, Any] = {
        "num_pg_by_state": [{"name": s, "num": n} for s, n in pgmap.pgs_by_state(osdmap, ctx.now)],
        "num_pgs": len(rows),
        "num_bytes": pgmap.num_bytes(),
        "total_bytes": usage.total,
        "total_avail_bytes": usage.available,
        "total_used_bytes": usage.used_raw,
        "total_used_raw_bytes": usage.used_raw,
    }
    summary |= pg_health.object_sums(rows).json()
    summary |= pg_output.client_io_json(rates)
    summary |= pg_output.recovery_io_json(rates, RATE_WINDOW)
    return reply(outbuf=dump_json({"pg_ready": True, "pg_summary": summary}, cmd["format"]))


def _state_filter(rows: list[PgStat], wanted: list[str] | None) -> list[PgStat]:
    if not wanted:
        return rows
    words = {_STATE_WORDS.get(w, w) for w in wanted}
    out = []
    for pg in rows:
        have = pg_health.states(pg) or {"unknown"}
        if have & words:
            out.append(pg)
    return out


def _ls(rows: list[PgStat], cmd: dict, ctx: CommandContext) -> CommandResult:
    rows = _state_filter(rows, cmd.get("states"))
    if cmd["format"] != "plain":
        body = {"pg_ready": True, "pg_stats": [pg_output.pg_json(pg) for pg in rows]}
        return reply(outbuf=dump_json(body, cmd["format"]))
    return reply(outbuf=pg_output.ls_table(rows, ctx.now))


def _in_pool(rows: list[PgStat], osdmap: OSDMap, pool: int | None) -> list[PgStat]:
    if pool is None:
        return rows
    if pool not in osdmap.pools:
        raise NotFound(f"pool {pool} does not exist")
    return [pg for pg in rows if pg.pool == pool]


def pg_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    rows = _in_pool(_rows(state, ctx), state.osdmap, cmd.get("pool"))
    return _ls(rows, cmd, ctx)


def pg_ls_by_pool(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    name = cmd["poolstr"]
    pool = next((p for p in state.osdmap.pools.values() if p.name == name), None)
    if pool is None:
        raise NotFound(f"pool '{name}' does not exist")
    return _ls([pg for pg in _rows(state, ctx) if pg.pool == pool.id], cmd, ctx)


def _by_osd(primary: bool) -> Any:
    def handler(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
        osd = cmd["osd"]
        if not state.osdmap.exists(osd):
            raise NotFound(f"osd.{osd} does not exist")
        rows = _in_pool(_rows(state, ctx), state.osdmap, cmd.get("pool"))
        if primary:
            rows = [pg for pg in rows if pg.acting_primary == osd]
        else:
            rows = [pg for pg in rows if osd in pg.up or osd in pg.acting]
        return _ls(rows, cmd, ctx)

    return handler


def pool_stats(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = state.osdmap
    pools = sorted(osdmap.pools.values(), key=lambda p: p.id)
    name = cmd.get("pool_name")
    if name is not None:
        pools = [p for p in pools if p.name == name]
        if not pools:
            raise NotFound(f"unrecognized pool '{name}'")
    rows = _rows(state, ctx)
    entries = []
    text = ""
    for pool in pools:
        mine = [pg for pg in rows if pg.pool == pool.id]
        sums = pg_health.object_sums(mine)
        rates = ctx.pgmap.rates(ctx.now, pool.id)
        entries.append(
            {
                "pool_name": pool.name,
                "pool_id": pool.id,
                "recovery": sums.json(),
                "recovery_rate": pg_output.recovery_io_json(rates, RATE_WINDOW),
                "client_io_rate": pg_output.client_io_json(rates),
            }
        )
        lines = [f"  {line}" for line in sums.lines()]
        if recovery := pg_output.recovery_io(rates):
            lines.append(f"  recovery io {recovery}")
        if client := pg_output.client_io(rates):
            lines.append(f"  client io {client}")
        text += f"pool {pool.name} id {pool.id}\n"
        text += "".join(x + "\n" for x in lines or ["  nothing is going on"]) + "\n"
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(entries, cmd["format"]))
    return reply(outbuf=text)


def log_last(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    log = ctx.cluster_log
    entries = (
        log.last(cmd.get("num", 20), cmd.get("level", "info"), cmd.get("channel", "cluster"))
        if log is not None
        else []
    )
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json([e.json() for e in entries], cmd["format"]))
    return reply(outbuf=cluster_log.lines(entries))


def progress(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    events = ctx.progress or Progress()
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(events.json(ctx.now), cmd["format"]))
    return reply(outbuf=events.text(ctx.now))


def progress_json(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    events = ctx.progress or Progress()
    fmt = cmd["format"] if cmd["format"] != "plain" else "json-pretty"
    return reply(outbuf=dump_json(events.json(ctx.now), fmt))


_POOL = "name=pool,type=CephInt,req=false"
_STATE_ARG = f"name=states,type=CephChoices,strings={_STATES},n=N,req=false"

COMMANDS: tuple[Command, ...] = (
    Command(
        f"pg dump name=dumpcontents,type=CephChoices,strings={_DUMP_CHOICES},n=N,req=false",
        "show human-readable versions of pg map (only 'all' valid with plain)",
        "osd",
        "r",
        read=pg_dump,
    ),
    Command(
        "pg dump_stuck name=stuckops,type=CephChoices,"
        "strings=inactive|unclean|stale|undersized|degraded,n=N,req=false "
        "name=threshold,type=CephInt,req=false",
        "show information about stuck pgs",
        "osd",
        "r",
        read=pg_dump_stuck,
    ),
    Command(
        "pg map name=pgid,type=CephPgid", "show mapping of pg to osds", "osd", "r", read=pg_map
    ),
    Command("pg stat", "show placement group status.", "osd", "r", read=pg_stat),
    Command(
        f"pg ls {_POOL} {_STATE_ARG}",
        "list pg with specific pool, osd, state",
        "osd",
        "r",
        read=pg_ls,
    ),
    Command(
        f"pg ls-by-pool name=poolstr,type=CephString {_STATE_ARG}",
        "list pg with pool = [poolname]",
        "osd",
        "r",
        read=pg_ls_by_pool,
    ),
    Command(
        f"pg ls-by-primary name=osd,type=CephOsdName {_POOL} {_STATE_ARG}",
        "list pg with primary = [osd]",
        "osd",
        "r",
        read=_by_osd(primary=True),
    ),
    Command(
        f"pg ls-by-osd name=osd,type=CephOsdName {_POOL} {_STATE_ARG}",
        "list pg on osd [osd]",
        "osd",
        "r",
        read=_by_osd(primary=False),
    ),
    Command(
        "osd pool stats name=pool_name,type=CephPoolname,req=false",
        "obtain stats from all pools, or from specified pool",
        "osd",
        "r",
        read=pool_stats,
    ),
    Command(
        "log last name=num,type=CephInt,range=1,req=false "
        "name=level,type=CephChoices,strings=debug|info|sec|warn|error,req=false "
        "name=channel,type=CephChoices,strings=*|cluster|audit|cephadm,req=false",
        "print last few lines of the cluster log",
        "mon",
        "r",
        read=log_last,
    ),
    Command("progress", "Show progress of recovery operations", "mon", "r", read=progress),
    Command(
        "progress json",
        "Show machine readable progress information",
        "mon",
        "r",
        read=progress_json,
    ),
)
