"""The plain-text CRUSH tree of `crushtool --tree` and `osdmaptool --tree`.

`walk` visits the hierarchy in Ceph's `CrushTreeDumper` order: roots by ascending id,
then depth first, the children of a bucket sorted by Ceph's key (buckets by name,
devices by class then zero-padded id). `TextTable` renders columns the way Ceph's
TextTable does: each column as wide as its widest cell, two spaces between columns,
trailing padding kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from radospy.crush.map import DEFAULT_CHOOSE_ARGS, WEIGHT_ONE, CrushMap


class Align(Enum):
    LEFT = "left"
    RIGHT = "right"


@dataclass
class Column:
    heading: str
    heading_align: Align
    align: Align


class TextTable:
    """Ceph's TextTable: a header row and cells padded per column."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns
        self.rows: list[list[str]] = []

    def add_row(self, cells: list[str]) -> None:
        """Append a row; missing trailing cells print as empty."""
        self.rows.append(cells + [""] * (len(self.columns) - len(cells)))

    def render(self) -> str:
        widths = [len(c.heading) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
        lines = [
            "  ".join(
                _pad(c.heading, w, c.heading_align)
                for c, w in zip(self.columns, widths, strict=True)
            )
        ]
        for row in self.rows:
            lines.append(
                "  ".join(
                    _pad(cell, w, c.align)
                    for cell, c, w in zip(row, self.columns, widths, strict=True)
                )
            )
        return "".join(line + "\n" for line in lines)


def _pad(text: str, width: int, align: Align) -> str:
    return text.rjust(width) if align is Align.RIGHT else text.ljust(width)


def weightf(weight_16_16: int) -> str:
    """Ceph's `weightf_t` output of a 16.16 weight: `-`, `0` or 5 fixed decimals."""
    value = struct.unpack("<f", struct.pack("<f", weight_16_16 / WEIGHT_ONE))[0]
    if value < -0.01:
        return "-"
    if value < 0.000001:
        return "0"
    return f"{value:.5f}"


def weightf_float(value: float) -> str:
    """`weightf_t` of a float already scaled to 1.0 (reweight, primary affinity)."""
    value = struct.unpack("<f", struct.pack("<f", value))[0]
    if value < -0.01:
        return "-"
    if value < 0.000001:
        return "0"
    return f"{value:.5f}"


@dataclass
class Item:
    """One row of the tree: an item, its parent (0 for roots), depth and weight."""

    id: int
    parent: int
    depth: int
    weight: int


def find_roots(cmap: CrushMap) -> list[int]:
    """Buckets no other bucket contains, by ascending id."""
    children = {i for b in cmap.buckets.values() for i in b.items}
    return sorted(b for b in cmap.buckets if b not in children)


def _sort_key(cmap: CrushMap, item: int) -> str:
    if item >= 0:
        return class_cell(cmap, item) + f"_osd.{item:08d}"
    return "_" + cmap.buckets[item].name


def walk(cmap: CrushMap, show_shadow: bool) -> Iterator[Item]:
    """The rows of the tree in Ceph's order."""
    for root in find_roots(cmap):
        if not show_shadow and cmap.is_shadow(root):
            continue
        stack = [Item(root, 0, 0, cmap.buckets[root].weight)]
        while stack:
            item = stack.pop()
            yield item
            if item.id >= 0 or item.id not in cmap.buckets:
                continue
            bucket = cmap.buckets[item.id]
            # duplicate keys keep the first item in bucket order, as Ceph's map does
            children: dict[str, Item] = {}
            for pos in range(len(bucket.items) - 1, -1, -1):
                child = bucket.items[pos]
                children[_sort_key(cmap, child)] = Item(
                    child, item.id, item.depth + 1, bucket.item_weights[pos]
                )
            for key in sorted(children, reverse=True):
                stack.append(children[key])


def choose_args_columns(cmap: CrushMap, names: dict[int, str]) -> list[tuple[int, str]]:
    """One extra weight column per weight set: `(compat)` or the pool's name/id."""
    out = []
    for key in sorted(cmap.choose_args):
        if key == DEFAULT_CHOOSE_ARGS:
            out.append((key, "(compat)"))
        else:
            out.append((key, names.get(key, str(key))))
    return out


def choose_args_cells(cmap: CrushMap, item: Item, keys: list[int]) -> list[str]:
    """The weight-set cells of a row: position 0's weight in the parent's set."""
    cells = []
    for key in keys:
        arg = cmap.choose_args[key].get(item.parent) if item.parent < 0 else None
        if arg is not None and arg.weight_set:
            bucket = cmap.buckets[item.parent]
            ws = arg.weight_set[0]
            pos = bucket.items.index(item.id) if item.id in bucket.items else len(ws)
            cells.append(weightf(ws[pos]) if pos < len(ws) else "0")
        else:
            cells.append("")
    return cells


def type_name_cell(cmap: CrushMap, item: Item) -> str:
    indent = "    " * item.depth
    if item.id >= 0:
        return f"{indent}osd.{item.id}"
    bucket = cmap.buckets[item.id]
    return f"{indent}{cmap.types.get(bucket.type_id, '')} {bucket.name}"


def class_cell(cmap: CrushMap, item: int) -> str:
    """The CLASS cell: the class of a device or of a shadow bucket (Ceph's class_map)."""
    cls = cmap.device_classes.get(item)
    if cls is None and item < 0:
        cls = next(
            (c for classes in cmap.class_buckets.values() for c, b in classes.items() if b == item),
            None,
        )
    return cmap.class_names.get(cls, "") if cls is not None else ""


def base_columns(cmap: CrushMap, names: dict[int, str]) -> list[Column]:
    cols = [
        Column("ID", Align.LEFT, Align.RIGHT),
        Column("CLASS", Align.LEFT, Align.RIGHT),
        Column("WEIGHT", Align.LEFT, Align.RIGHT),
    ]
    cols += [Column(n, Align.LEFT, Align.RIGHT) for _, n in choose_args_columns(cmap, names)]
    cols.append(Column("TYPE NAME", Align.LEFT, Align.LEFT))
    return cols


def crush_tree(cmap: CrushMap) -> str:
    """`crushtool --tree`: every root, shadow trees included."""
    table = TextTable(base_columns(cmap, {}))
    keys = sorted(cmap.choose_args)
    for item in walk(cmap, show_shadow=True):
        table.add_row(
            [
                str(item.id),
                class_cell(cmap, item.id),
                weightf(item.weight),
                *choose_args_cells(cmap, item, keys),
                type_name_cell(cmap, item),
            ]
        )
    return table.render()
