"""`ceph pg PGID query`: the JSON a primary answers with (``PrimaryLogPG::do_command``
"query"), built from its PG's info, report stat and recovery progress (pure).

The shape is Ceph 16's: ``state``, ``epoch``, ``up``, ``acting``,
``acting_recovery_backfill``, ``info`` (``pg_info_t`` with its ``stats``), ``peer_info``
(what the primary knows of each other member: how much it misses, how far its backfill
got) and ``recovery_state`` (the peering state machine's states, innermost first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from radospy.mon.messages import PgStat
from radospy.mon.pg_output import pg_json, stamp
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.peering import PastInterval, PriorSet
from radospy.osd.pglog import PgInfo

# What Ceph's Peering substates say of themselves in ``recovery_state``.
_STEP_COMMENTS = {
    "Down": "not enough up instances of this PG to go active",
    "Incomplete": "not enough complete instances of this PG",
    "WaitActingChange": "waiting for pg acting set to change",
    "WaitUpThru": "waiting for osdmap to reflect a new up_thru for this osd",
}


@dataclass(frozen=True)
class PeeringDump:
    """A primary still peering: its substate (``GetInfo``, ``Down``, ``Incomplete``,
    ``WaitActingChange`` or ``WaitUpThru``), prior set and past intervals."""

    step: str
    prior: PriorSet
    intervals: Sequence[PastInterval]


def _interval_json(iv: PastInterval) -> dict[str, Any]:
    """``pg_interval_t::dump``."""
    return {
        "first": iv.first,
        "last": iv.last,
        "maybe_went_rw": int(iv.maybe_went_rw),
        "up": list(iv.up),
        "acting": list(iv.acting),
        "primary": iv.primary,
        "up_primary": iv.up[0] if iv.up else -1,
    }


def peering_states(
    peering: PeeringDump, state_since: float, started: float
) -> list[dict[str, Any]]:
    """``recovery_state`` of a PG still peering, innermost first: the substate, then
    ``Started/Primary/Peering`` with the prior set as Ceph's ``Peering::react(QueryState)``
    dumps it (who is probed, which down OSDs may hold writes, what blocks)."""
    step: dict[str, Any] = {
        "name": f"Started/Primary/Peering/{peering.step}",
        "enter_time": stamp(state_since),
    }
    if peering.step in _STEP_COMMENTS:
        step["comment"] = _STEP_COMMENTS[peering.step]
    else:
        step["requested_info_from"] = []
    prior = peering.prior
    outer: dict[str, Any] = {
        "name": "Started/Primary/Peering",
        "enter_time": stamp(started),
        "past_intervals": [_interval_json(iv) for iv in peering.intervals],
        "probing_osds": [str(o) for o in sorted(prior.probe)],
    }
    if prior.pg_down:
        outer["blocked"] = "peering is blocked due to down osds"
    outer["down_osds_we_would_probe"] = sorted(prior.down)
    outer["peering_blocked_by"] = [
        {
            "osd": o,
            "current_lost_at": 0,
            "comment": "starting or marking this osd lost may let us proceed",
        }
        for o in sorted(prior.blocked_by)
    ]
    return [step, outer, {"name": "Started", "enter_time": stamp(started)}]


def _backfill_text(cursor: ObjectId | None) -> str:
    if cursor is None:
        return "MAX"
    return f"{cursor.nspace}/{cursor.name}" if cursor.nspace else cursor.name or "MIN"


def info_json(info: PgInfo, stat: PgStat) -> dict[str, Any]:
    """``pg_info_t::dump``."""
    h = info.history
    stats = pg_json(stat)
    del stats["pgid"]
    return {
        "pgid": str(info.pgid),
        "last_update": str(info.last_update),
        "last_complete": str(info.last_complete),
        "log_tail": str(info.log_tail),
        "last_user_version": info.last_user_version,
        "last_backfill": _backfill_text(info.last_backfill),
        "purged_snaps": [],
        "history": {
            "epoch_created": h.epoch_created,
            "epoch_pool_created": h.epoch_created,
            "last_epoch_started": h.last_epoch_started,
            "last_interval_started": h.last_interval_started,
            "last_epoch_clean": h.last_epoch_clean,
            "last_interval_clean": h.last_interval_clean,
            "last_epoch_split": 0,
            "last_epoch_marked_full": 0,
            "same_up_since": h.same_up_since,
            "same_interval_since": h.same_interval_since,
            "same_primary_since": h.same_primary_since,
            "last_scrub": "0'0",
            "last_scrub_stamp": stamp(0),
            "last_deep_scrub": "0'0",
            "last_deep_scrub_stamp": stamp(0),
            "last_clean_scrub_stamp": stamp(0),
            "prior_readable_until_ub": 0,
        },
        "stats": stats,
        "empty": int(info.is_empty),
        "dne": 0,
        "incomplete": int(info.is_incomplete),
        "last_epoch_started": info.last_epoch_started,
        "hit_set_history": {"current_last_update": "0'0", "history": []},
    }


def query_json(
    *,
    epoch: int,
    whoami: int,
    info: PgInfo,
    stat: PgStat,
    members: Sequence[int],
    peer_missing: Mapping[int, int],
    backfill: Mapping[int, ObjectId],
    state_since: float,
    started: float,
    peering: PeeringDump | None = None,
) -> dict[str, Any]:
    """The whole answer. ``members`` are the OSDs writes go to, ``peer_missing`` how
    many objects each misses, ``backfill`` each backfill target's cursor;
    ``state_since`` and ``started`` stamp the current state and the interval;
    ``peering`` is given while the PG has not activated."""
    peers = [
        {
            "peer": str(osd),
            "pgid": str(info.pgid),
            "last_update": str(info.last_update),
            "last_backfill": _backfill_text(backfill.get(osd)) if osd in backfill else "MAX",
            "num_missing": peer_missing.get(osd, 0),
        }
        for osd in members
        if osd != whoami
    ]
    if peering is not None:
        recovery_state = peering_states(peering, state_since, started)
    else:
        recovery_state = [
            {
                "name": "Started/Primary/Active",
                "enter_time": stamp(state_since),
                "recovery_progress": {
                    "backfill_targets": [str(o) for o in sorted(backfill)],
                    "waiting_on_backfill": [],
                    "last_backfill_started": "MIN",
                    "backfill_info": {"begin": "MIN", "end": "MIN", "objects": []},
                    "peer_backfill_info": [],
                    "backfills_in_flight": [],
                    "recovering": [],
                    "pg_backend": {"pull_from_peer": [], "pushing": []},
                },
            },
            {"name": "Started", "enter_time": stamp(started)},
        ]
    return {
        "snap_trimq": "[]",
        "snap_trimq_len": 0,
        "state": stat.state,
        "epoch": epoch,
        "up": list(stat.up),
        "acting": list(stat.acting),
        "acting_recovery_backfill": [str(o) for o in sorted(members)],
        "info": info_json(info, stat),
        "peer_info": peers,
        "recovery_state": recovery_state,
        "scrubber": {"epoch_start": "0", "active": False},
        "agent_state": {},
    }
