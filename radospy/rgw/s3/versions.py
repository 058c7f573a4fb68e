"""S3 object versions over a bucket index (pure): version ids, which version of a key
is current, and ListObjectVersions paging.

Layout (a simpler one than RGW's olh/instance entries, with the same semantics): a
key's `null` version is the plain index entry `<key>` (the only entry a never-versioned
bucket has, so such buckets read and list exactly as before), and every other version
or delete marker is the entry `<key>\\x00v<version id>`. Keys never contain NUL, so
these entries sort right after `<key>` and before every longer key: all of a key's
versions are adjacent in one index shard, whichever shard function hashes the key. A
version id begins with the write's inverted nanosecond stamp in fixed-width hex, so
the non-null versions of a key list newest first in plain omap order; the `null`
version slots in by its mtime. The current version of a key is its newest entry; the
key is deleted when that is a delete marker. Nothing besides the index entries says
which version is current, so any number of gateways agree without coordination.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from radospy.rgw.s3.errors import S3Error

NULL = "null"
"""The version id of a key's null version (written while versioning is off or
suspended)."""
SEPARATOR = "\x00v"
"""Between a key and a version id in an index entry's name."""
_STAMP_MAX = (1 << 64) - 1
_STAMP_HEX = 16
_RANDOM_CHARS = string.ascii_letters + string.digits
_RANDOM_LEN = 16
_VERSION_ID = re.compile(r"[0-9a-f]{16}[A-Za-z0-9]{16}")


class Versioned(Protocol):
    """An index entry as this module reads it."""

    @property
    def key(self) -> str: ...

    @property
    def version_id(self) -> str: ...

    @property
    def mtime(self) -> float: ...

    @property
    def delete_marker(self) -> bool: ...


V = TypeVar("V", bound=Versioned)


def new_version_id(stamp_ns: int) -> str:
    """A fresh version id for a write at `stamp_ns`: 16 hex digits of the inverted
    stamp (newer sorts first), then 16 random letters and digits."""
    inverted = _STAMP_MAX - max(0, min(stamp_ns, _STAMP_MAX))
    random = "".join(secrets.choice(_RANDOM_CHARS) for _ in range(_RANDOM_LEN))
    return f"{inverted:0{_STAMP_HEX}x}{random}"


def check_version_id(text: str, key: str) -> str:
    """A `versionId` parameter for object `key`: "" for `null`, else the id;
    NoSuchVersion when it is not an id this gateway makes (so it is never looked up:
    another text could name another key's version object)."""
    if text == NULL:
        return ""
    if not is_version_id(text):
        raise S3Error(code="NoSuchVersion", Key=key, VersionId=text)
    return text


def is_version_id(text: str) -> bool:
    """Whether `text` has the form of the (non-null) version ids made here."""
    return _VERSION_ID.fullmatch(text) is not None


def shown(version_id: str) -> str:
    """The version id as S3 shows it (`null` for the null version)."""
    return version_id or NULL


def index_key(key: str, version_id: str) -> str:
    """The index entry name of a version of `key` ("" is the null version)."""
    return key if not version_id else key + SEPARATOR + version_id


def object_key(index_name: str) -> str:
    """The object key an index entry name belongs to."""
    return index_name.partition("\x00")[0]


def newest(entries: Iterable[V]) -> V | None:
    """The current version among entries of one key: the latest mtime; of equal
    mtimes, a non-null version (it was written while versioning was on, later)."""
    best: V | None = None
    for entry in entries:
        if best is None or (entry.mtime, bool(entry.version_id)) > (
                best.mtime, bool(best.version_id)):
            best = entry
    return best


def newest_first(group: list[V]) -> list[V]:
    """A key's versions newest first (the null one placed by its mtime)."""
    return sorted(group, key=lambda e: (e.mtime, bool(e.version_id)), reverse=True)


def by_key(entries: Iterable[V]) -> Iterator[list[V]]:
    """Index entries (in index order) grouped per object key, each group newest first."""
    group: list[V] = []
    for entry in entries:
        if group and group[0].key != entry.key:
            yield newest_first(group)
            group = []
        group.append(entry)
    if group:
        yield newest_first(group)


def current(entries: Iterable[V]) -> Iterator[V]:
    """The current version of every key that is not deleted (what ListObjects shows)."""
    for group in by_key(entries):
        if not group[0].delete_marker:
            yield group[0]


@dataclass(frozen=True)
class VersionItem:
    """One row of ListObjectVersions: a version or delete marker of a key."""

    entry: Versioned
    is_latest: bool

    @property
    def key(self) -> str:
        """The object key."""
        return self.entry.key

    @property
    def version_id(self) -> str:
        """The version id as S3 shows it."""
        return shown(self.entry.version_id)


def all_versions(entries: Iterable[Versioned]) -> Iterator[VersionItem]:
    """Every version of every key, keys in order, each key's newest first."""
    for group in by_key(entries):
        for n, entry in enumerate(group):
            yield VersionItem(entry, n == 0)


@dataclass(frozen=True)
class VersionsPage:
    """One ListObjectVersions page and where the next one starts."""

    versions: list[VersionItem]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None


def list_versions_page(
    items: Iterable[VersionItem],
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = 1000,
) -> VersionsPage:
    """The page of `items` (every version from the key marker on, in listing order)
    after the markers: with only a key marker, the keys after it; with a version id
    marker too, the versions of the marker key listed after that one, then later keys.
    A common prefix counts as one item, as a key does in ListObjects."""
    if max_keys <= 0:
        return VersionsPage([], [], False)
    versions: list[VersionItem] = []
    prefixes: list[str] = []
    last: tuple[str, str | None] | None = None
    passed_marker = not version_id_marker
    for item in items:
        key = item.key
        if not key.startswith(prefix):
            if key.encode() > prefix.encode():
                break
            continue
        if key_marker and key.encode() < key_marker.encode():
            continue
        if key_marker and key == key_marker and not passed_marker:
            passed_marker = item.version_id == version_id_marker
            continue
        if key_marker and key == key_marker and not version_id_marker:
            continue
        common = _common_prefix(key, prefix, delimiter)
        if common is not None and (
                (prefixes and prefixes[-1] == common)
                or (key_marker and common.encode() <= key_marker.encode())):
            continue
        if len(versions) + len(prefixes) == max_keys:
            assert last is not None
            return VersionsPage(versions, prefixes, True, last[0], last[1])
        if common is not None:
            prefixes.append(common)
            last = (common, None)
        else:
            versions.append(item)
            last = (key, item.version_id)
    return VersionsPage(versions, prefixes, False)


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]
