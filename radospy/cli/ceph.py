"""`radospy ceph`: send a monitor command the way Ceph's `ceph` tool does.

    radospy ceph [-c CONF] [--id ID | -n TYPE.ID] [-m HOST:PORT] [--connect-timeout S]
                 [--format json|json-pretty|plain] [-i INFILE] [-o OUTFILE] WORDS...
    radospy ceph -w                  # the status, then the cluster log as it grows
    radospy ceph pg PGID query       # asked of the PG's primary OSD

The command's output goes to stdout (or OUTFILE), its status line to stderr; a failed
command prints ``Error ENAME: message`` and exits with the errno, as Ceph's does.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import sys
from collections.abc import Sequence
from typing import Any

from radospy.client.rados import AsyncRados
from radospy.common.config import Config, bootstrap
from radospy.common.errors import RadosError
from radospy.mon import cluster_log
from radospy.mon.client import MonClient, MonClientConfig, client_config, mon_argv
from radospy.mon.cmdspec import Arg
from radospy.mon.commands import parse_argv
from radospy.osdmap.pg import PgId

FORMATS = ("plain", "json", "json-pretty", "xml", "xml-pretty")
WATCH_POLL = 1.0
"""Seconds between `ceph -w`'s looks at the cluster log."""
WATCH_BATCH = 200
"""Cluster log entries `ceph -w` asks for each time (more than a second brings)."""
_QUERY_TIMEOUT = 30.0
"""Seconds `pg PGID query` waits for the primary without --connect-timeout."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise RadosError(message, errno.EINVAL)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy ceph", add_help=False, allow_abbrev=False)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("--connect-timeout", type=float)
    p.add_argument("-f", "--format", choices=FORMATS)
    p.add_argument("-i", "--in-file", dest="infile")
    p.add_argument("-o", "--out-file", dest="outfile")
    p.add_argument("-s", "--status", action="store_true")
    p.add_argument("-w", "--watch", action="store_true")
    return p


def _read_infile(path: str | None) -> bytes:
    if path is None:
        return b""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise RadosError(f"can't open {path}: {exc.strerror}", exc.errno or errno.EIO) from None


def _write_outfile(path: str, data: bytes) -> None:
    try:
        if path == "-":
            sys.stdout.buffer.write(data)
            return
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise RadosError(f"can't open {path}: {exc.strerror}", exc.errno or errno.EIO) from None


def _run(argv: Sequence[str]) -> int:
    # -c, --id, -n, -m, -k and --<option> VALUE are the config's (Ceph's CEPH_ARGS too).
    boot = bootstrap(argv)
    args, words = _parser().parse_known_args(boot.args)
    if args.help:
        print(__doc__.strip().split("\n\n")[1])
        return 0
    if args.watch:
        return _watch(client_config(boot.config, args.connect_timeout))
    if args.status:
        words = ["status", *words]
    if not words:
        raise RadosError("no command given (try 'radospy ceph status')", errno.EINVAL)
    if len(words) == 3 and words[0] == "pg" and words[2] == "query":
        return _pg_query(boot.config, words[1], args.connect_timeout)
    cmd = mon_argv(words) or parse_argv(words)
    if args.format:
        cmd["format"] = args.format
    inbuf = _read_infile(args.infile)
    config = client_config(boot.config, args.connect_timeout)

    async def go() -> tuple[int, bytes, str]:
        async with MonClient(config) as client:
            return await client.command(cmd, inbuf)

    rc, outbuf, outs = asyncio.run(go())
    if rc < 0:
        name = errno.errorcode.get(-rc, f"E{-rc}")
        print(f"Error {name}: {outs}", file=sys.stderr)
        return -rc
    if outs:
        print(outs, file=sys.stderr)
    if args.outfile:
        _write_outfile(args.outfile, outbuf)
        if args.outfile != "-":
            print(f"wrote {len(outbuf)} bytes to {args.outfile}", file=sys.stderr)
    elif outbuf:
        sys.stdout.buffer.write(outbuf if outbuf.endswith(b"\n") else outbuf + b"\n")
    return 0


def _pg_query(config: Config, text: str, timeout: float | None) -> int:
    """`ceph pg PGID query`: asked of the PG's primary OSD, as Ceph's CLI does."""
    Arg("pgid", "CephPgid").parse_word(text)
    raw = PgId.parse(text)

    async def go() -> str:
        rados = AsyncRados(config)
        await rados.connect(timeout)
        try:
            objecter = rados._objecter()
            osdmap = objecter.osdmap
            if osdmap is None or raw.pool not in osdmap.pools:
                raise RadosError(
                    f"problem getting command descriptions from pg.{text}", errno.ENOENT
                )
            pgid = osdmap.raw_pg_to_pg(raw)
            return await objecter.query_pg(pgid.pool, pgid.seed, timeout or _QUERY_TIMEOUT)
        finally:
            await rados.shutdown()

    try:
        answer = asyncio.run(go())
    except RadosError as exc:
        print(f"Error {errno.errorcode.get(exc.errno, 'EIO')}: {exc}", file=sys.stderr)
        return exc.errno
    sys.stdout.write(answer + "\n")
    return 0


def _watch(config: MonClientConfig) -> int:
    """`ceph -w`: the status, then each new cluster log line until Ctrl-C."""

    async def go() -> None:
        async with MonClient(config) as client:
            rc, out, outs = await client.command({"prefix": "status"})
            if rc < 0:
                raise RadosError(outs, -rc)
            sys.stdout.write(out.decode())
            seen: set[tuple[str, int]] | None = None
            while True:
                last = {"prefix": "log last", "num": WATCH_BATCH, "format": "json"}
                rc, out, outs = await client.command(last)
                if rc < 0:
                    raise RadosError(outs, -rc)
                entries = json.loads(out)
                if seen is not None:
                    for entry in entries:
                        if (entry["name"], entry["seq"]) not in seen:
                            sys.stdout.write(cluster_log.json_line(entry) + "\n")
                    sys.stdout.flush()
                seen = (seen or set()) | {(e["name"], e["seq"]) for e in entries}
                await asyncio.sleep(WATCH_POLL)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        return 0
    return 0


def main(argv: list[str]) -> int:
    """Entry point: exit status 0, or the errno of the failure."""
    try:
        return _run(argv)
    except RadosError as exc:
        print(f"[errno {exc.errno}] {exc}", file=sys.stderr)
        return exc.errno
    except KeyboardInterrupt:
        print("Cluster connection aborted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
