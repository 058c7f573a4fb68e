"""`ceph osd pool ...` and `ceph osd erasure-code-profile ...` (OSDMonitor.cc wording).

Pool changes are OSDMap changes: each bumps the epoch and the pool's `last_change`.
PG counts only grow: a smaller `pg_num` is refused (EINVAL), since radospy does not
merge PGs; `pgp_num` may move anywhere within `[1, pg_num]`, as in Ceph.
"""

from __future__ import annotations

import errno
from typing import Any

from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.common.units import byte_u, si_u
from radospy.mon import options
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
from radospy.mon.crush_commands import chunk_count, erasure_rule
from radospy.mon.osd_output import pool_json, pool_lines
from radospy.mon.osdmap_wire import PoolExtras, PoolSnap
from radospy.mon.pgmap import PoolStats
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pool import Pool, PoolFlag, PoolType, default_min_size

_DELETE_WARNING = (
    "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool {0}.  If you are "
    "*ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by "
    "--yes-i-really-really-mean-it."
)
_DELETE_DISABLED = (
    "pool deletion is disabled; you must first set the mon_allow_pool_delete config option "
    "to true before you can destroy a pool"
)
_FLAG_VARS: dict[str, int] = {
    "hashpspool": PoolFlag.HASHPSPOOL,
    "nodelete": PoolFlag.NODELETE,
    "nopgchange": PoolFlag.NOPGCHANGE,
    "nosizechange": PoolFlag.NOSIZECHANGE,
    "noscrub": PoolFlag.NOSCRUB,
    "nodeep-scrub": PoolFlag.NODEEP_SCRUB,
}
_GET_VARS = (
    "size|min_size|pg_num|pgp_num|crush_rule|hashpspool|nodelete|nopgchange|nosizechange|"
    "noscrub|nodeep-scrub|pg_autoscale_mode|erasure_code_profile"
)
_SET_VARS = (
    "size|min_size|pg_num|pgp_num|crush_rule|hashpspool|nodelete|nopgchange|nosizechange|"
    "noscrub|nodeep-scrub|pg_autoscale_mode"
)
_STRIPE_UNIT = 4096
_JERASURE_DEFAULTS = {
    "crush-device-class": "",
    "crush-failure-domain": "host",
    "crush-root": "default",
    "jerasure-per-chunk-alignment": "false",
    "k": "2",
    "m": "1",
    "plugin": "jerasure",
    "technique": "reed_sol_van",
    "w": "8",
}


def _pool(osdmap: OSDMap, name: str) -> Pool:
    try:
        return osdmap.pool_by_name(name)
    except NotFound:
        raise NotFound(f"unrecognized pool '{name}'") from None


def _pool_change(state: MonState, cmd: dict, name: str) -> tuple[OSDMap, Pool]:
    osdmap = state.begin_osdmap(cmd)
    pool = _pool(osdmap, name)
    pool.last_change = osdmap.epoch + 1
    return osdmap, pool


def _conf_int(state: MonState, name: str) -> int:
    return options.resolve_int(state.config, "mon", name)


# -- create --------------------------------------------------------------------------------


def _check_pg_num(state: MonState, pg_num: int, pgp_num: int, size: int) -> None:
    limit = _conf_int(state, "mon_max_pool_pg_num")
    if pg_num > limit:
        raise RadosError(
            f"'pg_num' must be greater than 0 and less than or equal to {limit} (you may "
            "adjust 'mon max pool pg num' for higher values)",
            errno.ERANGE,
        )
    if pgp_num > pg_num or pgp_num <= 0:
        raise InvalidArgument(
            "'pgp_num' must be greater than 0 and lower or equal than 'pg_num', which in "
            f"this case is {pg_num}"
        )
    osdmap = state.osdmap
    num_in = sum(1 for o in range(osdmap.max_osd) if osdmap.is_in(o))
    projected = size * pg_num + sum(p.size * p.pg_num for p in osdmap.pools.values())
    per_osd = _conf_int(state, "mon_max_pg_per_osd")
    # Ceph assumes a cluster of at least 3 OSDs for this check.
    max_pgs = per_osd * max(num_in, 3)
    if projected > max_pgs:
        raise RadosError(
            f"pg_num {pg_num} size {size} would mean {projected} total pgs, which exceeds max "
            f"{max_pgs} (mon_max_pg_per_osd {per_osd} * num_in_osds {max(num_in, 3)})",
            errno.ERANGE,
        )


def _replicated_rule(osdmap: OSDMap, state: MonState, name: str | None) -> int:
    cmap = osdmap.crush
    if name:
        try:
            return cmap.rule_by_name(name).id
        except KeyError:
            raise NotFound(f"specified rule {name} doesn't exist") from None
    wanted = _conf_int(state, "osd_pool_default_crush_rule")
    if wanted >= 0:
        if wanted not in cmap.rules:
            raise NotFound(f"specified rule {wanted} doesn't exist")
        return wanted
    for rule_id in sorted(cmap.rules):
        if cmap.rules[rule_id].type == PoolType.REPLICATED:
            return rule_id
    raise NotFound("no replicated crush rule exists")


def apply_pool_create(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["pool"]
    if any(p.name == name for p in state.osdmap.pools.values()):
        return unchanged(f"pool '{name}' already exists")
    erasure = cmd.get("pool_type") == "erasure"
    pg_num = cmd.get("pg_num") or _conf_int(state, "osd_pool_default_pg_num")
    pgp_num = cmd.get("pgp_num") or pg_num
    # An erasure pool may bring its own CRUSH rule.
    osdmap = state.begin_osdmap(cmd, crush=erasure)
    if erasure:
        pool_args = _erasure_pool_args(osdmap, cmd, name)
    else:
        # For a replicated pool Ceph reads the fifth word as the rule's name.
        rule_name = cmd.get("rule") or cmd.get("erasure_code_profile")
        size = cmd.get("size") or _conf_int(state, "osd_pool_default_size")
        min_default = _conf_int(state, "osd_pool_default_min_size")
        pool_args = {
            "crush_rule": _replicated_rule(osdmap, state, rule_name),
            "size": size,
            "min_size": min(min_default, size) if min_default else default_min_size(size),
        }
    _check_pg_num(state, pg_num, pgp_num, pool_args["size"])
    pool = osdmap.add_pool(
        name,
        pg_num,
        pgp_num,
        autoscale_mode=cmd.get("autoscale_mode")
        or options.resolve(state.config, "mon", "osd_pool_default_pg_autoscale_mode"),
        **pool_args,
    )
    pool.last_change = osdmap.epoch + 1
    state.pool_extras[pool.id] = PoolExtras(create_time=stamp)
    state.commit_osdmap(osdmap, stamp)
    return done(f"pool '{name}' created")


def _erasure_pool_args(osdmap: OSDMap, cmd: dict, name: str) -> dict[str, Any]:
    profile_name = cmd.get("erasure_code_profile") or "default"
    profile = osdmap.erasure_code_profiles.get(profile_name, {})
    rule_name = cmd.get("rule") or ("erasure-code" if profile_name == "default" else name)
    try:
        rule_id = osdmap.crush.rule_by_name(rule_name).id
    except KeyError:
        rule = erasure_rule(osdmap.crush, rule_name, profile)
        osdmap.crush.rules[rule.id] = rule
        osdmap.crush_version += 1
        rule_id = rule.id
    size = chunk_count(profile)
    m = int(profile.get("m", "1"))
    k = size - m
    return {
        "pool_type": PoolType.ERASURE,
        "crush_rule": rule_id,
        "size": k + m,
        "min_size": k + min(1, m - 1),
        "erasure_code_profile": profile_name,
        "stripe_width": k * _STRIPE_UNIT,
    }


# -- delete / rename ---------------------------------------------------------------------


def apply_pool_delete(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["pool"]
    if not any(p.name == name for p in state.osdmap.pools.values()):
        return unchanged(f"pool '{name}' does not exist")
    if cmd.get("pool2") != name or not cmd.get("yes_i_really_really_mean_it"):
        raise RadosError(_DELETE_WARNING.format(name), errno.EPERM)
    if not options.resolve_bool(state.config, "mon", "mon_allow_pool_delete"):
        raise RadosError(_DELETE_DISABLED, errno.EPERM)
    osdmap = state.begin_osdmap(cmd)
    pool = _pool(osdmap, name)
    if pool.has_flag(PoolFlag.NODELETE):
        raise RadosError(
            "pool deletion is disabled; you must unset nodelete flag for the pool first",
            errno.EPERM,
        )
    del osdmap.pools[pool.id]
    for table in (osdmap.pg_temp, osdmap.primary_temp, osdmap.pg_upmap, osdmap.pg_upmap_items):
        for pg in [pg for pg in table if pg.pool == pool.id]:
            del table[pg]
    state.pool_extras.pop(pool.id, None)
    state.commit_osdmap(osdmap, stamp)
    return done(f"pool '{name}' removed")


def apply_pool_rename(state: MonState, cmd: dict, stamp: float) -> Outcome:
    src, dst = cmd["srcpool"], cmd["destpool"]
    names = {p.name for p in state.osdmap.pools.values()}
    if src not in names:
        if dst in names:
            return unchanged(
                f"pool '{src}' does not exist; pool '{dst}' does -- assuming successful rename"
            )
        raise NotFound(f"unrecognized pool '{src}'")
    if dst in names:
        raise RadosError(f"pool '{dst}' already exists", errno.EEXIST)
    osdmap, pool = _pool_change(state, cmd, src)
    pool.name = dst
    state.commit_osdmap(osdmap, stamp)
    return done(f"pool '{src}' renamed to '{dst}'")


# -- get / set -------------------------------------------------------------------------------


def _get_values(osdmap: OSDMap, pool: Pool, var: str) -> dict[str, Any]:
    if var in _FLAG_VARS:
        return {var: pool.has_flag(_FLAG_VARS[var])}
    if var == "crush_rule":
        rule = osdmap.crush.rules.get(pool.crush_rule)
        return {var: rule.name if rule else str(pool.crush_rule)}
    if var == "erasure_code_profile":
        if not pool.is_erasure:
            raise RadosError(
                "option 'erasure_code_profile' is not available for pool type replicated",
                errno.EACCES,
            )
        return {var: pool.erasure_code_profile}
    attr = {"pgp_num": "pgp_num", "pg_autoscale_mode": "autoscale_mode"}.get(var, var)
    return {var: getattr(pool, attr)}


def pool_get(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    osdmap = state.osdmap
    pool = _pool(osdmap, cmd["pool"])
    var = cmd["var"]
    names = _GET_VARS.split("|") if var == "all" else [var]
    values: dict[str, Any] = {}
    for name in names:
        if var == "all" and name == "erasure_code_profile" and not pool.is_erasure:
            continue
        values.update(_get_values(osdmap, pool, name))
    if cmd["format"] != "plain":
        return reply(
            outbuf=dump_json({"pool": pool.name, "pool_id": pool.id, **values}, cmd["format"])
        )
    text = "".join(f"{k}: {_plain(v)}\n" for k, v in values.items())
    return reply(outbuf=text)


def _plain(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _int_value(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(
            f"error parsing integer value '{text}': Expected option value to be integer, "
            f"got '{text}'"
        ) from None


def _set_size(pool: Pool, val: str, cmd: dict) -> None:
    if pool.is_erasure:
        raise RadosError("can not change the size of an erasure-coded pool", errno.ENOTSUP)
    if pool.has_flag(PoolFlag.NOSIZECHANGE):
        raise RadosError(
            "pool size change is disabled; you must unset nosizechange flag for the pool first",
            errno.EPERM,
        )
    n = _int_value(val)
    if not 1 <= n <= 10:
        raise InvalidArgument("pool size must be between 1 and 10")
    pool.size = n
    pool.min_size = min(pool.min_size, n)


def _set_min_size(pool: Pool, val: str, cmd: dict) -> None:
    n = _int_value(val)
    if not 1 <= n <= pool.size:
        raise InvalidArgument(
            f"pool min_size must be between 1 and size, which is set to {pool.size}"
        )
    pool.min_size = n


def _set_pg_num(pool: Pool, val: str, cmd: dict) -> None:
    if pool.has_flag(PoolFlag.NOPGCHANGE):
        raise RadosError(
            "pool pg_num change is disabled; you must unset nopgchange flag for the pool first",
            errno.EPERM,
        )
    n = _int_value(val)
    if n < pool.pg_num:
        raise InvalidArgument(f"specified pg_num {n} <= current {pool.pg_num}")
    if n > options.resolve_int(cmd["_config"], "mon", "mon_max_pool_pg_num"):
        raise RadosError(f"specified pg_num {n} is too large", errno.ERANGE)
    pool.pg_num = n


def _set_pgp_num(pool: Pool, val: str, cmd: dict) -> None:
    n = _int_value(val)
    if n <= 0:
        raise InvalidArgument(f"specified pgp_num must > 0, but you set to {n}")
    if n > pool.pg_num:
        raise InvalidArgument(f"specified pgp_num {n} > pg_num {pool.pg_num}")
    pool.pgp_num = n


def _set_autoscale(pool: Pool, val: str, cmd: dict) -> None:
    if val not in ("on", "off", "warn"):
        raise InvalidArgument(f"specified invalid mode {val}")
    pool.autoscale_mode = val


def _set_flag(pool: Pool, var: str, val: str, cmd: dict) -> None:
    lowered = val.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise InvalidArgument("expecting value 'true', 'false', '0', or '1'")
    on = lowered in ("true", "1")
    remaps = var == "hashpspool" and on != pool.has_flag(PoolFlag.HASHPSPOOL)
    if remaps and not cmd.get("yes_i_really_mean_it"):
        raise RadosError(
            "are you SURE?  this will remap all placement groups in this pool, this "
            "triggers large data movement, pass --yes-i-really-mean-it if you really do.",
            errno.EPERM,
        )
    if on:
        pool.set_flag(_FLAG_VARS[var])
    else:
        pool.unset_flag(_FLAG_VARS[var])


_SETTERS = {
    "size": _set_size,
    "min_size": _set_min_size,
    "pg_num": _set_pg_num,
    "pgp_num": _set_pgp_num,
    "pg_autoscale_mode": _set_autoscale,
}


def apply_pool_set(state: MonState, cmd: dict, stamp: float) -> Outcome:
    var, val = cmd["var"], cmd["val"]
    osdmap, pool = _pool_change(state, cmd, cmd["pool"])
    before = pool.to_dict()
    if var == "crush_rule":
        _set_rule(osdmap, pool, val)
    elif var in _FLAG_VARS:
        _set_flag(pool, var, val, cmd)
    else:
        _SETTERS[var](pool, val, {**cmd, "_config": state.config})
    message = f"set pool {pool.id} {var} to {val}"
    after = pool.to_dict()
    before["last_change"] = after["last_change"]
    if before == after:
        return unchanged(message)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def _set_rule(osdmap: OSDMap, pool: Pool, val: str) -> None:
    try:
        rule = osdmap.crush.rule_by_name(val)
    except KeyError:
        raise NotFound(f"crush rule {val} does not exist") from None
    if rule.type != pool.type:
        raise InvalidArgument(f"crush rule {rule.id} type does not match pool")
    pool.crush_rule = rule.id


# -- quota, snaps, applications -------------------------------------------------------------


def apply_set_quota(state: MonState, cmd: dict, stamp: float) -> Outcome:
    field, val = cmd["field"], cmd["val"]
    try:
        n = options.parse_size(val)
    except ValueError:
        raise InvalidArgument(
            f"error parsing value '{val}': strict_iecstrtoll: illegal prefix (length > 2)"
        ) from None
    if n < 0:
        raise InvalidArgument(f"error parsing value '{val}': value must be >= 0")
    osdmap, pool = _pool_change(state, cmd, cmd["pool"])
    message = f"set-quota {field} = {n} for pool {pool.name}"
    attr = "quota_max_objects" if field == "max_objects" else "quota_max_bytes"
    if getattr(pool, attr) == n:
        return unchanged(message)
    setattr(pool, attr, n)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def get_quota(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """`osd pool get-quota`: the quotas beside the pool's current usage (PG stats)."""
    pool = _pool(state.osdmap, cmd["pool"])
    usage = ctx.pgmap.pool_stats().get(pool.id, PoolStats())
    if cmd["format"] != "plain":
        body = {
            "pool_name": pool.name,
            "pool_id": pool.id,
            "quota_max_objects": pool.quota_max_objects,
            "current_num_objects": usage.num_objects,
            "quota_max_bytes": pool.quota_max_bytes,
            "current_num_bytes": usage.num_bytes,
        }
        return reply(outbuf=dump_json(body, cmd["format"]))
    objects = "N/A"
    if pool.quota_max_objects:
        objects = (
            f"{si_u(pool.quota_max_objects)} objects"
            f"  (current num objects: {usage.num_objects} objects)"
        )
    size = "N/A"
    if pool.quota_max_bytes:
        size = f"{byte_u(pool.quota_max_bytes)}  (current num bytes: {usage.num_bytes} bytes)"
    text = f"quotas for pool '{pool.name}':\n  max objects: {objects}\n  max bytes  : {size}\n"
    return reply(outbuf=text)


def apply_mksnap(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name, snap = cmd["pool"], cmd["snap"]
    pool = _pool(state.osdmap, name)
    extras = state.pool_extras.get(pool.id, PoolExtras())
    if pool.has_flag(PoolFlag.SELFMANAGED_SNAPS):
        raise InvalidArgument(f"pool {name} is in unmanaged snaps mode")
    if any(s.name == snap for s in extras.snaps.values()):
        return unchanged(f"pool {name} snap {snap} already exists")
    osdmap, pool = _pool_change(state, cmd, name)
    pool.set_flag(PoolFlag.POOL_SNAPS)
    extras = state.pool_extras.setdefault(pool.id, extras)
    extras.snap_seq += 1
    extras.snap_epoch = osdmap.epoch + 1
    extras.snaps[extras.snap_seq] = PoolSnap(snap, stamp)
    state.commit_osdmap(osdmap, stamp)
    return done(f"created pool {name} snap {snap}")


def apply_rmsnap(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name, snap = cmd["pool"], cmd["snap"]
    pool = _pool(state.osdmap, name)
    extras = state.pool_extras.get(pool.id, PoolExtras())
    sid = next((i for i, s in extras.snaps.items() if s.name == snap), None)
    if sid is None:
        return unchanged(f"pool {name} snap {snap} does not exist")
    osdmap, pool = _pool_change(state, cmd, name)
    del extras.snaps[sid]
    # Removing a snapshot takes a new snap id too (`pg_pool_t::remove_snap`).
    extras.snap_seq += 1
    extras.snap_epoch = osdmap.epoch + 1
    extras.removed_snaps = sorted({*extras.removed_snaps, sid})
    state.commit_osdmap(osdmap, stamp)
    return done(f"removed pool {name} snap {snap}")


def apply_selfmanaged_create(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """A new self-managed snap id (Ceph's `POOL_OP_CREATE_UNMANAGED_SNAP` pool op),
    answered as the outbuf; the pool is in self-managed mode from then on."""
    name = cmd["pool"]
    pool = _pool(state.osdmap, name)
    extras = state.pool_extras.get(pool.id, PoolExtras())
    if pool.has_flag(PoolFlag.POOL_SNAPS) or extras.snaps:
        raise InvalidArgument(f"pool {name} is in pool snaps mode")
    osdmap, pool = _pool_change(state, cmd, name)
    pool.set_flag(PoolFlag.SELFMANAGED_SNAPS)
    extras = state.pool_extras.setdefault(pool.id, extras)
    extras.snap_seq += 1
    extras.snap_epoch = osdmap.epoch + 1
    state.commit_osdmap(osdmap, stamp)
    return done(f"created pool {name} selfmanaged snap {extras.snap_seq}", str(extras.snap_seq))


def apply_selfmanaged_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """Remove self-managed snap `snapid` (`POOL_OP_DELETE_UNMANAGED_SNAP`): the OSDs
    trim its clones. Removing a removed snap is a no-op; an id never handed out, ENOENT."""
    name, snapid = cmd["pool"], cmd["snapid"]
    pool = _pool(state.osdmap, name)
    extras = state.pool_extras.get(pool.id, PoolExtras())
    if pool.has_flag(PoolFlag.POOL_SNAPS) or extras.snaps:
        raise InvalidArgument(f"pool {name} is in pool snaps mode")
    if snapid in extras.removed_snaps:
        return unchanged(f"pool {name} selfmanaged snap {snapid} already removed")
    if snapid > extras.snap_seq:
        raise NotFound(f"pool {name} selfmanaged snap {snapid} does not exist")
    osdmap, pool = _pool_change(state, cmd, name)
    pool.set_flag(PoolFlag.SELFMANAGED_SNAPS)
    extras = state.pool_extras.setdefault(pool.id, extras)
    extras.snap_seq += 1
    extras.snap_epoch = osdmap.epoch + 1
    extras.removed_snaps = sorted({*extras.removed_snaps, snapid})
    state.commit_osdmap(osdmap, stamp)
    return done(f"removed pool {name} selfmanaged snap {snapid}")


def apply_app_enable(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name, app = cmd["pool"], cmd["app"]
    pool = _pool(state.osdmap, name)
    message = f"enabled application '{app}' on pool '{name}'"
    if app in pool.application_metadata:
        return unchanged(message)
    if pool.application_metadata and not cmd.get("yes_i_really_mean_it"):
        raise RadosError(
            f"Are you SURE? Pool '{name}' already has an enabled application; pass "
            "--yes-i-really-mean-it to proceed anyway",
            errno.EPERM,
        )
    osdmap, pool = _pool_change(state, cmd, name)
    pool.application_metadata[app] = {}
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def pool_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    pools = [state.osdmap.pools[pid] for pid in sorted(state.osdmap.pools)]
    detail = cmd.get("detail") == "detail"
    fmt = cmd["format"]
    if fmt != "plain":
        if detail:
            body: Any = [pool_json(p, state.pool_extras.get(p.id), "pool_id") for p in pools]
        else:
            body = [p.name for p in pools]
        return reply(outbuf=dump_json(body, fmt))
    if not detail:
        return reply(outbuf="".join(p.name + "\n" for p in pools))
    lines = [line for p in pools for line in pool_lines(p, state.pool_extras.get(p.id))]
    return reply(outbuf="".join(line + "\n" for line in lines) + "\n")


# -- erasure-code profiles ------------------------------------------------------------------


def _parse_profile(words: list[str]) -> dict[str, str]:
    profile: dict[str, str] = {}
    for word in words:
        key, _, value = word.partition("=")
        profile[key] = value
    plugin = profile.setdefault("plugin", "jerasure")
    if plugin == "jerasure":
        for key, default in _JERASURE_DEFAULTS.items():
            profile.setdefault(key, default)
    for key, default in (("k", "2"), ("m", "1")):
        if key in profile and not profile[key].lstrip("-").isdigit():
            raise InvalidArgument(
                f"could not convert {key}={profile[key]} to int because Expected option value "
                f"to be integer, got '{profile[key]}', set to default {default}"
            )
    if int(profile.get("k", "2")) < 2 or int(profile.get("m", "1")) < 1:
        raise InvalidArgument("k must be >= 2 and m must be >= 1")
    return dict(sorted(profile.items()))


def _profile_text(profile: dict[str, str]) -> str:
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(profile.items())) + "}"


def apply_profile_set(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    profile = _parse_profile(cmd.get("profile", []))
    existing = state.osdmap.erasure_code_profiles.get(name)
    if existing == profile:
        return unchanged()
    if existing is not None and not cmd.get("force"):
        raise RadosError(
            f"will not override erasure code profile {name} because the existing profile "
            f"{_profile_text(existing)} is different from the proposed profile "
            f"{_profile_text(profile)}",
            errno.EPERM,
        )
    osdmap = state.begin_osdmap(cmd)
    osdmap.erasure_code_profiles[name] = profile
    state.commit_osdmap(osdmap, stamp)
    return done()


def apply_profile_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    if name not in state.osdmap.erasure_code_profiles:
        return unchanged(f"erasure-code-profile {name} does not exist")
    users = [p.name for p in state.osdmap.pools.values() if p.erasure_code_profile == name]
    if users:
        raise RadosError(
            f"{','.join(users)} pool(s) are using the erasure code profile '{name}'",
            errno.EBUSY,
        )
    osdmap = state.begin_osdmap(cmd)
    del osdmap.erasure_code_profiles[name]
    state.commit_osdmap(osdmap, stamp)
    return done()


def profile_get(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    name = cmd["name"]
    profile = state.osdmap.erasure_code_profiles.get(name)
    if profile is None:
        raise NotFound(f"unknown erasure code profile '{name}'")
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(dict(sorted(profile.items())), cmd["format"]))
    return reply(outbuf="".join(f"{k}={v}\n" for k, v in sorted(profile.items())))


def profile_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    names = sorted(state.osdmap.erasure_code_profiles)
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(names, cmd["format"]))
    return reply(outbuf="".join(n + "\n" for n in names))


_POOL = "name=pool,type=CephPoolname"
_CONFIRM = "name=yes_i_really_mean_it,type=CephBool,req=false"

COMMANDS: tuple[Command, ...] = (
    Command(
        "osd pool ls name=detail,type=CephChoices,strings=detail,req=false",
        "list pools",
        "osd",
        "r",
        read=pool_ls,
    ),
    Command(
        f"osd pool create {_POOL} name=pg_num,type=CephInt,range=0,req=false "
        "name=pgp_num,type=CephInt,range=0,req=false "
        "name=pool_type,type=CephChoices,strings=replicated|erasure,req=false "
        "name=erasure_code_profile,type=CephString,req=false,goodchars=[A-Za-z0-9-_.] "
        "name=rule,type=CephString,req=false "
        "name=expected_num_objects,type=CephInt,range=0,req=false "
        "name=size,type=CephInt,range=0,req=false "
        "name=autoscale_mode,type=CephChoices,strings=on|off|warn,req=false",
        "create pool",
        "osd",
        "rw",
        apply=apply_pool_create,
    ),
    *(
        Command(
            f"osd pool {verb} {_POOL} name=pool2,type=CephPoolname,req=false "
            "name=yes_i_really_really_mean_it,type=CephBool,req=false "
            "name=yes_i_really_really_mean_it_not_faking,type=CephBool,req=false",
            f"{'delete' if verb == 'delete' else 'remove'} pool",
            "osd",
            "rw",
            apply=apply_pool_delete,
        )
        for verb in ("delete", "rm")
    ),
    Command(
        "osd pool rename name=srcpool,type=CephPoolname name=destpool,type=CephPoolname "
        f"{_CONFIRM}",
        "rename <srcpool> to <destpool>",
        "osd",
        "rw",
        apply=apply_pool_rename,
    ),
    Command(
        f"osd pool get {_POOL} name=var,type=CephChoices,strings=all|{_GET_VARS}",
        "get pool parameter <var>",
        "osd",
        "r",
        read=pool_get,
    ),
    Command(
        f"osd pool set {_POOL} name=var,type=CephChoices,strings={_SET_VARS} "
        f"name=val,type=CephString {_CONFIRM}",
        "set pool parameter <var> to <val>",
        "osd",
        "rw",
        apply=apply_pool_set,
    ),
    Command(
        f"osd pool set-quota {_POOL} "
        "name=field,type=CephChoices,strings=max_objects|max_bytes name=val,type=CephString",
        "set object or byte limit on pool",
        "osd",
        "rw",
        apply=apply_set_quota,
    ),
    Command(
        f"osd pool get-quota {_POOL}",
        "obtain object or byte limits for pool",
        "osd",
        "r",
        read=get_quota,
    ),
    Command(
        f"osd pool mksnap {_POOL} name=snap,type=CephString",
        "make snapshot <snap> in <pool>",
        "osd",
        "rw",
        apply=apply_mksnap,
    ),
    Command(
        f"osd pool rmsnap {_POOL} name=snap,type=CephString",
        "remove snapshot <snap> from <pool>",
        "osd",
        "rw",
        apply=apply_rmsnap,
    ),
    # Ceph allocates and removes self-managed snaps with pool ops (MPoolOp); radospy
    # has no pool ops, so librados' selfmanaged_snap_create/remove use these.
    Command(
        f"osd pool selfmanaged-snap create {_POOL}",
        "allocate a self-managed snapshot id in <pool>",
        "osd",
        "rw",
        apply=apply_selfmanaged_create,
    ),
    Command(
        f"osd pool selfmanaged-snap rm {_POOL} name=snapid,type=CephInt,range=1",
        "remove self-managed snapshot <snapid> from <pool>",
        "osd",
        "rw",
        apply=apply_selfmanaged_rm,
    ),
    Command(
        f"osd pool application enable {_POOL} "
        f"name=app,type=CephString,goodchars=[A-Za-z0-9-_.] {_CONFIRM}",
        "enable use of an application <app> [cephfs,rbd,rgw] on pool <poolname>",
        "osd",
        "rw",
        apply=apply_app_enable,
    ),
    Command(
        "osd erasure-code-profile set name=name,type=CephString,goodchars=[A-Za-z0-9-_.] "
        "name=profile,type=CephString,n=N,req=false name=force,type=CephBool,req=false "
        f"{_CONFIRM}",
        "create erasure code profile <name> with [<key[=value]> ...] pairs. Add a --force at "
        "the end to override an existing profile (VERY DANGEROUS)",
        "osd",
        "rw",
        apply=apply_profile_set,
    ),
    Command(
        "osd erasure-code-profile get name=name,type=CephString,goodchars=[A-Za-z0-9-_.]",
        "get erasure code profile <name>",
        "osd",
        "r",
        read=profile_get,
    ),
    Command(
        "osd erasure-code-profile rm name=name,type=CephString,goodchars=[A-Za-z0-9-_.]",
        "remove erasure code profile <name>",
        "osd",
        "rw",
        apply=apply_profile_rm,
    ),
    Command(
        "osd erasure-code-profile ls",
        "list all erasure code profiles",
        "osd",
        "r",
        read=profile_ls,
    ),
)
