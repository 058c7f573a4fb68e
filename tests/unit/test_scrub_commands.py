"""The scrub commands' answers and orders, and the scrub health checks."""

from __future__ import annotations

from radospy.auth.caps import MonCap
from radospy.mon.commands import CommandContext, handle_command, parse_argv
from radospy.mon.messages import OsdScrubOrder, OsdStat, OsdStatReport, PgStat
from radospy.mon.pgmap import PGMap
from radospy.osdmap.pg import PgId
from tests.unit.mon_helpers import Mon, with_osds

DAY = 86400.0


def cluster() -> Mon:
    mon = with_osds(3)
    mon.ok("osd pool create p 4")
    return mon


def run(mon: Mon, line: str, caps: str = "allow *", pgmap: PGMap | None = None) -> tuple:
    ctx = CommandContext("client.admin", MonCap.parse(caps), mon.now, mon.rng.randbytes,
                         pgmap=pgmap or PGMap())  # fmt: skip
    result = handle_command(mon.state, parse_argv(line.split()), ctx)
    return result, ctx.scrub_orders


def test_pg_scrub_instructs_the_primary() -> None:
    mon = cluster()
    primary = mon.state.osdmap.pg_to_up_acting_osds(PgId(1, 2)).acting_primary
    result, orders = run(mon, "pg deep-scrub 1.2")
    assert result.rc == 0 and result.outs == f"instructing pg 1.2 on osd.{primary} to deep-scrub"
    assert orders == [OsdScrubOrder(primary, "deep-scrub", [(1, 2)])]


def test_bad_pg_scrubs_are_refused_and_order_nothing() -> None:
    mon = cluster()
    for line, rc, outs in (
        ("pg scrub 1.9", -2, "pg 1.9 does not exist"),
        ("pg repair 7.0", -2, "pg 7.0 does not exist"),
        ("osd scrub osd.x", -22, "invalid osd 'osd.x'"),
        ("osd pool deep-scrub nope", -2, "unrecognized pool 'nope'"),
    ):
        result, orders = run(mon, line)
        assert (result.rc, result.outs) == (rc, outs) and orders == []
    mon.ok("osd down 1")
    result, orders = run(mon, "osd repair 1")
    assert (result.rc, result.outs, orders) == (-11, "osd.1 is not up", [])
    result, orders = run(mon, "pg scrub 1.0", caps="allow r")
    assert result.rc == -13 and orders == []


def test_osd_and_pool_scrubs_order_every_primary() -> None:
    mon = cluster()
    result, orders = run(mon, "osd scrub all")
    assert result.outs == "instructed osd(s) 0,1,2 to scrub"
    assert orders == [OsdScrubOrder(o, "scrub") for o in range(3)]
    result, orders = run(mon, "osd pool repair p")
    assert result.rc == 0 and result.outs == ""
    assert sorted(pg for o in orders for pg in o.pgs) == [(1, s) for s in range(4)]
    assert all(o.kind == "repair" for o in orders)


def report(mon: Mon, pgmap: PGMap, **stat: object) -> None:
    epoch = mon.state.osdmap.epoch
    fresh = {"last_scrub_stamp": mon.now, "last_deep_scrub_stamp": mon.now}
    pgs = [PgStat(1, s, "active+clean", epoch, acting=[0, 1, 2], **fresh) for s in range(4)]
    pgs[1] = PgStat(1, 1, reported_epoch=epoch, acting=[0, 1, 2], **stat)  # type: ignore[arg-type]
    # Received now: a report older than mon_osd_report_timeout would make the PGs stale.
    pgmap.apply_report(OsdStatReport(0, mon.state.osdmap.epoch, OsdStat(100, 50), pgs), mon.now)


def test_scrub_errors_make_health_err() -> None:
    mon = cluster()
    pgmap = PGMap()
    report(mon, pgmap, state="active+clean+inconsistent", num_scrub_errors=3,
           last_scrub_stamp=mon.now, last_deep_scrub_stamp=mon.now)  # fmt: skip
    result, _ = run(mon, "health detail", pgmap=pgmap)
    text = result.outbuf.decode()
    assert text.startswith("HEALTH_ERR 3 scrub errors; Possible data damage: 1 pg inconsistent")
    assert "[ERR] OSD_SCRUB_ERRORS: 3 scrub errors\n" in text
    assert "    pg 1.1 is active+clean+inconsistent, acting [0,1,2]\n" in text


def test_overdue_scrubs_warn() -> None:
    mon = cluster()
    mon.now = 100 * DAY
    pgmap = PGMap()
    report(mon, pgmap, state="active+clean", last_scrub_stamp=mon.now - 11 * DAY,
           last_deep_scrub_stamp=mon.now - 13 * DAY)  # fmt: skip
    result, _ = run(mon, "health detail", pgmap=pgmap)
    text = result.outbuf.decode()
    assert "[WRN] PG_NOT_SCRUBBED: 1 pgs not scrubbed in time\n" in text
    assert "[WRN] PG_NOT_DEEP_SCRUBBED: 1 pgs not deep-scrubbed in time\n" in text
    assert "    pg 1.1 not scrubbed since 1970-03-31T00:00:00.000000+0000\n" in text
    report(mon, pgmap, state="active+clean", last_scrub_stamp=mon.now - 9 * DAY,
           last_deep_scrub_stamp=mon.now - 12 * DAY)  # fmt: skip
    result, _ = run(mon, "health", pgmap=pgmap)
    assert result.outbuf.decode() == "HEALTH_OK\n"
