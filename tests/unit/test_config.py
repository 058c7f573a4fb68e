"""radospy.conf, the option table and the layered configuration (radospy.common.config)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from radospy.common.addr import Addr, parse_addr, parse_addrs
from radospy.common.config import (
    OPTIONS,
    ZERO_FSID,
    ConfFile,
    Config,
    Level,
    OptType,
    bootstrap,
    find_conf,
    normalize_name,
    option,
    parse_value,
)
from radospy.common.errors import InvalidArgument

# Defaults as Ceph 16.2.15's `ceph-conf --show-config-value` prints them.
CEPH_DEFAULTS = {
    "fsid": ZERO_FSID,
    "mon_allow_pool_delete": False,
    "osd_pool_default_size": 3,
    "osd_pool_default_min_size": 0,
    "osd_pool_default_pg_num": 32,
    "osd_pool_default_pgp_num": 0,
    "osd_pool_default_crush_rule": -1,
    "osd_crush_update_on_start": True,
    "osd_heartbeat_interval": 6,
    "osd_heartbeat_grace": 20,
    "mon_osd_min_down_reporters": 2,
    "mon_osd_reporter_subtree_level": "host",
    "mon_osd_down_out_interval": 600,
    "osd_mon_report_interval": 5,
    "osd_heartbeat_min_peers": 10,
    "osd_fast_fail_on_connection_refused": True,
    "osd_beacon_report_interval": 300,
    "mon_osd_report_timeout": 900,
    "mon_osd_down_out_subtree_limit": "rack",
    "mon_osd_min_in_ratio": 0.75,
    "mon_tick_interval": 5,
    "mon_osd_nearfull_ratio": 0.85,
    "mon_osd_backfillfull_ratio": 0.90,
    "mon_osd_full_ratio": 0.95,
    "mon_max_pg_per_osd": 250,
    "osd_max_object_size": 134217728,
    "client_mount_timeout": 300,
    "rados_osd_op_timeout": 0,
    "rados_mon_op_timeout": 0,
    "mon_lease": 5.0,
    "mon_election_timeout": 5.0,
    "osd_max_backfills": 1,
    "osd_recovery_max_active": 0,
    "osd_recovery_max_active_hdd": 3,
    "osd_recovery_max_active_ssd": 10,
    "osd_recovery_sleep": 0.0,
    "auth_cluster_required": "cephx",
    "auth_service_required": "cephx",
    "auth_client_required": "cephx, none",
    "mon_host": [],
    "public_addr": None,
    "log_file": "",
}

SAMPLE = """\
# a comment
; another
[global]
fsid = 5ae6b1a7-96cd-4f4b-9a11-5b1f0e6b2d3c
mon host = 127.0.0.1:3300, 127.0.0.1:3301 [v2:127.0.0.1:3302,v1:127.0.0.1:6789]
osd pool default size = 2   # trailing comment
osd-heartbeat-grace=25 ; trailing comment
mon_data = ./data/$cluster/$type-$id-$name
log file = "$mon_data/log"
client_mount_timeout = 1h30m
ms_max_message_size = 4M
osd_heartbeat_interval = 7
osd_heartbeat_interval = 8

[mon]
osd_heartbeat_grace = 30

[mon.a]
osd_heartbeat_grace = 40
"""


def _conf(text: str) -> ConfFile:
    return ConfFile.parse(text, "radospy.conf")


def _config(name: str, text: str = SAMPLE) -> Config:
    config = Config(name)
    config.apply_conf(_conf(text))
    return config


# ---- the option table ----


def test_defaults_are_cephs() -> None:
    config = Config()
    for name, value in CEPH_DEFAULTS.items():
        assert config.get(name) == value, name
        assert config.source(name) is Level.DEFAULT


def test_every_default_parses_and_every_option_is_documented() -> None:
    for opt in OPTIONS.values():
        parse_value(opt, opt.default)
        assert opt.description and opt.services
        assert normalize_name(opt.name) == opt.name


def test_names_compare_with_spaces_dashes_underscores() -> None:
    assert option("osd pool default size") is option("osd-pool-default_size")
    assert normalize_name("  mon   osd--full ratio ") == "mon_osd_full_ratio"


def test_unknown_option_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="unrecognized config option 'osd_no_such'"):
        Config().get("osd_no_such")
    with pytest.raises(InvalidArgument):
        Config().set("bogus", "1")


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("osd_heartbeat_grace", " 42 ", 42),
        ("mon_allow_pool_delete", "TRUE", True),
        ("mon_allow_pool_delete", "no", False),
        ("mon_allow_pool_delete", "0", False),
        ("mon_osd_full_ratio", "0.97", 0.97),
        ("ms_max_message_size", "4096", 4096),
        ("ms_max_message_size", "4K", 4096),
        ("ms_max_message_size", "100MiB", 100 << 20),
        ("ms_max_message_size", "1G", 1 << 30),
        ("client_mount_timeout", "30", 30),
        ("client_mount_timeout", "5m", 300),
        ("client_mount_timeout", "1h 30min", 5400),
        ("client_mount_timeout", "2d", 172800),
        ("fsid", "5AE6B1A7-96CD-4F4B-9A11-5B1F0E6B2D3C", "5ae6b1a7-96cd-4f4b-9a11-5b1f0e6b2d3c"),
        ("public_addr", "10.0.0.1", Addr("10.0.0.1", 3300)),
        ("public_addr", "v2:10.0.0.1:6800/0", Addr("10.0.0.1", 6800)),
        ("mon_host", "a.example:1, [::1]:3300;10.0.0.1", None),
    ],
)
def test_typed_values(name: str, text: str, value: object) -> None:
    parsed = parse_value(option(name), text)
    if value is not None:
        assert parsed == value
    else:
        assert [str(a) for a in parsed] == ["a.example:1", "[::1]:3300", "10.0.0.1:3300"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "osd_heartbeat_grace",
            "abc",
            "osd_heartbeat_grace: invalid value 'abc': expected an integer",
        ),
        ("osd_heartbeat_grace", "1.5", "expected an integer"),
        ("mon_allow_pool_delete", "maybe", "invalid value 'maybe'"),
        ("mon_osd_full_ratio", "nan", "expected a finite number"),
        ("mon_osd_full_ratio", "1.5", "value 1.5 is out of range [0, 1]"),
        ("osd_pool_default_size", "11", "value 11 is out of range [0, 10]"),
        ("osd_heartbeat_interval", "0", "out of range [1, 60]"),
        ("ms_max_message_size", "-1", "expected a size"),
        ("ms_max_message_size", "12X", "expected a size"),
        ("client_mount_timeout", "5 fortnights", "time span"),
        ("fsid", "nope", "fsid: invalid value 'nope'"),
        ("public_addr", "300.1.1.1:x", "invalid ip:port"),
        ("mon_host", "v1:10.0.0.1:6789", "only the v2 protocol"),
        ("mon_host", "[v1:10.0.0.1:6789]", "no v2 address"),
        ("mon_host", "10.0.0.1:70000", "invalid ip:port"),
    ],
)
def test_bad_values(name: str, text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        parse_value(option(name), text)


def test_bad_value_is_refused_and_changes_nothing() -> None:
    config = Config()
    config.set("osd_heartbeat_grace", "30")
    with pytest.raises(InvalidArgument):
        config.set("osd_heartbeat_grace", "thirty")
    assert config.get("osd_heartbeat_grace") == 30


# ---- the file ----


def test_section_precedence_entity_over_type_over_global() -> None:
    assert _config("mon.a").get("osd_heartbeat_grace") == 40
    assert _config("mon.b").get("osd_heartbeat_grace") == 30
    assert _config("osd.3").get("osd_heartbeat_grace") == 25
    assert _config("client.admin").get("osd_heartbeat_grace") == 25


def test_file_values_comments_quotes_and_repeats() -> None:
    config = _config("osd.3")
    assert config.get("osd_pool_default_size") == 2
    assert config.get("client_mount_timeout") == 5400
    assert config.get("ms_max_message_size") == 4 << 20
    assert config.get("osd_heartbeat_interval") == 8  # the last one wins, as in Ceph
    assert config.get_addrs("mon_host") == [
        Addr("127.0.0.1", 3300),
        Addr("127.0.0.1", 3301),
        Addr("127.0.0.1", 3302),
    ]
    assert config.source("osd_pool_default_size") is Level.FILE


def test_metavariables_and_option_references() -> None:
    config = _config("mon.a")
    config.cluster = "radospy"
    assert config.get("mon_data") == "./data/radospy/mon-a-mon.a"
    assert config.get("log_file") == "./data/radospy/mon-a-mon.a/log"
    assert config.get("keyring") == "radospy.mon.a.keyring,radospy.keyring,keyring"
    config.set("log_file", "/tmp/${name}.log:$pid:$nosuch:$idx")
    assert config.get("log_file") == f"/tmp/mon.a.log:{os.getpid()}:$nosuch:ax"


def test_default_paths_expand_for_the_entity() -> None:
    assert Config("mon.b").get("mon_data") == "./radospy-data/mon.b"
    assert Config("osd.7").get("osd_data") == "./radospy-data/osd.7"


def test_variable_loop_is_an_error() -> None:
    config = Config("mon.a")
    config.set("mon_data", "$log_file")
    config.set("log_file", "x/$mon_data")
    with pytest.raises(InvalidArgument, match="loop: mon_data -> log_file -> mon_data"):
        config.get("mon_data")


def test_continuation_lines() -> None:
    conf = _conf("[global]\nmon_host = 10.0.0.1, \\\n  10.0.0.2\n")
    assert conf.values_for("client.admin")["mon_host"] == "10.0.0.1,   10.0.0.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[global]\nfoo = 1\n", "radospy.conf:2: unrecognized config option 'foo'"),
        ("[global]\n\nosd_heartbeat_grace = abc\n", "radospy.conf:3: osd_heartbeat_grace: invalid"),
        ("x = 1\n", "radospy.conf:1: 'x' is outside any section"),
        ("[bogus]\n", "radospy.conf:1: unknown section [bogus]"),
        ("[osd.]\n", "radospy.conf:1: unknown section [osd.]"),
        ("[global\n", "radospy.conf:1: malformed section header"),
        ("[global]\nnovalue\n", "radospy.conf:2: expected 'key = value' or '[section]'"),
        ("[global]\n= 3\n", "radospy.conf:2: expected 'key = value'"),
        ('[global]\nkeyring = "abc\n', "radospy.conf:2: unbalanced quotes"),
        (
            "[mon.a]\nosd_pool_default_size = 11\n",
            "radospy.conf:2: osd_pool_default_size: value 11",
        ),
    ],
)
def test_file_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        _conf(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_load_file_names_the_cluster_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prod.conf"
    path.write_text("[global]\nmon_data = /d/$cluster-$id\n")
    config = Config("mon.a")
    config.load_file(path)
    assert config.get("mon_data") == "/d/prod-a"
    explicit = Config("mon.a", cluster="other")
    explicit.load_file(path)
    assert explicit.get("mon_data") == "/d/other-a"


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cannot read"):
        ConfFile.load(tmp_path / "missing.conf")
    binary = tmp_path / "bin.conf"
    binary.write_bytes(b"\xff\xfe[global]")
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        ConfFile.load(binary)


# ---- layers ----


def test_precedence_is_cephs() -> None:
    config = _config("osd.3")
    assert config.get("osd_heartbeat_grace") == 25
    config.set_central({"osd_heartbeat_grace": "50", "osd_max_backfills": "4"})
    # the local file wins over the monitors' central config, as in Ceph
    assert config.get("osd_heartbeat_grace") == 25
    assert config.get("osd_max_backfills") == 4
    assert config.source("osd_max_backfills") is Level.MON
    config.set("osd_heartbeat_grace", "60", Level.ENV)
    assert config.get("osd_heartbeat_grace") == 60
    config.set("osd_heartbeat_grace", "70", Level.CMDLINE)
    assert config.get("osd_heartbeat_grace") == 70
    config.set("osd_heartbeat_grace", "80")
    assert (config.get("osd_heartbeat_grace"), config.source("osd_heartbeat_grace")) == (
        80,
        Level.OVERRIDE,
    )
    config.rm("osd_heartbeat_grace")
    assert config.get("osd_heartbeat_grace") == 70


def test_central_config_replaces_its_layer_and_skips_unknown_options() -> None:
    config = Config("osd.0")
    config.set_central({"osd_max_backfills": "4", "some_future_option": "1"})
    config.set_central({"osd_recovery_sleep": "0.5"})
    assert config.get("osd_max_backfills") == 1
    assert config.get("osd_recovery_sleep") == 0.5
    with pytest.raises(InvalidArgument):
        config.set_central({"osd_max_backfills": "many"})


def test_diff_lists_what_is_not_default() -> None:
    config = Config("osd.0")
    config.set("osd_max_backfills", "2", Level.CMDLINE)
    config.set_central({"osd_recovery_sleep": "0.1"})
    assert config.diff() == {
        "osd_max_backfills": ("2", Level.CMDLINE),
        "osd_recovery_sleep": ("0.1", Level.MON),
    }


def test_typed_getters() -> None:
    config = Config()
    assert config.get_int("osd_heartbeat_grace") == 20
    assert config.get_float("mon_lease") == 5.0
    assert config.get_bool("mon_allow_pool_delete") is False
    assert config.get_str("auth_cluster_required") == "cephx"
    assert config.get_addrs("mon_host") == []
    with pytest.raises(TypeError):
        config.get_int("mon_allow_pool_delete")


def test_apply_args_takes_config_options_and_leaves_the_rest() -> None:
    config = Config()
    rest = config.apply_args(
        ["osd", "--osd-heartbeat-grace", "33", "--format=json", "--mon_lease=7", "-m",
         "10.0.0.1", "-k", "/k", "--", "--osd_heartbeat_grace", "1"]
    )  # fmt: skip
    assert rest == ["osd", "--format=json", "--", "--osd_heartbeat_grace", "1"]
    assert config.get("osd_heartbeat_grace") == 33
    assert config.get("mon_lease") == 7.0
    assert config.get_addrs("mon_host") == [Addr("10.0.0.1", 3300)]
    assert config.get("keyring") == "/k"
    assert config.source("keyring") is Level.CMDLINE
    with pytest.raises(InvalidArgument, match="requires an argument"):
        config.apply_args(["--mon-lease"])


# ---- finding the file and bootstrapping ----


def test_find_conf_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_conf(None, {}) is None
    (tmp_path / "radospy.conf").write_text("[global]\n")
    (tmp_path / "env.conf").write_text("[global]\n")
    (tmp_path / "explicit.conf").write_text("[global]\n")
    assert find_conf(None, {}) == Path("radospy.conf")
    assert find_conf(None, {"RADOSPY_CONF": "env.conf"}) == Path("env.conf")
    assert find_conf("explicit.conf", {"RADOSPY_CONF": "env.conf"}) == Path("explicit.conf")
    with pytest.raises(InvalidArgument, match=r"config file nope\.conf \(from -c\) does not exist"):
        find_conf("nope.conf", {})
    with pytest.raises(InvalidArgument, match=r"from \$RADOSPY_CONF"):
        find_conf(None, {"RADOSPY_CONF": "gone.conf"})


def test_bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "radospy.conf").write_text(SAMPLE)
    env = {"RADOSPY_ARGS": "--id a --osd_heartbeat_interval 9 --mon-lease 3"}
    boot = bootstrap(["--name", "mon.b", "status", "--mon_lease", "4"], env=env)
    assert boot.config.name == "mon.b"  # argv wins over the environment
    assert boot.args == ["status"]
    assert boot.config.get("osd_heartbeat_grace") == 30
    assert boot.config.get("osd_heartbeat_interval") == 9
    assert boot.config.source("osd_heartbeat_interval") is Level.ENV
    assert boot.config.get("mon_lease") == 4.0
    assert boot.config.cluster == "radospy"
    assert boot.config.conf_path == "radospy.conf"


def test_bootstrap_ids_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    daemon = bootstrap(["-i", "3"], default_name="osd.0", short_id=True, env={})
    assert daemon.config.name == "osd.3"
    client = bootstrap(["-i", "map.bin", "--id=foo"], env={})
    assert client.config.name == "client.foo"
    assert client.args == ["-i", "map.bin"]
    with pytest.raises(InvalidArgument, match="invalid entity name 'bogus'"):
        bootstrap(["-n", "bogus"], env={})
    with pytest.raises(InvalidArgument, match="does not exist"):
        bootstrap(["-c", "missing.conf"], env={})
    with pytest.raises(InvalidArgument, match="RADOSPY_ARGS"):
        bootstrap([], env={"RADOSPY_ARGS": "--id 'unterminated"})
    with pytest.raises(InvalidArgument, match="requires an argument"):
        bootstrap(["--conf"], env={})


# ---- addresses ----


def test_addresses() -> None:
    assert str(parse_addr("[::1]:6789")) == "[::1]:6789"
    assert parse_addr("10.0.0.1:0") == Addr("10.0.0.1", 3300)
    assert parse_addr("::1") == Addr("::1", 3300)
    assert parse_addr("host-1.example") == Addr("host-1.example", 3300)
    assert Addr("10.0.0.1", 3300).entity_str() == "v2:10.0.0.1:3300/0"
    assert parse_addrs("") == []
    for bad in ("host_x", "10.0.0.1:", "[::1", "[::1]x", "-host"):
        with pytest.raises(InvalidArgument):
            parse_addr(bad)
    with pytest.raises(InvalidArgument):
        parse_addr("example.com", require_ip=True)
    with pytest.raises(InvalidArgument, match="unbalanced"):
        parse_addrs("[v2:10.0.0.1:3300")


def test_option_types_cover_the_brief() -> None:
    kinds = {opt.type for opt in OPTIONS.values()}
    assert kinds == set(OptType)
