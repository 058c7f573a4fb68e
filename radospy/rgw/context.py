"""What every S3 operation handler gets: the request as received, who sent it, the
bucket and key it names, the store; and the response helpers they share."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.web import BaseRequest

from radospy.rgw import acl
from radospy.rgw.routing import Target
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

    async def bucket(self) -> BucketInfo:
        """The named bucket, which the requester must own (AccessDenied otherwise)."""
        info = await self.store.buckets.get(self.bucket_name)
        if info.owner != self.user.user_id:
            raise S3Error(code="AccessDenied")
        return info

    async def bucket_for(self, permission: str) -> BucketInfo:
        """The named bucket, whose ACL must grant the requester `permission`."""
        info = await self.store.buckets.get(self.bucket_name)
        if not acl.allows(info.acl, info.owner, self.user.user_id, permission):
            raise S3Error(code="AccessDenied")
        return info

    def may_read(self, info: BucketInfo, attrs: ObjectAttrs) -> None:
        """AccessDenied unless the bucket's or the object's ACL lets the requester read."""
        user = self.user.user_id
        if acl.allows(info.acl, info.owner, user, acl.READ):
            return
        if acl.allows(attrs.acl, attrs.owner, user, acl.READ, bucket_owner=info.owner):
            return
        raise S3Error(code="AccessDenied")

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
