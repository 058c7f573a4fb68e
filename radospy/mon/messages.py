"""Monitor wire messages (type ids 0x0101-0x01ff; 0x0100 is the Raft frame).

Commands travel as Ceph's JSON command dicts. Every command a client sends carries its
client's random ``nonce`` and a per-client ``seq``: the pair names the command across
retries, so a command resent after a lost reply or a failover is applied at most once.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from radospy.common.eversion import Eversion
from radospy.msg.messages import Message, message

_U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
_U64 = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


@message(0x0101)
class MonCommand(Message):
    """Run a monitor command: ``cmd`` is Ceph's JSON command (``{"prefix": ...}``)."""

    cmd: str
    inbuf: bytes = b""
    nonce: int = 0
    seq: int = 0


@message(0x0102)
class MonCommandReply(Message):
    """A command's result as Ceph reports it: ``rc`` is 0 or a negative errno.

    ``retry`` means the command was not run here: this monitor is not the leader (then
    ``leader_name`` and ``leader_addr`` = ``host:port`` name it, when known) or lost
    leadership meanwhile; the client sends it again, there or elsewhere.
    """

    rc: int
    outbuf: bytes = b""
    outs: str = ""
    retry: bool = False
    leader_name: str = ""
    leader_addr: str = ""


@message(0x0103)
class MonSubscribe(Message):
    """Ask for every map of kind ``what`` (``osdmap``) from ``start_epoch`` on, until the
    session ends. A subscriber at epoch N asks from N+1 and gets the updates
    (incrementals) N+1.. as the epoch advances; one asking from 0 or 1, or so far
    behind that the updates are no longer kept, gets the newest full map first."""

    what: str
    start_epoch: int = 0


@message(0x0104)
class MonMapData(Message):
    """A map for a subscriber: kind, epoch and either the full map's encoding (``full``)
    or the update that makes ``epoch`` from the epoch before (``osdmap_wire``)."""

    what: str
    epoch: int
    data: bytes
    full: bool = True


class OsdStat(msgspec.Struct, frozen=True, array_like=True):
    """One OSD's store usage (`osd_stat_t`/`store_statfs_t`), in bytes.

    ``total`` is the capacity (the file system's, or ``osd_capacity`` when smaller),
    ``available`` what can still be written, ``data`` the logical bytes of its objects,
    ``omap`` the bytes of their omap entries. Used raw space is ``total - available``.
    """

    total: _U64
    available: _U64
    data: _U64 = 0
    omap: _U64 = 0
    num_pgs: _U64 = 0


class PgStat(msgspec.Struct, frozen=True, array_like=True):
    """What a primary reports about one of its PGs (`pg_stat_t`)."""

    pool: _U64
    seed: _U32
    state: str
    reported_epoch: _U32
    num_objects: _U64 = 0
    num_bytes: _U64 = 0
    log_size: _U64 = 0
    acting: list[int] = msgspec.field(default_factory=list)
    last_scrub: str = "0'0"
    """The PG's version when its last scrub (of either kind) began."""
    last_scrub_stamp: float = 0.0
    """When it ended (seconds since the epoch; 0: not known)."""
    last_deep_scrub: str = "0'0"
    last_deep_scrub_stamp: float = 0.0
    num_scrub_errors: _U64 = 0
    """Inconsistent objects the last scrub found and did not repair."""
    # Added after the first release: appended with defaults, so an older report decodes.
    up: list[int] = msgspec.field(default_factory=list)
    up_primary: int = -1
    acting_primary: int = -1
    reported_seq: _U64 = 0
    """Counts this primary's reports of the PG (Ceph's ``reported_seq``)."""
    version: Eversion = msgspec.field(default_factory=Eversion)
    """The PG's ``last_update``."""
    log_tail: Eversion = msgspec.field(default_factory=Eversion)
    ondisk_log_size: _U64 = 0
    last_fresh: float = 0.0
    """When the primary produced this stat (seconds since the epoch, as every stamp)."""
    last_change: float = 0.0
    """When the state last changed."""
    last_active: float = 0.0
    last_peered: float = 0.0
    last_clean: float = 0.0
    last_unstale: float = 0.0
    last_undegraded: float = 0.0
    last_fullsized: float = 0.0
    last_became_active: float = 0.0
    mapping_epoch: _U32 = 0
    """The epoch the current interval started at."""
    num_objects_missing_on_primary: _U64 = 0
    num_objects_degraded: _U64 = 0
    num_objects_misplaced: _U64 = 0
    num_objects_unfound: _U64 = 0
    num_object_copies: _U64 = 0
    num_omap_bytes: _U64 = 0
    num_omap_keys: _U64 = 0
    num_read: _U64 = 0
    num_read_kb: _U64 = 0
    num_write: _U64 = 0
    num_write_kb: _U64 = 0
    num_objects_recovered: _U64 = 0
    num_bytes_recovered: _U64 = 0
    num_keys_recovered: _U64 = 0
    blocked_by: list[int] = msgspec.field(default_factory=list)
    """The OSDs peering waits for (down ones that may hold writes, or members that
    do not answer)."""
    last_epoch_clean: _U32 = 0
    """The epoch the PG was last clean in, as its history says."""


@message(0x0105)
class OsdStatReport(Message):
    """An OSD's periodic report (``osd_mon_report_interval``): its usage and the stats of
    the PGs it is primary for, under map ``epoch``. A monitor that does not lead passes
    it on to the leader, which keeps the stats in memory (see `radospy.mon.pgmap`)."""

    osd: _U32
    epoch: _U32
    stat: OsdStat
    pgs: list[PgStat] = msgspec.field(default_factory=list)


@message(0x0106)
class OsdScrubOrder(Message):
    """Monitor → OSD: scrub these PGs now (Ceph's ``MOSDScrub2``), ``kind`` being
    ``scrub``, ``deep-scrub`` or ``repair``. The leader hands it to every monitor,
    and the one holding the OSD's session passes it on; an OSD that is not the PG's
    primary any more ignores it."""

    osd: _U32
    kind: str
    pgs: list[tuple[_U64, _U32]] = msgspec.field(default_factory=list)
    """(pool, seed) of each PG; empty: every PG the OSD is primary of."""
