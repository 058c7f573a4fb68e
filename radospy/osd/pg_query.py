"""`ceph pg PGID query`: the JSON a primary answers with (``PrimaryLogPG::do_command``
"query"), built from its PG's info, report stat and recovery progress (pure).

The shape is Ceph 16's: ``state``, ``epoch``, ``up``, ``acting``,
``acting_recovery_backfill``, ``info`` (``pg_info_t`` with its ``stats``), ``peer_info``
(what the primary knows of each other member: how much it misses, how far its backfill
got) and ``recovery_state`` (the peering state machine's states, innermost first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from radospy.mon.messages import PgStat
from radospy.mon.pg_output import pg_json, stamp
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import PgInfo


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
            "last_interval_started": h.same_interval_since,
            "last_epoch_clean": h.last_epoch_clean,
            "last_interval_clean": h.last_epoch_clean,
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
) -> dict[str, Any]:
    """The whole answer. ``members`` are the OSDs writes go to, ``peer_missing`` how
    many objects each misses, ``backfill`` each backfill target's cursor;
    ``state_since`` and ``started`` stamp the current state and the interval."""
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
    active = "active" in stat.state.split("+")
    name = "Started/Primary/Active" if active else "Started/Primary/Peering"
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
        "recovery_state": [
            {
                "name": name,
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
        ],
        "scrubber": {"epoch_start": "0", "active": False},
        "agent_state": {},
    }
