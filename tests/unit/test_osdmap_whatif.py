"""The OSD-replacement what-if, computed with the real placement code."""

from __future__ import annotations

from pathlib import Path

import pytest

from radospy.cli.main import main
from radospy.cli.whatif import build_osdmap, load_crushmap
from radospy.osdmap.whatif import changed_pgs, operator_step, placement_of, replace_osd, up_sets

CRUSHMAPS = Path(__file__).parents[2] / "crushmaps"


@pytest.mark.parametrize(
    ("crushmap", "osd", "size", "rule"),
    [("two-hosts-8-osds.txt", 3, 2, 0), ("ssd-platter.txt", 7, 3, 1), ("ssd-platter.txt", 0, 3, 0)],
)
def test_replacement_methods_order(crushmap: str, osd: int, size: int, rule: int) -> None:
    osdmap = build_osdmap(load_crushmap(CRUSHMAPS / crushmap), 256, size, rule)
    holding = sum(1 for members in up_sets(osdmap).values() if osd in members)
    out_remove_add, reweight_remove_add, flags = replace_osd(osdmap, osd)
    # Moving data once (flags) refills exactly the PGs the failed OSD held; draining by
    # reweight moves twice; out then remove reshuffles once more in between.
    assert flags.moved == holding > 0
    assert out_remove_add.moved > reweight_remove_add.moved > flags.moved
    assert [s.moved for s in reweight_remove_add.steps][1] == 0
    assert out_remove_add.steps[0].moved == holding


def test_replacement_leaves_the_input_map_alone() -> None:
    osdmap = build_osdmap(load_crushmap(CRUSHMAPS / "two-hosts-8-osds.txt"), 64, 2, 0)
    before = up_sets(osdmap)
    replace_osd(osdmap, 3)
    assert up_sets(osdmap) == before


def test_cli_prints_one_row_per_method(capsys: pytest.CaptureFixture[str]) -> None:
    crushmap = str(CRUSHMAPS / "two-hosts-8-osds.txt")
    args = ["whatif", "replace-osd", "-i", crushmap, "--osd", "3", "--size", "2", "--pg-num", "128"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:3] == ["METHOD", "PGS", "MOVED"]
    assert [line.split()[0] for line in out[2:]] == ["out", "crush", "noout,norebalance"]


@pytest.mark.parametrize(
    "args",
    [
        ["--osd", "3"],
        ["-i", "/nonexistent/map", "--osd", "3"],
        ["-i", str(CRUSHMAPS / "two-hosts-8-osds.txt"), "--osd", "99"],
        ["-i", str(CRUSHMAPS / "two-hosts-8-osds.txt"), "--osd", "3", "--rule", "7"],
        ["-i", str(CRUSHMAPS / "two-hosts-8-osds.txt"), "--osd", "x"],
        ["-i", str(CRUSHMAPS / "README.md"), "--osd", "3"],
    ],
)
def test_cli_bad_input_is_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatif", "replace-osd", *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("radospy whatif: ")


@pytest.mark.parametrize(
    ("crushmap", "osd", "size", "rule"),
    [("two-hosts-8-osds.txt", 3, 2, 0), ("ssd-platter.txt", 7, 3, 1)],
)
def test_operator_steps_of_each_way(crushmap: str, osd: int, size: int, rule: int) -> None:
    osdmap = build_osdmap(load_crushmap(CRUSHMAPS / crushmap), 128, size, rule)
    place = placement_of(osdmap, osd)
    start = up_sets(osdmap)
    holding = {pg for pg, members in start.items() if osd in members}

    def after(*actions: str) -> dict:
        m = osdmap
        for action in actions:
            m = operator_step(m, action, osd, place)
        return up_sets(m)

    # Destroyed: its PGs lose it; re-created at its place: every PG maps as before.
    assert changed_pgs(start, after("destroy")) == holding
    assert changed_pgs(start, after("destroy", "recreate")) == set()
    # Purged (or removed by hand) and added back under the same id and place: the same.
    assert changed_pgs(start, after("crush reweight 0", "kill", "purge", "add")) == set()
    assert changed_pgs(start, after("out", "kill", "crush remove", "rm", "add")) == set()
    # Out: exactly its PGs move. CRUSH weight 0 also lightens its host, so PGs may move
    # between hosts as well.
    assert changed_pgs(start, after("out")) == holding
    assert changed_pgs(start, after("crush reweight 0")) >= holding
    assert up_sets(osdmap) == start
    with pytest.raises(ValueError):
        operator_step(osdmap, "explode", osd, place)
