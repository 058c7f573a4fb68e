"""Keys, metadata and errors of the object store."""

from __future__ import annotations

import errno
from dataclasses import dataclass

import msgspec

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion

# `CEPH_NOSNAP`: the head (live) revision of an object, above every snapshot id.
NOSNAP = 2**64 - 2


class ObjectId(msgspec.Struct, frozen=True, array_like=True):
    """An object within a collection: namespace, name and snapshot (`hobject_t` less
    the pool and hash, which the collection already fixes).

    Ordered (namespace, name, snap), the order in which `list_objects` pages, so a
    listing cursor (a backfill's progress, say) compares with `<`.
    """

    name: str
    nspace: str = ""
    snap: int = NOSNAP

    def sort_key(self) -> tuple[str, str, int]:
        """(namespace, name, snap): the order in which `list_objects` pages."""
        return (self.nspace, self.name, self.snap)

    def __lt__(self, other: ObjectId) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: ObjectId) -> bool:
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: ObjectId) -> bool:
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: ObjectId) -> bool:
        return self.sort_key() >= other.sort_key()

    def __str__(self) -> str:
        text = f"{self.nspace}/{self.name}" if self.nspace else self.name
        return text if self.snap == NOSNAP else f"{text}@{self.snap:x}"


@dataclass(frozen=True)
class ObjectInfo:
    """What the store keeps about an object besides its data, xattrs and omap."""

    size: int
    mtime_ns: int
    version: Eversion

    @property
    def user_version(self) -> int:
        """The version librados clients see and `assert_version` compares against."""
        return self.version.version


@dataclass(frozen=True)
class StatFs:
    """Capacity and usage of one store, for `osd df`.

    `total`/`available` come from the file system holding the store, `used` is what the
    store's files occupy, `stored` the logical bytes of all objects.
    """

    total: int
    available: int
    used: int
    stored: int
    num_objects: int


class StoreError(RadosError):
    """The store cannot be used (missing, corrupt, or a transaction that cannot apply)."""

    errno = errno.EIO


class StoreNotFound(StoreError):
    """A collection, object or data dir the caller named does not exist."""

    errno = errno.ENOENT


class ChecksumError(StoreError):
    """Stored data does not match its checksum: the extent at `offset` is damaged."""

    def __init__(self, collection: str, oid: ObjectId, offset: int) -> None:
        super().__init__(
            f"checksum mismatch in object {oid} of collection {collection} at offset {offset}"
        )
        self.collection = collection
        self.oid = oid
        self.offset = offset
