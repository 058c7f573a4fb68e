"""`radospy monmaptool`: create, edit and print the initial monitor map.

Arguments, messages (stdout/stderr split included) and exit codes follow Ceph 16.2.15's
monmaptool, with two deliberate differences: every error is one line (Ceph adds
"monmaptool -h for usage"), and an unknown option or invalid `--fsid` is refused (Ceph
takes the first as the file name and ignores the second). The map file is our own format
(`MonMap.encode`, msgpack), written atomically; a failed run writes nothing.
"""

from __future__ import annotations

import errno
import os
import sys
import uuid
from dataclasses import dataclass, field
from typing import TextIO

from radospy.cli._cephargs import ArgError, ArgWalker
from radospy.common.addr import Addr, parse_addr
from radospy.common.errors import InvalidArgument, RadosError
from radospy.common.files import write_atomic
from radospy.mon.monmap import MonMap, check_mon_name

ME = "monmaptool"

USAGE = """\
usage: monmaptool [--print] [--create [--clobber] [--fsid uuid]]
        [--add name 1.2.3.4:567] [--rm name]
        <mapfilename>
"""


class ToolExit(Exception):
    """Stop with exit `code`, writing `message` (one line) to stderr if there is one."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Options:
    """What monmaptool's argument walk collects."""

    print_map: bool = False
    create: bool = False
    clobber: bool = False
    fsid: str | None = None
    add: dict[str, Addr] = field(default_factory=dict)
    rm: list[str] = field(default_factory=list)
    help: bool = False
    files: list[str] = field(default_factory=list)


def _parse(argv: list[str]) -> Options:
    opts = Options()
    w = ArgWalker(argv)
    while w.more():
        if w.double_dash():
            break
        if w.flag("-h", "--help"):
            opts.help = True
        elif w.flag("-p", "--print"):
            opts.print_map = True
        elif w.flag("--create"):
            opts.create = True
        elif w.flag("--clobber"):
            opts.clobber = True
        elif (fsid := w.witharg("--fsid")) is not None:
            opts.fsid = _parse_fsid(fsid)
        elif w.flag("--add"):
            name, addr = w.take(), w.take()
            if name is None or addr is None:
                raise ToolExit(1, f"{ME}: --add requires a name and an ip:port")
            opts.add[_parse_name(name)] = _parse_mon_addr(addr)
        elif (name := w.witharg("--rm")) is not None:
            opts.rm.append(name)
        elif w.args[w.pos].startswith("-") and w.args[w.pos] != "-":
            raise ToolExit(1, f"{ME}: unrecognized option '{w.args[w.pos]}'")
        else:
            w.skip()
    opts.files = w.args
    return opts


def _parse_fsid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ToolExit(1, f"{ME}: invalid fsid '{text}'") from None


def _parse_name(text: str) -> str:
    try:
        return check_mon_name(text)
    except InvalidArgument as e:
        raise ToolExit(1, f"{ME}: {e}") from None


def _parse_mon_addr(text: str) -> Addr:
    try:
        return parse_addr(text, require_ip=True)
    except InvalidArgument:
        raise ToolExit(255, f"{ME}: invalid ip:port '{text}'") from None


def _read(fn: str) -> MonMap | None:
    """The map in `fn`, or None if there is no such file."""
    try:
        with open(fn, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        code = e.errno or errno.EIO
        raise ToolExit(255, f"{ME}: couldn't open {fn}: ({code}) {os.strerror(code)}") from e
    try:
        return MonMap.decode(data)
    except InvalidArgument:
        raise ToolExit(255, f"{ME}: unable to read monmap file") from None


def _load(opts: Options, fn: str) -> MonMap:
    if opts.create and opts.clobber:
        return MonMap()
    existing = _read(fn)
    if existing is None and not opts.create:
        code = errno.ENOENT
        raise ToolExit(255, f"{ME}: couldn't open {fn}: ({code}) {os.strerror(code)}")
    if existing is not None and opts.create:
        raise ToolExit(255, f"{ME}: {fn} exists, --clobber to overwrite")
    return existing or MonMap()


def _edit(opts: Options, monmap: MonMap, out: TextIO) -> MonMap:
    if opts.create:
        monmap = MonMap.create(opts.fsid)
        if opts.fsid is None:
            _say(out, f"{ME}: generated fsid {monmap.fsid}")
    if opts.fsid is not None:
        monmap.fsid = opts.fsid
        _say(out, f"{ME}: set fsid to {monmap.fsid}")
    # Ceph keeps the additions in a std::map, so they apply in name order
    for name in sorted(opts.add):
        try:
            monmap.add(name, opts.add[name])
        except RadosError as e:
            raise ToolExit(1, f"{ME}: {e}") from None
    for name in opts.rm:
        _say(out, f"{ME}: removing {name}")
        try:
            monmap.remove(name)
        except RadosError as e:
            raise ToolExit(1, f"{ME}: {e}") from None
    return monmap


def _run(argv: list[str], out: TextIO) -> int:
    if not argv:
        raise ToolExit(1, f"{ME}: -h or --help for usage")
    opts = _parse(argv)
    if opts.help:
        out.write(USAGE)
        return 0
    if not opts.files:
        raise ToolExit(1, f"{ME}: must specify monmap filename")
    if len(opts.files) > 1:
        raise ToolExit(1, f"{ME}: too many arguments")
    fn = opts.files[0]
    modified = opts.create or opts.fsid is not None or bool(opts.add or opts.rm)
    _say(out, f"{ME}: monmap file {fn}")
    monmap = _edit(opts, _load(opts, fn), out)
    if not opts.print_map and not modified:
        raise ToolExit(1, "no action specified")
    if opts.print_map:
        _say(out, monmap.print_text().rstrip("\n"))
    if modified:
        _say(out, f"{ME}: writing epoch {monmap.epoch} to {fn} ({len(monmap.mons)} monitors)")
        try:
            write_atomic(fn, monmap.encode())
        except OSError as e:
            code = e.errno or errno.EIO
            raise ToolExit(1, f"{ME}: error writing to '{fn}': ({code}) {os.strerror(code)}") from e
    return 0


def _say(stream: TextIO, line: str) -> None:
    """Write a line that may carry undecodable argv bytes (surrogate escapes)."""
    text = line + "\n"
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.flush()
        stream.buffer.write(text.encode("utf-8", errors="surrogateescape"))  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    """Run monmaptool with `argv` (without the program name); returns the exit code."""
    try:
        return _run(list(argv), sys.stdout)
    except ArgError as e:
        _say(sys.stderr, f"{ME}: {e}")
        return 1
    except ToolExit as e:
        if e.message:
            sys.stdout.flush()
            _say(sys.stderr, e.message)
        return e.code
