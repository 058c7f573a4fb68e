"""`ceph auth ...` (AuthMonitor.cc wording) on the replicated `AuthDatabase`.

New keys are made by `prepare` on the leader from `ctx.random_bytes` and `ctx.now` and
travel in the entry, so every monitor stores the same key.
"""

from __future__ import annotations

import base64
import errno
import json

from radospy.auth.crypto import AES_KEY_LEN, CRYPTO_AES, CryptoKey
from radospy.auth.database import format_keyring, format_ls, validate_caps
from radospy.auth.handshake import DEFAULT_TICKET_TTL, KEY_ROTATE_NUM
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.mon.cmdspec import (
    Command,
    CommandContext,
    CommandResult,
    Outcome,
    done,
    reply,
    unchanged,
)
from radospy.mon.state import MonState

_ENTITY = "name=entity,type=CephString"
_CAPS = "name=caps,type=CephString,n=N,req=false"


def _entity(text: str) -> EntityName:
    try:
        return EntityName.parse(text)
    except InvalidArgument:
        raise InvalidArgument(f"invalid entity_auth {text}") from None


def _caps(words: list[str]) -> dict[str, str]:
    if len(words) % 2:
        raise InvalidArgument("bad capabilities request; odd number of arguments")
    return {words[i]: words[i + 1] for i in range(0, len(words), 2)}


def prepare_new_key(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    """Make the key a new entity would get (used only if the entity is created)."""
    sec = int(ctx.now)
    nsec = round((ctx.now - sec) * 1e9) % 1_000_000_000
    key = CryptoKey(CRYPTO_AES, sec, nsec, ctx.random_bytes(AES_KEY_LEN))
    return {**cmd, "_key": key.to_base64(), "_inbuf": inbuf}


def _key_only(name: EntityName, auth: EntityAuth, fmt: str) -> bytes:
    return format_keyring([(name, EntityAuth(auth.key, {}))], fmt).encode()


def apply_get_or_create(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = _entity(cmd["entity"])
    caps = _caps(cmd.get("caps", []))
    existing = state.auth.lookup(name)
    if existing is not None:
        for service, text in caps.items():
            if existing.caps.get(service) != text:
                raise InvalidArgument(f"key for {name} exists but cap {service} does not match")
        return unchanged(outbuf=_key_only(name, existing, cmd["format"]))
    validate_caps(caps)
    auth = state.auth.get_or_create(name, caps, CryptoKey.from_base64(cmd["_key"]))
    return done(outbuf=_key_only(name, auth, cmd["format"]))


def apply_add(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = _entity(cmd["entity"])
    caps = _caps(cmd.get("caps", []))
    key = CryptoKey.from_base64(cmd["_key"])
    given = bytes(cmd.get("_inbuf", b""))
    if given:
        imported = Keyring.parse(given.decode("utf-8", "replace")).get(name)
        if imported is None:
            raise InvalidArgument(f"key for {name} not found in provided keyring")
        key = imported.key
        caps = {**imported.caps, **caps}
    existing = state.auth.lookup(name)
    if existing is not None:
        if given and existing.key.secret != key.secret:
            raise InvalidArgument(f"entity {name} exists but key does not match")
        for service, text in caps.items():
            if existing.caps.get(service) != text:
                raise InvalidArgument(f"entity {name} exists but cap {service} does not match")
        return unchanged()
    state.auth.add(name, caps, key)
    return done(f"added key for {name}")


def apply_caps(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = _entity(cmd["entity"])
    caps = _caps(cmd["caps"])
    if state.auth.lookup(name) is None:
        raise NotFound(f"couldn't find entry {name}")
    state.auth.set_caps(name, caps)
    return done(f"updated caps for {name}")


def apply_del(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = _entity(cmd["entity"])
    if state.auth.lookup(name) is None:
        return unchanged(f"entity {name} does not exist")
    state.auth.delete(name)
    return done("updated")


def prepare_import(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    return {**cmd, "_inbuf": inbuf}


def apply_import(state: MonState, cmd: dict, stamp: float) -> Outcome:
    text = bytes(cmd.get("_inbuf", b"")).decode("utf-8", "replace")
    keyring = Keyring.parse(text)
    if not keyring.entities:
        raise RadosError("no entities in the keyring to import", errno.EINVAL)
    state.auth.import_keyring(keyring)
    return done("imported keyring")


ROTATING_SERVICES = ("osd",)
"""Daemon types whose service secrets the monitors keep (see `auth get-rotating`)."""
_SECRET_LEN = 32


def prepare_rotating(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    """Fresh secrets for any rotation `apply_rotating` may have to do."""
    fresh = [ctx.random_bytes(_SECRET_LEN) for _ in range(KEY_ROTATE_NUM)]
    return {**cmd, "_secrets": fresh}


def apply_rotating(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`auth get-rotating SERVICE`: the service's rotating secrets as JSON (what a
    daemon needs to check the tickets clients present), rotating first when the
    current one expired or there are fewer than three (Ceph's `MAuth` rotating-keys
    exchange, as a command). Answered without a Raft entry when nothing rotates."""
    service = cmd["service"]
    if service not in ROTATING_SERVICES:
        raise InvalidArgument(f"no rotating secrets for service '{service}'")
    changed = False
    rotating = state.auth.rotating.get(service)
    for secret in cmd["_secrets"]:
        if rotating is not None and not rotating.needs_rotation(stamp):
            break
        state.auth.rotate(service, stamp, DEFAULT_TICKET_TTL, bytes(secret))
        rotating = state.auth.rotating[service]
        changed = True
    assert rotating is not None
    data = {
        str(sid): {"secret": base64.b64encode(s.secret).decode(), "expires": s.expires}
        for sid, s in rotating.secrets.items()
    }
    outbuf = json.dumps(data).encode()
    return done(outbuf=outbuf) if changed else unchanged(outbuf=outbuf)


def auth_get(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    name = _entity(cmd["entity"])
    auth = state.auth.get(name)
    return reply(f"exported keyring for {name}", format_keyring([(name, auth)], cmd["format"]))


def auth_print_key(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    name = _entity(cmd["entity"])
    auth = state.auth.lookup(name)
    if auth is None:
        raise NotFound(f"don't have {name}")
    return reply(outbuf=str(auth.key))


def auth_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    outs = "installed auth entries:\n" if cmd["format"] == "plain" else ""
    return reply(outs, format_ls(state.auth, cmd["format"]))


def auth_export(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    if "entity" in cmd:
        return auth_get(state, cmd, ctx, inbuf)
    return reply("exported master keyring", format_keyring(state.auth.ls(), cmd["format"]))


COMMANDS: tuple[Command, ...] = (
    Command(
        "auth get-rotating name=service,type=CephChoices,strings=osd",
        "rotating service secrets for daemons of type <service> (sent by daemons)",
        "osd",
        "rwx",
        apply=apply_rotating,
        prepare=prepare_rotating,
    ),
    Command(
        f"auth get {_ENTITY}", "write keyring file with requested key", "auth", "rx", read=auth_get
    ),
    Command(
        f"auth export {_ENTITY},req=false",
        "write keyring for requested entity, or master keyring if none given",
        "auth",
        "rx",
        read=auth_export,
    ),
    *(
        Command(
            f"auth {verb} {_ENTITY}", "display requested key", "auth", "rx", read=auth_print_key
        )
        for verb in ("get-key", "print-key", "print_key")
    ),
    Command("auth ls", "list authentication state", "auth", "rx", read=auth_ls),
    Command("auth list", "list authentication state", "auth", "rx", read=auth_ls),
    Command(
        "auth import",
        "auth import: read keyring file from -i <file>",
        "auth",
        "rwx",
        apply=apply_import,
        prepare=prepare_import,
    ),
    Command(
        f"auth add {_ENTITY} {_CAPS}",
        "add auth info for <entity> from input file, or random key if no input is "
        "given, and/or any caps specified in the command",
        "auth",
        "rwx",
        apply=apply_add,
        prepare=prepare_new_key,
    ),
    Command(
        f"auth get-or-create {_ENTITY} {_CAPS}",
        "add auth info for <entity> from input file, or random key if no input given, "
        "and/or any caps specified in the command",
        "auth",
        "rwx",
        apply=apply_get_or_create,
        prepare=prepare_new_key,
    ),
    Command(
        f"auth caps {_ENTITY} name=caps,type=CephString,n=N",
        "update caps for <name> from caps specified in the command",
        "auth",
        "rwx",
        apply=apply_caps,
    ),
    *(
        Command(
            f"auth {verb} {_ENTITY}", "remove all caps for <name>", "auth", "rwx", apply=apply_del
        )
        for verb in ("del", "rm")
    ),
)
