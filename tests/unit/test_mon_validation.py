"""Validating a change (the leader's dry run on `MonState.scratch`) never touches the
committed state, whichever part of it the change edits."""

from __future__ import annotations

import pytest

from radospy.mon.commands import Propose, handle_command, parse_argv
from radospy.mon.osdmap_wire import encode_osdmap
from radospy.mon.state import MonState

from .mon_helpers import Mon, split

SETUP = (
    "osd pool create p 8",
    "osd pool mksnap p s1",
    "auth get-or-create client.x mon 'allow r'",
    "config set osd osd_max_backfills 3",
)

CHANGES = (
    "auth caps client.x mon 'allow rw'",
    "auth get-or-create client.y mon 'allow r'",
    "auth del client.x",
    "config set osd osd_max_backfills 5",
    "config set global mon_allow_pool_delete true",
    "config rm osd osd_max_backfills",
    "osd pool mksnap p s2",
    "osd pool rmsnap p s1",
    "osd pool set-quota p max_objects 10",
    "osd pool create q 4",
    "osd crush add-bucket h1 host",
)


@pytest.mark.parametrize("change", CHANGES)
def test_validating_a_change_leaves_the_committed_state_as_it_was(change: str) -> None:
    mon = Mon()
    for line in SETUP:
        mon.ok(line)
    before = mon.state.snapshot()
    result = handle_command(mon.state, parse_argv(split(change)), mon.ctx())
    assert isinstance(result, Propose), result
    assert mon.state.snapshot() == before
    # And the dry run did what the command says: applying the entry gives the same state.
    assert mon.state.apply(result.entry).rc == 0
    assert _view(mon.state) == _view(result.after)


def _view(state: MonState) -> tuple[object, ...]:
    """Everything a command may change (the scratch state keeps no map history)."""
    return (
        encode_osdmap(state.osdmap, state.pool_extras),
        state.auth.to_dict(),
        state.config,
    )
