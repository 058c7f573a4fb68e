"""Commands for taking an OSD out of service and replacing it.

`osd safe-to-destroy`, `osd ok-to-stop`, `osd destroy` and `osd purge` are answered as
Ceph 16's manager answers them (DaemonServer.cc): from the leader's PG stats, and
`destroy`/`purge` go on to the monitor's own `osd destroy-actual`/`osd purge-actual`
(OSDMonitor.cc) when the check passes or `--force` is given. `osd purge-new` and
`osd new` are the monitor's. The checks themselves (`destroy_safety`, `stop_safety`)
are pure functions of the map and the PG stats.

Destroying keeps the id and its CRUSH position, marks it `destroyed` and deletes its
key; `osd new UUID ID` then re-creates the same id (new, out until it boots), so the
replacement disk takes the old one's place and only the PGs that were on it move.
Purging removes the id from CRUSH, auth and the OSDMap.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from radospy.auth.caps import OSD_CAPS
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityName
from radospy.common.errors import InvalidArgument, RadosError
from radospy.crush import edit
from radospy.crush.location import devices_under, parent_bucket
from radospy.mon.cmdspec import (
    Command,
    CommandContext,
    CommandResult,
    Outcome,
    done,
    dump_json,
    reply,
    unchanged,
)
from radospy.mon.messages import OsdStat, PgStat
from radospy.mon.osd_commands import created_reply, first_free_id, osd_ids, uuid_owner
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import WEIGHT_IN, WEIGHT_OUT, ZERO_UUID, OsdInfo, OSDMap, OsdStateFlag

_UNKNOWN = "unknown"
_FORCE_HINT = (
    "\nYou can proceed by passing --force, but be warned that this will likely mean "
    "real, permanent data loss."
)
_NOT_SURE = (
    "Are you SURE?  Did you verify with 'ceph osd safe-to-destroy'?  This will mean real, "
    "permanent data loss, as well as deletion of cephx and lockbox keys. "
    "Pass --yes-i-really-mean-it if you really do."
)


def _ids_text(ids: Iterable[int]) -> str:
    """A set of ids as Ceph streams a `std::set<int>`: comma-separated, no brackets."""
    return ",".join(str(i) for i in sorted(ids))


def _states(pg: PgStat) -> set[str]:
    return set(pg.state.split("+"))


# -- safe-to-destroy -----------------------------------------------------------------------


@dataclass
class DestroySafety:
    """What `osd safe-to-destroy` found for each OSD asked about (DaemonServer.cc)."""

    safe: set[int] = field(default_factory=set)
    active: set[int] = field(default_factory=set)
    """OSDs in the acting set, or in the up set but not the acting set, of some PG."""
    affected_pgs: int = 0
    missing_stats: set[int] = field(default_factory=set)
    stored_pgs: set[int] = field(default_factory=set)
    unknown_pgs: int = 0

    @property
    def rc(self) -> int:
        """0 when every OSD is safe; else -EAGAIN (cannot tell) or -EBUSY (not safe)."""
        if self.unknown_pgs:
            return -errno.EAGAIN
        if self.active or self.stored_pgs:
            return -errno.EBUSY
        if self.missing_stats:
            return -errno.EAGAIN
        return 0

    def message(self, asked: set[int]) -> str:
        """Ceph's wording, sentence by sentence."""
        if self.unknown_pgs:
            return f"{self.unknown_pgs} pgs have unknown state; cannot draw any conclusions"
        if self.rc == 0:
            return (
                f"OSD(s) {_ids_text(asked)} are safe to destroy without reducing data durability."
            )
        text = ""
        if self.safe:
            text += (
                f"OSD(s) {_ids_text(self.safe)} are safe to destroy without reducing data "
                "durability. "
            )
        if self.active:
            text += (
                f"OSD(s) {_ids_text(self.active)} have {self.affected_pgs} pgs currently "
                "mapped to them. "
            )
        if self.missing_stats:
            text += (
                f"OSD(s) {_ids_text(self.missing_stats)} have no reported stats, and not all "
                "PGs are active+clean; we cannot draw any conclusions. "
            )
        if self.stored_pgs:
            text += (
                f"OSD(s) {_ids_text(self.stored_pgs)} last reported they still store some PG "
                "data, and not all PGs are active+clean; we cannot be sure they aren't still "
                "needed."
            )
        return text


def destroy_safety(
    osdmap: OSDMap, pgs: list[PgStat], osd_stats: dict[int, OsdStat], osds: set[int]
) -> DestroySafety:
    """Whether destroying `osds` could lose data: an OSD is safe when it does not exist,
    or no PG maps to it and either every PG is active+clean or it reported holding no
    PGs. `pgs` is every PG of the map as operators see it (unreported ones `unknown`)."""
    found = DestroySafety()
    found.unknown_pgs = sum(1 for pg in pgs if pg.state == _UNKNOWN)
    if found.unknown_pgs:
        return found
    all_clean = all({"active", "clean"} <= _states(pg) for pg in pgs)
    for osd in sorted(osds):
        if not osdmap.exists(osd):
            found.safe.add(osd)
            continue
        acting = sum(1 for pg in pgs if osd in pg.acting)
        up_not_acting = sum(1 for pg in pgs if osd in pg.up and osd not in pg.acting)
        if acting or up_not_acting:
            found.active.add(osd)
            found.affected_pgs += acting + up_not_acting
            continue
        if not all_clean:
            stat = osd_stats.get(osd)
            if stat is None:
                found.missing_stats.add(osd)
                continue
            if stat.num_pgs > 0:
                found.stored_pgs.add(osd)
                continue
        found.safe.add(osd)
    return found


def _asked(osdmap: OSDMap, words: list[str]) -> set[int]:
    ids = set(osd_ids(osdmap, words, lambda m, o: True))
    if not ids:
        raise InvalidArgument("must specify one or more OSDs")
    return ids


def osd_safe_to_destroy(
    state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes
) -> CommandResult:
    osdmap = state.osdmap
    asked = _asked(osdmap, cmd["ids"])
    found = destroy_safety(osdmap, ctx.pgmap.current(osdmap, ctx.now), ctx.pgmap.osd_stats, asked)
    if cmd["format"] != "plain" and not found.unknown_pgs:
        safe = asked if found.rc == 0 else found.safe
        body = {
            "safe_to_destroy": sorted(safe),
            "active": sorted(found.active),
            "missing_stats": sorted(found.missing_stats),
            "stored_pgs": sorted(found.stored_pgs),
        }
        return reply(outbuf=dump_json(body, cmd["format"]))
    return CommandResult(found.rc, outs=found.message(asked))


# -- ok-to-stop ------------------------------------------------------------------------------


@dataclass
class StopSafety:
    """Ceph's `offline_pg_report`: what stopping a set of OSDs does to their PGs."""

    osds: set[int]
    unknown: list[str] = field(default_factory=list)
    bad_no_pool: list[str] = field(default_factory=list)
    bad_already_inactive: list[str] = field(default_factory=list)
    bad_become_inactive: list[str] = field(default_factory=list)
    ok_become_degraded: list[str] = field(default_factory=list)
    ok_become_more_degraded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.ok_become_degraded) + len(self.ok_become_more_degraded)

    @property
    def not_ok(self) -> int:
        return (
            len(self.bad_no_pool) + len(self.bad_already_inactive) + len(self.bad_become_inactive)
        )

    @property
    def ok_to_stop(self) -> bool:
        return not self.not_ok and not self.unknown

    def to_dict(self) -> dict[str, Any]:
        """The JSON `osd ok-to-stop` prints (empty lists left out, as Ceph does)."""
        out: dict[str, Any] = {
            "ok_to_stop": self.ok_to_stop,
            "osds": sorted(self.osds),
            "num_ok_pgs": self.ok,
            "num_not_ok_pgs": self.not_ok,
        }
        for name in (
            "bad_no_pool",
            "bad_already_inactive",
            "bad_become_inactive",
            "ok_become_degraded",
            "ok_become_more_degraded",
        ):
            pgs = getattr(self, name)
            if pgs:
                out[name + "_pgs" if name.startswith("bad") else name] = pgs
        return out


def stop_safety(osdmap: OSDMap, pgs: list[PgStat], osds: set[int]) -> StopSafety:
    """Whether stopping `osds` at once leaves every PG they serve active: a PG that is
    already inactive, or would keep fewer than its pool's `min_size` acting members, is
    not ok; one that only loses redundancy is (`OSDMap::check_offline_pgs`)."""
    report = StopSafety(set(osds))
    for pg in pgs:
        if not osds & (set(pg.acting) | set(pg.up)):
            continue
        pgid = f"{pg.pool}.{pg.seed:x}"
        if pg.state == _UNKNOWN:
            report.unknown.append(pgid)
            continue
        pool = osdmap.pools.get(pg.pool)
        states = _states(pg)
        if pool is None:
            report.bad_no_pool.append(pgid)
        elif "active" not in states:
            report.bad_already_inactive.append(pgid)
        elif len([o for o in pg.acting if o >= 0 and o not in osds]) < pool.min_size:
            report.bad_become_inactive.append(pgid)
        elif "degraded" in states:
            report.ok_become_more_degraded.append(pgid)
        else:
            report.ok_become_degraded.append(pgid)
    return report


def grown_stop_set(osdmap: OSDMap, pgs: list[PgStat], asked: set[int], most: int) -> StopSafety:
    """`osd ok-to-stop IDS --max N`: the report of `asked` grown towards `most` OSDs as
    Ceph's manager grows it (`DaemonServer::_maximize_ok_to_stop_set`): up OSDs under
    the parent bucket of the lowest asked id are added one by one (by id), each kept
    only while the set stays ok to stop, then those under the grandparent, and so on.
    It stops at `most` OSDs, at the root, or after a level where some OSD could not be
    added. When `asked` itself is not ok to stop, its own report."""
    report = stop_safety(osdmap, pgs, asked)
    if not report.ok_to_stop or len(asked) >= most:
        return report
    osds = set(asked)
    item = min(asked)
    while (parent := parent_bucket(osdmap.crush, item)) is not None:
        item = parent
        failed = 0
        for osd in sorted(devices_under(osdmap.crush, parent)):
            if not osdmap.is_up(osd) or osd in osds:
                continue
            grown = stop_safety(osdmap, pgs, osds | {osd})
            if not grown.ok_to_stop:
                failed += 1
                continue
            osds.add(osd)
            report = grown
            if len(osds) >= most:
                return report
        if failed:
            break
    return report


def osd_ok_to_stop(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """`osd ok-to-stop IDS [--max N]`: the report as JSON, rc 0, EAGAIN or EBUSY; with
    `--max`, of the set grown as `grown_stop_set` grows it."""
    osdmap = state.osdmap
    asked = _asked(osdmap, cmd["ids"])
    pgs = ctx.pgmap.current(osdmap, ctx.now)
    report = grown_stop_set(osdmap, pgs, asked, cmd.get("max") or 1)
    fmt = "json" if cmd["format"] == "plain" else cmd["format"]
    out = dump_json(report.to_dict(), fmt) + b"\n"
    if report.unknown:
        return CommandResult(
            -errno.EAGAIN,
            out,
            f"{len(report.unknown)} pgs have unknown state; cannot draw any conclusions",
        )
    if not report.ok_to_stop:
        return CommandResult(
            -errno.EBUSY,
            out,
            f"unsafe to stop osd(s) at this time ({report.not_ok} PGs are or would become offline)",
        )
    return CommandResult(0, out)


# -- destroy / purge ---------------------------------------------------------------------------


def prepare_checked(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    """The manager's half of `osd destroy|purge ID`: refuse (EBUSY/EAGAIN) unless the
    OSD is safe to destroy or `--force` (or the older `--yes-i-really-mean-it`) is
    given; then the monitor's half runs as if confirmed."""
    osd = cmd["id"]
    found = destroy_safety(
        state.osdmap, ctx.pgmap.current(state.osdmap, ctx.now), ctx.pgmap.osd_stats, {osd}
    )
    forced = bool(cmd.get("force") or cmd.get("yes_i_really_mean_it"))
    if found.rc and not forced:
        raise RadosError(found.message({osd}) + _FORCE_HINT, -found.rc)
    return {**cmd, "yes_i_really_mean_it": True}


def _removable(state: MonState, cmd: dict) -> Outcome | None:
    """The monitor's common checks: confirmation, existence (idempotent) and down."""
    osd = cmd["id"]
    if not cmd.get("yes_i_really_mean_it"):
        raise RadosError(_NOT_SURE, errno.EPERM)
    if not state.osdmap.exists(osd):
        return unchanged(f"osd.{osd} does not exist")
    if state.osdmap.is_up(osd):
        raise RadosError(f"osd.{osd} is not `down`.", errno.EBUSY)
    return None


def apply_destroy(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd destroy-actual ID`: keep the id and CRUSH position, mark it destroyed, forget
    its uuid and delete its key; its data can no longer be read by anyone."""
    osd = cmd["id"]
    refused = _removable(state, cmd)
    if refused is not None:
        return refused
    if state.osdmap.osds[osd].state & OsdStateFlag.DESTROYED:
        return unchanged(f"destroyed osd.{osd}")
    osdmap = state.begin_osdmap(cmd)
    info = osdmap.osds[osd]
    info.state |= OsdStateFlag.DESTROYED
    info.uuid = ZERO_UUID
    _delete_key(state, osd)
    state.commit_osdmap(osdmap, stamp)
    return done(f"destroyed osd.{osd}")


def apply_purge(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd purge-actual|purge-new ID`: remove the OSD from CRUSH, auth and the OSDMap."""
    osd = cmd["id"]
    refused = _removable(state, cmd)
    if refused is not None:
        return refused
    if cmd["prefix"] == "osd purge-new" and not state.osdmap.osds[osd].state & OsdStateFlag.NEW:
        raise RadosError(f"osd.{osd} is not new", errno.EPERM)
    in_crush = osd in state.osdmap.crush.device_names
    osdmap = state.begin_osdmap(cmd, crush=in_crush)
    if in_crush:
        edit.remove_item(osdmap.crush, osd)
        osdmap.crush_version += 1
    osdmap.osds[osd] = OsdInfo()
    for pgid in [p for p, members in osdmap.pg_temp.items() if osd in members]:
        del osdmap.pg_temp[pgid]
    _delete_key(state, osd)
    state.commit_osdmap(osdmap, stamp)
    return done(f"purged osd.{osd}")


def _delete_key(state: MonState, osd: int) -> None:
    name = EntityName("osd", str(osd))
    if state.auth.lookup(name) is not None:
        state.auth.delete(name)


# -- osd new -----------------------------------------------------------------------------------


_SECRET_NAMES = ("cephx_secret", "cephx_lockbox_secret", "dmcrypt_key")


def prepare_osd_new(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    """`osd new UUID [ID] -i SECRETS`: read the secrets JSON (`{"cephx_secret": KEY}`)
    and check it before anything is proposed (Ceph's `prepare_command_osd_new` and
    `AuthMonitor::validate_osd_new`); the key goes to `apply_osd_new` as `_cephx_secret`."""
    if not inbuf.strip():
        return cmd
    try:
        params = json.loads(inbuf)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"unable to parse secrets JSON: {exc}") from None
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        raise InvalidArgument("secrets must be a JSON object of strings")
    if not any(name in params for name in _SECRET_NAMES):
        return cmd
    if "cephx_secret" not in params:
        raise InvalidArgument("requires a cephx secret.")
    if ("cephx_lockbox_secret" in params) != ("dmcrypt_key" in params):
        raise InvalidArgument("requires both a cephx lockbox secret and a dm-crypt key.")
    if "dmcrypt_key" in params:
        raise RadosError("dm-crypt OSDs are not supported", errno.EOPNOTSUPP)
    try:
        key = CryptoKey.from_base64(params["cephx_secret"])
    except (InvalidArgument, ValueError):
        raise InvalidArgument("invalid cephx secret.") from None
    return {**cmd, "_cephx_secret": key.to_base64()}


def _check_osd_key(state: MonState, osd: int, key: CryptoKey) -> bool:
    """Whether osd.`osd` already has exactly `key` and an OSD's caps (False: no such
    entity); EEXIST/EINVAL when it has another key or other caps, as Ceph's
    `exists_and_matches_entity`."""
    name = EntityName.parse(f"osd.{osd}")
    existing = state.auth.lookup(name)
    if existing is None:
        return False
    if existing.key.secret != key.secret:
        raise RadosError(f"entity {name} exists but key does not match", errno.EEXIST)
    if existing.caps != OSD_CAPS:
        raise InvalidArgument(f"entity {name} exists but caps do not match")
    return True


def apply_osd_new(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd new UUID [ID] [-i SECRETS]`: create an OSD, or re-create destroyed `ID` with
    a new uuid (new and out until it boots, at its old CRUSH position); with a cephx
    secret, also its key `osd.ID` with an OSD's caps. Idempotent for a uuid already
    registered under the same id (and the same key)."""
    uuid, wanted = cmd["uuid"], cmd.get("id")
    secret = cmd.get("_cephx_secret")
    key = CryptoKey.from_base64(secret) if secret else None
    if uuid == ZERO_UUID:
        raise InvalidArgument("requires the OSD's UUID to be specified.")
    if wanted is not None and wanted < 0:
        raise InvalidArgument("invalid OSD id; must be greater or equal than zero.")
    owner = uuid_owner(state.osdmap, uuid)
    if owner is not None:
        if wanted is not None and wanted != owner:
            raise RadosError(f"uuid {uuid} already in use for different id {owner}", errno.EEXIST)
        if key is not None and not _check_osd_key(state, owner, key):
            raise RadosError(f"osd.{owner} exists but secrets do not match", errno.EEXIST)
        return unchanged(outbuf=created_reply(owner, cmd["format"]))
    recreate = wanted is not None and bool(
        state.osdmap.exists(wanted) and state.osdmap.osds[wanted].state & OsdStateFlag.DESTROYED
    )
    if wanted is not None and state.osdmap.exists(wanted) and not recreate:
        raise InvalidArgument(f"id {wanted} already in use and does not match uuid {uuid}")
    new_id = wanted if wanted is not None else first_free_id(state.osdmap)
    if key is not None and not _check_osd_key(state, new_id, key):
        state.auth.add(EntityName.parse(f"osd.{new_id}"), OSD_CAPS, key)
    osdmap = state.begin_osdmap(cmd)
    if recreate:
        assert wanted is not None
        info = osdmap.osds[wanted]
        info.state = (info.state | OsdStateFlag.NEW) & ~(OsdStateFlag.DESTROYED | OsdStateFlag.UP)
        info.weight = WEIGHT_OUT
        info.uuid = uuid
        osd = wanted
    else:
        osd = new_id
        osdmap.create_osd(osd, uuid)
        osdmap.osds[osd].weight = WEIGHT_IN
    state.commit_osdmap(osdmap, stamp)
    return done(outbuf=created_reply(osd, cmd["format"]))


_CONFIRM = "name=yes_i_really_mean_it,type=CephBool,req=false"
_FORCE = "name=force,type=CephBool,req=false"

COMMANDS: tuple[Command, ...] = (
    Command(
        "osd safe-to-destroy name=ids,type=CephString,n=N",
        "check whether osd(s) can be safely destroyed without reducing data durability",
        "osd",
        "r",
        read=osd_safe_to_destroy,
    ),
    Command(
        "osd ok-to-stop name=ids,type=CephString,n=N name=max,type=CephInt,req=false",
        "check whether osd(s) can be safely stopped without reducing immediate data availability",
        "osd",
        "r",
        read=osd_ok_to_stop,
    ),
    Command(
        f"osd destroy name=id,type=CephOsdName {_FORCE} {_CONFIRM}",
        "mark osd as being destroyed. Keeps the ID intact (allowing reuse), but removes "
        "cephx keys, config-key data and lockbox keys, rendering data permanently unreadable.",
        "osd",
        "rw",
        apply=apply_destroy,
        prepare=prepare_checked,
    ),
    Command(
        f"osd purge name=id,type=CephOsdName {_FORCE} {_CONFIRM}",
        "purge all osd data from the monitors including the OSD id and CRUSH position",
        "osd",
        "rw",
        apply=apply_purge,
        prepare=prepare_checked,
    ),
    Command(
        f"osd destroy-actual name=id,type=CephOsdName {_CONFIRM}",
        "mark osd as being destroyed. Keeps the ID intact (allowing reuse), but removes "
        "cephx keys, config-key data and lockbox keys, rendering data permanently unreadable.",
        "osd",
        "rw",
        apply=apply_destroy,
    ),
    Command(
        f"osd purge-actual name=id,type=CephOsdName {_CONFIRM}",
        "purge all osd data from the monitors. Combines `osd destroy`, `osd rm`, and "
        "`osd crush rm`.",
        "osd",
        "rw",
        apply=apply_purge,
    ),
    Command(
        f"osd purge-new name=id,type=CephOsdName {_CONFIRM}",
        "purge all traces of an OSD that was partially created but never started",
        "osd",
        "rw",
        apply=apply_purge,
    ),
    Command(
        "osd new name=uuid,type=CephUUID,req=true name=id,type=CephOsdName,req=false",
        "Create a new OSD. If supplied, the `id` to be replaced needs to exist and have "
        "been previously destroyed. Reads secrets from JSON file via `-i <file>` (see man "
        "page).",
        "osd",
        "rw",
        apply=apply_osd_new,
        prepare=prepare_osd_new,
    ),
)
