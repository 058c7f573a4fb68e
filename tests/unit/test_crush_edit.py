"""Live crushmap edits (`radospy.crush.edit`) against maps Ceph's crushtool edited."""

from __future__ import annotations

import pytest

from radospy.common.errors import Exists, InvalidArgument, NotFound
from radospy.crush import codec, edit
from radospy.crush.map import WEIGHT_ONE
from radospy.crush.mapper import do_rule
from tests.conftest import VECTORS


def _load(relpath: str):
    return codec.decode((VECTORS / relpath).read_bytes())


def _expected(name: str) -> bytes:
    return (VECTORS / "edit" / name).read_bytes()


def test_remove_device_matches_crushtool() -> None:
    cmap = _load("crush/device_classes.bin")
    edit.remove_item(cmap, 5)
    assert codec.encode(cmap) == _expected("device_classes.remove_osd5.bin")


def test_reweight_device_matches_crushtool() -> None:
    cmap = _load("crush/device_classes.bin")
    edit.reweight_item(cmap, 6, WEIGHT_ONE // 2)
    assert codec.encode(cmap) == _expected("device_classes.reweight_osd6.bin")


def test_readd_device_matches_crushtool() -> None:
    cmap = _load("edit/device_classes.remove_osd5.bin")
    edit.insert_device(cmap, 5, int(1.5 * WEIGHT_ONE), {"host": "host2", "root": "default"})
    assert codec.encode(cmap) == _expected("device_classes.readd_osd5.bin")


def test_add_device_under_new_host_matches_crushtool() -> None:
    cmap = _load("crush/device_classes.bin")
    edit.insert_device(cmap, 16, 2 * WEIGHT_ONE, {"host": "host9", "root": "default"})
    assert codec.encode(cmap) == _expected("device_classes.add_osd16_newhost.bin")


def test_edits_are_seen_by_the_next_mapping() -> None:
    cmap = _load("crush/device_classes.bin")
    weights = [WEIGHT_ONE] * cmap.max_devices
    before = [do_rule(cmap, 0, x, 3, weights) for x in range(256)]
    assert any(5 in result for result in before)
    edit.remove_item(cmap, 5)
    after = [do_rule(cmap, 0, x, 3, weights) for x in range(256)]
    assert not any(5 in result for result in after)


def test_remove_then_readd_restores_placement() -> None:
    original = _load("crush/device_classes.bin")
    cmap = _load("crush/device_classes.bin")
    weight = 119209  # osd.5's weight in host1
    edit.remove_item(cmap, 5)
    edit.insert_device(cmap, 5, weight, {"host": "host1", "root": "default"}, "hdd")
    weights = [WEIGHT_ONE] * cmap.max_devices
    for rule in (0, 2, 3):
        for x in range(128):
            assert do_rule(cmap, rule, x, 3, weights) == do_rule(original, rule, x, 3, weights)


def test_bad_edits_change_nothing() -> None:
    cmap = _load("crush/device_classes.bin")
    before = codec.encode(cmap)
    with pytest.raises(NotFound):
        edit.remove_item(cmap, 99)
    with pytest.raises(InvalidArgument):
        edit.remove_item(cmap, -1)  # host0 is not empty
    with pytest.raises(Exists):
        edit.insert_device(cmap, 3, WEIGHT_ONE, {"host": "host0"})
    with pytest.raises(InvalidArgument):
        edit.insert_device(cmap, 20, WEIGHT_ONE, {"shelf": "s1"})
    with pytest.raises(InvalidArgument):
        edit.insert_device(cmap, 20, WEIGHT_ONE, {"root": "host0"})
    with pytest.raises(NotFound):
        edit.reweight_item(cmap, 99, WEIGHT_ONE)
    assert codec.encode(cmap) == before
