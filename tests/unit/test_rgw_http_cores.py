"""The gateway's pure request decisions: bucket and key from path or Host, which
operation a request is, ranges and conditions, the claimed access key."""

from __future__ import annotations

import pytest

from radospy.rgw.body import require_length
from radospy.rgw.conditions import check_read, check_write, parse_range
from radospy.rgw.dispatch import route
from radospy.rgw.routing import Target, target
from radospy.rgw.s3.auth import claimed_access_key
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import RequestParts

DNS = ("localhost",)


def test_targets() -> None:
    assert target("/", "127.0.0.1:7480", DNS) == Target(None, None)
    assert target("/b", "127.0.0.1:7480", DNS) == Target("b", None)
    assert target("/b/", "127.0.0.1", DNS) == Target("b", None)
    assert target("/b/dir/a%20b%2Bc", "127.0.0.1", DNS) == Target("b", "dir/a b+c")
    assert target("/dir/x", "my-bucket.localhost:7480", DNS) == Target("my-bucket", "dir/x", True)
    assert target("/", "my-bucket.localhost", DNS) == Target("my-bucket", None, True)
    assert target("/b/k", "localhost:7480", DNS) == Target("b", "k")


def _route(method: str, bucket: str | None, key: str | None, query: str = "",
           copy: bool = False) -> str:
    names = {p.partition("=")[0] for p in query.split("&") if p}
    return route(method, bucket, key, names.__contains__, copy).op


def test_routes() -> None:
    assert _route("GET", None, None) == "ListBuckets"
    assert _route("PUT", "b", None) == "CreateBucket"
    assert _route("GET", "b", None, "list-type=2") == "ListObjectsV2"
    assert _route("GET", "b", None, "location") == "GetBucketLocation"
    assert _route("POST", "b", None, "delete") == "DeleteObjects"
    assert _route("PUT", "b", "k") == "PutObject"
    assert _route("PUT", "b", "k", copy=True) == "CopyObject"
    assert _route("PUT", "b", "k", "partNumber=1&uploadId=x") == "UploadPart"
    assert _route("PUT", "b", "k", "partNumber=1&uploadId=x", copy=True) == "UploadPartCopy"
    assert _route("POST", "b", "k", "uploads") == "CreateMultipartUpload"
    assert _route("POST", "b", "k", "uploadId=x") == "CompleteMultipartUpload"
    assert _route("PUT", "b", None, "cors") == "PutBucketCors"
    assert _route("GET", "b", None, "versions") == "ListObjectVersions"
    assert _route("OPTIONS", "b", "k") == "PreflightRequest"
    assert _route("DELETE", "b", "k", "uploadId=x") == "AbortMultipartUpload"
    for method, bucket, key, query in (("POST", None, None, ""), ("PATCH", "b", "k", ""),
                                       ("POST", "b", "k", "")):
        with pytest.raises(S3Error) as info:
            _route(method, bucket, key, query)
        assert info.value.code == "MethodNotAllowed"
    with pytest.raises(S3Error) as info:
        _route("PUT", "b", None, "website")
    assert info.value.code == "NotImplemented"
    assert _route("PUT", "b", None, "policy") == "PutBucketPolicy"
    assert _route("GET", "b", None, "policy") == "GetBucketPolicy"
    assert _route("DELETE", "b", None, "policy") == "DeleteBucketPolicy"
    assert _route("GET", "b", None, "policyStatus") == "GetBucketPolicyStatus"


def test_ranges() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=2-", 10) == (2, 9)
    assert parse_range("bytes=2-100", 10) == (2, 9)
    assert parse_range("bytes=-3", 10) == (7, 9)
    assert parse_range("bytes=-30", 10) == (0, 9)
    assert parse_range("bytes=5-2", 10) is None
    assert parse_range("bytes=0-1,3-4", 10) is None
    assert parse_range("items=0-1", 10) is None
    with pytest.raises(S3Error) as info:
        parse_range("bytes=10-", 10)
    assert info.value.code == "InvalidRange" and info.value.status == 416


def _headers(**values: str) -> object:
    table = {k.replace("_", "-"): v for k, v in values.items()}
    return table.get


def _code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except S3Error as exc:
        return exc.code
    return None


def test_read_conditions() -> None:
    date = "Sat, 28 Nov 2026 12:00:00 GMT"
    at = 1795867200.0  # that date
    assert _code(lambda: check_read(_headers(), "e", at)) is None
    assert _code(lambda: check_read(_headers(**{"if-match": '"e"'}), "e", at)) is None
    assert _code(lambda: check_read(_headers(**{"if-match": '"x"'}), "e", at)) == \
        "PreconditionFailed"
    assert _code(lambda: check_read(_headers(**{"if-none-match": '"e"'}), "e", at)) == \
        "NotModified"
    assert _code(lambda: check_read(_headers(**{"if-modified-since": date}), "e", at)) == \
        "NotModified"
    assert _code(lambda: check_read(_headers(**{"if-unmodified-since": date}), "e",
                                    at + 5)) == "PreconditionFailed"
    # If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since.
    assert _code(lambda: check_read(_headers(**{"if-match": "e", "if-unmodified-since": date}),
                                    "e", at + 5)) is None
    assert _code(lambda: check_read(
        _headers(**{"x-amz-copy-source-if-none-match": "e"}), "e", at,
        prefix="x-amz-copy-source-")) == "PreconditionFailed"


def test_write_conditions() -> None:
    assert _code(lambda: check_write(_headers(**{"if-none-match": "*"}), None)) is None
    assert _code(lambda: check_write(_headers(**{"if-none-match": "*"}), "e")) == \
        "PreconditionFailed"
    assert _code(lambda: check_write(_headers(**{"if-match": '"e"'}), "e")) is None
    assert _code(lambda: check_write(_headers(**{"if-match": '"x"'}), "e")) == \
        "PreconditionFailed"
    assert _code(lambda: check_write(_headers(**{"if-match": '"x"'}), None)) == "NoSuchKey"


def test_claimed_access_key() -> None:
    def req(headers: list[tuple[str, str]] = (), query: str = "") -> RequestParts:  # type: ignore[assignment]
        return RequestParts("GET", "/", query, headers)

    v4 = ("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/s3/aws4_request, "
          "SignedHeaders=host, Signature=abc")
    assert claimed_access_key(req([v4])) == "AKID"
    assert claimed_access_key(req([("Authorization", "AWS AKV2:sig")])) == "AKV2"
    assert claimed_access_key(req(query="X-Amz-Credential=AKQ%2F20261128%2Fx")) == "AKQ"
    assert claimed_access_key(req(query="AWSAccessKeyId=AKOLD&Signature=x")) == "AKOLD"
    assert claimed_access_key(req()) is None


def test_cors_rules() -> None:
    from radospy.rgw import cors
    from radospy.rgw.s3.xml import CorsRule

    rules = [CorsRule(["https://*.example.com"], ["GET"], ["x-amz-*"]),
             CorsRule(["*"], ["PUT"], [], ["ETag"], 60)]
    assert cors.match(rules, "https://a.example.com", "GET", ["X-Amz-Date"]) is rules[0]
    assert cors.match(rules, "https://a.example.com", "GET", ["Content-Type"]) is None
    assert cors.match(rules, "http://a.example.com", "GET") is None
    assert cors.match(rules, "https://anything", "PUT") is rules[1]
    assert cors.match(rules, "https://anything", "DELETE") is None
    headers = cors.preflight_headers(rules[1], "https://o", ["X-A"])
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Max-Age"] == "60"
    assert headers["Access-Control-Allow-Headers"] == "x-a"
    assert cors.requested_headers(" a, b ,,") == ["a", "b"]


def test_canned_acls() -> None:
    from radospy.rgw import acl
    from radospy.rgw.s3 import xml as s3xml

    assert acl.allows("private", "alice", "alice", acl.WRITE)
    assert not acl.allows("private", "alice", "bob", acl.READ)
    assert acl.allows("public-read", "alice", acl.ANONYMOUS, acl.READ)
    assert not acl.allows("public-read", "alice", acl.ANONYMOUS, acl.WRITE)
    assert acl.allows("public-read-write", "alice", acl.ANONYMOUS, acl.WRITE)
    assert acl.allows("authenticated-read", "alice", "bob", acl.READ)
    assert not acl.allows("authenticated-read", "alice", acl.ANONYMOUS, acl.READ)
    assert acl.allows("bucket-owner-read", "bob", "alice", acl.READ, bucket_owner="alice")
    assert not acl.allows("bucket-owner-read", "bob", "alice", acl.WRITE, bucket_owner="alice")
    owner = s3xml.Owner("alice", "Alice")
    for name in ("private", "public-read", "public-read-write", "authenticated-read"):
        assert acl.canned_of(s3xml.canned_acl(name, owner), owner) == name
    odd = s3xml.AccessControlPolicy(owner, [s3xml.Grant("WRITE_ACP", id="bob")])
    with pytest.raises(S3Error):
        acl.canned_of(odd, owner)
    with pytest.raises(S3Error):
        acl.check_canned("everyone")


def test_uploads_must_declare_their_size() -> None:
    def parts(*headers: tuple[str, str]) -> RequestParts:
        return RequestParts("PUT", "/b/k", "", list(headers))

    require_length(parts(("Content-Length", "0")))
    streaming = ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    require_length(parts(("Transfer-Encoding", "chunked"), streaming,
                         ("x-amz-decoded-content-length", "18000")))
    for refused in (parts(("Transfer-Encoding", "chunked")),
                    parts(("Transfer-Encoding", "chunked"), streaming),
                    parts(("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                          ("x-amz-decoded-content-length", "5"))):
        with pytest.raises(S3Error) as info:
            require_length(refused)
        assert (info.value.code, info.value.status) == ("MissingContentLength", 411)
