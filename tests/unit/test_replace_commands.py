"""Replacing an OSD through the monitor: safe-to-destroy, ok-to-stop, destroy, purge,
purge-new and `osd new`, with Ceph's messages and errnos, and the destroyed state in
`osd tree`/`osd dump`."""

from __future__ import annotations

import errno
import json

from radospy.auth.caps import OSD_CAPS
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityName
from radospy.mon.commands import handle_command, parse_argv
from radospy.mon.messages import OsdStat, OsdStatReport, PgStat
from radospy.mon.pgmap import PGMap
from radospy.mon.replace_commands import destroy_safety, grown_stop_set, stop_safety
from radospy.osdmap.osdmap import OsdStateFlag
from tests.unit.mon_helpers import Mon, split, with_osds

UUID = "5d2d2fb4-3b8e-4b6f-a0a7-0b8f2b1c9e11"
OTHER = "0c8a4b37-7f3e-44cc-8f6c-3a36f2a6f0d2"


def _pg(seed: int, state: str, acting: list[int], up: list[int] | None = None) -> PgStat:
    up = acting if up is None else up
    return PgStat(1, seed, state, 5, acting=list(acting), up=list(up),
                  up_primary=up[0] if up else -1,
                  acting_primary=acting[0] if acting else -1)  # fmt: skip


def _cluster() -> Mon:
    mon = with_osds(4)
    mon.ok("osd pool create p 4")
    mon.ok("auth get-or-create osd.3 mon 'allow profile osd'")
    return mon


def _pgmap(pgs: list[PgStat], stats: dict[int, int]) -> PGMap:
    pgmap = PGMap()
    for osd, num_pgs in stats.items():
        mine = [pg for pg in pgs if pg.acting and pg.acting[0] == osd]
        pgmap.apply_report(OsdStatReport(osd, 5, OsdStat(1 << 30, 1 << 29, num_pgs=num_pgs), mine))
    return pgmap


def _run(mon: Mon, line: str, pgmap: PGMap | None = None):
    """Run a command with the given PG stats, applying what it proposes."""
    ctx = mon.ctx()
    if pgmap is not None:
        ctx.pgmap = pgmap
    mon.now += 1.0
    result = handle_command(mon.state, parse_argv(split(line)), ctx)
    if hasattr(result, "entry"):
        result = mon.state.apply(result.entry)
    return result


CLEAN = [_pg(s, "active+clean", [s % 3, (s + 1) % 3, 3]) for s in range(4)]
DRAINED = [_pg(s, "active+clean", [s % 3, (s + 1) % 3]) for s in range(4)]


def test_safe_to_destroy_wording_and_errnos() -> None:
    mon = _cluster()
    busy = _run(mon, "osd safe-to-destroy 3", _pgmap(CLEAN, {0: 2, 1: 1, 2: 1, 3: 4}))
    assert busy.rc == -errno.EBUSY
    assert busy.outs == "OSD(s) 3 have 4 pgs currently mapped to them. "
    ok = _run(mon, "osd safe-to-destroy osd.3", _pgmap(DRAINED, {0: 2, 1: 1, 2: 1, 3: 0}))
    assert (ok.rc, ok.outs) == (0, "OSD(s) 3 are safe to destroy without reducing data durability.")
    unknown = _run(mon, "osd safe-to-destroy 3", PGMap())
    assert unknown.rc == -errno.EAGAIN
    assert unknown.outs == "4 pgs have unknown state; cannot draw any conclusions"
    mixed = _run(
        mon, "osd safe-to-destroy 3 9 --format json", _pgmap(CLEAN, {0: 2, 1: 1, 2: 1, 3: 4})
    )
    assert json.loads(mixed.outbuf) == {
        "safe_to_destroy": [9], "active": [3], "missing_stats": [], "stored_pgs": []
    }  # fmt: skip


def test_destroy_safety_needs_clean_pgs_or_an_empty_osd() -> None:
    mon = _cluster()
    degraded = [_pg(s, "active+undersized+degraded", [s % 3]) for s in range(4)]
    found = destroy_safety(mon.state.osdmap, degraded, {3: OsdStat(1, 1, num_pgs=2)}, {3})
    assert found.stored_pgs == {3} and found.rc == -errno.EBUSY
    found = destroy_safety(mon.state.osdmap, degraded, {}, {3})
    assert found.missing_stats == {3} and found.rc == -errno.EAGAIN
    found = destroy_safety(mon.state.osdmap, degraded, {3: OsdStat(1, 1, num_pgs=0)}, {3})
    assert found.rc == 0


def test_ok_to_stop_reports_as_ceph() -> None:
    mon = _cluster()
    report = stop_safety(mon.state.osdmap, CLEAN, {3})
    assert report.ok_to_stop and report.ok == 4
    result = _run(mon, "osd ok-to-stop 3", _pgmap(CLEAN, {0: 2, 1: 1, 2: 1, 3: 4}))
    assert result.rc == 0
    body = json.loads(result.outbuf)
    assert body["ok_to_stop"] and body["osds"] == [3] and body["num_ok_pgs"] == 4
    # Stopping two of three leaves one member, below min_size 2.
    result = _run(mon, "osd ok-to-stop 0 1", _pgmap(CLEAN, {0: 2, 1: 1, 2: 1, 3: 4}))
    assert result.rc == -errno.EBUSY
    assert result.outs.startswith("unsafe to stop osd(s) at this time (")
    assert json.loads(result.outbuf)["bad_become_inactive_pgs"]


def test_ok_to_stop_max_grows_the_set_as_cephs_manager() -> None:
    mon = _cluster()
    pgs = [
        _pg(0, "active+clean", [0, 1, 2]),
        _pg(1, "active+clean", [0, 1, 3]),
        _pg(2, "active+clean", [1, 0, 2]),
        _pg(3, "active+clean", [0, 1, 3]),
    ]
    osdmap = mon.state.osdmap
    # From osd.3: its host holds nothing else; under the root, osd.0 or osd.1 would
    # leave [0, 1, 3] below min_size 2, osd.2 does not. Some failed there: it stops.
    grown = grown_stop_set(osdmap, pgs, {3}, 4)
    assert grown.ok_to_stop and grown.osds == {2, 3}
    assert grown_stop_set(osdmap, pgs, {3}, 1).osds == {3}
    assert grown_stop_set(osdmap, pgs, {0, 1}, 4).osds == {0, 1}  # unsafe: as asked
    result = _run(mon, "osd ok-to-stop 3 --max 4", _pgmap(pgs, {0: 3, 1: 1, 2: 0, 3: 0}))
    assert result.rc == 0 and json.loads(result.outbuf)["osds"] == [2, 3]
    result = _run(mon, "osd ok-to-stop 3", _pgmap(pgs, {0: 3, 1: 1, 2: 0, 3: 0}))
    assert json.loads(result.outbuf)["osds"] == [3]


def _new(mon: Mon, line: str, secrets: dict[str, str] | bytes):
    """`osd new ... -i FILE` with ``secrets`` as the file's JSON."""
    inbuf = secrets if isinstance(secrets, bytes) else json.dumps(secrets).encode()
    mon.now += 1.0
    result = handle_command(mon.state, parse_argv(split(line)), mon.ctx(), inbuf)
    if hasattr(result, "entry"):
        result = mon.state.apply(result.entry)
    return result


def test_osd_new_with_a_cephx_secret_creates_the_osds_key() -> None:
    mon = with_osds(1)
    key = CryptoKey.generate(1000.0).to_base64()
    made = _new(mon, f"osd new {UUID}", {"cephx_secret": key})
    assert made.rc == 0 and made.outbuf.strip() == b"1"
    auth = mon.state.auth.lookup(EntityName.parse("osd.1"))
    assert auth is not None and auth.key.to_base64() == key and auth.caps == OSD_CAPS
    again = _new(mon, f"osd new {UUID} 1", {"cephx_secret": key})
    assert again.rc == 0 and again.outbuf.strip() == b"1"
    other = CryptoKey.generate(1001.0).to_base64()
    refused = _new(mon, f"osd new {UUID}", {"cephx_secret": other})
    assert (refused.rc, refused.outs) == (
        -errno.EEXIST,
        "entity osd.1 exists but key does not match",
    )
    before = mon.state.osdmap.epoch
    for secrets, outs in (
        ({"cephx_secret": "nope"}, "invalid cephx secret."),
        ({"cephx_lockbox_secret": key}, "requires a cephx secret."),
        (
            {"cephx_secret": key, "dmcrypt_key": "x"},
            "requires both a cephx lockbox secret and a dm-crypt key.",
        ),
    ):
        bad = _new(mon, f"osd new {OTHER}", secrets)
        assert (bad.rc, bad.outs) == (-errno.EINVAL, outs)
    assert _new(mon, f"osd new {OTHER}", b"{not json").rc == -errno.EINVAL
    assert _new(mon, f"osd new {OTHER}", b"[1]").rc == -errno.EINVAL
    assert mon.state.osdmap.epoch == before and not mon.state.osdmap.exists(2)
    assert mon.state.auth.lookup(EntityName.parse("osd.2")) is None


def test_destroy_refusals() -> None:
    mon = _cluster()
    up = _run(mon, "osd destroy 3", _pgmap(CLEAN, {0: 2, 1: 1, 2: 1, 3: 4}))
    assert up.rc == -errno.EBUSY
    assert up.outs == (
        "OSD(s) 3 have 4 pgs currently mapped to them. \nYou can proceed by passing --force, "
        "but be warned that this will likely mean real, permanent data loss."
    )
    forced = _run(mon, "osd destroy 3 --force", _pgmap(CLEAN, {3: 4}))
    assert (forced.rc, forced.outs) == (-errno.EBUSY, "osd.3 is not `down`.")
    unsure = _run(mon, "osd destroy-actual 3")
    assert unsure.rc == -errno.EPERM
    assert unsure.outs.startswith("Are you SURE?  Did you verify with 'ceph osd safe-to-destroy'?")
    assert _run(mon, "osd purge-new 3").rc == -errno.EPERM
    gone = _run(mon, "osd destroy 42 --yes-i-really-mean-it", _pgmap(CLEAN, {3: 4}))
    assert (gone.rc, gone.outs) == (0, "osd.42 does not exist")
    assert not mon.state.osdmap.osds[3].state & OsdStateFlag.DESTROYED


def test_destroy_keeps_the_id_and_place_and_new_recreates_it() -> None:
    mon = _cluster()
    mon.ok("osd down 3")
    before = mon.state.osdmap.crush.device_names.copy()
    result = _run(mon, "osd destroy 3 --yes-i-really-mean-it", _pgmap(CLEAN, {3: 4}))
    assert (result.rc, result.outs) == (0, "destroyed osd.3")
    info = mon.state.osdmap.osds[3]
    assert info.state & OsdStateFlag.DESTROYED and mon.state.osdmap.exists(3)
    assert mon.state.osdmap.crush.device_names == before
    assert mon.state.auth.lookup(EntityName("osd", "3")) is None
    assert "destroyed" in mon.ok("osd tree").outbuf.decode().splitlines()[-1]
    dump = json.loads(mon.ok("osd dump --format json").outbuf)
    assert "destroyed" in dump["osds"][3]["state"]
    assert _run(mon, "osd destroy-actual 3 --yes-i-really-mean-it").outs == "destroyed osd.3"
    assert mon.ok("osd boot 3").outs == "osd.3 is destroyed; ignoring its boot"

    assert mon.cmd({"prefix": "osd new", "uuid": "0", "id": 3}).rc == -errno.EINVAL
    clash = _run(mon, f"osd new {UUID} 1")
    assert (clash.rc, clash.outs) == (
        -errno.EINVAL, f"id 1 already in use and does not match uuid {UUID}"
    )  # fmt: skip
    assert mon.ok(f"osd new {UUID} 3").outbuf == b"3\n"
    info = mon.state.osdmap.osds[3]
    assert not info.state & OsdStateFlag.DESTROYED and info.state & OsdStateFlag.NEW
    assert mon.state.osdmap.is_out(3) and info.uuid == UUID
    assert mon.ok(f"osd new {UUID} 3").outbuf == b"3\n"  # idempotent
    other = _run(mon, f"osd new {UUID} 2")
    assert (other.rc, other.outs) == (
        -errno.EEXIST,
        f"uuid {UUID} already in use for different id 3",
    )
    mon.ok("osd boot 3")
    assert mon.state.osdmap.is_up(3) and mon.state.osdmap.is_in(3)
    assert mon.ok(f"osd new {OTHER}").outbuf == b"4\n"


def test_purge_removes_crush_auth_and_id() -> None:
    mon = _cluster()
    mon.ok("osd down 3")
    mon.ok("osd out 3")
    result = _run(mon, "osd purge 3", _pgmap(DRAINED, {0: 2, 1: 1, 2: 1, 3: 0}))
    assert (result.rc, result.outs) == (0, "purged osd.3")
    assert not mon.state.osdmap.exists(3)
    assert 3 not in mon.state.osdmap.crush.device_names
    assert mon.state.auth.lookup(EntityName("osd", "3")) is None
    mon.ok(f"osd new {UUID}")
    mon.ok("osd down 0")
    assert _run(mon, "osd purge-new 0 --yes-i-really-mean-it").outs == "osd.0 is not new"
    assert _run(mon, "osd purge-new 3 --yes-i-really-mean-it").outs == "purged osd.3"
