"""Capture S3 requests exactly as botocore signs and sends them, for the signing tests.

Run with botocore installed (`pip install botocore`; not a radospy dependency):

    .venv/bin/python tests/vectors/s3/generate_botocore.py > tests/vectors/s3/botocore_requests.json

Each request goes through a real botocore S3 client (SigV4 header auth, presigned URLs,
SigV2 header and query auth, path- and virtual-host-style addressing, default checksum
behaviour); a `before-send` hook captures the wire request instead of sending it. The
output lists, per request: method, raw path, raw query, headers (Host added as urllib3
would), the body (base64), the time it was signed (`now`), the virtual-host bucket if any,
and the botocore version. Streaming bodies decode to
`bytes((i * 7 + 3) % 251 for i in range(decoded_length))`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import botocore
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config

ACCESS_KEY = "AKIDRADOSPYTEST0001"
SECRET_KEY = "s3cr3t/Key+With=Symbols0123456789abcdef"
ENDPOINT = "http://s3.radospy.test:7480"
BUCKET = "vec-bucket"
KEYS = {
    "plain": "test.txt",
    "unicode": "dir/ünïcødé ключ 日本語.txt",
    "special": "a+b c!'()*&$@=;:,?#[]%.txt",
    "slashes": "deep//nested/./path/../x",
    "tilde": "~user/-_.file",
}


class _Capture:
    def __init__(self) -> None:
        self.requests: list[Any] = []

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.requests.append(request)
        body = b""
        if request.method == "POST" and "uploads" in request.url:
            body = (
                b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                b"<UploadId>u</UploadId></InitiateMultipartUploadResult>"
            )
        raw = io.BytesIO(body)
        return AWSResponse(request.url, 200, {"content-length": str(len(body))}, _Raw(raw))


class _Raw:
    def __init__(self, data: io.BytesIO) -> None:
        self._data = data

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._data.read()


def _client(
    signature_version: str, addressing: str, capture: _Capture, endpoint: str = ENDPOINT
) -> Any:
    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(
            signature_version=signature_version,
            s3={"addressing_style": addressing},
            retries={"max_attempts": 1},
        ),
    )
    client.meta.events.register("before-send", capture)
    return client


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    data = body.read()
    return data.encode() if isinstance(data, str) else data


def _record(name: str, request: Any, now: float, bucket: str | None) -> dict[str, Any]:
    url = urlsplit(request.url)
    headers = [
        (k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
    ]
    headers.insert(0, ("Host", url.netloc))
    return {
        "name": name,
        "method": request.method,
        "path": url.path,
        "query": url.query,
        "headers": headers,
        "body_b64": base64.b64encode(_body_bytes(request.body)).decode(),
        "now": now,
        "bucket": bucket,
    }


def _presigned(name: str, url: str, method: str, now: float,
               bucket: str | None) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "name": name,
        "method": method,
        "path": parts.path,
        "query": parts.query,
        "headers": [("Host", parts.netloc)],
        "body_b64": "",
        "now": now,
        "bucket": bucket,
    }


def _operations(client: Any) -> list[tuple[str, Any]]:
    k = KEYS
    return [
        ("get_object", lambda: client.get_object(Bucket=BUCKET, Key=k["plain"])),
        ("get_object_range", lambda: client.get_object(
            Bucket=BUCKET, Key=k["plain"], Range="bytes=0-9")),
        ("get_unicode", lambda: client.get_object(Bucket=BUCKET, Key=k["unicode"])),
        ("get_special", lambda: client.get_object(Bucket=BUCKET, Key=k["special"])),
        ("get_slashes", lambda: client.get_object(Bucket=BUCKET, Key=k["slashes"])),
        ("get_tilde", lambda: client.get_object(Bucket=BUCKET, Key=k["tilde"])),
        ("get_response_overrides", lambda: client.get_object(
            Bucket=BUCKET, Key=k["plain"], ResponseContentType="text/plain; charset=utf-8",
            ResponseContentDisposition='attachment; filename="a b.txt"')),
        ("put_object", lambda: client.put_object(
            Bucket=BUCKET, Key=k["plain"], Body=b"hello world\n" * 100,
            ContentType="text/plain", Metadata={"color": "  blue   green  "})),
        ("put_unicode_tagging", lambda: client.put_object(
            Bucket=BUCKET, Key=k["unicode"], Body=b"x", Tagging="a=1&b=two words")),
        ("put_empty", lambda: client.put_object(Bucket=BUCKET, Key=k["special"], Body=b"")),
        ("list_v2", lambda: client.list_objects_v2(
            Bucket=BUCKET, Prefix="a b/+&=ü", Delimiter="/", StartAfter="a b/+&=ü/z~",
            MaxKeys=7)),
        ("list_v1", lambda: client.list_objects(
            Bucket=BUCKET, Marker="m%20x", Prefix="p/", EncodingType="url")),
        ("list_buckets", lambda: client.list_buckets()),
        ("create_bucket", lambda: client.create_bucket(
            Bucket="new-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-1"})),
        ("delete_objects", lambda: client.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": k["plain"]}, {"Key": k["unicode"]}],
                                   "Quiet": True})),
        ("create_multipart", lambda: client.create_multipart_upload(
            Bucket=BUCKET, Key=k["unicode"])),
        ("upload_part", lambda: client.upload_part(
            Bucket=BUCKET, Key=k["unicode"], UploadId="2~abc/def+ghi", PartNumber=3,
            Body=b"p" * 1000)),
        ("copy_object", lambda: client.copy_object(
            Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": k["special"]},
            MetadataDirective="REPLACE", Metadata={"k": "v"})),
        ("get_acl", lambda: client.get_object_acl(Bucket=BUCKET, Key=k["plain"])),
        ("get_version", lambda: client.get_object(
            Bucket=BUCKET, Key=k["plain"], VersionId="v1.2+3")),
        ("head_bucket", lambda: client.head_bucket(Bucket=BUCKET)),
    ]


def _presign_operations(client: Any) -> list[tuple[str, str, Any]]:
    k = KEYS
    return [
        ("presigned_get", "GET", lambda: client.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": k["plain"]}, ExpiresIn=900)),
        ("presigned_get_unicode", "GET", lambda: client.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": k["unicode"],
                                  "ResponseContentDisposition": "inline; x=ü"},
            ExpiresIn=604800)),
        ("presigned_put", "PUT", lambda: client.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": k["special"]}, ExpiresIn=60)),
    ]


def _streaming(vectors: list[dict[str, Any]]) -> None:
    """Over https botocore sends a file body as aws-chunked with a checksum trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER); the captured body is the encoded stream."""
    capture = _Capture()
    client = _client("s3v4", "path", capture, ENDPOINT.replace("http:", "https:"))
    sizes = {"CRC32": 0, "SHA1": 70_000, "SHA256": 1024 * 1024 + 17}
    for algorithm, size in sizes.items():
        data = bytes((i * 7 + 3) % 251 for i in range(size))
        now = time.time()
        client.put_object(Bucket=BUCKET, Key=KEYS["unicode"], Body=io.BytesIO(data),
                          ChecksumAlgorithm=algorithm)
        request = capture.requests.pop()
        record = _record(f"v4/https/put_stream_{algorithm.lower()}", request, now, None)
        record["decoded_sha256"] = hashlib.sha256(data).hexdigest()
        record["decoded_length"] = size
        vectors.append(record)


def main() -> None:
    vectors: list[dict[str, Any]] = []
    _streaming(vectors)
    for sig, label in (("s3v4", "v4"), ("s3", "v2")):
        for addressing in ("path", "virtual"):
            capture = _Capture()
            client = _client(sig, addressing, capture)
            vhost = BUCKET if addressing == "virtual" else None
            for name, call in _operations(client):
                now = time.time()
                call()
                request = capture.requests.pop()
                bucket = vhost if name not in ("list_buckets", "create_bucket") else None
                if vhost and name == "create_bucket":
                    bucket = "new-bucket"
                vectors.append(_record(f"{label}/{addressing}/{name}", request, now, bucket))
            for name, method, call in _presign_operations(client):
                now = time.time()
                vectors.append(_presigned(f"{label}/{addressing}/{name}", call(), method,
                                          now, vhost))
    doc = {
        "generator": "tests/vectors/s3/generate_botocore.py",
        "botocore_version": botocore.__version__,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "requests": vectors,
    }
    json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
