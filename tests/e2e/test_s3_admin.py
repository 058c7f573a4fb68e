"""boto3 and `radospy radosgw-admin` against real `radospy rgw` processes: bucket
policies (with anonymous and other users' requests), quotas, sharded indexes and
online reshard, `bucket check --fix`, and a gateway SIGKILLed in the middle of an
upload leaving nothing a check cannot repair.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from radospy.rgw.store import index, meta_cache, names
from tests.e2e.s3_cluster import S3Cluster
from tests.integration.cluster import wait_for

ACCESS, SECRET = "AKIARADOSPYADMIN0001", "radospy-admin-secret-key-000000000000001"
OTHER_ACCESS, OTHER_SECRET = "AKIARADOSPYADMIN0002", "radospy-admin-secret-key-000000000000002"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Cluster]:
    c = S3Cluster(tmp_path_factory.mktemp("s3admin"), num_osds=3)
    try:
        c.bring_up()
        c.create_user("owner", ACCESS, SECRET)
        c.create_user("guest", OTHER_ACCESS, OTHER_SECRET)
        c.start_gateway()
        yield c
    finally:
        c.close()


def _client(url: str, access: str = ACCESS, secret: str = SECRET) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=access, aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def url(cluster: S3Cluster) -> str:
    return f"http://127.0.0.1:{next(iter(cluster.gateways))}"


@pytest.fixture(scope="module")
def s3(url: str) -> Any:
    return _client(url)


@pytest.fixture(scope="module")
def guest(url: str) -> Any:
    return _client(url, OTHER_ACCESS, OTHER_SECRET)


def _code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def _anonymous(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_bucket_policy(s3: Any, guest: Any, url: str) -> None:
    s3.create_bucket(Bucket="pol")
    s3.put_object(Bucket="pol", Key="public/a", Body=b"for everyone")
    s3.put_object(Bucket="pol", Key="private/b", Body=b"owner only")
    s3.put_object(Bucket="pol", Key="keep/c", Body=b"never deleted")
    assert _code(lambda: s3.get_bucket_policy(Bucket="pol")) == "NoSuchBucketPolicy"
    assert _anonymous(f"{url}/pol/public/a")[0] == 403
    document = {"Version": "2012-10-17", "Statement": [
        {"Sid": "anyone-reads-public", "Effect": "Allow", "Principal": "*",
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/guest"]},
         "Action": ["s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::pol", "arn:aws:s3:::pol/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": "arn:aws:s3:::pol/keep/*"},
    ]}
    s3.put_bucket_policy(Bucket="pol", Policy=json.dumps(document))
    assert json.loads(s3.get_bucket_policy(Bucket="pol")["Policy"]) == document
    assert s3.get_bucket_policy_status(Bucket="pol")["PolicyStatus"]["IsPublic"] is True
    # Anonymous: the public prefix only.
    assert _anonymous(f"{url}/pol/public/a") == (200, b"for everyone")
    assert _anonymous(f"{url}/pol/private/b")[0] == 403
    assert _anonymous(f"{url}/pol/public/new", "PUT", b"x")[0] == 403
    # The guest user: write, list and delete as granted; the Deny wins, for the owner too.
    guest.put_object(Bucket="pol", Key="from-guest", Body=b"hello")
    keys = [o["Key"] for o in guest.list_objects_v2(Bucket="pol")["Contents"]]
    assert keys == ["from-guest", "keep/c", "private/b", "public/a"]
    assert _code(lambda: guest.get_object(Bucket="pol", Key="private/b")) == "AccessDenied"
    assert _code(lambda: guest.delete_object(Bucket="pol", Key="keep/c")) == "AccessDenied"
    assert _code(lambda: s3.delete_object(Bucket="pol", Key="keep/c")) == "AccessDenied"
    result = s3.delete_objects(Bucket="pol", Delete={"Objects": [
        {"Key": "keep/c"}, {"Key": "from-guest"}]})
    assert [e["Key"] for e in result["Errors"]] == ["keep/c"]
    assert result["Errors"][0]["Code"] == "AccessDenied"
    assert [d["Key"] for d in result["Deleted"]] == ["from-guest"]
    assert s3.get_object(Bucket="pol", Key="keep/c")["Body"].read() == b"never deleted"
    assert _code(lambda: guest.put_bucket_policy(Bucket="pol", Policy="{}")) == "AccessDenied"
    assert _code(lambda: guest.delete_bucket_policy(Bucket="pol")) == "AccessDenied"
    # Malformed documents change nothing.
    for bad in ("{not json", json.dumps({"Statement": [{"Effect": "Allow"}]}),
                json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                     "Resource": "arn:aws:s3:::elsewhere/*"}]})):
        assert _code(lambda bad=bad: s3.put_bucket_policy(Bucket="pol", Policy=bad)) \
            == "MalformedPolicy"
    assert json.loads(s3.get_bucket_policy(Bucket="pol")["Policy"]) == document
    # A policy denying everything to everyone cannot lock the owner out of the policy.
    s3.put_bucket_policy(Bucket="pol", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::pol", "arn:aws:s3:::pol/*"]}]}))
    assert _code(lambda: s3.get_object(Bucket="pol", Key="public/a")) == "AccessDenied"
    assert s3.get_bucket_policy_status(Bucket="pol")["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket="pol")
    assert _code(lambda: s3.get_bucket_policy(Bucket="pol")) == "NoSuchBucketPolicy"
    assert s3.get_object(Bucket="pol", Key="public/a")["Body"].read() == b"for everyone"
    assert _anonymous(f"{url}/pol/public/a")[0] == 403


def _admin_fails(cluster: S3Cluster, *args: str) -> tuple[int, str]:
    res = cluster.run_tool("radosgw-admin", "-c", str(cluster.conf_path), *args, timeout=120)
    assert res.returncode != 0 and b"Traceback" not in res.stderr
    return res.returncode, res.stderr.decode()


def test_quotas(cluster: S3Cluster, s3: Any, guest: Any) -> None:
    s3.create_bucket(Bucket="quota")
    cluster.admin("quota", "set", "--quota-scope=bucket", "--bucket", "quota",
                  "--max-objects", "3")
    cluster.admin("quota", "enable", "--quota-scope=bucket", "--bucket", "quota")
    for n in range(3):
        s3.put_object(Bucket="quota", Key=f"k{n}", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket="quota", Key="k3", Body=b"x")
    assert info.value.response["Error"]["Code"] == "QuotaExceeded"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _code(lambda: s3.copy_object(Bucket="quota", Key="k4",
                                        CopySource={"Bucket": "quota", "Key": "k0"})) \
        == "QuotaExceeded"
    s3.delete_object(Bucket="quota", Key="k0")
    s3.put_object(Bucket="quota", Key="k3", Body=b"x")
    stats = cluster.admin("bucket", "stats", "--bucket", "quota")
    assert stats["bucket_quota"]["enabled"] is True and stats["bucket_quota"]["max_objects"] == 3
    assert stats["usage"]["rgw.main"]["num_objects"] == 3
    assert stats["usage"]["rgw.main"]["size_actual"] == 3 * 4096
    cluster.admin("quota", "disable", "--quota-scope=bucket", "--bucket", "quota")
    s3.put_object(Bucket="quota", Key="k5", Body=b"x")

    # A user quota on size, over all the user's buckets: PUT, copy and multipart.
    guest.create_bucket(Bucket="guestq")
    cluster.admin("quota", "set", "--quota-scope=user", "--uid", "guest", "--max-size", "64K")
    cluster.admin("quota", "enable", "--quota-scope=user", "--uid", "guest")
    quota = cluster.admin("user", "info", "--uid", "guest")["user_quota"]
    assert quota == {"enabled": True, "check_on_raw": False, "max_size": 65536,
                     "max_size_kb": 64, "max_objects": -1}
    guest.put_object(Bucket="guestq", Key="a", Body=b"a" * 40000)
    assert _code(lambda: guest.put_object(Bucket="guestq", Key="b", Body=b"b" * 40000)) \
        == "QuotaExceeded"
    assert _code(lambda: guest.copy_object(Bucket="guestq", Key="c",
                                           CopySource={"Bucket": "guestq", "Key": "a"})) \
        == "QuotaExceeded"
    upload = guest.create_multipart_upload(Bucket="guestq", Key="mp")["UploadId"]
    part = guest.upload_part(Bucket="guestq", Key="mp", UploadId=upload, PartNumber=1,
                             Body=b"m" * 30000)
    assert _code(lambda: guest.complete_multipart_upload(
        Bucket="guestq", Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})) \
        == "QuotaExceeded"
    guest.abort_multipart_upload(Bucket="guestq", Key="mp", UploadId=upload)
    assert [o["Key"] for o in guest.list_objects_v2(Bucket="guestq")["Contents"]] == ["a"]
    guest.put_object(Bucket="guestq", Key="small", Body=b"s" * 1000)
    stats = cluster.admin("user", "stats", "--uid", "guest", "--sync-stats")["stats"]
    assert (stats["num_objects"], stats["size"], stats["size_actual"]) == (2, 41000, 45056)
    assert cluster.admin("user", "stats", "--uid", "guest")["stats"] == stats

    code, err = _admin_fails(cluster, "quota", "set", "--uid", "guest", "--max-objects", "1")
    assert code == 22 and "invalid quota scope" in err
    code, err = _admin_fails(cluster, "quota", "set", "--quota-scope=user", "--uid", "guest",
                             "--max-size", "lots")
    assert code == 22 and "failed to parse" in err
    code, err = _admin_fails(cluster, "quota", "enable", "--quota-scope=bucket",
                             "--bucket", "nosuch")
    assert code == 2


def _rados(cluster: S3Cluster, *args: str) -> bytes:
    res = cluster.run_tool("rados", "-c", str(cluster.conf_path), *args, timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def _keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                         PaginationConfig={"PageSize": 7})
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_sharded_index_and_online_reshard(cluster: S3Cluster, s3: Any) -> None:
    s3.create_bucket(Bucket="shards")
    stats = cluster.admin("bucket", "stats", "--bucket", "shards")
    assert stats["num_shards"] == 11
    marker = stats["marker"]
    keys = [*sorted(f"k/{n:03d}" for n in range(40)), "zz", "é"]
    for key in keys:
        s3.put_object(Bucket="shards", Key=key, Body=key.encode())
    assert _keys(s3, "shards") == sorted(keys, key=str.encode)
    # Each key is in the shard RGW's rgw_bucket_shard_index names.
    shard = names.index_shard("k/007", 11)
    listed = _rados(cluster, "-p", names.INDEX_POOL, "listomapkeys",
                    names.index_oid(marker, shard)).decode().split()
    assert "k/007" in listed

    # Reshard to 3 while a writer keeps adding keys: none it was acknowledged is lost.
    acked: list[str] = []
    stop = threading.Event()
    writer_client = _client(f"http://127.0.0.1:{next(iter(cluster.gateways))}")

    def write() -> None:
        n = 0
        while not stop.is_set():
            key = f"during/{n:04d}"
            writer_client.put_object(Bucket="shards", Key=key, Body=b"d")
            acked.append(key)
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        wait_for(lambda: len(acked) >= 3, 60, "writes before the reshard")
        resharded = cluster.admin("bucket", "reshard", "--bucket", "shards", "--num-shards", "3")
        count = len(acked)
        wait_for(lambda: len(acked) >= count + 3, 60, "writes after the reshard")
    finally:
        stop.set()
        thread.join(timeout=120)
    assert resharded["num_shards"] == 3
    assert _keys(s3, "shards") == sorted(keys + acked, key=str.encode)
    stats = cluster.admin("bucket", "stats", "--bucket", "shards")
    assert stats["num_shards"] == 3
    assert stats["usage"]["rgw.main"]["num_objects"] == len(keys) + len(acked)
    assert cluster.admin("reshard", "list") == []
    assert [s["reshard_status"] for s in cluster.admin("reshard", "status", "--bucket",
                                                       "shards")] == ["not-resharding"] * 3
    gen1 = names.index_oid(marker, names.index_shard("k/007", 3), 1)
    assert "k/007" in _rados(cluster, "-p", names.INDEX_POOL, "listomapkeys", gen1).decode()
    code, err = _admin_fails(cluster, "bucket", "reshard", "--bucket", "shards",
                             "--num-shards", "3")
    assert code == 22 and "same as" in err

    # Queued: reshard add, list, process.
    cluster.admin("reshard", "add", "--bucket", "shards", "--num-shards", "5")
    assert [(e["bucket_name"], e["old_num_shards"], e["tentative_new_num_shards"])
            for e in cluster.admin("reshard", "list")] == [("shards", 3, 5)]
    cluster.admin("reshard", "process")
    assert cluster.admin("reshard", "list") == []
    assert cluster.admin("bucket", "stats", "--bucket", "shards")["num_shards"] == 5
    assert s3.get_object(Bucket="shards", Key="é")["Body"].read() == "é".encode()
    s3.delete_object(Bucket="shards", Key="zz")
    assert "zz" not in _keys(s3, "shards")


def test_dead_reshard_is_lifted(cluster: S3Cluster, s3: Any) -> None:
    """A resharder SIGKILLed mid-reshard leaves its marks on the old shards; once their
    lease has run out, the next writer lifts them instead of waiting for `reshard
    cancel`, and the bucket can be resharded again."""
    s3.create_bucket(Bucket="deadre")
    s3.put_object(Bucket="deadre", Key="before", Body=b"1")
    marker = cluster.admin("bucket", "stats", "--bucket", "deadre")["marker"]
    expired = index.reshard_mark(time.time() - 1)
    for shard in range(11):
        _rados(cluster, "-p", names.INDEX_POOL, "setxattr", names.index_oid(marker, shard),
               index.STATE_XATTR, expired.decode())
    assert {s["reshard_status"] for s in cluster.admin("reshard", "status", "--bucket",
                                                       "deadre")} == {"in-progress"}
    s3.put_object(Bucket="deadre", Key="after", Body=b"2")
    assert _keys(s3, "deadre") == ["after", "before"]
    assert {s["reshard_status"] for s in cluster.admin("reshard", "status", "--bucket",
                                                       "deadre")} == {"not-resharding"}
    assert cluster.admin("bucket", "reshard", "--bucket", "deadre",
                         "--num-shards", "3")["num_shards"] == 3
    assert s3.get_object(Bucket="deadre", Key="after")["Body"].read() == b"2"


def test_stale_layout_after_reshard(cluster: S3Cluster, s3: Any,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    """A gateway that loaded a bucket before a reshard, and was not told of it (the
    stamp rewrite lost, as when the admin tool dies between the switch and the stamp),
    finds the old shards gone and reads the new ones: listings, a versioned GET (which
    reads the index) and ListObjectVersions see every key."""
    s3.create_bucket(Bucket="stale")
    s3.put_bucket_versioning(Bucket="stale", VersioningConfiguration={"Status": "Enabled"})
    keys = [f"s/{n:02d}" for n in range(12)]
    for key in keys:
        s3.put_object(Bucket="stale", Key=key, Body=key.encode())
    assert _keys(s3, "stale") == keys  # the gateway now holds the bucket's 11-shard layout
    saved = tmp_path_factory.mktemp("stamp") / "stamp"
    saved.write_bytes(_rados(cluster, "-p", names.CONTROL_POOL, "get", meta_cache.STAMP_OID,
                             "-"))
    cluster.admin("bucket", "reshard", "--bucket", "stale", "--num-shards", "3")
    _rados(cluster, "-p", names.CONTROL_POOL, "put", meta_cache.STAMP_OID, str(saved))
    assert _keys(s3, "stale") == keys
    assert s3.get_object(Bucket="stale", Key="s/05")["Body"].read() == b"s/05"
    assert sorted(v["Key"] for v in s3.list_object_versions(Bucket="stale")["Versions"]) == keys
    s3.put_object(Bucket="stale", Key="s/99", Body=b"new")
    assert _keys(s3, "stale") == [*keys, "s/99"]
    assert cluster.admin("bucket", "stats", "--bucket", "stale")["num_shards"] == 3


def test_bucket_check_fix(cluster: S3Cluster, s3: Any) -> None:
    s3.create_bucket(Bucket="check")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="check", Key=key, Body=b"12345")
    marker = cluster.admin("bucket", "stats", "--bucket", "check")["marker"]
    # Damage as a killed gateway would: a head gone under its entry, an entry gone.
    _rados(cluster, "-p", names.DATA_POOL, "rm", names.head_oid(marker, "a"))
    _rados(cluster, "-p", names.INDEX_POOL, "rmomapkey",
           names.index_oid(marker, names.index_shard("b", 11)), "b")
    report = cluster.admin("bucket", "check", "--bucket", "check", "--check-objects")
    assert report["index_entries_without_head"] == ["a"]
    assert report["heads_without_index_entry"] == ["b"]
    result = report["check_result"]
    assert result["existing_header"]["usage"]["rgw.main"]["num_objects"] == 2
    assert result["calculated_header"]["usage"]["rgw.main"]["num_objects"] == 2
    assert _keys(s3, "check") == ["a", "c"]  # nothing fixed without --fix
    cluster.admin("bucket", "check", "--bucket", "check", "--check-objects", "--fix")
    assert _keys(s3, "check") == ["b", "c"]
    assert s3.get_object(Bucket="check", Key="b")["Body"].read() == b"12345"
    clean = cluster.admin("bucket", "check", "--bucket", "check", "--check-objects")
    assert (clean["index_entries_without_head"], clean["heads_without_index_entry"]) == ([], [])
    assert cluster.admin("bucket", "stats", "--bucket", "check")["usage"]["rgw.main"][
        "num_objects"] == 2


def _shadows(cluster: S3Cluster, marker: str) -> set[str]:
    listed = _rados(cluster, "-p", names.DATA_POOL, "ls").decode().split()
    return {oid for oid in listed if oid.startswith(marker + "__shadow_")}


def test_gateway_killed_mid_upload(cluster: S3Cluster, s3: Any) -> None:
    mib = 1 << 20
    s3.create_bucket(Bucket="killed")
    v1 = os.urandom(6 * mib)
    s3.put_object(Bucket="killed", Key="obj", Body=v1)
    marker = cluster.admin("bucket", "stats", "--bucket", "killed")["marker"]
    v1_tails = _shadows(cluster, marker)
    assert len(v1_tails) == 1

    # A second gateway takes a 20 MiB overwrite and is SIGKILLed once it has written
    # tail stripes of the new data, before the upload ends.
    victim = cluster.start_gateway()
    parts = urlsplit(victim)
    size = 20 * mib
    request = AWSRequest(method="PUT", url=f"{victim}/killed/obj", headers={
        "Content-Length": str(size), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest("PUT", "/killed/obj", skip_accept_encoding=True)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(os.urandom(12 * mib))
        wait_for(lambda: len(_shadows(cluster, marker) - v1_tails) >= 1, 120,
                 "tail stripes of the killed upload")
        cluster.kill_gateway(victim)
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn.send(b"x" * (8 * mib))
            conn.getresponse()
    finally:
        conn.close()
    leftovers = _shadows(cluster, marker) - v1_tails
    assert leftovers

    # The previous version is whole; the index agrees with the heads; the killed
    # upload's stripes are on the gc list and the collector removes them.
    assert s3.get_object(Bucket="killed", Key="obj")["Body"].read() == v1
    report = cluster.admin("bucket", "check", "--bucket", "killed", "--check-objects")
    assert (report["index_entries_without_head"], report["stale_index_entries"],
            report["heads_without_index_entry"]) == ([], [], [])
    listed = cluster.admin("gc", "list", "--include-all")
    prefixes = [e["upload_prefix"] for e in listed if "upload_prefix" in e]
    assert all(any(oid.startswith(p) for p in prefixes) for oid in leftovers)
    assert cluster.admin("gc", "list") == []  # nothing expired yet
    cluster.admin("gc", "process", "--include-all")
    assert _shadows(cluster, marker) == v1_tails
    assert s3.get_object(Bucket="killed", Key="obj")["Body"].read() == v1

    # An overwrite defers the old tails to the gc list instead of removing them.
    s3.put_object(Bucket="killed", Key="obj", Body=b"small")
    assert _shadows(cluster, marker) == v1_tails
    deferred = [o["oid"] for e in cluster.admin("gc", "list", "--include-all")
                for o in e["objs"]]
    assert sorted(deferred) == sorted(v1_tails)
    cluster.admin("gc", "process")
    assert _shadows(cluster, marker) == v1_tails  # not expired: kept
    cluster.admin("gc", "process", "--include-all")
    assert _shadows(cluster, marker) == set()
    assert s3.get_object(Bucket="killed", Key="obj")["Body"].read() == b"small"
