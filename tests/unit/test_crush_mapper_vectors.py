"""Replay every `crushtool --test` mapping and statistics run of the Ceph vector set."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from radospy.crush.dump import from_dump
from radospy.crush.hash import crush_hash32_2
from radospy.crush.map import HASH_RJENKINS1, ITEM_NONE, WEIGHT_ONE, CrushMap
from radospy.crush.mapper import do_rule
from tests.conftest import crush_map_names, load_vector

CRUSHTOOL_CHOOSE_ARGS = 0
"""crushtool --test asks for choose_args set 0 (which falls back to the compat set)."""


def _load(name: str) -> tuple[dict[str, Any], CrushMap]:
    vector = load_vector(f"mappings/{name}.json")
    return vector, from_dump(load_vector(vector["dump"]))


def _weights(cmap: CrushMap, vector: dict[str, Any], overrides: dict[str, int]) -> list[int]:
    """crushtool's weight vector: 1.0 for devices in the hierarchy, 0 for the rest."""
    weights = [0] * cmap.max_devices
    for dev in vector["devices_in_hierarchy"]:
        weights[dev] = WEIGHT_ONE
    for dev, weight in overrides.items():
        weights[int(dev)] = weight
    return weights


def _crushtool_weight(value: float) -> int:
    """`--weight OSD W` as crushtool stores it: (int)(W * 0x10000) clamped to [0, 1.0]."""
    return min(max(int(value * WEIGHT_ONE), 0), WEIGHT_ONE)


def _cases() -> list[Any]:
    params = []
    for name in crush_map_names():
        for index, case in enumerate(load_vector(f"mappings/{name}.json")["cases"]):
            label = f"{name}-{index}-{case['rule_name']}-n{case['num_rep']}"
            params.append(pytest.param(name, index, id=label))
    return params


@pytest.mark.parametrize(("name", "index"), _cases())
def test_mappings_match_crushtool(name: str, index: int) -> None:
    vector, cmap = _load(name)
    case = vector["cases"][index]
    weights = _weights(cmap, vector, case.get("weights_16_16", {}))
    pool = case["pool_id"]
    mismatches = {}
    for x_text, expected in case["x"].items():
        x = int(x_text)
        crush_x = x if pool is None else crush_hash32_2(HASH_RJENKINS1, x, pool)
        got = do_rule(cmap, case["rule"], crush_x, case["num_rep"], weights, CRUSHTOOL_CHOOSE_ARGS)
        if got != expected:
            mismatches[x] = (expected, got)
    assert not mismatches, f"{len(mismatches)} of {len(case['x'])} differ, e.g. {mismatches}"


def _stats() -> list[Any]:
    return [
        pytest.param(name, index, id=f"{name}-stats{index}")
        for name in crush_map_names()
        for index in range(len(load_vector(f"mappings/{name}.json")["stats"]))
    ]


@pytest.mark.parametrize(("name", "index"), _stats())
def test_statistics_match_crushtool(name: str, index: int) -> None:
    vector, cmap = _load(name)
    stats = vector["stats"][index]
    overrides = {dev: _crushtool_weight(w) for dev, w in stats["weights"].items()}
    weights = _weights(cmap, vector, overrides)
    num_rep = stats["num_rep"]
    sizes: Counter[str] = Counter()
    bad: dict[str, list[int]] = {}
    profile = [0] * (cmap.tunables.choose_total_tries + 1)
    for x in range(stats["min_x"], stats["max_x"] + 1):
        got = do_rule(
            cmap, stats["rule"], x, num_rep, weights, CRUSHTOOL_CHOOSE_ARGS, choose_tries=profile
        )
        sizes[str(len(got))] += 1
        if len(got) < num_rep or ITEM_NONE in got:
            bad[str(x)] = got
    assert dict(sizes) == stats["result_size_counts"]
    assert bad == stats["bad_mappings"]
    histogram = stats["choose_tries_histogram"]
    assert profile[: len(histogram)] == histogram


def test_every_map_has_cases() -> None:
    assert len(_cases()) == sum(m["cases"] for m in load_vector("manifest.json")["maps"])
