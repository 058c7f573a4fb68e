"""`osd crush set-device-class|rm-device-class|class ls|class ls-osd`: Ceph's wording,
errors that change nothing, and shadow trees that placement follows."""

from __future__ import annotations

import errno
import json

import pytest

from radospy.common.errors import InvalidArgument
from radospy.osdmap.pg import PgId
from tests.unit.mon_helpers import with_osds


def test_set_lists_and_places_by_class() -> None:
    mon = with_osds(4)
    epoch = mon.state.osdmap.epoch
    result = mon.ok("osd crush set-device-class ssd osd.0 1")
    assert result.outs == "set osd(s) 0,1 to class 'ssd'"
    assert mon.ok("osd crush set-device-class hdd 2 3").outs == "set osd(s) 2,3 to class 'hdd'"
    assert mon.state.osdmap.epoch == epoch + 2
    assert mon.ok("osd crush class ls").outbuf == b'[\n    "ssd",\n    "hdd"\n]\n'
    assert mon.ok("osd crush class ls --format json").outbuf == b'["ssd","hdd"]'
    assert mon.ok("osd crush class ls-osd ssd").outbuf == b"0\n1\n"
    assert json.loads(mon.ok("osd crush class ls-osd hdd --format json").outbuf) == [2, 3]
    assert mon.ok("osd crush class ls-osd nvme").outbuf == b""
    cmap = mon.state.osdmap.crush
    assert {cmap.buckets[b].name for b in cmap.buckets if cmap.is_shadow(b)} >= {
        "default~ssd",
        "default~hdd",
        "h0~ssd",
        "h3~hdd",
    }
    # A rule restricted to a class places on that class only.
    mon.ok("osd crush rule create-replicated fast default host ssd")
    mon.ok("osd pool create p 16 16 replicated fast")
    pool = next(iter(mon.state.osdmap.pools))
    for ps in range(16):
        up = mon.state.osdmap.pg_to_up_acting_osds(PgId(pool, ps)).up
        assert up and set(up) <= {0, 1}


def test_rebinding_a_class_is_ebusy_and_changes_nothing() -> None:
    mon = with_osds(3)
    mon.ok("osd crush set-device-class hdd 0")
    before = mon.state.snapshot()
    result = mon.run("osd crush set-device-class ssd 1 0")
    assert result.rc == -errno.EBUSY
    assert result.outs == (
        "osd.0 has already bound to class 'hdd', can not reset class to 'ssd'; "
        "use 'ceph osd crush rm-device-class <id>' to remove old class first"
    )
    assert mon.state.snapshot() == before


def test_setting_the_same_class_again_is_no_change() -> None:
    mon = with_osds(2)
    mon.ok("osd crush set-device-class hdd 0")
    epoch = mon.state.osdmap.epoch
    assert mon.ok("osd crush set-device-class hdd 0 7").outs == (
        "osd.0 already set to class hdd. "
        "set-device-class item id 0 name 'osd.0' device_class 'hdd': no change. "
        "osd.7 does not exist. set osd(s)  to class 'hdd'"
    )
    assert mon.ok("osd crush set-device-class hdd all").outs == (
        "osd.0 already set to class hdd. set osd(s) 1 to class 'hdd'"
    )
    assert mon.state.osdmap.epoch == epoch + 1


def test_rm_device_class_keeps_the_class_name() -> None:
    mon = with_osds(3)
    mon.ok("osd crush set-device-class ssd 0 1")
    assert mon.ok("osd crush rm-device-class 0 2 9").outs == (
        "osd.2 belongs to no class, osd.9 does not exist. done removing class of osd(s): 0"
    )
    assert mon.ok("osd crush class ls-osd ssd").outbuf == b"1\n"
    assert mon.ok("osd crush rm-device-class all").outs == (
        "osd.0 belongs to no class, osd.2 belongs to no class, done removing class of osd(s): 1"
    )
    assert json.loads(mon.ok("osd crush class ls --format json").outbuf) == ["ssd"]
    assert mon.ok("osd crush class ls-osd ssd").outbuf == b""
    # With no class bound any more, the old one can be replaced.
    assert mon.ok("osd crush set-device-class nvme 0").outs == "set osd(s) 0 to class 'nvme'"


def test_bad_ids_and_class_names_are_einval() -> None:
    mon = with_osds(1)
    before = mon.state.snapshot()
    assert mon.run("osd crush set-device-class ssd osd.x").rc == -errno.EINVAL
    assert mon.run("osd crush rm-device-class foo").rc == -errno.EINVAL
    with pytest.raises(InvalidArgument, match="invalid chars in s~d"):
        mon.run("osd crush set-device-class s~d 0")
    with pytest.raises(InvalidArgument, match="Invalid command"):
        mon.run("osd crush set-device-class ssd")
    assert mon.state.snapshot() == before
