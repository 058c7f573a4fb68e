"""The S3 gateway service: one aiohttp low-level server whose single handler turns the
raw request into `RequestParts` (so signatures see the client's bytes), authenticates
it against the users in RADOS, routes it to an operation and renders every refusal as
S3's error document. The gateway keeps no state of its own: any number of them can
serve one cluster. Each also runs a lifecycle worker (`lc_worker`); the lc shard locks
let one at a time act on a bucket."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from radospy.client.rados import AsyncRados
from radospy.common.errors import RadosError
from radospy.rgw import (
    acl,
    bucket_ops,
    cors,
    lock_ops,
    multipart_ops,
    object_ops,
    policy_ops,
    versioned,
)
from radospy.rgw.body import Body
from radospy.rgw.context import Context, empty
from radospy.rgw.dispatch import route
from radospy.rgw.lc_worker import LifecycleWorker
from radospy.rgw.protocol import S3Server, body_error
from radospy.rgw.routing import Target, target
from radospy.rgw.s3 import policy
from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.auth import authenticate, claimed_access_key
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import AuthResult, RequestParts
from radospy.rgw.store.records import UserInfo
from radospy.rgw.store.store import Store

log = logging.getLogger("radospy.rgw")

Handler = Callable[[Context], Awaitable[web.StreamResponse]]


async def _put_acl(ctx: Context) -> web.StreamResponse:
    """PutBucketAcl / PutObjectAcl: a canned ACL (`x-amz-acl`, or a policy document
    that amounts to one)."""
    info = await ctx.bucket()
    header = ctx.header("x-amz-acl")
    await ctx.expect_continue()
    body = await Body(ctx.request.content, ctx.parts, ctx.auth).read_all(s3xml.MAX_BODY)
    if header is not None:
        canned = acl.check_canned(header)
    else:
        canned = acl.canned_of(s3xml.parse_access_control_policy(body), ctx.owner)
    if ctx.target.key is None:
        await ctx.store.buckets.update(info, lambda b: msgspec.structs.replace(b, acl=canned))
    else:
        version = await versioned.writable_version(
            ctx.store, info, ctx.key, versioned.requested(ctx.query("versionId"), ctx.key))
        await ctx.store.objects.set_attrs(
            info, ctx.key, lambda a: msgspec.structs.replace(a, acl=canned), version)
    return empty()


HANDLERS: dict[str, Handler] = {
    "ListBuckets": bucket_ops.list_buckets,
    "CreateBucket": bucket_ops.create_bucket,
    "DeleteBucket": bucket_ops.delete_bucket,
    "HeadBucket": bucket_ops.head_bucket,
    "GetBucketLocation": bucket_ops.get_location,
    "GetBucketVersioning": bucket_ops.get_versioning,
    "PutBucketVersioning": bucket_ops.put_versioning,
    "GetBucketLifecycleConfiguration": bucket_ops.get_lifecycle,
    "PutBucketLifecycleConfiguration": bucket_ops.put_lifecycle,
    "DeleteBucketLifecycle": bucket_ops.delete_lifecycle,
    "GetObjectLockConfiguration": lock_ops.get_configuration,
    "PutObjectLockConfiguration": lock_ops.put_configuration,
    "GetObjectRetention": lock_ops.get_retention,
    "PutObjectRetention": lock_ops.put_retention,
    "GetObjectLegalHold": lock_ops.get_legal_hold,
    "PutObjectLegalHold": lock_ops.put_legal_hold,
    "GetBucketAcl": bucket_ops.get_acl,
    "GetObjectAcl": bucket_ops.get_acl,
    "PutBucketAcl": _put_acl,
    "PutObjectAcl": _put_acl,
    "GetBucketCors": bucket_ops.get_cors,
    "PutBucketCors": bucket_ops.put_cors,
    "DeleteBucketCors": bucket_ops.delete_cors,
    "ListObjectVersions": bucket_ops.list_versions,
    "GetBucketTagging": bucket_ops.get_tagging,
    "PutBucketTagging": bucket_ops.put_tagging,
    "DeleteBucketTagging": bucket_ops.delete_tagging,
    "ListObjects": bucket_ops.list_objects,
    "ListObjectsV2": bucket_ops.list_objects_v2,
    "ListMultipartUploads": bucket_ops.list_uploads,
    "DeleteObjects": object_ops.delete_objects,
    "PutObject": object_ops.put_object,
    "CopyObject": object_ops.copy_object,
    "GetObject": object_ops.get_object,
    "HeadObject": object_ops.head_object,
    "DeleteObject": object_ops.delete_object,
    "GetObjectTagging": object_ops.get_tagging,
    "PutObjectTagging": object_ops.put_tagging,
    "DeleteObjectTagging": object_ops.delete_tagging,
    "CreateMultipartUpload": multipart_ops.create_upload,
    "UploadPart": multipart_ops.upload_part,
    "UploadPartCopy": multipart_ops.upload_part_copy,
    "ListParts": multipart_ops.list_parts,
    "CompleteMultipartUpload": multipart_ops.complete_upload,
    "AbortMultipartUpload": multipart_ops.abort_upload,
    "GetBucketPolicy": policy_ops.get_policy,
    "PutBucketPolicy": policy_ops.put_policy,
    "DeleteBucketPolicy": policy_ops.delete_policy,
    "GetBucketPolicyStatus": policy_ops.get_policy_status,
}


def default_shards(rados: AsyncRados) -> int:
    """Index shards of the buckets this gateway creates."""
    override = rados.config.get_int("rgw_override_bucket_index_max_shards")
    return override or rados.config.get_int("rgw_bucket_index_max_shards")


class Gateway:
    """`radospy rgw`: serves S3 on `host:port` from the cluster `rados` connects to,
    over HTTPS when given a `tls` context."""

    def __init__(self, rados: AsyncRados, host: str, port: int,
                 dns_names: tuple[str, ...] = ("localhost",),
                 tls: ssl.SSLContext | None = None, *,
                 lc_debug_interval: int = -1, lc_lock_time: float = 90.0) -> None:
        self.rados = rados
        self.host = host
        self.port = port
        self.dns_names = dns_names
        self.tls = tls
        self.store = Store(rados, num_shards=default_shards(rados),
                           quota_ttl=rados.config.get_int("rgw_bucket_quota_ttl"),
                           gc_min_wait=rados.config.get_int("rgw_gc_obj_min_wait"),
                           cache_size=rados.config.get_int("rgw_cache_lru_size"),
                           cache_expiry=rados.config.get_int("rgw_cache_expiry_interval"))
        self.gc_period = rados.config.get_int("rgw_gc_processor_period")
        self._gc_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._stopping = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None
        self.bound_port = port
        self.lifecycle = LifecycleWorker(self.store, debug_interval=lc_debug_interval,
                                         lock_time=lc_lock_time)
        self._lc_task: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """Ask `run` to return (signal handlers call this)."""
        self._stopping.set()

    async def start(self) -> None:
        """Connect, open (or create) the pools and listen."""
        await self.rados.connect()
        await self.store.open(create=True)
        server = S3Server(self.handle, self._request_id, access_log=None)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(server, self.host, self.port, backlog=1024,
                                                ssl=self.tls)
        self.bound_port = self._server.sockets[0].getsockname()[1]
        self._gc_task = asyncio.ensure_future(self._collect_garbage())
        self._lc_task = asyncio.create_task(self.lifecycle.run(self._stopping))
        log.warning("rgw: serving S3 on %s://%s:%d", "https" if self.tls else "http",
                    self.host, self.bound_port)

    async def _collect_garbage(self) -> None:
        """Every `rgw_gc_processor_period`: remove the expired entries of the gc list
        (any number of gateways may: each entry is claimed by one)."""
        while True:
            await asyncio.sleep(self.gc_period)
            try:
                await self.store.gc.process()
            except RadosError as exc:
                log.warning("rgw: gc: %s", exc)

    async def run(self) -> None:
        """Serve until `stop`."""
        await self.start()
        try:
            await self._stopping.wait()
        finally:
            if self._gc_task is not None:
                self._gc_task.cancel()
            if self._server is not None:
                self._server.close()
            if self._lc_task is not None:
                self._lc_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._lc_task
            await self.rados.shutdown()

    def _request_id(self) -> str:
        return f"tx{next(self._ids):021x}-{int(time.time()):010x}-{os.getpid():x}-default"

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Every request: authenticate, route, run; S3 errors as error documents."""
        request_id = self._request_id()
        raw_path, _, raw_query = request.raw_path.partition("?")
        parts = RequestParts(
            request.method, raw_path, raw_query,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers])
        resource = raw_path
        cors_headers: dict[str, str] = {}
        try:
            tgt = target(parts.path, request.headers.get("Host"), self.dns_names)
            if parts.method == "OPTIONS":
                response = await self._preflight(parts, tgt)
            else:
                cors_headers = await self._cors_headers(parts, tgt)
                response = await self._serve(request, parts, tgt, request_id, cors_headers)
        except S3Error as exc:
            response = self._error(request, exc, resource, request_id)
        except BadHttpMessage as exc:
            # The body broke off or its framing was malformed while a handler read it.
            log.warning("rgw: %s %s: %s", request.method, raw_path, exc)
            response = self._error(request, body_error(exc), resource, request_id)
        except RadosError as exc:
            log.warning("rgw: %s %s: %s", request.method, raw_path, exc)
            response = self._error(request, S3Error(code="ServiceUnavailable"), resource,
                                   request_id)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("rgw: %s %s failed", request.method, raw_path)
            response = self._error(request, S3Error(code="InternalError"), resource,
                                   request_id)
        if not response.prepared:
            response.headers.update(cors_headers)
            response.headers["x-amz-request-id"] = request_id
            response.headers["Server"] = "radospy-rgw"
            if not request.content.at_eof():
                # A body left unread (a refusal before it was read, perhaps never sent
                # after `Expect: 100-continue`) cannot be skipped safely: close.
                response.force_close()
        return response

    def _error(self, request: web.BaseRequest, exc: S3Error, resource: str,
               request_id: str) -> web.StreamResponse:
        headers = {**exc.headers, "x-amz-request-id": request_id}
        if exc.status == 304 or request.method == "HEAD":
            etag = exc.fields.get("ETag")
            if etag:
                headers["ETag"] = etag
            return web.Response(status=exc.status, headers=headers)
        body = s3xml.error_document(exc, resource=resource, request_id=request_id)
        return web.Response(status=exc.status, body=body, content_type="application/xml",
                            headers=headers)

    async def _serve(self, request: web.BaseRequest, parts: RequestParts, tgt: Target,
                     request_id: str, cors_headers: dict[str, str]) -> web.StreamResponse:
        # The user and the bucket come from this gateway's cache unless the stamp says
        # some metadata changed since they were read.
        stamp = await self.store.stamp.read()
        user, auth = await self._authenticate(parts, tgt, stamp)
        names = {k for k, _ in parts.query_params()}
        op = route(parts.method, tgt.bucket, tgt.key, names.__contains__,
                   parts.header("x-amz-copy-source") is not None)
        ctx = Context(request, parts, auth, user, tgt, self.store, request_id, cors_headers,
                      stamp=stamp)
        await self._judge_by_policy(ctx, op.op)
        return await HANDLERS[op.op](ctx)

    async def _judge_by_policy(self, ctx: Context, op: str) -> None:
        """Apply the bucket's policy to the operation: an explicit Deny refuses it now
        (except the owner managing the policy itself); an Allow lets the handler skip
        the ACL checks."""
        action = policy.action_of(op, ctx.query("versionId"))
        if ctx.target.bucket is None or action is None or op == "CreateBucket":
            return
        try:
            info = await ctx.load_bucket()
        except S3Error:
            return  # the handler answers NoSuchBucket
        verdict = ctx.policy_verdict(info, action, ctx.target.key)
        if verdict is policy.Effect.DENY:
            if op in policy.POLICY_OPS and info.owner == ctx.user.user_id:
                return
            raise S3Error(code="AccessDenied")
        ctx.verdict = verdict

    async def _rules(self, bucket: str) -> list[s3xml.CorsRule]:
        info = await self.store.buckets.get(bucket)
        return s3xml.parse_cors(info.cors.encode()) if info.cors else []

    async def _cors_headers(self, parts: RequestParts, tgt: Target) -> dict[str, str]:
        """The CORS headers of a cross-origin request (none without an Origin, a
        bucket, or a rule admitting it)."""
        origin = parts.header("origin")
        if origin is None or tgt.bucket is None:
            return {}
        try:
            rules = await self._rules(tgt.bucket)
        except S3Error:
            return {}
        rule = cors.match(rules, origin, parts.method)
        return {} if rule is None else cors.response_headers(rule, origin)

    async def _preflight(self, parts: RequestParts, tgt: Target) -> web.StreamResponse:
        """An OPTIONS preflight, answered from the bucket's CORS rules (no signature)."""
        if tgt.bucket is None:
            raise S3Error(code="MethodNotAllowed")
        origin = parts.header("origin")
        if not origin:
            raise S3Error(code="BadRequest",
                          message="Insufficient information. Origin request header needed.")
        method = parts.header("access-control-request-method")
        if method not in s3xml.CORS_METHODS:
            raise S3Error(code="BadRequest",
                          message=f"Invalid Access-Control-Request-Method: {method}")
        try:
            rules = await self._rules(tgt.bucket)
        except S3Error:
            raise S3Error(code="AccessForbidden",
                          message="CORSResponse: Bucket not found") from None
        headers = cors.requested_headers(parts.header("access-control-request-headers"))
        rule = cors.match(rules, origin, method, headers)
        if rule is None:
            raise S3Error(code="AccessForbidden", message=cors.not_allowed_message(),
                          Method=method, ResourceType="OBJECT" if tgt.key else "BUCKET")
        return empty(headers=cors.preflight_headers(rule, origin, headers))

    async def _authenticate(
        self, parts: RequestParts, tgt: Target, stamp: bytes
    ) -> tuple[UserInfo, AuthResult | None]:
        """Who signed the request (an anonymous user when no one did); `stamp` is the
        metadata stamp read for the request."""
        access_key = claimed_access_key(parts)
        user = None
        if access_key:
            user = await self.store.users.by_access_key(access_key, stamp)
        secrets = {k.access_key: k.secret_key for k in user.keys} if user else {}
        auth = authenticate(parts, secrets.get, time.time(),
                            bucket=tgt.bucket if tgt.virtual_host else None)
        if auth is None:
            return UserInfo(acl.ANONYMOUS, ""), None
        if user is None:
            raise S3Error(code="AccessDenied")
        if user.suspended:
            raise S3Error(code="AccessDenied", message="User is suspended")
        return user, auth
