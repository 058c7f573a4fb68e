"""When the snap trimmer may trim an object: not while a copy of it is degraded.

Trimming one object is a write: the primary computes, from its own SnapSet, which
clones to delete and what the SnapSet becomes, and replicates that transaction to every
member like a client write. A member that still misses the object (its head or its
SnapSet object is in that member's missing set) would apply the trim to a copy that
recovery is about to replace, and recovery of the object, pushing head, SnapSet and
clones from the primary, then races the trim. A client write avoids that by recovering
its object first; Ceph's snap trimmer instead leaves a degraded object alone until
recovery has brought it up to date (``PrimaryLogPG::is_degraded_or_backfilling_object``
checked before each object is trimmed). The wait is per object: the other objects of
the PG are trimmed meanwhile, and the waiting ones are tried again once recovery moves.

`degraded` is that check; `TrimStep` is what one object's turn came to.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import PgMissing
from radospy.osd.snap_txn import snapdir_of


def degraded(oid: ObjectId, missing: Iterable[PgMissing]) -> bool:
    """Whether head ``oid`` is missing on some member: its head or its SnapSet object
    (a trim logs an entry for the SnapSet object, so a member that missed one has it
    in its missing set) is in one of the members' missing sets (the primary's own
    included)."""
    where = snapdir_of(oid)
    return any(oid in m or where in m for m in missing)


class TrimStep(Enum):
    """What became of one object's turn in a trim pass."""

    DONE = "done"
    """Trimmed, or nothing to trim."""
    WAIT = "wait"
    """Degraded: tried again once recovery has moved."""
    STOP = "stop"
    """The PG stopped being active here (or the trim failed): the pass ends."""
