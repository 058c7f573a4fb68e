"""Where RGW keeps things: pool names, namespaces and RADOS object names (pure).

As Ceph's RGW with the default zone: users and access keys in `default.rgw.meta`
(namespaces `users.uid` and `users.keys`), a user's bucket list in the omap of
`<uid>.buckets`, the bucket entrypoint `<bucket>` and instance
`.bucket.meta.<bucket>:<marker>` in namespace `root`, the bucket index in omap of
`.dir.<marker>[.<gen>][.<shard>]` in `default.rgw.buckets.index`, object heads `<marker>_<key>`
(`<marker>__:<version id>_<key>` for a version other than the null one) and tails
`<marker>__shadow_.<prefix>_<n>` in `default.rgw.buckets.data`, and
in-progress multipart uploads in `default.rgw.buckets.non-ec`.
"""

from __future__ import annotations

import re
import secrets
import string

from radospy.osdmap.hash import ceph_str_hash_linux

ROOT_POOL = ".rgw.root"
CONTROL_POOL = "default.rgw.control"
META_POOL = "default.rgw.meta"
LOG_POOL = "default.rgw.log"
INDEX_POOL = "default.rgw.buckets.index"
DATA_POOL = "default.rgw.buckets.data"
NON_EC_POOL = "default.rgw.buckets.non-ec"
POOLS = (ROOT_POOL, CONTROL_POOL, META_POOL, LOG_POOL, INDEX_POOL, DATA_POOL, NON_EC_POOL)
"""Every pool the gateway creates on its first start, in creation order."""

NS_USERS = "users.uid"
NS_KEYS = "users.keys"
NS_BUCKETS = "root"
NS_RESHARD = "reshard"
NS_GC = "gc"
NS_LC = "lc"
"""Namespace of the lifecycle shards `lc.<n>` in the log pool."""

ZONE_ID = "default"
"""The zone id that prefixes bucket markers (`default.<instance>.<n>`)."""

MAX_KEY_BYTES = 1024
"""S3's longest object key, in UTF-8 bytes."""

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+")
_ACCESS_KEY_CHARS = string.ascii_uppercase + string.digits
_SECRET_CHARS = string.ascii_letters + string.digits


def user_oid(uid: str) -> str:
    """The user's info object (namespace `users.uid`)."""
    return uid


def user_buckets_oid(uid: str) -> str:
    """The omap object listing a user's buckets (namespace `users.uid`)."""
    return f"{uid}.buckets"


def key_oid(access_key: str) -> str:
    """The access key index object naming the key's user (namespace `users.keys`)."""
    return access_key


def bucket_entrypoint_oid(bucket: str) -> str:
    """The bucket entrypoint: bucket name → owner and current instance (namespace root)."""
    return bucket


def bucket_instance_oid(bucket: str, marker: str) -> str:
    """The bucket instance metadata (namespace root)."""
    return f".bucket.meta.{bucket}:{marker}"


def index_oid(marker: str, shard: int | None, gen: int = 0) -> str:
    """A bucket index object: `.dir.<marker>` unsharded, `.dir.<marker>.<shard>` sharded,
    `.dir.<marker>.<gen>.<shard>` once a reshard made layout generation `gen` > 0 (as
    Ceph's in-place reshard names them)."""
    base = f".dir.{marker}" if gen == 0 else f".dir.{marker}.{gen}"
    return base if shard is None else f"{base}.{shard}"


RGW_SHARDS_PRIME_0 = 7877
RGW_SHARDS_PRIME_1 = 65521


def shards_mod(value: int, num_shards: int) -> int:
    """RGW's `rgw_shards_mod`: a hash reduced by a prime, then by the shard count."""
    prime = RGW_SHARDS_PRIME_0 if num_shards <= RGW_SHARDS_PRIME_0 else RGW_SHARDS_PRIME_1
    return value % prime % num_shards


def index_shard(key: str, num_shards: int) -> int | None:
    """The index shard holding `key` (None for an unsharded index), as RGW's
    `rgw_bucket_shard_index`: the Linux dcache hash of the key with its low byte
    folded into the top one, reduced by `shards_mod`."""
    if num_shards <= 0:
        return None
    sid = ceph_str_hash_linux(key.encode())
    return shards_mod(sid ^ ((sid & 0xFF) << 24), num_shards)


def head_oid(marker: str, key: str, version_id: str = "") -> str:
    """An object's head (first stripe, attributes and manifest): `<marker>_<key>` for
    the null version, `<marker>__:<version id>_<key>` for another one, as RGW names
    the heads of object instances. A key beginning with `_` gets one more (RGW's
    escaping), so no head name collides with a version's, a tail's or a part's."""
    if version_id:
        return f"{marker}__:{version_id}_{key}"
    return f"{marker}__{key}" if key.startswith("_") else f"{marker}_{key}"


def parse_head_oid(marker: str, oid: str) -> tuple[str, str] | None:
    """The key and version id ("" null) whose head `head_oid` named `oid`; None when
    `oid` is no head of bucket `marker` (a tail, a part, another bucket's object)."""
    prefix = marker + "_"
    if not oid.startswith(prefix):
        return None
    rest = oid[len(prefix):]
    if rest.startswith("__"):
        return rest[1:], ""
    if rest.startswith("_:"):
        version_id, sep, key = rest[2:].partition("_")
        return (key, version_id) if sep and key else None
    if rest.startswith("_") or not rest:
        return None
    return rest, ""


def tail_prefix(marker: str, tag: str) -> str:
    """The name prefix of one upload's tail stripes: `<marker>__shadow_.<tag>_`."""
    return f"{marker}__shadow_.{tag}_"


def part_prefix(marker: str, key: str, upload_id: str, part: int, tag: str) -> str:
    """The name prefix of one multipart part's stripes (a re-uploaded part gets a new tag)."""
    return f"{marker}__multipart_{key}.{upload_id}.{part}.{tag}_"


def upload_meta_oid(marker: str, key: str, upload_id: str) -> str:
    """A multipart upload's meta object (non-ec pool): its attributes and parts in omap."""
    return f"{marker}__multipart_{key}.{upload_id}.meta"


def uploads_oid(marker: str) -> str:
    """The omap object listing a bucket's in-progress uploads (non-ec pool)."""
    return f".uploads.{marker}"


def new_marker(instance: int) -> str:
    """A fresh bucket marker, unique across gateways: `<zone>.<instance>.<random>`."""
    return f"{ZONE_ID}.{instance}.{secrets.randbelow(2**63)}"


def new_tag() -> str:
    """A random tag naming one write's data objects (RGW's idtag)."""
    return secrets.token_hex(12)


def new_upload_id() -> str:
    """A multipart upload id (`2~` and random text, as RGW makes them)."""
    return "2~" + secrets.token_urlsafe(24)


def new_access_key() -> str:
    """A 20-character access key id, as radosgw-admin generates them."""
    return "".join(secrets.choice(_ACCESS_KEY_CHARS) for _ in range(20))


def new_secret_key() -> str:
    """A 40-character secret key."""
    return "".join(secrets.choice(_SECRET_CHARS) for _ in range(40))


def valid_bucket_name(name: str) -> bool:
    """S3's bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with a letter
    or digit, no `..`, not an IPv4 address."""
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and _IPV4.fullmatch(name) is None
    )


def key_problem(key: str) -> str | None:
    """Why `key` cannot name an object (None when it can): empty, too long, or holding
    a NUL (RADOS names are C strings in Ceph)."""
    if not key:
        return "empty"
    if len(key.encode()) > MAX_KEY_BYTES:
        return "too long"
    if "\x00" in key:
        return "NUL"
    return None
