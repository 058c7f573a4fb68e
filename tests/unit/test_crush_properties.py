"""Properties of CRUSH placement that Ceph relies on, on generated maps."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.crush import buckets, builder
from radospy.crush.buckets import make_chooser
from radospy.crush.dump import from_dump
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    ITEM_NONE,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    RuleType,
    Tunables,
)
from radospy.crush.mapper import do_rule
from tests.conftest import load_vector

HOST, ROOT = 1, 11
JEWEL = Tunables(0, 0, 50, 1, 1, 1, 1, ALL_BUCKET_ALGS)
XS = range(64)


def _bucket(bucket_id: int, type_id: int, items: list[int], weights: list[int]) -> Bucket:
    bucket = Bucket(bucket_id, f"b{-bucket_id}", type_id, BucketAlg.STRAW2, 0, items, weights)
    builder.derive(bucket, 1)
    return bucket


def _rule(rule_id: int, rule_type: int, *steps: tuple[Op, int, int]) -> Rule:
    return Rule(rule_id, f"r{rule_id}", rule_type, steps=[RuleStep(*s) for s in steps])


def flat_map(weights: list[int]) -> CrushMap:
    """One straw2 root holding every OSD; rule 0 picks OSDs firstn, rule 1 indep."""
    cmap = CrushMap(tunables=JEWEL, types={0: "osd", ROOT: "root"})
    cmap.device_names = {i: f"osd.{i}" for i in range(len(weights))}
    cmap.buckets[-1] = _bucket(-1, ROOT, list(range(len(weights))), weights)
    take = (Op.TAKE, -1, 0)
    emit = (Op.EMIT, 0, 0)
    cmap.rules[0] = _rule(0, RuleType.REPLICATED, take, (Op.CHOOSE_FIRSTN, 0, 0), emit)
    cmap.rules[1] = _rule(1, RuleType.ERASURE, take, (Op.CHOOSE_INDEP, 0, 0), emit)
    cmap.max_devices = len(weights)
    cmap.max_buckets = 8
    return cmap


def host_map(hosts: list[list[int]]) -> CrushMap:
    """Hosts of OSDs (given by their crush weights) under one root; chooseleaf by host."""
    cmap = CrushMap(tunables=JEWEL, types={0: "osd", HOST: "host", ROOT: "root"})
    osd = 0
    for index, weights in enumerate(hosts):
        items = list(range(osd, osd + len(weights)))
        cmap.buckets[-2 - index] = _bucket(-2 - index, HOST, items, weights)
        osd += len(weights)
    host_ids = sorted(cmap.buckets, reverse=True)
    root_weights = [cmap.buckets[h].weight for h in host_ids]
    cmap.buckets[-1] = _bucket(-1, ROOT, host_ids, root_weights)
    cmap.device_names = {i: f"osd.{i}" for i in range(osd)}
    take = (Op.TAKE, -1, 0)
    emit = (Op.EMIT, 0, 0)
    cmap.rules[0] = _rule(0, RuleType.REPLICATED, take, (Op.CHOOSELEAF_FIRSTN, 0, HOST), emit)
    cmap.rules[1] = _rule(1, RuleType.ERASURE, take, (Op.CHOOSELEAF_INDEP, 0, HOST), emit)
    cmap.max_devices = osd
    cmap.max_buckets = 64
    return cmap


osd_weights = st.integers(min_value=1, max_value=8 * WEIGHT_ONE)
flat_weights = st.lists(osd_weights, min_size=2, max_size=24)
host_osds = st.lists(st.one_of(st.just(0), osd_weights), min_size=1, max_size=5).filter(any)
"""One host's OSD weights, some possibly zero but not all: straw2 returns its first item
when every item weighs 0 (as Ceph does), so an all-zero host could still be picked."""
hosts = st.lists(host_osds, min_size=2, max_size=7)


@settings(max_examples=15, deadline=None)
@given(hosts, st.integers(min_value=1, max_value=6), st.sampled_from([0, 1]))
def test_same_input_same_output(layout: list[list[int]], num_rep: int, rule: int) -> None:
    cmap = host_map(layout)
    twin = host_map(layout)
    weights = [WEIGHT_ONE] * cmap.max_devices
    for x in XS:
        first = do_rule(cmap, rule, x, num_rep, weights)
        assert first == do_rule(cmap, rule, x, num_rep, weights)
        assert first == do_rule(twin, rule, x, num_rep, weights)


@settings(max_examples=20, deadline=None)
@given(flat_weights, st.data())
def test_straw2_moves_data_only_to_or_from_the_reweighted_osd(
    weights: list[int], data: st.DataObject
) -> None:
    changed = data.draw(st.integers(min_value=0, max_value=len(weights) - 1))
    new_weight = data.draw(osd_weights)
    before = flat_map(weights)
    after_weights = list(weights)
    after_weights[changed] = new_weight
    after = flat_map(after_weights)
    vector = [WEIGHT_ONE] * len(weights)
    for x in XS:
        old = do_rule(before, 0, x, 1, vector)
        new = do_rule(after, 0, x, 1, vector)
        if old != new:
            assert changed in (old[0], new[0])
            # Heavier means it only gains inputs, lighter means it only loses them.
            assert new[0] == changed if new_weight > weights[changed] else old[0] == changed


@settings(max_examples=20, deadline=None)
@given(
    st.lists(osd_weights, min_size=7, max_size=24),
    st.integers(min_value=2, max_value=6),
    st.data(),
)
def test_indep_keeps_other_positions_when_a_device_fails(
    weights: list[int], num_rep: int, data: st.DataObject
) -> None:
    cmap = flat_map(weights)
    failed = data.draw(st.integers(min_value=0, max_value=len(weights) - 1))
    healthy = [WEIGHT_ONE] * len(weights)
    degraded = list(healthy)
    degraded[failed] = 0
    root = make_chooser(cmap.buckets[-1])
    for x in XS:
        old = do_rule(cmap, 1, x, num_rep, healthy)
        new = do_rule(cmap, 1, x, num_rep, degraded)
        assert len(new) == num_rep
        assert failed not in new
        first_round = [root.choose(x, rep, 0, {}) for rep in range(num_rep)]
        if len(set(first_round)) < num_rep:
            continue  # retries after a collision may legitimately reshuffle later positions
        for position, (was, now) in enumerate(zip(old, new, strict=True)):
            if was != failed:
                assert now == was, (x, position)


@settings(max_examples=15, deadline=None)
@given(hosts, st.integers(min_value=1, max_value=6), st.sampled_from([0, 1]))
def test_zero_weight_osds_are_never_chosen(
    layout: list[list[int]], num_rep: int, rule: int
) -> None:
    cmap = host_map(layout)
    zero = {
        osd
        for bucket in cmap.buckets.values()
        for osd, weight in zip(bucket.items, bucket.item_weights, strict=True)
        if weight == 0
    }
    weights = [WEIGHT_ONE] * cmap.max_devices
    for x in XS:
        assert not zero & set(do_rule(cmap, rule, x, num_rep, weights))


def test_reweighted_out_devices_are_never_chosen_even_with_legacy_tunables() -> None:
    cmap = from_dump(load_vector("crush/legacy_tunables.dump.json"))
    weights = [WEIGHT_ONE] * cmap.max_devices
    weights[2] = 0
    for rule in cmap.rules:
        for x in range(300):
            assert 2 not in do_rule(cmap, rule, x, 3, weights)


def test_firstn_never_returns_holes_and_indep_keeps_length() -> None:
    cmap = host_map([[WEIGHT_ONE], [WEIGHT_ONE], [WEIGHT_ONE]])
    weights = [WEIGHT_ONE] * cmap.max_devices
    for x in XS:
        assert len(do_rule(cmap, 0, x, 5, weights)) == 3
        indep = do_rule(cmap, 1, x, 5, weights)
        assert len(indep) == 5
        assert indep.count(ITEM_NONE) == 2


def test_the_straw2_ln_table_is_never_seen_half_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread mapping while another builds the straw2 ln table on its first choice sees
    no table or all of it: a half-filled one killed a monitor (IndexError in straw2)."""
    seen: list[int] = []
    real = buckets.crush_ln

    def watched(u: int) -> int:
        if u == 0x8000:
            seen.append(len(buckets._NEG_LN))
        return real(u)

    monkeypatch.setattr(buckets, "_NEG_LN", array("q"))
    monkeypatch.setattr(buckets, "crush_ln", watched)
    table = buckets.neg_ln_table()
    assert seen == [0]
    assert len(table) == 0x10000 and buckets._NEG_LN is table
