"""`rados listsnaps` output, as Ceph's tool prints it (plain and JSON)."""

from __future__ import annotations

from radospy.cli.rados_snaps import listsnaps_json, listsnaps_text
from radospy.common import osdop as o
from radospy.osd.objectstore.types import NOSNAP

LISTING = o.SnapList(
    [
        o.CloneInfo(2, [1, 2], [(0, 4), (8, 2)], 10),
        o.CloneInfo(5, [5], [], 12),
        o.CloneInfo(NOSNAP, [], [], 7),
    ],
    5,
)


def test_plain_rows_end_with_the_head():
    assert listsnaps_text("obj", LISTING) == (
        "obj:\ncloneid\tsnaps\tsize\toverlap\n2\t1,2\t10\t[0~4,8~2]\n5\t5\t12\t[]\nhead\t-\t7\n"
    )


def test_plain_without_a_head_ends_with_a_blank_line():
    listing = o.SnapList(LISTING.clones[:1], 5)
    assert listsnaps_text("obj", listing) == (
        "obj:\ncloneid\tsnaps\tsize\toverlap\n2\t1,2\t10\t[0~4,8~2]\n\n"
    )


def test_json():
    assert listsnaps_json("obj", LISTING) == {
        "name": "obj",
        "clones": [
            {
                "id": 2,
                "snapshots": [{"id": 1}, {"id": 2}],
                "size": 10,
                "overlaps": [{"start": 0, "length": 4}, {"start": 8, "length": 2}],
            },
            {"id": 5, "snapshots": [{"id": 5}], "size": 12, "overlaps": []},
            {"id": "head", "snapshots": [], "size": 7},
        ],
    }
