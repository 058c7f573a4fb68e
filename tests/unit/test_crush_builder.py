"""Derived bucket data and mutations, checked against Ceph's binary maps and invariants."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.crush import builder
from radospy.crush.dump import from_dump
from radospy.crush.map import Bucket, BucketAlg, CrushMap
from tests.conftest import VECTORS, crush_map_names, load_vector


def _read_binary_buckets(data: bytes) -> dict[int, dict[str, Any]]:
    """The per-bucket derived data of a compiled crushmap (Ceph's binary encoding)."""
    max_buckets = struct.unpack_from("<i", data, 4)[0]
    off = 16
    found: dict[int, dict[str, Any]] = {}
    for _ in range(max_buckets):
        (alg,) = struct.unpack_from("<I", data, off)
        off += 4
        if alg == 0:
            continue
        bucket_id, _type, _alg, _hash, weight, size = struct.unpack_from("<iHBBII", data, off)
        off += 16 + 4 * size
        entry: dict[str, Any] = {"weight": weight}
        if alg == BucketAlg.UNIFORM:
            off += 4
        elif alg == BucketAlg.LIST:
            pairs = struct.unpack_from(f"<{2 * size}I", data, off)
            off += 8 * size
            entry["sum_weights"] = list(pairs[1::2])
        elif alg == BucketAlg.TREE:
            num_nodes = data[off]
            entry["node_weights"] = list(struct.unpack_from(f"<{num_nodes}I", data, off + 1))
            off += 1 + 4 * num_nodes
        elif alg == BucketAlg.STRAW:
            pairs = struct.unpack_from(f"<{2 * size}I", data, off)
            off += 8 * size
            entry["straws"] = list(pairs[1::2])
        else:
            off += 4 * size
        found[bucket_id] = entry
    return found


@pytest.mark.parametrize("name", crush_map_names())
def test_derived_data_matches_ceph_binary(name: str) -> None:
    cmap = from_dump(load_vector(f"crush/{name}.dump.json"))
    binary = _read_binary_buckets((VECTORS / f"crush/{name}.bin").read_bytes())
    assert binary.keys() == cmap.buckets.keys()
    for bucket_id, expected in binary.items():
        bucket = cmap.buckets[bucket_id]
        assert {key: getattr(bucket, key) for key in expected} == expected, bucket.name


def test_straw_calc_versions_differ_on_duplicate_weights() -> None:
    weights = [0x10000, 0x10000, 0x20000, 0]
    v0 = builder.calc_straws(weights, 0)
    v1 = builder.calc_straws(weights, 1)
    assert v0[0] == v0[1] == v1[0] == v1[1] == 0x10000
    assert v0[3] == v1[3] == 0
    assert v0[2] != v1[2]


def test_tree_numbering() -> None:
    assert [builder.tree_node(i) for i in range(4)] == [1, 3, 5, 7]
    assert [builder.tree_depth(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 3, 3, 4]
    assert builder.tree_parent(1) == 2
    assert builder.tree_parent(3) == 2
    assert builder.tree_parent(2) == 4
    assert builder.tree_parent(6) == 4


weights_lists = st.lists(st.integers(min_value=0, max_value=0x40000), min_size=1, max_size=9)
algs = st.sampled_from([BucketAlg.LIST, BucketAlg.TREE, BucketAlg.STRAW, BucketAlg.STRAW2])


def _bucket(alg: BucketAlg, weights: list[int]) -> Bucket:
    bucket = Bucket(-1, "b", 1, alg, items=list(range(len(weights))), item_weights=list(weights))
    builder.derive(bucket, 1)
    return bucket


@given(algs, weights_lists, st.integers(min_value=0, max_value=0x40000))
def test_adding_an_item_equals_building_with_it(
    alg: BucketAlg, weights: list[int], extra: int
) -> None:
    bucket = _bucket(alg, weights)
    builder.bucket_add_item(bucket, len(weights), extra, 1)
    assert bucket == _bucket(alg, [*weights, extra])


@given(algs, weights_lists, st.data())
def test_adjusting_a_weight_equals_building_with_it(
    alg: BucketAlg, weights: list[int], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(weights) - 1))
    new = data.draw(st.integers(min_value=0, max_value=0x40000))
    bucket = _bucket(alg, weights)
    diff = builder.bucket_adjust_item_weight(bucket, index, new, 1)
    changed = [*weights]
    changed[index] = new
    assert diff == new - weights[index]
    assert bucket == _bucket(alg, changed)


@given(
    st.sampled_from([BucketAlg.LIST, BucketAlg.STRAW, BucketAlg.STRAW2]), weights_lists, st.data()
)
def test_removing_an_item_equals_building_without_it(
    alg: BucketAlg, weights: list[int], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(weights) - 1))
    bucket = _bucket(alg, weights)
    builder.bucket_remove_item(bucket, index, 1)
    expected = _bucket(alg, weights)
    del expected.items[index], expected.item_weights[index]
    builder.derive(expected, 1)
    assert bucket == expected


def test_tree_removal_keeps_inner_slots() -> None:
    bucket = _bucket(BucketAlg.TREE, [0x10000, 0x20000, 0x30000])
    builder.bucket_remove_item(bucket, 1, 1)
    assert bucket.items == [0, 1, 2]
    assert bucket.weight == 0x40000
    builder.bucket_remove_item(bucket, 2, 1)
    assert bucket.items == [0]
    assert bucket.node_weights == [0, 0x10000]


def test_adjust_item_weight_propagates_to_parents() -> None:
    cmap = from_dump(load_vector("crush/two_level.dump.json"))
    host = cmap.buckets[-1]
    root_id = next(b.id for b in cmap.buckets.values() if host.id in b.items)
    before = cmap.buckets[root_id].weight
    device = host.items[0]
    delta = 0x8000 - host.item_weights[0]
    assert builder.adjust_item_weight(cmap, device, 0x8000) >= 2
    assert cmap.buckets[root_id].weight == before + delta


def test_reweight_all_sums_the_devices() -> None:
    cmap = CrushMap()
    for bucket_id, items in ((-1, [0, 1]), (-2, [2]), (-3, [-1, -2])):
        bucket = Bucket(
            bucket_id,
            f"b{bucket_id}",
            1,
            BucketAlg.STRAW2,
            items=items,
            item_weights=[0x10000] * len(items),
        )
        builder.derive(bucket, 1)
        cmap.buckets[bucket_id] = bucket
    builder.reweight_all(cmap)
    assert cmap.buckets[-3].item_weights == [0x20000, 0x10000]
    assert cmap.buckets[-3].weight == 0x30000
