"""The striper: logical ranges to object extents and back, as Ceph's Striper maps them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.client.striper import (
    FileLayout,
    ObjectExtent,
    StripedReadResult,
    extent_to_file,
    file_to_extents,
    get_file_offset,
    get_num_objects,
    object_truncate_size,
    rbd_data_namer,
    striper_object_namer,
)
from radospy.common.errors import InvalidArgument

MiB = 1 << 20
name = striper_object_namer("obj")


@st.composite
def layouts(draw: st.DrawFn) -> FileLayout:
    su = draw(st.sampled_from([1, 2, 3, 4, 8, 16]))
    return FileLayout(su, draw(st.integers(1, 4)), su * draw(st.integers(1, 4)))


@st.composite
def ranges(draw: st.DrawFn) -> tuple[FileLayout, int, int]:
    layout = draw(layouts())
    span = layout.period * 4
    return layout, draw(st.integers(0, span)), draw(st.integers(0, span))


def merge(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent (offset, length) pieces joined."""
    out: list[tuple[int, int]] = []
    for off, length in pieces:
        if out and out[-1][0] + out[-1][1] == off:
            out[-1] = (out[-1][0], out[-1][1] + length)
        else:
            out.append((off, length))
    return out


def test_default_layout_is_4mib_objects_unstriped() -> None:
    layout = FileLayout()
    assert (layout.stripe_unit, layout.stripe_count, layout.object_size) == (4 * MiB, 1, 4 * MiB)
    extents = file_to_extents(layout, 3 * MiB, 6 * MiB, name)
    assert extents == [
        ObjectExtent("obj.0000000000000000", 0, 3 * MiB, MiB, ((0, MiB),)),
        ObjectExtent("obj.0000000000000001", 1, 0, 4 * MiB, ((MiB, 4 * MiB),)),
        ObjectExtent("obj.0000000000000002", 2, 0, MiB, ((5 * MiB, MiB),)),
    ]


def test_striped_layout_gathers_each_objects_units() -> None:
    layout = FileLayout(MiB, 4, 4 * MiB)
    extents = file_to_extents(layout, 0, 5 * MiB + MiB // 2, name, buffer_offset=10)
    assert [(e.objectno, e.offset, e.length, e.buffer_extents) for e in extents] == [
        (0, 0, 2 * MiB, ((10, MiB), (10 + 4 * MiB, MiB))),
        (1, 0, MiB + MiB // 2, ((10 + MiB, MiB), (10 + 5 * MiB, MiB // 2))),
        (2, 0, MiB, ((10 + 2 * MiB, MiB),)),
        (3, 0, MiB, ((10 + 3 * MiB, MiB),)),
    ]


def test_object_sets_follow_the_kernel_example() -> None:
    """stripe_count 3, 4 stripes per object: block 12 opens object set 1 (object 3)."""
    layout = FileLayout(1, 3, 4)
    blocks = {b: file_to_extents(layout, b, 1, name)[0] for b in range(24)}
    assert [blocks[b].objectno for b in (0, 3, 6, 9)] == [0, 0, 0, 0]
    assert [blocks[b].offset for b in (0, 3, 6, 9)] == [0, 1, 2, 3]
    assert [blocks[b].objectno for b in (1, 2, 12, 13, 14, 15)] == [1, 2, 3, 4, 5, 3]
    assert blocks[15].offset == 1


def test_names_like_libradosstriper_and_rbd() -> None:
    assert striper_object_namer("foo")(1) == "foo.0000000000000001"
    assert rbd_data_namer("10226b8b4567")(0x1F) == "rbd_data.10226b8b4567.000000000000001f"


@pytest.mark.parametrize(
    ("su", "sc", "os"), [(0, 1, 4), (4, 0, 4), (4, 1, 0), (3, 1, 4), (8, 1, 4), (2**32, 1, 2**32)]
)
def test_invalid_layouts_are_refused(su: int, sc: int, os: int) -> None:
    with pytest.raises(InvalidArgument):
        FileLayout(su, sc, os)


def test_invalid_ranges_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        file_to_extents(FileLayout(), -1, 4, name)
    with pytest.raises(InvalidArgument):
        extent_to_file(FileLayout(), 0, 0, -1)
    assert file_to_extents(FileLayout(), 5, 0, name) == []


@settings(max_examples=400, deadline=None)
@given(ranges(), st.integers(0, 100))
def test_extents_cover_the_range_once_in_order_within_objects(
    case: tuple[FileLayout, int, int], buffer_offset: int
) -> None:
    layout, offset, length = case
    extents = file_to_extents(layout, offset, length, name, buffer_offset)
    objectnos = [e.objectno for e in extents]
    assert objectnos == sorted(set(objectnos))  # in object order, one extent each
    covered: list[tuple[int, int]] = []
    for e in extents:
        assert e.oid == name(e.objectno)
        assert e.offset >= 0 and e.length > 0 and e.offset + e.length <= layout.object_size
        assert sum(n for _, n in e.buffer_extents) == e.length
        assert list(e.buffer_extents) == sorted(e.buffer_extents)
        covered += e.buffer_extents
        # Every byte lands where the reverse mapping says it comes from.
        pos = e.offset
        for boff, n in e.buffer_extents:
            logical = offset + boff - buffer_offset
            assert get_file_offset(layout, e.objectno, pos) == logical
            assert merge(extent_to_file(layout, e.objectno, pos, n)) == [(logical, n)]
            pos += n
    expected = [(buffer_offset, length)] if length else []
    assert merge(sorted(covered)) == expected


@settings(max_examples=300, deadline=None)
@given(ranges(), st.data())
def test_write_then_read_round_trips(
    case: tuple[FileLayout, int, int], data: st.DataObject
) -> None:
    layout, offset, length = case
    payload = data.draw(st.binary(min_size=length, max_size=length))
    objects: dict[int, bytearray] = {}
    for e in file_to_extents(layout, offset, length, name):
        obj = objects.setdefault(e.objectno, bytearray())
        chunk = b"".join(payload[b : b + n] for b, n in e.buffer_extents)
        obj.extend(bytes(max(0, e.offset + e.length - len(obj))))
        obj[e.offset : e.offset + e.length] = chunk
    result = StripedReadResult()
    views = data.draw(st.booleans())  # as AsyncIoctx.read_view returns them
    for e in file_to_extents(layout, offset, length, name):
        got = bytes(objects[e.objectno][e.offset : e.offset + e.length])
        result.add_partial_result(memoryview(got) if views else got, e.buffer_extents)
    assembled = result.assemble()
    assert type(assembled) is bytes and assembled == payload


def test_short_objects_read_as_holes() -> None:
    layout = FileLayout(4, 2, 8)
    extents = file_to_extents(layout, 0, 16, name)
    assert [e.objectno for e in extents] == [0, 1]
    result = StripedReadResult()
    result.add_partial_result(b"", extents[0].buffer_extents)  # object 0 absent
    result.add_partial_result(b"BBBBbb", extents[1].buffer_extents)  # object 1 short
    assert result.assemble() == bytes(4) + b"BBBB" + bytes(4) + b"bb"
    result.add_partial_result(b"", extents[0].buffer_extents)
    result.add_partial_result(b"BBBBbb", extents[1].buffer_extents)
    assert result.assemble(zero_tail=True) == bytes(4) + b"BBBB" + bytes(4) + b"bb\0\0"


@settings(max_examples=300, deadline=None)
@given(layouts(), st.integers(0, 200))
def test_num_objects_and_truncate_sizes_match_the_extents(layout: FileLayout, size: int) -> None:
    ends: dict[int, int] = {}
    for e in file_to_extents(layout, 0, size, name):
        ends[e.objectno] = e.offset + e.length
    assert get_num_objects(layout, size) == len(ends)
    for objectno in range(len(ends) + 2 * layout.stripe_count):
        assert object_truncate_size(layout, objectno, size) == ends.get(objectno, 0)
