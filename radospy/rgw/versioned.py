"""How object operations find, write and delete versions, by the bucket's versioning
state: never enabled (one object per key, its head read directly), Enabled (every
write a new version, DELETE adds a delete marker) or Suspended (writes and DELETE
replace the null version). The layout is `radospy.rgw.s3.versions`'."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from radospy.rgw.context import http_date
from radospy.rgw.s3 import object_lock, versions
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store.objects import Head, Precondition
from radospy.rgw.store.records import BucketInfo, IndexEntry, ObjectAttrs
from radospy.rgw.store.store import Store

ENABLED = "Enabled"
SUSPENDED = "Suspended"


def requested(text: str | None, key: str) -> str | None:
    """The version of `key` a `versionId` parameter names: None when absent, "" for
    `null`; NoSuchVersion when it is no version id."""
    return None if text is None else versions.check_version_id(text, key)


def marker_headers(version_id: str, mtime: float | None = None) -> dict[str, str]:
    """The headers that say a delete marker answered."""
    headers = {"x-amz-delete-marker": "true", "x-amz-version-id": versions.shown(version_id)}
    if mtime is not None:
        headers["Last-Modified"] = http_date(mtime)
    return headers


def version_headers(info: BucketInfo, attrs: ObjectAttrs) -> dict[str, str]:
    """`x-amz-version-id` of an object in a bucket that has (had) versioning."""
    return {"x-amz-version-id": versions.shown(attrs.version_id)} if info.versioning else {}


async def find(store: Store, info: BucketInfo, key: str, version: str | None, *,
               with_data: bool) -> Head:
    """Version `version` of `key` (None: the current one). NoSuchKey when there is no
    current version or it is a delete marker (with the marker's headers),
    NoSuchVersion for an unknown version, MethodNotAllowed for a delete marker's."""
    index = store.buckets.index(info)
    if version is None and info.versioning:
        entry = await index.latest(key)
        if entry is None:
            raise S3Error(code="NoSuchKey", Key=key)
        if entry.delete_marker:
            exc = S3Error(code="NoSuchKey", Key=key)
            exc.headers = marker_headers(entry.version_id)
            raise exc
        version = entry.version_id
    head = await store.objects.head(info, key, with_data=with_data, version_id=version or "")
    if head is not None:
        return head
    if not version:
        if version is None or not info.versioning:
            raise S3Error(code="NoSuchKey", Key=key)
        entry = await index.get(key)
        if entry is not None and entry.delete_marker:
            raise _marker_not_allowed("", entry.mtime)
        raise S3Error(code="NoSuchVersion", Key=key, VersionId=versions.NULL)
    entry = await index.get(key, version)
    if entry is not None and entry.delete_marker:
        raise _marker_not_allowed(version, entry.mtime)
    raise S3Error(code="NoSuchVersion", Key=key, VersionId=version)


def _marker_not_allowed(version: str, mtime: float) -> S3Error:
    """GET or HEAD of a delete marker's version."""
    exc = S3Error(code="MethodNotAllowed", Method="GET", ResourceType="DeleteMarker")
    exc.headers = {**marker_headers(version, mtime), "Allow": "DELETE"}
    return exc


Header = Callable[[str], str | None]


def _no_headers(_: str) -> str | None:
    return None


LOCK_HEADERS = ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
                "x-amz-object-lock-legal-hold")


def lock_fields(info: BucketInfo, header: Header) -> dict[str, object]:
    """The object lock attributes of a new version: from the `x-amz-object-lock-*`
    headers, else the bucket's default retention. InvalidRequest for lock headers on
    a bucket without object lock."""
    now = time.time()
    retention, held = object_lock.from_headers(
        header("x-amz-object-lock-mode"), header("x-amz-object-lock-retain-until-date"),
        header("x-amz-object-lock-legal-hold"), now)
    if retention is None and held is None and not info.object_lock:
        return {}
    object_lock.require_enabled(info.object_lock)
    if retention is None and info.lock_config:
        config = object_lock.parse_configuration(info.lock_config.encode())
        until = config.default_until(now)
        if until is not None:
            retention = object_lock.Retention(config.mode, until)
    fields: dict[str, object] = {"legal_hold": bool(held)}
    if retention is not None:
        fields.update(lock_mode=retention.mode, lock_until=retention.until)
    return fields


def lock_headers(info: BucketInfo, header: Header) -> dict[str, str]:
    """The object lock headers of a request, checked as `lock_fields` checks them, to
    apply later (CreateMultipartUpload's, when the upload completes)."""
    lock_fields(info, header)
    return {name: value for name in LOCK_HEADERS if (value := header(name)) is not None}


def check_deletable(attrs: ObjectAttrs, *, bypass: bool) -> None:
    """AccessDenied when object lock protects this version from deletion."""
    object_lock.check_delete(object_lock.Retention(attrs.lock_mode, attrs.lock_until),
                             attrs.legal_hold, time.time(), bypass=bypass)


async def commit(store: Store, info: BucketInfo, key: str, head_data: bytes,
                 make_attrs: Callable[[str, float], ObjectAttrs],
                 precondition: Precondition | None, header: Header = _no_headers) -> ObjectAttrs:
    """Store a written object as the new current version of `key`: a new version when
    versioning is enabled, else the (null) object it replaces. `header` gives the
    request's object lock headers (none: the bucket's default retention applies)."""
    lock = lock_fields(info, header)
    make = _with_lock(make_attrs, lock) if lock else make_attrs
    index = store.buckets.index(info)
    if info.versioning == ENABLED:
        return await store.objects.commit_version(info, index, key, head_data, make,
                                                  precondition)
    return await store.objects.commit(info, index, key, head_data, make, precondition)


def _with_lock(make_attrs: Callable[[str, float], ObjectAttrs],
               lock: dict[str, object]) -> Callable[[str, float], ObjectAttrs]:
    def make(tag: str, mtime: float) -> ObjectAttrs:
        return msgspec.structs.replace(make_attrs(tag, mtime), **lock)
    return make


async def current(store: Store, info: BucketInfo, key: str) -> ObjectAttrs | None:
    """The attributes of the current version of `key` (None when it has none or that
    is a delete marker)."""
    if not info.versioning:
        head = await store.objects.head(info, key)
        return None if head is None else head.attrs
    return await store.objects.current(info, store.buckets.index(info), key)


async def replaced_entry(store: Store, info: BucketInfo, key: str) -> IndexEntry | None:
    """The index entry of the object a write of `key` replaces, for the quota's count:
    none when versioning is enabled (every write adds a version) or when the null
    version is a delete marker, which is not counted."""
    if info.versioning == ENABLED:
        return None
    entry = await store.buckets.index(info).get(key)
    return None if entry is None or entry.delete_marker else entry


async def writable_version(store: Store, info: BucketInfo, key: str,
                           version: str | None) -> str:
    """The version whose attributes a request on `key` changes (tagging): the named
    one, else the current one; NoSuchKey when there is none."""
    if version is not None:
        return version
    if not info.versioning:
        return ""
    entry = await store.buckets.index(info).latest(key)
    if entry is None or entry.delete_marker:
        raise S3Error(code="NoSuchKey", Key=key)
    return entry.version_id


@dataclass(frozen=True)
class Deletion:
    """What a DELETE did: the version it removed or created (None: unversioned bucket)
    and whether that is a delete marker."""

    version_id: str | None
    delete_marker: bool

    def headers(self) -> dict[str, str]:
        """DeleteObject's response headers."""
        out: dict[str, str] = {}
        if self.version_id is not None:
            out["x-amz-version-id"] = self.version_id
        if self.delete_marker:
            out["x-amz-delete-marker"] = "true"
        return out


async def delete(store: Store, info: BucketInfo, key: str, version: str | None,
                 owner: str, *, bypass: bool = False) -> Deletion:
    """DELETE of `key`: the named version removed for good (unless object lock
    protects it: AccessDenied; `bypass` lifts GOVERNANCE retention); without one, the
    object removed (never-versioned bucket) or hidden behind a new delete marker."""
    index = store.buckets.index(info)
    if version is not None:
        if info.object_lock:
            head = await store.objects.head(info, key, version_id=version)
            if head is not None:
                check_deletable(head.attrs, bypass=bypass)
        entry = await index.get(key, version)
        await store.objects.delete(info, index, key, version)
        return Deletion(versions.shown(version), entry is not None and entry.delete_marker)
    if not info.versioning:
        await store.objects.delete(info, index, key)
        return Deletion(None, False)
    created = await store.objects.add_delete_marker(info, index, key, owner,
                                                    null=info.versioning == SUSPENDED)
    return Deletion(versions.shown(created), True)
