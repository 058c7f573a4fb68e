"""Framing and message registry: round trips, chunking, limits, corruption, keys, schemas."""

from __future__ import annotations

import errno
import itertools

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.errors import RadosError
from radospy.msg.frame import (
    FLAG_REPLY,
    FLAG_REQUEST,
    HEADER_SIZE,
    PREAMBLE,
    Frame,
    FrameDecoder,
    FrameEncoder,
    FrameError,
    FrameTooLarge,
)
from radospy.msg.messages import (
    REGISTRY,
    ErrorReply,
    MalformedMessage,
    Message,
    MessageRegistry,
    Ping,
    Pong,
    message,
    valid_entity_name,
)

SCRATCH = 4096
"""A small scratch buffer, so that modest payloads take the large-frame path too."""

frames_st = st.builds(
    Frame,
    type=st.integers(1, 0xFFFF),
    flags=st.sampled_from([0, FLAG_REQUEST, FLAG_REPLY]),
    tid=st.integers(0, 2**64 - 1),
    seq=st.integers(0, 2**64 - 1),
    ack=st.integers(0, 2**64 - 1),
    payload=st.one_of(st.binary(max_size=64), st.binary(min_size=900, max_size=5000)),
)


def stream(frames: list[Frame], key: bytes | None = None) -> bytes:
    encoder = FrameEncoder(key)
    return PREAMBLE + b"".join(encoder.encode(f) for f in frames)


def drain(decoder: FrameDecoder) -> list[Frame]:
    out = []
    while (frame := decoder.next_frame()) is not None:
        out.append(frame)
    return out


def same(a: Frame, b: Frame) -> bool:
    return (a.type, a.flags, a.tid, a.seq, a.ack, bytes(a.payload)) == (
        b.type,
        b.flags,
        b.tid,
        b.seq,
        b.ack,
        bytes(b.payload),
    )


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(frames=st.lists(frames_st, max_size=12), cuts=st.lists(st.integers(0, 10**6)))
def test_any_chunking_gives_back_the_frames(frames: list[Frame], cuts: list[int]) -> None:
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    got: list[Frame] = []
    for piece in chunked(stream(frames), cuts):
        decoder.receive_data(piece)
        got += drain(decoder)
    assert len(got) == len(frames)
    assert all(same(a, b) for a, b in zip(got, frames, strict=True))


@given(frames=st.lists(frames_st, min_size=1, max_size=6), sizes=st.lists(st.integers(1, 3000)))
def test_buffered_protocol_path(frames: list[Frame], sizes: list[int]) -> None:
    """get_buffer/buffer_updated, as asyncio.BufferedProtocol drives them."""
    data = memoryview(stream(frames))
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    got: list[Frame] = []
    i = 0
    while data:
        target = decoder.get_buffer(-1)
        n = min(target.nbytes, len(data), sizes[i % len(sizes)] if sizes else len(data))
        target[:n] = data[:n]
        decoder.buffer_updated(n)
        data = data[n:]
        got += drain(decoder)
        i += 1
    assert [bytes(f.payload) for f in got] == [bytes(f.payload) for f in frames]


def test_large_payload_lands_in_its_own_buffer() -> None:
    payload = bytes(range(256)) * 4096
    decoder = FrameDecoder(len(payload), scratch_size=SCRATCH)
    decoder.receive_data(stream([Frame(5, 0, 1, 1, 0, payload)]))
    frame = decoder.next_frame()
    assert frame is not None
    assert isinstance(frame.payload, memoryview)
    assert frame.payload == payload


class PongView(Pong):
    """Pong with its data as a view into the frame."""

    data: memoryview = memoryview(b"")  # type: ignore[assignment]


REGISTRY.register_view(PongView)


@settings(deadline=None)
@given(sizes=st.lists(st.integers(1, 70_000), min_size=1))
def test_big_payload_split_across_many_reads_decodes_as_a_view(sizes: list[int]) -> None:
    """A payload far larger than the scratch buffer, arriving in reads of any size (as
    TCP delivers it), is gathered in one buffer of its own; a view decode points into
    that buffer instead of copying out of it."""
    data = bytes(range(256)) * 1200 + b"tail"
    _, body = REGISTRY.encode(Pong(2.0, data))
    wire = memoryview(stream([Frame(Pong.TYPE, FLAG_REPLY, 9, 1, 0, body)]))
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    reads = 0
    while wire:
        target = decoder.get_buffer(-1)
        n = min(target.nbytes, len(wire), sizes[reads % len(sizes)])
        target[:n] = wire[:n]
        decoder.buffer_updated(n)
        wire = wire[n:]
        reads += 1
        if wire:
            assert decoder.next_frame() is None
    frame = decoder.next_frame()
    assert frame is not None and decoder.next_frame() is None
    msg = REGISTRY.decode(frame.type, frame.payload, PongView)
    assert isinstance(msg, PongView)
    assert isinstance(msg.data, memoryview) and msg.data == data
    assert isinstance(frame.payload, memoryview)
    assert msg.data.obj is frame.payload.obj  # no copy: the frame's own buffer


def test_a_big_frame_with_a_bad_checksum_is_refused_before_any_view() -> None:
    """The payload is checked whole before anything is decoded from it, a view or not."""
    _, body = REGISTRY.encode(Pong(1.0, bytes(range(256)) * 100))
    wire = bytearray(stream([Frame(Pong.TYPE, FLAG_REPLY, 3, 1, 0, body)]))
    wire[-1000] ^= 0x10
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    decoder.receive_data(wire)
    with pytest.raises(FrameError, match="bad checksum"):
        decoder.next_frame()
    assert decoder.failed


@given(frames=st.lists(frames_st, min_size=1, max_size=5), cut=st.integers(1, 10**6))
def test_truncated_stream_waits_for_more(frames: list[Frame], cut: int) -> None:
    data = stream(frames)
    cut = cut % len(data)
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    decoder.receive_data(data[:cut])
    got = drain(decoder)
    assert all(same(a, b) for a, b in zip(got, frames, strict=False))
    assert len(got) < len(frames)
    decoder.receive_data(data[cut:])
    assert len(got) + len(drain(decoder)) == len(frames)


def test_oversize_frame_is_refused_after_the_frames_before_it() -> None:
    good = Frame(1, 0, 0, 0, 0, b"x" * 10)
    big = Frame(2, 0, 0, 0, 0, b"y" * 101)
    decoder = FrameDecoder(100)
    decoder.receive_data(stream([good, big]))
    assert same(decoder.next_frame(), good)  # type: ignore[arg-type]
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_frame()
    assert info.value.errno == errno.EMSGSIZE
    assert "ms_max_message_size 100" in str(info.value)
    assert decoder.failed


def test_oversize_is_detected_from_the_header_alone() -> None:
    header = FrameEncoder().header(1, 0, 0, 0, 0, bytes(1 << 20))
    decoder = FrameDecoder(1024)
    decoder.receive_data(PREAMBLE + header)
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()


def test_bad_preamble() -> None:
    decoder = FrameDecoder(1024)
    decoder.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(FrameError) as info:
        decoder.next_frame()
    assert info.value.errno == errno.EPROTO
    assert "not a radospy messenger" in str(info.value)


# Each example feeds 2 MiB to the decoder: no per-example deadline, which a loaded
# machine overruns (tests do not assert timings).
@settings(deadline=None)
@given(
    frames=st.lists(frames_st, min_size=1, max_size=4),
    where=st.integers(0, 10**6),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_is_caught(frames: list[Frame], where: int, bit: int) -> None:
    data = bytearray(stream(frames))
    pos = len(PREAMBLE) + where % (len(data) - len(PREAMBLE))
    data[pos] ^= 1 << bit
    decoder = FrameDecoder(1 << 20, scratch_size=SCRATCH)
    decoder.receive_data(data)
    got: list[Frame] = []
    with pytest.raises(FrameError):
        got += drain(decoder)
        # A flipped length field may leave the decoder waiting; more bytes expose it.
        decoder.receive_data(bytes(1 << 21))
        got += drain(decoder)
    assert all(same(a, b) for a, b in zip(got, frames, strict=False))
    assert len(got) < len(frames)


@settings(max_examples=300)
@given(data=st.binary(max_size=2000), with_preamble=st.booleans())
def test_random_bytes_raise_only_frame_errors(data: bytes, with_preamble: bool) -> None:
    decoder = FrameDecoder(1 << 16, scratch_size=SCRATCH)
    decoder.receive_data((PREAMBLE if with_preamble else b"") + data)
    try:
        drain(decoder)
    except FrameError:
        assert decoder.failed
        decoder.receive_data(b"more")
        with pytest.raises(FrameError):
            decoder.next_frame()


def test_signed_frames_need_the_key() -> None:
    frames = [Frame(7, 0, 1, 1, 0, b"payload")]
    signed = stream(frames, key=b"k" * 16)
    for key in (None, b"x" * 16):
        decoder = FrameDecoder(1024, key=key)
        decoder.receive_data(signed)
        with pytest.raises(FrameError, match="bad checksum"):
            decoder.next_frame()
    decoder = FrameDecoder(1024, key=b"k" * 16)
    decoder.receive_data(signed)
    assert same(decoder.next_frame(), frames[0])  # type: ignore[arg-type]


def test_key_switch_between_frames_of_one_read() -> None:
    """The last auth frame is plain and the next is signed; both may arrive together."""
    plain, signed = Frame(4, 0, 0, 0, 0, b"done"), Frame(6, 0, 0, 0, 0, b"session")
    encoder = FrameEncoder()
    data = PREAMBLE + encoder.encode(plain)
    encoder.set_key(b"s" * 32)
    data += encoder.encode(signed)
    decoder = FrameDecoder(1024)
    decoder.receive_data(data)
    assert same(decoder.next_frame(), plain)  # type: ignore[arg-type]
    decoder.set_key(b"s" * 32)
    assert same(decoder.next_frame(), signed)  # type: ignore[arg-type]


def test_header_size() -> None:
    assert HEADER_SIZE == 40


# The registry and message schemas.


def test_message_round_trip() -> None:
    type_id, body = REGISTRY.encode(Ping(1.5, b"\x00" * 10))
    assert type_id == Ping.TYPE
    assert REGISTRY.decode(type_id, body) == Ping(1.5, b"\x00" * 10)


def test_malformed_body_names_the_field() -> None:
    _, body = REGISTRY.encode(ErrorReply(5, "x"))
    with pytest.raises(MalformedMessage) as info:
        REGISTRY.decode(Ping.TYPE, body)
    assert info.value.errno == errno.EBADMSG
    assert "malformed Ping body" in str(info.value)
    assert "$[1]" in str(info.value)


@pytest.mark.parametrize("body", [b"", b"\xc1", b"\x92\xcb", b"\xff" * 5])
def test_undecodable_body(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        REGISTRY.decode(Pong.TYPE, body)


def test_unknown_type() -> None:
    with pytest.raises(MalformedMessage, match="unknown message type 0xfffe"):
        REGISTRY.decode(0xFFFE, b"\x90")


def test_new_trailing_fields_stay_compatible() -> None:
    registry = MessageRegistry()

    class V1(Message):
        a: int

    class V2(Message):
        a: int
        b: str = "default"

    registry.register(0x100, V1)
    newer = msgspec.msgpack.encode(V2(1, "new"))
    assert registry.decode(0x100, newer) == V1(1)
    older = msgspec.msgpack.encode(V1(1))
    assert msgspec.msgpack.decode(older, type=V2) == V2(1)


def test_view_decoding() -> None:
    registry = MessageRegistry()

    @message(0x300, registry)
    class Data(Message):
        n: int
        data: bytes

    class DataView(Data):
        data: memoryview  # type: ignore[assignment]

    class Unrelated(Message):
        data: memoryview

    registry.register_view(DataView)
    _, body = registry.encode(Data(4, b"abcd"))
    got = registry.decode(0x300, body, DataView)
    assert isinstance(got, DataView) and got.n == 4 and bytes(got.data) == b"abcd"
    # Without the view, or for a body of another type, the registered class decodes.
    assert registry.decode(0x300, body) == Data(4, b"abcd")
    @message(0x301, registry)
    class Failure(Message):
        errno: int

    _, failure = registry.encode(Failure(2))
    assert registry.decode(0x301, failure, DataView) == Failure(2)
    with pytest.raises(MalformedMessage, match="malformed Data body"):
        registry.decode(0x300, b"\x92\x01\x02", DataView)
    with pytest.raises(RadosError, match="not a view of a registered message"):
        registry.register_view(Unrelated)
    with pytest.raises(RadosError, match="not a view of a registered message"):
        registry.register_view(Data)
    with pytest.raises(RadosError, match="not a registered message"):
        registry.encode(DataView(1, memoryview(b"x")))


def test_registration_errors() -> None:
    registry = MessageRegistry()

    @message(0x200, registry)
    class A(Message):
        x: int

    class B(Message):
        x: int

    with pytest.raises(RadosError, match="already used by A"):
        registry.register(0x200, B)
    with pytest.raises(RadosError, match="already registered"):
        registry.register(0x201, A)
    with pytest.raises(RadosError, match=r"not in 1\.\.65535"):
        registry.register(0, B)
    with pytest.raises(RadosError, match="not a registered message"):
        registry.encode(B(1))
    assert registry.class_of(0x200) is A


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("client.admin", True),
        ("mon.a", True),
        ("osd.3", True),
        ("mgr.x", True),
        ("osd.", False),
        ("admin", False),
        ("rgw.x", False),
        ("client.a b", False),
    ],
)
def test_entity_names(name: str, ok: bool) -> None:
    assert valid_entity_name(name) is ok
