"""Regenerate crushtool.json / osdmaptool.json with Ceph's own tools (run from this folder).

Every command line of `*_commands.txt` runs with the real `crushtool` / `osdmaptool` in
a scratch directory holding `../crush/*.bin` and `../crush/*.txt`; stdout, stderr, the
exit code and (for crushtool) the bytes of `out.bin` if the command wrote one are kept.
osdmaptool commands run against maps made first by `OSDMAP_SETUP`.
"""

from __future__ import annotations

import base64
import json
import pathlib
import shlex
import shutil
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
CRUSH = HERE.parent / "crush"

OSDMAP_SETUP = [
    "osdmaptool om_a --createsimple 4",
    "osdmaptool om_b --createsimple 4 --with-default-pool --pg-bits 2 --pgp-bits 1",
    "osdmaptool om_c --createsimple 12 --with-default-pool --pg-bits 0 --pgp-bits 0",
    "osdmaptool om_c --import-crush two_level.bin --mark-up-in",
]


def _scratch() -> pathlib.Path:
    work = pathlib.Path(tempfile.mkdtemp())
    for f in [*CRUSH.glob("*.bin"), *CRUSH.glob("*.txt")]:
        shutil.copy(f, work / f.name)
    return work


def _run(lines: list[str], work: pathlib.Path) -> list[dict[str, object]]:
    cases = []
    for line in lines:
        (work / "out.bin").unlink(missing_ok=True)
        r = subprocess.run(shlex.split(line), capture_output=True, cwd=work)
        out_bin = work / "out.bin"
        cases.append(
            {
                "command": line,
                "rc": r.returncode,
                "stdout": r.stdout.decode(),
                "stderr": r.stderr.decode(),
                "out_bin": base64.b64encode(out_bin.read_bytes()).decode()
                if out_bin.exists()
                else None,
            }
        )
    return cases


def _commands(name: str) -> list[str]:
    text = (HERE / name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def main() -> None:
    work = _scratch()
    crush = _run(_commands("crushtool_commands.txt"), work)
    (HERE / "crushtool.json").write_text(json.dumps({"cases": crush}, indent=1) + "\n")
    work = _scratch()
    for line in OSDMAP_SETUP:
        subprocess.run(shlex.split(line), capture_output=True, cwd=work, check=True)
    osd = _run(_commands("osdmaptool_commands.txt"), work)
    (HERE / "osdmaptool.json").write_text(
        json.dumps({"setup": OSDMAP_SETUP, "cases": osd}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
