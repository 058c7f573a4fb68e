"""aws-chunked decoding: S3's published streaming example, botocore's trailer streams,
a reference encoder written here against random bodies, chunkings and slicings, and
tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.rgw.s3.auth import authenticate
from radospy.rgw.s3.checksums import PayloadVerifier, request_checksum
from radospy.rgw.s3.chunked import AwsChunkedDecoder, decoder_for
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import ChunkSigningContext, RequestParts
from radospy.rgw.s3.sigv4 import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    signing_key,
)

EMPTY = hashlib.sha256(b"").hexdigest()
AWS_CTX = ChunkSigningContext(
    signing_key=signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524",
                            "us-east-1", "s3"),
    amz_date="20130524T000000Z",
    scope="20130524/us-east-1/s3/aws4_request",
    seed_signature="4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
)
AWS_CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
AWS_TRAILER_SIGNATURE = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"


def _sign(ctx: ChunkSigningContext, text: str) -> str:
    return hmac.new(ctx.signing_key, text.encode(), hashlib.sha256).hexdigest()


def encode(
    chunks: list[bytes],
    mode: str,
    ctx: ChunkSigningContext | None = None,
    trailers: list[tuple[str, str]] | None = None,
) -> bytes:
    """Reference aws-chunked encoder, written from S3's documentation."""
    out = bytearray()
    previous = ctx.seed_signature if ctx else ""
    for data in [*chunks, b""]:
        head = f"{len(data):x}".encode()
        if mode != STREAMING_UNSIGNED_TRAILER:
            assert ctx is not None
            sts = (f"AWS4-HMAC-SHA256-PAYLOAD\n{ctx.amz_date}\n{ctx.scope}\n{previous}\n"
                   f"{EMPTY}\n{hashlib.sha256(data).hexdigest()}")
            previous = _sign(ctx, sts)
            head += b";chunk-signature=" + previous.encode()
        out += head + b"\r\n"
        if data:
            out += data + b"\r\n"
    for name, value in trailers or []:
        out += f"{name}:{value}\r\n".encode()
    if mode == STREAMING_SIGNED_TRAILER:
        assert ctx is not None
        canonical = "".join(f"{n}:{v}\n" for n, v in trailers or []).encode()
        sts = (f"AWS4-HMAC-SHA256-TRAILER\n{ctx.amz_date}\n{ctx.scope}\n{previous}\n"
               f"{hashlib.sha256(canonical).hexdigest()}")
        out += f"x-amz-trailer-signature:{_sign(ctx, sts)}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def decode(decoder: AwsChunkedDecoder, body: bytes, cuts: list[int]) -> tuple[bytes, dict]:
    out = bytearray()
    points = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    for start, end in itertools.pairwise(points):
        for piece in decoder.feed(body[start:end]):
            out += piece
    return bytes(out), decoder.finish()


def test_aws_documentation_example() -> None:
    chunks = [b"a" * 65536, b"a" * 1024]
    body = encode(chunks, STREAMING_SIGNED, AWS_CTX)
    assert body.count(b"chunk-signature=") == 3
    for signature in AWS_CHUNK_SIGNATURES:
        assert f"chunk-signature={signature}".encode() in body
    assert len(body) == 66824  # the example's Content-Length
    decoder = AwsChunkedDecoder(STREAMING_SIGNED, AWS_CTX, decoded_length=66560)
    data, trailers = decode(decoder, body, [1, 100, 65600, 66000])
    assert data == b"a" * 66560 and trailers == {}


def test_aws_trailing_headers_example() -> None:
    """aws-c-auth's trailing-header signature, chained from the example's last chunk."""
    trailers = [("first", "1st"), ("second", "2nd"), ("third", "3rd")]
    body = encode([b"a" * 65536, b"a" * 1024], STREAMING_SIGNED_TRAILER, AWS_CTX, trailers)
    assert f"x-amz-trailer-signature:{AWS_TRAILER_SIGNATURE}".encode() in body
    decoder = AwsChunkedDecoder(STREAMING_SIGNED_TRAILER, AWS_CTX,
                                ("first", "second", "third"), 66560)
    data, got = decode(decoder, body, [7, 65555])
    assert data == b"a" * 66560
    assert got == dict(trailers)


VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "s3" / "botocore_requests.json").read_text()
)
STREAMS = [v for v in VECTORS["requests"] if v["name"].startswith("v4/https/put_stream")]


@pytest.mark.parametrize("vector", STREAMS, ids=[v["name"] for v in STREAMS])
def test_botocore_unsigned_trailer_streams(vector: dict[str, Any]) -> None:
    req = RequestParts(vector["method"], vector["path"], vector["query"],
                       [tuple(h) for h in vector["headers"]])
    auth = authenticate(req, {VECTORS["access_key"]: VECTORS["secret_key"]}.get, vector["now"])
    decoder = decoder_for(req, auth)
    assert decoder is not None and decoder.mode == STREAMING_UNSIGNED_TRAILER
    verifier = PayloadVerifier(checksum=request_checksum(req))
    body = base64.b64decode(vector["body_b64"])
    for start in range(0, len(body), 65536):
        for piece in decoder.feed(body[start:start + 65536]):
            verifier.update(piece)
    digests = verifier.finish(decoder.finish())
    expected = bytes((i * 7 + 3) % 251 for i in range(vector["decoded_length"]))
    assert digests.md5 == hashlib.md5(expected).digest()
    assert digests.checksum_algorithm == req.header("x-amz-sdk-checksum-algorithm")


def test_not_streaming_needs_no_decoder() -> None:
    vector = next(v for v in VECTORS["requests"] if v["name"] == "v4/path/put_object")
    req = RequestParts(vector["method"], vector["path"], vector["query"],
                       [tuple(h) for h in vector["headers"]])
    auth = authenticate(req, {VECTORS["access_key"]: VECTORS["secret_key"]}.get, vector["now"])
    assert decoder_for(req, auth) is None
    assert decoder_for(req, None) is None


# --------------------------------------------------------------------------- properties

CTX = ChunkSigningContext(signing_key(
    "secret", "20260101", "us-east-1", "s3"), "20260101T000000Z",
    "20260101/us-east-1/s3/aws4_request", "0" * 64)
MODES = [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER]


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, list[bytes], list[tuple[str, str]], list[int]]:
    mode = draw(st.sampled_from(MODES))
    chunks = draw(st.lists(st.binary(min_size=1, max_size=300), max_size=6))
    trailers: list[tuple[str, str]] = []
    if mode != STREAMING_SIGNED:
        names = draw(st.lists(st.sampled_from(
            ["x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-meta-t"]),
            unique=True, max_size=2))
        trailers = [(n, draw(st.text("abcXYZ012+/=", min_size=1, max_size=20)))
                    for n in names]
    cuts = draw(st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
    return mode, chunks, trailers, cuts


def _decoder(mode: str, chunks: list[bytes], trailers: list[tuple[str, str]]) -> AwsChunkedDecoder:
    return AwsChunkedDecoder(mode, CTX if mode != STREAMING_UNSIGNED_TRAILER else None,
                             tuple(n for n, _ in trailers), sum(map(len, chunks)))


@settings(max_examples=300, deadline=None)
@given(streams())
def test_random_streams_decode_exactly(stream: tuple) -> None:
    mode, chunks, trailers, cuts = stream
    body = encode(chunks, mode, CTX, trailers)
    data, got = decode(_decoder(mode, chunks, trailers), body, cuts)
    assert data == b"".join(chunks)
    assert got == dict(trailers)


@settings(max_examples=300, deadline=None)
@given(streams(), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_tampered_signed_streams_never_yield_other_content(
    stream: tuple, where: int, flip: int
) -> None:
    """A changed byte in a signed stream is refused, unless the change means the same
    thing (the case of a hex digit or a trailer name)."""
    mode, chunks, trailers, cuts = stream
    if mode == STREAMING_UNSIGNED_TRAILER:
        mode = STREAMING_SIGNED_TRAILER
    body = bytearray(encode(chunks, mode, CTX, trailers))
    body[where % len(body)] ^= flip
    try:
        data, got = decode(_decoder(mode, chunks, trailers), bytes(body), cuts)
    except S3Error as e:
        assert e.code in ("SignatureDoesNotMatch", "InvalidChunkSizeError", "IncompleteBody",
                          "MalformedTrailerError", "InvalidRequest")
        return
    assert data == b"".join(chunks)
    assert got == dict(trailers)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=4),
       st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_tampered_unsigned_data_fails_its_checksum(
    chunks: list[bytes], where: int, flip: int
) -> None:
    data = b"".join(chunks)
    crc = base64.b64encode(hashlib.sha256(data).digest()).decode()
    name = "x-amz-checksum-sha256"
    body = encode(chunks, STREAMING_UNSIGNED_TRAILER, None, [(name, crc)])
    # Flip a byte of the first chunk's data (after its size line).
    offset = body.index(b"\r\n") + 2 + where % len(chunks[0])
    tampered = bytearray(body)
    tampered[offset] ^= flip
    req = RequestParts("PUT", "/b/k", "", [("x-amz-trailer", name)])
    verifier = PayloadVerifier(checksum=request_checksum(req))
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, None, (name,), len(data))
    for piece in decoder.feed(bytes(tampered)):
        verifier.update(piece)
    with pytest.raises(S3Error) as info:
        verifier.finish(decoder.finish())
    assert info.value.code == "BadDigest"


# --------------------------------------------------------------------------- errors


def _code(decoder: AwsChunkedDecoder, body: bytes) -> str:
    with pytest.raises(S3Error) as info:
        decoder.feed(body)
        decoder.finish()
    return info.value.code


def test_truncated_stream_is_incomplete() -> None:
    body = encode([b"x" * 100, b"y" * 50], STREAMING_SIGNED, CTX)
    for cut in (1, 50, 120, len(body) - 3, len(body) - 1):
        decoder = AwsChunkedDecoder(STREAMING_SIGNED, CTX)
        assert _code(decoder, body[:cut]) == "IncompleteBody", cut


def test_decoded_length_must_match() -> None:
    body = encode([b"x" * 100], STREAMING_UNSIGNED_TRAILER)
    assert _code(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, decoded_length=101), body) \
        == "IncompleteBody"
    assert _code(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, decoded_length=99), body) \
        == "InvalidRequest"


def test_trailer_rules() -> None:
    declared = ("x-amz-checksum-crc32",)
    missing = encode([b"abc"], STREAMING_UNSIGNED_TRAILER)
    assert _code(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, None, declared), missing) == \
        "MalformedTrailerError"
    extra = encode([b"abc"], STREAMING_UNSIGNED_TRAILER, None, [("x-amz-other", "1")])
    assert _code(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, None, ()), extra) == \
        "MalformedTrailerError"
    no_colon = b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32\r\n\r\n"
    assert _code(AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, None, declared), no_colon) == \
        "MalformedTrailerError"
    unsigned = encode([b"abc"], STREAMING_SIGNED, CTX).removesuffix(b"\r\n") + \
        b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    assert _code(AwsChunkedDecoder(STREAMING_SIGNED_TRAILER, CTX, declared), unsigned) == \
        "MalformedTrailerError"


def test_framing_errors() -> None:
    cases = {
        b"zz\r\nabc": "InvalidChunkSizeError",
        b"3;chunk-signature=abc\r\nabc\r\n0\r\n\r\n": "InvalidChunkSizeError",
        b"3\r\nabcd\r\n0\r\n\r\n": "InvalidChunkSizeError",
        b"1" * 5000: "InvalidChunkSizeError",
        b"11111111111111111\r\n": "InvalidChunkSizeError",
        b"0\r\n\r\nextra": "InvalidRequest",
    }
    for body, code in cases.items():
        decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER)
        assert _code(decoder, body) == code, body


def test_signed_chunk_needs_its_signature() -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    assert _code(AwsChunkedDecoder(STREAMING_SIGNED, CTX), body) == "InvalidChunkSizeError"
    with pytest.raises(S3Error):
        AwsChunkedDecoder(STREAMING_SIGNED)
    with pytest.raises(S3Error):
        AwsChunkedDecoder("UNSIGNED-PAYLOAD")


def test_end_without_final_blank_line_is_accepted() -> None:
    """Some encoders stop right after the last trailer line."""
    body = encode([b"abc"], STREAMING_UNSIGNED_TRAILER, None, [("x-amz-checksum-crc32", "x")])
    decoder = AwsChunkedDecoder(STREAMING_UNSIGNED_TRAILER, None, ("x-amz-checksum-crc32",))
    assert decoder.feed(body[:-2]) == [b"abc"]
    assert decoder.finish() == {"x-amz-checksum-crc32": "x"}
