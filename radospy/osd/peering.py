"""PG peering, as a pure core: past intervals, the prior set, the authoritative log,
each member's missing set, log recovery or backfill, and the PG state Ceph would print.

This follows Ceph's doc/dev/peering.rst and ``PeeringState`` for replicated pools:

* An *interval* is a run of OSDMap epochs in which a PG's up set, acting set, primaries,
  size and min_size stay the same (``is_new_interval``). ``PastIntervals`` records the
  closed ones. An interval *may have gone read-write* when its acting set reached
  ``min_size`` (and, when the map says so, its primary's ``up_thru`` covered it): only
  such an interval can hold acknowledged writes.
* The *prior set* (``build_prior_set``) is every OSD of those intervals that is up now,
  plus the current up and acting sets: peering must hear from them. When an interval
  that may have gone read-write has no member up, acknowledged writes may exist only on
  down OSDs: the PG is ``down`` until one returns.
* ``peer`` takes what the prior set answered (each member's info, log and missing set),
  chooses the authoritative log with ``find_best_info`` (the newest ``last_update``
  among the complete copies that reach what the newest activation bounds as
  acknowledged), merges it into the primary's log from where the two part
  (``last_shared``; divergent entries rolled back, their objects marked missing or
  removed), and decides per acting member: nothing to do, log recovery of exactly the
  objects its missing set names, or backfill when its log shares no entry with the
  authoritative one (or an earlier backfill did not finish). Too few complete members
  for ``min_size``, or no usable log at all, is ``incomplete``.

No I/O here: the OSD shell (``radospy.osd.recovery``) gathers the inputs and carries out
the plan; tests drive the same functions through seeded simulations.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import (
    PgHistory,
    PgInfo,
    PgLog,
    PgMissing,
    catch_up_missing,
    find_best_info,
    last_complete_for,
    needs_backfill,
    proc_replica_log,
)

BACKFILL_START = ObjectId("", "", 0)
"""``last_backfill`` of a copy that backfill has not started: it covers no object."""


class PgState(enum.IntFlag):
    """PG state bits (``PG_STATE_*`` of Ceph's osd_types.h, same values)."""

    CREATING = 1 << 0
    ACTIVE = 1 << 1
    CLEAN = 1 << 2
    DOWN = 1 << 4
    RECOVERY_UNFOUND = 1 << 5
    BACKFILL_UNFOUND = 1 << 6
    PREMERGE = 1 << 7
    SCRUBBING = 1 << 8
    DEGRADED = 1 << 10
    INCONSISTENT = 1 << 11
    PEERING = 1 << 12
    REPAIR = 1 << 13
    RECOVERING = 1 << 14
    BACKFILL_WAIT = 1 << 15
    INCOMPLETE = 1 << 16
    STALE = 1 << 17
    REMAPPED = 1 << 18
    DEEP_SCRUB = 1 << 19
    BACKFILLING = 1 << 20
    BACKFILL_TOOFULL = 1 << 21
    RECOVERY_WAIT = 1 << 22
    UNDERSIZED = 1 << 23
    ACTIVATING = 1 << 24
    PEERED = 1 << 25
    LAGGY = 1 << 33
    WAIT = 1 << 34


# The order in which ``pg_state_string`` prints the bits.
_STATE_ORDER: tuple[tuple[PgState, str], ...] = (
    (PgState.STALE, "stale"),
    (PgState.CREATING, "creating"),
    (PgState.ACTIVE, "active"),
    (PgState.ACTIVATING, "activating"),
    (PgState.CLEAN, "clean"),
    (PgState.RECOVERY_WAIT, "recovery_wait"),
    (PgState.RECOVERING, "recovering"),
    (PgState.DOWN, "down"),
    (PgState.RECOVERY_UNFOUND, "recovery_unfound"),
    (PgState.BACKFILL_UNFOUND, "backfill_unfound"),
    (PgState.UNDERSIZED, "undersized"),
    (PgState.DEGRADED, "degraded"),
    (PgState.REMAPPED, "remapped"),
    (PgState.PREMERGE, "premerge"),
    (PgState.SCRUBBING, "scrubbing"),
    (PgState.DEEP_SCRUB, "deep"),
    (PgState.INCONSISTENT, "inconsistent"),
    (PgState.PEERING, "peering"),
    (PgState.REPAIR, "repair"),
    (PgState.BACKFILL_WAIT, "backfill_wait"),
    (PgState.BACKFILLING, "backfilling"),
    (PgState.BACKFILL_TOOFULL, "backfill_toofull"),
    (PgState.INCOMPLETE, "incomplete"),
    (PgState.PEERED, "peered"),
    (PgState.LAGGY, "laggy"),
    (PgState.WAIT, "wait"),
)


def pg_state_string(state: PgState) -> str:
    """``active+undersized+degraded``: the bits set, joined in Ceph's order."""
    names = [name for bit, name in _STATE_ORDER if state & bit]
    return "+".join(names) if names else "unknown"


@dataclass(frozen=True)
class PgView:
    """What one OSDMap epoch says about a PG."""

    epoch: int
    up: tuple[int, ...]
    up_primary: int
    acting: tuple[int, ...]
    primary: int
    size: int
    min_size: int

    @property
    def can_serve(self) -> bool:
        """Whether the acting set is large enough for I/O (``min_size``)."""
        return self.primary >= 0 and len(self.acting) >= self.min_size


def is_new_interval(old: PgView, new: PgView) -> bool:
    """Whether ``new`` starts a new interval after ``old`` (``PastIntervals::is_new_interval``
    for a replicated pool whose pg_num does not change)."""
    return (
        old.acting != new.acting
        or old.up != new.up
        or old.primary != new.primary
        or old.up_primary != new.up_primary
        or old.size != new.size
        or old.min_size != new.min_size
    )


def enter_interval(history: PgHistory, old: PgView | None, new: PgView) -> PgHistory:
    """``history`` as the PG enters the interval ``new`` starts (Ceph's
    ``start_peering_interval``): ``same_interval_since`` is ``new``'s epoch, and so is
    ``same_up_since`` when the up set or its primary changed, ``same_primary_since``
    when the acting primary did. ``old`` is the view at the last map of the interval
    that ends; ``None`` when this copy does not know it (its first map, or maps it
    skipped), which counts as everything having changed."""
    up_moved = old is None or old.up != new.up or old.up_primary != new.up_primary
    primary_moved = old is None or old.primary != new.primary
    return msgspec.structs.replace(
        history,
        same_interval_since=new.epoch,
        same_up_since=new.epoch if up_moved else history.same_up_since,
        same_primary_since=new.epoch if primary_moved else history.same_primary_since,
    )


class PastInterval(msgspec.Struct, frozen=True, array_like=True):
    """A closed interval: epochs ``first..last`` with these sets."""

    first: int
    last: int
    up: tuple[int, ...]
    acting: tuple[int, ...]
    primary: int
    maybe_went_rw: bool


class StoredPastIntervals(msgspec.Struct, frozen=True, array_like=True):
    """``PastIntervals`` as an OSD's store keeps them: the closed intervals, and the
    interval in progress (its first epoch and the PG's view at the last map seen)."""

    intervals: list[PastInterval]
    current_start: int
    current: PgView | None
    exact_start: bool = False


class PastIntervals:
    """The closed intervals of a PG, oldest first, and the one in progress.

    Feed it every map the OSD sees with ``note``. ``trim`` forgets intervals the PG
    has since been clean after (they cannot hold anything the clean copies lack).
    An OSD keeps them in its store (``encode``, ``decode``) so that a restart does not
    forget who may have served writes; ``resume`` takes the first map after loading.

    ``exact_start`` says whether ``current_start`` is the true first epoch of the
    interval in progress: it began in a map that followed one this OSD saw. Only then
    may the interval be judged by its primary's ``up_thru`` when it closes (a later
    start than the true one could take an ``up_thru`` between the two for "never went
    read-write"). It is stored with the intervals, so that the first interval to close
    after a restart is judged as it would have been without the restart.
    """

    __slots__ = ("current", "current_start", "exact_start", "intervals")

    def __init__(self) -> None:
        self.intervals: list[PastInterval] = []
        self.current: PgView | None = None
        self.current_start = 0
        self.exact_start = False

    def note(self, view: PgView, primary_up_thru: int | None = None) -> bool:
        """Take the PG's view at a new epoch; True when it starts a new interval.

        ``primary_up_thru`` is the closing interval's primary's ``up_thru`` in the last
        map of that interval, when the maps record it (Ceph's ``maybe_went_rw``: the
        primary asks for it before it activates); it counts only when ``exact_start``
        holds. Without it an interval whose acting set reached ``min_size`` is assumed
        to have gone read-write. A new interval's start counts as exact (``view``
        follows the map noted before): a caller that skipped maps clears
        ``exact_start``; the first view's start is not known to be exact.
        """
        old = self.current
        if old is not None and view.epoch <= old.epoch:
            return False
        if old is None:
            self.current, self.current_start, self.exact_start = view, view.epoch, False
            return True
        if not is_new_interval(old, view):
            self.current = view
            return False
        went_rw = old.can_serve and (
            primary_up_thru is None
            or not self.exact_start
            or primary_up_thru >= self.current_start
        )
        self.intervals.append(
            PastInterval(
                self.current_start, view.epoch - 1, old.up, old.acting, old.primary, went_rw
            )
        )
        self.current, self.current_start, self.exact_start = view, view.epoch, True
        return True

    def resume(self, view: PgView) -> None:
        """Take the first view after these intervals were loaded from the store.

        The OSD did not see the maps since the last one recorded (it was stopped), so
        the interval then in progress is closed just before ``view`` and counts as
        having maybe gone read-write when its acting set could serve: without those
        maps nothing tells otherwise. Intervals the OSD missed entirely come from its
        peers while peering (``merge``). Without a recorded interval this is ``note``.
        """
        old = self.current
        if old is None or view.epoch <= old.epoch:
            self.note(view)
            return
        self.intervals.append(
            PastInterval(
                self.current_start, view.epoch - 1, old.up, old.acting, old.primary,
                old.can_serve,
            )
        )  # fmt: skip
        self.current, self.current_start, self.exact_start = view, view.epoch, False

    def reload(self, view: PgView) -> None:
        """Take ``view`` after loading these intervals from the store, when the OSD's
        superblock says they were kept through ``view``'s epoch (every map up to it
        was folded in and stored with them, see ``radospy.osd.superblock``).

        The interval in progress then goes on unless ``view`` differs from it, which
        only intervals stored without that guarantee can show: those are closed as
        ``resume`` closes them. Intervals stored as of a later epoch (written when the
        PG went clean) already hold ``view``. ``exact_start`` is kept as stored.
        """
        old = self.current
        if old is None:
            self.note(view)
        elif view.epoch <= old.epoch:
            return
        elif is_new_interval(old, view):
            self.resume(view)
        else:
            self.current = view

    def encode(self) -> bytes:
        """The bytes an OSD stores (``decode`` reads them back)."""
        return _PAST_ENCODER.encode(
            StoredPastIntervals(
                self.intervals, self.current_start, self.current, self.exact_start
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> PastIntervals:
        """Intervals from ``encode``'s bytes; raises ``ValueError`` on malformed ones
        (``msgspec`` errors are ValueErrors)."""
        stored = _PAST_DECODER.decode(data)
        past = cls()
        past.intervals = list(stored.intervals)
        past.current, past.current_start = stored.current, stored.current_start
        past.exact_start = stored.exact_start
        return past

    def trim(self, last_epoch_clean: int) -> None:
        """Forget the intervals that ended before the PG was last clean."""
        self.intervals = [iv for iv in self.intervals if iv.last >= last_epoch_clean]

    def merge(self, others: Iterable[PastInterval]) -> None:
        """Add intervals a peer recorded that this OSD did not see."""
        known = {(iv.first, iv.last) for iv in self.intervals}
        for iv in others:
            if (iv.first, iv.last) not in known and iv.last < self.current_start:
                self.intervals.append(iv)
                known.add((iv.first, iv.last))
        self.intervals.sort(key=lambda iv: iv.first)


_PAST_ENCODER = msgspec.msgpack.Encoder()
_PAST_DECODER = msgspec.msgpack.Decoder(StoredPastIntervals)


@dataclass(frozen=True)
class PriorSet:
    """Who peering must hear from, and whether it can at all.

    ``probe``: OSDs up now that may hold the newest writes. ``down``: members of
    read-write intervals that are down now. ``pg_down``: some read-write interval has
    no member up (``blocked_by`` names its members), so peering must wait.
    """

    probe: frozenset[int]
    down: frozenset[int]
    pg_down: bool
    blocked_by: frozenset[int]


def merged_history(histories: Iterable[PgHistory]) -> PgHistory:
    """The PG's history as the copies that answered know it, merged (Ceph's primary
    merges each notify's ``history`` into its own, ``pg_history_t::merge``).

    Its ``last_epoch_started`` bounds the prior set (``build_prior_set``), its
    ``last_epoch_clean`` the past intervals worth keeping (``PastIntervals.trim``).
    """
    merged = PgHistory()
    for history in histories:
        merged = merged.merge(history)
    return merged


def build_prior_set(
    intervals: Sequence[PastInterval],
    current: PgView,
    is_up: Callable[[int], bool],
    last_epoch_started: int,
) -> PriorSet:
    """The prior set (``PastIntervals::PriorSet``) for peering in ``current``.

    Intervals that ended before ``last_epoch_started`` (the PG history's, merged from
    every copy that answered: ``merged_history``) are skipped, as Ceph's
    ``iterate_mayberw_back_to`` skips them: a later interval went active, so the
    copies it activated hold everything acknowledged before it, and an OSD reporting
    that epoch is one of them (``find_best_info`` then takes a log at least as new as
    theirs). Without this an old interval whose members are all gone would keep the
    PG ``down``.
    """
    probe = {o for o in (*current.acting, *current.up) if o >= 0 and is_up(o)}
    down: set[int] = set()
    blocked: set[int] = set()
    pg_down = False
    for iv in intervals:
        if not iv.maybe_went_rw or iv.last < last_epoch_started:
            continue
        up_now = [o for o in iv.acting if is_up(o)]
        gone = [o for o in iv.acting if not is_up(o)]
        probe.update(up_now)
        down.update(gone)
        if not up_now:
            pg_down = True
            blocked.update(gone)
    return PriorSet(frozenset(probe), frozenset(down), pg_down, frozenset(blocked))


class Recovery(enum.Enum):
    """How an acting member is brought up to date."""

    NONE = "none"
    LOG = "log"
    BACKFILL = "backfill"


@dataclass(frozen=True)
class PeerReport:
    """What one OSD answered to the primary's query: its info, log and missing set."""

    info: PgInfo
    log: PgLog
    missing: PgMissing = field(default_factory=PgMissing)


@dataclass
class MemberPlan:
    """How to bring one acting member (the primary included) up to date.

    ``info`` is the member's info once it has merged the authoritative log; ``missing``
    the objects it must then receive (for a backfill, which copies everything else,
    those the copy it is filled from misses itself).
    """

    osd: int
    recovery: Recovery
    info: PgInfo
    missing: PgMissing


@dataclass
class PeeringResult:
    """The outcome of peering, for the primary to carry out.

    When ``state`` has ``ACTIVE`` set (well, is about to: ``activate`` sets it), ``log``
    and ``info`` are the primary's merged log and info, ``remove`` the objects the
    primary must delete from its store, ``members`` the plan per acting member, and
    ``sources`` for each object the primary misses the OSDs that hold it at the needed
    version. ``started`` is the epoch the activation starts (every member's
    ``last_epoch_started``; 0 when the PG only goes ``peered``): once every member has
    activated, the primary records it in the history (`record_started`). Otherwise
    peering is stuck (``down`` or ``incomplete``) and only ``state`` and ``blocked_by``
    are meaningful.
    """

    state: PgState
    auth: int | None = None
    log: PgLog | None = None
    info: PgInfo | None = None
    remove: frozenset[ObjectId] = frozenset()
    members: dict[int, MemberPlan] = field(default_factory=dict)
    sources: dict[ObjectId, list[int]] = field(default_factory=dict)
    blocked_by: frozenset[int] = frozenset()
    want_acting: tuple[int, ...] = ()
    started: int = 0

    @property
    def ok(self) -> bool:
        """Whether the PG can activate."""
        return self.log is not None


def peer(
    me: int, view: PgView, prior: PriorSet, reports: Mapping[int, PeerReport], epoch: int
) -> PeeringResult:
    """Peer as primary ``me`` of ``view`` with what the prior set answered.

    ``reports`` must hold the primary's own report; OSDs of the prior set missing from
    it did not answer. ``epoch`` is the epoch activation happens in: it becomes every
    complete member's ``last_epoch_started``.
    """
    if prior.pg_down:
        # Ceph's Down state: "down" alone (peering cleared), blocked by the prior set's
        # down OSDs.
        return PeeringResult(PgState.DOWN, blocked_by=prior.down)
    mine = reports[me]
    auth = find_best_info({o: r.info for o, r in reports.items()}, me)
    if auth is None:
        return PeeringResult(PgState.INCOMPLETE, blocked_by=prior.down)
    auth_report = reports[auth]
    # The primary merges every answer's history into its own (Ceph's proc_replica_info
    # and update_history), and stores it with its info at activation.
    history = merged_history(r.info.history for r in reports.values())
    members: dict[int, MemberPlan] = {}
    remove: frozenset[ObjectId] = frozenset()
    if auth != me and needs_backfill(auth_report.log, mine.info, mine.log):
        log = auth_report.log.copy()
        # What the authoritative copy still misses itself (a member activated but not
        # yet recovered) is not copied from it, stale: it is missing here too, and
        # comes from an OSD that has it (``sources``).
        missing = PgMissing()
        for oid, item in auth_report.missing.items().items():
            missing.add(oid, item.need)
        info = msgspec.structs.replace(
            _adopted(_backfill_info(auth_report.info, mine.info), mine.info, history),
            last_complete=last_complete_for(log, log.head, missing),
        )
        members[me] = MemberPlan(me, Recovery.BACKFILL, info, missing)
    else:
        log = mine.log.copy()
        missing = mine.missing.copy()
        info = mine.info
        if auth != me:
            merged = log.merge_log(auth_report.log, auth_report.info, info, missing)
            info, remove = merged.info, merged.remove
        info = _adopted(info, auth_report.info, history)
        kind = Recovery.LOG if len(missing) else Recovery.NONE
        members[me] = MemberPlan(me, kind, info, missing)
    for osd in dict.fromkeys((*view.acting, *view.up)):
        if osd == me or osd < 0:
            continue
        members[osd] = _member_plan(osd, reports.get(osd), log, info)
    me_backfill = members[me].recovery is Recovery.BACKFILL
    complete = [o for o in view.acting if o != me and members[o].recovery is not Recovery.BACKFILL]
    remapped = PgState.REMAPPED if view.up != view.acting else PgState(0)
    if me_backfill or len(complete) + 1 < len(view.acting):
        # Someone in the acting set needs backfill: ask for complete OSDs to serve
        # meanwhile (pg_temp) if that gives more complete copies than we have, with
        # the authoritative OSD as primary if our own copy is the one to backfill.
        head = auth if me_backfill else me
        want = _want_acting(head, view, [o for o in complete if o != head], members, reports, log)
        have = len(complete) + (0 if me_backfill else 1)
        if want != view.acting and len(want) >= view.min_size and len(want) > have:
            return PeeringResult(PgState.PEERING | PgState.REMAPPED, auth, want_acting=want)
    # Fewer complete copies than min_size is no reason to stay inactive: the PG goes
    # ``peered`` (recovering, no client I/O) as Ceph does with the default
    # osd_allow_recovery_below_min_size, and serves once enough members are complete.
    sources = _sources(me, missing, log, reports, auth)
    started = epoch if len(view.acting) >= view.min_size else 0
    if started:
        # Only an interval that may serve writes starts an epoch (Ceph's
        # PeeringState::activate: "only update primary last_epoch_started if we will go
        # active", i.e. acting_set_writeable, acting.size() >= min_size): a ``peered``
        # one must not make its (possibly stale) copies authoritative over copies that
        # took writes in an earlier interval. But an acting set of min_size whose copies
        # are not yet complete serves writes in this very interval once backfill ends,
        # so it must start the epoch now: otherwise find_best_info can prefer a copy
        # from an older interval, and the older copy's unacknowledged entries made
        # authoritative get the same version numbers as the writes this interval took.
        for plan in members.values():
            plan.info = _activated(plan.info, started)
    return PeeringResult(
        PgState.PEERING | remapped, auth, log, members[me].info, remove, members, sources,
        started=started,
    )  # fmt: skip


def _member_plan(osd: int, report: PeerReport | None, log: PgLog, info: PgInfo) -> MemberPlan:
    """How a member other than the primary catches up with the merged ``log``."""
    if report is None or needs_backfill(log, report.info, report.log):
        base = report.info if report is not None else PgInfo(info.pgid)
        return MemberPlan(osd, Recovery.BACKFILL, _backfill_info(info, base), PgMissing())
    peer_view = proc_replica_log(log, report.info, report.log, report.missing)
    peer_missing = catch_up_missing(log, peer_view.info, peer_view.missing)
    kind = Recovery.LOG if len(peer_missing) else Recovery.NONE
    peer_info = msgspec.structs.replace(
        report.info,
        last_update=log.head,
        last_complete=last_complete_for(log, log.head, peer_missing),
        log_tail=log.tail,
        last_user_version=info.last_user_version,
        # The primary's epoch unless the member's own is newer (Ceph's activate on a
        # replica): the member then holds the log that epoch vouches for.
        last_epoch_started=max(report.info.last_epoch_started, info.last_epoch_started),
        # What the PG's history says is true of every copy (Ceph's replicas take the
        # primary's history at activation): a member that peers later starts from it.
        history=report.info.history.merge(info.history),
    )
    return MemberPlan(osd, kind, peer_info, peer_missing)


def _want_acting(
    head: int,
    view: PgView,
    complete: list[int],
    members: Mapping[int, MemberPlan],
    reports: Mapping[int, PeerReport],
    log: PgLog,
) -> tuple[int, ...]:
    """The acting set to ask for with ``pg_temp`` (``choose_acting``): ``head`` as
    primary, the complete acting members, then up members and other OSDs that answered
    whose copy can be caught up from the log, up to the pool size."""
    want = [head, *complete]
    candidates = [o for o in view.up if o in members]
    candidates += sorted(o for o in reports if o not in members)
    for osd in candidates:
        if len(want) >= view.size:
            break
        if osd in want or osd not in reports:
            continue
        plan = members.get(osd) or _member_plan(osd, reports[osd], log, reports[head].info)
        if plan.recovery is not Recovery.BACKFILL:
            want.append(osd)
    return tuple(want)


def _backfill_info(auth_info: PgInfo, old: PgInfo) -> PgInfo:
    """The info of a copy about to be backfilled: the authoritative log, no objects."""
    return msgspec.structs.replace(
        auth_info,
        last_complete=auth_info.last_update,
        last_backfill=BACKFILL_START,
        # The interval epochs stay the copy's own: it computed them from its maps.
        history=old.history.merge(auth_info.history),
    )


def _adopted(info: PgInfo, other: PgInfo, history: PgHistory) -> PgInfo:
    """The primary's ``info`` once it holds the log of ``other`` (Ceph's
    proc_master_log): the newer of the two ``last_epoch_started``, and ``history``.

    Its log then holds every write the other copy's epoch vouches for, so it may claim
    that epoch. Keeping an older one would leave a complete copy below the history's
    ``last_epoch_started``: should the copies that claim it go away, no copy would
    reach what find_best_info then requires, and the PG would stay incomplete.
    """
    return msgspec.structs.replace(
        info,
        last_epoch_started=max(info.last_epoch_started, other.last_epoch_started),
        history=info.history.merge(history),
    )


def _activated(info: PgInfo, epoch: int) -> PgInfo:
    """A member's info as it activates in ``epoch``: its own ``last_epoch_started``
    only. The history's (which bounds the prior set) waits for every member to have
    activated (`record_started`): a copy claiming it sooner would let peering skip
    the older intervals while a member of this one still lacks what they hold."""
    return msgspec.structs.replace(info, last_epoch_started=epoch)


def record_started(info: PgInfo, last_epoch_started: int) -> PgInfo:
    """``info`` with its history recording that the PG went active in
    ``last_epoch_started``, in the interval that began at its ``same_interval_since``
    (``last_interval_started``): what the primary stores, and shares with every
    member, once all of them have activated and committed that epoch (Ceph's
    ``Active::react(AllReplicasActivated)`` and ``share_pg_info``)."""
    if info.history.last_epoch_started >= last_epoch_started:
        return info
    history = msgspec.structs.replace(
        info.history,
        last_epoch_started=last_epoch_started,
        last_interval_started=info.history.same_interval_since,
    )
    return msgspec.structs.replace(info, history=history)


def _sources(
    me: int, missing: PgMissing, log: PgLog, reports: Mapping[int, PeerReport], auth: int
) -> dict[ObjectId, list[int]]:
    """For each object the primary misses, the OSDs holding it at the needed version:
    those whose log reaches that version, that do not miss it themselves, and whose
    copy covers it; the authoritative OSD first."""
    sources: dict[ObjectId, list[int]] = {}
    order = [auth, *sorted(o for o in reports if o not in (auth, me))]
    for oid, item in missing.items().items():
        holders = []
        for osd in order:
            report = reports[osd]
            if (
                report.info.covers(oid)
                and oid not in report.missing
                and _holds(report, oid, item.need)
            ):
                holders.append(osd)
        sources[oid] = holders
    return sources


def _holds(report: PeerReport, oid: ObjectId, need: Eversion) -> bool:
    """Whether a peer's stored copy of ``oid`` is at ``need``: its newest change of the
    object is that version (not a divergent later one), or predates its log."""
    latest = report.log.latest(oid)
    if latest is None:
        return need <= report.log.tail
    return latest.version == need


def pg_state(
    *,
    active: bool,
    acting: int,
    size: int,
    missing: int,
    backfill_targets: int,
    recovering: bool = False,
    backfilling: bool = False,
    remapped: bool = False,
    serving: bool = True,
) -> PgState:
    """The state bits of an active PG from its recovery progress.

    ``missing`` counts objects missing on any acting member, ``backfill_targets`` the
    members still being backfilled; ``recovering``/``backfilling`` whether that work is
    running now rather than waiting for a reservation; ``serving`` whether enough
    members are complete for client I/O (``min_size``): ``peered`` when not.
    """
    state = PgState.PEERING
    if active:
        state = PgState.ACTIVE if serving else PgState.PEERED
    if acting < size:
        state |= PgState.UNDERSIZED | PgState.DEGRADED
    if missing:
        state |= PgState.DEGRADED
        state |= PgState.RECOVERING if recovering else PgState.RECOVERY_WAIT
    elif backfill_targets:
        state |= PgState.BACKFILLING if backfilling else PgState.BACKFILL_WAIT
    if backfill_targets:
        state |= PgState.DEGRADED
    if remapped:
        state |= PgState.REMAPPED
    if (
        active
        and serving
        and acting >= size
        and not missing
        and not backfill_targets
        and not remapped
    ):
        state |= PgState.CLEAN
    return state
