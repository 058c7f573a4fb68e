"""boto3 against two real `radospy rgw` processes: bucket versioning (versions, delete
markers, suspended null versions, copies of a version, ListObjectVersions paging)
with one gateway writing and the other reading, lifecycle rules applied by the
gateways' workers with a lifecycle "day" of two seconds (`rgw_lc_debug_interval`), and
object lock (default retention, GOVERNANCE bypass, COMPLIANCE, legal holds)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.s3_cluster import S3Cluster
from tests.integration.cluster import wait_for

ACCESS, SECRET = "AKIARADOSPYVERS00001", "radospy-versioning-secret-00000000000001"
DAY = 2
"""Seconds a lifecycle day lasts in these gateways."""
LC_DEBUG = ("--rgw_lc_debug_interval", str(DAY))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Cluster]:
    c = S3Cluster(tmp_path_factory.mktemp("s3ver"), num_osds=3)
    try:
        c.bring_up()
        c.create_user("versioner", ACCESS, SECRET)
        c.start_gateway(*LC_DEBUG)
        c.start_gateway(*LC_DEBUG)
        yield c
    finally:
        c.close()


def _client(url: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def clients(cluster: S3Cluster) -> tuple[Any, Any]:
    urls = [f"http://127.0.0.1:{port}" for port in cluster.gateways]
    return _client(urls[0]), _client(urls[1])


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response)


def _versions(s3: Any, bucket: str, **kwargs: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is delete marker) of every version, in order.
    boto3 parses versions and delete markers into two lists, so each page's rows are
    put back in listing order: keys ascending, each key's latest first, then newest
    first by LastModified."""
    rows = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kwargs):
        found = [(v, False) for v in page.get("Versions", [])]
        found += [(m, True) for m in page.get("DeleteMarkers", [])]
        found.sort(key=lambda f: (f[0]["Key"].encode(), not f[0]["IsLatest"],
                                  -f[0]["LastModified"].timestamp()))
        rows += [(v["Key"], v["VersionId"], v["IsLatest"], marker) for v, marker in found]
    return rows


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_versions_and_delete_markers(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="ver")
    s3.put_object(Bucket="ver", Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
    assert other.get_bucket_versioning(Bucket="ver")["Status"] == "Enabled"
    v1 = s3.put_object(Bucket="ver", Key="k", Body=b"one")["VersionId"]
    v2 = other.put_object(Bucket="ver", Key="k", Body=b"two")["VersionId"]
    assert len({v1, v2, "null"}) == 3
    assert s3.get_object(Bucket="ver", Key="k")["Body"].read() == b"two"
    got = other.get_object(Bucket="ver", Key="k", VersionId=v1)
    assert got["Body"].read() == b"one" and got["VersionId"] == v1
    assert s3.get_object(Bucket="ver", Key="k", VersionId="null")["Body"].read() == b"before"
    assert _versions(other, "ver") == [("k", v2, True, False), ("k", v1, False, False),
                                       ("k", "null", False, False)]

    deleted = s3.delete_object(Bucket="ver", Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    missing = _error(lambda: other.get_object(Bucket="ver", Key="k"))
    assert missing["Error"]["Code"] == "NoSuchKey"
    assert missing["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert missing["ResponseMetadata"]["HTTPHeaders"]["x-amz-version-id"] == marker
    assert _error(lambda: s3.get_object(Bucket="ver", Key="k", VersionId=marker))[
        "ResponseMetadata"]["HTTPStatusCode"] == 405
    assert _keys(other, "ver") == []
    assert _versions(s3, "ver")[0] == ("k", marker, True, True)
    assert _error(lambda: s3.delete_bucket(Bucket="ver"))["Error"]["Code"] == "BucketNotEmpty"

    # Removing the marker makes v2 current again; removing v2 makes v1 current.
    removed = other.delete_object(Bucket="ver", Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker
    assert s3.get_object(Bucket="ver", Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket="ver", Key="k", VersionId=v2)
    assert other.get_object(Bucket="ver", Key="k")["Body"].read() == b"one"
    assert _error(lambda: s3.get_object(Bucket="ver", Key="k", VersionId=v2))[
        "Error"]["Code"] == "NoSuchVersion"
    assert _keys(s3, "ver") == ["k"]

    # Restoring an old version by copying it onto its own key makes a new version.
    copied = s3.copy_object(Bucket="ver", Key="k",
                            CopySource={"Bucket": "ver", "Key": "k", "VersionId": "null"})
    assert copied["CopySourceVersionId"] == "null" and copied["VersionId"] not in (v1, "null")
    assert other.get_object(Bucket="ver", Key="k")["Body"].read() == b"before"

    result = s3.delete_objects(Bucket="ver", Delete={"Objects": [
        {"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": "null"},
        {"Key": "k", "VersionId": copied["VersionId"]}]})
    assert sorted(d["VersionId"] for d in result["Deleted"]) == sorted(
        [v1, "null", copied["VersionId"]])
    assert _versions(other, "ver") == []
    other.delete_bucket(Bucket="ver")


def test_suspended_writes_null_versions(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="susp")
    s3.put_bucket_versioning(Bucket="susp", VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket="susp", Key="k", Body=b"kept")["VersionId"]
    other.put_bucket_versioning(Bucket="susp", VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket="susp", Key="k", Body=b"n1")
    other.put_object(Bucket="susp", Key="k", Body=b"n2")
    assert _versions(s3, "susp") == [("k", "null", True, False), ("k", kept, False, False)]
    assert s3.get_object(Bucket="susp", Key="k")["Body"].read() == b"n2"
    deleted = other.delete_object(Bucket="susp", Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    assert _versions(s3, "susp") == [("k", "null", True, True), ("k", kept, False, False)]
    assert _keys(s3, "susp") == []
    mfa = _error(lambda: s3.put_bucket_versioning(
        Bucket="susp", VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
        MFA="serial 123456"))
    assert mfa["Error"]["Code"] == "NotImplemented"
    assert s3.get_bucket_versioning(Bucket="susp")["Status"] == "Suspended"


def test_list_object_versions_pages(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="pages")
    s3.put_bucket_versioning(Bucket="pages", VersioningConfiguration={"Status": "Enabled"})
    made: dict[str, list[str]] = {}
    for key in ("a", "d/1", "d/2", "z"):
        for n in range(3):
            client = s3 if n % 2 else other
            made.setdefault(key, []).insert(
                0, client.put_object(Bucket="pages", Key=key, Body=f"{key}{n}".encode())[
                    "VersionId"])
    s3.delete_object(Bucket="pages", Key="z")
    want = [(k, v, n == 0, False) for k in ("a", "d/1", "d/2") for n, v in enumerate(made[k])]
    rows = _versions(other, "pages", PaginationConfig={"PageSize": 2})
    assert rows[:9] == want
    assert [r[:2] for r in rows[10:]] == [("z", v) for v in made["z"]] and rows[9][3]
    grouped = s3.list_object_versions(Bucket="pages", Delimiter="/", MaxKeys=4)
    assert [v["Key"] for v in grouped["Versions"]] == ["a"] * 3
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["d/"]
    after = s3.list_object_versions(Bucket="pages", KeyMarker="d/1",
                                    VersionIdMarker=made["d/1"][0], Prefix="d/")
    assert [(v["Key"], v["VersionId"]) for v in after["Versions"]] == (
        [("d/1", v) for v in made["d/1"][1:]] + [("d/2", v) for v in made["d/2"]])
    assert _keys(s3, "pages") == ["a", "d/1", "d/2"]


def _gc_oids(cluster: S3Cluster) -> set[str]:
    return {o["oid"] for e in cluster.admin("gc", "list", "--include-all") for o in e["objs"]}


def test_versioned_bucket_under_admin_tools(cluster: S3Cluster,
                                            clients: tuple[Any, Any]) -> None:
    """Quota counts every version, `bucket check --fix` leaves a versioned index as it
    is, a reshard keeps every version listable and readable, and the data of a
    removed version goes to gc."""
    s3, other = clients
    s3.create_bucket(Bucket="vadmin")
    s3.put_bucket_versioning(Bucket="vadmin", VersioningConfiguration={"Status": "Enabled"})
    bodies: dict[tuple[str, str], bytes] = {}
    for n in range(3):
        for key in (f"k{i}" for i in range(8)):
            body = f"{key}-{n}".encode()
            client = s3 if n % 2 else other
            bodies[key, client.put_object(Bucket="vadmin", Key=key, Body=body)["VersionId"]] = body
    s3.delete_object(Bucket="vadmin", Key="k0")
    before = _versions(s3, "vadmin")
    assert len(before) == 25 and before[0][3]

    def stored() -> int:
        stats = cluster.admin("bucket", "stats", "--bucket", "vadmin")
        return int(stats["usage"]["rgw.main"]["num_objects"])

    assert stored() == 24
    report = cluster.admin("bucket", "check", "--bucket", "vadmin", "--check-objects")
    assert (report["index_entries_without_head"], report["stale_index_entries"],
            report["heads_without_index_entry"]) == ([], [], [])
    result = report["check_result"]
    assert result["existing_header"] == result["calculated_header"]
    cluster.admin("bucket", "check", "--bucket", "vadmin", "--check-objects", "--fix")
    assert _versions(other, "vadmin") == before and stored() == 24

    cluster.admin("quota", "set", "--quota-scope=bucket", "--bucket", "vadmin",
                  "--max-objects", "25")
    cluster.admin("quota", "enable", "--quota-scope=bucket", "--bucket", "vadmin")
    extra = s3.put_object(Bucket="vadmin", Key="k1", Body=b"extra")["VersionId"]
    bodies["k1", extra] = b"extra"
    # Every version counts: a new version of an existing key is one object more.
    assert _error(lambda: s3.put_object(Bucket="vadmin", Key="k1", Body=b"more"))[
        "Error"]["Code"] == "QuotaExceeded"
    cluster.admin("quota", "disable", "--quota-scope=bucket", "--bucket", "vadmin")
    before = _versions(s3, "vadmin")

    resharded = cluster.admin("bucket", "reshard", "--bucket", "vadmin", "--num-shards", "3")
    assert resharded["num_shards"] == 3
    assert _versions(other, "vadmin") == before
    for (key, version), body in bodies.items():
        assert s3.get_object(Bucket="vadmin", Key=key, VersionId=version)["Body"].read() == body
    assert _keys(s3, "vadmin") == [f"k{i}" for i in range(1, 8)]
    assert s3.get_object(Bucket="vadmin", Key="k1")["Body"].read() == b"extra"
    assert _error(lambda: other.get_object(Bucket="vadmin", Key="k0"))[
        "Error"]["Code"] == "NoSuchKey"
    clean = cluster.admin("bucket", "check", "--bucket", "vadmin", "--check-objects")
    assert (clean["index_entries_without_head"], clean["heads_without_index_entry"]) == ([], [])
    assert stored() == 25

    # A version with tail stripes, removed by its id: its tails wait in the gc list.
    big = other.put_object(Bucket="vadmin", Key="big", Body=b"b" * (5 << 20))["VersionId"]
    marker = cluster.admin("bucket", "stats", "--bucket", "vadmin")["marker"]
    s3.delete_object(Bucket="vadmin", Key="big", VersionId=big)
    assert any(oid.startswith(marker + "__shadow_") for oid in _gc_oids(cluster))
    assert _versions(s3, "vadmin", Prefix="big") == []


def _rule(rule_id: str, prefix: str, **actions: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


def test_lifecycle_configuration(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="lc-conf")
    assert _error(lambda: s3.get_bucket_lifecycle_configuration(Bucket="lc-conf"))[
        "Error"]["Code"] == "NoSuchLifecycleConfiguration"
    rules = [_rule("logs", "logs/", Expiration={"Days": 30}),
             {"ID": "tagged", "Status": "Disabled",
              "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "a", "Value": "1"}]}},
              "NoncurrentVersionExpiration": {"NoncurrentDays": 7}},
             _rule("mpu", "", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 2})]
    s3.put_bucket_lifecycle_configuration(Bucket="lc-conf",
                                          LifecycleConfiguration={"Rules": rules})
    got = other.get_bucket_lifecycle_configuration(Bucket="lc-conf")["Rules"]
    assert [r["ID"] for r in got] == ["logs", "tagged", "mpu"]
    assert got[0]["Expiration"] == {"Days": 30} and got[0]["Filter"] == {"Prefix": "logs/"}
    assert got[1]["Filter"]["And"]["Tags"] == [{"Key": "a", "Value": "1"}]
    bad = [
        [_rule("x", "", Expiration={"Days": 0})],
        [{"ID": "x", "Status": "On", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}],
        [_rule("x", "")],
    ]
    for rules in bad:
        code = _error(lambda r=rules: s3.put_bucket_lifecycle_configuration(  # type: ignore[misc]
            Bucket="lc-conf", LifecycleConfiguration={"Rules": r}))["Error"]["Code"]
        assert code in ("MalformedXML", "InvalidRequest", "InvalidArgument"), code
    assert len(s3.get_bucket_lifecycle_configuration(Bucket="lc-conf")["Rules"]) == 3
    other.delete_bucket_lifecycle(Bucket="lc-conf")
    assert _error(lambda: s3.get_bucket_lifecycle_configuration(Bucket="lc-conf"))[
        "Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_lifecycle_expires_objects_and_uploads(clients: tuple[Any, Any],
                                               cluster: S3Cluster) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="lc-plain")
    s3.put_object(Bucket="lc-plain", Key="tmp/a", Body=b"a")
    s3.put_object(Bucket="lc-plain", Key="keep/b", Body=b"b")
    upload = s3.create_multipart_upload(Bucket="lc-plain", Key="tmp/big")["UploadId"]
    s3.upload_part(Bucket="lc-plain", Key="tmp/big", UploadId=upload, PartNumber=1, Body=b"x")
    s3.put_bucket_lifecycle_configuration(Bucket="lc-plain", LifecycleConfiguration={"Rules": [
        _rule("tmp", "tmp/", Expiration={"Days": 2},
              AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})]})
    listed = cluster.admin("lc", "list")
    assert any(e["bucket"].startswith(":lc-plain:") and e["shard"].startswith("lc.")
               for e in listed)

    def applied() -> bool:
        return _keys(other, "lc-plain") == ["keep/b"] and not other.list_multipart_uploads(
            Bucket="lc-plain").get("Uploads")

    wait_for(applied, 90, "lifecycle expiry of tmp/")
    assert s3.get_object(Bucket="lc-plain", Key="keep/b")["Body"].read() == b"b"
    statuses = {e["bucket"].split(":")[1]: e["status"] for e in cluster.admin("lc", "list")}
    assert statuses["lc-plain"] in ("COMPLETE", "PROCESSING")


def test_lifecycle_on_versioned_bucket(clients: tuple[Any, Any], cluster: S3Cluster) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="lc-ver")
    s3.put_bucket_versioning(Bucket="lc-ver", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        s3.put_object(Bucket="lc-ver", Key="k", Body=body)
    s3.put_bucket_lifecycle_configuration(Bucket="lc-ver", LifecycleConfiguration={"Rules": [
        _rule("current", "", Expiration={"Days": 1}),
        _rule("old", "", Expiration={"ExpiredObjectDeleteMarker": True},
              NoncurrentVersionExpiration={"NoncurrentDays": 1})]})
    # `lc process` runs a worker at once, as the gateways' workers do every "day".
    cluster.admin("lc", "process", "--bucket", "lc-ver")
    # Current versions get delete markers, noncurrent ones go a "day" later, and then
    # the markers that are left alone.
    wait_for(lambda: _versions(other, "lc-ver") == [], 120, "versioned bucket emptied")
    s3.delete_bucket(Bucket="lc-ver")
    assert all(not e["bucket"].startswith(":lc-ver:") for e in cluster.admin("lc", "list"))


def test_object_lock(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="plain-lock")
    assert _error(lambda: s3.get_object_lock_configuration(Bucket="plain-lock"))[
        "Error"]["Code"] == "ObjectLockConfigurationNotFoundError"
    config = {"ObjectLockEnabled": "Enabled",
              "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    assert _error(lambda: s3.put_object_lock_configuration(
        Bucket="plain-lock", ObjectLockConfiguration=config))["Error"]["Code"] == \
        "InvalidBucketState"
    assert _error(lambda: s3.put_object(Bucket="plain-lock", Key="k", Body=b"x",
                                        ObjectLockLegalHoldStatus="ON"))[
        "Error"]["Code"] == "InvalidRequest"

    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="locked")["Status"] == "Enabled"
    assert _error(lambda: s3.put_bucket_versioning(
        Bucket="locked", VersioningConfiguration={"Status": "Suspended"}))[
        "Error"]["Code"] == "InvalidBucketState"
    s3.put_object_lock_configuration(Bucket="locked", ObjectLockConfiguration=config)
    assert other.get_object_lock_configuration(Bucket="locked")[
        "ObjectLockConfiguration"] == config

    # The bucket's default retention: GOVERNANCE, lifted only with the bypass header.
    gov = s3.put_object(Bucket="locked", Key="gov", Body=b"g")["VersionId"]
    retention = other.get_object_retention(Bucket="locked", Key="gov", VersionId=gov)
    assert retention["Retention"]["Mode"] == "GOVERNANCE"
    assert _error(lambda: other.delete_object(Bucket="locked", Key="gov", VersionId=gov))[
        "Error"]["Code"] == "AccessDenied"
    marker = s3.delete_object(Bucket="locked", Key="gov")  # a delete marker is allowed
    assert marker["DeleteMarker"] is True
    other.delete_object(Bucket="locked", Key="gov", VersionId=gov,
                        BypassGovernanceRetention=True)

    # A legal hold blocks deletion until it is lifted, bypass or not.
    held = s3.put_object(Bucket="locked", Key="held", Body=b"h")["VersionId"]
    s3.put_object_legal_hold(Bucket="locked", Key="held", VersionId=held,
                             LegalHold={"Status": "ON"})
    assert other.get_object_legal_hold(Bucket="locked", Key="held")[
        "LegalHold"]["Status"] == "ON"
    assert _error(lambda: s3.delete_object(Bucket="locked", Key="held", VersionId=held,
                                           BypassGovernanceRetention=True))[
        "Error"]["Code"] == "AccessDenied"
    s3.put_object_legal_hold(Bucket="locked", Key="held", VersionId=held,
                             LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket="locked", Key="held", VersionId=held,
                     BypassGovernanceRetention=True)

    # COMPLIANCE: no deletion and no shortening, whoever asks.
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    comp = s3.put_object(Bucket="locked", Key="comp", Body=b"c", ObjectLockMode="COMPLIANCE",
                         ObjectLockRetainUntilDate=until)["VersionId"]
    assert _error(lambda: s3.delete_object(Bucket="locked", Key="comp", VersionId=comp,
                                           BypassGovernanceRetention=True))[
        "Error"]["Code"] == "AccessDenied"
    assert _error(lambda: s3.put_object_retention(
        Bucket="locked", Key="comp", VersionId=comp, BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}))[
        "Error"]["Code"] == "AccessDenied"
    s3.put_object_retention(Bucket="locked", Key="comp", VersionId=comp, Retention={
        "Mode": "COMPLIANCE", "RetainUntilDate": until + datetime.timedelta(days=1)})
    assert other.get_object(Bucket="locked", Key="comp")["Body"].read() == b"c"


def test_object_lock_on_multipart_upload(clients: tuple[Any, Any]) -> None:
    s3, other = clients
    s3.create_bucket(Bucket="plain-mp")
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    assert _error(lambda: s3.create_multipart_upload(
        Bucket="plain-mp", Key="k", ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until))["Error"]["Code"] == "InvalidRequest"
    assert s3.list_multipart_uploads(Bucket="plain-mp").get("Uploads", []) == []

    # The headers CreateMultipartUpload was given lock the object CompleteMultipartUpload
    # makes (read by the other gateway): retention and legal hold.
    s3.create_bucket(Bucket="locked-mp", ObjectLockEnabledForBucket=True)
    assert _error(lambda: s3.create_multipart_upload(
        Bucket="locked-mp", Key="k", ObjectLockLegalHoldStatus="MAYBE"))["Error"]["Code"] == \
        "InvalidArgument"
    upload = s3.create_multipart_upload(
        Bucket="locked-mp", Key="k", ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")["UploadId"]
    etag = s3.upload_part(Bucket="locked-mp", Key="k", UploadId=upload, PartNumber=1,
                          Body=b"part")["ETag"]
    version = s3.complete_multipart_upload(
        Bucket="locked-mp", Key="k", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})["VersionId"]
    retention = other.get_object_retention(Bucket="locked-mp", Key="k", VersionId=version)
    assert retention["Retention"]["Mode"] == "COMPLIANCE"
    assert abs(retention["Retention"]["RetainUntilDate"] - until) < datetime.timedelta(seconds=1)
    assert other.get_object_legal_hold(Bucket="locked-mp", Key="k", VersionId=version)[
        "LegalHold"]["Status"] == "ON"
    assert _error(lambda: other.delete_object(Bucket="locked-mp", Key="k", VersionId=version,
                                              BypassGovernanceRetention=True))[
        "Error"]["Code"] == "AccessDenied"
    s3.put_object_legal_hold(Bucket="locked-mp", Key="k", VersionId=version,
                             LegalHold={"Status": "OFF"})
