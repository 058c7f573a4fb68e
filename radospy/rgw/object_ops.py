"""S3 operations on objects: PutObject, GetObject, HeadObject, DeleteObject,
DeleteObjects, CopyObject and object tagging. Bodies stream through `StripeWriter`
and `Objects.read`; nothing holds a whole object in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qsl, unquote

import msgspec
from aiohttp import web

from radospy.rgw import acl, conditions, versioned
from radospy.rgw.body import Body, require_length
from radospy.rgw.context import Context, empty, http_date, xml_response
from radospy.rgw.quota import Usage
from radospy.rgw.s3 import checksums, policy, versions
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.objects import Head, StripeWriter, new_simple_manifest
from radospy.rgw.store.records import BucketInfo, IndexEntry, ObjectAttrs

MAX_PUT_SIZE = 5 << 30
"""Largest single PUT (S3's 5 GiB); larger objects need multipart."""
MAX_META_SIZE = 2048
"""Largest total size of user metadata (names and values), as S3."""
STORED_HEADERS = ("content-encoding", "content-disposition", "content-language",
                  "cache-control", "expires")
OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_META = "x-amz-meta-"


def check_key(key: str) -> None:
    """Refuse a key S3 cannot store: KeyTooLongError, InvalidArgument."""
    problem = names.key_problem(key)
    if problem == "too long":
        raise S3Error(code="KeyTooLongError", Size=str(len(key.encode())),
                      MaxSizeAllowed=str(names.MAX_KEY_BYTES))
    if problem is not None:
        raise S3Error(code="InvalidArgument", message="Object key is not valid",
                      ArgumentName="key", ArgumentValue=key[:64])


def upload_headers(ctx: Context) -> tuple[str, dict[str, str], dict[str, str]]:
    """Content-Type, the stored Content-* headers and the user metadata of an upload."""
    content_type = ctx.header("content-type") or "binary/octet-stream"
    headers: dict[str, str] = {}
    for name in STORED_HEADERS:
        value = ctx.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            value = ",".join(v.strip() for v in value.split(",")
                             if v.strip() and v.strip() != "aws-chunked")
            if not value:
                continue
        headers[name] = value
    meta: dict[str, str] = {}
    for name, value in ctx.parts.headers:
        lname = name.lower()
        if lname.startswith(_META):
            meta[lname[len(_META):]] = value.strip()
    if sum(len(k) + len(v) for k, v in meta.items()) > MAX_META_SIZE:
        raise S3Error(code="MetadataTooLarge")
    return content_type, headers, meta


def request_tags(ctx: Context) -> list[tuple[str, str]]:
    """The `x-amz-tagging` header's tags (URL query form)."""
    value = ctx.header("x-amz-tagging")
    if not value:
        return []
    tags = parse_qsl(value, keep_blank_values=True)
    s3xml.validate_tags(tags)
    return tags


def object_headers(attrs: ObjectAttrs, ctx: Context, *, whole: bool) -> dict[str, str]:
    """The response headers describing an object (GET and HEAD)."""
    headers = {
        "ETag": s3xml.quote_etag(attrs.etag),
        "Last-Modified": http_date(attrs.mtime),
        "Content-Type": attrs.content_type,
        "Accept-Ranges": "bytes",
    }
    for name, value in attrs.headers.items():
        headers["-".join(p.capitalize() for p in name.split("-"))] = value
    for name, value in attrs.meta.items():
        headers[_META + name] = value
    if attrs.tags:
        headers["x-amz-tagging-count"] = str(len(attrs.tags))
    if attrs.parts_count:
        headers["x-amz-mp-parts-count"] = str(attrs.parts_count)
    mode = (ctx.header("x-amz-checksum-mode") or "").upper()
    if whole and mode == "ENABLED" and attrs.checksum and attrs.checksum_algorithm:
        headers[checksums.header_name(attrs.checksum_algorithm)] = attrs.checksum
    for param, header in OVERRIDES.items():
        value = ctx.query(param)
        if value is not None:
            headers[header] = value
    return headers


async def _readable(ctx: Context, *, with_data: bool) -> tuple[BucketInfo, Head]:
    """The named bucket and object (the version `versionId` names, else the current
    one), which the requester may read: AccessDenied, or NoSuchKey / NoSuchVersion /
    MethodNotAllowed (only to those who may list the bucket) otherwise."""
    info = await ctx.load_bucket()
    try:
        version = versioned.requested(ctx.query("versionId"), ctx.key)
        head = await versioned.find(ctx.store, info, ctx.key, version, with_data=with_data)
    except S3Error:
        if not ctx.may_list(info):
            raise S3Error(code="AccessDenied") from None
        raise
    ctx.may_read(info, head.attrs, ctx.verdict)
    return info, head


async def get_object(ctx: Context) -> web.StreamResponse:
    """GetObject (Range, conditions, response-* overrides), streamed."""
    info, head = await _readable(ctx, with_data=True)
    attrs = head.attrs
    try:
        conditions.check_read(ctx.header, attrs.etag, attrs.mtime)
    except S3Error as exc:
        exc.fields["ETag"] = s3xml.quote_etag(attrs.etag)
        raise
    rng = conditions.parse_range(ctx.header("range"), attrs.size)
    first, last = rng if rng is not None else (0, attrs.size - 1)
    length = max(0, last - first + 1)
    headers = object_headers(attrs, ctx, whole=rng is None)
    headers.update(versioned.version_headers(info, attrs))
    status = 200
    if rng is not None:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{attrs.size}"
    headers.update(ctx.cors_headers)
    data = ctx.store.objects.inline(head, first, length)
    if data is not None:
        # Read with the head already: headers and body leave in one write.
        return web.Response(status=status, headers=headers, body=data)
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = length
    await response.prepare(ctx.request)
    async for piece in ctx.store.objects.read(info, head, first, length):
        await response.write(piece)
    await response.write_eof()
    return response


async def head_object(ctx: Context) -> web.Response:
    """HeadObject."""
    info, head = await _readable(ctx, with_data=False)
    conditions.check_read(ctx.header, head.attrs.etag, head.attrs.mtime)
    headers = object_headers(head.attrs, ctx, whole=True)
    headers.update(versioned.version_headers(info, head.attrs))
    headers["Content-Length"] = str(head.attrs.size)
    return web.Response(status=200, headers=headers)


async def delete_object(ctx: Context) -> web.Response:
    """DeleteObject (a missing key or version is no error): of one version with
    `versionId`, else of the object, or a new delete marker when versioning is on."""
    info = await ctx.bucket_for(acl.WRITE)
    check_key(ctx.key)
    version = versioned.requested(ctx.query("versionId"), ctx.key)
    done = await versioned.delete(ctx.store, info, ctx.key, version, ctx.user.user_id,
                                  bypass=bypass_governance(ctx))
    ctx.store.usage.removed(info)
    return empty(204, headers=done.headers())


def bypass_governance(ctx: Context) -> bool:
    """Whether the request asks to bypass GOVERNANCE retention."""
    return (ctx.header("x-amz-bypass-governance-retention") or "").lower() == "true"


async def delete_objects(ctx: Context) -> web.Response:
    """DeleteObjects: up to 1000 keys; per-key errors in the answer. Without a bucket
    policy the ACL must let the requester write (else the whole request is refused);
    with one, each key is judged by it (AccessDenied per key), as RGW does."""
    info = await ctx.load_bucket()
    if not info.policy:
        await ctx.bucket_for(acl.WRITE)
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    request = s3xml.parse_delete(body)
    deleted: list[s3xml.Deleted] = []
    errors: list[s3xml.DeleteError] = []
    for obj in request.objects:
        try:
            check_key(obj.key)
            verdict = ctx.policy_verdict(info, "s3:DeleteObject", obj.key)
            if verdict is policy.Effect.DENY or (verdict is None and not acl.allows(
                    info.acl, info.owner, ctx.user.user_id, acl.WRITE)):
                raise S3Error(code="AccessDenied")
            version = versioned.requested(obj.version_id, obj.key)
            done = await versioned.delete(ctx.store, info, obj.key, version, ctx.user.user_id,
                                          bypass=bypass_governance(ctx))
            if version is None and done.delete_marker:
                deleted.append(s3xml.Deleted(obj.key, None, True, done.version_id))
            else:
                deleted.append(s3xml.Deleted(obj.key, obj.version_id, done.delete_marker,
                                             done.version_id if done.delete_marker else None))
        except S3Error as exc:
            errors.append(s3xml.DeleteError(obj.key, exc.code, exc.message, obj.version_id))
    ctx.store.usage.removed(info)
    return xml_response(s3xml.delete_result(deleted, errors, quiet=request.quiet))


def replaced(size: int, old: IndexEntry | None) -> Usage:
    """The usage a write of `size` bytes adds over the entry it replaces."""
    delta = Usage.of_object(size)
    return delta if old is None else delta - Usage.of_object(old.size)


async def store_stream(
    ctx: Context,
    info: BucketInfo,
    writer: StripeWriter,
    stream: AsyncIterator[bytes],
    make_attrs: Callable[[str, float], ObjectAttrs],
) -> ObjectAttrs:
    """Write `stream` through `writer` and commit it as object `ctx.key`; on any
    failure remove what was written."""
    committed = False
    try:
        async for piece in stream:
            await writer.feed(piece)
        head_data = await writer.finish()
        tracked = await ctx.check_quota(info, writer.size)
        old = await versioned.replaced_entry(ctx.store, info, ctx.key) if tracked else None
        attrs = await versioned.commit(
            ctx.store, info, ctx.key, head_data, make_attrs,
            lambda old: conditions.check_write(ctx.header, old.etag if old else None),
            ctx.header)
        committed = True
        if tracked:
            ctx.store.usage.wrote(info, replaced(attrs.size, old))
        return attrs
    finally:
        if not committed:
            await writer.abort()


async def put_object(ctx: Context) -> web.Response:
    """PutObject: Content-MD5, checksums, aws-chunked, conditional If-None-Match/If-Match."""
    info = await ctx.bucket_for(acl.WRITE)
    check_key(ctx.key)
    canned = acl.check_canned(ctx.header("x-amz-acl") or "private")
    require_length(ctx.parts)
    content_type, headers, meta = upload_headers(ctx)
    tags = request_tags(ctx)
    body = Body(ctx.request.content, ctx.parts, ctx.auth)
    size = body.decoded_length
    if size is not None and size > MAX_PUT_SIZE:
        raise S3Error(code="EntityTooLarge", ProposedSize=str(size),
                      MaxSizeAllowed=str(MAX_PUT_SIZE))
    if size is not None:
        # Refuse early, before the body is read; checked again with the size stored.
        await ctx.check_quota(info, size)
    if ctx.header("if-match") is not None or ctx.header("if-none-match") is not None:
        # Refuse early, before the body is read; commit checks again atomically.
        current = await versioned.current(ctx.store, info, ctx.key)
        conditions.check_write(ctx.header, current.etag if current else None)
    await ctx.expect_continue()
    writer = ctx.store.objects.writer(info)

    def make(tag: str, mtime: float) -> ObjectAttrs:
        digests = body.digests
        assert digests is not None
        return ObjectAttrs(writer.size, mtime, digests.etag, ctx.user.user_id, tag,
                           new_simple_manifest(writer), content_type, headers, meta,
                           digests.checksum_algorithm, digests.checksum, tags, acl=canned)

    attrs = await store_stream(ctx, info, writer, body.chunks(), make)
    out = {"ETag": s3xml.quote_etag(attrs.etag), **versioned.version_headers(info, attrs)}
    if attrs.checksum and attrs.checksum_algorithm:
        out[checksums.header_name(attrs.checksum_algorithm)] = attrs.checksum
    return empty(headers=out)


def copy_source(ctx: Context) -> tuple[str, str, str | None]:
    """The bucket, key and version ("" null, None: the current one) of
    `x-amz-copy-source` (`[/]bucket/key[?versionId=id]`, URL-encoded)."""
    raw = ctx.header("x-amz-copy-source") or ""
    path, _, query = raw.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error(code="InvalidArgument", message="Invalid copy source object key",
                      ArgumentName="x-amz-copy-source", ArgumentValue=raw)
    params = dict(parse_qsl(query, keep_blank_values=True))
    return bucket, key, versioned.requested(params.get("versionId"), key)


async def source_object(ctx: Context) -> tuple[BucketInfo, Head]:
    """The copy source (the version its `versionId` names, else the current one),
    which the requester must be allowed to read (its bucket's policy, then the ACLs),
    checked against the `x-amz-copy-source-if-*` conditions."""
    bucket, key, version = copy_source(ctx)
    info = await ctx.store.buckets.get(bucket)
    verdict = ctx.policy_verdict(info, "s3:GetObject", key)
    if verdict is policy.Effect.DENY:
        raise S3Error(code="AccessDenied")
    try:
        head = await versioned.find(ctx.store, info, key, version, with_data=True)
    except S3Error as exc:
        if verdict is None and not ctx.may_list(info):
            raise S3Error(code="AccessDenied") from None
        if exc.code == "MethodNotAllowed":
            raise S3Error(code="InvalidRequest", message=(
                "The source of a copy request may not specifically refer to a delete "
                "marker by version id.")) from None
        raise
    ctx.may_read(info, head.attrs, verdict)
    conditions.check_read(ctx.header, head.attrs.etag, head.attrs.mtime,
                          prefix="x-amz-copy-source-")
    return info, head


async def copy_object(ctx: Context) -> web.Response:
    """CopyObject: data streamed from the source, metadata copied or replaced."""
    info = await ctx.bucket_for(acl.WRITE)
    canned = acl.check_canned(ctx.header("x-amz-acl") or "private")
    check_key(ctx.key)
    src_info, src = await source_object(ctx)
    directive = (ctx.header("x-amz-metadata-directive") or "COPY").upper()
    tag_directive = (ctx.header("x-amz-tagging-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
        raise S3Error(code="InvalidArgument", message="Unknown metadata directive.",
                      ArgumentName="x-amz-metadata-directive", ArgumentValue=directive)
    _, src_key, src_version = copy_source(ctx)
    same = src_info.bucket == info.bucket and ctx.key == src_key and src_version is None
    if same and directive == "COPY":
        raise S3Error(code="InvalidRequest", message=(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes."))
    a = src.attrs
    if directive == "REPLACE":
        content_type, headers, meta = upload_headers(ctx)
    else:
        content_type, headers, meta = a.content_type, dict(a.headers), dict(a.meta)
    tags = request_tags(ctx) if tag_directive == "REPLACE" else list(a.tags)
    writer = ctx.store.objects.writer(info)
    verifier = checksums.PayloadVerifier(
        checksum=checksums.ExpectedChecksum(a.checksum_algorithm, None)
        if a.checksum_algorithm else None)
    digests: list[checksums.PayloadDigests] = []

    async def stream() -> AsyncIterator[bytes]:
        async for piece in ctx.store.objects.read(src_info, src, 0, a.size):
            verifier.update(piece)
            yield piece
        trailers = {checksums.header_name(a.checksum_algorithm): a.checksum or ""} \
            if a.checksum_algorithm else None
        digests.append(verifier.finish(trailers))

    def make(tag: str, mtime: float) -> ObjectAttrs:
        d = digests[0]
        return ObjectAttrs(writer.size, mtime, d.etag, ctx.user.user_id, tag,
                           new_simple_manifest(writer), content_type, headers, meta,
                           d.checksum_algorithm, d.checksum, tags, acl=canned)

    attrs = await store_stream(ctx, info, writer, stream(), make)
    response = xml_response(s3xml.copy_result(attrs.etag, attrs.mtime))
    response.headers.update(versioned.version_headers(info, attrs))
    if src_info.versioning:
        response.headers["x-amz-copy-source-version-id"] = versions.shown(a.version_id)
    return response


async def get_tagging(ctx: Context) -> web.Response:
    """GetObjectTagging."""
    info, head = await _readable(ctx, with_data=False)
    response = xml_response(s3xml.tagging(head.attrs.tags))
    response.headers.update(versioned.version_headers(info, head.attrs))
    return response


async def put_tagging(ctx: Context) -> web.Response:
    """PutObjectTagging."""
    info = await ctx.bucket_for(acl.WRITE)
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    tags = s3xml.parse_tagging(body)
    version = await versioned.writable_version(
        ctx.store, info, ctx.key, versioned.requested(ctx.query("versionId"), ctx.key))
    attrs = await ctx.store.objects.set_attrs(
        info, ctx.key, lambda a: msgspec.structs.replace(a, tags=list(tags)), version)
    return empty(headers=versioned.version_headers(info, attrs))


async def delete_tagging(ctx: Context) -> web.Response:
    """DeleteObjectTagging."""
    info = await ctx.bucket_for(acl.WRITE)
    version = await versioned.writable_version(
        ctx.store, info, ctx.key, versioned.requested(ctx.query("versionId"), ctx.key))
    attrs = await ctx.store.objects.set_attrs(
        info, ctx.key, lambda a: msgspec.structs.replace(a, tags=[]), version)
    return empty(204, headers=versioned.version_headers(info, attrs))

