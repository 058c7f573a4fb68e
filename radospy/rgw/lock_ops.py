"""S3 Object Lock operations: Put/GetObjectLockConfiguration on buckets created with
object lock, and Put/GetObjectRetention and Put/GetObjectLegalHold on object
versions. The rules are `radospy.rgw.s3.object_lock`'s; deletion is refused in
`radospy.rgw.versioned.delete`."""

from __future__ import annotations

import time

import msgspec
from aiohttp import web

from radospy.rgw import acl, versioned
from radospy.rgw.body import Body
from radospy.rgw.context import Context, empty, xml_response
from radospy.rgw.object_ops import bypass_governance
from radospy.rgw.s3 import object_lock
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store.records import ObjectAttrs


async def _body(ctx: Context) -> bytes:
    await ctx.expect_continue()
    return await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)


async def put_configuration(ctx: Context) -> web.Response:
    """PutObjectLockConfiguration: only on a bucket created with object lock."""
    info = await ctx.bucket()
    body = await _body(ctx)
    config = object_lock.parse_configuration(body)
    if not info.object_lock:
        raise S3Error("Object Lock configuration cannot be enabled on existing buckets",
                      code="InvalidBucketState")
    text = object_lock.configuration(config).decode()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, lock_config=text))
    return empty()


async def get_configuration(ctx: Context) -> web.Response:
    """GetObjectLockConfiguration."""
    info = await ctx.bucket()
    if not info.object_lock:
        raise S3Error(code="ObjectLockConfigurationNotFoundError", BucketName=info.bucket)
    if info.lock_config:
        return xml_response(info.lock_config.encode())
    return xml_response(object_lock.configuration(object_lock.LockConfiguration()))


async def _version_attrs(ctx: Context) -> ObjectAttrs:
    info = await ctx.bucket_for(acl.READ)
    object_lock.require_enabled(info.object_lock)
    version = versioned.requested(ctx.query("versionId"), ctx.key)
    head = await versioned.find(ctx.store, info, ctx.key, version, with_data=False)
    return head.attrs


async def get_retention(ctx: Context) -> web.Response:
    """GetObjectRetention; NoSuchObjectLockConfiguration when the version has none."""
    attrs = await _version_attrs(ctx)
    if attrs.lock_mode is None:
        raise S3Error(code="NoSuchObjectLockConfiguration")
    return xml_response(object_lock.retention(
        object_lock.Retention(attrs.lock_mode, attrs.lock_until)))


async def put_retention(ctx: Context) -> web.Response:
    """PutObjectRetention: an active retention is only lengthened (or, for GOVERNANCE
    with the bypass header, changed at will)."""
    info = await ctx.bucket_for(acl.WRITE)
    object_lock.require_enabled(info.object_lock)
    now = time.time()
    new = object_lock.parse_retention(await _body(ctx), now)
    version = await versioned.writable_version(
        ctx.store, info, ctx.key, versioned.requested(ctx.query("versionId"), ctx.key))
    bypass = bypass_governance(ctx)

    def change(attrs: ObjectAttrs) -> ObjectAttrs:
        current = object_lock.Retention(attrs.lock_mode, attrs.lock_until)
        object_lock.check_change(current, new, now, bypass=bypass)
        return msgspec.structs.replace(attrs, lock_mode=new.mode, lock_until=new.until)

    attrs = await ctx.store.objects.set_attrs(info, ctx.key, change, version)
    return empty(headers=versioned.version_headers(info, attrs))


async def get_legal_hold(ctx: Context) -> web.Response:
    """GetObjectLegalHold."""
    attrs = await _version_attrs(ctx)
    return xml_response(object_lock.legal_hold(attrs.legal_hold))


async def put_legal_hold(ctx: Context) -> web.Response:
    """PutObjectLegalHold: ON or OFF."""
    info = await ctx.bucket_for(acl.WRITE)
    object_lock.require_enabled(info.object_lock)
    held = object_lock.parse_legal_hold(await _body(ctx))
    version = await versioned.writable_version(
        ctx.store, info, ctx.key, versioned.requested(ctx.query("versionId"), ctx.key))
    attrs = await ctx.store.objects.set_attrs(
        info, ctx.key, lambda a: msgspec.structs.replace(a, legal_hold=held), version)
    return empty(headers=versioned.version_headers(info, attrs))
