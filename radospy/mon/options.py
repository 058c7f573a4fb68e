"""The options the central config (`ceph config set|get|dump`) knows, with Ceph's
names, types, defaults and levels, and how a value is resolved for a daemon.

A value set for `osd.3` wins over one set for `osd`, which wins over `global`; with
none set, the option's default applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from radospy.common.errors import InvalidArgument

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
DAEMON_TYPES = ("mon", "mgr", "osd", "mds", "client")


@dataclass(frozen=True)
class Option:
    """One option: its type (`bool`, `int`, `uint`, `float`, `size`, `secs`, `str`),
    default (as Ceph prints it) and level."""

    name: str
    type: str
    default: str
    level: str = "advanced"
    runtime: bool = True

    def normalize(self, value: str) -> str:
        """The value as stored; InvalidArgument with Ceph's message if it does not parse."""
        if self.type == "bool":
            lowered = value.lower()
            if lowered in _TRUE:
                return "true"
            if lowered in _FALSE:
                return "false"
            raise InvalidArgument(f"error parsing value: '{value}' is not a valid boolean")
        if self.type in ("int", "uint", "secs", "size"):
            try:
                number = parse_size(value) if self.type == "size" else int(value)
            except ValueError:
                raise InvalidArgument(
                    "error parsing value: strict_si_cast: unit prefix not recognized"
                ) from None
            if self.type != "int" and number < 0:
                raise InvalidArgument(f"error parsing value: value must be >= 0: {value}")
            return str(number)
        if self.type == "float":
            try:
                return repr(float(value)) if "." in value or "e" in value else str(float(value))
            except ValueError:
                raise InvalidArgument(f"error parsing value: '{value}' is not a float") from None
        return value


_OPTIONS = (
    Option("mon_allow_pool_delete", "bool", "false"),
    Option("mon_max_pg_per_osd", "uint", "250"),
    Option("mon_max_pool_pg_num", "uint", "65536"),
    Option("mon_osd_down_out_interval", "secs", "600"),
    Option("mon_osd_min_down_reporters", "uint", "2"),
    Option("mon_osd_reporter_subtree_level", "str", "host"),
    Option("mon_osd_adjust_heartbeat_grace", "bool", "true"),
    Option("mon_osd_laggy_halflife", "int", "3600"),
    Option("mon_osd_laggy_weight", "float", "0.300000"),
    Option("mon_osd_laggy_max_interval", "int", "300"),
    Option("mon_data_avail_warn", "int", "30"),
    Option("osd_pool_default_size", "uint", "3"),
    Option("osd_pool_default_min_size", "uint", "0"),
    Option("osd_pool_default_pg_num", "uint", "32"),
    Option("osd_pool_default_pgp_num", "uint", "0"),
    Option("osd_pool_default_crush_rule", "int", "-1"),
    Option("osd_pool_default_pg_autoscale_mode", "str", "on"),
    Option("osd_pool_erasure_code_stripe_unit", "size", "4096"),
    Option("osd_heartbeat_interval", "int", "6"),
    Option("osd_heartbeat_grace", "int", "20"),
    Option("osd_max_backfills", "uint", "1"),
    Option("osd_recovery_max_active", "uint", "0"),
    Option("osd_op_num_threads_per_shard", "uint", "0"),
    Option("osd_scrub_min_interval", "float", "86400.000000"),
    Option("osd_deep_scrub_interval", "float", "604800.000000"),
    Option("osd_scrub_max_interval", "float", "604800.000000"),
    Option("osd_scrub_interval_randomize_ratio", "float", "0.500000"),
    Option("osd_scrub_chunk_min", "int", "5"),
    Option("osd_scrub_chunk_max", "int", "25"),
    Option("osd_max_scrubs", "int", "1"),
    Option("osd_scrub_sleep", "float", "0.000000"),
    Option("client_mount_timeout", "secs", "300"),
    Option("ms_max_message_size", "size", "268435456", level="advanced", runtime=False),
    Option("ms_cluster_mode", "str", "crc secure", level="basic", runtime=False),
    Option("ms_service_mode", "str", "crc secure", level="basic", runtime=False),
    Option("ms_client_mode", "str", "crc secure", level="basic", runtime=False),
    Option("auth_allow_insecure_global_id_reclaim", "bool", "true"),
    Option("log_to_stderr", "bool", "true", level="basic"),
    Option("debug_mon", "str", "1/5"),
    Option("debug_osd", "str", "1/5"),
    Option("debug_ms", "str", "0/0"),
    Option("rgw_dns_name", "str", ""),
)

OPTIONS: dict[str, Option] = {o.name: o for o in _OPTIONS}


def parse_size(text: str) -> int:
    """Ceph's `strict_iecstrtoll`: an integer with an optional K/M/G/T/P/E (IEC) suffix."""
    units = "KMGTPE"
    body = text.strip()
    if body[-2:].lower() in ("ib",):
        body = body[:-2]
    elif body[-1:] in ("B", "b"):
        body = body[:-1]
    factor = 1
    if body and body[-1].upper() in units:
        factor = 1024 ** (units.index(body[-1].upper()) + 1)
        body = body[:-1]
    if not body.lstrip("-").isdigit():
        raise ValueError(text)
    return int(body) * factor


def valid_who(who: str) -> bool:
    """A config section: `global`, a daemon type, or `TYPE.ID`."""
    if who == "global" or who in DAEMON_TYPES:
        return True
    kind, dot, ident = who.partition(".")
    return bool(dot and ident) and kind in DAEMON_TYPES


def sections_for(who: str) -> list[str]:
    """The sections that apply to `who`, most general first."""
    kind = who.partition(".")[0]
    out = ["global"]
    if kind in DAEMON_TYPES and kind != who:
        out.append(kind)
    if who != "global":
        out.append(who)
    return out


def resolve(config: dict[str, dict[str, str]], who: str, name: str) -> str:
    """The value `who` gets for option `name` (central config, else the default)."""
    value = OPTIONS[name].default if name in OPTIONS else ""
    for section in sections_for(who):
        value = config.get(section, {}).get(name, value)
    return value


def resolve_bool(config: dict[str, dict[str, str]], who: str, name: str) -> bool:
    return resolve(config, who, name).lower() in _TRUE


def resolve_int(config: dict[str, dict[str, str]], who: str, name: str) -> int:
    return int(resolve(config, who, name))
