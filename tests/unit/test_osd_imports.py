"""An OSD imports only what it uses: numpy (20 MiB of RSS) is for the tools only."""

from __future__ import annotations

import subprocess
import sys

CHILD = "import sys, radospy.osd.daemon; print(sorted({'numpy', 'aiohttp'} & set(sys.modules)))"


def test_the_osd_daemon_does_not_import_numpy_or_aiohttp() -> None:
    out = subprocess.check_output([sys.executable, "-c", CHILD], text=True)
    assert out.strip() == "[]"
