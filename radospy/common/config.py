"""Configuration as Ceph does it: an option table, `radospy.conf`, env, args, central config.

Options have Ceph's names, types and defaults (Ceph 16.2.15, checked with its `ceph-conf`);
paths default under `./radospy-data` instead of `/var/lib/ceph`, and `ms_max_message_size`
is radospy's own. Names compare with spaces, dashes and underscores alike
(`osd pool default size`, `--osd-pool-default-size`).

Precedence, lowest first, exactly Ceph's config sources (`Level`): compiled-in default,
the monitors' central config (`ceph config set`), the local config file, the environment
(`RADOSPY_ARGS`, Ceph's `CEPH_ARGS`), the command line, runtime overrides (`ceph tell …
config set`). So, as in Ceph, an option set in the local file wins over the same option
set with `ceph config set`; keep the file to bootstrap options (`mon_host`, `keyring`,
paths) and let the monitors hold the rest.

Within the file, the most specific section wins: `[mon.a]` over `[mon]` over `[global]`.
String values expand Ceph's metavariables (`$cluster`, `$type`, `$id`, `$name`, `$host`,
`$pid`, `$home`) and other options (`$osd_data/journal`) when read. Unlike Ceph, which
skips what it cannot use, unknown options, unknown sections and invalid values are
errors naming the file and line: a typo in a config file should not go unnoticed.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TypeVar

from radospy.common.addr import Addr, parse_addr, parse_addrs
from radospy.common.errors import InvalidArgument

CONF_ENV = "RADOSPY_CONF"
ARGS_ENV = "RADOSPY_ARGS"
DEFAULT_CONF = "radospy.conf"
DEFAULT_CLUSTER = "radospy"
ZERO_FSID = "00000000-0000-0000-0000-000000000000"
ENTITY_TYPES = ("mon", "osd", "mds", "mgr", "client")

_T = TypeVar("_T")

Value = str | int | float | bool | Addr | list[Addr] | None


class OptType(StrEnum):
    """Value types, as Ceph's `Option::type_t`."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    SIZE = "size"
    """Bytes; accepts IEC suffixes (`4K`, `100M`, `1GiB`)."""
    SECS = "secs"
    """Whole seconds; accepts Ceph's time spans (`300`, `5m`, `1h30m`)."""
    UUID = "uuid"
    ADDR = "addr"
    ADDRVEC = "addrvec"


class Level(IntEnum):
    """Where a value came from; a higher level overrides a lower one (Ceph's order)."""

    DEFAULT = 0
    MON = 1
    FILE = 2
    ENV = 3
    CMDLINE = 4
    OVERRIDE = 5


@dataclass(frozen=True)
class Option:
    """One configurable option: its name, type, default (as text), meaning and users."""

    name: str
    type: OptType
    default: str
    description: str
    services: tuple[str, ...]
    min: float | None = None
    max: float | None = None


def _opt(
    name: str,
    type_: OptType,
    default: str,
    services: str,
    description: str,
    min: float | None = None,
    max: float | None = None,
) -> Option:
    return Option(name, type_, default, description, tuple(services.split()), min, max)


_S, _I, _F, _B = OptType.STR, OptType.INT, OptType.FLOAT, OptType.BOOL

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        _opt("fsid", OptType.UUID, ZERO_FSID, "common", "cluster fsid (uuid)"),
        _opt("mon_host", OptType.ADDRVEC, "", "common",
             "monitor addresses to contact first: IP[:PORT] separated by commas or spaces"),
        _opt("mon_initial_members", _S, "", "mon",
             "names of the monitors that form the first quorum"),
        _opt("keyring", _S, "$cluster.$name.keyring,$cluster.keyring,keyring", "common",
             "keyring files to search, comma separated; the first that exists is used"),
        _opt("public_addr", OptType.ADDR, "", "mon osd mds",
             "address this daemon binds and advertises; empty: choose automatically"),
        _opt("mon_data", _S, "./radospy-data/mon.$id", "mon", "monitor data directory"),
        _opt("osd_data", _S, "./radospy-data/osd.$id", "osd", "OSD data directory"),
        _opt("log_file", _S, "", "common", "log file; empty: log to stderr"),
        _opt("ms_max_message_size", OptType.SIZE, str(100 << 20), "common",
             "largest message frame accepted; a bigger one closes the connection (radospy)",
             min=4096),
        _opt("ms_cluster_mode", _S, "crc secure", "common",
             "connection modes between daemons, in order of preference: crc (checksummed"
             " frames) or secure (every frame signed)"),
        _opt("ms_service_mode", _S, "crc secure", "common",
             "connection modes a daemon allows its clients, in order of preference"),
        _opt("ms_client_mode", _S, "crc secure", "common",
             "connection modes a client asks for, in order of preference"),
        _opt("mon_allow_pool_delete", _B, "false", "mon",
             "allow pool deletion (`osd pool delete`)"),
        _opt("osd_pool_default_size", _I, "3", "mon",
             "number of replicas of a new replicated pool", min=0, max=10),
        _opt("osd_pool_default_min_size", _I, "0", "mon",
             "replicas needed to serve I/O in a new pool; 0: size - size/2", min=0, max=255),
        _opt("osd_pool_default_pg_num", _I, "32", "mon",
             "number of PGs of a new pool", min=1),
        _opt("osd_pool_default_pgp_num", _I, "0", "mon",
             "placement seeds of a new pool; 0: same as pg_num", min=0),
        _opt("osd_pool_default_crush_rule", _I, "-1", "mon",
             "CRUSH rule of a new replicated pool; -1: the lowest numbered replicated rule",
             min=-1),
        _opt("osd_crush_update_on_start", _B, "true", "osd",
             "an OSD places itself in the CRUSH map when it starts"),
        _opt("crush_location", _S, "", "osd",
             "where an OSD places itself in the CRUSH map (`host=H rack=R`); "
             "empty: host=<short host name>, root=default"),
        _opt("osd_heartbeat_interval", _I, "6", "osd",
             "seconds between pings to peer OSDs", min=1, max=60),
        _opt("osd_heartbeat_grace", _I, "20", "osd mon",
             "seconds without a reply before a peer OSD is reported down", min=1),
        _opt("osd_pool_default_read_lease_ratio", _F, "0.8", "osd",
             "a primary's read lease, as a fraction of osd_heartbeat_grace",
             min=0.01, max=1),
        _opt("mon_osd_min_down_reporters", _I, "2", "mon",
             "distinct reporters (at subtree level) needed to mark an OSD down", min=1),
        _opt("mon_osd_reporter_subtree_level", _S, "host", "mon",
             "CRUSH level at which down reports count as distinct"),
        _opt("mon_osd_down_out_interval", _I, "600", "mon",
             "seconds an OSD stays down before it is marked out; 0: never", min=0),
        _opt("osd_mon_report_interval", _I, "5", "osd",
             "seconds between an OSD's reports to the monitors", min=1),
        _opt("osd_heartbeat_min_peers", _I, "10", "osd",
             "peers an OSD pings at least, adding neighbours by id when it shares PGs "
             "with fewer", min=1),
        _opt("osd_fast_fail_on_connection_refused", _B, "true", "osd",
             "report a peer whose heartbeat address refuses connections at once"),
        _opt("osd_beacon_report_interval", _I, "300", "osd",
             "seconds between an OSD's beacons to the monitors", min=1),
        _opt("osd_map_wait_resubscribe_interval", _F, "10", "osd",
             "seconds between an OSD's requests to the monitors for newer maps while "
             "an op waits for the epoch its client named", min=0.1),
        _opt("osd_map_wait_timeout", _F, "30", "osd",
             "seconds an op waits for the osdmap epoch its client named before the "
             "OSD answers EAGAIN (the client sends it again)", min=0.1),
        _opt("mon_client_ping_interval", _F, "10", "client osd",
             "seconds of silence from the monitor before a client sends it a keepalive",
             min=0.01),
        _opt("mon_client_ping_timeout", _F, "30", "client osd",
             "seconds of silence from the monitor before a client hunts for another",
             min=0.01),
        _opt("mon_client_hunt_interval", _F, "3", "client osd",
             "seconds a pending command waits on a silent monitor (or a dial) before "
             "the client hunts for another", min=0.01),
        _opt("mon_client_hunt_interval_backoff", _F, "1.5", "client osd",
             "growth of the hunt interval per hunt in a row", min=1),
        _opt("mon_client_hunt_interval_max_multiple", _F, "10", "client osd",
             "cap on the hunt interval's growth, as a multiple of it", min=1),
        _opt("mon_osd_adjust_heartbeat_grace", _B, "true", "mon",
             "lengthen the heartbeat grace of OSDs by their history of wrong mark-downs"),
        _opt("mon_osd_laggy_halflife", _I, "3600", "mon",
             "seconds after which a laggy estimate counts half", min=1),
        _opt("mon_osd_laggy_weight", _F, "0.3", "mon",
             "weight of the newest sample in the laggy estimates", min=0, max=1),
        _opt("mon_osd_laggy_max_interval", _I, "300", "mon",
             "cap (seconds) on one laggy_interval sample; 0: none", min=0),
        _opt("mon_osd_report_timeout", _I, "900", "mon",
             "seconds without a beacon before an up OSD is marked down", min=1),
        _opt("mon_osd_down_out_subtree_limit", _S, "rack", "mon",
             "smallest CRUSH unit type that is not marked out automatically when all "
             "of it is down"),
        _opt("mon_osd_min_in_ratio", _F, "0.75", "mon",
             "fraction of OSDs that must stay in for a down one to be marked out "
             "automatically", min=0, max=1),
        _opt("mon_pg_stuck_threshold", _I, "60", "mon",
             "seconds a PG may stay inactive, unclean, undersized, degraded or stale "
             "before it counts as stuck", min=1),
        _opt("mon_op_retry_timeout", _F, "30", "mon",
             "seconds a monitor validates and proposes again a change refused at apply "
             "time (the state moved on) before answering ETIMEDOUT (radospy's own; "
             "Ceph's monitor waits indefinitely, its default is mon_op_complaint_time's)",
             min=0),
        _opt("mon_tick_interval", _I, "5", "mon",
             "seconds between the leader's checks of timers (down-out, beacons)", min=1),
        _opt("mon_osd_nearfull_ratio", _F, "0.85", "mon",
             "usage ratio at which an OSD is nearfull (health warning)", min=0, max=1),
        _opt("mon_osd_backfillfull_ratio", _F, "0.90", "mon",
             "usage ratio at which an OSD refuses backfill", min=0, max=1),
        _opt("mon_osd_full_ratio", _F, "0.95", "mon",
             "usage ratio at which an OSD refuses writes", min=0, max=1),
        _opt("mon_max_pg_per_osd", _I, "250", "mon",
             "PG replicas per OSD above which pool creation is refused", min=1),
        _opt("osd_max_object_size", OptType.SIZE, str(128 << 20), "osd",
             "largest object accepted", min=1),
        _opt("osd_read_threads", _I, "3", "osd",
             "threads of an OSD that read big reads (1 MiB or more from its block file) "
             "while its event loop serves other ops (radospy); 0: on the event loop",
             min=0, max=64),
        _opt("osd_capacity", OptType.SIZE, "0", "osd",
             "bytes an OSD reports as its capacity and fills up to (radospy's own, as "
             "a small device for tests); 0: the size of the file system under osd_data",
             min=0),
        _opt("client_mount_timeout", OptType.SECS, "300", "client",
             "give up connecting to the monitors after this long"),
        _opt("rados_osd_op_timeout", OptType.SECS, "0", "client",
             "seconds before an OSD operation fails with ETIMEDOUT; 0: wait forever"),
        _opt("rados_mon_op_timeout", OptType.SECS, "0", "client",
             "seconds before a monitor command fails with ETIMEDOUT; 0: wait forever"),
        _opt("mon_lease", _F, "5", "mon", "seconds a leader's read lease lasts", min=0),
        _opt("mon_election_timeout", _F, "5", "mon",
             "seconds before an election attempt is abandoned", min=0),
        _opt("osd_max_backfills", _I, "1", "osd",
             "concurrent backfills to or from one OSD", min=0),
        _opt("osd_recovery_max_active", _I, "0", "osd",
             "concurrent recovery ops per OSD; 0: the _hdd or _ssd value", min=0),
        _opt("osd_recovery_max_active_hdd", _I, "3", "osd",
             "osd_recovery_max_active for rotational devices", min=0),
        _opt("osd_recovery_max_active_ssd", _I, "10", "osd",
             "osd_recovery_max_active for solid-state devices", min=0),
        _opt("osd_recovery_sleep", _F, "0", "osd",
             "seconds to sleep between recovery ops", min=0),
        _opt("osd_scrub_min_interval", _F, "86400", "osd",
             "seconds after a PG's last scrub before the next is scheduled", min=0),
        _opt("osd_scrub_max_interval", _F, "604800", "osd",
             "seconds after a PG's last scrub by which the next one runs", min=0),
        _opt("osd_deep_scrub_interval", _F, "604800", "osd",
             "seconds between deep scrubs of a PG", min=0),
        _opt("osd_scrub_interval_randomize_ratio", _F, "0.5", "osd",
             "stretch of osd_scrub_min_interval by up to this ratio, at random", min=0),
        _opt("osd_scrub_chunk_min", _I, "5", "osd",
             "fewest objects scrubbed in one chunk", min=1),
        _opt("osd_scrub_chunk_max", _I, "25", "osd",
             "most objects scrubbed in one chunk (writes to them wait)", min=1),
        _opt("osd_max_scrubs", _I, "1", "osd",
             "PGs one OSD scrubs at a time", min=1),
        _opt("osd_scrub_sleep", _F, "0", "osd",
             "seconds to sleep between scrub chunks", min=0),
        _opt("osd_min_pg_log_entries", _I, "250", "osd",
             "PG log entries kept at least, per PG", min=1),
        _opt("osd_max_pg_log_entries", _I, "10000", "osd",
             "PG log entries kept at most, per PG", min=1),
        _opt("osd_target_pg_log_entries_per_osd", _I, "300000", "osd",
             "PG log entries an OSD aims to keep over all its PGs", min=1),
        _opt("osd_pg_log_trim_min", _I, "100", "osd",
             "fewest PG log entries trimmed at once", min=1),
        _opt("rgw_lc_debug_interval", _I, "-1", "rgw",
             "if > 0, a lifecycle day lasts this many seconds and the lifecycle worker "
             "runs that often (for tests)"),
        _opt("rgw_lc_lock_max_time", _I, "90", "rgw",
             "seconds a lifecycle worker holds an lc shard's lock", min=1),
        _opt("auth_cluster_required", _S, "cephx", "common",
             "authentication daemons require of each other (cephx or none)"),
        _opt("auth_service_required", _S, "cephx", "common",
             "authentication daemons require of clients (cephx or none)"),
        _opt("auth_client_required", _S, "cephx, none", "common",
             "authentication methods a client accepts, in order of preference"),
        _opt("rgw_override_bucket_index_max_shards", _I, "0", "rgw",
             "index shards of a new bucket when not 0 (overrides rgw_bucket_index_max_shards)",
             min=0, max=65521),
        _opt("rgw_bucket_index_max_shards", _I, "11", "rgw",
             "index shards of a new bucket (the zone's default: 11, as Ceph's since Pacific); "
             "0: one unsharded index object", min=0, max=65521),
        _opt("rgw_bucket_quota_ttl", _I, "600", "rgw",
             "seconds a gateway trusts the bucket and user usage it read for quota checks "
             "(its own writes are added meanwhile)", min=0),
        _opt("rgw_gc_obj_min_wait", _I, "7200", "rgw",
             "seconds replaced object data waits in the gc list before it may be removed",
             min=0),
        _opt("rgw_gc_processor_period", _I, "3600", "rgw",
             "seconds between two runs of a gateway's garbage collector", min=1),
        _opt("rgw_cache_lru_size", _I, "25000", "rgw",
             "user and bucket metadata entries a gateway caches (each cache)", min=1),
        _opt("rgw_cache_expiry_interval", _I, "900", "rgw",
             "seconds a gateway trusts cached user and bucket metadata at most (changes "
             "made through radospy reach every gateway at once)", min=0),
    )
}  # fmt: skip


def normalize_name(name: str) -> str:
    """`name` with spaces and dashes as underscores: `osd pool-size` → `osd_pool_size`."""
    return "_".join(p for p in re.split(r"[\s_-]+", name.strip()) if p)


def option(name: str) -> Option:
    """The option called `name` (any spelling); InvalidArgument if there is none."""
    opt = OPTIONS.get(normalize_name(name))
    if opt is None:
        raise InvalidArgument(f"unrecognized config option '{name.strip()}'")
    return opt


# ---- value parsing ----------------------------------------------------------------------

_IEC = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}
_SIZE_RE = re.compile(r"([0-9]+)\s*(?:([KMGTPE])(?:i?B)?|B)?", re.IGNORECASE)
_SPAN_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("mo", "month", "months"), 30 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}
_SPAN_RE = re.compile(r"\s*([0-9]+)\s*([a-z]*)")
_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"[-+]?[0-9]+", text):
        raise ValueError("expected an integer")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return _parse_int(text) != 0


def _parse_size(text: str) -> int:
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError("expected a size in bytes (e.g. 4096, 4K, 100M, 1G)")
    return int(match.group(1)) << _IEC[(match.group(2) or "").upper()]


def _parse_secs(text: str) -> int:
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    total, pos = 0, 0
    while pos < len(text):
        match = _SPAN_RE.match(text, pos)
        if match is None or match.group(2) not in _SPAN_UNITS:
            raise ValueError("expected seconds or a time span (e.g. 300, 5m, 1h30m)")
        total += int(match.group(1)) * _SPAN_UNITS[match.group(2)]
        pos = match.end()
    return total


def _parse_uuid(text: str) -> str:
    return str(uuid.UUID(text))


def _parse_addr(text: str) -> Addr | None:
    return parse_addr(text) if text else None


_PARSERS = {
    OptType.STR: str,
    OptType.INT: _parse_int,
    OptType.FLOAT: _parse_float,
    OptType.BOOL: _parse_bool,
    OptType.SIZE: _parse_size,
    OptType.SECS: _parse_secs,
    OptType.UUID: _parse_uuid,
    OptType.ADDR: _parse_addr,
    OptType.ADDRVEC: parse_addrs,
}


def parse_value(opt: Option, text: str) -> Value:
    """`text` as a value of `opt`'s type, checked against its bounds.

    Raises InvalidArgument: `osd_heartbeat_grace: invalid value 'abc': expected an integer`.
    """
    stripped = text.strip()
    try:
        value: Value = _PARSERS[opt.type](stripped)
    except (ValueError, InvalidArgument) as e:
        raise InvalidArgument(f"{opt.name}: invalid value '{text}': {e}") from None
    if isinstance(value, int | float) and not isinstance(value, bool) and _out_of_range(opt, value):
        bounds = f"[{_num(opt.min, '-inf')}, {_num(opt.max, 'inf')}]"
        raise InvalidArgument(f"{opt.name}: value {text.strip()} is out of range {bounds}")
    return value


def _out_of_range(opt: Option, value: float) -> bool:
    return (opt.min is not None and value < opt.min) or (opt.max is not None and value > opt.max)


def _num(bound: float | None, unbounded: str) -> str:
    if bound is None:
        return unbounded
    return str(int(bound)) if bound == int(bound) else str(bound)


# ---- the config file ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfEntry:
    """A `key = value` of a config file, with the line it came from (for messages)."""

    value: str
    line: int


@dataclass
class ConfFile:
    """A parsed `radospy.conf`: sections of normalized option names → raw values."""

    path: str
    sections: dict[str, dict[str, ConfEntry]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ConfFile:
        """Read and check a config file; InvalidArgument (one line) if it cannot be used."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise InvalidArgument(f"{os.fspath(path)}: cannot read: {e.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidArgument(f"{os.fspath(path)}: not UTF-8 text") from None
        return cls.parse(text, os.fspath(path))

    @classmethod
    def parse(cls, text: str, path: str = DEFAULT_CONF) -> ConfFile:
        """Parse config text in Ceph's INI layout; every value is checked against its option."""
        conf = cls(path)
        section: dict[str, ConfEntry] | None = None
        for lineno, line in _logical_lines(text):
            stripped = line.strip()
            if not stripped or stripped[0] in "#;":
                continue
            if stripped.startswith("["):
                section = conf._open_section(stripped, lineno)
                continue
            key, eq, raw = stripped.partition("=")
            if not eq or not key.strip():
                raise InvalidArgument(f"{path}:{lineno}: expected 'key = value' or '[section]'")
            if section is None:
                raise InvalidArgument(f"{path}:{lineno}: '{key.strip()}' is outside any section")
            try:
                opt = option(key)
                value = _unquote(raw)
                parse_value(opt, value)
            except InvalidArgument as e:
                raise InvalidArgument(f"{path}:{lineno}: {e}") from None
            section[opt.name] = ConfEntry(value, lineno)
        return conf

    def _open_section(self, text: str, lineno: int) -> dict[str, ConfEntry]:
        body = _strip_comment(text)
        if not body.endswith("]"):
            raise InvalidArgument(f"{self.path}:{lineno}: malformed section header '{text}'")
        name = body[1:-1].strip()
        if not _valid_section(name):
            raise InvalidArgument(
                f"{self.path}:{lineno}: unknown section [{name}]: expected global, "
                f"a type ({', '.join(ENTITY_TYPES)}) or TYPE.ID"
            )
        return self.sections.setdefault(name, {})

    def values_for(self, name: str) -> dict[str, str]:
        """The raw values that apply to entity `name` (`mon.a`): entity > type > global."""
        type_ = name.partition(".")[0]
        values: dict[str, str] = {}
        for section in ("global", type_, name):
            values.update({k: e.value for k, e in self.sections.get(section, {}).items()})
        return values


def _valid_section(name: str) -> bool:
    if name == "global" or name in ENTITY_TYPES:
        return True
    type_, dot, id_ = name.partition(".")
    return bool(dot and id_) and type_ in ENTITY_TYPES


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with its first physical line number."""
    result: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = lineno
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        result.append((start, "".join(pending)))
        pending = []
    if pending:
        result.append((start, "".join(pending)))
    return result


def _strip_comment(text: str) -> str:
    """Text up to an unescaped `#` or `;` outside quotes, trailing spaces removed."""
    quoted = False
    out: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            out.append(ch + next(chars, ""))
        elif ch == '"':
            quoted = not quoted
            out.append(ch)
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
    return "".join(out).strip()


def _unquote(raw: str) -> str:
    """A value without its comment; `"…"` quotes and backslash escapes removed."""
    body = _strip_comment(raw)
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1]
    elif '"' in body.replace('\\"', ""):
        raise InvalidArgument(f"unbalanced quotes in value {raw.strip()}")
    return re.sub(r"\\(.)", r"\1", body)


def find_conf(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file a client reads: `-c PATH`, else `$RADOSPY_CONF`, else `./radospy.conf`.

    An explicit path (or the variable) that does not exist is an error; a missing
    `./radospy.conf` just means there is no file (None).
    """
    environ = os.environ if env is None else env
    for source, candidate in (("-c", explicit), (f"${CONF_ENV}", environ.get(CONF_ENV))):
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise InvalidArgument(f"config file {candidate} (from {source}) does not exist")
            return path
    default = Path(DEFAULT_CONF)
    return default if default.is_file() else None


# ---- the layered configuration ----------------------------------------------------------


def _metavar(cfg: Config, name: str) -> str | None:
    type_, _, id_ = cfg.name.partition(".")
    values = {
        "cluster": cfg.cluster,
        "type": type_,
        "id": id_,
        "num": id_,
        "name": cfg.name,
        "host": socket.gethostname().split(".")[0],
        "pid": str(os.getpid()),
        "home": os.environ.get("HOME", ""),
    }
    return values.get(name)


_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def parse_entity_name(name: str) -> str:
    """Check an entity name `TYPE.ID` (`mon.a`, `osd.3`, `client.admin`) and return it."""
    type_, dot, id_ = name.partition(".")
    if not dot or not id_ or type_ not in ENTITY_TYPES:
        raise InvalidArgument(
            f"invalid entity name '{name}': expected TYPE.ID with TYPE one of "
            + ", ".join(ENTITY_TYPES)
        )
    return name


class Config:
    """The configuration of one entity (`mon.a`, `osd.3`, `client.admin`).

    Values live in layers (`Level`); `get` returns the highest layer's value, typed.
    Every value is checked when it is set, so `get` never fails on a bad value.
    """

    def __init__(self, name: str = "client.admin", cluster: str | None = None) -> None:
        self.name = parse_entity_name(name)
        self.cluster = cluster or DEFAULT_CLUSTER
        self._cluster_explicit = cluster is not None
        self.conf_path: str | None = None
        self._layers: dict[Level, dict[str, str]] = {level: {} for level in Level}

    # -- setting values --

    def set(self, name: str, value: str, level: Level = Level.OVERRIDE) -> None:
        """Set option `name` at `level`; InvalidArgument for an unknown option or bad value."""
        opt = option(name)
        parse_value(opt, value)
        self._layers[level][opt.name] = value

    def rm(self, name: str, level: Level = Level.OVERRIDE) -> None:
        """Forget option `name` at `level` (a lower level's value shows through again)."""
        self._layers[level].pop(option(name).name, None)

    def load_file(self, path: str | os.PathLike[str]) -> None:
        """Replace the file layer with the values of `path` that apply to this entity.

        As Ceph, a file called `X.conf` names the cluster `X` unless one was given.
        """
        self.apply_conf(ConfFile.load(path))

    def apply_conf(self, conf: ConfFile) -> None:
        """Replace the file layer with `conf`'s values for this entity."""
        stem, ext = os.path.splitext(os.path.basename(conf.path))
        if not self._cluster_explicit and ext == ".conf" and stem:
            self.cluster = stem
        self.conf_path = conf.path
        self._layers[Level.FILE] = conf.values_for(self.name)

    def set_central(self, values: Mapping[str, str]) -> None:
        """Replace the central-config layer with what the monitors sent for this entity.

        Options this build does not know are skipped (a newer monitor may know more);
        a known option with a bad value is an error.
        """
        layer: dict[str, str] = {}
        for name, value in values.items():
            opt = OPTIONS.get(normalize_name(name))
            if opt is not None:
                parse_value(opt, value)
                layer[opt.name] = value
        self._layers[Level.MON] = layer

    def apply_args(self, args: Sequence[str], level: Level = Level.CMDLINE) -> list[str]:
        """Take `--option value` / `--option=value` for known options, `-m` and `-k`.

        Returns the arguments that are not config options, in order; everything after
        `--` is left alone.
        """
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rest.extend(args[i:])
                break
            name, value, used = _config_arg(args, i)
            if name is None:
                rest.append(arg)
                i += 1
                continue
            if value is None:
                raise InvalidArgument(f"option {arg} requires an argument")
            self.set(name, value, level)
            i += used
        return rest

    # -- reading values --

    def get(self, name: str) -> Value:
        """The typed value of option `name`; strings have their `$variables` expanded."""
        return self._get(option(name), ())

    def get_str(self, name: str) -> str:
        """`get` for a string option (str, uuid)."""
        return _expect(self.get(name), str, name)

    def get_int(self, name: str) -> int:
        """`get` for an int, size or secs option."""
        return _expect(self.get(name), int, name)

    def get_float(self, name: str) -> float:
        """`get` for a float option."""
        return _expect(self.get(name), float, name)

    def get_bool(self, name: str) -> bool:
        """`get` for a bool option."""
        return _expect(self.get(name), bool, name)

    def get_addrs(self, name: str) -> list[Addr]:
        """`get` for an address list (`mon_host`)."""
        return _expect(self.get(name), list, name)

    def source(self, name: str) -> Level:
        """The level the value of option `name` comes from."""
        opt = option(name)
        for level in reversed(Level):
            if opt.name in self._layers[level]:
                return level
        return Level.DEFAULT

    def raw(self, name: str) -> str:
        """The unexpanded text of option `name`'s current value."""
        opt = option(name)
        for level in reversed(Level):
            if opt.name in self._layers[level]:
                return self._layers[level][opt.name]
        return opt.default

    def diff(self) -> dict[str, tuple[str, Level]]:
        """Options not at their default: name → (raw value, level), as `config diff`."""
        return {name: (self.raw(name), self.source(name)) for name in sorted(self._set_names())}

    def _set_names(self) -> set[str]:
        return {name for level in Level for name in self._layers[level]}

    def _get(self, opt: Option, expanding: tuple[str, ...]) -> Value:
        text = self.raw(opt.name)
        if opt.type is OptType.STR:
            return self._expand(opt.name, text, (*expanding, opt.name))
        return parse_value(opt, text)

    def _expand(self, owner: str, text: str, expanding: tuple[str, ...]) -> str:
        def substitute(match: re.Match[str]) -> str:
            word = match.group(1) or match.group(2)
            replacement = self._lookup_var(word, expanding)
            if replacement is not None:
                return replacement
            if match.group(1) is None:
                # Ceph matches variable names as prefixes: `$idfoo` is `$id` + `foo`
                for end in range(len(word) - 1, 0, -1):
                    replacement = self._lookup_var(word[:end], expanding)
                    if replacement is not None:
                        return replacement + word[end:]
            return match.group(0)

        return _VAR_RE.sub(substitute, text)

    def _lookup_var(self, word: str, expanding: tuple[str, ...]) -> str | None:
        meta = _metavar(self, word)
        if meta is not None:
            return meta
        opt = OPTIONS.get(word)
        if opt is None:
            return None
        if opt.name in expanding:
            chain = " -> ".join((*expanding, opt.name))
            raise InvalidArgument(f"config variable loop: {chain}")
        value = self._get(opt, expanding)
        return _value_text(value)


def _value_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(a) for a in value)
    return str(value)


def _expect(value: Value, kind: type[_T], name: str) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"config option {name} is not a {kind.__name__}")
    return value


_SHORT_ARGS = {"-m": "mon_host", "-k": "keyring"}


def _config_arg(args: Sequence[str], i: int) -> tuple[str | None, str | None, int]:
    """(option name, value, arguments used) if `args[i]` sets a config option."""
    arg = args[i]
    if arg in _SHORT_ARGS:
        value = args[i + 1] if i + 1 < len(args) else None
        return _SHORT_ARGS[arg], value, 2
    if not arg.startswith("--"):
        return None, None, 0
    key, eq, value = arg[2:].partition("=")
    name = normalize_name(key)
    if name not in OPTIONS:
        return None, None, 0
    if eq:
        return name, value, 1
    return name, (args[i + 1] if i + 1 < len(args) else None), 2


# ---- putting a process's configuration together --------------------------------------------


@dataclass
class Bootstrap:
    """What `bootstrap` found: the configuration and the arguments left for the tool."""

    config: Config
    args: list[str]


def bootstrap(
    argv: Sequence[str],
    *,
    default_name: str = "client.admin",
    short_id: bool = False,
    env: Mapping[str, str] | None = None,
) -> Bootstrap:
    """Build a process's configuration from its arguments, environment and config file.

    Reads `--id/--user ID`, `-n/--name TYPE.ID`, `-c/--conf PATH`, `--cluster NAME`
    (and `-i ID` when `short_id`, as the daemons take it) from `$RADOSPY_ARGS` and then
    `argv`; loads the config file `find_conf` picks; then applies config options given as
    `--option value` (RADOSPY_ARGS at the env level, argv at the command-line level).
    """
    environ = os.environ if env is None else env
    try:
        env_args = shlex.split(environ.get(ARGS_ENV, ""))
    except ValueError as e:
        raise InvalidArgument(f"${ARGS_ENV}: {e}") from None
    identity: dict[str, str] = {}
    env_rest = _take_identity(env_args, identity, short_id)
    argv_rest = _take_identity(list(argv), identity, short_id)

    name = identity.get("name") or default_name
    if "id" in identity:
        name = f"{name.partition('.')[0]}.{identity['id']}"
    config = Config(name, identity.get("cluster"))
    path = find_conf(identity.get("conf"), environ)
    if path is not None:
        config.load_file(path)
    rest = config.apply_args(env_rest, Level.ENV)
    rest += config.apply_args(argv_rest, Level.CMDLINE)
    return Bootstrap(config, rest)


def _take_identity(args: list[str], identity: dict[str, str], short_id: bool) -> list[str]:
    keys = {"--id": "id", "--user": "id", "-n": "name", "--name": "name",
            "-c": "conf", "--conf": "conf", "--cluster": "cluster"}  # fmt: skip
    if short_id:
        keys["-i"] = "id"
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        flag, eq, inline = arg.partition("=")
        if flag in keys:
            if eq:
                value, used = inline, 1
            elif i + 1 < len(args):
                value, used = args[i + 1], 2
            else:
                raise InvalidArgument(f"option {arg} requires an argument")
            if keys[flag] == "name":
                # --name and --id both set the entity name; the later one wins
                identity.pop("id", None)
                parse_entity_name(value)
            identity[keys[flag]] = value
            i += used
            continue
        rest.append(arg)
        i += 1
    return rest
