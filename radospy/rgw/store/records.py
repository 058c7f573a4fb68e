"""What RGW stores, as typed records encoded to JSON (msgspec): user info, bucket
entrypoint and instance, bucket index entries, object attributes, multipart uploads.

Index entry values start with the write's time in nanoseconds, zero-padded to 20
digits, so an omap compare (`stored < new`) lets the newest write of a key win however
the index updates of concurrent gateways are ordered.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from radospy.rgw.store.manifest import Manifest

T = TypeVar("T")


class AccessKey(msgspec.Struct, frozen=True):
    """An S3 key pair of a user (`keys[]` of radosgw-admin user info)."""

    user: str
    access_key: str
    secret_key: str


class QuotaInfo(msgspec.Struct, frozen=True):
    """A quota as radosgw-admin sets it (`quota set|enable|disable`); -1: no limit."""

    enabled: bool = False
    check_on_raw: bool = False
    max_size: int = -1
    max_objects: int = -1


class UserInfo(msgspec.Struct):
    """A gateway user (`default.rgw.meta`, namespace `users.uid`)."""

    user_id: str
    display_name: str
    email: str = ""
    suspended: int = 0
    max_buckets: int = 1000
    keys: list[AccessKey] = msgspec.field(default_factory=list)
    op_mask: str = "read, write, delete"
    type: str = "rgw"
    create_date: float = 0.0
    user_quota: QuotaInfo = msgspec.field(default_factory=QuotaInfo)
    """The limit on everything the user stores, over all its buckets."""
    bucket_quota: QuotaInfo = msgspec.field(default_factory=QuotaInfo)
    """The limit on each of the user's buckets that has no quota of its own."""


class UserStats(msgspec.Struct, frozen=True):
    """A user's usage as last synced (`radosgw-admin user stats --sync-stats`), kept in
    the omap header of its bucket list."""

    objects: int = 0
    size: int = 0
    size_rounded: int = 0
    last_stats_sync: float = 0.0
    last_stats_update: float = 0.0


class KeyIndex(msgspec.Struct, frozen=True):
    """Access key → user (namespace `users.keys`)."""

    user_id: str


class BucketEntrypoint(msgspec.Struct, frozen=True):
    """Bucket name → owner and instance marker (namespace `root`)."""

    bucket: str
    owner: str
    marker: str
    creation_time: float


class BucketInfo(msgspec.Struct):
    """A bucket instance's metadata (namespace `root`, `.bucket.meta.<bucket>:<marker>`)."""

    bucket: str
    marker: str
    owner: str
    creation_time: float
    num_shards: int = 0
    """Index shards (0: one unsharded index object)."""
    index_gen: int = 0
    """The index layout generation: raised by each reshard, it names the index objects."""
    zonegroup: str = "default"
    location: str = ""
    placement_rule: str = "default-placement"
    cors: str = ""
    """The bucket's CORS configuration as the XML document it was set with."""
    acl: str = "private"
    """The bucket's canned ACL."""
    tags: list[tuple[str, str]] = msgspec.field(default_factory=list)
    policy: str = ""
    """The bucket policy's JSON text as it was put ("" when none)."""
    quota: QuotaInfo = msgspec.field(default_factory=QuotaInfo)
    """The bucket's own quota (when enabled it replaces the owner's bucket quota)."""
    versioning: str = ""
    """"" (never enabled), "Enabled" or "Suspended"."""
    lifecycle: str = ""
    """The bucket's lifecycle configuration as the XML document it was set with."""
    object_lock: bool = False
    """Created with object lock enabled (versioning then stays enabled)."""
    lock_config: str = ""
    """The object lock configuration as the XML document it was set with."""


class IndexEntry(msgspec.Struct, frozen=True):
    """A key as the bucket index lists it."""

    key: str
    size: int
    mtime: float
    etag: str
    owner: str
    owner_display: str = ""
    content_type: str = ""
    tag: str = ""
    checksum_algorithm: str | None = None
    version_id: str = ""
    """"" for the null version (see `radospy.rgw.s3.versions`)."""
    delete_marker: bool = False


class ObjectAttrs(msgspec.Struct, frozen=True):
    """Everything about an object besides its data, kept in its head's xattrs."""

    size: int
    mtime: float
    etag: str
    owner: str
    tag: str
    manifest: Manifest
    content_type: str = "binary/octet-stream"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    """Content-Encoding, -Disposition, -Language, Cache-Control, Expires as sent."""
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    """User metadata: `x-amz-meta-NAME` → value, names lower-cased."""
    checksum_algorithm: str | None = None
    checksum: str | None = None
    tags: list[tuple[str, str]] = msgspec.field(default_factory=list)
    parts_count: int = 0
    acl: str = "private"
    version_id: str = ""
    """"" for the null version."""
    lock_mode: str | None = None
    """Object lock retention mode (GOVERNANCE or COMPLIANCE), None without."""
    lock_until: float = 0.0
    legal_hold: bool = False


class UploadInfo(msgspec.Struct, frozen=True):
    """An in-progress multipart upload: what CreateMultipartUpload fixed."""

    key: str
    upload_id: str
    owner: str
    initiated: float
    content_type: str = "binary/octet-stream"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    checksum_algorithm: str | None = None
    tags: list[tuple[str, str]] = msgspec.field(default_factory=list)
    acl: str = "private"
    lock_headers: dict[str, str] = msgspec.field(default_factory=dict)
    """The `x-amz-object-lock-*` headers given, applied to the completed object."""


class PartInfo(msgspec.Struct, frozen=True):
    """One uploaded part: where its stripes are and what it hashed to."""

    number: int
    size: int
    etag: str
    mtime: float
    prefix: str
    checksum: str | None = None


_encoder = msgspec.json.Encoder()


def encode(record: msgspec.Struct) -> bytes:
    """JSON bytes of a record."""
    return _encoder.encode(record)


def decode(data: bytes, kind: type[T]) -> T:
    """A record of type `kind` from its JSON bytes (msgspec.ValidationError if not)."""
    return msgspec.json.decode(data, type=kind)


_STAMP_DIGITS = 20


def encode_index_entry(entry: IndexEntry, stamp_ns: int) -> bytes:
    """An index omap value: the write's 20-digit nanosecond stamp, then the entry."""
    return f"{stamp_ns:0{_STAMP_DIGITS}d}".encode() + encode(entry)


def decode_index_entry(value: bytes) -> IndexEntry:
    """The entry of an index omap value."""
    return decode(value[_STAMP_DIGITS:], IndexEntry)
