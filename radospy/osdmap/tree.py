"""`ceph osd tree` / `osdmaptool --tree`: the CRUSH hierarchy beside each OSD's state."""

from __future__ import annotations

from radospy.crush import treedump
from radospy.crush.map import WEIGHT_ONE
from radospy.osdmap.osdmap import OSDMap, OsdStateFlag


def tree_text(osdmap: OSDMap) -> str:
    """`ceph osd tree`: the CRUSH hierarchy plus STATUS, REWEIGHT and PRI-AFF, then the
    OSDs CRUSH does not place (strays) at depth 0."""
    cmap = osdmap.crush
    names = {pid: pool.name for pid, pool in osdmap.pools.items()}
    columns = treedump.base_columns(cmap, names)
    columns += [
        treedump.Column(heading, treedump.Align.LEFT, treedump.Align.RIGHT)
        for heading in ("STATUS", "REWEIGHT", "PRI-AFF")
    ]
    table = treedump.TextTable(columns)
    keys = sorted(cmap.choose_args)
    for item in tree_items(osdmap):
        table.add_row(_tree_row(osdmap, item, keys))
    return table.render()


def tree_items(osdmap: OSDMap) -> list[treedump.Item]:
    """The rows of the tree: CRUSH's walk (no shadow buckets), then the stray OSDs."""
    items = list(treedump.walk(osdmap.crush, show_shadow=False))
    placed = {item.id for item in items}
    items += [
        treedump.Item(osd, 0, 0, 0)
        for osd in range(osdmap.max_osd)
        if osdmap.exists(osd) and osd not in placed
    ]
    return items


def osd_status(osdmap: OSDMap, osd: int) -> str:
    """The STATUS column of `osd tree`: up, destroyed (down and destroyed) or down."""
    if osdmap.is_up(osd):
        return "up"
    return "destroyed" if osdmap.osds[osd].state & OsdStateFlag.DESTROYED else "down"


def _tree_row(osdmap: OSDMap, item: treedump.Item, keys: list[int]) -> list[str]:
    cmap = osdmap.crush
    cells = [
        str(item.id),
        treedump.class_cell(cmap, item.id),
        treedump.weightf(item.weight),
        *treedump.choose_args_cells(cmap, item, keys),
        treedump.type_name_cell(cmap, item),
    ]
    if item.id >= 0:
        if not osdmap.exists(item.id):
            cells += ["DNE", "0"]
        else:
            info = osdmap.osds[item.id]
            cells += [
                osd_status(osdmap, item.id),
                treedump.weightf_float(info.weight / WEIGHT_ONE),
                treedump.weightf_float(info.primary_affinity / WEIGHT_ONE),
            ]
    return cells
