"""Bodies stream through the gateway: a large single PUT and a large GET keep the
gateway's peak RSS bounded (< 200 MiB). `RADOSPY_S3_SOAK_MIB` sets the object size
(default 5120: S3's largest single PUT). Soak: `make soak`."""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.e2e.s3_cluster import S3Cluster

ACCESS, SECRET = "AKIARADOSPYSOAK00001", "radospy-soak-secret-key-000000000000000001"
MIB = 1 << 20
RSS_LIMIT = 200 * MIB


class _UnsignedPayloadAuth(S3SigV4Auth):
    """SigV4 with `UNSIGNED-PAYLOAD`, as clients stream large bodies."""

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return False


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _pattern(size: int) -> Iterator[bytes]:
    block = hashlib.sha256(b"soak").digest() * (MIB // 32)
    sent = 0
    while sent < size:
        piece = block[: min(MIB, size - sent)]
        sent += len(piece)
        yield piece


@pytest.mark.soak
def test_large_put_and_get_stream(tmp_path_factory: pytest.TempPathFactory) -> None:
    size = int(os.environ.get("RADOSPY_S3_SOAK_MIB", "5120")) * MIB
    cluster = S3Cluster(tmp_path_factory.mktemp("s3soak"), num_osds=3)
    try:
        cluster.bring_up()
        cluster.create_user("soak", ACCESS, SECRET)
        url = cluster.start_gateway()
        pid = next(iter(cluster.gateways.values())).pid
        s3: Any = boto3.client("s3", endpoint_url=url, aws_access_key_id=ACCESS,
                               aws_secret_access_key=SECRET, region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="soak")
        request = AWSRequest(method="PUT", url=f"{url}/soak/big",
                             headers={"Content-Length": str(size)})
        _UnsignedPayloadAuth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        expected = hashlib.md5()
        conn.putrequest("PUT", "/soak/big", skip_accept_encoding=True)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        for piece in _pattern(size):
            expected.update(piece)
            conn.send(piece)
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert response.getheader("ETag") == f'"{expected.hexdigest()}"'
        conn.close()
        got = hashlib.md5()
        body = s3.get_object(Bucket="soak", Key="big")["Body"]
        while chunk := body.read(MIB):
            got.update(chunk)
        assert got.hexdigest() == expected.hexdigest()
        peak = _peak_rss(pid)
        print(f"gateway peak RSS {peak / MIB:.1f} MiB for a {size / MIB:.0f} MiB PUT and GET")
        assert peak < RSS_LIMIT
    finally:
        cluster.close()
