"""`radospy crushtool` against outputs of Ceph 16.2.15's crushtool (tests/vectors/tools)."""

from __future__ import annotations

import base64
import json
import pathlib
import shlex
import shutil

import pytest

from radospy.cli.main import main

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
CASES = json.loads((VECTORS / "tools" / "crushtool.json").read_text())["cases"]

# Ceph's --reweight leaves a list bucket's sum_weights stale; builder.reweight_all refreshes them
@pytest.fixture
def workdir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    for f in [*(VECTORS / "crush").glob("*.bin"), *(VECTORS / "crush").glob("*.txt")]:
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c["command"] for c in CASES])
def test_same_as_ceph(
    case: dict[str, object], workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(shlex.split(str(case["command"])))
    captured = capsys.readouterr()
    assert captured.out == case["stdout"]
    assert captured.err == case["stderr"]
    assert rc == case["rc"] % 256 or rc == case["rc"]
    out_bin = workdir / "out.bin"
    if case["out_bin"] is None:
        assert not out_bin.exists()
    else:
        assert out_bin.read_bytes() == base64.b64decode(str(case["out_bin"]))


@pytest.mark.parametrize(
    "args",
    [
        ["-i", "corrupt.bin", "--test", "--show-statistics"],
        ["-d", "corrupt.bin", "-o", "out.txt"],
        ["-c", "bad.txt", "-o", "out.bin"],
        ["-c", "badtype.txt", "-o", "out.bin"],
        ["-c", "missing.txt", "-o", "out.bin"],
        ["-i", "missing.bin", "--tree"],
        ["-i", "two_level.bin", "--compare", "corrupt.bin"],
        ["--build", "--num_osds", "3", "a", "straw", "-1", "-o", "out.bin"],
        ["--build", "--num_osds", "3", "a", "straw", "2", "-o", "out.bin", "extra"],
        ["-i", "two_level.bin", "--test", "--x", "1", "--show-statistics", "-w", "1", "1"],
        ["-c", "flat.txt", "-o", "nodir/out.bin"],
    ],
)
def test_errors_are_one_line_without_output(
    args: list[str], workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "corrupt.bin").write_bytes((workdir / "two_level.bin").read_bytes()[:100])
    (workdir / "bad.txt").write_text("device 0 osd.0\nbogus line here\n")
    (workdir / "badtype.txt").write_text(
        "device 0 osd.0\ntype 0 osd\nhost h {\n id -1\n alg straw2\n item osd.0 weight 1.0\n}\n"
    )
    rc = main(["crushtool", *args])
    captured = capsys.readouterr()
    assert rc != 0
    assert "Traceback" not in captured.err
    assert captured.err.strip() and len(captured.err.strip().splitlines()) <= 2
    assert not (workdir / "out.bin").exists()
    assert not (workdir / "out.txt").exists()


def test_decompile_to_stdout_matches_vector(
    workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("two_level", "device_classes", "erasure"):
        assert main(["crushtool", "-d", f"{name}.bin"]) == 0
        expected = (VECTORS / "crush" / f"{name}.decompiled.txt").read_text()
        assert capsys.readouterr().out == expected


def test_compile_matches_ceph_binary(workdir: pathlib.Path) -> None:
    for name in ("two_level", "weight_set", "legacy_tunables"):
        assert main(["crushtool", "-c", f"{name}.txt", "-o", f"{name}.out"]) == 0
        assert (workdir / f"{name}.out").read_bytes() == (workdir / f"{name}.bin").read_bytes()
