"""S3 bucket policy operations: PutBucketPolicy (validated: MalformedPolicy),
GetBucketPolicy, DeleteBucketPolicy and GetBucketPolicyStatus. The policy is kept as
the JSON text it was put with, in the bucket's instance metadata."""

from __future__ import annotations

import msgspec
from aiohttp import web

from radospy.rgw.body import Body
from radospy.rgw.context import Context, empty, xml_response
from radospy.rgw.s3 import policy
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error


async def put_policy(ctx: Context) -> web.Response:
    """PutBucketPolicy: the document must parse as a policy of this bucket."""
    info = await ctx.bucket()
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    policy.parse(body, info.bucket)
    text = body.decode()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, policy=text))
    return empty(204)


async def get_policy(ctx: Context) -> web.Response:
    """GetBucketPolicy: the JSON text as put; NoSuchBucketPolicy when there is none."""
    info = await ctx.bucket()
    if not info.policy:
        raise S3Error(code="NoSuchBucketPolicy", BucketName=info.bucket)
    return web.Response(body=info.policy.encode(), content_type="application/json")


async def delete_policy(ctx: Context) -> web.Response:
    """DeleteBucketPolicy (none set is no error)."""
    info = await ctx.bucket()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, policy=""))
    return empty(204)


async def get_policy_status(ctx: Context) -> web.Response:
    """GetBucketPolicyStatus: whether the policy makes the bucket public."""
    info = await ctx.bucket()
    if not info.policy:
        raise S3Error(code="NoSuchBucketPolicy", BucketName=info.bucket)
    public = policy.is_public(policy.parse_stored(info.policy, info.bucket))
    return xml_response(s3xml.policy_status(public))
