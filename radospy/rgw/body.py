"""A request body as the gateway consumes it: raw bytes from the socket, decoded from
aws-chunked when the request says so, hashed and checked against what the client
declared (Content-Length, Content-MD5, x-amz-content-sha256, S3 checksums)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from aiohttp import StreamReader

from radospy.rgw.s3.checksums import PayloadDigests, PayloadVerifier, request_checksum
from radospy.rgw.s3.chunked import decoder_for
from radospy.rgw.s3.errors import IncompleteBody, S3Error
from radospy.rgw.s3.request import AuthResult, RequestParts

READ_SIZE = 1 << 20
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def content_length(req: RequestParts) -> int | None:
    """The request's Content-Length (None when absent); InvalidArgument if malformed."""
    value = req.header("content-length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise S3Error(code="InvalidArgument", ArgumentName="Content-Length",
                      ArgumentValue=value)
    return int(value)


def require_length(req: RequestParts) -> None:
    """An upload must declare its size up front: MissingContentLength unless it sent
    Content-Length, or is an aws-chunked stream declaring x-amz-decoded-content-length
    (the AWS CLI and boto3 send those with `Transfer-Encoding: chunked` and no
    Content-Length over HTTPS, when the checksum rides in a trailer)."""
    if content_length(req) is not None:
        return
    payload = req.header("x-amz-content-sha256") or ""
    if payload.startswith("STREAMING-") and req.header("x-amz-decoded-content-length"):
        return
    raise S3Error(code="MissingContentLength")


class Body:
    """Iterate `chunks()` for the decoded body, then read `digests`."""

    def __init__(self, stream: StreamReader, req: RequestParts, auth: AuthResult | None) -> None:
        self.stream = stream
        self.length = content_length(req)
        """Bytes on the wire; None for `Transfer-Encoding: chunked` (read to its end)."""
        self.decoder = decoder_for(req, auth)
        payload = auth.payload if auth is not None else ""
        self.verifier = PayloadVerifier(
            checksum=request_checksum(req),
            content_md5=req.header("content-md5"),
            content_sha256=payload if _HEX64.fullmatch(payload) else None,
        )
        self.digests: PayloadDigests | None = None

    @property
    def decoded_length(self) -> int | None:
        """The object's size as declared: x-amz-decoded-content-length for aws-chunked."""
        if self.decoder is None:
            return self.length
        return self.decoder.decoded_length

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body, piece by piece; raises an S3Error on a bad body (after
        which the caller must drop whatever it stored)."""
        received = 0
        while self.length is None or received < self.length:
            if self.length is None:
                data = await self.stream.read(READ_SIZE)
                if not data:
                    break
            else:
                data = await self.stream.read(min(READ_SIZE, self.length - received))
                if not data:
                    raise IncompleteBody()
            received += len(data)
            pieces = [data] if self.decoder is None else self.decoder.feed(data)
            for piece in pieces:
                if piece:
                    self.verifier.update(piece)
                    yield piece
        trailers = None
        if self.decoder is not None:
            trailers = self.decoder.finish()
        self.digests = self.verifier.finish(trailers)

    async def read_all(self, limit: int) -> bytes:
        """The whole (small) body, e.g. an XML document; MaxMessageLengthExceeded past
        `limit` bytes."""
        out = bytearray()
        async for piece in self.chunks():
            out += piece
            if len(out) > limit:
                raise S3Error(code="MaxMessageLengthExceeded")
        return bytes(out)
