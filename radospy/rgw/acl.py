"""Canned ACLs and what they allow (pure). Buckets and objects keep one canned ACL
(`private` unless set); the owner may do anything, others what the ACL grants:
`public-read` lets anyone read, `public-read-write` anyone read and write,
`authenticated-read` any signed-in user read, and on objects `bucket-owner-read` /
`bucket-owner-full-control` the bucket's owner."""

from __future__ import annotations

from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error

ANONYMOUS = "anonymous"
"""The user id of an unsigned request (as Ceph's RGW names it)."""
READ, WRITE = "READ", "WRITE"


def allows(acl: str, owner: str, requester: str, permission: str,
           bucket_owner: str | None = None) -> bool:
    """Whether `requester` may `permission` (READ or WRITE) a resource owned by
    `owner` under canned ACL `acl`."""
    if requester == owner:
        return True
    if acl == "public-read-write":
        return True
    if acl == "public-read":
        return permission == READ
    if acl == "authenticated-read":
        return permission == READ and requester != ANONYMOUS
    if requester == bucket_owner:
        return acl == "bucket-owner-full-control" or (
            acl == "bucket-owner-read" and permission == READ)
    return False


def check_canned(name: str) -> str:
    """`name` if it is a canned ACL S3 knows; InvalidArgument otherwise."""
    if name not in s3xml.CANNED_ACLS:
        raise S3Error(code="InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name)
    return name


def canned_of(policy: s3xml.AccessControlPolicy, owner: s3xml.Owner) -> str:
    """The canned ACL an AccessControlPolicy document amounts to; NotImplemented for
    grants no canned ACL expresses."""
    wanted = {(g.permission, g.id, g.uri) for g in policy.grants}
    for name in ("private", "public-read", "public-read-write", "authenticated-read"):
        grants = s3xml.canned_acl(name, owner).grants
        if {(g.permission, g.id, g.uri) for g in grants} == wanted:
            return name
    raise S3Error(code="NotImplemented", message="Only grants a canned ACL expresses are supported")
