"""How an op that names a newer osdmap than the OSD's waits for that map.

A client acts on the newest map it has; an OSD whose map is older must not judge the
op under its own (placement, and the pool's flags: a pool that went ``full_quota``
in the newer epoch must refuse the write). As Ceph's ``OSD::wait_for_new_map`` does,
the op waits, and the OSD asks the monitors for the maps after its own when an op
starts waiting; it asks again every ``resubscribe_every`` seconds while ops wait (a
map push lost with a monitor session). Ceph keeps such an op queued for as long as
it takes; here it is answered EAGAIN after ``give_up_after`` seconds, which the
client's objecter answers by sending it again after a backoff (as Ceph's objecter
resubmits an op answered -EAGAIN), so no op holds an OSD's resources forever and
none is judged under a map older than its client's.

Pure: the OSD shell feeds it epochs and elapsed times and carries out the decision;
the objecter takes its backoff from `eagain_backoff`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Step(enum.Enum):
    READY = "ready"
    """The OSD has the op's epoch: go on."""
    WAIT = "wait"
    """Wait for the map (at most ``Decision.wait`` seconds, then decide again)."""
    GIVE_UP = "give_up"
    """Waited long enough: answer EAGAIN (the client sends the op again)."""


@dataclass(frozen=True)
class MapWaitPolicy:
    """``osd_map_wait_resubscribe_interval`` and ``osd_map_wait_timeout``."""

    resubscribe_every: float = 10.0
    """Seconds between requests to the monitors for the maps after the OSD's own."""
    give_up_after: float = 30.0
    """Seconds an op waits for its map before it is answered EAGAIN."""


@dataclass(frozen=True)
class Decision:
    step: Step
    ask: bool = False
    """Ask the monitors for the maps after the OSD's own now."""
    wait: float = 0.0
    """With WAIT: seconds until the next decision (sooner if a map comes)."""


def decide(
    op_epoch: int, have_epoch: int, waited: float, since_asked: float | None, policy: MapWaitPolicy
) -> Decision:
    """What an op with map ``op_epoch`` does on an OSD at ``have_epoch`` after waiting
    ``waited`` seconds, the OSD having last asked the monitors for maps
    ``since_asked`` seconds ago (None: never). One request serves every op waiting
    meanwhile: the OSD asks at most once per ``resubscribe_every`` seconds."""
    if have_epoch >= op_epoch:
        return Decision(Step.READY)
    if waited >= policy.give_up_after:
        return Decision(Step.GIVE_UP)
    if since_asked is None or since_asked >= policy.resubscribe_every:
        ask, until_ask = True, policy.resubscribe_every
    else:
        ask, until_ask = False, policy.resubscribe_every - since_asked
    return Decision(Step.WAIT, ask, min(until_ask, policy.give_up_after - waited))


EAGAIN_BACKOFF = 0.1
"""Seconds before a client sends again an op first answered EAGAIN."""
EAGAIN_BACKOFF_MAX = 2.0
"""The longest pause between two sends of an op answered EAGAIN each time."""


def eagain_backoff(eagains: int) -> float:
    """Seconds a client waits before it sends again an op answered EAGAIN, when
    ``eagains`` earlier sends of it were answered so too: doubling from
    `EAGAIN_BACKOFF` up to `EAGAIN_BACKOFF_MAX` (a new map sends it at once)."""
    return min(EAGAIN_BACKOFF * 2.0 ** min(eagains, 32), EAGAIN_BACKOFF_MAX)
