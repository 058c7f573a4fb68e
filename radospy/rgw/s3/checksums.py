"""S3 object checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), Content-MD5 and the
`x-amz-content-sha256` payload hash, computed incrementally and checked against what
the client declared.

A client declares at most one `x-amz-checksum-<algorithm>` value, either as a header
or, for aws-chunked bodies, as a trailer named in `x-amz-trailer`; values are base64 of
the big-endian digest. Mismatches answer `BadDigest` (Content-MD5 and checksums) or
`XAmzContentSHA256Mismatch`; malformed declarations `InvalidDigest` / `InvalidRequest`.

CRC32C has no standard-library implementation: `google_crc32c` (its C backend) or
`crc32c` is used when importable; otherwise a table-driven pure-Python version, which
is correct but slow (a few MB/s). CRC64NVME is always the pure-Python table version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from radospy.rgw.s3.errors import (
    BadDigest,
    InvalidDigest,
    InvalidRequest,
    XAmzContentSHA256Mismatch,
)
from radospy.rgw.s3.request import RequestParts

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
"""The checksum algorithms S3 accepts, by the names its headers use."""

_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


class Checksum(Protocol):
    """An incremental checksum: feed bytes, read the big-endian digest."""

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


def _reflected_table(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78)
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5)
_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _table_crc(table: list[int], crc: int, data: bytes) -> int:
    """Advance a reflected CRC register (already inverted) over `data`."""
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def crc32c_pure(data: bytes, crc: int = 0) -> int:
    """CRC32C (Castagnoli) of `data`, continuing from `crc`; pure Python."""
    return _table_crc(_CRC32C_TABLE, crc ^ _MASK32, data) ^ _MASK32


def _load_crc32c() -> Callable[[bytes, int], int]:
    try:
        import google_crc32c

        # Its pure-Python fallback is slower than ours; only the C backend is worth it.
        if google_crc32c.implementation == "c":
            return lambda data, crc: int(google_crc32c.extend(crc, data))
    except ImportError:
        pass
    try:
        import crc32c

        return lambda data, crc: int(crc32c.crc32c(data, crc))
    except ImportError:
        return crc32c_pure


crc32c: Callable[[bytes, int], int] = _load_crc32c()
"""CRC32C of `data` continuing from `crc` (start with 0), from the fastest backend."""


def crc64nvme(data: bytes, crc: int = 0) -> int:
    """CRC-64/NVME of `data`, continuing from `crc` (start with 0); pure Python."""
    return _table_crc(_CRC64NVME_TABLE, crc ^ _MASK64, data) ^ _MASK64


@dataclass
class _Crc:
    function: Callable[[bytes, int], int]
    size: int
    value: int = 0

    def update(self, data: bytes) -> None:
        self.value = self.function(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self.size, "big")


def new_checksum(algorithm: str) -> Checksum:
    """A fresh incremental checksum for one of `ALGORITHMS`."""
    if algorithm == "CRC32":
        return _Crc(zlib.crc32, 4)
    if algorithm == "CRC32C":
        return _Crc(crc32c, 4)
    if algorithm == "CRC64NVME":
        return _Crc(crc64nvme, 8)
    if algorithm in ("SHA1", "SHA256"):
        return hashlib.new(algorithm.lower())
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def header_name(algorithm: str) -> str:
    """The header (or trailer) carrying an algorithm's value: `x-amz-checksum-crc32`."""
    return f"x-amz-checksum-{algorithm.lower()}"


def b64(digest: bytes) -> str:
    """Base64 text of a digest, as S3 headers carry checksums."""
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class ExpectedChecksum:
    """The checksum a client declared: its algorithm, and its base64 value when sent
    as a header (None when it will arrive as a trailer of an aws-chunked body)."""

    algorithm: str
    value: str | None

    @property
    def header(self) -> str:
        """The header or trailer name carrying it."""
        return header_name(self.algorithm)


def request_checksum(req: RequestParts) -> ExpectedChecksum | None:
    """The checksum `req` declares in `x-amz-checksum-*` headers or `x-amz-trailer`,
    checked for S3's rules: one at most, well-formed values, agreeing with
    `x-amz-sdk-checksum-algorithm`."""
    declared: list[ExpectedChecksum] = []
    for algorithm in ALGORITHMS:
        value = req.header(header_name(algorithm))
        if value is not None:
            _check_value(algorithm, value.strip())
            declared.append(ExpectedChecksum(algorithm, value.strip()))
    for name in _trailer_names(req):
        algorithm = _algorithm_of(name)
        if algorithm is None:
            raise InvalidRequest("The value specified in the x-amz-trailer header is not "
                                 "supported")
        declared.append(ExpectedChecksum(algorithm, None))
    if len(declared) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
            "allowed."
        )
    sdk = req.header("x-amz-sdk-checksum-algorithm")
    if sdk is not None:
        if sdk.strip().upper() not in ALGORITHMS:
            raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        if not declared or declared[0].algorithm != sdk.strip().upper():
            raise InvalidRequest(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                "x-amz-checksum-* or x-amz-trailer headers were found."
            )
    return declared[0] if declared else None


def _trailer_names(req: RequestParts) -> list[str]:
    names: list[str] = []
    for value in req.header_values("x-amz-trailer"):
        names.extend(n.strip().lower() for n in value.split(",") if n.strip())
    return names


def _algorithm_of(name: str) -> str | None:
    for algorithm in ALGORITHMS:
        if name == header_name(algorithm):
            return algorithm
    return None


def _check_value(algorithm: str, value: str) -> bytes:
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != _DIGEST_SIZES[algorithm]:
        raise InvalidRequest(f"Value for {header_name(algorithm)} header is invalid.")
    return digest


def parse_content_md5(value: str) -> bytes:
    """The 16-byte digest of a Content-MD5 header, or InvalidDigest."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise InvalidDigest()
    return digest


@dataclass(frozen=True)
class PayloadDigests:
    """What a verified body hashed to: its MD5 (the ETag of a simple upload) and the
    declared S3 checksum, if any, as base64."""

    md5: bytes
    checksum_algorithm: str | None = None
    checksum: str | None = None

    @property
    def etag(self) -> str:
        """The hex MD5, as an ETag without quotes."""
        return self.md5.hex()


class PayloadVerifier:
    """Hashes a request body as it streams and checks it at the end against the
    declared Content-MD5, `x-amz-content-sha256` (when it is a hex digest) and S3
    checksum (a header value, or a trailer passed to `finish`)."""

    def __init__(
        self,
        *,
        checksum: ExpectedChecksum | None = None,
        content_md5: str | None = None,
        content_sha256: str | None = None,
    ) -> None:
        self._expected = checksum
        self._md5_expected = None if content_md5 is None else parse_content_md5(content_md5)
        self._sha256_expected = content_sha256.lower() if content_sha256 else None
        self._md5 = hashlib.md5()
        self._sha256 = hashlib.sha256() if self._sha256_expected else None
        self._checksum = new_checksum(checksum.algorithm) if checksum else None

    def update(self, data: bytes) -> None:
        """Feed the next piece of the (decoded) body."""
        self._md5.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)
        if self._checksum is not None:
            self._checksum.update(data)

    def finish(self, trailers: Mapping[str, str] | None = None) -> PayloadDigests:
        """Check every declaration against the whole body; `trailers` are the
        lower-cased trailer headers of an aws-chunked body."""
        if self._sha256 is not None and self._sha256.hexdigest() != self._sha256_expected:
            raise XAmzContentSHA256Mismatch(
                ClientComputedContentSHA256=self._sha256_expected or "",
                S3ComputedContentSHA256=self._sha256.hexdigest(),
            )
        md5 = self._md5.digest()
        if self._md5_expected is not None and not hmac.compare_digest(md5, self._md5_expected):
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
        if self._expected is None or self._checksum is None:
            return PayloadDigests(md5)
        computed = b64(self._checksum.digest())
        declared = self._expected.value
        if declared is None:
            declared = (trailers or {}).get(self._expected.header)
            if declared is None:
                raise InvalidRequest(f"The {self._expected.header} trailer is missing.")
            _check_value(self._expected.algorithm, declared)
        if computed != declared:
            raise BadDigest(
                f"The {self._expected.algorithm} you specified did not match the "
                "calculated checksum."
            )
        return PayloadDigests(md5, self._expected.algorithm, computed)
