"""`ceph osd ...` commands on OSD state and the map as a whole (OSDMonitor.cc).

create/rm/in/out/down, cluster flags, reweight and primary affinity, plus the read-only
stat/dump/tree/ls/map/getmap and getcrushmap/setcrushmap.
"""

from __future__ import annotations

import errno
from typing import Any

from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.crush import codec
from radospy.crush.codec import CrushDecodeError
from radospy.mon import osd_output
from radospy.mon.cmdspec import (
    Command,
    CommandContext,
    CommandResult,
    Outcome,
    done,
    dump_json,
    existing_pg,
    reply,
    unchanged,
)
from radospy.mon.laggy import LaggyInfo, after_boot
from radospy.mon.state import MonState
from radospy.osdmap.format import osd_map_line
from radospy.osdmap.osdmap import (
    WEIGHT_IN,
    WEIGHT_OUT,
    ZERO_UUID,
    MapFlag,
    OsdInfo,
    OSDMap,
    OsdStateFlag,
    map_flags_string,
)
from radospy.osdmap.tree import TREE_STATES, tree_text

_FLAG_KEYS: dict[str, int] = {
    "full": MapFlag.FULL,
    "pause": MapFlag.PAUSERD | MapFlag.PAUSEWR,
    "noup": MapFlag.NOUP,
    "nodown": MapFlag.NODOWN,
    "noout": MapFlag.NOOUT,
    "noin": MapFlag.NOIN,
    "nobackfill": MapFlag.NOBACKFILL,
    "norebalance": MapFlag.NOREBALANCE,
    "norecover": MapFlag.NORECOVER,
    "noscrub": MapFlag.NOSCRUB,
    "nodeep-scrub": MapFlag.NODEEP_SCRUB,
    "notieragent": MapFlag.NOTIERAGENT,
    "nosnaptrim": MapFlag.NOSNAPTRIM,
    "pglog_hardlimit": MapFlag.PGLOG_HARDLIMIT,
    "noautoscale": MapFlag.NOAUTOSCALE,
}
_UNSETTABLE = "|".join(k for k in _FLAG_KEYS if k != "pglog_hardlimit")


# -- read-only -----------------------------------------------------------------------------


def _map_at(state: MonState, cmd: dict[str, Any]) -> OSDMap:
    """The current map, or the kept full map of `cmd["epoch"]` (ENOENT if not kept)."""
    epoch = cmd.get("epoch")
    if not epoch or epoch == state.osdmap.epoch:
        return state.osdmap
    found = state.osdmap_at(epoch)
    if found is None:
        raise NotFound(f"there is no map for epoch {epoch}")
    return found[0]


def osd_stat(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(osd_output.stat_json(state), cmd["format"]))
    return reply(outbuf=osd_output.stat_summary(state, ctx.now))


def osd_dump(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = _map_at(state, cmd)
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(osd_output.dump_json(state, osdmap), cmd["format"]))
    return reply(outbuf=osd_output.dump_text(state, osdmap))


def osd_tree(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = _map_at(state, cmd)
    states = cmd.get("states") or ()
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(osd_output.tree_json(osdmap, states), cmd["format"]))
    return reply(outbuf=tree_text(osdmap, states))


def osd_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = _map_at(state, cmd)
    ids = [osd for osd in range(osdmap.max_osd) if osdmap.exists(osd)]
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(ids, cmd["format"]))
    return reply(outbuf="".join(f"{osd}\n" for osd in ids))


def osd_getmap(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    epoch = cmd.get("epoch") or state.osdmap.epoch
    data = state.osdmap_bytes(epoch)
    if data is None:
        raise NotFound(f"there is no map for epoch {epoch}")
    return reply(f"got osdmap epoch {epoch}", data)


def osd_getcrushmap(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = _map_at(state, cmd)
    return reply(str(osdmap.crush_version), codec.encode(osdmap.crush))


def osd_map(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = state.osdmap
    try:
        pool = osdmap.pool_by_name(cmd["pool"])
    except NotFound:
        raise NotFound(f"pool {cmd['pool']} does not exist") from None
    name, nspace = cmd["object"], cmd.get("nspace", "")
    if cmd["format"] == "plain":
        return reply(outbuf=osd_map_line(osdmap, pool.id, name, nspace) + "\n")
    raw = osdmap.object_locator_to_pg(pool.id, name, namespace=nspace)
    pg = osdmap.raw_pg_to_pg(raw)
    mapping = osdmap.pg_to_up_acting_osds(pg)
    out: dict[str, Any] = {
        "epoch": osdmap.epoch,
        "pool": pool.name,
        "pool_id": pool.id,
        "objname": name,
    }
    if nspace:
        out["nspace"] = nspace
    out.update(
        {
            "raw_pgid": str(raw),
            "pgid": str(pg),
            "up": mapping.up,
            "up_primary": mapping.up_primary,
            "acting": mapping.acting,
            "acting_primary": mapping.acting_primary,
        }
    )
    return reply(outbuf=dump_json(out, cmd["format"]))


# -- osd create / rm -----------------------------------------------------------------------


def uuid_owner(osdmap: OSDMap, uuid: str) -> int | None:
    for osd in range(osdmap.max_osd):
        if osdmap.exists(osd) and osdmap.osds[osd].uuid == uuid:
            return osd
    return None


def created_reply(osd: int, fmt: str) -> bytes:
    if fmt == "plain":
        return f"{osd}\n".encode()
    return dump_json({"osdid": osd}, fmt)


def apply_osd_create(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd create [uuid] [id]`: the new OSD exists, is new, down and in (Pacific)."""
    uuid = cmd.get("uuid", ZERO_UUID)
    wanted = cmd.get("id")
    if uuid != ZERO_UUID:
        owner = uuid_owner(state.osdmap, uuid)
        if owner is not None:
            if wanted is not None and wanted != owner:
                raise RadosError(
                    f"uuid {uuid} already in use for different id {owner}", errno.EEXIST
                )
            return unchanged(outbuf=created_reply(owner, cmd["format"]))
    osdmap = state.begin_osdmap(cmd)
    if wanted is not None and osdmap.exists(wanted):
        raise RadosError(f"osd.{wanted} already exists", errno.EEXIST)
    osd = wanted if wanted is not None else first_free_id(osdmap)
    osdmap.create_osd(osd, uuid)
    osdmap.osds[osd].weight = WEIGHT_IN
    state.commit_osdmap(osdmap, stamp)
    return done(outbuf=created_reply(osd, cmd["format"]))


def first_free_id(osdmap: OSDMap) -> int:
    return next((o for o in range(osdmap.max_osd) if not osdmap.exists(o)), osdmap.max_osd)


def osd_ids(osdmap: OSDMap, words: list[str], applies: Any) -> list[int]:
    """The ids a multi-OSD command names: `any`/`all`/`*` mean every OSD it applies to."""
    if words and words[0] in ("any", "all", "*"):
        return [o for o in range(osdmap.max_osd) if osdmap.exists(o) and applies(osdmap, o)]
    ids = []
    for word in words:
        text = word[4:] if word.startswith("osd.") else word
        if not text.lstrip("-").isdigit():
            raise InvalidArgument(
                f"Expected option value to be integer, got '{word}'invalid osd id-1"
            )
        ids.append(int(text))
    return ids


def _mark(state: MonState, cmd: dict, stamp: float, verb: str) -> Outcome:
    """`osd in|out|down IDS`: one message per id, Ceph's wording and trailing spaces."""
    spec = _MARKS[verb]
    osdmap = state.begin_osdmap(cmd)
    messages = []
    changed = False
    for osd in osd_ids(osdmap, cmd["ids"], spec["applies"]):
        if not osdmap.exists(osd):
            messages.append(f"osd.{osd} does not exist. ")
        elif not spec["applies"](osdmap, osd):
            messages.append(f"osd.{osd} is already {verb}. ")
        else:
            spec["do"](osdmap, osd, stamp)
            messages.append(f"marked {verb} osd.{osd}. ")
            changed = True
    if not changed:
        return unchanged("".join(messages))
    state.commit_osdmap(osdmap, stamp)
    return done("".join(messages))


def _set_in(osdmap: OSDMap, osd: int) -> None:
    osdmap.mark_in(osd)
    # Ceph clears NEW and AUTOOUT whenever an OSD is marked in.
    osdmap.osds[osd].state &= ~(OsdStateFlag.NEW | OsdStateFlag.AUTOOUT)


def _set_down(osdmap: OSDMap, osd: int, stamp: float) -> None:
    osdmap.mark_down(osd)
    osdmap.osds[osd].down_at = osdmap.epoch + 1
    osdmap.osds[osd].down_stamp = stamp


_MARKS: dict[str, dict[str, Any]] = {
    "in": {"applies": lambda m, o: m.is_out(o), "do": lambda m, o, _: _set_in(m, o)},
    "out": {"applies": lambda m, o: m.is_in(o), "do": lambda m, o, _: m.mark_out(o)},
    "down": {"applies": lambda m, o: m.is_up(o), "do": _set_down},
}


def apply_pg_temp(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd pg-temp PGID [ID...]`: set (or, without ids, clear) a PG's temporary acting
    set; OSDs ask for it while a new up set is backfilled."""
    osdmap = state.begin_osdmap(cmd)
    pgid = existing_pg(osdmap, cmd["pgid"])
    pool = osdmap.pools[pgid.pool]
    ids = [int(i) for i in cmd.get("id", [])]
    if not ids:
        if pgid not in osdmap.pg_temp:
            return unchanged(f"done cleaning up pg_temp of {pgid}")
        del osdmap.pg_temp[pgid]
        state.commit_osdmap(osdmap, stamp)
        return done(f"done cleaning up pg_temp of {pgid}")
    for osd in ids:
        if not osdmap.exists(osd):
            raise NotFound(f"osd.{osd} does not exist")
    if len(ids) < pool.min_size:
        raise InvalidArgument(f"num of osds ({len(ids)}) < pool min size ({pool.min_size})")
    if len(ids) > pool.size:
        raise InvalidArgument(f"num of osds ({len(ids)}) > pool size ({pool.size})")
    shown = "[" + ",".join(str(i) for i in ids) + "]"
    if osdmap.pg_temp.get(pgid) == ids:
        return unchanged(f"set {pgid} pg_temp mapping to {shown}")
    osdmap.pg_temp[pgid] = ids
    state.commit_osdmap(osdmap, stamp)
    return done(f"set {pgid} pg_temp mapping to {shown}")


def apply_osd_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd rm IDS`: forget down OSDs (their CRUSH entries stay, as in Ceph)."""
    osdmap = state.begin_osdmap(cmd)
    removed: list[int] = []
    messages = []
    for osd in osd_ids(osdmap, cmd["ids"], lambda m, o: True):
        if not osdmap.exists(osd):
            messages.append(f"osd.{osd} does not exist. ")
        elif osdmap.is_up(osd):
            raise RadosError(f"osd.{osd} is still up; must be down before removal. ", errno.EBUSY)
        else:
            osdmap.osds[osd] = OsdInfo()
            removed.append(osd)
    text = ("removed " + ", ".join(f"osd.{o}" for o in removed)) if removed else ""
    text += "".join(messages)
    if not removed:
        return unchanged(text)
    state.commit_osdmap(osdmap, stamp)
    return done(text)


# -- flags, weights ------------------------------------------------------------------------


def apply_osd_set(state: MonState, cmd: dict, stamp: float) -> Outcome:
    bits = _FLAG_KEYS[cmd["key"]]
    message = f"{map_flags_string(bits)} is set"
    if state.osdmap.flags & bits == bits:
        return unchanged(message)
    osdmap = state.begin_osdmap(cmd)
    osdmap.flags |= bits
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def apply_osd_unset(state: MonState, cmd: dict, stamp: float) -> Outcome:
    bits = _FLAG_KEYS[cmd["key"]]
    message = f"{map_flags_string(bits)} is unset"
    if not state.osdmap.flags & bits:
        return unchanged(message)
    osdmap = state.begin_osdmap(cmd)
    osdmap.flags &= ~bits
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def _existing(osdmap: OSDMap, osd: int) -> None:
    if not osdmap.exists(osd):
        raise NotFound(f"osd.{osd} does not exist")


def apply_osd_reweight(state: MonState, cmd: dict, stamp: float) -> Outcome:
    osd, weight = cmd["id"], cmd["weight"]
    osdmap = state.begin_osdmap(cmd)
    _existing(osdmap, osd)
    fixed = int(weight * WEIGHT_IN)
    message = f"reweighted osd.{osd} to {weight:g} ({fixed:x})"
    if osdmap.osds[osd].weight == fixed:
        return unchanged(message)
    osdmap.set_reweight(osd, fixed)
    if fixed != WEIGHT_OUT:
        osdmap.osds[osd].state &= ~(OsdStateFlag.NEW | OsdStateFlag.AUTOOUT)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def apply_osd_primary_affinity(state: MonState, cmd: dict, stamp: float) -> Outcome:
    osd, weight = cmd["id"], cmd["weight"]
    osdmap = state.begin_osdmap(cmd)
    _existing(osdmap, osd)
    fixed = int(weight * WEIGHT_IN)
    # Ceph streams `std::ios::hex` and `std::ios::dec` as numbers (8 and 2) around the
    # decimal value: "(8327682)" for 0.5. Kept, since scripts may match it.
    message = f"set osd.{osd} primary-affinity to {weight:g} (8{fixed}2)"
    if osdmap.osds[osd].primary_affinity == fixed:
        return unchanged(message)
    osdmap.set_primary_affinity(osd, fixed)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def apply_osd_boot(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """An OSD daemon reporting for duty: mark it up (`up_from` = the new epoch) and no
    longer new, recording the addresses it serves on (`addr`) and answers heartbeats on
    (`hb_addr`), both `HOST:PORT`. Ignored while `noup` is set, as Ceph's monitor does.
    An OSD that is up and boots again from a new address (it restarted before anyone
    marked it down) gets a new epoch with the new address, so clients stop dialling the
    old one. An OSD the monitors marked out automatically (`autoout`) is marked in
    again (Ceph's `mon_osd_auto_mark_auto_out_in`), and so is a new one booting for the
    first time, such as a destroyed id re-created by `osd new` (`mon_osd_auto_mark_new_in`).
    Its laggy estimates (`laggy_probability`, `laggy_interval`) were worked out by
    `prepare_osd_boot` on the leader.
    """
    osd = cmd["id"]
    addr = str(cmd.get("addr", ""))
    hb_addr = str(cmd.get("hb_addr", ""))
    _existing(state.osdmap, osd)
    if state.osdmap.flags & MapFlag.NOUP:
        return unchanged(f"noup flag is set; osd.{osd} stays down")
    if state.osdmap.osds[osd].state & OsdStateFlag.DESTROYED:
        # Its key is gone; only `osd new` (a re-created disk) brings the id back.
        return unchanged(f"osd.{osd} is destroyed; ignoring its boot")
    current = state.osdmap.osds[osd]
    if state.osdmap.is_up(osd) and (current.public_addr, current.hb_addr) == (addr, hb_addr):
        return unchanged(f"osd.{osd} is already up")
    osdmap = state.begin_osdmap(cmd)
    info = osdmap.osds[osd]
    info.public_addr = addr
    info.hb_addr = hb_addr
    if info.state & (OsdStateFlag.AUTOOUT | OsdStateFlag.NEW) and osdmap.is_out(osd):
        _set_in(osdmap, osd)
    info.state = (info.state | OsdStateFlag.UP) & ~OsdStateFlag.NEW
    info.up_from = info.up_thru = osdmap.epoch + 1
    if "_laggy_probability" in cmd:
        info.laggy_probability = float(cmd["_laggy_probability"])
        info.laggy_interval = int(cmd["_laggy_interval"])
    state.commit_osdmap(osdmap, stamp)
    return done(f"marked up osd.{osd}")


def apply_osd_alive(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """A primary about to activate PGs whose interval began at epoch `want` asks for
    its `up_thru` to cover it (Ceph's MOSDAlive): recorded in a new epoch, which lets
    later peering tell that an interval may have gone read-write (its primary's
    `up_thru` reached its start) from one that cannot have. Nothing changes when
    `up_thru` covers `want` already or the OSD is down."""
    osd, want = cmd["id"], cmd["want"]
    _existing(state.osdmap, osd)
    if want > state.osdmap.epoch:
        raise InvalidArgument(f"want {want} is past the current epoch {state.osdmap.epoch}")
    if not state.osdmap.is_up(osd):
        return unchanged(f"osd.{osd} is down")
    if state.osdmap.osds[osd].up_thru >= want:
        return unchanged(f"osd.{osd} up_thru is {state.osdmap.osds[osd].up_thru}")
    osdmap = state.begin_osdmap(cmd)
    osdmap.osds[osd].up_thru = osdmap.epoch + 1
    state.commit_osdmap(osdmap, stamp)
    return done(f"osd.{osd} up_thru {osdmap.epoch}")


def prepare_osd_boot(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    """The booting OSD's new laggy estimates, decided on the leader with its options
    (Ceph's `prepare_boot`): laggy when it boots again without having restarted
    (`boot_epoch`, the epoch it was up from before, is not 0)."""
    osd = cmd["id"]
    if not state.osdmap.exists(osd):
        return cmd
    info = state.osdmap.osds[osd]
    before = LaggyInfo(info.down_stamp, info.laggy_probability, info.laggy_interval)
    booted_before = int(cmd.get("boot_epoch") or 0) != 0
    after = after_boot(before, booted_before, ctx.now, ctx.laggy)
    return {
        **cmd,
        "_laggy_probability": after.laggy_probability,
        "_laggy_interval": after.laggy_interval,
    }


# -- setcrushmap ------------------------------------------------------------------------


def prepare_setcrushmap(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> dict:
    return {**cmd, "_crushmap": inbuf}


def apply_setcrushmap(state: MonState, cmd: dict, stamp: float) -> Outcome:
    prior = cmd.get("prior_version")
    if prior is not None and prior != state.osdmap.crush_version:
        raise RadosError(
            f"prior_version {prior} != crush version {state.osdmap.crush_version}", errno.EPERM
        )
    try:
        crush = codec.decode(bytes(cmd.get("_crushmap", b"")))
    except CrushDecodeError as e:
        raise InvalidArgument(f"Failed to parse crushmap: {e}") from None
    for pool in state.osdmap.pools.values():
        if pool.crush_rule not in crush.rules:
            raise InvalidArgument(
                f"pool {pool.id} references crush_rule {pool.crush_rule} but it is not present"
            )
    osdmap = state.begin_osdmap(cmd)
    osdmap.crush = crush
    osdmap.crush_version += 1
    state.commit_osdmap(osdmap, stamp)
    return done(str(osdmap.crush_version))


COMMANDS: tuple[Command, ...] = (
    Command("osd stat", "print summary of OSD map", "osd", "r", read=osd_stat),
    Command(
        "osd dump name=epoch,type=CephInt,range=0,req=false",
        "print summary of OSD map",
        "osd",
        "r",
        read=osd_dump,
    ),
    Command(
        "osd tree name=epoch,type=CephInt,range=0,req=false "
        f"name=states,type=CephChoices,strings={'|'.join(TREE_STATES)},n=N,req=false",
        "print OSD tree",
        "osd",
        "r",
        read=osd_tree,
    ),
    Command(
        "osd ls name=epoch,type=CephInt,range=0,req=false",
        "show all OSD ids",
        "osd",
        "r",
        read=osd_ls,
    ),
    Command(
        "osd getmap name=epoch,type=CephInt,range=0,req=false",
        "get OSD map",
        "osd",
        "r",
        read=osd_getmap,
    ),
    Command(
        "osd getcrushmap name=epoch,type=CephInt,range=0,req=false",
        "get CRUSH map",
        "osd",
        "r",
        read=osd_getcrushmap,
    ),
    Command(
        "osd setcrushmap name=prior_version,type=CephInt,req=false",
        "set crush map from input file",
        "osd",
        "rw",
        apply=apply_setcrushmap,
        prepare=prepare_setcrushmap,
    ),
    Command(
        "osd map name=pool,type=CephPoolname name=object,type=CephObjectname "
        "name=nspace,type=CephString,req=false",
        "find pg for <object> in <pool> with [namespace]",
        "osd",
        "r",
        read=osd_map,
    ),
    Command(
        "osd pg-temp name=pgid,type=CephPgid name=id,type=CephOsdName,n=N,req=false",
        "set pg_temp mapping pgid:[<id> [<id>...]] (developers only)",
        "osd",
        "rw",
        apply=apply_pg_temp,
    ),
    Command(
        "osd create name=uuid,type=CephUUID,req=false name=id,type=CephOsdName,req=false",
        "create new osd (with optional UUID and ID)",
        "osd",
        "rw",
        apply=apply_osd_create,
    ),
    Command(
        "osd rm name=ids,type=CephString,n=N",
        "remove osd(s) <id> [<id>...], or use <any|all> to remove all osds",
        "osd",
        "rw",
        apply=apply_osd_rm,
    ),
    Command(
        "osd down name=ids,type=CephString,n=N name=definitely_dead,type=CephBool,req=false",
        "set osd(s) <id> [<id>...] down, or use <any|all> to set all osds down",
        "osd",
        "rw",
        apply=lambda s, c, t: _mark(s, c, t, "down"),
    ),
    Command(
        "osd out name=ids,type=CephString,n=N",
        "set osd(s) <id> [<id>...] out, or use <any|all> to set all osds out",
        "osd",
        "rw",
        apply=lambda s, c, t: _mark(s, c, t, "out"),
    ),
    Command(
        "osd in name=ids,type=CephString,n=N",
        "set osd(s) <id> [<id>...] in, can use <any|all> to automatically set all "
        "previously out osds in",
        "osd",
        "rw",
        apply=lambda s, c, t: _mark(s, c, t, "in"),
    ),
    Command(
        f"osd set name=key,type=CephChoices,strings={'|'.join(_FLAG_KEYS)} "
        "name=yes_i_really_mean_it,type=CephBool,req=false",
        "set <key>",
        "osd",
        "rw",
        apply=apply_osd_set,
    ),
    Command(
        f"osd unset name=key,type=CephChoices,strings={_UNSETTABLE}",
        "unset <key>",
        "osd",
        "rw",
        apply=apply_osd_unset,
    ),
    Command(
        "osd boot name=id,type=CephOsdName name=addr,type=CephString,req=false "
        "name=hb_addr,type=CephString,req=false "
        "name=boot_epoch,type=CephInt,range=0,req=false",
        "mark osd <id> up (sent by the OSD daemon when it starts; boot_epoch: the epoch "
        "it was up from before, when the monitors marked it down while it ran)",
        "osd",
        "rwx",
        apply=apply_osd_boot,
        prepare=prepare_osd_boot,
    ),
    Command(
        "osd alive name=id,type=CephOsdName name=want,type=CephInt,range=0",
        "record osd <id> alive through epoch <want> (sent by a primary before it "
        "activates PGs)",
        "osd",
        "rwx",
        apply=apply_osd_alive,
    ),
    Command(
        "osd reweight name=id,type=CephOsdName type=CephFloat,name=weight,range=0.0|1.0",
        "reweight osd to 0.0 < <weight> < 1.0",
        "osd",
        "rw",
        apply=apply_osd_reweight,
    ),
    Command(
        "osd primary-affinity name=id,type=CephOsdName type=CephFloat,name=weight,range=0.0|1.0",
        "adjust osd primary-affinity from 0.0 <= <weight> <= 1.0",
        "osd",
        "rw",
        apply=apply_osd_primary_affinity,
    ),
)
