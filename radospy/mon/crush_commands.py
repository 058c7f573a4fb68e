"""`ceph osd crush ...`: live CRUSH edits, tunables and rules (OSDMonitor.cc wording).

Every change bumps `crush_version` and makes a new OSDMap epoch. Locations are
`TYPE=NAME` words, printed as Ceph prints a `std::map` (`{host=h0,root=default}`).
"""

from __future__ import annotations

import errno
from typing import Any

from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.crush import builder, classes, edit, treedump
from radospy.crush.dump import _dump_rule, to_dump
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    LEGACY_ALLOWED_BUCKET_ALGS,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    RuleType,
)
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
from radospy.mon.osd_commands import osd_ids
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import OSDMap

_NAME = "goodchars=[A-Za-z0-9-_.]"
_LOC = "name=args,type=CephString,n=N,goodchars=[A-Za-z0-9-_.=]"

TUNABLE_PROFILES: dict[str, tuple[int, ...]] = {
    # choose_local_tries, choose_local_fallback_tries, choose_total_tries,
    # chooseleaf_descend_once, chooseleaf_vary_r, chooseleaf_stable, allowed_bucket_algs
    "argonaut": (2, 5, 19, 0, 0, 0, LEGACY_ALLOWED_BUCKET_ALGS),
    "bobtail": (0, 0, 50, 1, 0, 0, LEGACY_ALLOWED_BUCKET_ALGS),
    "firefly": (0, 0, 50, 1, 1, 0, LEGACY_ALLOWED_BUCKET_ALGS),
    "hammer": (0, 0, 50, 1, 1, 0, ALL_BUCKET_ALGS),
    "jewel": (0, 0, 50, 1, 1, 1, ALL_BUCKET_ALGS),
}
_PROFILE_ALIASES = {"legacy": "argonaut", "optimal": "jewel", "default": "jewel"}


# -- locations and links ------------------------------------------------------------------


def parse_location(cmap: CrushMap, words: list[str]) -> dict[str, str]:
    """`TYPE=NAME` words to a location sorted by type name (how Ceph prints it)."""
    loc: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key or not value:
            raise InvalidArgument(f"unable to parse location '{word}'")
        loc[key] = value
    for type_name in loc:
        try:
            cmap.type_id(type_name)
        except KeyError:
            raise InvalidArgument(f"unknown crush type '{type_name}'") from None
    return dict(sorted(loc.items()))


def loc_text(loc: dict[str, str]) -> str:
    return "{" + ",".join(f"{k}={v}" for k, v in loc.items()) + "}"


def _bucket_named(cmap: CrushMap, name: str) -> Bucket | None:
    return next((b for b in cmap.buckets.values() if b.name == name), None)


def _item_type(cmap: CrushMap, item: int) -> int:
    return 0 if item >= 0 else cmap.buckets[item].type_id


def _levels(cmap: CrushMap, loc: dict[str, str], above: int) -> list[tuple[int, str]]:
    return sorted((cmap.type_id(t), n) for t, n in loc.items() if cmap.type_id(t) > above)


def is_at(cmap: CrushMap, item: int, loc: dict[str, str]) -> bool:
    """`check_item_loc`: the item sits directly in the lowest bucket the location names."""
    levels = _levels(cmap, loc, _item_type(cmap, item))
    if not levels:
        return False
    bucket = _bucket_named(cmap, levels[0][1])
    return bucket is not None and item in bucket.items


def link_at(cmap: CrushMap, item: int, weight: int, loc: dict[str, str]) -> None:
    """Add `item` with `weight` under the location, creating the buckets it names and the
    map lacks (straw2) up to the first existing one (`CrushWrapper::insert_item`)."""
    levels = _levels(cmap, loc, _item_type(cmap, item))
    if not levels:
        raise InvalidArgument(f"location {loc_text(loc)} names no bucket above the item")
    edit.check_linkable(cmap, item, levels)
    edit.link_item(cmap, item, weight, levels)
    edit.rebuild_shadow_trees(cmap)


def unlink(cmap: CrushMap, item: int, within: int | None = None) -> bool:
    """Take `item` out of every bucket (or every bucket under `within`); True if it was
    linked anywhere."""
    found = edit.unlink_item(cmap, item, _subtree(cmap, within) if within is not None else None)
    edit.rebuild_shadow_trees(cmap)
    return found


def _subtree(cmap: CrushMap, root: int) -> set[int]:
    out, stack = set(), [root]
    while stack:
        bucket_id = stack.pop()
        if bucket_id in out or bucket_id not in cmap.buckets:
            continue
        out.add(bucket_id)
        stack += [i for i in cmap.buckets[bucket_id].items if i < 0]
    return out


def _linked_weight(cmap: CrushMap, item: int) -> int:
    for bucket in cmap.buckets.values():
        if item in bucket.items:
            return bucket.item_weights[bucket.items.index(item)]
    return cmap.buckets[item].weight if item < 0 else 0


def _lookup(cmap: CrushMap, name: str) -> int | None:
    try:
        item = cmap.id_of(name)
    except KeyError:
        return None
    return None if item < 0 and cmap.is_shadow(item) else item


def _crush_change(state: MonState, cmd: dict) -> OSDMap:
    osdmap = state.begin_osdmap(cmd, crush=True)
    osdmap.crush_version += 1
    return osdmap


def _fixed(weight: float) -> int:
    return int(weight * WEIGHT_ONE)


# -- devices ---------------------------------------------------------------------------------


def _apply_add_or_set(state: MonState, cmd: dict, stamp: float, action: str) -> Outcome:
    osd, weight = cmd["id"], cmd["weight"]
    name = f"osd.{osd}"
    if not state.osdmap.exists(osd):
        raise NotFound(f"{name} does not exist. Create it before updating the crush map")
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    loc = parse_location(cmap, cmd["args"])
    what = f"item id {osd} name '{name}' weight {weight:g} at location {loc_text(loc)}"
    known = osd in cmap.device_names
    if action == "set" and not known:
        raise NotFound(f"unable to set {what}: does not exist")
    if known and is_at(cmap, osd, loc):
        if _linked_weight(cmap, osd) == _fixed(weight):
            return unchanged(f"set {what}: no change")
        edit.reweight_item(cmap, osd, _fixed(weight))
        action = "set"
    elif known:
        unlink(cmap, osd)
        link_at(cmap, osd, _fixed(weight), loc)
        action = "set"
    else:
        edit.insert_device(cmap, osd, _fixed(weight), loc)
    state.commit_osdmap(osdmap, stamp)
    return done(f"{action} {what} to crush map")


def apply_crush_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    item = _lookup(state.osdmap.crush, name)
    if item is None:
        return unchanged(f"device '{name}' does not appear in the crush map")
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    ancestor = cmd.get("ancestor")
    if ancestor is not None:
        under = _lookup(cmap, ancestor)
        if under is None or under >= 0:
            raise NotFound(f"ancestor item '{ancestor}' does not appear in the crush map")
        if not unlink(cmap, item, under):
            return unchanged(f"device '{name}' does not appear under '{ancestor}'")
    else:
        if item < 0 and cmap.buckets[item].items:
            raise RadosError("(39) Directory not empty", errno.ENOTEMPTY)
        edit.remove_item(cmap, item)
    state.commit_osdmap(osdmap, stamp)
    return done(f"removed item id {item} name '{name}' from crush map")


def apply_crush_reweight(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name, weight = cmd["name"], cmd["weight"]
    item = _lookup(state.osdmap.crush, name)
    if item is None:
        raise NotFound(f"device '{name}' does not appear in the crush map")
    if item < 0:
        raise InvalidArgument(f"device '{name}' is not a leaf in the crush map")
    osdmap = _crush_change(state, cmd)
    message = f"reweighted item id {item} name '{name}' to {weight:g} in crush map"
    if _linked_weight(osdmap.crush, item) == _fixed(weight):
        return unchanged(message)
    edit.reweight_item(osdmap.crush, item, _fixed(weight))
    state.commit_osdmap(osdmap, stamp)
    return done(message)


# -- device classes --------------------------------------------------------------------------


def apply_set_device_class(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd crush set-device-class CLASS IDS` (`CrushWrapper::update_device_class`)."""
    class_name = cmd["class"]
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    wildcard = bool(cmd["ids"]) and cmd["ids"][0] in ("any", "all", "*")
    notes: list[str] = []
    updated: list[int] = []
    for osd in osd_ids(osdmap, cmd["ids"], lambda m, o: True):
        if not osdmap.exists(osd):
            notes.append(f"osd.{osd} does not exist. ")
            continue
        name = f"osd.{osd}"
        old = cmap.device_classes.get(osd)
        if old is not None and cmap.class_names[old] != class_name:
            raise RadosError(
                f"osd.{osd} has already bound to class '{cmap.class_names[old]}', can not "
                f"reset class to '{class_name}'; use 'ceph osd crush rm-device-class <id>' "
                "to remove old class first",
                errno.EBUSY,
            )
        if old is not None:
            notes.append(f"{name} already set to class {class_name}. ")
            if not wildcard:
                notes.append(
                    f"set-device-class item id {osd} name '{name}' device_class "
                    f"'{class_name}': no change. "
                )
            continue
        cmap.max_devices = max(cmap.max_devices, osd + 1)
        cmap.device_names.setdefault(osd, name)
        cmap.device_classes[osd] = classes.get_or_create_class_id(cmap, class_name)
        updated.append(osd)
    message = "".join(notes) + f"set osd(s) {_id_set(updated)} to class '{class_name}'"
    if not updated:
        return unchanged(message)
    edit.rebuild_shadow_trees(cmap)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def apply_rm_device_class(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """`osd crush rm-device-class IDS`: the class names stay (`class ls` still lists them)."""
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    notes: list[str] = []
    updated: list[int] = []
    for osd in osd_ids(osdmap, cmd["ids"], lambda m, o: True):
        if not osdmap.exists(osd):
            notes.append(f"osd.{osd} does not exist. ")
        elif osd not in cmap.device_classes:
            notes.append(f"osd.{osd} belongs to no class, ")
        else:
            del cmap.device_classes[osd]
            updated.append(osd)
    message = "".join(notes) + f"done removing class of osd(s): {_id_set(updated)}"
    if not updated:
        return unchanged(message)
    edit.rebuild_shadow_trees(cmap)
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def _id_set(ids: list[int]) -> str:
    """A `std::set<int>` as Ceph prints it: sorted, comma-separated."""
    return ",".join(str(i) for i in sorted(set(ids)))


def class_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """`osd crush class ls`: class names by class id, json-pretty unless told otherwise."""
    cmap = state.osdmap.crush
    names = [cmap.class_names[c] for c in sorted(cmap.class_names)]
    return reply(outbuf=dump_json(names, _pretty_default(cmd)))


def class_ls_osd(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    """`osd crush class ls-osd CLASS`: the devices of that class (none for an unknown one)."""
    cmap = state.osdmap.crush
    osds = sorted(
        osd
        for osd, class_id in cmap.device_classes.items()
        if osd >= 0 and cmap.class_names.get(class_id) == cmd["class"]
    )
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(osds, cmd["format"]))
    return reply(outbuf="".join(f"{osd}\n" for osd in osds))


# -- buckets ---------------------------------------------------------------------------------


def apply_add_bucket(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name, type_name = cmd["name"], cmd["type"]
    cmap = state.osdmap.crush
    if _lookup(cmap, name) is not None:
        return unchanged(f"bucket '{name}' already exists")
    try:
        type_id = cmap.type_id(type_name)
    except KeyError:
        raise InvalidArgument(f"type '{type_name}' does not exist") from None
    if type_id == 0:
        raise InvalidArgument(f"type '{type_name}' is the device type")
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    loc = parse_location(cmap, cmd.get("args", []))
    bucket = Bucket(id=0, name=name, type_id=type_id, alg=BucketAlg.STRAW2)
    builder.derive(bucket, cmap.tunables.straw_calc_version)
    bucket.id = classes.add_bucket_slot(cmap, 0)
    cmap.buckets[bucket.id] = bucket
    if loc:
        link_at(cmap, bucket.id, 0, loc)
        message = f"added bucket {name} type {type_name} to location {loc_text(loc)}"
    else:
        edit.rebuild_shadow_trees(cmap)
        message = f"added bucket {name} type {type_name} to crush map"
    state.commit_osdmap(osdmap, stamp)
    return done(message)


def _apply_move_or_link(state: MonState, cmd: dict, stamp: float, verb: str) -> Outcome:
    name = cmd["name"]
    item = _lookup(state.osdmap.crush, name)
    if item is None:
        raise NotFound(f"item {name} does not exist")
    if verb == "moved" and item >= 0:
        raise InvalidArgument(f"{name} is a device; use 'osd crush set' to move it")
    osdmap = _crush_change(state, cmd)
    cmap = osdmap.crush
    loc = parse_location(cmap, cmd["args"])
    where = f"item id {item} name '{name}' to location {loc_text(loc)} in crush map"
    if is_at(cmap, item, loc):
        return unchanged(f"no need to move {where}")
    weight = _linked_weight(cmap, item)
    if verb == "moved":
        unlink(cmap, item)
    link_at(cmap, item, weight, loc)
    state.commit_osdmap(osdmap, stamp)
    return done(f"{verb} {where}")


# -- tunables ------------------------------------------------------------------------------


def apply_tunables(state: MonState, cmd: dict, stamp: float) -> Outcome:
    profile = cmd["profile"]
    values = TUNABLE_PROFILES[_PROFILE_ALIASES.get(profile, profile)]
    osdmap = _crush_change(state, cmd)
    t = osdmap.crush.tunables
    (
        t.choose_local_tries,
        t.choose_local_fallback_tries,
        t.choose_total_tries,
        t.chooseleaf_descend_once,
        t.chooseleaf_vary_r,
        t.chooseleaf_stable,
        t.allowed_bucket_algs,
    ) = values
    if profile in ("legacy", "argonaut"):
        t.straw_calc_version = 0
    edit.rebuild_shadow_trees(osdmap.crush)
    state.commit_osdmap(osdmap, stamp)
    return done(f"adjusted tunables profile to {profile}")


# -- rules -----------------------------------------------------------------------------------


def _free_rule_id(cmap: CrushMap) -> int:
    return next(i for i in range(len(cmap.rules) + 1) if i not in cmap.rules)


def _take_item(cmap: CrushMap, root: str, device_class: str) -> int:
    item = _lookup(cmap, root)
    if item is None:
        raise NotFound(f"root item {root} does not exist")
    if not device_class:
        return item
    try:
        class_id = cmap.class_id(device_class)
    except KeyError:
        raise InvalidArgument(f"device class {device_class} does not exist") from None
    shadow = cmap.class_buckets.get(item, {}).get(class_id)
    if shadow is None:
        raise InvalidArgument(f"root item {root} has no devices of class {device_class}")
    return shadow


def simple_rule(
    cmap: CrushMap, name: str, root: str, type_name: str, device_class: str, mode: str
) -> Rule:
    """`CrushWrapper::add_simple_rule`: take ROOT [class], choose(leaf) firstn|indep 0
    across TYPE, emit; indep rules first raise the tries as Ceph's EC rules do."""
    take = _take_item(cmap, root, device_class)
    try:
        type_id = cmap.type_id(type_name)
    except KeyError:
        raise InvalidArgument(f"unknown type {type_name}") from None
    firstn = mode == "firstn"
    if type_id == 0:
        choose = Op.CHOOSE_FIRSTN if firstn else Op.CHOOSE_INDEP
    else:
        choose = Op.CHOOSELEAF_FIRSTN if firstn else Op.CHOOSELEAF_INDEP
    steps = (
        [] if firstn else [RuleStep(Op.SET_CHOOSELEAF_TRIES, 5), RuleStep(Op.SET_CHOOSE_TRIES, 100)]
    )
    steps += [RuleStep(Op.TAKE, take), RuleStep(choose, 0, type_id), RuleStep(Op.EMIT)]
    return Rule(
        id=_free_rule_id(cmap),
        name=name,
        type=RuleType.REPLICATED if firstn else RuleType.ERASURE,
        min_size=1 if firstn else 3,
        max_size=10 if firstn else 20,
        steps=steps,
    )


def _rule_named(cmap: CrushMap, name: str) -> Rule | None:
    try:
        return cmap.rule_by_name(name)
    except KeyError:
        return None


def apply_rule_create_replicated(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    if _rule_named(state.osdmap.crush, name) is not None:
        return unchanged(f"rule {name} already exists")
    osdmap = _crush_change(state, cmd)
    rule = simple_rule(osdmap.crush, name, cmd["root"], cmd["type"], cmd.get("class", ""), "firstn")
    osdmap.crush.rules[rule.id] = rule
    state.commit_osdmap(osdmap, stamp)
    return done()


def erasure_rule(cmap: CrushMap, name: str, profile: dict[str, str]) -> Rule:
    """The rule an erasure-code profile asks for (`ErasureCode::create_rule`)."""
    if "plugin" not in profile:
        shown = "{" + ",".join(f"{k}={v}" for k, v in sorted(profile.items())) + "}"
        raise InvalidArgument(
            "cannot determine the erasure code plugin because there is no 'plugin' entry "
            f"in the erasure_code_profile {shown}"
        )
    rule = simple_rule(
        cmap,
        name,
        profile.get("crush-root", "default"),
        profile.get("crush-failure-domain", "host"),
        profile.get("crush-device-class", ""),
        "indep",
    )
    rule.max_size = chunk_count(profile)
    return rule


def chunk_count(profile: dict[str, str]) -> int:
    """k + m of a profile (jerasure's defaults k=2, m=1 when absent)."""
    try:
        return int(profile.get("k", "2")) + int(profile.get("m", "1"))
    except ValueError:
        raise InvalidArgument("k and m of the erasure code profile must be integers") from None


def apply_rule_create_erasure(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    cmap = state.osdmap.crush
    existing = _rule_named(cmap, name)
    if existing is not None:
        return unchanged(f"rule {name} already exists")
    profile = state.osdmap.erasure_code_profiles.get(cmd.get("profile", "default"), {})
    osdmap = _crush_change(state, cmd)
    rule = erasure_rule(osdmap.crush, name, profile)
    osdmap.crush.rules[rule.id] = rule
    state.commit_osdmap(osdmap, stamp)
    return done(f"created rule {name} at {rule.id}")


def apply_rule_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    name = cmd["name"]
    rule = _rule_named(state.osdmap.crush, name)
    if rule is None:
        return unchanged(f"rule {name} does not exist")
    if any(p.crush_rule == rule.id for p in state.osdmap.pools.values()):
        raise RadosError(f"crush ruleset {name} {rule.id} is in use", errno.EBUSY)
    osdmap = _crush_change(state, cmd)
    del osdmap.crush.rules[rule.id]
    state.commit_osdmap(osdmap, stamp)
    return done()


# -- reads -----------------------------------------------------------------------------------


def rule_ls(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    names = [state.osdmap.crush.rules[r].name for r in sorted(state.osdmap.crush.rules)]
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(names, cmd["format"]))
    return reply(outbuf="".join(n + "\n" for n in names))


def _pretty_default(cmd: dict) -> str:
    return "json-pretty" if cmd["format"] == "plain" else cmd["format"]


def rule_dump(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    cmap = state.osdmap.crush
    if "name" not in cmd:
        rules: Any = [_dump_rule(cmap, cmap.rules[r]) for r in sorted(cmap.rules)]
        return reply(outbuf=dump_json(rules, _pretty_default(cmd)))
    rule = _rule_named(cmap, cmd["name"])
    if rule is None:
        raise NotFound(f"unknown crush rule '{cmd['name']}'")
    out = dump_json(_dump_rule(cmap, rule), _pretty_default(cmd))
    # Ceph adds a newline after a single rule's dump.
    return reply(outbuf=out + b"\n" if cmd["format"] == "plain" else out)


def crush_dump(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    return reply(outbuf=dump_json(to_dump(state.osdmap.crush), _pretty_default(cmd)))


def crush_tree(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    cmap = state.osdmap.crush
    table = treedump.TextTable(treedump.base_columns(cmap, {}))
    keys = sorted(cmap.choose_args)
    for item in treedump.walk(cmap, show_shadow=bool(cmd.get("show_shadow"))):
        table.add_row(
            [
                str(item.id),
                treedump.class_cell(cmap, item.id),
                treedump.weightf(item.weight),
                *treedump.choose_args_cells(cmap, item, keys),
                treedump.type_name_cell(cmap, item),
            ]
        )
    return reply(outbuf=table.render())


COMMANDS: tuple[Command, ...] = (
    Command("osd crush dump", "dump crush map", "osd", "r", read=crush_dump),
    Command(
        "osd crush tree name=show_shadow,type=CephBool,req=false",
        "dump crush buckets and items in a tree view",
        "osd",
        "r",
        read=crush_tree,
    ),
    Command("osd crush rule ls", "list crush rules", "osd", "r", read=rule_ls),
    Command(
        "osd crush set-device-class name=class,type=CephString,goodchars=[A-Za-z0-9-_] "
        "name=ids,type=CephString,n=N",
        "set the <class> of the osd(s) <id> [<id>...],or use <all|any> to set all.",
        "osd",
        "rw",
        apply=apply_set_device_class,
    ),
    Command(
        "osd crush rm-device-class name=ids,type=CephString,n=N",
        "remove class of the osd(s) <id> [<id>...],or use <all|any> to remove all.",
        "osd",
        "rw",
        apply=apply_rm_device_class,
    ),
    Command("osd crush class ls", "list all crush device classes", "osd", "r", read=class_ls),
    Command(
        "osd crush class ls-osd name=class,type=CephString,goodchars=[A-Za-z0-9-_]",
        "list all osds belonging to the specific <class>",
        "osd",
        "r",
        read=class_ls_osd,
    ),
    Command(
        f"osd crush rule dump name=name,type=CephString,{_NAME},req=false",
        "dump crush rule <name> (default all)",
        "osd",
        "r",
        read=rule_dump,
    ),
    Command(
        f"osd crush add name=id,type=CephOsdName name=weight,type=CephFloat,range=0.0 {_LOC}",
        "add or update crushmap position and weight for <name> with <weight> and location <args>",
        "osd",
        "rw",
        apply=lambda s, c, t: _apply_add_or_set(s, c, t, "add"),
    ),
    Command(
        f"osd crush set name=id,type=CephOsdName name=weight,type=CephFloat,range=0.0 {_LOC}",
        "update crushmap position and weight for <name> to <weight> with location <args>",
        "osd",
        "rw",
        apply=lambda s, c, t: _apply_add_or_set(s, c, t, "set"),
    ),
    *(
        Command(
            f"osd crush {verb} name=name,type=CephString,{_NAME} "
            f"name=ancestor,type=CephString,req=false,{_NAME}",
            "remove <name> from crush map (everywhere, or just at <ancestor>)",
            "osd",
            "rw",
            apply=apply_crush_rm,
        )
        for verb in ("rm", "remove")
    ),
    Command(
        f"osd crush reweight name=name,type=CephString,{_NAME} "
        "name=weight,type=CephFloat,range=0.0",
        "change <name>'s weight to <weight> in crush map",
        "osd",
        "rw",
        apply=apply_crush_reweight,
    ),
    Command(
        f"osd crush add-bucket name=name,type=CephString,{_NAME} name=type,type=CephString "
        "name=args,type=CephString,n=N,goodchars=[A-Za-z0-9-_.=],req=false",
        "add no-parent (probably root) crush bucket <name> of type <type> to location <args>",
        "osd",
        "rw",
        apply=apply_add_bucket,
    ),
    Command(
        f"osd crush move name=name,type=CephString,{_NAME} {_LOC}",
        "move existing entry for <name> to location <args>",
        "osd",
        "rw",
        apply=lambda s, c, t: _apply_move_or_link(s, c, t, "moved"),
    ),
    Command(
        f"osd crush link name=name,type=CephString {_LOC}",
        "link existing entry for <name> under location <args>",
        "osd",
        "rw",
        apply=lambda s, c, t: _apply_move_or_link(s, c, t, "linked"),
    ),
    Command(
        "osd crush tunables name=profile,type=CephChoices,"
        "strings=legacy|argonaut|bobtail|firefly|hammer|jewel|optimal|default",
        "set crush tunables values to <profile>",
        "osd",
        "rw",
        apply=apply_tunables,
    ),
    Command(
        f"osd crush rule create-replicated name=name,type=CephString,{_NAME} "
        f"name=root,type=CephString,{_NAME} name=type,type=CephString,{_NAME} "
        f"name=class,type=CephString,{_NAME},req=false",
        "create crush rule <name> for replicated pool to start from <root>, replicate "
        "across buckets of type <type>, use devices of type <class> (ssd or hdd)",
        "osd",
        "rw",
        apply=apply_rule_create_replicated,
    ),
    Command(
        f"osd crush rule create-erasure name=name,type=CephString,{_NAME} "
        "name=profile,type=CephString,req=false,goodchars=[A-Za-z0-9-_.=]",
        "create crush rule <name> for erasure coded pool created with <profile> (default default)",
        "osd",
        "rw",
        apply=apply_rule_create_erasure,
    ),
    Command(
        f"osd crush rule rm name=name,type=CephString,{_NAME}",
        "remove crush rule <name>",
        "osd",
        "rw",
        apply=apply_rule_rm,
    ),
)
