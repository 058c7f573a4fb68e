"""Capabilities as Ceph writes them: mon caps (`MonCap.cc`) and osd caps (`OSDCap.cc`).

Both grammars are Ceph's, parsed the way its Spirit parsers do (PEG: ordered choice,
no backtracking into a finished rule), so a cap Ceph accepts is accepted here and a
refused one fails with Ceph's message: `mon capability parse failed, stopped at 'X' of
'Y'`. The monitors call `MonCap.is_capable`/`require` for every command, the OSDs
`OSDCap.is_capable`/`require` for every op.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from radospy.auth.errors import PermissionDenied
from radospy.common.errors import InvalidArgument

T = TypeVar("T")

OSD_CAPS = {"mon": "allow profile osd", "mgr": "allow profile osd", "osd": "allow *"}
"""The caps of an OSD's key, as Ceph's deployment tools and `osd new -i` give them."""

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
_NETWORK_CHARS = frozenset("/.:abcdefABCDEF0123456789][")
_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


class _Fail(Exception):
    """Raised inside the scanner when an alternative does not match."""


class _Scanner:
    """A cursor over a cap string with the primitives both grammars share."""

    def __init__(self, text: str, space_chars: str) -> None:
        self.text = text
        self.pos = 0
        self.space_chars = space_chars

    def attempt(self, rule: Callable[[], T]) -> T | None:
        """Run `rule`; on failure restore the position and return None."""
        mark = self.pos
        try:
            return rule()
        except _Fail:
            self.pos = mark
            return None

    def first(self, *rules: Callable[[], T]) -> T:
        """PEG ordered choice: the first rule that matches."""
        for rule in rules:
            mark = self.pos
            try:
                return rule()
            except _Fail:
                self.pos = mark
        raise _Fail

    def lit(self, s: str) -> None:
        if not self.text.startswith(s, self.pos):
            raise _Fail
        self.pos += len(s)

    def try_lit(self, s: str) -> bool:
        if not self.text.startswith(s, self.pos):
            return False
        self.pos += len(s)
        return True

    def run_of(self, chars: frozenset[str] | str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
        return self.text[start : self.pos]

    def spaces(self) -> None:
        if not self.run_of(self.space_chars):
            raise _Fail

    def opt_spaces(self) -> None:
        self.run_of(self.space_chars)

    def eq_or_spaces(self) -> None:
        if not self.try_lit("="):
            self.spaces()

    def quoted(self, *, allow_empty: bool = False) -> str:
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ('"', "'"):
            raise _Fail
        end = self.text.find(quote, self.pos + 1)
        if end < 0 or (end == self.pos + 1 and not allow_empty):
            raise _Fail
        start, self.pos = self.pos + 1, end + 1
        return self.text[start:end]

    def word(self) -> str:
        w = self.run_of(_WORD_CHARS)
        if not w:
            raise _Fail
        return w

    def string(self) -> str:
        return self.first(self.quoted, self.word)

    def network(self) -> str:
        self.spaces()
        self.lit("network")
        self.spaces()
        net = self.run_of(_NETWORK_CHARS)
        if not net:
            raise _Fail
        return net

    def parse_list(self, grant: Callable[[], T], separator: Callable[[], None]) -> list[T]:
        """`grant % separator`; stops (without consuming) at the first failed pair."""
        grants = [grant()]
        while (g := self.attempt(lambda: (separator(), grant())[1])) is not None:
            grants.append(g)
        return grants


def _quote_if_needed(s: str) -> str:
    if _PLAIN.fullmatch(s):
        return s
    return f"'{s}'" if '"' in s else f'"{s}"'


def _network_contains(network: str, addr: str | None) -> bool:
    if addr is None:
        return False
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


# ---------------------------------------------------------------- mon caps

MON_CAP_R = 1 << 1
MON_CAP_W = 1 << 2
MON_CAP_X = 1 << 3
MON_CAP_ALL = MON_CAP_R | MON_CAP_W | MON_CAP_X
MON_CAP_ANY = 0xFF


@dataclass(frozen=True)
class StringConstraint:
    """A `with` argument of a command grant: `k=v`, `k prefix v` or `k regex v`."""

    match: str
    value: str

    def matches(self, actual: str) -> bool:
        if self.match == "equal":
            return actual == self.value
        if self.match == "prefix":
            return actual.startswith(self.value)
        try:
            return re.fullmatch(self.value, actual) is not None
        except re.error:
            return False


@dataclass(frozen=True)
class MonCapGrant:
    """One grant of a mon cap: exactly one of service/profile/command, or plain rwx."""

    service: str = ""
    profile: str = ""
    command: str = ""
    command_args: tuple[tuple[str, StringConstraint], ...] = ()
    allow: int = 0
    network: str = ""

    def is_allow_all(self) -> bool:
        return self.allow == MON_CAP_ANY and not (self.service or self.profile or self.command)

    def __str__(self) -> str:
        out = "allow"
        if self.service:
            out += f" service {_quote_if_needed(self.service)}"
        if self.command:
            out += f" command {_quote_if_needed(self.command)}"
            if self.command_args:
                out += " with" + "".join(_format_arg(k, c) for k, c in self.command_args)
        if self.profile:
            out += f" profile {_quote_if_needed(self.profile)}"
        if self.allow:
            out += f" {_mon_rwxa(self.allow)}"
        if self.network:
            out += f" network {self.network}"
        return out


def _format_arg(key: str, c: StringConstraint) -> str:
    op = "=" if c.match == "equal" else f" {c.match} "
    return f" {_quote_if_needed(key)}{op}{_quote_if_needed(c.value)}"


def _mon_rwxa(allow: int) -> str:
    if allow == MON_CAP_ANY:
        return "*"
    bits = ((MON_CAP_R, "r"), (MON_CAP_W, "w"), (MON_CAP_X, "x"))
    return "".join(ch for bit, ch in bits if allow & bit)


def _profile_grants(profile: str, entity: str) -> list[MonCapGrant]:
    """What a mon `profile` expands to (Ceph's `MonCapGrant::expand_profile_mon`)."""
    svc = {
        "read-only": [("", MON_CAP_R)],
        "read-write": [("", MON_CAP_R | MON_CAP_W)],
        "mon": [("mon", MON_CAP_ALL), ("log", MON_CAP_ALL)],
        "osd": [
            ("osd", MON_CAP_ALL),
            ("mon", MON_CAP_R),
            ("pg", MON_CAP_R | MON_CAP_W),
            ("log", MON_CAP_W),
        ],
        "mds": [("mds", MON_CAP_ALL), ("mon", MON_CAP_R), ("osd", MON_CAP_R), ("log", MON_CAP_W)],
        "mgr": [
            ("mgr", MON_CAP_ALL),
            ("log", MON_CAP_R | MON_CAP_W),
            ("mon", MON_CAP_R | MON_CAP_W),
            ("mds", MON_CAP_R | MON_CAP_W),
            ("fs", MON_CAP_R | MON_CAP_W),
            ("osd", MON_CAP_R | MON_CAP_W),
            ("auth", MON_CAP_R | MON_CAP_X),
            ("config-key", MON_CAP_R | MON_CAP_W),
            ("config", MON_CAP_R | MON_CAP_W),
        ],
        "bootstrap-osd": [("mon", MON_CAP_R), ("osd", MON_CAP_R)],
        "fs-client": [
            ("mon", MON_CAP_R),
            ("mds", MON_CAP_R),
            ("osd", MON_CAP_R),
            ("pg", MON_CAP_R),
        ],
        "simple-rados-client": [("mon", MON_CAP_R), ("osd", MON_CAP_R), ("pg", MON_CAP_R)],
        "rbd": [("mon", MON_CAP_R), ("osd", MON_CAP_R), ("pg", MON_CAP_R)],
        "rbd-mirror": [("mon", MON_CAP_R), ("osd", MON_CAP_R), ("pg", MON_CAP_R)],
        "crash": [("mon", MON_CAP_R)],
        "role-definer": [("mon", MON_CAP_R), ("auth", MON_CAP_ALL)],
    }.get(profile, [])
    grants = [
        MonCapGrant(allow=allow) if not s else MonCapGrant(service=s, allow=allow)
        for s, allow in svc
    ]
    commands = {
        "mds": ["osd pool rmsnap", "osd blocklist"],
        "bootstrap-osd": ["mon getmap", "osd new", "osd purge-new"],
    }.get(profile, [])
    grants += [MonCapGrant(command=c) for c in commands]
    if profile in ("rbd", "rbd-mirror"):
        args = (
            ("addr", StringConstraint("regex", "^[^/]+/[0-9]+$")),
            ("blocklistop", StringConstraint("equal", "add")),
        )
        grants.append(MonCapGrant(command="osd blocklist", command_args=args))
    if profile in ("osd", "mds", "mon", "mgr"):
        private = StringConstraint("prefix", f"daemon-private/{entity}/")
        grants += [
            MonCapGrant(command=f"config-key {op}", command_args=(("key", private),))
            for op in ("get", "put", "set", "exists", "delete")
        ]
    return grants


def _mon_grant_allows(
    grant: MonCapGrant, entity: str, service: str, command: str, args: Mapping[str, str]
) -> int:
    if grant.profile:
        allowed = 0
        for g in _profile_grants(grant.profile, entity):
            allowed |= _mon_grant_allows(g, entity, service, command, args)
        return allowed
    if grant.service:
        return grant.allow if grant.service == service else 0
    if grant.command:
        if grant.command != command:
            return 0
        for key, constraint in grant.command_args:
            if key not in args or not constraint.matches(args[key]):
                return 0
        return MON_CAP_ALL
    # Blanket rwx never opens config-key: only `allow *` does (Ceph's rule).
    return 0 if service == "config-key" else grant.allow


@dataclass(frozen=True)
class MonCap:
    """A parsed mon cap; `text` is kept verbatim, as Ceph stores it."""

    grants: tuple[MonCapGrant, ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> MonCap:
        scanner = _Scanner(text, " \n\t")
        grants = scanner.attempt(
            lambda: scanner.parse_list(lambda: _mon_grant(scanner), lambda: _mon_separator(scanner))
        )
        if grants is not None and scanner.pos == len(text):
            return cls(tuple(grants), text)
        raise InvalidArgument(_stopped_at("mon", text, scanner.pos))

    def is_allow_all(self) -> bool:
        return any(g.is_allow_all() for g in self.grants)

    def is_capable(
        self,
        entity: str,
        service: str,
        command: str = "",
        args: Mapping[str, str] | None = None,
        *,
        read: bool = False,
        write: bool = False,
        execute: bool = False,
        addr: str | None = None,
    ) -> bool:
        """Whether `entity` may run `command` of `service` needing read/write/exec."""
        allowed = 0
        for grant in self.grants:
            if grant.network and not _network_contains(grant.network, addr):
                continue
            if grant.is_allow_all():
                return True
            allowed |= _mon_grant_allows(grant, entity, service, command, args or {})
            if _covers(allowed, read, write, execute):
                return True
        return False

    def require(
        self,
        entity: str,
        service: str,
        command: str = "",
        args: Mapping[str, str] | None = None,
        *,
        read: bool = False,
        write: bool = False,
        execute: bool = False,
        addr: str | None = None,
    ) -> None:
        """Raise PermissionDenied (EACCES) unless `is_capable` with the same arguments."""
        if not self.is_capable(
            entity, service, command, args, read=read, write=write, execute=execute, addr=addr
        ):
            raise PermissionDenied("access denied")

    def __str__(self) -> str:
        return ", ".join(str(g) for g in self.grants)


def _covers(allowed: int, read: bool, write: bool, execute: bool) -> bool:
    return (
        (not read or bool(allowed & MON_CAP_R))
        and (not write or bool(allowed & MON_CAP_W))
        and (not execute or bool(allowed & MON_CAP_X))
    )


def _stopped_at(kind: str, text: str, pos: int) -> str:
    if pos < len(text):
        return f"{kind} capability parse failed, stopped at '{text[pos:]}' of '{text}'"
    return f"{kind} capability parse failed, stopped at end of '{text}'"


def _mon_separator(s: _Scanner) -> None:
    s.run_of(" ")
    if not (s.try_lit(";") or s.try_lit(",")):
        raise _Fail
    s.run_of(" ")


def _mon_rwxa_rule(s: _Scanner) -> int:
    if s.try_lit("*") or s.try_lit("all"):
        return MON_CAP_ANY
    allow = 0
    for bit, ch in ((MON_CAP_R, "r"), (MON_CAP_W, "w"), (MON_CAP_X, "x")):
        if s.try_lit(ch):
            allow |= bit
    if not allow:
        raise _Fail
    return allow


def _mon_grant(s: _Scanner) -> MonCapGrant:
    s.opt_spaces()
    grant = s.first(
        lambda: _mon_rwxa_match(s),
        lambda: _mon_profile_match(s),
        lambda: _mon_service_match(s),
        lambda: _mon_command_match(s),
    )
    s.opt_spaces()
    return grant


def _opt_network(s: _Scanner) -> str:
    return s.attempt(s.network) or ""


def _mon_allow(s: _Scanner) -> None:
    s.opt_spaces()
    s.lit("allow")
    s.spaces()


def _mon_rwxa_match(s: _Scanner) -> MonCapGrant:
    _mon_allow(s)
    allow = _mon_rwxa_rule(s)
    return MonCapGrant(allow=allow, network=_opt_network(s))


def _mon_profile_match(s: _Scanner) -> MonCapGrant:
    s.opt_spaces()
    s.attempt(lambda: (s.lit("allow"), s.spaces(), True)[2])
    s.lit("profile")
    s.eq_or_spaces()
    profile = s.string()
    return MonCapGrant(profile=profile, network=_opt_network(s))


def _mon_service_match(s: _Scanner) -> MonCapGrant:
    _mon_allow(s)
    s.lit("service")
    s.eq_or_spaces()
    service = s.string()
    s.spaces()
    allow = _mon_rwxa_rule(s)
    return MonCapGrant(service=service, allow=allow, network=_opt_network(s))


def _mon_command_match(s: _Scanner) -> MonCapGrant:
    _mon_allow(s)
    s.lit("command")
    s.eq_or_spaces()
    command = s.string()
    args = s.attempt(lambda: _mon_with(s)) or ()
    return MonCapGrant(command=command, command_args=args, network=_opt_network(s))


def _mon_with(s: _Scanner) -> tuple[tuple[str, StringConstraint], ...]:
    s.spaces()
    s.lit("with")
    s.spaces()
    pairs = dict([_mon_kv(s)])
    while (kv := s.attempt(lambda: (s.spaces(), _mon_kv(s))[1])) is not None:
        pairs[kv[0]] = kv[1]
    return tuple(sorted(pairs.items()))


def _mon_kv(s: _Scanner) -> tuple[str, StringConstraint]:
    key = s.string()

    def constraint(kind: str) -> StringConstraint:
        s.spaces()
        s.lit(kind)
        s.spaces()
        return StringConstraint(kind, s.string())

    def equal() -> StringConstraint:
        s.lit("=")
        return StringConstraint("equal", s.string())

    return key, s.first(equal, lambda: constraint("prefix"), lambda: constraint("regex"))


# ---------------------------------------------------------------- osd caps

OSD_CAP_R = 1 << 1
OSD_CAP_W = 1 << 2
OSD_CAP_CLS_R = 1 << 3
OSD_CAP_CLS_W = 1 << 4
OSD_CAP_X = OSD_CAP_CLS_R | OSD_CAP_CLS_W
OSD_CAP_ANY = 0xFF


@dataclass(frozen=True)
class ClassCall:
    """An object-class method an op runs, as the OSD's class handler describes it."""

    class_name: str
    method_name: str
    read: bool
    write: bool
    allowlisted: bool = True


@dataclass(frozen=True)
class PoolTag:
    """`tag APP KEY=VALUE`: pools whose application metadata match (`*` = any)."""

    application: str
    key: str
    value: str

    def matches(self, app_metadata: Mapping[str, Mapping[str, str]]) -> bool:
        if self.application not in app_metadata:
            return False
        kv = app_metadata[self.application]
        if self.key == "*":
            return self.value == "*" or self.value in kv.values()
        return self.key in kv and self.value in ("*", kv[self.key])


@dataclass(frozen=True)
class OSDCapMatch:
    """Which objects a grant covers: pool, namespace (`*` suffix = prefix), tag, prefix."""

    pool: str = ""
    namespace: str | None = None
    tag: PoolTag | None = None
    object_prefix: str = ""
    auid: int | None = None

    def matches(
        self,
        pool: str,
        namespace: str,
        app_metadata: Mapping[str, Mapping[str, str]],
        object_name: str,
    ) -> bool:
        if self.auid is not None:
            return False
        if self.pool and self.pool != pool:
            return False
        if self.namespace is not None and not _namespace_matches(self.namespace, namespace):
            return False
        if self.tag is not None and not self.tag.matches(app_metadata):
            return False
        return object_name.startswith(self.object_prefix)

    def matches_all(self) -> bool:
        return (
            self.auid is None
            and not self.pool
            and self.namespace is None
            and self.tag is None
            and not self.object_prefix
        )

    def __str__(self) -> str:
        parts = []
        if self.auid is not None:
            parts.append(f"auid {self.auid}")
        if self.pool:
            parts.append(f"pool {_quote_if_needed(self.pool)}")
        if self.namespace is not None:
            parts.append(f"namespace {_format_namespace(self.namespace)}")
        if self.tag is not None:
            t = self.tag
            parts.append(
                f"tag {_quote_if_needed(t.application)} {_tag_word(t.key)}={_tag_word(t.value)}"
            )
        if self.object_prefix:
            parts.append(f"object_prefix {_quote_if_needed(self.object_prefix)}")
        return " ".join(parts)


def _tag_word(s: str) -> str:
    return s if s == "*" else _quote_if_needed(s)


def _format_namespace(ns: str) -> str:
    if ns.endswith("*"):
        return _quote_if_needed(ns[:-1]) + "*" if ns[:-1] else '""*'
    return _quote_if_needed(ns) if ns else '""'


def _namespace_matches(pattern: str, namespace: str) -> bool:
    if pattern.endswith("*") and namespace.startswith(pattern[:-1]):
        return True
    return pattern == namespace


@dataclass(frozen=True)
class OSDCapGrant:
    """`allow SPEC MATCH`, `allow class NAME [METHOD] MATCH`, or `profile NAME ...`."""

    allow: int = 0
    class_name: str = ""
    method_name: str = ""
    match: OSDCapMatch = OSDCapMatch()
    profile: str = ""
    network: str = ""

    def __str__(self) -> str:
        if self.profile:
            out = f"profile {_quote_if_needed(self.profile)}"
        elif self.class_name:
            out = f"allow class {_quote_if_needed(self.class_name)}"
            if self.method_name:
                out += f" {_quote_if_needed(self.method_name)}"
        else:
            out = f"allow {_osd_rwxa(self.allow)}"
        if match := str(self.match):
            out += f" {match}"
        if self.network:
            out += f" network {self.network}"
        return out

    def expand(self) -> list[OSDCapGrant]:
        """The plain grants a profile stands for (Ceph's `OSDCapGrant::expand_profile`)."""
        m = self.match
        if self.profile == "read-only":
            return [OSDCapGrant(OSD_CAP_R, match=m)]
        if self.profile == "read-write":
            return [OSDCapGrant(OSD_CAP_R | OSD_CAP_W, match=m)]
        if self.profile == "rbd":
            return [
                OSDCapGrant(OSD_CAP_CLS_R, match=OSDCapMatch(object_prefix="rbd_children")),
                OSDCapGrant(OSD_CAP_CLS_R, match=OSDCapMatch(object_prefix="rbd_mirroring")),
                OSDCapGrant(OSD_CAP_R | OSD_CAP_W | OSD_CAP_X, match=m),
            ]
        if self.profile == "rbd-read-only":
            header = OSDCapMatch(m.pool, m.namespace, object_prefix="rbd_header.")
            return [
                OSDCapGrant(OSD_CAP_R | OSD_CAP_CLS_R, match=m),
                OSDCapGrant(class_name="rbd", method_name="child_attach", match=header),
                OSDCapGrant(class_name="rbd", method_name="child_detach", match=header),
            ]
        return []


def _osd_rwxa(allow: int) -> str:
    if allow == OSD_CAP_ANY:
        return "*"
    out = ("r" if allow & OSD_CAP_R else "") + ("w" if allow & OSD_CAP_W else "")
    if allow & OSD_CAP_X == OSD_CAP_X:
        return out + "x"
    extra = [
        w
        for bit, w in ((OSD_CAP_CLS_R, "class-read"), (OSD_CAP_CLS_W, "class-write"))
        if allow & bit
    ]
    return " ".join([out, *extra] if out else extra)


@dataclass(frozen=True)
class _OpRequest:
    pool: str
    namespace: str
    object_name: str
    app_metadata: Mapping[str, Mapping[str, str]]
    read: bool
    write: bool
    classes: Sequence[ClassCall]
    addr: str | None


def _osd_grant_allows(grant: OSDCapGrant, op: _OpRequest, class_ok: list[bool]) -> bool:
    if grant.network and not _network_contains(grant.network, op.addr):
        return False
    if grant.profile:
        return any(_osd_grant_allows(g, op, class_ok) for g in grant.expand())
    if not grant.match.matches(op.pool, op.namespace, op.app_metadata, op.object_name):
        return False
    if (op.read and not grant.allow & OSD_CAP_R) or (op.write and not grant.allow & OSD_CAP_W):
        return False
    if not op.classes or grant.allow == OSD_CAP_ANY:
        return True
    for i, call in enumerate(op.classes):
        if grant.class_name:
            if call.class_name == grant.class_name and grant.method_name in ("", call.method_name):
                class_ok[i] = True
            continue
        if not call.allowlisted:
            continue
        if (call.read and not grant.allow & OSD_CAP_CLS_R) or (
            call.write and not grant.allow & OSD_CAP_CLS_W
        ):
            continue
        class_ok[i] = True
    return all(class_ok)


@dataclass(frozen=True)
class OSDCap:
    """A parsed osd cap; `text` is kept verbatim, as Ceph stores it."""

    grants: tuple[OSDCapGrant, ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> OSDCap:
        scanner = _Scanner(text, " \t\n\v\f\r")
        scanner.opt_spaces()
        grants = scanner.attempt(
            lambda: scanner.parse_list(lambda: _osd_grant(scanner), lambda: _osd_separator(scanner))
        )
        if grants is not None and scanner.pos == len(text):
            return cls(tuple(grants), text)
        raise InvalidArgument(_stopped_at("osd", text, scanner.pos))

    def allow_all(self) -> bool:
        return any(
            (g.allow == OSD_CAP_ANY and g.match.matches_all())
            or any(e.allow == OSD_CAP_ANY and e.match.matches_all() for e in g.expand())
            for g in self.grants
        )

    def is_capable(
        self,
        pool: str,
        namespace: str = "",
        *,
        read: bool = False,
        write: bool = False,
        classes: Sequence[ClassCall] = (),
        object_name: str = "",
        app_metadata: Mapping[str, Mapping[str, str]] | None = None,
        addr: str | None = None,
    ) -> bool:
        """Whether an op on `pool`/`namespace` needing read/write/class calls is allowed."""
        op = _OpRequest(
            pool, namespace, object_name, app_metadata or {}, read, write, classes, addr
        )
        class_ok = [False] * len(classes)
        return any(_osd_grant_allows(g, op, class_ok) for g in self.grants)

    def require(
        self,
        pool: str,
        namespace: str = "",
        *,
        read: bool = False,
        write: bool = False,
        classes: Sequence[ClassCall] = (),
        object_name: str = "",
        app_metadata: Mapping[str, Mapping[str, str]] | None = None,
        addr: str | None = None,
    ) -> None:
        """Raise PermissionDenied (EACCES) unless `is_capable` with the same arguments."""
        if not self.is_capable(
            pool,
            namespace,
            read=read,
            write=write,
            classes=classes,
            object_name=object_name,
            app_metadata=app_metadata,
            addr=addr,
        ):
            raise PermissionDenied("access denied")

    def __str__(self) -> str:
        return ", ".join(str(g) for g in self.grants)


def _osd_separator(s: _Scanner) -> None:
    if not (s.try_lit(";") or s.try_lit(",")):
        raise _Fail


def _osd_grant(s: _Scanner) -> OSDCapGrant:
    s.run_of(" \t")
    grant = s.first(
        lambda: _osd_allow_spec_match(s),
        lambda: _osd_allow_match_spec(s),
        lambda: _osd_profile_grant(s),
    )
    s.run_of(" \t")
    return grant


def _osd_allow_spec_match(s: _Scanner) -> OSDCapGrant:
    s.lit("allow")
    spec = _osd_capspec(s)
    match = _osd_match(s)
    return OSDCapGrant(spec[0], spec[1], spec[2], match, network=_opt_network(s))


def _osd_allow_match_spec(s: _Scanner) -> OSDCapGrant:
    s.lit("allow")
    match = _osd_match(s)
    spec = _osd_capspec(s)
    return OSDCapGrant(spec[0], spec[1], spec[2], match, network=_opt_network(s))


def _osd_profile_grant(s: _Scanner) -> OSDCapGrant:
    s.lit("profile")
    s.eq_or_spaces()
    name = s.string()
    pool = _osd_pool_name(s)
    namespace = s.attempt(lambda: _osd_nspace(s))
    match = OSDCapMatch(pool, namespace)
    return OSDCapGrant(match=match, profile=name, network=_opt_network(s))


def _osd_capspec(s: _Scanner) -> tuple[int, str, str]:
    def rwxa() -> tuple[int, str, str]:
        return _osd_rwxa_rule(s), "", ""

    def class_spec() -> tuple[int, str, str]:
        s.spaces()
        s.lit("class")
        s.spaces()
        name = s.string()
        method = s.attempt(lambda: (s.spaces(), s.string())[1]) or ""
        return 0, name, method

    return s.first(rwxa, class_spec)


def _osd_wildcard(s: _Scanner) -> str:
    if s.try_lit("*") or s.try_lit("all"):
        return "*"
    raise _Fail


def _osd_rwxa_rule(s: _Scanner) -> int:
    def wildcard() -> int:
        s.spaces()
        _osd_wildcard(s)
        return OSD_CAP_ANY

    def letters() -> int:
        s.spaces()
        allow = 0
        for bit, ch in ((OSD_CAP_R, "r"), (OSD_CAP_W, "w"), (OSD_CAP_X, "x")):
            if s.try_lit(ch):
                allow |= bit
        if not allow:
            raise _Fail
        return allow

    def class_word(word: str, bit: int) -> int:
        s.spaces()
        s.lit(word)
        return bit

    def class_bits() -> int:
        bits = s.attempt(lambda: class_word("class-read", OSD_CAP_CLS_R)) or 0
        bits |= s.attempt(lambda: class_word("class-write", OSD_CAP_CLS_W)) or 0
        if not bits:
            raise _Fail
        return bits

    def rwx_then_class() -> int:
        allow = s.attempt(letters) or 0
        allow |= s.attempt(class_bits) or 0
        if not allow:
            raise _Fail
        return allow

    return s.first(wildcard, rwx_then_class)


def _osd_pool_name(s: _Scanner) -> str:
    def pool() -> str:
        s.spaces()
        s.lit("pool")
        s.eq_or_spaces()
        return s.string()

    return s.attempt(pool) or ""


def _osd_nspace(s: _Scanner) -> str:
    s.spaces()
    s.lit("namespace")
    s.eq_or_spaces()
    ns = s.first(lambda: s.quoted(allow_empty=True), s.word)
    return ns + "*" if s.try_lit("*") else ns


def _osd_object_prefix(s: _Scanner) -> str:
    def prefix() -> str:
        s.spaces()
        s.lit("object_prefix")
        s.spaces()
        return s.string()

    return s.attempt(prefix) or ""


def _osd_pooltag(s: _Scanner) -> PoolTag:
    s.spaces()
    s.lit("tag")
    s.spaces()
    app = s.string()
    s.spaces()
    key = s.first(lambda: _osd_wildcard(s), s.string)
    s.opt_spaces()
    s.lit("=")
    s.opt_spaces()
    value = s.first(lambda: _osd_wildcard(s), s.string)
    return PoolTag(app, key, value)


def _osd_auid(s: _Scanner) -> int:
    s.spaces()
    s.lit("auid")
    s.spaces()
    sign = "-" if s.try_lit("-") else ""
    if not sign:
        s.try_lit("+")
    digits = s.run_of("0123456789")
    if not digits:
        raise _Fail
    return int(sign + digits)


def _osd_match(s: _Scanner) -> OSDCapMatch:
    def tag_only() -> OSDCapMatch:
        return OSDCapMatch(tag=_osd_pooltag(s))

    def ns_tag() -> OSDCapMatch:
        ns = _osd_nspace(s)
        return OSDCapMatch(namespace=ns, tag=_osd_pooltag(s))

    def auid_prefix() -> OSDCapMatch:
        auid = _osd_auid(s)
        return OSDCapMatch(auid=auid, object_prefix=_osd_object_prefix(s))

    def pool_ns_prefix() -> OSDCapMatch:
        pool = _osd_pool_name(s)
        ns = _osd_nspace(s)
        return OSDCapMatch(pool, ns, object_prefix=_osd_object_prefix(s))

    def pool_prefix() -> OSDCapMatch:
        pool = _osd_pool_name(s)
        return OSDCapMatch(pool, object_prefix=_osd_object_prefix(s))

    return s.first(tag_only, ns_tag, auid_prefix, pool_ns_prefix, pool_prefix)


def parse_caps(service: str, text: str) -> None:
    """Validate caps for `service` as `ceph auth` does; raises InvalidArgument.

    mon and mgr caps use the mon grammar (Ceph's MgrCap grammar is a superset this
    does not model beyond it), osd caps the osd grammar; mds caps are stored as given.
    """
    if service in ("mon", "mgr"):
        MonCap.parse(text)
    elif service == "osd":
        OSDCap.parse(text)
    elif service != "mds":
        raise InvalidArgument(f"unknown cap type '{service}'")
