"""Whether a replica takes a replicated write (RepOp) from its primary now.

One answer for both of the OSD's paths: the fast one that starts a write in the
dispatcher when it waits for nothing, and the task that waits for the PG's op lock
and for the write before this one. Pure: the OSD passes the op's versions and the
PG's state, under the PG's op lock (or with no await between this and the start).
"""

from __future__ import annotations

import enum

from radospy.common.eversion import Eversion


class RepOpAdmission(enum.Enum):
    APPLY = "apply"
    """The write follows what this copy has: start it."""
    DUPLICATE = "duplicate"
    """Already applied (or being applied): the primary resent it after a reconnect.
    Acknowledged once durable here."""
    RETIRED = "retired"
    """The PG left this OSD (ENOENT)."""
    STALE = "stale"
    """Sent before this copy was activated by a newer interval's primary (ESTALE): a
    write of an interval that is over must not land after its peering."""
    WAIT = "wait"
    """The write before this one is not here yet: it comes first, as the primary
    logged them."""


def admit_rep_op(
    version: Eversion,
    prev_version: Eversion,
    map_epoch: int,
    last_update: Eversion,
    last_epoch_started: int,
    retired: bool,
) -> RepOpAdmission:
    """What a replica does with the write of ``version`` (following ``prev_version``
    in the primary's log, sent under ``map_epoch``) to a PG whose log reaches
    ``last_update`` and whose copy was last activated in ``last_epoch_started``
    (``retired``: the PG left this OSD)."""
    if version <= last_update:
        return RepOpAdmission.DUPLICATE
    if retired:
        return RepOpAdmission.RETIRED
    if map_epoch < last_epoch_started:
        return RepOpAdmission.STALE
    if prev_version <= last_update:
        return RepOpAdmission.APPLY
    return RepOpAdmission.WAIT
