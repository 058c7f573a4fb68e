"""What every S3 operation handler gets: the request as received, who sent it, the
bucket and key it names, the store; and the response helpers they share."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.web import BaseRequest

from radospy.rgw import acl, quota
from radospy.rgw.routing import Target
from radospy.rgw.s3 import policy
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import AuthResult, RequestParts
from radospy.rgw.s3.xml import Owner
from radospy.rgw.store.records import BucketInfo, ObjectAttrs, UserInfo
from radospy.rgw.store.store import Store

XML = "application/xml"


@dataclass
class Context:
    """One authenticated request."""

    request: BaseRequest
    parts: RequestParts
    auth: AuthResult | None
    user: UserInfo
    target: Target
    store: Store
    request_id: str
    cors_headers: dict[str, str] = field(default_factory=dict)
    """`Access-Control-*` headers for a cross-origin request the bucket's CORS admits."""
    verdict: policy.Effect | None = None
    """What the bucket's policy says about this request's operation (None: nothing, the
    ACLs decide)."""
    stamp: bytes | None = None
    """The metadata stamp read when the request arrived: the named bucket's metadata
    comes from the gateway's cache when nothing changed since (`meta_cache`)."""
    _info: BucketInfo | None = None

    @property
    def bucket_name(self) -> str:
        """The bucket named (the dispatcher only routes bucket ops when there is one)."""
        assert self.target.bucket is not None
        return self.target.bucket

    @property
    def key(self) -> str:
        """The object key named."""
        assert self.target.key is not None
        return self.target.key

    @property
    def owner(self) -> Owner:
        """The requester as an S3 owner."""
        return Owner(self.user.user_id, self.user.display_name)

    def header(self, name: str) -> str | None:
        """A request header (case-insensitive), or None."""
        return self.parts.header(name)

    def query(self, name: str) -> str | None:
        """A query parameter, or None."""
        return self.parts.query_param(name)

    def has_query(self, name: str) -> bool:
        """Whether the query names `name` (with or without a value)."""
        return any(k == name for k, _ in self.parts.query_params())

    @property
    def anonymous(self) -> bool:
        """Whether the request is unsigned."""
        return self.auth is None

    async def load_bucket(self) -> BucketInfo:
        """The named bucket's metadata (read once per request); NoSuchBucket."""
        if self._info is None:
            self._info = await self.store.buckets.get(self.bucket_name, self.stamp)
        return self._info

    def condition_context(self) -> dict[str, tuple[str, ...]]:
        """The request's policy condition keys (lower-cased) and their values."""
        out: dict[str, tuple[str, ...]] = {"aws:securetransport": ("false",)}
        remote = self.request.remote
        if remote:
            out["aws:sourceip"] = (remote,)
        if not self.anonymous:
            out["aws:username"] = out["aws:userid"] = (self.user.user_id,)
        for header, key in (("user-agent", "aws:useragent"), ("referer", "aws:referer"),
                            ("x-amz-acl", "s3:x-amz-acl"),
                            ("x-amz-copy-source", "s3:x-amz-copy-source"),
                            ("x-amz-metadata-directive", "s3:x-amz-metadata-directive"),
                            ("x-amz-content-sha256", "s3:x-amz-content-sha256")):
            value = self.header(header)
            if value is not None:
                out[key] = (value,)
        for param in ("prefix", "delimiter", "max-keys", "versionId"):
            value = self.query(param)
            if value is not None:
                out["s3:" + param.lower()] = (value,)
        if self.auth is not None:
            out["s3:signatureversion"] = ("AWS4-HMAC-SHA256" if self.auth.version == 4
                                          else "AWS",)
            out["s3:authtype"] = ("REST-QUERY-STRING" if self.auth.presigned
                                  else "REST-HEADER",)
        return out

    def policy_verdict(self, info: BucketInfo, action: str, key: str | None = None
                       ) -> policy.Effect | None:
        """What bucket `info`'s policy says about the requester doing `action` on the
        bucket (or on its object `key`)."""
        if not info.policy:
            return None
        request = policy.Request(self.user.user_id, action,
                                 policy.bucket_arn(info.bucket, key),
                                 self.condition_context(), self.anonymous)
        return policy.evaluate(policy.parse_stored(info.policy, info.bucket), request)

    async def bucket(self) -> BucketInfo:
        """The named bucket, which the requester must own or the bucket's policy let
        do this operation (AccessDenied otherwise)."""
        info = await self.load_bucket()
        if self.verdict is not policy.Effect.ALLOW and info.owner != self.user.user_id:
            raise S3Error(code="AccessDenied")
        return info

    async def bucket_for(self, permission: str) -> BucketInfo:
        """The named bucket, whose policy must allow this operation or whose ACL must
        grant the requester `permission`."""
        info = await self.load_bucket()
        if self.verdict is policy.Effect.ALLOW:
            return info
        if not acl.allows(info.acl, info.owner, self.user.user_id, permission):
            raise S3Error(code="AccessDenied")
        return info

    def may_list(self, info: BucketInfo) -> bool:
        """Whether the requester may list bucket `info` (policy, then ACL): only they
        learn that a key does not exist."""
        verdict = self.policy_verdict(info, "s3:ListBucket")
        if verdict is not None:
            return verdict is policy.Effect.ALLOW
        return acl.allows(info.acl, info.owner, self.user.user_id, acl.READ)

    def may_read(self, info: BucketInfo, attrs: ObjectAttrs,
                 verdict: policy.Effect | None) -> None:
        """AccessDenied unless the bucket's policy (its `verdict` on reading the
        object), the bucket's or the object's ACL lets the requester read."""
        if verdict is policy.Effect.ALLOW:
            return
        user = self.user.user_id
        if acl.allows(info.acl, info.owner, user, acl.READ):
            return
        if acl.allows(attrs.acl, attrs.owner, user, acl.READ, bucket_owner=info.owner):
            return
        raise S3Error(code="AccessDenied")

    async def check_quota(self, info: BucketInfo, size: int) -> bool:
        """QuotaExceeded if one more object of `size` bytes in bucket `info` would pass
        the bucket's or its owner's quota; whether any quota applies (the caller then
        reports its write to the usage cache)."""
        owner = self.user if info.owner == self.user.user_id else \
            await self.store.users.get(info.owner)
        if owner is None:
            return False
        limits = quota.bucket_quota(info.quota, owner.bucket_quota)
        usage = self.store.usage
        if limits.enabled and quota.exceeded(limits, await usage.bucket(info), size):
            raise S3Error(code="QuotaExceeded")
        if owner.user_quota.enabled and quota.exceeded(
                owner.user_quota, await usage.user(owner.user_id), size):
            raise S3Error(code="QuotaExceeded")
        return limits.enabled or owner.user_quota.enabled

    async def expect_continue(self) -> None:
        """Answer `Expect: 100-continue` now that the request is accepted, so the
        client sends its body without waiting out its timeout."""
        if (self.header("expect") or "").lower() == "100-continue":
            await self.request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")


def http_date(epoch: float) -> str:
    """RFC 7231 date (`Last-Modified`)."""
    return email.utils.formatdate(int(epoch), usegmt=True)


def xml_response(body: bytes, status: int = 200) -> web.Response:
    """An XML document response."""
    return web.Response(body=body, status=status, content_type=XML)


def empty(status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A response without a body."""
    return web.Response(status=status, headers=headers)
