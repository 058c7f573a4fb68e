"""Bad input against real `radospy rgw` processes: malformed XML, wrong signatures (SigV4,
SigV2, presigned), oversized headers, invalid bucket names, keys with `..`, `%00` or
past 1024 bytes, missing Content-Length, truncated bodies and other users' buckets.
Each must get S3's error document with the right code and change nothing, which every
test checks by listing and reading afterwards. Requests boto3 would refuse to send are
sent raw, signed by botocore's signers.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SIGV4_TIMESTAMP, HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.s3_cluster import S3Cluster
from tests.integration.cluster import wait_for

ACCESS, SECRET = "AKIARADOSPYBADINPUT1", "radospy-bad-input-secret-00000000000000001"
OTHER_ACCESS, OTHER_SECRET = "AKIARADOSPYBADINPUT2", "radospy-bad-input-secret-00000000000000002"
Response = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def cluster(shared_s3: tuple[S3Cluster, str]) -> S3Cluster:
    """The shared e2e cluster, with this module's users."""
    c = shared_s3[0]
    c.create_user("owner", ACCESS, SECRET)
    c.create_user("intruder", OTHER_ACCESS, OTHER_SECRET)
    return c


@pytest.fixture(scope="module")
def url(shared_s3: tuple[S3Cluster, str], cluster: S3Cluster) -> str:
    return shared_s3[1]


def _client(url: str, access: str = ACCESS, secret: str = SECRET) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=access, aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def s3(url: str) -> Any:
    return _client(url)


@pytest.fixture(scope="module")
def intruder(url: str) -> Any:
    return _client(url, OTHER_ACCESS, OTHER_SECRET)


@pytest.fixture(scope="module")
def unchanged(s3: Any, intruder: Any) -> Callable[[], None]:
    """Set up what the bad requests aim at; the returned check asserts it is as it was."""
    s3.create_bucket(Bucket="guarded")
    s3.put_object(Bucket="guarded", Key="keep", Body=b"precious")
    intruder.create_bucket(Bucket="theirs")
    intruder.put_object(Bucket="theirs", Key="their-key", Body=b"not yours")

    def check() -> None:
        assert s3.get_object(Bucket="guarded", Key="keep")["Body"].read() == b"precious"
        listed = s3.list_objects_v2(Bucket="guarded")
        assert [o["Key"] for o in listed["Contents"]] == ["keep"]
        assert s3.list_multipart_uploads(Bucket="guarded").get("Uploads", []) == []
        assert intruder.get_object(Bucket="theirs",
                                   Key="their-key")["Body"].read() == b"not yours"
        assert [o["Key"] for o in intruder.list_objects_v2(Bucket="theirs")["Contents"]] == [
            "their-key"]
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["guarded"]
        assert [b["Name"] for b in intruder.list_buckets()["Buckets"]] == ["theirs"]

    check()
    return check


class _DeclaredPayloadAuth(S3SigV4Auth):
    """SigV4 that declares (and signs) `x-amz-content-sha256: payload` whatever the body
    is (botocore would otherwise hash the body over plain HTTP), at time `signed_at`."""

    def __init__(self, credentials: Credentials, payload: str, signed_at: float) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._payload = payload
        self._signed_at = signed_at

    def payload(self, request: AWSRequest) -> str:
        return self._payload

    def add_auth(self, request: AWSRequest) -> None:
        when = datetime.fromtimestamp(self._signed_at, UTC)
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        string_to_sign = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def _send(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"",
          *, declared: int | None = None) -> Response:
    """Send a request as given: `path` raw, `body` bytes after the headers; when
    `declared` is set, that Content-Length is announced and the socket half-closed after
    `body` (a client that stopped sending). The answer, or status 0 if none came."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if declared is not None:
            conn.putheader("Content-Length", str(declared))
        conn.endheaders()
        if body:
            conn.send(body)
        if declared is not None:
            assert conn.sock is not None
            conn.sock.shutdown(socket.SHUT_WR)
        try:
            response = conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            return 0, {}, b""
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _signed(url: str, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None, *, access: str = ACCESS,
            secret: str = SECRET, payload: str = "UNSIGNED-PAYLOAD", v2: bool = False,
            length: bool = True, declared: int | None = None,
            signed_at: float | None = None) -> Response:
    """A request signed with SigV4 (or SigV2) by botocore, sent raw; `path` as it goes
    on the wire (percent-encoded). Content-Length is added unless `length` is False."""
    host = urlsplit(url).netloc
    all_headers = {"Host": host, **(headers or {})}
    if length and declared is None:
        all_headers["Content-Length"] = str(len(body))
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                         headers=all_headers)
    creds = Credentials(access, secret)
    if v2:
        HmacV1Auth(creds).add_auth(request)
    else:
        _DeclaredPayloadAuth(creds, payload, signed_at or time.time()).add_auth(request)
    sent = dict(request.headers.items())
    if not length:
        sent.pop("Content-Length", None)
        sent["Transfer-Encoding"] = "chunked"
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return _send(url, method, path, sent, body, declared=declared)


def _error(response: Response) -> tuple[int, str]:
    """Status and S3 error code of a refusal, which must be an `<Error>` document."""
    status, headers, body = response
    assert status >= 400, response
    assert headers.get("Content-Type", "").startswith("application/xml"), response
    root = ET.fromstring(body)
    assert root.tag == "Error" and root.findtext("RequestId"), body
    return status, root.findtext("Code") or ""


def _refused(response: Response) -> Response | None:
    """The response if it is a refusal, else None (for `wait_for`)."""
    return response if response[0] >= 400 else None


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def test_malformed_xml(url: str, s3: Any, unchanged: Callable[[], None]) -> None:
    for xml in (b"not xml at all", b"<Delete><Object><Key>keep</Key></Object>",
                b"<Delete><Object><Nonsense/></Object></Delete>",
                b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "keep">]>'
                b"<Delete><Object><Key>&e;</Key></Object></Delete>"):
        got = _signed(url, "POST", "/guarded?delete", xml, {"Content-MD5": _md5(xml)})
        assert _error(got) == (400, "MalformedXML")
    bad_tags = b"<Tagging><TagSet><Tag><Key>k</Key>"
    assert _error(_signed(url, "PUT", "/guarded?tagging", bad_tags,
                          {"Content-MD5": _md5(bad_tags)})) == (400, "MalformedXML")
    assert _code(lambda: s3.get_bucket_tagging(Bucket="guarded")) == "NoSuchTagSet"
    bad_location = b"<CreateBucketConfiguration><LocationConstraint>"
    assert _error(_signed(url, "PUT", "/newbucket", bad_location)) == (400, "MalformedXML")
    upload = s3.create_multipart_upload(Bucket="guarded", Key="mp")["UploadId"]
    s3.upload_part(Bucket="guarded", Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
    assert _error(_signed(url, "POST", f"/guarded/mp?uploadId={upload}",
                          b"<CompleteMultipartUpload><Part>")) == (400, "MalformedXML")
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="guarded", Key="mp",
                                                   UploadId=upload)["Parts"]] == [1]
    s3.abort_multipart_upload(Bucket="guarded", Key="mp", UploadId=upload)
    unchanged()


def test_bad_tag_headers(url: str, s3: Any, unchanged: Callable[[], None]) -> None:
    # x-amz-tagging is URL query form, not XML: a control character, a character S3
    # does not allow, an aws: key or an overlong value is InvalidTag and stores nothing.
    for tagging in ("k=a%00b", "k%01=v", "k=v%26%3C", "aws%3Ak=v", "k=" + "v" * 257):
        headers = {"x-amz-tagging": tagging}
        assert _error(_signed(url, "PUT", "/guarded/keep", b"overwritten", headers)) == (
            400, "InvalidTag")
        assert _error(_signed(url, "POST", "/guarded/mp?uploads", b"", headers)) == (
            400, "InvalidTag")
        copy = {**headers, "x-amz-copy-source": "/guarded/keep",
                "x-amz-tagging-directive": "REPLACE"}
        assert _error(_signed(url, "PUT", "/guarded/copied", b"", copy)) == (400, "InvalidTag")
    assert s3.get_object_tagging(Bucket="guarded", Key="keep")["TagSet"] == []
    unchanged()


def test_wrong_signatures(url: str, s3: Any, unchanged: Callable[[], None]) -> None:
    assert _error(_signed(url, "DELETE", "/guarded/keep", secret="wrong")) == (
        403, "SignatureDoesNotMatch")
    assert _error(_signed(url, "PUT", "/guarded/keep", b"forged", v2=True,
                          secret="wrong")) == (403, "SignatureDoesNotMatch")
    assert _error(_signed(url, "PUT", "/guarded/keep", b"unknown key",
                          access="AKIANOSUCHKEY0000000")) == (403, "InvalidAccessKeyId")
    body = b"what was signed"
    assert _error(_signed(url, "PUT", "/guarded/keep", b"what was sent",
                          payload=hashlib.sha256(body).hexdigest())) == (
        400, "XAmzContentSHA256Mismatch")
    assert _error(_signed(url, "PUT", "/guarded/keep", b"late",
                          signed_at=time.time() - 3600)) == (403, "RequestTimeTooSkewed")
    presigned = s3.generate_presigned_url("get_object", {"Bucket": "guarded", "Key": "keep"})
    tampered = urlsplit(presigned.replace("/guarded/keep", "/guarded/keep2"))
    host = {"Host": tampered.netloc}
    assert _error(_send(url, "GET", f"{tampered.path}?{tampered.query}", host)) == (
        403, "SignatureDoesNotMatch")
    short = urlsplit(s3.generate_presigned_url(
        "get_object", {"Bucket": "guarded", "Key": "keep"}, ExpiresIn=1))
    expired = wait_for(lambda: _refused(_send(url, "GET", f"{short.path}?{short.query}",
                                              host)), 60, "a presigned URL to expire")
    assert _error(expired) == (403, "AccessDenied")
    assert _error(_signed(url, "PUT", "/guarded/keep", b"bad md5",
                          {"Content-MD5": "not base64!"})) == (400, "InvalidDigest")
    assert _error(_signed(url, "PUT", "/guarded/keep", b"bad md5",
                          {"Content-MD5": _md5(b"other")})) == (400, "BadDigest")
    unchanged()


def test_oversized_headers(url: str, s3: Any, unchanged: Callable[[], None]) -> None:
    status, code = _error(_signed(url, "PUT", "/guarded/keep", b"big header",
                                  {"X-Amz-Meta-Big": "x" * 9000}))
    assert (status, code) == (400, "RequestHeaderSectionTooLarge")
    many = {f"X-Amz-Meta-H{n}": "v" for n in range(200)}
    assert _error(_signed(url, "PUT", "/guarded/keep", b"many headers", many)) == (
        400, "RequestHeaderSectionTooLarge")
    assert _error(_send(url, "GET", "/guarded/" + "k" * 9000,
                        {"Host": urlsplit(url).netloc})) == (
        400, "RequestHeaderSectionTooLarge")
    meta = {f"X-Amz-Meta-M{n}": "v" * 200 for n in range(12)}
    assert _error(_signed(url, "PUT", "/guarded/keep", b"metadata", meta)) == (
        400, "MetadataTooLarge")
    unchanged()


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Bad_Name", "UPPER", "192.168.5.4",
                                  "-lead", "trail-", "a..b", "dot.-dash", "sp ace"])
def test_invalid_bucket_names(url: str, name: str, unchanged: Callable[[], None]) -> None:
    path = "/" + name.replace(" ", "%20")
    assert _error(_signed(url, "PUT", path)) == (400, "InvalidBucketName")
    unchanged()


def test_keys(url: str, s3: Any, unchanged: Callable[[], None]) -> None:
    assert _error(_signed(url, "PUT", "/guarded/a%00b", b"nul")) == (400, "InvalidArgument")
    assert _error(_signed(url, "PUT", "/guarded/" + "k" * 1025, b"long")) == (
        400, "KeyTooLongError")
    assert _error(_signed(url, "PUT", "/guarded/" + "k" * 1025,
                          headers={"x-amz-copy-source": "/guarded/keep"})) == (
        400, "KeyTooLongError")
    assert _error(_signed(url, "POST", "/guarded/" + "%C3%A9" * 513 + "?uploads")) == (
        400, "KeyTooLongError")
    unchanged()
    # A key holding `..` is a name like any other: it stays inside its bucket.
    s3.create_bucket(Bucket="dots")
    assert _signed(url, "PUT", "/dots/../theirs/their-key", b"dots")[0] == 200
    assert _signed(url, "PUT", "/dots/a/../b", b"dots")[0] == 200
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="dots")["Contents"]]
    assert listed == ["../theirs/their-key", "a/../b"]
    assert _signed(url, "GET", "/dots/a/../b")[2] == b"dots"
    assert _error(_signed(url, "GET", "/dots/..")) == (404, "NoSuchKey")
    assert _signed(url, "GET", "/..%2Ftheirs/their-key")[0] >= 400
    assert _signed(url, "PUT", "/dots/" + "k" * 1024, b"longest")[0] == 200
    assert s3.get_object(Bucket="dots", Key="k" * 1024)["Body"].read() == b"longest"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="dots")["Contents"]]
    s3.delete_objects(Bucket="dots", Delete={"Objects": [{"Key": k} for k in listed]})
    s3.delete_bucket(Bucket="dots")
    unchanged()


def test_missing_length_and_truncated_bodies(url: str, s3: Any,
                                             unchanged: Callable[[], None]) -> None:
    assert _error(_signed(url, "PUT", "/guarded/keep", b"chunked", length=False)) == (
        411, "MissingContentLength")
    assert _error(_signed(url, "PUT", "/guarded/new", b"chunked", length=False)) == (
        411, "MissingContentLength")
    upload = s3.create_multipart_upload(Bucket="guarded", Key="mp")["UploadId"]
    assert _error(_signed(url, "PUT", f"/guarded/mp?partNumber=1&uploadId={upload}",
                          b"part", length=False)) == (411, "MissingContentLength")
    assert s3.list_parts(Bucket="guarded", Key="mp", UploadId=upload).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket="guarded", Key="mp", UploadId=upload)
    # The client stops after half its body: whatever the gateway answers (if it can),
    # the old object stays and no new one appears.
    for key in ("keep", "truncated"):
        status, _, _ = _signed(url, "PUT", f"/guarded/{key}", b"x" * 50_000,
                               declared=100_000)
        assert status in (0, 400)
    # aws-chunked whose chunks add up to less than x-amz-decoded-content-length.
    chunked = b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + \
        b"0" * 64 + b"\r\n\r\n"
    got = _signed(url, "PUT", "/guarded/keep", chunked,
                  {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "10"},
                  payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert _error(got)[0] == 400
    unchanged()


def test_other_users_buckets(url: str, s3: Any, intruder: Any,
                             unchanged: Callable[[], None]) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: intruder.get_object(Bucket="guarded", Key="keep"),
        lambda: intruder.put_object(Bucket="guarded", Key="keep", Body=b"mine"),
        lambda: intruder.put_object(Bucket="guarded", Key="planted", Body=b"mine"),
        lambda: intruder.delete_object(Bucket="guarded", Key="keep"),
        lambda: intruder.delete_objects(Bucket="guarded",
                                        Delete={"Objects": [{"Key": "keep"}]}),
        lambda: intruder.list_objects(Bucket="guarded"),
        lambda: intruder.list_objects_v2(Bucket="guarded"),
        lambda: intruder.delete_bucket(Bucket="guarded"),
        lambda: intruder.put_bucket_tagging(
            Bucket="guarded", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}),
        lambda: intruder.put_bucket_acl(Bucket="guarded", ACL="public-read-write"),
        lambda: intruder.create_multipart_upload(Bucket="guarded", Key="mp"),
        lambda: intruder.copy_object(Bucket="theirs", Key="stolen",
                                     CopySource={"Bucket": "guarded", "Key": "keep"}),
        lambda: intruder.copy_object(Bucket="guarded", Key="planted",
                                     CopySource={"Bucket": "theirs", "Key": "their-key"}),
        lambda: s3.get_object(Bucket="theirs", Key="their-key"),
    ]
    for call in calls:
        assert _code(call) == "AccessDenied"
    assert _code(lambda: intruder.create_bucket(Bucket="guarded")) == "BucketAlreadyExists"
    anonymous = _send(url, "PUT", "/guarded/keep",
                      {"Host": urlsplit(url).netloc, "Content-Length": "4"}, b"anon")
    assert _error(anonymous) == (403, "AccessDenied")
    unchanged()
