"""boto3 against real `radospy rgw` processes on a real cluster: buckets, objects,
ranges, conditions, copy, multi-delete, paginated listings, multipart through the
default transfer manager, presigned URLs, checksums, two gateways sharing one cluster,
and bad requests that must get the right S3 error and change nothing.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.s3_cluster import S3Cluster
from tests.integration.cluster import wait_for

ACCESS, SECRET = "AKIARADOSPYTEST00001", "radospy-test-secret-key-0000000000000001"
OTHER_ACCESS, OTHER_SECRET = "AKIARADOSPYTEST00002", "radospy-test-secret-key-0000000000000002"
MIB = 1 << 20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Cluster]:
    c = S3Cluster(tmp_path_factory.mktemp("s3"), num_osds=3)
    try:
        c.bring_up()
        c.create_user("tester", ACCESS, SECRET)
        c.create_user("other", OTHER_ACCESS, OTHER_SECRET)
        c.start_gateway()
        c.start_gateway()
        yield c
    finally:
        c.close()


def _client(url: str, access: str = ACCESS, secret: str = SECRET, **config: Any) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=access, aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="module")
def urls(cluster: S3Cluster) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in cluster.gateways]


@pytest.fixture(scope="module")
def s3(urls: list[str]) -> Any:
    return _client(urls[0])


@pytest.fixture(scope="module")
def s3b(urls: list[str]) -> Any:
    return _client(urls[1])


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def _status(call: Callable[[], Any]) -> int:
    with pytest.raises(ClientError) as info:
        call()
    return int(info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_buckets(s3: Any) -> None:
    s3.create_bucket(Bucket="alpha")
    s3.create_bucket(Bucket="beta-1", CreateBucketConfiguration={"LocationConstraint": "default"})
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert {"alpha", "beta-1"} <= set(names) and names == sorted(names)
    s3.head_bucket(Bucket="alpha")
    assert s3.get_bucket_location(Bucket="alpha")["LocationConstraint"] is None
    assert s3.get_bucket_location(Bucket="beta-1")["LocationConstraint"] == "default"
    assert _code(lambda: s3.create_bucket(Bucket="alpha")) == "BucketAlreadyOwnedByYou"
    assert _code(lambda: s3.create_bucket(
        Bucket="gamma", CreateBucketConfiguration={"LocationConstraint": "mars-1"}
    )) == "InvalidLocationConstraint"
    assert _status(lambda: s3.head_bucket(Bucket="nonexistent")) == 404
    s3.put_object(Bucket="beta-1", Key="k", Body=b"x")
    assert _code(lambda: s3.delete_bucket(Bucket="beta-1")) == "BucketNotEmpty"
    s3.delete_object(Bucket="beta-1", Key="k")
    s3.delete_bucket(Bucket="beta-1")
    assert "beta-1" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert _code(lambda: s3.delete_bucket(Bucket="beta-1")) == "NoSuchBucket"


def test_put_get_head_delete(s3: Any) -> None:
    s3.create_bucket(Bucket="objects")
    body = b"hello radospy\n"
    put = s3.put_object(Bucket="objects", Key="dir/hello.txt", Body=body,
                        ContentType="text/plain", Metadata={"color": "blue"},
                        CacheControl="max-age=60", ContentDisposition="inline")
    assert put["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    got = s3.get_object(Bucket="objects", Key="dir/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=60" and got["ContentDisposition"] == "inline"
    head = s3.head_object(Bucket="objects", Key="dir/hello.txt")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    over = s3.get_object(Bucket="objects", Key="dir/hello.txt",
                         ResponseContentType="application/x-test")
    assert over["ContentType"] == "application/x-test"
    s3.put_object(Bucket="objects", Key="empty", Body=b"")
    assert s3.get_object(Bucket="objects", Key="empty")["Body"].read() == b""
    s3.delete_object(Bucket="objects", Key="dir/hello.txt")
    assert _code(lambda: s3.get_object(Bucket="objects", Key="dir/hello.txt")) == "NoSuchKey"
    assert _status(lambda: s3.head_object(Bucket="objects", Key="dir/hello.txt")) == 404
    s3.delete_object(Bucket="objects", Key="never-existed")


def test_ranges_and_conditions(s3: Any) -> None:
    s3.create_bucket(Bucket="ranges")
    data = os.urandom(9 * MIB + 123)
    etag = s3.put_object(Bucket="ranges", Key="big", Body=data)["ETag"]
    for first, last in ((0, 0), (5, 4 * MIB + 10), (4 * MIB - 1, 8 * MIB + 1),
                        (len(data) - 10, len(data) - 1)):
        got = s3.get_object(Bucket="ranges", Key="big", Range=f"bytes={first}-{last}")
        assert got["Body"].read() == data[first:last + 1]
        assert got["ContentRange"] == f"bytes {first}-{last}/{len(data)}"
    tail = s3.get_object(Bucket="ranges", Key="big", Range="bytes=-100")["Body"].read()
    assert tail == data[-100:]
    assert _code(lambda: s3.get_object(Bucket="ranges", Key="big",
                                       Range=f"bytes={len(data)}-")) == "InvalidRange"
    assert s3.get_object(Bucket="ranges", Key="big", IfMatch=etag)["Body"].read() == data
    assert _status(lambda: s3.get_object(Bucket="ranges", Key="big", IfMatch='"0"')) == 412
    assert _status(lambda: s3.get_object(Bucket="ranges", Key="big", IfNoneMatch=etag)) == 304
    modified = s3.head_object(Bucket="ranges", Key="big")["LastModified"]
    assert _status(lambda: s3.get_object(Bucket="ranges", Key="big",
                                         IfModifiedSince=modified)) == 304
    assert _status(lambda: s3.get_object(
        Bucket="ranges", Key="big",
        IfUnmodifiedSince=modified.replace(year=modified.year - 1))) == 412


def test_conditional_put(s3: Any) -> None:
    s3.create_bucket(Bucket="locks")
    first = s3.put_object(Bucket="locks", Key="state.lock", Body=b"one", IfNoneMatch="*")
    assert _status(lambda: s3.put_object(Bucket="locks", Key="state.lock", Body=b"two",
                                         IfNoneMatch="*")) == 412
    assert _status(lambda: s3.put_object(Bucket="locks", Key="state.lock", Body=b"three",
                                         IfMatch='"00000000000000000000000000000000"')) == 412
    assert s3.get_object(Bucket="locks", Key="state.lock")["Body"].read() == b"one"
    s3.put_object(Bucket="locks", Key="state.lock", Body=b"four", IfMatch=first["ETag"])
    assert s3.get_object(Bucket="locks", Key="state.lock")["Body"].read() == b"four"


def test_copy(s3: Any) -> None:
    s3.create_bucket(Bucket="copies")
    data = os.urandom(5 * MIB + 7)
    etag = s3.put_object(Bucket="copies", Key="src", Body=data, Metadata={"m": "1"},
                         ContentType="image/png")["ETag"]
    s3.copy_object(Bucket="copies", Key="same-meta", CopySource={"Bucket": "copies", "Key": "src"})
    got = s3.get_object(Bucket="copies", Key="same-meta")
    assert got["Body"].read() == data and got["Metadata"] == {"m": "1"}
    assert got["ContentType"] == "image/png" and got["ETag"] == etag
    s3.copy_object(Bucket="copies", Key="new-meta", CopySource="copies/src",
                   MetadataDirective="REPLACE", Metadata={"m": "2"}, ContentType="text/x")
    head = s3.head_object(Bucket="copies", Key="new-meta")
    assert head["Metadata"] == {"m": "2"} and head["ContentType"] == "text/x"
    assert _status(lambda: s3.copy_object(Bucket="copies", Key="x", CopySource="copies/src",
                                          CopySourceIfMatch='"abc"')) == 412
    assert _code(lambda: s3.copy_object(Bucket="copies", Key="src",
                                        CopySource="copies/src")) == "InvalidRequest"
    assert _code(lambda: s3.copy_object(Bucket="copies", Key="x",
                                        CopySource="copies/missing")) == "NoSuchKey"


def test_delete_objects(s3: Any) -> None:
    s3.create_bucket(Bucket="multidelete")
    for n in range(5):
        s3.put_object(Bucket="multidelete", Key=f"k{n}", Body=b"v")
    result = s3.delete_objects(Bucket="multidelete", Delete={
        "Objects": [{"Key": f"k{n}"} for n in (0, 1, 2, 9)]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["k0", "k1", "k2", "k9"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="multidelete")["Contents"]]
    assert keys == ["k3", "k4"]


KEYS = sorted(
    [f"photos/2024/{n:02d}.jpg" for n in range(7)]
    + [f"photos/2025/{n:02d}.jpg" for n in range(5)]
    + [f"docs/{c}.txt" for c in "abcde"]
    + ["readme", "zeta/ü.txt", "a+b c", "top.txt"],
    key=lambda k: k.encode(),
)


def _expected(prefix: str, delimiter: str) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    prefixes: list[str] = []
    for key in KEYS:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if common not in prefixes:
                prefixes.append(common)
        else:
            keys.append(key)
    return keys, prefixes


def test_paginated_listing(s3: Any) -> None:
    s3.create_bucket(Bucket="listing")
    for key in KEYS:
        s3.put_object(Bucket="listing", Key=key, Body=key.encode())
    for prefix, delimiter in (("", ""), ("", "/"), ("photos/", "/"), ("photos/2024/", ""),
                              ("nope", "/")):
        want = _expected(prefix, delimiter)
        for version in ("list_objects", "list_objects_v2"):
            keys: list[str] = []
            prefixes: list[str] = []
            pages = s3.get_paginator(version).paginate(
                Bucket="listing", Prefix=prefix, Delimiter=delimiter,
                PaginationConfig={"PageSize": 3})
            for page in pages:
                keys += [o["Key"] for o in page.get("Contents", [])]
                prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            assert (keys, prefixes) == want, (version, prefix, delimiter)
    after = s3.list_objects_v2(Bucket="listing", StartAfter="photos/2025/02.jpg")
    assert [o["Key"] for o in after["Contents"]] == [
        k for k in KEYS if k.encode() > b"photos/2025/02.jpg"]
    encoded = s3.list_objects(Bucket="listing", Prefix="a+b", EncodingType="url")
    # boto3 leaves keys encoded when the caller asked for the encoding itself.
    assert [o["Key"] for o in encoded["Contents"]] == ["a%2Bb%20c"]


def test_multipart_transfer_manager(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="transfers")
    src = tmp_path / "src.bin"
    data = os.urandom(20 * MIB + 333)
    src.write_bytes(data)
    s3.upload_file(str(src), "transfers", "big.bin")
    head = s3.head_object(Bucket="transfers", Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")
    dst = tmp_path / "dst.bin"
    s3.download_file("transfers", "big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_multipart_rules(s3: Any, cluster: S3Cluster) -> None:
    s3.create_bucket(Bucket="parts")
    upload = s3.create_multipart_upload(Bucket="parts", Key="obj")["UploadId"]
    s3.upload_part(Bucket="parts", Key="obj", UploadId=upload, PartNumber=1, Body=b"first")
    small = s3.upload_part(Bucket="parts", Key="obj", UploadId=upload, PartNumber=1,
                           Body=b"a" * 1024)
    last = s3.upload_part(Bucket="parts", Key="obj", UploadId=upload, PartNumber=2, Body=b"b")
    parts = s3.list_parts(Bucket="parts", Key="obj", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 1024), (2, 1)]
    listed = s3.list_multipart_uploads(Bucket="parts")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("obj", upload)]
    done = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    assert _code(lambda: s3.complete_multipart_upload(
        Bucket="parts", Key="obj", UploadId=upload,
        MultipartUpload={"Parts": done})) == "EntityTooSmall"
    assert _code(lambda: s3.complete_multipart_upload(
        Bucket="parts", Key="obj", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]}
    )) == "InvalidPart"
    s3.abort_multipart_upload(Bucket="parts", Key="obj", UploadId=upload)
    assert s3.list_multipart_uploads(Bucket="parts").get("Uploads", []) == []
    assert _code(lambda: s3.list_parts(Bucket="parts", Key="obj",
                                       UploadId=upload)) == "NoSuchUpload"
    # The stripes of the replaced part 1 and of the aborted upload's parts wait in
    # the gc list; the collector removes them.
    rc, out, err = cluster.rados("-p", "default.rgw.buckets.data", "ls")
    assert rc == 0, err
    stripes = {oid for oid in out.decode().split() if "__multipart_obj." in oid}
    assert len(stripes) == 3
    listed = {o["oid"] for e in cluster.admin("gc", "list", "--include-all") for o in e["objs"]}
    assert stripes <= listed
    cluster.admin("gc", "process", "--include-all")
    rc, out, err = cluster.rados("-p", "default.rgw.buckets.data", "ls")
    assert rc == 0, err
    assert "__multipart_obj" not in out.decode()
    copy = s3.create_multipart_upload(Bucket="parts", Key="copied")["UploadId"]
    s3.put_object(Bucket="parts", Key="source", Body=b"0123456789" * MIB)
    one = s3.upload_part_copy(Bucket="parts", Key="copied", UploadId=copy, PartNumber=1,
                              CopySource="parts/source", CopySourceRange=f"bytes=0-{6 * MIB - 1}")
    two = s3.upload_part_copy(Bucket="parts", Key="copied", UploadId=copy, PartNumber=2,
                              CopySource="parts/source",
                              CopySourceRange=f"bytes={6 * MIB}-{10 * MIB - 1}")
    s3.complete_multipart_upload(Bucket="parts", Key="copied", UploadId=copy, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": one["CopyPartResult"]["ETag"]},
                  {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket="parts", Key="copied")["Body"].read()
    assert got == b"0123456789" * MIB


def test_presigned_urls(s3: Any, urls: list[str]) -> None:
    s3.create_bucket(Bucket="presigned")
    v4 = _client(urls[0], signature_version="s3v4")
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": "presigned", "Key": "p"},
                                        ExpiresIn=300)
    assert "X-Amz-Signature=" in put_url
    request = urllib.request.Request(put_url, data=b"via presigned put", method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    for client in (v4, s3):
        get_url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "presigned", "Key": "p"}, ExpiresIn=300)
        with urllib.request.urlopen(get_url, timeout=60) as response:
            assert response.read() == b"via presigned put"
        tampered = get_url.replace("/presigned/p?", "/presigned/q?")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(tampered, timeout=60)
        assert info.value.code == 403 and b"SignatureDoesNotMatch" in info.value.read()
    expiring = v4.generate_presigned_url("get_object", ExpiresIn=1,
                                         Params={"Bucket": "presigned", "Key": "p"})

    def refused() -> bytes | None:
        try:
            urllib.request.urlopen(expiring, timeout=60).close()
        except urllib.error.HTTPError as exc:
            return exc.read() if exc.code == 403 else None
        return None

    assert b"Request has expired" in wait_for(refused, 30, "the presigned URL to expire", 0.5)


def test_checksums(urls: list[str]) -> None:
    s3 = _client(urls[0], request_checksum_calculation="when_supported",
                 response_checksum_validation="when_supported")
    s3.create_bucket(Bucket="checksums")
    data = os.urandom(3 * MIB + 5)
    # CRC32C needs botocore[crt] on the client side; the gateway's own tests cover it.
    for algorithm in ("CRC32", "SHA1", "SHA256"):
        put = s3.put_object(Bucket="checksums", Key=algorithm, Body=data,
                            ChecksumAlgorithm=algorithm)
        assert put.get(f"Checksum{algorithm}")
        got = s3.get_object(Bucket="checksums", Key=algorithm, ChecksumMode="ENABLED")
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
        assert got["Body"].read() == data
    s3.put_object(Bucket="checksums", Key="md5", Body=b"original")
    bad_md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert _code(lambda: s3.put_object(Bucket="checksums", Key="md5", Body=b"changed",
                                       ContentMD5=bad_md5)) == "BadDigest"
    assert s3.get_object(Bucket="checksums", Key="md5")["Body"].read() == b"original"


def test_two_gateways_share_the_cluster(s3: Any, s3b: Any) -> None:
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="from-a", Body=b"written through gateway a")
    assert s3b.get_object(Bucket="shared", Key="from-a")["Body"].read() == \
        b"written through gateway a"
    assert _code(lambda: s3b.create_bucket(Bucket="shared")) == "BucketAlreadyOwnedByYou"
    for n in range(6):
        (s3 if n % 2 else s3b).put_object(Bucket="shared", Key="contended", Body=b"v%d" % n)
    body = s3b.get_object(Bucket="shared", Key="contended")["Body"].read()
    assert body == b"v5"
    listed = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket="shared")["Contents"]}
    assert listed["contended"] == s3.head_object(Bucket="shared", Key="contended")["ETag"]
    s3b.delete_object(Bucket="shared", Key="from-a")
    assert _code(lambda: s3.get_object(Bucket="shared", Key="from-a")) == "NoSuchKey"


def _signed(url: str, method: str, path: str, body: bytes | None, headers: dict[str, str],
            *, payload: str = "UNSIGNED-PAYLOAD", host: str | None = None) -> tuple[int, bytes]:
    """A raw request signed with SigV4 by botocore, sent as given (no fix-ups) to the
    gateway at `url`, naming `host` (default: the URL's) in the Host header."""
    parts = urlsplit(url)
    signed_url = f"http://{host}{path}" if host else url + path
    request = AWSRequest(method=method, url=signed_url, data=body or b"",
                         headers={**headers, "x-amz-content-sha256": payload})
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or parts.netloc)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        if body is not None and "Content-Length" not in headers:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        else:
            conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_virtual_host_style(s3: Any, urls: list[str]) -> None:
    s3.create_bucket(Bucket="vhost")
    host = f"vhost.localhost:{urlsplit(urls[1]).port}"
    status, _ = _signed(urls[1], "PUT", "/dir/key", b"by host", {"Content-Length": "7"},
                        host=host)
    assert status == 200
    assert s3.get_object(Bucket="vhost", Key="dir/key")["Body"].read() == b"by host"
    status, body = _signed(urls[1], "GET", "/?list-type=2", None, {}, host=host)
    assert status == 200 and b"<Key>dir/key</Key>" in body


def test_bad_requests_change_nothing(s3: Any, urls: list[str], cluster: S3Cluster) -> None:
    s3.create_bucket(Bucket="guarded")
    s3.put_object(Bucket="guarded", Key="keep", Body=b"precious")

    def unchanged() -> None:
        assert s3.get_object(Bucket="guarded", Key="keep")["Body"].read() == b"precious"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="guarded")["Contents"]]
        assert keys == ["keep"]

    wrong = _client(urls[0], secret="not-the-secret")
    assert _code(lambda: wrong.put_object(Bucket="guarded", Key="keep",
                                          Body=b"x")) == "SignatureDoesNotMatch"
    unknown = _client(urls[0], access="AKIANOSUCHKEY0000000")
    assert _code(lambda: unknown.put_object(Bucket="guarded", Key="new",
                                            Body=b"x")) == "InvalidAccessKeyId"
    assert _code(lambda: s3.create_bucket(Bucket="Bad_Name")) == "InvalidBucketName"
    assert _code(lambda: s3.create_bucket(Bucket="a..b")) == "InvalidBucketName"
    status, body = _signed(urls[0], "PUT", "/guarded/keep", b"chunked body", {})
    assert status == 411 and b"MissingContentLength" in body
    xml = b"<Delete><Object><Key>keep</Key></Object>"
    md5 = base64.b64encode(hashlib.md5(xml).digest()).decode()
    status, body = _signed(urls[0], "POST", "/guarded?delete", xml,
                           {"Content-Length": str(len(xml)), "Content-MD5": md5})
    assert status == 400 and b"MalformedXML" in body
    other = _client(urls[0], OTHER_ACCESS, OTHER_SECRET)
    assert _code(lambda: other.get_object(Bucket="guarded", Key="keep")) == "AccessDenied"
    assert _code(lambda: other.put_object(Bucket="guarded", Key="keep",
                                          Body=b"mine")) == "AccessDenied"
    assert _code(lambda: other.delete_bucket(Bucket="guarded")) == "AccessDenied"
    long_key = "k" * 1025
    assert _code(lambda: s3.put_object(Bucket="guarded", Key=long_key,
                                       Body=b"x")) == "KeyTooLongError"
    assert "guarded" not in [b["Name"] for b in other.list_buckets().get("Buckets", [])]
    unchanged()


def test_admin_tools(cluster: S3Cluster, s3: Any) -> None:
    s3.create_bucket(Bucket="adminview")
    s3.put_object(Bucket="adminview", Key="a", Body=b"12345")
    info = cluster.admin("user", "info", "--uid", "tester")
    assert info["user_id"] == "tester" and info["keys"][0]["access_key"] == ACCESS
    assert "tester" in cluster.admin("user", "list")
    assert "adminview" in cluster.admin("bucket", "list", "--uid", "tester")
    stats = cluster.admin("bucket", "stats", "--bucket", "adminview")
    assert stats["owner"] == "tester"
    assert stats["usage"]["rgw.main"]["num_objects"] == 1
    assert stats["usage"]["rgw.main"]["size"] == 5
    cluster.admin("user", "suspend", "--uid", "other")
    other = _client(f"http://127.0.0.1:{next(iter(cluster.gateways))}", OTHER_ACCESS,
                    OTHER_SECRET)
    assert _code(other.list_buckets) == "AccessDenied"
    cluster.admin("user", "enable", "--uid", "other")
    other.list_buckets()
    res = cluster.run_tool("radosgw-admin", "-c", str(cluster.conf_path), "user", "info",
                           "--uid", "nobody")
    assert res.returncode == 2 and b"could not fetch user info" in res.stderr
    cluster.admin("bucket", "link", "--bucket", "adminview", "--uid", "other")
    assert "adminview" in cluster.admin("bucket", "list", "--uid", "other")
    assert "adminview" not in cluster.admin("bucket", "list", "--uid", "tester")
    assert _code(lambda: s3.list_objects_v2(Bucket="adminview")) == "AccessDenied"
    assert other.get_object(Bucket="adminview", Key="a")["Body"].read() == b"12345"
    cluster.admin("bucket", "rm", "--bucket", "adminview", "--purge-objects")
    assert _code(lambda: s3.head_object(Bucket="adminview", Key="a")) in ("404", "NoSuchBucket")


def test_big_object_streams(s3: Any) -> None:
    s3.create_bucket(Bucket="stream")
    data = io.BytesIO(os.urandom(33 * MIB))
    s3.put_object(Bucket="stream", Key="obj", Body=data)
    got = s3.get_object(Bucket="stream", Key="obj")["Body"]
    digest = hashlib.md5()
    while chunk := got.read(MIB):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.md5(data.getvalue()).hexdigest()


def _options(url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("OPTIONS", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_cors(s3: Any, urls: list[str]) -> None:
    s3.create_bucket(Bucket="cors")
    s3.put_object(Bucket="cors", Key="page.html", Body=b"<html/>")
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-A"}
    assert _options(urls[0], "/cors/page.html", preflight)[0] == 403
    assert _code(lambda: s3.get_bucket_cors(Bucket="cors")) == "NoSuchCORSConfiguration"
    s3.put_bucket_cors(Bucket="cors", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"],
         "AllowedHeaders": ["content-type", "x-amz-meta-*"], "MaxAgeSeconds": 600,
         "ExposeHeaders": ["ETag"]}]})
    rules = s3.get_bucket_cors(Bucket="cors")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://*.example.com"]
    status, headers = _options(urls[1], "/cors/page.html", preflight)
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-max-age"] == "600"
    refused = dict(preflight, Origin="https://evil.test")
    assert _options(urls[1], "/cors/page.html", refused)[0] == 403
    assert _options(urls[1], "/cors/page.html",
                    dict(preflight, **{"Access-Control-Request-Method": "DELETE"}))[0] == 403
    got = s3.get_object(Bucket="cors", Key="page.html")
    assert "access-control-allow-origin" not in got["ResponseMetadata"]["HTTPHeaders"]
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "cors", "Key": "page.html"})
    request = urllib.request.Request(url, headers={"Origin": "https://app.example.com"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert response.headers["Access-Control-Expose-Headers"] == "ETag"
    s3.delete_bucket_cors(Bucket="cors")
    assert _code(lambda: s3.get_bucket_cors(Bucket="cors")) == "NoSuchCORSConfiguration"


def test_metadata_changes_reach_every_gateway(s3: Any, s3b: Any, urls: list[str],
                                              cluster: S3Cluster) -> None:
    """Each gateway caches users and buckets; a change made through another gateway or
    radosgw-admin counts on every gateway from the next request on."""
    s3.create_bucket(Bucket="coherent")
    s3.put_object(Bucket="coherent", Key="k", Body=b"cached")
    public = f"{urls[1]}/coherent/k"
    # Gateway b reads (and caches) the user and the bucket.
    assert s3b.get_object(Bucket="coherent", Key="k")["Body"].read() == b"cached"
    assert _anonymous(public)[0] == 403
    s3.put_bucket_acl(Bucket="coherent", ACL="public-read")
    assert _anonymous(public) == (200, b"cached")
    s3.put_bucket_acl(Bucket="coherent", ACL="private")
    assert _anonymous(public)[0] == 403

    access, secret = "AKIARADOSPYCACHE0001", "radospy-cache-secret-0000000000000000001"
    cluster.admin("key", "create", "--uid", "tester", "--access-key", access,
                  "--secret", secret)
    second = _client(urls[1], access, secret)
    assert second.get_object(Bucket="coherent", Key="k")["Body"].read() == b"cached"
    cluster.admin("key", "rm", "--uid", "tester", "--access-key", access)
    assert _code(lambda: second.get_object(Bucket="coherent", Key="k")) == "InvalidAccessKeyId"

    s3.delete_object(Bucket="coherent", Key="k")
    s3.delete_bucket(Bucket="coherent")
    other = _client(urls[0], OTHER_ACCESS, OTHER_SECRET)
    other.create_bucket(Bucket="coherent")
    assert _code(lambda: s3b.put_object(Bucket="coherent", Key="k", Body=b"x")) == \
        "AccessDenied"
    _client(urls[1], OTHER_ACCESS, OTHER_SECRET).put_object(Bucket="coherent", Key="k",
                                                             Body=b"new owner")
    assert other.get_object(Bucket="coherent", Key="k")["Body"].read() == b"new owner"
    other.delete_object(Bucket="coherent", Key="k")
    other.delete_bucket(Bucket="coherent")


def _anonymous(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_canned_acls(s3: Any, urls: list[str]) -> None:
    base = urls[0]
    s3.create_bucket(Bucket="acls")
    s3.put_object(Bucket="acls", Key="secret", Body=b"private data")
    s3.put_object(Bucket="acls", Key="shared", Body=b"public data", ACL="public-read")
    assert _anonymous(f"{base}/acls/secret")[0] == 403
    assert _anonymous(f"{base}/acls/shared") == (200, b"public data")
    assert _anonymous(f"{base}/acls")[0] == 403
    assert _anonymous(f"{base}/acls/missing")[0] == 403
    assert _anonymous(f"{base}/")[0] == 403
    grants = s3.get_object_acl(Bucket="acls", Key="shared")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
            "Permission": "READ"} in grants
    s3.put_bucket_acl(Bucket="acls", ACL="public-read")
    status, body = _anonymous(f"{base}/acls?list-type=2")
    assert status == 200 and b"<Key>secret</Key>" in body
    assert _anonymous(f"{base}/acls/secret") == (200, b"private data")
    assert _anonymous(f"{base}/acls/missing")[0] == 404
    assert _anonymous(f"{base}/acls/new", "PUT", b"x")[0] == 403
    other = _client(base, OTHER_ACCESS, OTHER_SECRET)
    assert other.get_object(Bucket="acls", Key="secret")["Body"].read() == b"private data"
    assert _code(lambda: other.put_object(Bucket="acls", Key="o", Body=b"x")) == "AccessDenied"
    s3.put_bucket_acl(Bucket="acls", ACL="public-read-write")
    other.put_object(Bucket="acls", Key="o", Body=b"from other")
    assert s3.get_object(Bucket="acls", Key="o")["Body"].read() == b"from other"
    assert _code(lambda: other.put_bucket_acl(Bucket="acls", ACL="private")) == "AccessDenied"
    s3.put_bucket_acl(Bucket="acls", ACL="private")
    assert _anonymous(f"{base}/acls?list-type=2")[0] == 403
    assert _code(lambda: s3.put_bucket_acl(Bucket="acls", ACL="bogus")) == "InvalidArgument"


def test_versions_listing_and_bucket_tagging(s3: Any) -> None:
    s3.create_bucket(Bucket="versions")
    for key in ("a", "b/1", "b/2", "c"):
        s3.put_object(Bucket="versions", Key=key, Body=key.encode())
    assert s3.get_bucket_versioning(Bucket="versions").get("Status") is None
    seen: list[tuple[str, str, bool]] = []
    prefixes: list[str] = []
    for page in s3.get_paginator("list_object_versions").paginate(
            Bucket="versions", Delimiter="/", PaginationConfig={"PageSize": 1}):
        seen += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert seen == [("a", "null", True), ("c", "null", True)] and prefixes == ["b/"]
    assert _code(lambda: s3.get_bucket_tagging(Bucket="versions")) == "NoSuchTagSet"
    assert s3.get_object(Bucket="versions", Key="a", VersionId="null")["Body"].read() == b"a"
    assert _code(lambda: s3.get_object(Bucket="versions", Key="a",
                                       VersionId="3sL4kqtJlcpXroDTDmJ")) == "NoSuchVersion"
    s3.put_bucket_tagging(Bucket="versions", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket="versions")["TagSet"] == [{"Key": "team", "Value": "a"}]
    s3.delete_bucket_tagging(Bucket="versions")
    assert _code(lambda: s3.get_bucket_tagging(Bucket="versions")) == "NoSuchTagSet"
    s3.put_object_tagging(Bucket="versions", Key="a",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket="versions", Key="a")["TagSet"] == [
        {"Key": "k", "Value": "v"}]
    assert s3.head_object(Bucket="versions", Key="a")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-tagging-count"] == "1"
    s3.delete_object_tagging(Bucket="versions", Key="a")
    assert s3.get_object_tagging(Bucket="versions", Key="a")["TagSet"] == []
