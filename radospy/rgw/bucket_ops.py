"""S3 operations on the service and on buckets: ListBuckets, CreateBucket,
DeleteBucket, HeadBucket, GetBucketLocation, ListObjects v1/v2,
ListMultipartUploads, ListObjectVersions, versioning and the read-only view of ACLs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

import msgspec
from aiohttp import web

from radospy.rgw import acl, versioned
from radospy.rgw.body import Body
from radospy.rgw.context import Context, empty, xml_response
from radospy.rgw.s3 import listing, versions
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.index import LayoutChanged, ThreadSource
from radospy.rgw.store.records import BucketInfo, IndexEntry

LOCATIONS = ("", "default", "us-east-1")
_LIST_ATTEMPTS = 5
"""Listings started over when reshards keep moving the index under them."""
"""LocationConstraints a bucket may be created with: the zonegroup's names."""


async def list_buckets(ctx: Context) -> web.Response:
    """ListBuckets: the requester's buckets by name."""
    if ctx.anonymous:
        raise S3Error(code="AccessDenied")
    buckets = await ctx.store.users.bucket_names(ctx.user.user_id)
    entries = [s3xml.BucketEntry(name, created) for name, created in sorted(buckets.items())]
    return xml_response(s3xml.list_buckets_result(ctx.owner, entries))


async def create_bucket(ctx: Context) -> web.Response:
    """CreateBucket, with an optional CreateBucketConfiguration."""
    if not names.valid_bucket_name(ctx.bucket_name):
        raise S3Error(code="InvalidBucketName", BucketName=ctx.bucket_name)
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    location = s3xml.parse_create_bucket(body) or ""
    if location not in LOCATIONS:
        raise S3Error(code="InvalidLocationConstraint")
    if ctx.anonymous:
        raise S3Error(code="AccessDenied")
    canned = acl.check_canned(ctx.header("x-amz-acl") or "private")
    lock = (ctx.header("x-amz-bucket-object-lock-enabled") or "").lower() == "true"
    await ctx.store.buckets.create(ctx.bucket_name, ctx.user, location, canned,
                                   object_lock=lock)
    return empty(headers={"Location": "/" + ctx.bucket_name})


async def delete_bucket(ctx: Context) -> web.Response:
    """DeleteBucket: only an empty one (BucketNotEmpty)."""
    info = await ctx.bucket()
    uploads = await ctx.store.uploads.list(info)
    await ctx.store.buckets.delete(info)
    await ctx.store.lc.remove(info.bucket, info.marker)
    # Uploads in progress go with the bucket (only once it is really deleted).
    for upload in uploads:
        with contextlib.suppress(S3Error):
            await ctx.store.uploads.claim(info, upload.key, upload.upload_id)
            await ctx.store.uploads.finish(info, upload.key, upload.upload_id)
    return empty(204)


async def head_bucket(ctx: Context) -> web.Response:
    """HeadBucket."""
    info = await ctx.bucket_for(acl.READ)
    return empty(headers={"x-amz-bucket-region": info.location or "us-east-1"})


async def get_location(ctx: Context) -> web.Response:
    """GetBucketLocation."""
    info = await ctx.bucket()
    return xml_response(s3xml.location_constraint(info.location or None))


async def get_versioning(ctx: Context) -> web.Response:
    """GetBucketVersioning: no Status until versioning was first enabled or suspended."""
    info = await ctx.bucket()
    return xml_response(s3xml.versioning(
        s3xml.VersioningConfiguration(info.versioning or None)))


async def put_versioning(ctx: Context) -> web.Response:
    """PutBucketVersioning: Enabled or Suspended (a bucket never goes back to
    unversioned); MFA delete is not supported."""
    info = await ctx.bucket()
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    config = s3xml.parse_versioning(body)
    if config.mfa_delete == "Enabled" or ctx.header("x-amz-mfa") is not None:
        raise S3Error(code="NotImplemented",
                      message="MFA delete is not supported by this gateway.")
    if config.status is None:
        raise S3Error(code="IllegalVersioningConfigurationException")
    if info.object_lock and config.status != "Enabled":
        raise S3Error("An Object Lock configuration is present on this bucket, so the "
                      "versioning state cannot be changed.", code="InvalidBucketState")
    status = config.status
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, versioning=status))
    return empty()


async def get_acl(ctx: Context) -> web.Response:
    """GetBucketAcl / GetObjectAcl: the grants of the canned ACL set."""
    info = await ctx.bucket()
    name, owner = info.acl, s3xml.Owner(info.owner, info.owner)
    if ctx.target.key is not None:
        version = versioned.requested(ctx.query("versionId"), ctx.key)
        head = await versioned.find(ctx.store, info, ctx.key, version, with_data=False)
        name, owner = head.attrs.acl, s3xml.Owner(head.attrs.owner, head.attrs.owner)
    policy = s3xml.canned_acl(name, owner, s3xml.Owner(info.owner, info.owner))
    return xml_response(s3xml.access_control_policy(policy))


def _entry(entry: IndexEntry, info: BucketInfo) -> s3xml.ObjectEntry:
    return s3xml.ObjectEntry(entry.key, entry.mtime, entry.etag, entry.size,
                             owner=s3xml.Owner(entry.owner, entry.owner_display or entry.owner),
                             checksum_algorithm=entry.checksum_algorithm)


T = TypeVar("T")


async def _listed(ctx: Context, info: BucketInfo, read: Callable[[ThreadSource], T]) -> T:
    """`read(source)` run in a worker thread over the bucket's index, started over
    when a reshard moves the index under it."""
    loop = asyncio.get_running_loop()
    source = ctx.store.buckets.index(info).source(loop)
    for _ in range(_LIST_ATTEMPTS):
        try:
            return await loop.run_in_executor(None, read, source)
        except LayoutChanged:
            continue
    raise S3Error(code="OperationAborted")


async def _page(ctx: Context, info: BucketInfo, *, prefix: str, delimiter: str, marker: str,
                max_keys: int) -> listing.ListingPage[IndexEntry]:
    return await _listed(ctx, info, lambda source: listing.list_page(
        lambda start: versions.current(source(start)), prefix=prefix,
        delimiter=delimiter, marker=marker, max_keys=max_keys))


async def list_objects(ctx: Context) -> web.Response:
    """ListObjects (v1)."""
    info = await ctx.bucket_for(acl.READ)
    prefix, delimiter = ctx.query("prefix") or "", ctx.query("delimiter") or ""
    marker = ctx.query("marker") or ""
    max_keys = listing.parse_max_keys(ctx.query("max-keys"))
    encoding = ctx.query("encoding-type")
    page = await _page(ctx, info, prefix=prefix, delimiter=delimiter, marker=marker,
                       max_keys=max_keys)
    result = s3xml.ListObjectsV1(
        ctx.bucket_name, [_entry(e, info) for e in page.contents], page.common_prefixes,
        page.is_truncated, prefix=prefix, marker=marker, delimiter=delimiter or None,
        max_keys=max_keys, next_marker=page.next_marker, encoding_type=encoding)
    return xml_response(s3xml.list_objects_v1_result(result))


async def list_objects_v2(ctx: Context) -> web.Response:
    """ListObjectsV2."""
    info = await ctx.bucket_for(acl.READ)
    prefix, delimiter = ctx.query("prefix") or "", ctx.query("delimiter") or ""
    token = ctx.query("continuation-token")
    start_after = ctx.query("start-after")
    marker = listing.decode_token(token) if token is not None else (start_after or "")
    max_keys = listing.parse_max_keys(ctx.query("max-keys"))
    encoding = ctx.query("encoding-type")
    page = await _page(ctx, info, prefix=prefix, delimiter=delimiter, marker=marker,
                       max_keys=max_keys)
    next_token = listing.encode_token(page.next_marker) if page.next_marker else None
    result = s3xml.ListObjectsV2(
        ctx.bucket_name, [_entry(e, info) for e in page.contents], page.common_prefixes,
        page.is_truncated, prefix=prefix, delimiter=delimiter or None, max_keys=max_keys,
        continuation_token=token, next_continuation_token=next_token,
        start_after=start_after, encoding_type=encoding,
        fetch_owner=(ctx.query("fetch-owner") or "").lower() == "true")
    return xml_response(s3xml.list_objects_v2_result(result))


async def list_uploads(ctx: Context) -> web.Response:
    """ListMultipartUploads (prefix, key/upload-id markers, max-uploads)."""
    info = await ctx.bucket()
    prefix = ctx.query("prefix") or ""
    key_marker = ctx.query("key-marker") or ""
    id_marker = ctx.query("upload-id-marker") or ""
    max_uploads = listing.parse_max_keys(ctx.query("max-uploads"), name="max-uploads")
    chosen = []
    truncated = False
    for upload in await ctx.store.uploads.list(info):
        if not upload.key.startswith(prefix):
            continue
        if key_marker and (upload.key, upload.upload_id) <= (key_marker, id_marker or "\uffff"):
            continue
        if len(chosen) == max_uploads:
            truncated = True
            break
        chosen.append(upload)
    owner = ctx.owner
    entries = [s3xml.UploadEntry(u.key, u.upload_id, u.initiated, owner, owner) for u in chosen]
    last = chosen[-1] if truncated and chosen else None
    result = s3xml.ListUploads(
        ctx.bucket_name, entries, [], truncated, prefix=prefix,
        delimiter=ctx.query("delimiter"), key_marker=key_marker, upload_id_marker=id_marker,
        next_key_marker=last.key if last else None,
        next_upload_id_marker=last.upload_id if last else None,
        max_uploads=max_uploads, encoding_type=ctx.query("encoding-type"))
    return xml_response(s3xml.list_uploads_result(result))


async def put_cors(ctx: Context) -> web.Response:
    """PutBucketCors."""
    info = await ctx.bucket()
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    rules = s3xml.parse_cors(body)
    text = s3xml.cors(rules).decode()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, cors=text))
    return empty()


async def get_cors(ctx: Context) -> web.Response:
    """GetBucketCors; NoSuchCORSConfiguration when none is set."""
    info = await ctx.bucket()
    if not info.cors:
        raise S3Error(code="NoSuchCORSConfiguration", BucketName=info.bucket)
    return xml_response(info.cors.encode())


async def delete_cors(ctx: Context) -> web.Response:
    """DeleteBucketCors."""
    info = await ctx.bucket()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, cors=""))
    return empty(204)


async def list_versions(ctx: Context) -> web.Response:
    """ListObjectVersions: every version and delete marker, keys in order and each
    key's newest first (prefix, delimiter, key and version-id markers, max-keys)."""
    info = await ctx.bucket_for(acl.READ)
    prefix, delimiter = ctx.query("prefix") or "", ctx.query("delimiter") or ""
    key_marker = ctx.query("key-marker") or ""
    id_marker = ctx.query("version-id-marker") or ""
    if id_marker and not key_marker:
        raise S3Error(code="InvalidArgument",
                      message="A version-id marker cannot be specified without a key marker.",
                      ArgumentName="version-id-marker", ArgumentValue=id_marker)
    if id_marker and id_marker != versions.NULL and not versions.is_version_id(id_marker):
        raise S3Error(code="InvalidArgument", message="Invalid version id specified",
                      ArgumentName="version-id-marker", ArgumentValue=id_marker)
    max_keys = listing.parse_max_keys(ctx.query("max-keys"))
    start = max(prefix.encode(), key_marker.encode())
    page = await _listed(ctx, info, lambda source: versions.list_versions_page(
        versions.all_versions(source(start)), prefix=prefix, delimiter=delimiter,
        key_marker=key_marker, version_id_marker=id_marker, max_keys=max_keys))
    entries = []
    for item in page.versions:
        e = item.entry
        assert isinstance(e, IndexEntry)
        entries.append(s3xml.VersionEntry(
            e.key, item.version_id, item.is_latest, e.mtime,
            s3xml.Owner(e.owner, e.owner_display or e.owner), delete_marker=e.delete_marker,
            etag=e.etag, size=e.size))
    result = s3xml.ListVersions(
        ctx.bucket_name, entries, page.common_prefixes, page.is_truncated, prefix=prefix,
        key_marker=key_marker, version_id_marker=id_marker,
        next_key_marker=page.next_key_marker,
        next_version_id_marker=page.next_version_id_marker,
        delimiter=delimiter or None, max_keys=max_keys, encoding_type=ctx.query("encoding-type"))
    return xml_response(s3xml.list_versions_result(result))


async def put_lifecycle(ctx: Context) -> web.Response:
    """PutBucketLifecycleConfiguration: the rules replace any before; the bucket is
    listed for the lifecycle workers."""
    info = await ctx.bucket()
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    text = s3xml.lifecycle(s3xml.parse_lifecycle(body)).decode()
    info = await ctx.store.buckets.update(
        info, lambda b: msgspec.structs.replace(b, lifecycle=text))
    await ctx.store.lc.add(info)
    return empty()


async def get_lifecycle(ctx: Context) -> web.Response:
    """GetBucketLifecycleConfiguration; NoSuchLifecycleConfiguration when none is set."""
    info = await ctx.bucket()
    if not info.lifecycle:
        raise S3Error(code="NoSuchLifecycleConfiguration", BucketName=info.bucket)
    return xml_response(info.lifecycle.encode())


async def delete_lifecycle(ctx: Context) -> web.Response:
    """DeleteBucketLifecycle."""
    info = await ctx.bucket()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, lifecycle=""))
    await ctx.store.lc.remove(info.bucket, info.marker)
    return empty(204)


async def get_tagging(ctx: Context) -> web.Response:
    """GetBucketTagging; NoSuchTagSet when the bucket has none."""
    info = await ctx.bucket()
    if not info.tags:
        raise S3Error(code="NoSuchTagSet", BucketName=info.bucket)
    return xml_response(s3xml.tagging(info.tags))


async def put_tagging(ctx: Context) -> web.Response:
    """PutBucketTagging (up to 50 tags)."""
    info = await ctx.bucket()
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    tags = s3xml.parse_tagging(body, max_tags=s3xml.MAX_BUCKET_TAGS)
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, tags=list(tags)))
    return empty(204)


async def delete_tagging(ctx: Context) -> web.Response:
    """DeleteBucketTagging."""
    info = await ctx.bucket()
    await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, tags=[]))
    return empty(204)
