"""`radospy TOOL ARGS...`: one entry point for every radospy tool."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

TOOLS: dict[str, tuple[str, str]] = {
    "crushtool": ("radospy.cli.crushtool", "compile, decompile and test CRUSH maps"),
    "osdmaptool": ("radospy.cli.osdmaptool", "create, inspect and test OSD maps"),
    "ceph": ("radospy.cli.ceph", "send commands to the monitors"),
    "mon": ("radospy.cli.mon", "create (--mkfs) or run a monitor"),
    "osd": ("radospy.cli.osd", "create (--mkfs) or run an OSD"),
    "rados": ("radospy.cli.rados", "object-level commands against a pool"),
    "ceph-authtool": ("radospy.cli.authtool", "create, list and edit keyrings"),
    "monmaptool": ("radospy.cli.monmaptool", "create, edit and print the initial monitor map"),
    "whatif": ("radospy.cli.whatif", "what-if: PGs moved by replacing an OSD"),
    "rgw": ("radospy.cli.rgw", "run the S3 gateway (radosgw)"),
    "radosgw-admin": ("radospy.cli.radosgw_admin", "manage gateway users, keys and buckets"),
    "up": ("radospy.cli.up", "start a local cluster in the foreground"),
    "down": ("radospy.cli.down", "stop a local cluster started with `up --daemon`"),
}


def usage() -> str:
    lines = ["usage: radospy TOOL [ARGS...]", "", "tools:"]
    lines += [f"  {name:<12} {summary}" for name, (_, summary) in TOOLS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a tool's own `main(argv) -> exit code`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 1
    name, rest = args[0], args[1:]
    if name not in TOOLS:
        print(f"radospy: unknown tool '{name}'\n{usage()}", file=sys.stderr)
        return 1
    module = importlib.import_module(TOOLS[name][0])
    tool_main: Callable[[list[str]], int] = module.main
    return tool_main(rest)


if __name__ == "__main__":
    sys.exit(main())
