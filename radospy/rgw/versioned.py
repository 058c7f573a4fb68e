"""How object operations find, write and delete versions, by the bucket's versioning
state: never enabled (one object per key, its head read directly), Enabled (every
write a new version, DELETE adds a delete marker) or Suspended (writes and DELETE
replace the null version). The layout is `radospy.rgw.s3.versions`'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from radospy.rgw.context import http_date
from radospy.rgw.s3 import versions
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


async def commit(store: Store, info: BucketInfo, key: str, head_data: bytes,
                 make_attrs: Callable[[str, float], ObjectAttrs],
                 precondition: Precondition | None) -> ObjectAttrs:
    """Store a written object as the new current version of `key`: a new version when
    versioning is enabled, else the (null) object it replaces."""
    index = store.buckets.index(info)
    if info.versioning == ENABLED:
        return await store.objects.commit_version(info, index, key, head_data, make_attrs,
                                                  precondition)
    return await store.objects.commit(info, index, key, head_data, make_attrs, precondition)


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
                 owner: str) -> Deletion:
    """DELETE of `key`: the named version removed for good; without one, the object
    removed (never-versioned bucket) or hidden behind a new delete marker."""
    index = store.buckets.index(info)
    if version is not None:
        entry = await index.get(key, version)
        await store.objects.delete(info, index, key, version)
        return Deletion(versions.shown(version), entry is not None and entry.delete_marker)
    if not info.versioning:
        await store.objects.delete(info, index, key)
        return Deletion(None, False)
    created = await store.objects.add_delete_marker(info, index, key, owner,
                                                    null=info.versioning == SUSPENDED)
    return Deletion(versions.shown(created), True)
