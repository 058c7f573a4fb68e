"""The vectorised whole-pool mapper gives exactly what the scalar `do_rule` gives.

Checked three ways: against Ceph's own crushtool output for every case of the vector
set, against `do_rule` on the same cases, and as a hypothesis property over random
hierarchies, tunables, rules, weight sets and reweights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.crush import builder, mapper
from radospy.crush.batch import (
    BatchMapper,
    hash32_2,
    hash32_3,
    map_batch,
    map_batch_with_lengths,
)
from radospy.crush.dump import bucket_array_size, from_dump
from radospy.crush.hash import crush_hash32_2, crush_hash32_3
from radospy.crush.map import (
    ITEM_NONE,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    Tunables,
)
from radospy.crush.tester import choose_args_key
from tests.conftest import crush_map_names, load_vector

U32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


@given(st.lists(st.tuples(U32, U32, U32), min_size=1, max_size=50))
def test_vector_hashes_equal_scalar(triples: list[tuple[int, int, int]]) -> None:
    a, b, c = (np.array(col, dtype=np.uint32) for col in zip(*triples, strict=True))
    assert hash32_3(a, b, c).tolist() == [crush_hash32_3(0, *t) for t in triples]
    assert hash32_2(a, b).tolist() == [crush_hash32_2(0, p, q) for p, q, _ in triples]


# -- Ceph's vectors -------------------------------------------------------------------------


def _cases() -> list[tuple[str, int]]:
    return [
        (name, i)
        for name in crush_map_names()
        for i in range(len(load_vector(f"mappings/{name}.json")["cases"]))
    ]


_MAPS: dict[str, CrushMap] = {}


def _map(name: str) -> CrushMap:
    if name not in _MAPS:
        _MAPS[name] = from_dump(load_vector(f"crush/{name}.dump.json"))
    return _MAPS[name]


def _test_weights(cmap: CrushMap, case: dict[str, Any]) -> list[int]:
    """crushtool --test's weight vector: devices in a bucket 1.0, others 0, then --weight."""
    weights = [0] * cmap.max_devices
    for bucket in cmap.buckets.values():
        for item in bucket.items:
            if item >= 0:
                weights[item] = WEIGHT_ONE
    for dev, weight in case.get("weights_16_16", {}).items():
        weights[int(dev)] = weight
    return weights


@pytest.mark.parametrize(("name", "index"), _cases())
def test_batch_equals_ceph_and_scalar(name: str, index: int) -> None:
    cmap = _map(name)
    case = load_vector(f"mappings/{name}.json")["cases"][index]
    xs = [int(x) for x in case["x"]]
    if case.get("pool_id") is not None:
        crush_xs = [crush_hash32_2(0, x, case["pool_id"]) for x in xs]
    else:
        crush_xs = xs
    weights = _test_weights(cmap, case)
    key = choose_args_key(cmap, 0)
    results, lengths = map_batch_with_lengths(
        cmap, case["rule"], np.array(crush_xs, dtype=np.uint32), case["num_rep"], weights, key
    )
    got = [results[i, : lengths[i]].tolist() for i in range(len(xs))]
    assert got == [case["x"][str(x)] for x in xs]
    # The scalar mapper is itself checked against every vector; a sample keeps this quick.
    sample = range(0, len(xs), 16)
    assert [got[i] for i in sample] == [
        mapper.do_rule(cmap, case["rule"], crush_xs[i], case["num_rep"], weights, key)
        for i in sample
    ]
    assert (results[np.arange(results.shape[1]) >= lengths[:, None]] == ITEM_NONE).all()


def test_map_batch_shape_and_reuse() -> None:
    cmap = _map("two_level")
    weights = _test_weights(cmap, {})
    xs = np.arange(100, dtype=np.uint32)
    plain = map_batch(cmap, 0, xs, 3, weights)
    assert plain.shape == (100, 3)
    assert plain.dtype == np.int32
    bm = BatchMapper(cmap)
    again, lengths = bm.map(0, xs, 3, weights)
    assert (again == plain).all()
    assert (lengths == 3).all()
    empty, empty_lengths = bm.map(0, np.array([], dtype=np.uint32), 3, weights)
    assert empty.shape == (0, 3)
    assert empty_lengths.shape == (0,)
    missing, missing_lengths = bm.map(99, xs[:4], 3, weights)
    assert (missing == ITEM_NONE).all()
    assert (missing_lengths == 0).all()


# -- random hierarchies ---------------------------------------------------------------------

_ALGS = st.sampled_from([BucketAlg.STRAW2] * 6 + [BucketAlg.STRAW])
_OTHER_ALGS = st.sampled_from(list(BucketAlg))
_WEIGHT = st.one_of(
    st.just(WEIGHT_ONE),
    st.integers(min_value=0, max_value=8 * WEIGHT_ONE),
    st.just(0),
)
_REWEIGHT = st.one_of(
    st.just(WEIGHT_ONE),
    st.just(0),
    st.integers(min_value=1, max_value=WEIGHT_ONE - 1),
    st.just(2 * WEIGHT_ONE),
)


@st.composite
def _hierarchy(draw: st.DrawFn, any_alg: bool) -> CrushMap:
    """Devices grouped level by level into buckets of types 1, 2, ... under one root.

    With `any_alg` some buckets use an unknown hash type, which the batch leaves to the
    scalar mapper (Ceph's hash is then 0 for every input).
    """
    tunables = Tunables(
        choose_local_tries=draw(st.integers(0, 2)),
        choose_local_fallback_tries=draw(st.integers(0, 5)),
        choose_total_tries=draw(st.integers(1, 50)),
        chooseleaf_descend_once=draw(st.integers(0, 1)),
        chooseleaf_vary_r=draw(st.integers(0, 2)),
        chooseleaf_stable=draw(st.integers(0, 1)),
        straw_calc_version=draw(st.integers(0, 1)),
    )
    cmap = CrushMap(tunables=tunables)
    num_devices = draw(st.integers(1, 24))
    cmap.device_names = {d: f"osd.{d}" for d in range(num_devices)}
    cmap.max_devices = num_devices
    levels = draw(st.integers(1, 3))
    cmap.types = {t: f"type{t}" for t in range(levels + 1)}
    layer = [(d, draw(_WEIGHT)) for d in range(num_devices)]
    next_id = -1
    for level in range(1, levels + 1):
        groups: list[list[tuple[int, int]]] = []
        rest = list(layer)
        while rest:
            take = len(rest) if level == levels else draw(st.integers(1, max(1, len(rest))))
            groups.append(rest[:take])
            rest = rest[take:]
        layer = []
        for group in groups:
            alg = draw(_OTHER_ALGS if any_alg else _ALGS)
            bucket = Bucket(
                id=next_id,
                name=f"b{-next_id}",
                type_id=level,
                alg=alg,
                items=[item for item, _ in group],
                item_weights=[weight for _, weight in group],
                hash=draw(st.sampled_from([0] * 9 + [1])) if any_alg else 0,
            )
            builder.derive(bucket, tunables.straw_calc_version)
            cmap.buckets[bucket.id] = bucket
            layer.append((bucket.id, bucket.weight))
            next_id -= 1
    cmap.max_buckets = bucket_array_size(-next_id - 1)
    root = layer[0][0]
    if draw(st.booleans()):
        cmap.choose_args[-1] = _weight_set(draw, cmap)
    cmap.rules[0] = Rule(id=0, name="r", steps=_steps(draw, root, levels))
    return cmap


def _weight_set(draw: st.DrawFn, cmap: CrushMap) -> dict[int, ChooseArg]:
    args = {}
    positions = draw(st.integers(0, 3))
    for bid, bucket in cmap.buckets.items():
        if bucket.alg != BucketAlg.STRAW2 or not draw(st.booleans()):
            continue
        weight_set = [[draw(_WEIGHT) for _ in bucket.items] for _ in range(positions)]
        ids = None
        if draw(st.booleans()):
            ids = [draw(st.integers(-(2**31), 2**31 - 1)) for _ in bucket.items]
        args[bid] = ChooseArg(bucket_id=bid, weight_set=weight_set, ids=ids)
    return args


def _steps(draw: st.DrawFn, root: int, levels: int) -> list[RuleStep]:
    steps = [RuleStep(Op.TAKE, root)]
    for op, low in (
        (Op.SET_CHOOSE_TRIES, 0),
        (Op.SET_CHOOSELEAF_TRIES, 0),
        (Op.SET_CHOOSELEAF_VARY_R, 0),
        (Op.SET_CHOOSELEAF_STABLE, 0),
        (Op.SET_CHOOSE_LOCAL_TRIES, 0),
        (Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES, 0),
    ):
        if draw(st.integers(0, 5)) == 0:
            steps.append(RuleStep(op, draw(st.integers(low, 3))))
    choose_ops = [Op.CHOOSE_FIRSTN, Op.CHOOSELEAF_FIRSTN, Op.CHOOSE_INDEP, Op.CHOOSELEAF_INDEP]
    top = levels
    for _ in range(draw(st.integers(1, 2))):
        if top <= 0:
            break
        type_ = draw(st.integers(0, top - 1))
        steps.append(RuleStep(draw(st.sampled_from(choose_ops)), draw(st.integers(-1, 4)), type_))
        top = type_
    steps.append(RuleStep(Op.EMIT))
    return steps


def _reweights(draw: st.DrawFn, num_devices: int) -> list[int]:
    length = draw(st.integers(max(0, num_devices - 2), num_devices))
    return [draw(_REWEIGHT) for _ in range(length)]


def _check(cmap: CrushMap, reweights: list[int], xs: list[int], result_max: int) -> None:
    key = -1 if cmap.choose_args else None
    results, lengths = map_batch_with_lengths(
        cmap, 0, np.array(xs, dtype=np.uint32), result_max, reweights, key
    )
    got = [results[i, : lengths[i]].tolist() for i in range(len(xs))]
    assert got == [mapper.do_rule(cmap, 0, x, result_max, reweights, key) for x in xs]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_straw2_hierarchies_equal_scalar(data: st.DataObject) -> None:
    cmap = data.draw(_hierarchy(any_alg=False))
    reweights = _reweights(data.draw, cmap.max_devices)
    xs = data.draw(st.lists(U32, min_size=1, max_size=40))
    _check(cmap, reweights, xs, data.draw(st.integers(1, 6)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_mixed_algs_equal_scalar(data: st.DataObject) -> None:
    cmap = data.draw(_hierarchy(any_alg=True))
    reweights = _reweights(data.draw, cmap.max_devices)
    xs = data.draw(st.lists(U32, min_size=1, max_size=20))
    _check(cmap, reweights, xs, data.draw(st.integers(1, 6)))


def test_whole_range_matches_scalar_on_a_large_map() -> None:
    cmap = _map("three_level_uneven")
    weights = _test_weights(cmap, {"weights_16_16": {"1": 0, "5": 0x8000}})
    xs = np.arange(0, 20000, 7, dtype=np.uint32)
    for rule in cmap.rules:
        results, lengths = BatchMapper(cmap).map(rule, xs, 4, weights)
        for i in range(0, xs.size, 97):
            want = mapper.do_rule(cmap, rule, int(xs[i]), 4, weights)
            assert results[i, : lengths[i]].tolist() == want


def test_unvectorised_inputs_go_to_the_scalar_mapper() -> None:
    cmap = from_dump(load_vector("crush/two_level.dump.json"))
    host = next(b for b in cmap.buckets.values() if b.type_id == 1)
    host.hash = 1
    mapper.invalidate(cmap)
    weights = _test_weights(cmap, {})
    xs = np.arange(300, dtype=np.uint32)
    for rule in cmap.rules:
        results, lengths = map_batch_with_lengths(cmap, rule, xs, 3, weights)
        want = [mapper.do_rule(cmap, rule, int(x), 3, weights) for x in xs]
        assert [results[i, : lengths[i]].tolist() for i in range(xs.size)] == want
