"""S3 multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
ListParts, CompleteMultipartUpload (ETag and size checks, 5 MiB minimum part) and
AbortMultipartUpload (parts removed)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

from aiohttp import web

from radospy.rgw import acl, conditions, versioned
from radospy.rgw.body import Body, require_length
from radospy.rgw.context import Context, empty, xml_response
from radospy.rgw.object_ops import (
    check_key,
    replaced,
    request_tags,
    source_object,
    upload_headers,
)
from radospy.rgw.s3 import checksums, listing
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.manifest import multipart_manifest
from radospy.rgw.store.multipart import MIN_PART_SIZE, manifest_parts, multipart_etag
from radospy.rgw.store.objects import STRIPE, StripeWriter
from radospy.rgw.store.records import BucketInfo, ObjectAttrs, PartInfo, UploadInfo

MAX_PART_SIZE = 5 << 30
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _upload_id(ctx: Context) -> str:
    return ctx.query("uploadId") or ""


def _part_number(ctx: Context) -> int:
    text = ctx.query("partNumber") or ""
    if not text.isdigit() or not 1 <= int(text) <= s3xml.MAX_PARTS:
        raise S3Error(code="InvalidArgument",
                      message="Part number must be an integer between 1 and 10000, inclusive",
                      ArgumentName="partNumber", ArgumentValue=text)
    return int(text)


async def create_upload(ctx: Context) -> web.Response:
    """CreateMultipartUpload."""
    info = await ctx.bucket_for(acl.WRITE)
    check_key(ctx.key)
    content_type, headers, meta = upload_headers(ctx)
    algorithm = ctx.header("x-amz-checksum-algorithm")
    if algorithm is not None and algorithm.upper() not in checksums.ALGORITHMS:
        raise S3Error(code="InvalidRequest",
                      message="Checksum algorithm provided is unsupported.")
    upload = UploadInfo(ctx.key, names.new_upload_id(), ctx.user.user_id, time.time(),
                        content_type, headers, meta,
                        algorithm.upper() if algorithm else None, request_tags(ctx),
                        acl.check_canned(ctx.header("x-amz-acl") or "private"),
                        versioned.lock_headers(info, ctx.header))
    await ctx.store.uploads.create(info, upload)
    return xml_response(s3xml.initiate_multipart_result(info.bucket, ctx.key, upload.upload_id))


async def _store_part(ctx: Context, info: BucketInfo, number: int, stream: AsyncIterator[bytes],
                      verifier_result: list[checksums.PayloadDigests],
                      writer: StripeWriter) -> PartInfo:
    stored = False
    try:
        async for piece in stream:
            await writer.feed(piece)
        await writer.finish()
        digests = verifier_result[0]
        part = PartInfo(number, writer.size, digests.etag, time.time(), writer.prefix,
                        digests.checksum)
        await ctx.store.uploads.add_part(info, ctx.key, _upload_id(ctx), part)
        stored = True
        return part
    finally:
        if not stored:
            await writer.abort()


async def upload_part(ctx: Context) -> web.Response:
    """UploadPart."""
    info = await ctx.bucket_for(acl.WRITE)
    number = _part_number(ctx)
    require_length(ctx.parts)
    await ctx.store.uploads.get(info, ctx.key, _upload_id(ctx))
    body = Body(ctx.request.content, ctx.parts, ctx.auth)
    if (body.decoded_length or 0) > MAX_PART_SIZE:
        raise S3Error(code="EntityTooLarge")
    await ctx.expect_continue()
    writer = ctx.store.uploads.part_writer(info, ctx.key, _upload_id(ctx), number)
    result: list[checksums.PayloadDigests] = []

    async def stream() -> AsyncIterator[bytes]:
        async for piece in body.chunks():
            yield piece
        assert body.digests is not None
        result.append(body.digests)

    part = await _store_part(ctx, info, number, stream(), result, writer)
    headers = {"ETag": s3xml.quote_etag(part.etag)}
    if result[0].checksum and result[0].checksum_algorithm:
        headers[checksums.header_name(result[0].checksum_algorithm)] = result[0].checksum
    return empty(headers=headers)


async def upload_part_copy(ctx: Context) -> web.Response:
    """UploadPartCopy (optionally a byte range of the source)."""
    info = await ctx.bucket_for(acl.WRITE)
    number = _part_number(ctx)
    await ctx.store.uploads.get(info, ctx.key, _upload_id(ctx))
    src_info, src = await source_object(ctx)
    first, last = 0, src.attrs.size - 1
    range_text = ctx.header("x-amz-copy-source-range")
    if range_text is not None:
        match = _COPY_RANGE.fullmatch(range_text.strip())
        if match is None or int(match.group(2)) < int(match.group(1)) \
                or int(match.group(2)) >= src.attrs.size:
            raise S3Error(code="InvalidArgument", message="The x-amz-copy-source-range value "
                          "must be of the form bytes=first-last where first and last are the "
                          "zero-based offsets of the first and last bytes to copy",
                          ArgumentName="x-amz-copy-source-range", ArgumentValue=range_text)
        first, last = int(match.group(1)), int(match.group(2))
    conditions.check_read(ctx.header, src.attrs.etag, src.attrs.mtime,
                          prefix="x-amz-copy-source-")
    writer = ctx.store.uploads.part_writer(info, ctx.key, _upload_id(ctx), number)
    verifier = checksums.PayloadVerifier()
    result: list[checksums.PayloadDigests] = []

    async def stream() -> AsyncIterator[bytes]:
        async for piece in ctx.store.objects.read(src_info, src, first, last - first + 1):
            verifier.update(piece)
            yield piece
        result.append(verifier.finish())

    part = await _store_part(ctx, info, number, stream(), result, writer)
    return xml_response(s3xml.copy_result(part.etag, part.mtime, part=True))


async def list_parts(ctx: Context) -> web.Response:
    """ListParts (part-number-marker, max-parts)."""
    info = await ctx.bucket_for(acl.WRITE)
    upload = await ctx.store.uploads.get(info, ctx.key, _upload_id(ctx))
    parts = await ctx.store.uploads.parts(info, ctx.key, upload.upload_id)
    marker_text = ctx.query("part-number-marker") or "0"
    if not marker_text.isdigit():
        raise S3Error(code="InvalidArgument", ArgumentName="part-number-marker",
                      ArgumentValue=marker_text)
    marker = int(marker_text)
    max_parts = listing.parse_max_keys(ctx.query("max-parts"), name="max-parts")
    after = [parts[n] for n in sorted(parts) if n > marker]
    page, truncated = after[:max_parts], len(after) > max_parts
    owner = ctx.owner
    result = s3xml.ListParts(
        info.bucket, ctx.key, upload.upload_id,
        [s3xml.PartEntry(p.number, p.mtime, p.etag, p.size) for p in page], truncated,
        owner, owner, part_number_marker=marker,
        next_part_number_marker=page[-1].number if page else None, max_parts=max_parts)
    return xml_response(s3xml.list_parts_result(result))


async def complete_upload(ctx: Context) -> web.Response:
    """CompleteMultipartUpload: the listed parts, in order, become the object."""
    info = await ctx.bucket_for(acl.WRITE)
    upload_id = _upload_id(ctx)
    await ctx.store.uploads.get(info, ctx.key, upload_id)
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    requested = s3xml.parse_complete_multipart(body)
    upload = await ctx.store.uploads.claim(info, ctx.key, upload_id)
    try:
        parts = await ctx.store.uploads.parts(info, ctx.key, upload_id)
        chosen: list[PartInfo] = []
        for item in requested:
            part = parts.get(item.part_number)
            if part is None or part.etag != item.etag:
                raise S3Error(code="InvalidPart", UploadId=upload_id,
                              PartNumber=str(item.part_number), ETag=item.etag)
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_SIZE:
                raise S3Error(code="EntityTooSmall", ProposedSize=str(part.size),
                              MinSizeAllowed=str(MIN_PART_SIZE),
                              PartNumber=str(part.number), ETag=part.etag)
        etag = multipart_etag([p.etag for p in chosen])
        manifest = multipart_manifest(manifest_parts(chosen), STRIPE)

        def make(tag: str, mtime: float) -> ObjectAttrs:
            return ObjectAttrs(manifest.size, mtime, etag, upload.owner, tag, manifest,
                               upload.content_type, upload.headers, upload.meta,
                               tags=upload.tags, parts_count=len(chosen), acl=upload.acl)

        tracked = await ctx.check_quota(info, manifest.size)
        old = await versioned.replaced_entry(ctx.store, info, ctx.key) if tracked else None
        attrs = await versioned.commit(
            ctx.store, info, ctx.key, b"", make,
            lambda old: conditions.check_write(ctx.header, old.etag if old else None),
            upload.lock_headers.get)
        if tracked:
            ctx.store.usage.wrote(info, replaced(attrs.size, old))
    except BaseException:
        await ctx.store.uploads.unclaim(info, ctx.key, upload_id)
        raise
    await ctx.store.uploads.finish(info, ctx.key, upload_id, keep={p.prefix for p in chosen})
    location = f"http://{ctx.request.host}/{info.bucket}/{ctx.key}"
    response = xml_response(s3xml.complete_multipart_result(location, info.bucket, ctx.key,
                                                            attrs.etag))
    response.headers.update(versioned.version_headers(info, attrs))
    return response


async def abort_upload(ctx: Context) -> web.Response:
    """AbortMultipartUpload: the upload and its parts are removed."""
    info = await ctx.bucket_for(acl.WRITE)
    upload_id = _upload_id(ctx)
    await ctx.store.uploads.claim(info, ctx.key, upload_id)
    await ctx.store.uploads.finish(info, ctx.key, upload_id)
    return empty(204)
