"""`radospy rados` snapshot commands, worded as Ceph's ``rados`` tool words them:
``mksnap``, ``rmsnap``, ``lssnap``, ``rollback``, ``listsnaps``, and ``-s SNAP`` for
reads at a pool snapshot."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Protocol

from radospy.client.rados import LIBRADOS_SNAP_HEAD, Error, Ioctx
from radospy.common.osdop import SnapList


class CliError(Exception):
    """A failed command (the caller's ``CliError`` is raised from this one's text)."""


class Tool(Protocol):
    """What these commands use of the ``rados`` tool's invocation."""

    @property
    def pool(self) -> str: ...

    @property
    def ioctx(self) -> Ioctx: ...

    @property
    def args(self) -> Any: ...


def _errtext(exc: Error) -> str:
    return f"({exc.errno}) {os.strerror(exc.errno)}"


def _need(words: list[str], count: int, usage: str) -> None:
    if len(words) < count:
        raise CliError(f"usage: rados {usage}")


def select_snap(ioctx: Ioctx, pool: str, snap_name: str) -> str:
    """``-s SNAP``: read at pool snapshot ``snap_name``; Ceph's "selected snap" line."""
    try:
        snap = ioctx.lookup_snap(snap_name)
    except Error as exc:
        raise CliError(f"error looking up snap '{snap_name}': {_errtext(exc)}") from None
    ioctx.set_read(snap.snap_id)
    return f"selected snap {snap.snap_id} '{snap_name}'"


def mksnap(tool: Tool, words: list[str]) -> None:
    _need(words, 1, "mksnap <snap-name>")
    try:
        tool.ioctx.create_snap(words[0])
    except Error as exc:
        raise CliError(
            f"error creating pool {tool.pool} snapshot {words[0]}: {_errtext(exc)}"
        ) from None
    print(f"created pool {tool.pool} snap {words[0]}")


def rmsnap(tool: Tool, words: list[str]) -> None:
    _need(words, 1, "rmsnap <snap-name>")
    try:
        tool.ioctx.remove_snap(words[0])
    except Error as exc:
        raise CliError(
            f"error removing pool {tool.pool} snapshot {words[0]}: {_errtext(exc)}"
        ) from None
    print(f"removed pool {tool.pool} snap {words[0]}")


def lssnap(tool: Tool, words: list[str]) -> None:
    """``ID<TAB>NAME<TAB>YYYY.MM.DD HH:MM:SS`` (local time) per snapshot, then a count."""
    snaps = list(tool.ioctx.list_snaps())
    for snap in snaps:
        stamp = time.strftime("%Y.%m.%d %H:%M:%S", snap.get_timestamp().timetuple())
        print(f"{snap.snap_id}\t{snap.name}\t{stamp}")
    print(f"{len(snaps)} snaps")


def rollback(tool: Tool, words: list[str]) -> None:
    _need(words, 2, "rollback <obj-name> <snap-name>")
    name, snap_name = words[0], words[1]
    try:
        tool.ioctx.snap_rollback(name, snap_name)
    except Error as exc:
        # Ceph's wording, object name and missing separator included.
        raise CliError(
            f"error rolling back pool {tool.pool} to snapshot {name}{_errtext(exc)}"
        ) from None
    print(f"rolled back pool {tool.pool} to snapshot {snap_name}")


def listsnaps(tool: Tool, words: list[str]) -> None:
    """The object's clones (id, snaps, size, overlap) and its head."""
    _need(words, 1, "listsnaps <obj-name>")
    name = words[0]
    try:
        listing = tool.ioctx.list_object_snaps(name)
    except Error as exc:
        raise CliError(f"error listing snap shots {tool.pool}/{name}: {_errtext(exc)}") from None
    if tool.args.format != "plain":
        indent = 4 if tool.args.format == "json-pretty" else None
        print(json.dumps(listsnaps_json(name, listing), indent=indent))
        return
    print(listsnaps_text(name, listing), end="")


def listsnaps_text(name: str, listing: SnapList) -> str:
    """Ceph's table: a clone's row ends with its overlap, the head's with its size,
    then one more newline."""
    out = f"{name}:\ncloneid\tsnaps\tsize\toverlap\n"
    for clone in listing.clones:
        snaps = ",".join(str(s) for s in clone.snaps) or "-"
        if clone.cloneid == LIBRADOS_SNAP_HEAD:
            out += f"head\t{snaps}\t{clone.size}"
            continue
        overlap = ",".join(f"{off}~{length}" for off, length in clone.overlap)
        out += f"{clone.cloneid}\t{snaps}\t{clone.size}\t[{overlap}]\n"
    return out + "\n"


def listsnaps_json(name: str, listing: SnapList) -> dict[str, Any]:
    clones: list[dict[str, Any]] = []
    for clone in listing.clones:
        entry: dict[str, Any] = {
            "id": "head" if clone.cloneid == LIBRADOS_SNAP_HEAD else clone.cloneid,
            "snapshots": [{"id": s} for s in clone.snaps],
            "size": clone.size,
        }
        if clone.cloneid != LIBRADOS_SNAP_HEAD:
            entry["overlaps"] = [{"start": off, "length": n} for off, n in clone.overlap]
        clones.append(entry)
    return {"name": name, "clones": clones}


COMMANDS = {
    "mksnap": mksnap,
    "rmsnap": rmsnap,
    "lssnap": lssnap,
    "rollback": rollback,
    "listsnaps": listsnaps,
}
