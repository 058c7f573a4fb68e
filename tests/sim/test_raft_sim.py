"""Seeded simulations of Raft groups under faults (see raft_sim for the invariants)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radospy.raft import EntryKind, RaftNode, SqliteStorage, Storage
from radospy.raft import log as raft_log
from tests.sim.raft_sim import InvariantViolation, SimConfig, SimStats, run_seed


def _run_many(seeds: range, **kwargs: object) -> list[SimStats]:
    return [run_seed(SimConfig(seed=seed, **kwargs)) for seed in seeds]  # type: ignore[arg-type]


def test_three_nodes_under_loss_partitions_and_crashes() -> None:
    stats = _run_many(range(100))
    assert sum(s.acked for s in stats) > 1000
    assert sum(s.reads for s in stats) > 300
    assert sum(s.crashes for s in stats) > 50


def test_five_nodes_under_loss_partitions_and_crashes() -> None:
    stats = _run_many(range(1000, 1060), voters=5)
    assert sum(s.acked for s in stats) > 500


def test_without_prevote_and_checkquorum_terms_churn_but_stay_safe() -> None:
    stats = _run_many(
        range(2000, 2030), voters=5, pre_vote=False, check_quorum=False, crash_in_ready=0.02
    )
    assert max(s.max_term for s in stats) > 10


def test_membership_changes_under_faults() -> None:
    stats = _run_many(range(3000, 3050), voters=3, spares=2, membership=True)
    # Bootstrap entries alone are 3 conf changes per node; more means adds/removes ran.
    assert sum(s.conf_changes for s in stats) > 50 * 3 * 3


def test_compaction_and_install_snapshot_to_lagging_nodes() -> None:
    stats = _run_many(range(4000, 4040), compact_after=5)
    stats += _run_many(range(4100, 4120), voters=5, spares=1, membership=True, compact_after=4)
    assert sum(s.snapshots_sent for s in stats) > 20


def test_real_sqlite_storage_survives_crashes(tmp_path: Path) -> None:
    for seed in range(5000, 5006):
        root = tmp_path / str(seed)
        root.mkdir()

        def factory(node_id: int, root: Path = root) -> Storage:
            return SqliteStorage(root / f"raft-{node_id}.db")

        stats = run_seed(SimConfig(seed=seed, fault_ms=1500, compact_after=6), factory)
        assert stats.acked > 0


def test_simulation_is_deterministic() -> None:
    assert run_seed(SimConfig(seed=77)) == run_seed(SimConfig(seed=77))


def test_simulator_catches_a_broken_voting_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    # Granting votes regardless of log freshness must be caught (leader completeness).
    monkeypatch.setattr(raft_log.RaftLog, "is_up_to_date", lambda _self, _i, _t: True)
    with pytest.raises(InvariantViolation):
        _run_many(range(40))


SLOW_LEADER_DISKS = {"write_delay_ms": 80, "crash_in_ready": 0.02}
"""Leaders' saves often outlast a round trip, and crashes come often enough to catch
leaders with saves still running."""


def test_leaders_with_slow_disks_commit_on_their_followers_and_stay_safe() -> None:
    stats = _run_many(range(6000, 6060), **SLOW_LEADER_DISKS)
    assert sum(s.acked for s in stats) > 500
    assert sum(s.crashes for s in stats) > 100


def test_simulator_catches_a_leader_counting_its_entries_before_they_are_durable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Counting the leader's own copy at append (safe only when the leader persists
    # before anything else happens) lets a commit rest on a copy a crash then loses.
    append = RaftNode._append_and_send

    def count_at_once(self: RaftNode, kind: EntryKind, data: bytes) -> int:
        index = append(self, kind, data)
        self.progress[self.id].maybe_update(index)
        if self._maybe_commit():
            self._bcast_append(commit_only=True)
        return index

    monkeypatch.setattr(RaftNode, "_append_and_send", count_at_once)
    with pytest.raises(InvariantViolation):
        _run_many(range(6000, 6060), **SLOW_LEADER_DISKS)


@pytest.mark.soak
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"voters": 5},
        {"voters": 3, "spares": 2, "membership": True, "compact_after": 5},
        {"voters": 5, "pre_vote": False, "check_quorum": False, "crash_in_ready": 0.02},
        {"voters": 5, "spares": 1, "membership": True, "compact_after": 3, "loss": 0.2},
        {"voters": 5, **SLOW_LEADER_DISKS},
    ],
)
def test_soak(kwargs: dict[str, object]) -> None:
    _run_many(range(100_000, 108_000), **kwargs)
