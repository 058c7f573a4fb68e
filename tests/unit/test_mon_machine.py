"""The replicated envelopes: batches of changes (group commit), at most once per command."""

from __future__ import annotations

import errno
from typing import Any

from radospy.mon.commands import Propose, handle_command
from radospy.mon.machine import (
    BatchEntry,
    BootstrapEntry,
    CommandEntry,
    Envelope,
    MonMapEntry,
    ReplicatedMonState,
    encode_envelope,
)
from radospy.mon.monmap import MonMap
from radospy.raft.messages import Entry, EntryKind

from .mon_helpers import Mon

NONCE = 7


def _entry(envelope: Envelope, index: int) -> Entry:
    return Entry(1, index, EntryKind.NORMAL, encode_envelope(envelope))


def _machine() -> tuple[Mon, ReplicatedMonState]:
    mon = Mon()
    mon.ok("osd pool create p 8")
    machine = ReplicatedMonState()
    machine.apply(_entry(BootstrapEntry(mon.state.snapshot(), MonMap().encode()), 1))
    return mon, machine


def _quota(val: int) -> dict[str, Any]:
    return {"prefix": "osd pool set-quota", "pool": "p", "field": "max_objects", "val": str(val)}


def _propose(mon: Mon, state: Any, val: int) -> Propose:
    result = handle_command(state, _quota(val), mon.ctx())
    assert isinstance(result, Propose) and result.after is not None
    return result


def test_a_batch_applies_changes_validated_one_after_another() -> None:
    mon, machine = _machine()
    epoch = machine.state.osdmap.epoch
    state = machine.state
    changes = []
    for seq, val in enumerate((10, 20, 30), start=1):
        proposal = _propose(mon, state, val)
        changes.append(CommandEntry(NONCE, seq, proposal.entry))
        state = proposal.after
    # Validating changed only the dry runs' scratch states.
    assert machine.state.osdmap.epoch == epoch
    results = machine.apply(_entry(BatchEntry(changes), 2))
    assert isinstance(results, list) and [r.rc for r in results] == [0, 0, 0]
    assert machine.state.osdmap.epoch == epoch + 3
    assert machine.state.osdmap.pool_by_name("p").quota_max_objects == 30
    # The same commands again (a client resending after a failover): first results.
    assert machine.apply(_entry(BatchEntry(changes), 3)) == results
    assert machine.state.osdmap.epoch == epoch + 3


def test_a_change_validated_against_a_stale_state_is_refused_alone() -> None:
    mon, machine = _machine()
    first = _propose(mon, machine.state, 10)
    stale = _propose(mon, machine.state, 20)
    changes = [CommandEntry(NONCE, 1, first.entry), CommandEntry(NONCE, 2, stale.entry)]
    results = machine.apply(_entry(BatchEntry(changes), 2))
    assert isinstance(results, list) and [r.rc for r in results] == [0, -errno.EAGAIN]
    assert machine.state.osdmap.pool_by_name("p").quota_max_objects == 10
    # EAGAIN is not remembered: validated again, the same (nonce, seq) goes through.
    again = _propose(mon, machine.state, 20)
    retried = machine.apply(_entry(BatchEntry([CommandEntry(NONCE, 2, again.entry)]), 3))
    assert isinstance(retried, list) and retried[0].rc == 0
    assert machine.state.osdmap.pool_by_name("p").quota_max_objects == 20


def test_every_monmap_epoch_is_kept_through_snapshots() -> None:
    _, machine = _machine()
    first = MonMap.decode(machine.monmap.encode())
    second = MonMap.decode(first.encode())
    second.add("d", "127.0.0.1:6800")
    second.epoch = first.epoch + 1
    machine.apply(_entry(MonMapEntry(NONCE, 1, second.encode()), 2))
    assert machine.monmap.epoch == second.epoch
    restored = ReplicatedMonState()
    restored.restore(machine.snapshot())
    for replica in (machine, restored):
        old = replica.monmap_at(first.epoch)
        assert old is not None and "d" not in old.mons
        new = replica.monmap_at(second.epoch)
        assert new is not None and "d" in new.mons
        assert replica.monmap_at(second.epoch + 1) is None
