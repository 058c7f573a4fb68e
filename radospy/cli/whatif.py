"""`radospy whatif replace-osd`: how many PGs each way of replacing an OSD moves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radospy.common.errors import RadosError
from radospy.crush import codec, compiler
from radospy.crush.map import CrushMap
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.whatif import replace_osd


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise RadosError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="radospy whatif",
        description="Compute how many PGs a change of the cluster maps would move.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "replace-osd",
        help="compare the three ways of replacing a failed OSD",
        description="Replay out->remove->add, crush reweight 0->remove->add and "
        "flags->destroy/re-create->unset on a pool and count the PGs each moves.",
    )
    rep.add_argument(
        "-i", "--crushmap", required=True, type=Path, help="crushmap, Ceph text or binary format"
    )
    rep.add_argument("--osd", required=True, type=int, help="the failed OSD id")
    rep.add_argument("--pg-num", type=int, default=1024, help="PGs in the pool (1024)")
    rep.add_argument("--size", type=int, default=3, help="replicas (3)")
    rep.add_argument("--rule", type=int, default=0, help="crush rule id (0)")
    return parser


def load_crushmap(path: Path) -> CrushMap:
    """Read a crushmap in Ceph's binary encoding or text format (sniffed by its magic)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RadosError(f"can't read {path}: {exc.strerror}") from None
    if data[:4] == codec.CRUSH_MAGIC.to_bytes(4, "little"):
        return codec.decode(data)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise RadosError(f"{path}: neither a binary nor a text crushmap") from None
    return compiler.compile(text)


def build_osdmap(crush: CrushMap, pg_num: int, size: int, rule: int) -> OSDMap:
    """An OSDMap whose every CRUSH device is up and in, with one replicated pool."""
    if rule not in crush.rules:
        raise RadosError(f"rule {rule} does not exist")
    if pg_num < 1 or size < 1:
        raise RadosError("--pg-num and --size must be positive")
    osdmap = OSDMap(crush=crush)
    for osd in sorted(crush.device_names):
        osdmap.create_osd(osd)
        osdmap.mark_up(osd)
        osdmap.mark_in(osd)
    osdmap.add_pool("whatif", pg_num, size=size, crush_rule=rule)
    return osdmap


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        crush = load_crushmap(args.crushmap)
        if args.osd not in crush.device_names:
            raise RadosError(f"osd.{args.osd} is not in the crushmap")
        osdmap = build_osdmap(crush, args.pg_num, args.size, args.rule)
        methods = replace_osd(osdmap, args.osd)
    except (RadosError, KeyError) as exc:
        print(f"radospy whatif: {exc}", file=sys.stderr)
        return 1
    print(
        f"replacing osd.{args.osd}: pool of {args.pg_num} PGs, size {args.size}, "
        f"rule {crush.rules[args.rule].name}"
    )
    print(f"{'METHOD':<50} {'PGS MOVED':>9}  STEPS")
    for method in methods:
        steps = ", ".join(f"{s.action} {s.moved}" for s in method.steps)
        print(f"{method.name:<50} {method.moved:>9}  {steps}")
    return 0
