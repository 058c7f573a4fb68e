"""Bulk data spliced into an encoded message instead of copied into it: the parts on the
wire are msgspec's encoding of the whole message, checksummed and signed as one
payload, and a receiver cannot tell them from a body encoded in one piece."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.msg.frame import (
    FLAG_REPLY,
    PREAMBLE,
    FrameDecoder,
    FrameEncoder,
    FrameError,
    payload_size,
)
from radospy.msg.messages import BULK_MARK, BULK_MIN, REGISTRY, MessageRegistry
from radospy.osd.messages import OSDOpReply, OSDOpReplyView, RepOp
from radospy.osd.objectstore import ObjectId, Transaction

KEY = b"k" * 16


def _buffer(seed: int, size: int) -> memoryview:
    """`size` bytes in a numpy buffer, like the store's read buffers."""
    return memoryview(np.random.default_rng(seed).integers(0, 256, size, np.uint8))


sizes_st = st.lists(
    st.one_of(st.integers(0, 100), st.integers(BULK_MIN - 2, BULK_MIN + 2), st.just(1 << 20)),
    max_size=4,
)


@settings(deadline=None, max_examples=40)
@given(sizes=sizes_st, rc=st.integers(-200, 0), user_version=st.integers(0, 2**63 - 1))
def test_parts_are_the_whole_encoding(sizes: list[int], rc: int, user_version: int) -> None:
    results: list[o.AnyOpResult] = [o.Status(rc=-2)]
    results += [o.ReadData(_buffer(i, n)) for i, n in enumerate(sizes)]  # type: ignore[misc]
    msg = OSDOpReply(rc, results, Eversion(5, 6), user_version)
    type_id, body = REGISTRY.encode(msg)
    assert type_id == OSDOpReply.TYPE
    whole = msgspec.msgpack.encode(msg)
    if any(n >= BULK_MIN for n in sizes):
        assert isinstance(body, tuple)
        # Each bulk buffer is a part of its own: the very buffer, not a copy.
        bulks = [r.data for r in results if isinstance(r, o.ReadData) and len(r.data) >= BULK_MIN]
        assert [part for part in body if any(part is b for b in bulks)] == bulks
        assert b"".join(body) == whole
    else:
        assert body == whole
    assert payload_size(body) == len(whole)
    decoded = REGISTRY.decode(type_id, whole, OSDOpReplyView)
    assert [bytes(r.data) for r in decoded.results if isinstance(r, o.ReadData)] == [
        bytes(r.data) for r in results if isinstance(r, o.ReadData)
    ]


@pytest.mark.parametrize("key", [None, KEY])
def test_a_spliced_frame_is_checked_as_one_payload(key: bytes | None) -> None:
    data = _buffer(1, 300_000)
    msg = OSDOpReply(0, [o.ReadData(data)], Eversion(1, 2), 3)  # type: ignore[arg-type]
    type_id, body = REGISTRY.encode(msg)
    assert isinstance(body, tuple)
    header = FrameEncoder(key).header(type_id, FLAG_REPLY, 7, 1, 0, body)
    wire = PREAMBLE + header + b"".join(body)
    decoder = FrameDecoder(1 << 20, key=key, scratch_size=4096)
    decoder.receive_data(wire)
    frame = decoder.next_frame()
    assert frame is not None and (frame.tid, frame.seq) == (7, 1)
    assert REGISTRY.decode(frame.type, frame.payload) == msg


@settings(deadline=None, max_examples=30)
@given(where=st.integers(0, 10**7), bit=st.integers(0, 7), signed=st.booleans())
def test_a_flipped_bit_in_a_spliced_frame_is_refused(where: int, bit: int, signed: bool) -> None:
    key = KEY if signed else None
    data = _buffer(2, 200_000)
    msg = OSDOpReply(0, [o.ReadData(data)], Eversion(1, 2), 3)  # type: ignore[arg-type]
    type_id, body = REGISTRY.encode(msg)
    header = FrameEncoder(key).header(type_id, FLAG_REPLY, 7, 1, 0, body)
    wire = bytearray(header + b"".join(body))
    pos = where % len(wire)
    wire[pos] ^= 1 << bit
    decoder = FrameDecoder(1 << 20, key=key, expect_preamble=False, scratch_size=4096)
    decoder.receive_data(wire)
    with pytest.raises(FrameError):
        decoder.next_frame()
        # A flipped length field may leave the decoder waiting; more bytes expose it.
        decoder.receive_data(bytes(1 << 20))
        decoder.next_frame()


def test_a_mark_found_elsewhere_falls_back_to_one_piece() -> None:
    """Only the bulk buffers may hold the mark's place: if the rest of the message
    contains it too, the message is encoded whole (correct, with one copy)."""
    big = _buffer(3, BULK_MIN)
    results = [o.ReadData(BULK_MARK), o.ReadData(big)]  # type: ignore[arg-type]
    msg = OSDOpReply(0, results, Eversion(1, 1))  # type: ignore[arg-type]
    _, body = REGISTRY.encode(msg)
    assert body == msgspec.msgpack.encode(msg)


def test_the_same_spliced_message_is_encoded_once() -> None:
    registry = MessageRegistry()
    registry.register(OSDOpReply.TYPE, OSDOpReply)
    data = _buffer(4, BULK_MIN)
    msg = OSDOpReply(0, [o.ReadData(data)], Eversion(1, 1))  # type: ignore[arg-type]
    assert registry.encode(msg)[1] is registry.encode(msg)[1]


def _repop(size: int) -> tuple[RepOp, bytes]:
    oid = ObjectId("o")
    data = bytes(range(256)) * (size // 256)
    txn = Transaction().touch("1.0", oid).write("1.0", oid, 0, data).write("1.0", oid, size, b"x")
    return RepOp(1, 0, 5, Eversion(5, 1), txn, b"entry"), data


def test_a_repop_sends_its_big_writes_from_the_applied_buffer() -> None:
    repop, data = _repop(4 << 20)
    type_id, body = REGISTRY.encode(repop)
    assert isinstance(body, tuple)
    # The client's buffer itself is a part: the primary holds no encoded copy of it.
    assert [part for part in body if part is data] == [data]
    whole = msgspec.msgpack.encode(repop)
    assert b"".join(body) == whole
    assert REGISTRY.decode(type_id, whole) == repop


def test_a_repop_of_small_writes_is_encoded_whole() -> None:
    repop, _ = _repop(BULK_MIN - 256)
    assert repop.split_bulk() is None
    assert REGISTRY.encode(repop)[1] == msgspec.msgpack.encode(repop)
