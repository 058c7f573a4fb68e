"""`radospy up`: start a local cluster (monitors and OSDs arrive with issues #3 and #4)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    print(
        "radospy up: the cluster daemons (monitors, OSDs) are not built yet "
        "(issues #3 and #4).\n"
        "Available now: `radospy crushtool` and `radospy osdmaptool`; see README.md.",
        file=sys.stderr,
    )
    return 0
