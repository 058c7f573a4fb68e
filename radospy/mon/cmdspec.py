"""The vocabulary of the monitor command table: argument types, commands, results.

A command is declared the way Ceph's `MonCommands.h` declares it, with a signature
string such as

    osd pool create name=pool,type=CephPoolname name=pg_num,type=CephInt,range=0,req=false

(literal prefix words, then `name=...,type=...` descriptors), the service module and
the permission it needs, and its handlers. A read-only command has a `read` handler
that answers from the state. A command that changes the state has a `prepare` handler
(makes every choice that needs the clock or randomness and writes it into the command
dict) and an `apply` handler that validates and changes a `MonState`; `apply` is what
every monitor runs when the Raft entry commits, so it may use nothing but its inputs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from radospy.auth.caps import MonCap
from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.mon.laggy import LaggyConfig
from radospy.mon.messages import OsdScrubOrder
from radospy.mon.pgmap import PGMap
from radospy.osdmap.pg import PgId

if TYPE_CHECKING:
    from radospy.mon.cluster_log import ClusterLog
    from radospy.mon.progress import Progress
    from radospy.mon.quorum import QuorumView
    from radospy.mon.state import MonState
    from radospy.osdmap.osdmap import OSDMap

FORMATS = ("plain", "json", "json-pretty")


@dataclass
class CommandResult:
    """What `mon_command` returns: `rc` (0 or -errno), `outbuf` (stdout), `outs` (stderr)."""

    rc: int
    outbuf: bytes = b""
    outs: str = ""


@dataclass
class Propose:
    """A change to run through Raft; every monitor applies `entry` with `MonState.apply`.

    `prefix` is only informative (logs, metrics); `entry` carries everything.
    """

    entry: bytes
    prefix: str = ""
    after: MonState | None = field(default=None, repr=False, compare=False)
    """The dry run's result: the validated state with `entry` applied (a scratch copy
    that keeps no encoded map epochs). The leader validates the next command against
    it while this one is being committed."""


@dataclass
class CommandContext:
    """Who asks, with which caps, the leader's clock and randomness for this command, and
    the leader's in-memory PG stats, cluster log and progress events (read-only
    commands such as `df` show them)."""

    entity: str
    caps: MonCap
    now: float
    random_bytes: Callable[[int], bytes]
    quorum: QuorumView | None = None
    """The monitors' quorum, for `status` and `health` (None where no daemon runs)."""
    pgmap: PGMap = field(default_factory=PGMap)
    scrub_orders: list[OsdScrubOrder] = field(default_factory=list)
    """Orders a scrub command leaves for the daemon to hand to the OSDs."""
    cluster_log: ClusterLog | None = None
    """The monitor's cluster log, for `log last` (None where no daemon runs)."""
    progress: Progress | None = None
    """The leader's progress events (None where no daemon runs)."""
    laggy: LaggyConfig = field(default_factory=LaggyConfig)
    """The leader's laggy-estimate options (for `osd boot`)."""


@dataclass
class Outcome:
    """What an apply handler did: its result, and whether the state changed.

    An unchanged outcome (Ceph's "already exists" answers with rc 0) is answered
    without proposing anything.
    """

    result: CommandResult
    changed: bool = True


class Retry(RadosError):
    """The state moved on between validation and commit (EAGAIN): ask again."""

    errno = 11


# -- argument types ----------------------------------------------------------------------


class ArgError(InvalidArgument):
    """A word or value that does not fit its descriptor (ceph_argparse's ArgumentValid)."""


@dataclass(frozen=True)
class Arg:
    """One `name=...,type=...` descriptor of a signature."""

    name: str
    type: str
    req: bool = True
    many: bool = False
    """n=N: one or more values, given to the handler as a list."""
    range: tuple[float, ...] = ()
    strings: tuple[str, ...] = ()
    goodchars: str = ""

    def usage(self) -> str:
        """How the usage line shows this argument (ceph_argparse's `__str__`)."""
        text = _USAGE.get(self.type, f"<{self.name}>")
        if self.type == "CephChoices":
            text = "|".join(self.strings)
        elif self.type in ("CephInt", "CephFloat"):
            kind = "int" if self.type == "CephInt" else "float"
            bounds = "-".join(_num_text(v) for v in self.range)
            if len(self.range) == 1:
                bounds += "-"
            text = f"<{self.name}:{kind}{'[' + bounds + ']' if bounds else ''}>"
        if self.type == "CephBool":
            text = "--" + self.name.replace("_", "-")
        if self.many:
            text += "..."
        return text if self.req else f"[{text}]"

    def parse_word(self, word: str) -> Any:
        """Validate one CLI word; returns the JSON value Ceph's CLI would send."""
        validator = _WORD_VALIDATORS.get(self.type, _validate_string)
        return validator(self, word)

    def check_value(self, value: Any) -> Any:
        """Validate a JSON value as the monitor does (ints may arrive as strings)."""
        if self.type == "CephBool" and isinstance(value, bool):
            return value
        if self.type == "CephInt" and isinstance(value, int) and not isinstance(value, bool):
            return _check_range(self, value)
        if self.type == "CephFloat" and isinstance(value, int | float):
            return _check_range(self, float(value))
        if self.type == "CephOsdName" and isinstance(value, int) and not isinstance(value, bool):
            return self.parse_word(str(value))
        if not isinstance(value, str):
            raise ArgError(f"{value!r} is not a valid {self.type[4:]}")
        return self.parse_word(value)


_USAGE = {
    "CephOsdName": "<osdname (id|osd.id)>",
    "CephPoolname": "<poolname>",
    "CephObjectname": "<objectname>",
    "CephUUID": "<uuid>",
    "CephPgid": "<pgid>",
    "CephName": "<name (type.id)>",
}


def _num_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and "." not in str(value) else str(value)


def _check_range(arg: Arg, value: float) -> Any:
    low = arg.range[0] if arg.range else None
    high = arg.range[1] if len(arg.range) > 1 else None
    if (low is not None and value < low) or (high is not None and value > high):
        shown = "[" + ", ".join(str(v) for v in arg.range) + "]"
        raise ArgError(f"{value} not in range {shown}")
    return value


def _validate_int(arg: Arg, word: str) -> int:
    try:
        value = int(word, 0)
    except ValueError:
        raise ArgError(f"{word} doesn't represent an int") from None
    return int(_check_range(arg, value))


def _validate_float(arg: Arg, word: str) -> float:
    try:
        value = float(word)
    except ValueError:
        raise ArgError(f"{word} doesn't represent a float") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ArgError(f"{word} doesn't represent a float")
    return float(_check_range(arg, value))


def _validate_string(arg: Arg, word: str) -> str:
    if arg.goodchars and not re.fullmatch(arg.goodchars + "*", word):
        raise ArgError(f"invalid chars in {word}")
    return word


def _validate_choices(arg: Arg, word: str) -> str:
    if word not in arg.strings:
        raise ArgError(f"{word} not in {'|'.join(arg.strings)}")
    return word


def _validate_bool(arg: Arg, word: str) -> bool:
    lowered = word.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ArgError(f"{word} not one of 'true', 'false'")


def _validate_osdname(arg: Arg, word: str) -> int:
    kind, dot, ident = word.partition(".")
    if not dot:
        kind, ident = "osd", word
    if kind != "osd":
        raise ArgError(f"unknown type {kind}")
    try:
        value = int(ident)
    except ValueError:
        raise ArgError(f"osd id {ident} not integer") from None
    if value < 0:
        raise ArgError(f"osd id {value} is less than 0")
    return value


def _validate_pgid(arg: Arg, word: str) -> str:
    pool, dot, seed = word.partition(".")
    if not dot:
        raise ArgError("pgid has no .")
    try:
        pool_id = int(pool)
    except ValueError:
        raise ArgError(f"pool {pool} not integer") from None
    if pool_id < 0:
        raise ArgError(f"pool {pool_id} < 0")
    try:
        int(seed, 16)
    except ValueError:
        raise ArgError(f"pgnum {seed} not hex integer") from None
    return word


def _validate_name(arg: Arg, word: str) -> str:
    if word == "*":
        return word
    kind, dot, ident = word.partition(".")
    if not dot:
        raise ArgError(f"CephName: no . in {word}")
    if kind not in ("osd", "mon", "client", "mds", "mgr"):
        raise ArgError(f"unknown type {kind}")
    if kind == "osd" and ident != "*" and not ident.isdigit():
        raise ArgError(f"osd id {ident} not integer")
    return word


def _validate_uuid(arg: Arg, word: str) -> str:
    try:
        return str(uuid.UUID(word))
    except ValueError as e:
        raise ArgError(f"invalid UUID {word}: {e}") from None


_WORD_VALIDATORS: dict[str, Callable[[Arg, str], Any]] = {
    "CephInt": _validate_int,
    "CephFloat": _validate_float,
    "CephString": _validate_string,
    "CephPoolname": _validate_string,
    "CephObjectname": _validate_string,
    "CephChoices": _validate_choices,
    "CephBool": _validate_bool,
    "CephOsdName": _validate_osdname,
    "CephName": _validate_name,
    "CephUUID": _validate_uuid,
    "CephPgid": _validate_pgid,
}


def parse_descriptor(text: str) -> Arg:
    """One `name=x,type=CephInt,range=0|10,req=false` descriptor."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        fields[key] = value
    if fields.get("type") not in _WORD_VALIDATORS:
        raise ValueError(f"unknown argument type in descriptor {text!r}")
    return Arg(
        name=fields["name"],
        type=fields["type"],
        req=fields.get("req", "true") != "false",
        many=fields.get("n") == "N",
        range=tuple(float(v) for v in fields["range"].split("|")) if "range" in fields else (),
        strings=tuple(fields["strings"].split("|")) if "strings" in fields else (),
        goodchars=fields.get("goodchars", ""),
    )


# -- commands ------------------------------------------------------------------------------

ReadHandler = Callable[["MonState", dict[str, Any], CommandContext, bytes], CommandResult]
PrepareHandler = Callable[["MonState", dict[str, Any], CommandContext, bytes], dict[str, Any]]
ApplyHandler = Callable[["MonState", dict[str, Any], float], Outcome]


def keep_command(state: MonState, cmd: dict[str, Any], ctx: CommandContext, inbuf: bytes) -> dict:
    """The default `prepare`: the command needs no clock or randomness beyond the stamp."""
    return cmd


@dataclass(frozen=True)
class Command:
    """One row of the table: signature, help, service module, permission, handlers."""

    signature: str
    help: str
    module: str
    perm: str
    read: ReadHandler | None = None
    apply: ApplyHandler | None = None
    prepare: PrepareHandler = keep_command
    prefix: tuple[str, ...] = field(init=False)
    args: tuple[Arg, ...] = field(init=False)

    def __post_init__(self) -> None:
        words = self.signature.split()
        prefix = tuple(w for w in words if "=" not in w)
        args = tuple(parse_descriptor(w) for w in words if "=" in w)
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "args", args)
        if (self.read is None) == (self.apply is None):
            raise ValueError(f"{self.name}: exactly one of read/apply is needed")

    @property
    def name(self) -> str:
        return " ".join(self.prefix)

    @property
    def proposes(self) -> bool:
        return self.apply is not None

    def usage(self) -> str:
        """The usage line Ceph prints after an invalid command."""
        return " ".join([*self.prefix, *(a.usage() for a in self.args)]) + f" :  {self.help}"


# -- output helpers --------------------------------------------------------------------------


def fmt_of(cmd: dict[str, Any]) -> str:
    """The requested output format; InvalidArgument for one we do not produce."""
    fmt = cmd.get("format") or "plain"
    if fmt not in FORMATS:
        raise InvalidArgument(f"unrecognized format '{fmt}'")
    return str(fmt)


def dump_json(value: Any, fmt: str) -> bytes:
    """Ceph's JSONFormatter output: compact for json, 4-space indent plus newline for pretty."""
    if fmt == "json-pretty":
        return (json.dumps(value, indent=4) + "\n").encode()
    return json.dumps(value, separators=(",", ":")).encode()


def existing_pg(osdmap: OSDMap, text: str) -> PgId:
    """The PG a command's ``pgid`` names, which must exist in ``osdmap``; Ceph's
    EINVAL "invalid pgid" or ENOENT "pg X does not exist" otherwise."""
    try:
        pgid = PgId.parse(text)
    except InvalidArgument:
        raise InvalidArgument(f"invalid pgid '{text}'") from None
    pool = osdmap.pools.get(pgid.pool)
    if pool is None or pgid.seed >= pool.pg_num:
        raise NotFound(f"pg {pgid} does not exist")
    return pgid


def reply(outs: str = "", outbuf: bytes | str = b"", rc: int = 0) -> CommandResult:
    """A result; text outbufs are UTF-8 encoded."""
    data = outbuf.encode() if isinstance(outbuf, str) else outbuf
    return CommandResult(rc, data, outs)


def done(outs: str = "", outbuf: bytes | str = b"") -> Outcome:
    """A successful change."""
    return Outcome(reply(outs, outbuf))


def unchanged(outs: str = "", outbuf: bytes | str = b"") -> Outcome:
    """A successful answer that leaves the state as it was."""
    return Outcome(reply(outs, outbuf), changed=False)


def error_result(exc: RadosError) -> CommandResult:
    return CommandResult(-exc.errno, b"", str(exc))
