"""`ceph pg scrub|deep-scrub|repair PGID`, `ceph osd scrub|deep-scrub|repair WHO` and
`ceph osd pool scrub|deep-scrub|repair POOL...`: orders to the primaries.

As Ceph's manager does it (`DaemonServer::_handle_command`), nothing is stored: the
command names the PGs' primaries, answers as Ceph words it ("instructing pg 1.0 on
osd.2 to deep-scrub"), and leaves in `CommandContext.scrub_orders` the orders
(`OsdScrubOrder`, Ceph's `MOSDScrub2`) that the monitor daemon hands to the OSDs.
Ordering is not a change of the monitors' state, so the commands need ``x`` (execute),
not ``w``, in the ``osd`` service's caps.
"""

from __future__ import annotations

from errno import EAGAIN

from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.mon.cmdspec import Command, CommandContext, CommandResult, existing_pg, reply
from radospy.mon.messages import OsdScrubOrder
from radospy.mon.state import MonState
from radospy.osdmap.pg import PgId

KINDS = ("scrub", "deep-scrub", "repair")


def pg_scrub(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """``pg scrub|deep-scrub|repair PGID``."""
    kind = cmd["prefix"].split()[-1]
    osdmap = state.osdmap
    pgid = existing_pg(osdmap, cmd["pgid"])
    primary = osdmap.pg_to_up_acting_osds(pgid).acting_primary
    if primary < 0:
        raise RadosError(f"pg {pgid} has no primary osd", EAGAIN)
    if not osdmap.is_up(primary):
        raise RadosError(f"pg {pgid} primary osd.{primary} is not currently connected", EAGAIN)
    ctx.scrub_orders.append(OsdScrubOrder(primary, kind, [(pgid.pool, pgid.seed)]))
    return reply(f"instructing pg {pgid} on osd.{primary} to {kind}")


def osd_scrub(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """``osd scrub|deep-scrub|repair WHO``: every PG the OSD(s) are primary of."""
    kind = cmd["prefix"].split()[-1]
    osdmap = state.osdmap
    who = str(cmd["who"])
    if who in ("*", "all", "any"):
        osds = [o for o in range(osdmap.max_osd) if osdmap.is_up(o)]
    else:
        text = who.removeprefix("osd.")
        if not text.isdigit():
            raise InvalidArgument(f"invalid osd '{who}'")
        osd = int(text)
        if not osdmap.is_up(osd):
            raise RadosError(f"osd.{osd} is not up", EAGAIN)
        osds = [osd]
    ctx.scrub_orders += [OsdScrubOrder(o, kind) for o in osds]
    return reply(f"instructed osd(s) {','.join(map(str, osds))} to {kind}")


def pool_scrub(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """``osd pool scrub|deep-scrub|repair POOL...``: every PG of the pools."""
    kind = cmd["prefix"].split()[-1]
    osdmap = state.osdmap
    names = cmd["who"] if isinstance(cmd["who"], list) else [cmd["who"]]
    by_primary: dict[int, list[tuple[int, int]]] = {}
    for name in names:
        try:
            pool = osdmap.pool_by_name(str(name))
        except NotFound:
            raise NotFound(f"unrecognized pool '{name}'") from None
        for seed in range(pool.pg_num):
            primary = osdmap.pg_to_up_acting_osds(PgId(pool.id, seed)).acting_primary
            if primary >= 0:
                by_primary.setdefault(primary, []).append((pool.id, seed))
    for primary in by_primary:
        if not osdmap.is_up(primary):
            raise RadosError(f"osd.{primary} is not currently connected", EAGAIN)
    ctx.scrub_orders += [OsdScrubOrder(o, kind, pgs) for o, pgs in sorted(by_primary.items())]
    return reply()


COMMANDS: tuple[Command, ...] = (
    *(
        Command(
            f"pg {kind} name=pgid,type=CephPgid",
            f"start {kind} on <pgid>",
            "osd",
            "rx",
            read=pg_scrub,
        )
        for kind in KINDS
    ),
    *(
        Command(
            f"osd {kind} name=who,type=CephString",
            f"initiate {kind} on osd <who>, or use <all|any> to {kind} all",
            "osd",
            "rx",
            read=osd_scrub,
        )
        for kind in KINDS
    ),
    *(
        Command(
            f"osd pool {kind} name=who,type=CephPoolname,n=N",
            f"initiate {kind} on pool <who>",
            "osd",
            "rx",
            read=pool_scrub,
        )
        for kind in KINDS
    ),
)
