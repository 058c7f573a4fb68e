"""crushtool --dump JSON <-> CrushMap, checked against every dump Ceph printed."""

from __future__ import annotations

import json
import struct

import pytest

from radospy.crush.dump import bucket_array_size, from_dump, to_dump
from radospy.crush.map import DEFAULT_CHOOSE_ARGS, WEIGHT_ONE
from tests.conftest import VECTORS, crush_map_names, load_vector


@pytest.mark.parametrize("name", crush_map_names())
def test_dump_round_trips_exactly(name: str) -> None:
    dump = load_vector(f"crush/{name}.dump.json")
    assert json.loads(json.dumps(to_dump(from_dump(dump)))) == dump


@pytest.mark.parametrize("name", crush_map_names())
def test_array_sizes_match_the_binary_header(name: str) -> None:
    cmap = from_dump(load_vector(f"crush/{name}.dump.json"))
    _magic, max_buckets, _max_rules, max_devices = struct.unpack_from(
        "<Iiii", (VECTORS / f"crush/{name}.bin").read_bytes()
    )
    assert (cmap.max_buckets, cmap.max_devices) == (max_buckets, max_devices)


def test_device_classes_and_shadow_buckets() -> None:
    cmap = from_dump(load_vector("crush/device_classes.dump.json"))
    ssd, hdd = cmap.class_id("ssd"), cmap.class_id("hdd")
    assert cmap.device_classes[0] == ssd
    assert cmap.device_classes[1] == hdd
    host0 = cmap.id_of("host0")
    assert cmap.class_buckets[host0] == {ssd: cmap.id_of("host0~ssd"), hdd: cmap.id_of("host0~hdd")}
    assert cmap.is_shadow(cmap.id_of("default~hdd"))


def test_choose_args_become_fixed_point() -> None:
    cmap = from_dump(load_vector("crush/weight_set.dump.json"))
    root = cmap.choose_args[DEFAULT_CHOOSE_ARGS][cmap.id_of("default")]
    assert root.weight_set[0] == [WEIGHT_ONE // 4, WEIGHT_ONE * 3 // 2, WEIGHT_ONE // 2, 98304]
    assert root.ids is None


def test_choose_args_ids_are_kept() -> None:
    dump = load_vector("crush/weight_set.dump.json")
    dump["choose_args"] = {"3": [{"bucket_id": -1, "ids": [10, 11, 12]}]}
    cmap = from_dump(dump)
    assert cmap.choose_args[3][-1].ids == [10, 11, 12]
    assert to_dump(cmap)["choose_args"] == dump["choose_args"]


def test_bucket_array_grows_by_doubling_from_eight() -> None:
    assert [bucket_array_size(n) for n in (0, 1, 8, 9, 16, 17, 33)] == [0, 8, 8, 16, 16, 32, 64]
