"""Placement what-ifs: how many PGs an operator's sequence of map changes moves.

The three ways of replacing a failed OSD that Ceph operators use are replayed on a copy
of an OSDMap, and every step's effect is computed with the same placement code the
cluster runs. A PG "moves" in a step when its new up set has an OSD that does not hold the PG's data
and must be filled (backfill or recovery); a PG that only loses a member (degraded) or
reorders its members moves nothing. The failed disk holds nothing from the start.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from radospy.crush import edit
from radospy.crush.map import CrushMap
from radospy.osdmap.osdmap import OsdInfo, OSDMap
from radospy.osdmap.pg import PgId

UpSets = dict[PgId, frozenset[int]]


@dataclass(frozen=True)
class Step:
    """One operator action and the PGs it moved."""

    action: str
    moved: int


@dataclass(frozen=True)
class Method:
    """One replacement procedure: its steps, in order."""

    name: str
    steps: tuple[Step, ...]

    @property
    def moved(self) -> int:
        return sum(step.moved for step in self.steps)


def up_sets(osdmap: OSDMap) -> UpSets:
    """The up set of every PG of every pool."""
    sets: UpSets = {}
    for pool in osdmap.pools.values():
        for seed in range(pool.pg_num):
            pg = PgId(pool.id, seed)
            sets[pg] = frozenset(osdmap.pg_to_up_acting_osds(pg).up)
    return sets


def pgs_to_fill(holders: UpSets, after: UpSets) -> int:
    """PGs whose new up set has a member that does not hold the PG's data yet."""
    return sum(1 for pg, members in after.items() if members - holders.get(pg, frozenset()))


def changed_pgs(before: UpSets, after: UpSets) -> set[PgId]:
    """PGs whose up set (as a set: a new primary alone is no move) differs."""
    return {pg for pg, members in after.items() if before.get(pg) != members}


@dataclass(frozen=True)
class Placement:
    """Where an OSD sits in CRUSH, to put a replacement disk back at the same place."""

    location: dict[str, str]
    weight: int
    device_class: str | None


def placement_of(osdmap: OSDMap, osd: int) -> Placement:
    """`osd`'s CRUSH location, weight and class (KeyError if it is not in CRUSH)."""
    return Placement(*_location(osdmap.crush, osd))


def operator_step(osdmap: OSDMap, action: str, osd: int, placement: Placement) -> OSDMap:
    """A copy of `osdmap` after one operator action on `osd`, as the monitors apply it:
    `kill` (marked down), `out`, `crush reweight 0`, `destroy` (down, id and CRUSH
    place kept), `purge` (out of CRUSH and the map), `rm` (out of the map),
    `crush remove`, `add` (a new disk booted at `placement`: created, in CRUSH, up and
    in) or `recreate` (a destroyed id re-created and booted: up and in)."""
    m = copy.deepcopy(osdmap)
    if action in ("kill", "destroy"):
        m.mark_down(osd)
    elif action == "out":
        m.mark_out(osd)
    elif action == "crush reweight 0":
        edit.reweight_item(m.crush, osd, 0)
    elif action in ("purge", "crush remove", "rm"):
        if action != "rm" and osd in m.crush.device_names:
            edit.remove_item(m.crush, osd)
        if action != "crush remove":
            m.osds[osd] = OsdInfo()
    elif action in ("add", "recreate"):
        if action == "add":
            m.create_osd(osd)
            if osd not in m.crush.device_names:
                edit.insert_device(
                    m.crush, osd, placement.weight, placement.location, placement.device_class
                )
            else:
                edit.reweight_item(m.crush, osd, placement.weight)
        m.mark_up(osd)
        m.mark_in(osd)
    else:
        raise ValueError(f"unknown operator action {action!r}")
    return m


def _location(crush: CrushMap, osd: int) -> tuple[dict[str, str], int, str | None]:
    """Where `osd` sits ({type: bucket} up to its root), its CRUSH weight and class."""
    parent = {
        item: bucket.id
        for bucket in crush.buckets.values()
        if not crush.is_shadow(bucket.id)
        for item in bucket.items
    }
    if osd not in parent:
        raise KeyError(osd)
    host = crush.buckets[parent[osd]]
    weight = host.item_weights[host.items.index(osd)]
    location: dict[str, str] = {}
    node = parent[osd]
    while True:
        bucket = crush.buckets[node]
        location[crush.types[bucket.type_id]] = bucket.name
        if node not in parent:
            break
        node = parent[node]
    class_id = crush.device_classes.get(osd)
    return location, weight, None if class_id is None else crush.class_names[class_id]


def replace_osd(osdmap: OSDMap, osd: int) -> list[Method]:
    """Replay the three ways of replacing failed `osd` with a new disk of the same size.

    1. `osd out`, then `osd crush remove` + `osd rm`, then the new OSD is created;
    2. `osd crush reweight 0`, then out / crush remove / rm, then the new OSD;
    3. `noout`/`norebalance` set, the OSD destroyed and re-created under its id and
       place, flags unset: data moves once, onto the new disk.
    KeyError if `osd` is not in the CRUSH hierarchy.
    """
    location, weight, device_class = _location(osdmap.crush, osd)

    def fail_out(m: OSDMap) -> None:
        m.mark_down(osd)
        m.mark_out(osd)

    def crush_remove(m: OSDMap) -> None:
        fail_out(m)
        edit.remove_item(m.crush, osd)

    def crush_reweight_zero(m: OSDMap) -> None:
        edit.reweight_item(m.crush, osd, 0)

    def add_new(m: OSDMap) -> None:
        if osd in m.crush.device_names:
            edit.reweight_item(m.crush, osd, weight)
        else:
            edit.insert_device(m.crush, osd, weight, location, device_class)
        m.mark_up(osd)
        m.mark_in(osd)

    def fail(m: OSDMap) -> None:
        m.mark_down(osd)

    def recreate(m: OSDMap) -> None:
        m.mark_up(osd)

    plans: list[tuple[str, list[tuple[str, Callable[[OSDMap], None]]]]] = [
        (
            "out -> crush remove -> add",
            [("out", fail_out), ("crush remove", crush_remove), ("add", add_new)],
        ),
        (
            "crush reweight 0 -> remove -> add",
            [
                ("crush reweight 0", crush_reweight_zero),
                ("crush remove", crush_remove),
                ("add", add_new),
            ],
        ),
        (
            "noout,norebalance -> destroy, re-create -> unset",
            [("destroy (noout)", fail), ("re-create, unset", recreate)],
        ),
    ]
    initial = up_sets(osdmap)
    methods = []
    for name, actions in plans:
        current = copy.deepcopy(osdmap)
        # The failed disk's copies are gone: every PG it held must be refilled somewhere.
        holders = {pg: members - {osd} for pg, members in initial.items()}
        steps = []
        for action, apply in actions:
            apply(current)
            after = up_sets(current)
            steps.append(Step(action, pgs_to_fill(holders, after)))
            holders = after
        methods.append(Method(name, tuple(steps)))
    return methods
