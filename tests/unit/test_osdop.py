"""The op vocabulary: wire encoding, validation at the boundary, classification."""

from __future__ import annotations

from typing import get_args

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.common import osdop as o
from radospy.common.errors import InvalidArgument
from radospy.common.eversion import Eversion

EVERY_OP: list[o.OsdOp] = [
    o.Create(exclusive=True),
    o.Write(4096, b"data"),
    o.WriteFull(b"all"),
    o.Append(b"more"),
    o.WriteSame(0, 8, b"ab"),
    o.Zero(10, 20),
    o.Truncate(7),
    o.Remove(),
    o.Read(0, 8192),
    o.Stat(),
    o.AssertExists(),
    o.AssertVersion(12),
    o.CmpExt(3, b"cmp"),
    o.SetXattr("user.a", b"v"),
    o.GetXattr("user.a"),
    o.GetXattrs(),
    o.RmXattr("user.a"),
    o.CmpXattr("user.a", o.CmpOp.GTE, b"5", mode=o.CmpMode.U64),
    o.OmapGetVals("a", "p", 10),
    o.OmapGetKeys("a", 10),
    o.OmapGetValsByKeys(["k1", "k2"]),
    o.OmapGetHeader(),
    o.OmapSet({"k": b"v", "\u00e9": b""}),
    o.OmapSetHeader(b"hdr"),
    o.OmapRmKeys(["k"]),
    o.OmapRmRange("a", "b"),
    o.OmapClear(),
    o.OmapCmp("k", b"v", o.CmpOp.EQ),
    o.Rollback(3),
    o.ListSnaps(),
]

EVERY_RESULT: list[o.OpResult] = [
    o.Status(rc=-o.ENOENT),
    o.ReadData(b"bytes"),
    o.StatData(5, 1_700_000_000_123_456_789),
    o.XattrValue(b"v"),
    o.XattrMap({"a": b"1"}),
    o.OmapVals({"k": b"v"}, more=True),
    o.OmapKeys(["a", "b"]),
    o.OmapHeader(b"h"),
    o.SnapList([o.CloneInfo(2, [1, 2], [(0, 4)], 8), o.CloneInfo(2**64 - 2, [], [], 4)], 2),
]


def test_every_op_round_trips():
    assert o.decode_ops(o.encode_ops(EVERY_OP)) == EVERY_OP


def test_every_result_round_trips():
    assert o.decode_results(o.encode_results(EVERY_RESULT)) == EVERY_RESULT


def test_result_view_union_differs_only_in_read_data():
    """`AnyOpResultView` restates `AnyOpResult` with ReadDataView for ReadData: a result
    type added to one and not the other would decode on one path only."""
    plain, views = get_args(o.AnyOpResult), get_args(o.AnyOpResultView)
    assert [o.ReadDataView if t is o.ReadData else t for t in plain] == list(views)


def test_ops_encode_as_tagged_arrays():
    raw = msgspec.msgpack.decode(o.encode_ops([o.Write(1, b"x", flags=o.OpFlag.FAILOK)]))
    assert raw == [["write", 1, b"x", int(o.OpFlag.FAILOK)]]


def test_tags_are_unique():
    tags = [type(op).__struct_config__.tag for op in EVERY_OP]
    assert len(set(tags)) == len(tags) == len(EVERY_OP)


@pytest.mark.parametrize(
    "raw",
    [
        [["write", -1, b"x", 0]],  # negative offset
        [["write", 0, "not bytes", 0]],
        [["no_such_op"]],
        [["cmpxattr", "n", 9, b"v", 1, 0]],  # unknown comparison operator
        [["read", 0, 0, -1]],  # negative flags
        [["omap_set", {"k": 1}, 0]],
        {"op": "write"},
    ],
)
def test_malformed_ops_are_refused(raw):
    with pytest.raises(msgspec.ValidationError):
        o.decode_ops(msgspec.msgpack.encode(raw))


def test_truncated_frame_is_refused():
    data = o.encode_ops(EVERY_OP)
    with pytest.raises(msgspec.DecodeError):
        o.decode_ops(data[:-3])


@given(st.binary(max_size=64))
def test_garbage_never_decodes_to_anything_but_ops_or_an_error(data):
    try:
        ops = o.decode_ops(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return
    assert all(isinstance(op, o.Op) for op in ops)


def test_flags_and_classification():
    assert o.Read(flags=o.OpFlag.FAILOK).failok
    assert not o.Read().failok
    writes = {type(op) for op in EVERY_OP if o.is_write(op)}
    assert writes == set(o.WRITE_OPS)
    assert o.may_write([o.Stat(), o.OmapSet({})])
    assert not o.may_write([o.Read(), o.CmpXattr("a", o.CmpOp.EQ, b""), o.OmapCmp("k", b"", 1)])


def test_errno_values_are_linux_ones():
    assert (o.ENOENT, o.EEXIST, o.ECANCELED, o.ERANGE, o.ENODATA, o.EOVERFLOW) == (
        2,
        17,
        125,
        34,
        61,
        75,
    )
    assert (o.OpFlag.EXCL, o.OpFlag.FAILOK) == (1, 2)
    assert [int(c) for c in o.CmpOp] == [1, 2, 3, 4, 5, 6]


def test_eversion_order_text_and_codec():
    assert Eversion(1, 9) < Eversion(2, 0) < Eversion(2, 1)
    assert str(Eversion(5, 42)) == "5'42"
    assert Eversion.parse("5'42") == Eversion(5, 42)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(Eversion(3, 4)), type=Eversion) == (
        Eversion(3, 4)
    )
    with pytest.raises(InvalidArgument):
        Eversion.parse("5.42")
