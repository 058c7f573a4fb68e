"""Checksums: catalogue check values, backends agreeing with the pure versions, S3's
declaration rules, and verification of Content-MD5, x-amz-content-sha256 and trailers."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.s3 import checksums
from radospy.rgw.s3.checksums import (
    ExpectedChecksum,
    PayloadVerifier,
    b64,
    crc32c_pure,
    crc64nvme,
    new_checksum,
    request_checksum,
)
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import RequestParts

CHECK = b"123456789"


def test_catalogue_check_values() -> None:
    assert crc32c_pure(CHECK) == 0xE3069283
    assert checksums.crc32c(CHECK, 0) == 0xE3069283
    assert crc64nvme(CHECK) == 0xAE8B14860A799888
    assert new_checksum("CRC32").digest() == b"\0\0\0\0"


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=2000))
def test_incremental_equals_whole(data: bytes, cut: int) -> None:
    for algorithm in checksums.ALGORITHMS:
        whole, split = new_checksum(algorithm), new_checksum(algorithm)
        whole.update(data)
        split.update(data[:cut])
        split.update(data[cut:])
        assert whole.digest() == split.digest()
    assert checksums.crc32c(data, 0) == crc32c_pure(data)


@given(st.binary(max_size=500))
def test_digests_are_big_endian_as_s3_sends_them(data: bytes) -> None:
    crc = new_checksum("CRC32")
    crc.update(data)
    assert crc.digest() == zlib.crc32(data).to_bytes(4, "big")
    sha = new_checksum("SHA256")
    sha.update(data)
    assert b64(sha.digest()) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def _req(*headers: tuple[str, str]) -> RequestParts:
    return RequestParts("PUT", "/b/k", "", list(headers))


def test_request_checksum_rules() -> None:
    crc = b64(b"\0\0\0\1")
    assert request_checksum(_req()) is None
    assert request_checksum(_req(("x-amz-checksum-crc32", crc))) == ExpectedChecksum("CRC32", crc)
    assert request_checksum(_req(("X-Amz-Trailer", "x-amz-checksum-crc32c"),
                                 ("x-amz-sdk-checksum-algorithm", "crc32c"))) == \
        ExpectedChecksum("CRC32C", None)
    bad = [
        _req(("x-amz-checksum-crc32", crc), ("x-amz-checksum-sha1", b64(bytes(20)))),
        _req(("x-amz-checksum-crc32", "AAAA")),
        _req(("x-amz-checksum-crc32", "not base64!")),
        _req(("x-amz-trailer", "x-amz-checksum-md5")),
        _req(("x-amz-sdk-checksum-algorithm", "CRC32")),
        _req(("x-amz-sdk-checksum-algorithm", "SHA1"), ("x-amz-checksum-crc32", crc)),
        _req(("x-amz-sdk-checksum-algorithm", "ADLER"), ("x-amz-checksum-crc32", crc)),
    ]
    for req in bad:
        with pytest.raises(S3Error) as info:
            request_checksum(req)
        assert info.value.code == "InvalidRequest", req


def _verify(data: bytes, **kwargs: object) -> str | None:
    verifier = PayloadVerifier(**kwargs)  # type: ignore[arg-type]
    verifier.update(data)
    try:
        verifier.finish()
    except S3Error as e:
        return e.code
    return None


def test_payload_verification() -> None:
    data = b"hello world"
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    sha = hashlib.sha256(data).hexdigest()
    crc = b64(zlib.crc32(data).to_bytes(4, "big"))
    good = PayloadVerifier(checksum=ExpectedChecksum("CRC32", crc), content_md5=md5,
                           content_sha256=sha.upper())
    good.update(data)
    digests = good.finish()
    assert (digests.etag, digests.checksum) == (hashlib.md5(data).hexdigest(), crc)
    assert _verify(data + b"!", content_md5=md5) == "BadDigest"
    assert _verify(data + b"!", content_sha256=sha) == "XAmzContentSHA256Mismatch"
    assert _verify(data + b"!", checksum=ExpectedChecksum("CRC32", crc)) == "BadDigest"
    with pytest.raises(S3Error) as info:
        PayloadVerifier(content_md5="short")
    assert info.value.code == "InvalidDigest"


def test_trailer_checksum_verification() -> None:
    data = b"streamed"
    value = b64(hashlib.sha1(data).digest())
    expected = ExpectedChecksum("SHA1", None)
    for trailers, code in [
        ({"x-amz-checksum-sha1": value}, None),
        ({"x-amz-checksum-sha1": b64(bytes(20))}, "BadDigest"),
        ({"x-amz-checksum-sha1": "junk"}, "InvalidRequest"),
        ({}, "InvalidRequest"),
    ]:
        verifier = PayloadVerifier(checksum=expected)
        verifier.update(data)
        if code is None:
            assert verifier.finish(trailers).checksum == value
        else:
            with pytest.raises(S3Error) as info:
                verifier.finish(trailers)
            assert info.value.code == code
