"""The OSD's object store: one transactional embedded database per OSD.

DECISION-PLACEHOLDER
"""

from radospy.osd.objectstore.store import EXTENT_SIZE, MAX_OBJECT_SIZE, ObjectStore, checksum
from radospy.osd.objectstore.transaction import Transaction
from radospy.osd.objectstore.types import (
    NOSNAP,
    ChecksumError,
    ObjectId,
    ObjectInfo,
    StatFs,
    StoreError,
    StoreNotFound,
)

__all__ = [
    "EXTENT_SIZE",
    "MAX_OBJECT_SIZE",
    "NOSNAP",
    "ChecksumError",
    "ObjectId",
    "ObjectInfo",
    "ObjectStore",
    "StatFs",
    "StoreError",
    "StoreNotFound",
    "Transaction",
    "checksum",
]
