"""The plan behind `radospy up`: placement of OSDs on hosts, ports, the files of a new
cluster, the checks on an existing one, the pid record and the status text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radospy.cli import _local_cluster as lc
from radospy.cli.up import bootstrap
from radospy.common.config import Config


def _plan(tmp_path: Path, osds: int = 4, hosts: int | None = None) -> lc.ClusterPlan:
    return lc.new_plan(tmp_path / "c", 3, osds, hosts, 17100, False, lambda p: True)


def test_osds_spread_over_hosts_in_runs() -> None:
    assert [o.host for o in lc.place_osds(4, None)] == ["host0", "host1", "host2", "host3"]
    assert [o.host for o in lc.place_osds(4, 2)] == ["host0", "host0", "host1", "host1"]
    assert [o.host for o in lc.place_osds(5, 2)] == ["host0", "host0", "host0", "host1", "host1"]
    assert lc.place_osds(0, None) == ()
    with pytest.raises(lc.UpError, match="a host needs an OSD"):
        lc.place_osds(2, 3)
    with pytest.raises(lc.UpError, match="--hosts must be 1 or more"):
        lc.place_osds(2, 0)
    with pytest.raises(lc.UpError, match="--mons must be between 1 and 26"):
        lc.mon_names(0)


def test_ports_skip_busy_ones_unless_exact() -> None:
    busy = {17101}
    assert lc.choose_ports(3, 17100, False, lambda p: p not in busy) == [17100, 17102, 17103]
    assert lc.choose_ports(3, 17102, True, lambda p: p not in busy) == [17102, 17103, 17104]
    with pytest.raises(lc.UpError, match=r"port 127.0.0.1:17101 is already in use"):
        lc.choose_ports(3, 17100, True, lambda p: p not in busy)
    with pytest.raises(lc.UpError, match="no 3 free ports"):
        lc.choose_ports(3, 65530, False, lambda p: p < 65532)
    with pytest.raises(lc.UpError, match="--base-port must be between"):
        lc.choose_ports(3, 65534, True, lambda p: True)


def test_conf_is_what_the_tools_read(tmp_path: Path) -> None:
    plan = _plan(tmp_path, hosts=2)
    conf = tmp_path / "radospy.conf"
    conf.write_text(lc.conf_text(plan))
    mon = Config("mon.b")
    mon.load_file(conf)
    assert mon.get_str("mon_data") == f"{plan.data}/mon.b"
    assert mon.get_str("log_file") == f"{plan.data}/log/mon.b.log"
    assert [a.port for a in mon.get_addrs("mon_host")] == [17100, 17101, 17102]
    osd = Config("osd.3")
    osd.load_file(conf)
    assert osd.get_str("osd_data") == f"{plan.data}/osd.3"
    assert osd.get_str("crush_location") == "host=host1"
    assert osd.get_int("osd_pool_default_size") == 2
    admin = Config("client.admin")
    admin.load_file(conf)
    assert admin.get_str("fsid") == plan.fsid
    assert admin.get_bool("mon_allow_pool_delete")
    assert admin.get_str("log_file") == ""
    assert lc.central_config(_plan(tmp_path)) == [("mon_allow_pool_delete", "true")]


def test_keyring_has_every_daemon_and_the_admin(tmp_path: Path) -> None:
    from radospy.auth.crypto import CryptoKey

    keyring = lc.make_keyring(_plan(tmp_path, osds=2), lambda: CryptoKey.generate(0.0))
    names = [str(n) for n, _ in keyring.items()]
    assert names == ["mon.", "osd.0", "osd.1", "client.admin"]
    assert dict(keyring.items())[lc.EntityName.parse("client.admin")].caps["mon"] == "allow *"


def test_bootstrap_then_load_and_the_refusals(tmp_path: Path) -> None:
    plan = _plan(tmp_path, osds=2)
    bootstrap(plan)
    assert lc.load_plan(plan.data) == plan
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    lc.check_reuse(plan, 3, None, None, 17100)
    with pytest.raises(lc.UpError, match="holds a cluster with --osds 2, not 4"):
        lc.check_reuse(plan, None, 4, None, None)

    record = plan.record_path.read_bytes()
    other = json.loads(record)
    other["fsid"] = "11111111-2222-3333-4444-555555555555"
    plan.record_path.write_text(json.dumps(other))
    with pytest.raises(lc.UpError, match="mixes two clusters"):
        lc.load_plan(plan.data)
    plan.record_path.write_bytes(record)

    info = plan.mon_data("b") / "mon_info"
    saved = info.read_bytes()
    info.write_bytes(saved.replace(plan.fsid.encode(), other["fsid"].encode()))
    with pytest.raises(lc.UpError, match=f"holds mon.b of cluster {other['fsid']}"):
        lc.load_plan(plan.data)
    info.write_bytes(saved)

    plan.monmap_path.write_bytes(b"garbage")
    with pytest.raises(lc.UpError, match=r"corrupt cluster directory: .*monmap"):
        lc.load_plan(plan.data)


def test_pid_record_and_process_identity(tmp_path: Path) -> None:
    daemon = lc.RunningDaemon("mon.a", 42, 1234, ("python", "-m", "radospy.cli.mon", "-i", "a"))
    path = tmp_path / "up.pid"
    assert lc.decode_pid_record(lc.encode_pid_record([daemon]), path) == [daemon]
    with pytest.raises(lc.UpError, match="not a radospy up pid record"):
        lc.decode_pid_record(b"{}", path)

    stat = "42 (py (weird) name) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1234 0 0"
    cmdline = b"python\0-m\0radospy.cli.mon\0-i\0a\0"
    assert lc.stat_start_time(stat) == 1234
    assert lc.is_same_process(daemon, stat, cmdline)
    assert not lc.is_same_process(daemon, stat.replace(" 1234 ", " 999 "), cmdline)
    assert not lc.is_same_process(daemon, stat, b"python\0-m\0other\0")
    assert lc.stat_start_time(stat.replace(") S ", ") Z ")) is None


def test_status_text(tmp_path: Path) -> None:
    plan = _plan(tmp_path, osds=2)
    down_check = {"summary": {"message": "1 osds down"}}
    status = {
        "health": {"status": "HEALTH_WARN", "checks": {"OSD_DOWN": down_check}},
        "osdmap": {"epoch": 7, "num_osds": 2, "num_up_osds": 1, "num_in_osds": 2},
        "pgmap": {
            "num_pools": 1,
            "num_pgs": 8,
            "pgs_by_state": [{"state_name": "active+clean", "count": 8}],
        },
    }
    quorum = {"quorum_names": ["a", "c"], "quorum_leader_name": "a"}
    daemons = (
        lc.DaemonState("mon.a", 10),
        lc.DaemonState("mon.b", 11, 1, "radospy mon: error: cannot bind"),
        lc.DaemonState("osd.1", 12, -9, "a log line cut short"),
    )
    st = lc.parse_status(status, quorum, daemons)
    assert st.osd_epoch == 7
    assert lc.status_line(st, 3) == (
        "HEALTH_WARN; mons 2/3 in quorum (a,c); osds 1 up, 2 in of 2; pools 1, pgs 8; "
        "stopped: mon.b exited with status 1: radospy mon: error: cannot bind, "
        "osd.1 killed by SIGKILL"
    )
    screen = "\n".join(lc.status_screen(st, plan, "", "12:00:00"))
    assert "  mon:    3 daemons, quorum a,c, leader a, out of quorum: b" in screen
    assert "          OSD_DOWN: 1 osds down" in screen
    assert "  data:   1 pools, 8 pgs (8 active+clean)" in screen
    assert "    osd.1    pid 12       killed by SIGKILL" in screen
    assert f"radospy ceph -c {plan.conf_path} -s" in screen
    down = lc.ClusterStatus(daemons[:1], error="timed out")
    assert lc.status_line(down, 3) == "monitors not answering: timed out"


def test_stop_order_gateways_then_osds_then_monitors() -> None:
    groups = lc.stop_groups(["mon.a", "osd.0", "client.rgw", "mon.b", "osd.1"])
    assert groups == [["client.rgw"], ["osd.0", "osd.1"], ["mon.a", "mon.b"]]
    assert lc.stop_groups(["mon.a"]) == [["mon.a"]]


def test_rgw_spec_listens_on_loopback(tmp_path: Path) -> None:
    plan = lc.ClusterPlan(tmp_path, "f" * 8, {"a": 17100})
    spec = lc.rgw_spec(plan, "python3", 7480)
    assert spec.entity == "client.rgw"
    assert spec.argv[-4:] == ("--host", "127.0.0.1", "--port", "7480")
