"""Which S3 operation a request is (pure): by method, whether it names a bucket and a
key, its sub-resources (`?uploads`, `?tagging`…) and `x-amz-copy-source`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from radospy.rgw.s3.errors import S3Error


@dataclass(frozen=True)
class Route:
    """The name of an S3 operation, as AWS names it."""

    op: str


_UNSUPPORTED = ("website", "logging", "notification",
                "replication", "encryption",
                "requestPayment", "accelerate", "analytics", "metrics", "inventory",
                "intelligent-tiering", "ownershipControls", "publicAccessBlock",
                "torrent", "restore", "select")


def route(method: str, bucket: str | None, key: str | None,
          has: Callable[[str], bool], copy_source: bool) -> Route:
    """The operation; NotImplemented for sub-resources not served yet, MethodNotAllowed
    for a method the resource does not take."""
    for sub in _UNSUPPORTED:
        if has(sub):
            raise S3Error(code="NotImplemented")
    if method == "OPTIONS" and bucket is not None:
        return Route("PreflightRequest")
    if bucket is None:
        if method in ("GET", "HEAD"):
            return Route("ListBuckets")
        raise S3Error(code="MethodNotAllowed")
    if key is None:
        return _bucket_route(method, has)
    return _object_route(method, has, copy_source)


def _bucket_route(method: str, has: Callable[[str], bool]) -> Route:
    table: dict[str, list[tuple[str, str]]] = {
        "GET": [("location", "GetBucketLocation"), ("versioning", "GetBucketVersioning"),
                ("acl", "GetBucketAcl"), ("uploads", "ListMultipartUploads"),
                ("versions", "ListObjectVersions"), ("tagging", "GetBucketTagging"),
                ("cors", "GetBucketCors"), ("lifecycle", "GetBucketLifecycleConfiguration"),
                ("object-lock", "GetObjectLockConfiguration"), ("policy", "GetBucketPolicy"),
                ("policyStatus", "GetBucketPolicyStatus"), ("list-type", "ListObjectsV2")],
        "PUT": [("versioning", "PutBucketVersioning"), ("acl", "PutBucketAcl"),
                ("tagging", "PutBucketTagging"), ("cors", "PutBucketCors"),
                ("policy", "PutBucketPolicy"),
                ("lifecycle", "PutBucketLifecycleConfiguration"),
                ("object-lock", "PutObjectLockConfiguration")],
        "POST": [("delete", "DeleteObjects")],
        "DELETE": [("tagging", "DeleteBucketTagging"), ("cors", "DeleteBucketCors"),
                   ("policy", "DeleteBucketPolicy"),
                   ("lifecycle", "DeleteBucketLifecycle")],
    }
    for sub, op in table.get(method, []):
        if has(sub):
            return Route(op)
    default = {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket",
               "DELETE": "DeleteBucket"}.get(method)
    if default is None:
        raise S3Error(code="MethodNotAllowed")
    return Route(default)


def _object_route(method: str, has: Callable[[str], bool], copy_source: bool) -> Route:
    if has("policy") or has("policyStatus"):
        raise S3Error(code="NotImplemented")
    if method == "PUT":
        if has("uploadId"):
            return Route("UploadPartCopy" if copy_source else "UploadPart")
        if has("tagging"):
            return Route("PutObjectTagging")
        if has("acl"):
            return Route("PutObjectAcl")
        if has("retention"):
            return Route("PutObjectRetention")
        if has("legal-hold"):
            return Route("PutObjectLegalHold")
        return Route("CopyObject" if copy_source else "PutObject")
    if method == "GET":
        if has("uploadId"):
            return Route("ListParts")
        if has("tagging"):
            return Route("GetObjectTagging")
        if has("acl"):
            return Route("GetObjectAcl")
        if has("retention"):
            return Route("GetObjectRetention")
        if has("legal-hold"):
            return Route("GetObjectLegalHold")
        return Route("GetObject")
    if method == "HEAD":
        return Route("HeadObject")
    if method == "DELETE":
        if has("uploadId"):
            return Route("AbortMultipartUpload")
        if has("tagging"):
            return Route("DeleteObjectTagging")
        return Route("DeleteObject")
    if method == "POST":
        if has("uploads"):
            return Route("CreateMultipartUpload")
        if has("uploadId"):
            return Route("CompleteMultipartUpload")
    raise S3Error(code="MethodNotAllowed")
