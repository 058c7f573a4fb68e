"""Incremental decoder for `Content-Encoding: aws-chunked` request bodies.

Three framings, by the request's `x-amz-content-sha256`:

* `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: `hex-size;chunk-signature=SIG\\r\\n` DATA
  `\\r\\n` …, ending with a 0-size chunk and `\\r\\n`. Each SIG is the HMAC (with the
  request's SigV4 key) of `AWS4-HMAC-SHA256-PAYLOAD`, the request time and scope, the
  previous signature (the request's own for the first chunk), the hash of the empty
  string and the hash of DATA: chunks can be neither altered, dropped nor reordered.
* `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: the same, then after the 0-size chunk
  trailer lines `name:value\\r\\n` (the names listed in `x-amz-trailer`), a
  `x-amz-trailer-signature:SIG\\r\\n` over them (chained from the last chunk's), and
  `\\r\\n`.
* `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: `hex-size\\r\\n` DATA `\\r\\n` chunks, a
  `0\\r\\n`, unsigned trailer lines, and `\\r\\n` (what boto3 and the AWS CLI send over
  TLS, with a checksum trailer).

`feed` returns decoded data as it arrives, before the chunk holding it is verified:
bodies stream to storage without buffering whole chunks, so a caller must discard
everything it stored for a request whose decoder raised. The decoded length must equal
`x-amz-decoded-content-length` when the request gave one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum

from radospy.rgw.s3.errors import (
    IncompleteBody,
    InvalidArgument,
    InvalidChunkSizeError,
    InvalidRequest,
    MalformedTrailerError,
    SignatureDoesNotMatch,
)
from radospy.rgw.s3.request import AuthResult, ChunkSigningContext, RequestParts
from radospy.rgw.s3.sigv4 import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    hmac_hex,
    signatures_equal,
)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TRAILER_SIGNATURE = "x-amz-trailer-signature"
MAX_LINE = 4096
"""Longest chunk header or trailer line accepted; bounds memory per request."""

_SIZE_DIGITS = 16


def chunk_string_to_sign(ctx: ChunkSigningContext, previous: str, data_sha256: str) -> str:
    """What a chunk signature signs: the chunk's hash chained to the previous one."""
    return (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{ctx.amz_date}\n{ctx.scope}\n{previous}\n"
        f"{EMPTY_SHA256}\n{data_sha256}"
    )


def trailer_string_to_sign(ctx: ChunkSigningContext, previous: str, canonical: bytes) -> str:
    """What the trailer signature signs: the canonical trailer lines' hash."""
    digest = hashlib.sha256(canonical).hexdigest()
    return f"AWS4-HMAC-SHA256-TRAILER\n{ctx.amz_date}\n{ctx.scope}\n{previous}\n{digest}"


def canonical_trailers(trailers: list[tuple[str, str]]) -> bytes:
    """Trailer lines as signed: `name:value\\n` each, names lower-cased, values trimmed."""
    return "".join(f"{name}:{value}\n" for name, value in trailers).encode()


class _State(Enum):
    SIZE = 1
    DATA = 2
    DATA_END = 3
    TRAILER = 4
    DONE = 5


@dataclass
class AwsChunkedDecoder:
    """Decode one aws-chunked body: `feed` raw bytes in any slicing, then `finish`.

    `mode` is the request's `x-amz-content-sha256`; `signing` its SigV4 context (needed
    for the signed modes); `trailer_names` the lower-cased names from `x-amz-trailer`;
    `decoded_length` its `x-amz-decoded-content-length`, if sent.
    """

    mode: str
    signing: ChunkSigningContext | None = None
    trailer_names: tuple[str, ...] = ()
    decoded_length: int | None = None
    trailers: dict[str, str] = field(default_factory=dict, init=False)
    """The trailer headers received, lower-cased names; complete after `finish`."""

    _buf: bytearray = field(default_factory=bytearray, init=False, repr=False)
    _state: _State = field(default=_State.SIZE, init=False, repr=False)
    _remaining: int = field(default=0, init=False, repr=False)
    _decoded: int = field(default=0, init=False, repr=False)
    _claimed: str = field(default="", init=False, repr=False)
    _previous: str = field(default="", init=False, repr=False)
    _hash: hashlib._Hash | None = field(default=None, init=False, repr=False)
    _trailer_lines: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)
    _trailer_signature: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
                             STREAMING_UNSIGNED_TRAILER):
            raise InvalidRequest(f"aws-chunked body with x-amz-content-sha256 {self.mode}")
        if self.signed:
            if self.signing is None:
                raise InvalidRequest("A signed aws-chunked body needs a SigV4 signature")
            self._previous = self.signing.seed_signature

    @property
    def signed(self) -> bool:
        """Whether chunks carry signatures."""
        return self.mode != STREAMING_UNSIGNED_TRAILER

    @property
    def done(self) -> bool:
        """Whether the terminating empty line has been read."""
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[bytes]:
        """Consume the next raw bytes; return the decoded data they completed."""
        if self._state is _State.DONE:
            if data:
                raise InvalidRequest("Data after the end of the aws-chunked body")
            return []
        self._buf += data
        out: list[bytes] = []
        pos = 0
        while True:
            step = self._step(pos, out)
            if step is None:
                break
            pos = step
        del self._buf[:pos]
        return out

    def finish(self) -> dict[str, str]:
        """Declare the end of the raw body; return the trailers. Raises if the body
        stopped early or its total does not match `x-amz-decoded-content-length`."""
        if self._state is _State.TRAILER and not self._buf:
            # Some encoders end after the last trailer line without the blank line.
            self._end_trailers()
        if self._state is not _State.DONE or self._buf:
            raise IncompleteBody()
        if self.decoded_length is not None and self._decoded != self.decoded_length:
            raise IncompleteBody()
        return self.trailers

    def _step(self, pos: int, out: list[bytes]) -> int | None:
        """Advance one framing element from `pos`; None when more input is needed."""
        if self._state is _State.DATA:
            return self._data(pos, out)
        if self._state is _State.DONE:
            if pos < len(self._buf):
                raise InvalidRequest("Data after the end of the aws-chunked body")
            return None
        line_end = self._buf.find(b"\r\n", pos)
        if line_end < 0:
            if len(self._buf) - pos > MAX_LINE:
                raise InvalidChunkSizeError("Chunk header or trailer line too long")
            return None
        line = bytes(self._buf[pos:line_end])
        if self._state is _State.SIZE:
            self._size_line(line)
        elif self._state is _State.DATA_END:
            if line:
                raise InvalidChunkSizeError("Chunk data longer than its declared size")
            self._state = _State.SIZE
        else:
            self._trailer_line(line)
        return line_end + 2

    def _data(self, pos: int, out: list[bytes]) -> int | None:
        available = len(self._buf) - pos
        if available == 0:
            return None
        take = min(available, self._remaining)
        with memoryview(self._buf) as view:
            piece = bytes(view[pos:pos + take])
        out.append(piece)
        if self._hash is not None:
            self._hash.update(piece)
        self._remaining -= take
        if self._remaining == 0:
            self._end_chunk()
        return pos + take

    def _size_line(self, line: bytes) -> None:
        size_text, _, extension = line.partition(b";")
        size = _parse_size(size_text)
        if self.signed:
            self._claimed = _chunk_signature(extension)
        elif extension:
            raise InvalidChunkSizeError("Unexpected chunk extension in an unsigned stream")
        self._decoded += size
        if self.decoded_length is not None and self._decoded > self.decoded_length:
            raise InvalidRequest(
                "The decoded body is longer than x-amz-decoded-content-length"
            )
        self._hash = hashlib.sha256() if self.signed else None
        self._remaining = size
        if size == 0:
            self._end_chunk()
            self._state = _State.TRAILER
        else:
            self._state = _State.DATA

    def _end_chunk(self) -> None:
        if self._hash is not None:
            assert self.signing is not None
            sts = chunk_string_to_sign(self.signing, self._previous, self._hash.hexdigest())
            expected = hmac_hex(self.signing.signing_key, sts)
            if not signatures_equal(expected, self._claimed):
                raise SignatureDoesNotMatch(StringToSign=sts, SignatureProvided=self._claimed)
            self._previous = expected
        self._hash = None
        self._state = _State.DATA_END

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_trailers()
            return
        name, sep, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            raise MalformedTrailerError()
        if name == TRAILER_SIGNATURE and self.mode == STREAMING_SIGNED_TRAILER:
            if self._trailer_signature is not None:
                raise MalformedTrailerError()
            self._trailer_signature = value
            return
        if name not in self.trailer_names or name in self.trailers:
            raise MalformedTrailerError()
        if self._trailer_signature is not None:
            raise MalformedTrailerError()  # nothing may follow the signature
        self.trailers[name] = value
        self._trailer_lines.append((name, value))

    def _end_trailers(self) -> None:
        if set(self.trailers) != set(self.trailer_names):
            raise MalformedTrailerError()
        if self.mode == STREAMING_SIGNED_TRAILER:
            self._check_trailer_signature()
        elif self._trailer_signature is not None:
            raise MalformedTrailerError()
        self._state = _State.DONE

    def _check_trailer_signature(self) -> None:
        assert self.signing is not None
        if self._trailer_signature is None:
            raise MalformedTrailerError()
        sts = trailer_string_to_sign(
            self.signing, self._previous, canonical_trailers(self._trailer_lines)
        )
        expected = hmac_hex(self.signing.signing_key, sts)
        if not signatures_equal(expected, self._trailer_signature):
            raise SignatureDoesNotMatch(
                StringToSign=sts, SignatureProvided=self._trailer_signature
            )


def _parse_size(text: bytes) -> int:
    if not 0 < len(text) <= _SIZE_DIGITS or text.strip(b"0123456789abcdefABCDEF"):
        raise InvalidChunkSizeError(f"Invalid chunk size {text[:32]!r}")
    return int(text, 16)


def _chunk_signature(extension: bytes) -> str:
    name, sep, value = extension.partition(b"=")
    if name != b"chunk-signature" or not sep or len(value) != 64:
        raise InvalidChunkSizeError("Chunk header without a valid chunk-signature")
    return value.decode("latin-1")


def decoder_for(req: RequestParts, auth: AuthResult | None) -> AwsChunkedDecoder | None:
    """The decoder `req`'s body needs given its verified signature, or None when the
    body is not an aws-chunked stream."""
    if auth is None or not auth.payload.startswith("STREAMING-"):
        return None
    trailer_names: list[str] = []
    for value in req.header_values("x-amz-trailer"):
        trailer_names.extend(n.strip().lower() for n in value.split(",") if n.strip())
    length_text = req.header("x-amz-decoded-content-length")
    decoded_length = None
    if length_text is not None:
        if not length_text.strip().isdigit():
            raise InvalidArgument(
                "x-amz-decoded-content-length must be a non-negative integer",
                ArgumentName="x-amz-decoded-content-length",
                ArgumentValue=length_text,
            )
        decoded_length = int(length_text)
    return AwsChunkedDecoder(
        auth.payload, auth.chunk_signing, tuple(trailer_names), decoded_length
    )
