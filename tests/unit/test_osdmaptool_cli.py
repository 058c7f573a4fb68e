"""`radospy osdmaptool` against outputs of Ceph 16.2.15's osdmaptool (tests/vectors/tools)."""

from __future__ import annotations

import base64
import json
import pathlib
import re
import shlex
import shutil

import pytest

from radospy.cli.main import main
from radospy.osdmap.format import format_osd_map, osd_map_line
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
DATA = json.loads((VECTORS / "tools" / "osdmaptool.json").read_text())
CASES = DATA["cases"]

# osdmaptool then prints the tree in JSON (`--tree` borrows `--mark-out`'s value "2")
UNSUPPORTED = {"osdmaptool om_b --mark-up-in --mark-out 2 --tree"}


def _norm(text: str) -> str:
    return re.sub(r"(created|modified) \S+", r"\1 T", text)


@pytest.fixture
def workdir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    for f in (VECTORS / "crush").glob("*.bin"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    for line in DATA["setup"]:
        assert main(shlex.split(line)) == 0
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c["command"] for c in CASES])
def test_same_as_ceph(
    case: dict[str, object], workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    if case["command"] in UNSUPPORTED:
        pytest.xfail("JSON tree output is not implemented")
    rc = main(shlex.split(str(case["command"])))
    captured = capsys.readouterr()
    assert _norm(captured.out) == _norm(str(case["stdout"]))
    assert captured.err == case["stderr"]
    assert rc == case["rc"]
    if case["out_bin"] is not None:
        assert (workdir / "out.bin").read_bytes() == base64.b64decode(str(case["out_bin"]))


def test_two_level_scenario(workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = json.loads((VECTORS / "osdmap" / "two_level_pg12.json").read_text())
    assert (
        main(
            shlex.split(
                "osdmaptool --createsimple 12 om --with-default-pool --clobber --pg-bits 0"
                " --pgp-bits 0 --osd_pool_default_size 3"
            )
        )
        == 0
    )
    assert main(shlex.split("osdmaptool om --import-crush two_level.bin --mark-up-in")) == 0
    capsys.readouterr()
    assert main(["osdmaptool", "om", "--tree"]) == 0
    assert capsys.readouterr().out == scenario["osdmap_tree"]
    assert main(["osdmaptool", "om", "--test-map-pgs-dump-all", "--pool", "1"]) == 0
    out = capsys.readouterr().out
    for pgid, m in scenario["pools"][0]["pgs"].items():
        line = (
            f"{pgid} raw ({_l(m['raw'])}, p{m['raw_primary']}) up ({_l(m['up'])}, "
            f"p{m['up_primary']}) acting ({_l(m['acting'])}, p{m['acting_primary']})\n"
        )
        assert line in out
    for obj in scenario["pools"][0]["objects"][:20]:
        assert main(["osdmaptool", "om", "--test-map-object", obj["name"], "--pool", "1"]) == 0
        assert capsys.readouterr().out == (
            f" object '{obj['name']}' -> {obj['pgid']} -> {_l(obj['acting'])}\n"
        )


def _l(osds: list[int]) -> str:
    return "[" + ",".join(map(str, osds)) + "]"


def test_errors_without_traceback(
    workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "junk").write_text("not json")
    for args in (
        ["junk", "--print"],
        ["om_a", "--import-crush", "junk"],
        ["om_a", "--mark-out", "x"],
    ):
        before = (workdir / "om_a").read_bytes()
        rc = main(["osdmaptool", *args])
        err = capsys.readouterr().err
        assert rc != 0
        assert "Traceback" not in err
        assert (workdir / "om_a").read_bytes() == before


def test_osd_map_line() -> None:
    line = format_osd_map(
        537, "mytest", 1, "test-object-1", PgId(1, 0xD1743484), PgId(1, 4), [1, 0], 1, [1, 0], 1
    )
    assert line == (
        "osdmap e537 pool 'mytest' (1) object 'test-object-1' -> pg 1.d1743484 (1.4)"
        " -> up ([1,0], p1) acting ([1,0], p1)"
    )
    osdmap = OSDMap.build_simple(3, with_default_pool=True)
    assert osd_map_line(osdmap, 1, "foo").startswith(
        "osdmap e0 pool 'rbd' (1) object 'foo' -> pg 1."
    )
