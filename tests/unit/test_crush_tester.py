"""CrushTester against the statistics Ceph's crushtool printed (tests/vectors/mappings)."""

from __future__ import annotations

import io
import json
import math
import pathlib
import re
import shlex

import pytest

from radospy.crush import codec
from radospy.crush.build import Layer, bucket_name, build
from radospy.crush.tester import (
    CrushTester,
    cpp_double,
    device_weight_16_16,
)

VECTORS = pathlib.Path(__file__).resolve().parents[1] / "vectors"
_HISTOGRAM_LINE = re.compile(r"^\s*\d+:\s+\d+$")


def _stats_cases() -> list[tuple[str, dict[str, object]]]:
    cases = []
    for path in sorted((VECTORS / "mappings").glob("*.json")):
        data = json.loads(path.read_text())
        cases += [(str(data["binary"]), s) for s in data["stats"]]
    return cases


STATS = _stats_cases()


def _tester(binary: str, stats: dict[str, object]) -> CrushTester:
    cmap = codec.decode((VECTORS / binary).read_bytes())
    t = CrushTester(cmap)
    t.set_rule(int(stats["rule"]))  # type: ignore[arg-type]
    t.set_num_rep(int(stats["num_rep"]))  # type: ignore[arg-type]
    t.min_x, t.max_x = int(stats["min_x"]), int(stats["max_x"])  # type: ignore[arg-type]
    for dev, w in (stats.get("weights") or {}).items():  # type: ignore[attr-defined]
        t.set_device_weight(int(dev), float(w))
    args = shlex.split(str(stats["command"]))
    if "--pool-id" in args:
        t.pool_id = int(args[args.index("--pool-id") + 1])
    t.output_statistics = t.output_bad_mappings = True
    return t


@pytest.mark.parametrize("binary,stats", STATS, ids=[str(s["command"]) for _, s in STATS])
def test_statistics_and_bad_mappings(binary: str, stats: dict[str, object]) -> None:
    out = io.StringIO()
    assert _tester(binary, stats).test(out, io.StringIO()) == 0
    expected = "".join(
        line + "\n" for line in str(stats["stdout"]).splitlines() if not _HISTOGRAM_LINE.match(line)
    )
    assert out.getvalue() == expected


@pytest.mark.parametrize("binary,stats", STATS, ids=[str(s["command"]) for _, s in STATS])
def test_choose_tries_histogram(binary: str, stats: dict[str, object]) -> None:
    t = _tester(binary, stats)
    t.output_choose_tries = True
    out = io.StringIO()
    t.test(out, io.StringIO())
    assert out.getvalue() == stats["stdout"]


def test_mappings_match_crushtool_cases() -> None:
    data = json.loads((VECTORS / "mappings" / "two_level.json").read_text())
    cmap = codec.decode((VECTORS / "crush" / "two_level.bin").read_bytes())
    for case in data["cases"][:4]:
        t = CrushTester(cmap)
        t.set_rule(case["rule"])
        t.set_num_rep(case["num_rep"])
        t.min_x, t.max_x = 0, 63
        for dev, w in case["weights"].items():
            t.set_device_weight(int(dev), float(w))
        t.output_mappings = True
        out = io.StringIO()
        t.test(out, io.StringIO())
        expected = "".join(
            f"CRUSH rule {case['rule']} x {x} [{','.join(map(str, case['x'][str(x)]))}]\n"
            for x in range(64)
        )
        assert out.getvalue() == expected


def test_compare_counts_mismatches() -> None:
    a = codec.decode((VECTORS / "crush" / "two_level.bin").read_bytes())
    b = codec.decode((VECTORS / "crush" / "three_level_uneven.bin").read_bytes())
    t = CrushTester(a)
    t.set_rule(0)
    t.set_num_rep(3)
    t.min_x, t.max_x = 0, 99
    out, err = io.StringIO(), io.StringIO()
    assert t.compare(a, out, err) == 0
    assert out.getvalue() == "rule 0 had 0/100 mismatched mappings (0)\nmaps appear equivalent\n"
    out = io.StringIO()
    assert t.compare(b, out, err) == -1
    assert err.getvalue() == "warning: maps are NOT equivalent\n"


def test_device_weight_clamps_like_crushtool() -> None:
    assert device_weight_16_16(0.5) == 0x8000
    assert device_weight_16_16(2.0) == 0x10000
    assert device_weight_16_16(-1.0) == 0
    assert device_weight_16_16(0.3) == 19660


def test_cpp_double_formats_like_ostream() -> None:
    assert cpp_double(2.5) == "2.5"
    assert cpp_double(1.0 / 6.0) == "0.166667"
    assert cpp_double(1.0) == "1"
    assert cpp_double(-math.nan) == "-nan"
    assert cpp_double(math.inf) == "inf"


def test_build_names_truncate_like_c_buffers() -> None:
    assert bucket_name("host", 4, 2) == "host2"
    assert bucket_name("root", 0, 0) == "root"
    assert bucket_name("abcdefghijklmnopq", 2, 1) == "abcdefghijklmnopq"
    assert bucket_name("verylongnamelayer12345", 2, 0) == "verylongnamelayer1"


def test_build_two_layers() -> None:
    result = build(12, [Layer("host", "straw2", 4), Layer("root", "straw2", 0)])
    assert result.warning is None
    cmap = result.cmap
    assert [b.name for b in cmap.buckets.values()] == ["host0", "host1", "host2", "root"]
    assert cmap.buckets[-4].weight == 12 * 0x10000
    assert cmap.rules[0].name == "replicated_rule"
