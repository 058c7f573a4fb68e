"""`radospy rados`: object-level commands against a pool, as Ceph's ``rados`` tool.

    radospy rados [-c CONF] [--id ID | -n TYPE.ID] [-p POOL] [-N NS] [--all]
                  [--object-locator KEY] [-s SNAP] [--striper]
                  [--format json|json-pretty]
                  COMMAND ARGS...

Commands: ``lspools``, ``mkpool``/``rmpool``, ``df``, ``put``, ``get``, ``append``,
``rm``, ``ls``, ``stat``, ``truncate``, ``cp``, ``listxattr``, ``getxattr``,
``setxattr``, ``rmxattr``, ``listomapkeys``, ``listomapvals``, ``getomapval``,
``setomapval``, ``rmomapkey``, ``bench``, ``cleanup`` (`rados_bench`),
``list-inconsistent-obj PGID`` and ``list-inconsistent-pg POOL`` (what scrubs found,
from the PGs' primaries, in Ceph's JSON), and the
snapshot commands of `rados_snaps` (``mksnap``, ``rmsnap``, ``lssnap``, ``rollback``,
``listsnaps``; ``-s SNAP`` reads at a pool snapshot). A file argument of ``-`` is
stdin or stdout. Output and errors are worded as Ceph's tool words them (``error
getting mytest/obj: (2) No such file or directory``); a failure exits with 1.
With ``--striper``, ``put``, ``get``, ``rm``, ``stat`` and ``ls`` work on striped
objects (libradosstriper's layout, `radospy.client.radosstriper`), and ``ls`` lists
only those.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from radospy.cli import rados_bench, rados_snaps
from radospy.client.rados import (
    LIBRADOS_ALL_NSPACES,
    Error,
    Ioctx,
    Object,
    Rados,
    ReadOp,
    WriteOp,
)
from radospy.client.radosstriper import FIRST_OBJECT_SUFFIX, RadosStriper
from radospy.common.config import bootstrap
from radospy.common.errors import RadosError
from radospy.common.units import byte_u

_COPY_CHUNK = 4 << 20
"""Bytes read per op when copying or getting an object (Ceph's default op size)."""
_PUT_CHUNK = 4 << 20
"""Bytes per write when putting a file."""
_OMAP_PAGE = 512


class CliError(Exception):
    """A failed command: ``str()`` is the line for stderr."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise CliError(message)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy rados", add_help=False, allow_abbrev=False)
    p.add_argument("-p", "--pool")
    p.add_argument("-N", "--namespace", default="")
    p.add_argument("--all", action="store_true")
    p.add_argument("--object-locator", default="")
    p.add_argument("-s", "--snap")
    p.add_argument("--striper", action="store_true")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--format", choices=("plain", "json", "json-pretty"), default="plain")
    p.add_argument("--yes-i-really-really-mean-it", dest="sure", action="store_true")
    p.add_argument("--omap-key-file")
    p.add_argument("-h", "--help", action="store_true")
    rados_bench.add_arguments(p)
    p.add_argument("words", nargs="*")
    return p


def _errtext(exc: RadosError) -> str:
    """Ceph's ``cpp_strerror``: ``(2) No such file or directory``."""
    return f"({exc.errno}) {os.strerror(exc.errno)}"


def _fail(what: str, exc: RadosError) -> CliError:
    return CliError(f"error {what}: {_errtext(exc)}")


def _need(words: list[str], count: int, usage: str) -> None:
    if len(words) < count:
        raise CliError(f"usage: rados {usage}")


def _open_in(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CliError(
            f"error reading input file {path}: ({exc.errno}) {os.strerror(exc.errno or 5)}"
        ) from None


def _write_out(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise CliError(
            f"error writing output file {path}: ({exc.errno}) {os.strerror(exc.errno or 5)}"
        ) from None


def hexdump(data: bytes) -> str:
    """``bufferlist::hexdump``: 16 bytes a line, offset, hex, printable chars, and the
    final offset on its own line."""
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8])
        if len(chunk) > 8:
            hexes += "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<49} |{text}|")
    lines.append(f"{len(data):08x}")
    return "\n".join(lines) + "\n"


def _stamp(mtime: time.struct_time) -> str:
    """``utime_t`` as ``rados stat`` prints it: local time, microseconds, offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000%z", mtime)


class _Tool:
    """One invocation: the cluster handle, the pool context, the options."""

    def __init__(self, cluster: Rados, args: argparse.Namespace) -> None:
        self.cluster = cluster
        self.args = args
        self._ioctx: Ioctx | None = None

    @property
    def pool(self) -> str:
        if not self.args.pool:
            raise CliError("pool name was not specified")
        return str(self.args.pool)

    @property
    def ioctx(self) -> Ioctx:
        if self._ioctx is None:
            try:
                self._ioctx = self.cluster.open_ioctx(self.pool)
            except Error as exc:
                raise CliError(f"error opening pool {self.pool}: {_errtext(exc)}") from None
            self._ioctx.set_namespace(
                LIBRADOS_ALL_NSPACES if self.args.all else self.args.namespace
            )
            if self.args.object_locator:
                self._ioctx.set_locator_key(self.args.object_locator)
            if self.args.snap:
                print(rados_snaps.select_snap(self._ioctx, self.pool, self.args.snap))
        return self._ioctx

    @property
    def io(self) -> Ioctx | RadosStriper:
        """What object data goes through: the pool, or its striper with --striper."""
        return RadosStriper(self.ioctx) if self.args.striper else self.ioctx

    def obj(self, name: str) -> str:
        """``pool/name`` as Ceph's messages show an object."""
        return f"{self.pool}/{name}"

    # --- pools ------------------------------------------------------------------------

    def lspools(self, words: list[str]) -> None:
        for name in self.cluster.list_pools():
            print(name)

    def mkpool(self, words: list[str]) -> None:
        _need(words, 1, "mkpool <pool-name>")
        try:
            self.cluster.create_pool(words[0])
        except Error as exc:
            raise _fail(f"creating pool {words[0]}", exc) from None
        print(f"successfully created pool {words[0]}")

    def rmpool(self, words: list[str]) -> None:
        _need(words, 1, "rmpool <pool-name> [<pool-name> --yes-i-really-really-mean-it]")
        if len(words) < 2 or words[0] != words[1] or not self.args.sure:
            raise CliError(
                "WARNING:\n  This will PERMANENTLY DESTROY an entire pool of objects with no"
                " way back.\n  To confirm, pass the pool to remove twice, followed by\n"
                "  --yes-i-really-really-mean-it"
            )
        try:
            self.cluster.delete_pool(words[0])
        except Error as exc:
            raise _fail(f"deleting pool {words[0]}", exc) from None
        print(f"successfully deleted pool {words[0]}")

    def df(self, words: list[str]) -> None:
        """Per-pool usage and the cluster totals, from the monitors' PG stats."""
        try:
            pools = self.cluster.get_pool_stats()
            totals = self.cluster.get_cluster_stats()
        except Error as exc:
            raise CliError(f"error getting pool stats: {exc}") from None
        if self.args.format != "plain":
            doc: dict[str, Any] = {
                "pools": [
                    {
                        "name": name,
                        "id": self.cluster.pool_lookup(name),
                        "size_bytes": s["num_bytes"],
                        "size_kb": s["num_kb"],
                        "num_objects": s["num_objects"],
                        "num_object_clones": s["num_object_clones"],
                        "num_object_copies": s["num_object_copies"],
                        "num_objects_missing_on_primary": s["num_objects_missing_on_primary"],
                        "num_objects_unfound": s["num_objects_unfound"],
                        "num_objects_degraded": s["num_objects_degraded"],
                        "read_ops": s["num_rd"],
                        "read_bytes": s["num_rd_kb"] * 1024,
                        "write_ops": s["num_wr"],
                        "write_bytes": s["num_wr_kb"] * 1024,
                        "compress_bytes_used": s["compress_bytes_used"],
                        "compress_under_bytes": s["compress_under_bytes"],
                    }
                    for name, s in pools.items()
                ],
                "total_objects": totals["num_objects"],
                "total_used": totals["kb_used"],
                "total_avail": totals["kb_avail"],
                "total_space": totals["kb"],
            }
            indent = 4 if self.args.format == "json-pretty" else None
            print(json.dumps(doc, indent=indent))
            return
        head = ("POOL_NAME", "USED", "OBJECTS", "CLONES", "COPIES", "MISSING_ON_PRIMARY",
                "UNFOUND", "DEGRADED", "RD_OPS", "RD", "WR_OPS", "WR", "USED COMPR",
                "UNDER COMPR")  # fmt: skip
        table = [head] + [
            (
                name,
                byte_u(s["num_bytes"]),
                str(s["num_objects"]),
                str(s["num_object_clones"]),
                str(s["num_object_copies"]),
                str(s["num_objects_missing_on_primary"]),
                str(s["num_objects_unfound"]),
                str(s["num_objects_degraded"]),
                str(s["num_rd"]),
                byte_u(s["num_rd_kb"] * 1024),
                str(s["num_wr"]),
                byte_u(s["num_wr_kb"] * 1024),
                byte_u(s["compress_bytes_used"]),
                byte_u(s["compress_under_bytes"]),
            )
            for name, s in pools.items()
        ]
        widths = [max(len(r[i]) for r in table) for i in range(len(head))]
        for row in table:
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
            ]
            print("  ".join(cells))
        print()
        print(f"total_objects    {totals['num_objects']}")
        print(f"total_used       {byte_u(totals['kb_used'] * 1024)}")
        print(f"total_avail      {byte_u(totals['kb_avail'] * 1024)}")
        print(f"total_space      {byte_u(totals['kb'] * 1024)}")

    # --- objects ----------------------------------------------------------------------

    def put(self, words: list[str]) -> None:
        _need(words, 2, "put <obj-name> <infile> [--offset offset]")
        name, path = words[0], words[1]
        src = _open_in(path)
        io = self.io
        try:
            offset = self.args.offset
            first = True
            while True:
                data = src.read(_PUT_CHUNK)
                if first and offset == 0:
                    # One object exactly as large as the file: replace, not overlay.
                    io.write_full(name, data)
                elif data:
                    io.write(name, data, offset)
                if not data:
                    break
                offset += len(data)
                first = False
        except Error as exc:
            raise _fail(f"putting {self.obj(name)}", exc) from None
        finally:
            if src is not sys.stdin.buffer:
                src.close()

    def append(self, words: list[str]) -> None:
        _need(words, 2, "append <obj-name> <infile>")
        name, path = words[0], words[1]
        src = _open_in(path)
        try:
            while data := src.read(_PUT_CHUNK):
                self.ioctx.append(name, data)
        except Error as exc:
            raise _fail(f"appending {self.obj(name)}", exc) from None
        finally:
            if src is not sys.stdin.buffer:
                src.close()

    def _read_all(self, name: str) -> bytes:
        chunks = []
        offset = 0
        io = self.io
        while True:
            data = io.read(name, _COPY_CHUNK, offset)
            chunks.append(data)
            offset += len(data)
            if len(data) < _COPY_CHUNK:
                return b"".join(chunks)

    def get(self, words: list[str]) -> None:
        _need(words, 2, "get <obj-name> <outfile>")
        name, path = words[0], words[1]
        try:
            data = self._read_all(name)
        except Error as exc:
            raise _fail(f"getting {self.obj(name)}", exc) from None
        _write_out(path, data)

    def rm(self, words: list[str]) -> None:
        _need(words, 1, "rm <obj-name> [<obj-name>...]")
        for name in words:
            try:
                if self.args.striper:
                    RadosStriper(self.ioctx).remove(name)
                else:
                    self.ioctx.remove_object(name)
            except Error as exc:
                raise _fail(f"removing {self.pool}>{name}", exc) from None

    def ls(self, words: list[str]) -> None:
        try:
            objs = list(self.ioctx.list_objects())
        except Error as exc:
            raise _fail(f"listing {self.pool}", exc) from None
        if self.args.striper:
            # Only striped objects, by the name of their first object.
            suffix = len(FIRST_OBJECT_SUFFIX)
            objs = [
                Object(o.ioctx, o.key[:-suffix], o.locator_key, o.nspace)
                for o in objs
                if len(o.key) > suffix and o.key.endswith(FIRST_OBJECT_SUFFIX)
            ]
        if self.args.format != "plain":
            doc = [{"namespace": o.nspace, "name": o.key} for o in objs]
            text = json.dumps(doc, indent=4 if self.args.format == "json-pretty" else None)
            text += "\n"
        elif self.args.all:
            text = "".join(f"{o.nspace}\t{o.key}\n" for o in objs)
        else:
            text = "".join(f"{o.key}\n" for o in objs)
        out = words[0] if words else "-"
        _write_out(out, text.encode())

    def stat(self, words: list[str]) -> None:
        _need(words, 1, "stat <obj-name>")
        name = words[0]
        try:
            size, mtime = self.io.stat(name)
        except Error as exc:
            raise _fail(f"stat-ing {self.obj(name)}", exc) from None
        print(f"{self.obj(name)} mtime {_stamp(mtime)}, size {size}")

    def truncate(self, words: list[str]) -> None:
        _need(words, 2, "truncate <obj-name> <length>")
        name = words[0]
        try:
            size = int(words[1])
        except ValueError:
            raise CliError(f"error, cannot parse length '{words[1]}'") from None
        if size < 0:
            raise CliError("error, cannot truncate to negative value")
        try:
            self.ioctx.trunc(name, size)
        except Error as exc:
            raise _fail(f"truncating oid {name} to {size}", exc) from None

    def cp(self, words: list[str]) -> None:
        _need(words, 1, "cp <obj-name> [target-obj]")
        src = words[0]
        dst = words[1] if len(words) > 1 else src
        try:
            data = self._read_all(src)
            xattrs = dict(self.ioctx.get_xattrs(src))
            vals = self._omap_vals(src)
            op = WriteOp()
            op.write_full(data)
            for key, value in xattrs.items():
                op.set_xattr(key, value)
            if vals:
                self.ioctx.set_omap(op, tuple(vals), tuple(vals.values()))
            self.ioctx.operate_write_op(op, dst)
        except Error as exc:
            raise _fail(f"copying {self.obj(src)} => {self.obj(dst)}", exc) from None

    # --- xattrs -----------------------------------------------------------------------

    def listxattr(self, words: list[str]) -> None:
        _need(words, 1, "listxattr <obj-name>")
        try:
            names = [k for k, _ in self.ioctx.get_xattrs(words[0])]
        except Error as exc:
            raise _fail(f"getting xattr set {self.obj(words[0])}", exc) from None
        for name in names:
            print(name)

    def getxattr(self, words: list[str]) -> None:
        _need(words, 2, "getxattr <obj-name> <attr>")
        try:
            value = self.ioctx.get_xattr(words[0], words[1])
        except Error as exc:
            raise _fail(f"getting xattr {self.pool}/{words[0]}/{words[1]}", exc) from None
        _write_out("-", value)

    def setxattr(self, words: list[str]) -> None:
        _need(words, 2, "setxattr <obj-name> <attr> [value]")
        value = words[2].encode() if len(words) > 2 else sys.stdin.buffer.read()
        try:
            self.ioctx.set_xattr(words[0], words[1], value)
        except Error as exc:
            raise _fail(f"setting xattr {self.pool}/{words[0]}/{words[1]}", exc) from None

    def rmxattr(self, words: list[str]) -> None:
        _need(words, 2, "rmxattr <obj-name> <attr>")
        try:
            self.ioctx.rm_xattr(words[0], words[1])
        except Error as exc:
            raise _fail(f"removing xattr {self.pool}/{words[0]}/{words[1]}", exc) from None

    # --- omap -------------------------------------------------------------------------

    def _omap_vals(self, name: str) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        after = ""
        while True:
            op = ReadOp()
            it, _ = self.ioctx.get_omap_vals(op, after, "", _OMAP_PAGE)
            self.ioctx.operate_read_op(op, name)
            page = [(k, v or b"") for k, v in it]
            found.update(page)
            if len(page) < _OMAP_PAGE:
                return found
            after = page[-1][0]

    def listomapkeys(self, words: list[str]) -> None:
        _need(words, 1, "listomapkeys <obj-name>")
        try:
            keys = list(self._omap_vals(words[0]))
        except Error as exc:
            raise _fail(f"getting omap key set {self.obj(words[0])}", exc) from None
        for key in keys:
            print(key)

    def listomapvals(self, words: list[str]) -> None:
        _need(words, 1, "listomapvals <obj-name>")
        try:
            vals = self._omap_vals(words[0])
        except Error as exc:
            raise _fail(f"getting omap keys {self.obj(words[0])}", exc) from None
        out = []
        for key, value in vals.items():
            out.append(f"{key}\nvalue ({len(value)} bytes) :\n{hexdump(value)}\n")
        sys.stdout.write("".join(out))

    def _omap_key(self, words: list[str], at: int) -> tuple[str, list[str]]:
        if self.args.omap_key_file:
            try:
                with open(self.args.omap_key_file, "rb") as f:
                    return f.read().decode(), words[at:]
            except OSError as exc:
                raise CliError(f"error reading omap key file: {exc.strerror}") from None
        if len(words) <= at:
            raise CliError("usage: rados <cmd> <obj-name> <key> ...")
        return words[at], words[at + 1 :]

    def getomapval(self, words: list[str]) -> None:
        _need(words, 1, "getomapval <obj-name> <key> [file]")
        name = words[0]
        key, rest = self._omap_key(words, 1)
        op = ReadOp()
        it, _ = self.ioctx.get_omap_vals_by_keys(op, (key,))
        try:
            self.ioctx.operate_read_op(op, name)
        except Error as exc:
            raise _fail(f"getting omap value {self.obj(name)}", exc) from None
        vals = dict(it)
        if key not in vals:
            print(f"No such key: {self.obj(name)}/{key}", file=sys.stderr)
            raise CliError("")
        value = vals[key] or b""
        if rest:
            _write_out(rest[0], value)
        else:
            sys.stdout.write(f"value ({len(value)} bytes) :\n{hexdump(value)}\n")

    def setomapval(self, words: list[str]) -> None:
        _need(words, 1, "setomapval <obj-name> <key> [value]")
        name = words[0]
        key, rest = self._omap_key(words, 1)
        value = rest[0].encode() if rest else sys.stdin.buffer.read()
        op = WriteOp()
        self.ioctx.set_omap(op, (key,), (value,))
        try:
            self.ioctx.operate_write_op(op, name)
        except Error as exc:
            raise _fail(f"setting omap value {self.obj(name)}", exc) from None

    def rmomapkey(self, words: list[str]) -> None:
        _need(words, 1, "rmomapkey <obj-name> <key>")
        name = words[0]
        key, _ = self._omap_key(words, 1)
        op = WriteOp()
        self.ioctx.remove_omap_keys(op, (key,))
        try:
            self.ioctx.operate_write_op(op, name)
        except Error as exc:
            raise _fail(f"removing omap key {self.obj(name)}", exc) from None

    # --- benchmarks (radospy.cli.rados_bench) -----------------------------------------

    # --- scrub findings ------------------------------------------------------------------

    def _print_json(self, doc: Any) -> None:
        indent = 4 if self.args.format == "json-pretty" else None
        print(json.dumps(doc, indent=indent, separators=None if indent else (",", ":")))

    def list_inconsistent_obj(self, words: list[str]) -> None:
        """The objects the PG's last scrub found inconsistent, in Ceph's JSON."""
        _need(words, 1, "list-inconsistent-obj <pgid>")
        try:
            doc = self.cluster.get_inconsistent_objects(words[0])
        except Error as exc:
            raise CliError(f"{exc}") from None
        self._print_json(doc)

    def list_inconsistent_pg(self, words: list[str]) -> None:
        """The PGs of a pool whose last scrub found inconsistencies, as a JSON list."""
        _need(words, 1, "list-inconsistent-pg <pool>")
        try:
            pool_id = self.cluster.pool_lookup(words[0])
        except Error:
            raise CliError(f"pool {words[0]} doesn't exist") from None
        try:
            pgs = self.cluster.get_inconsistent_pgs(pool_id)
        except Error as exc:
            raise CliError(f"{exc}") from None
        self._print_json(pgs)

    def bench(self, words: list[str]) -> None:
        rados_bench.bench(self.ioctx, self.args, words)

    def cleanup(self, words: list[str]) -> None:
        rados_bench.cleanup(self.ioctx, self.args, words)


COMMANDS: dict[str, Callable[[_Tool, list[str]], None]] = {
    "lspools": _Tool.lspools,
    "mkpool": _Tool.mkpool,
    "rmpool": _Tool.rmpool,
    "df": _Tool.df,
    "put": _Tool.put,
    "get": _Tool.get,
    "append": _Tool.append,
    "rm": _Tool.rm,
    "ls": _Tool.ls,
    "stat": _Tool.stat,
    "truncate": _Tool.truncate,
    "cp": _Tool.cp,
    "listxattr": _Tool.listxattr,
    "getxattr": _Tool.getxattr,
    "setxattr": _Tool.setxattr,
    "rmxattr": _Tool.rmxattr,
    "listomapkeys": _Tool.listomapkeys,
    "listomapvals": _Tool.listomapvals,
    "getomapval": _Tool.getomapval,
    "setomapval": _Tool.setomapval,
    "rmomapkey": _Tool.rmomapkey,
    "bench": _Tool.bench,
    "cleanup": _Tool.cleanup,
    "list-inconsistent-obj": _Tool.list_inconsistent_obj,
    "list-inconsistent-pg": _Tool.list_inconsistent_pg,
    **rados_snaps.COMMANDS,
}


def usage() -> str:
    return "usage: rados [options] [commands]\n  commands: " + " ".join(COMMANDS)


def main(argv: list[str]) -> int:
    """Entry point: 0, or 1 with Ceph's error line on stderr."""
    try:
        boot = bootstrap(argv)
        args = _parser().parse_intermixed_args(boot.args)
        if args.help or not args.words:
            print(usage(), file=sys.stdout if args.help else sys.stderr)
            return 0 if args.help else 1
        command, words = args.words[0], args.words[1:]
        handler = COMMANDS.get(command)
        if handler is None:
            raise CliError(f"unrecognized command {command}; -h or --help for usage")
        cluster = Rados.from_config(boot.config)
        try:
            cluster.connect()
        except Error as exc:
            raise CliError(f"couldn't connect to cluster: {_errtext(exc)}") from None
        try:
            handler(_Tool(cluster, args), words)
        finally:
            cluster.shutdown()
        return 0
    except (CliError, rados_bench.BenchError, rados_snaps.CliError) as exc:
        if str(exc):
            print(str(exc), file=sys.stderr)
        return 1
    except RadosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
