"""What the OSDs tell the leader about failures, and the map changes failure handling
makes.

From the OSDs (answered by the leader's daemon from :class:`~radospy.mon.failures.
FailureTracker`, never written to Raft — Ceph's ``MOSDFailure`` and ``MOSDBeacon``):

* ``osd failure`` ``target`` ``failed_for`` ``epoch`` [``immediate``] [``alive``]:
  ``target`` has not answered heartbeats for ``failed_for`` seconds (``alive``: it answers
  again, withdraw the report; ``immediate``: its address refused a connection).
* ``osd beacon`` ``epoch``: the sender is alive.

Both are accepted only from an authenticated ``osd.N``, about itself as the reporter.

Map changes the leader proposes (one OSDMap epoch each, applied by every monitor):

* ``osd mark-failed ID UP_FROM``: mark down the incarnation of ``osd.ID`` that is up
  since epoch ``UP_FROM`` (a reboot in between makes it a no-op); refused under
  ``nodown``.
* ``osd mark-autoout ID``: mark a down OSD out with the ``autoout`` state bit, so that its
  next boot marks it in again; refused under ``noout``.
"""

from __future__ import annotations

import errno
import math
from dataclasses import dataclass
from typing import Any

from radospy.common.errors import InvalidArgument, NotFound, RadosError
from radospy.mon.cmdspec import Command, Outcome, done, unchanged
from radospy.mon.state import MonState
from radospy.osdmap.osdmap import MapFlag, OsdStateFlag

REPORT_PREFIXES = ("osd failure", "osd beacon")
"""Commands the leader's daemon answers from its failure tracker."""


@dataclass(frozen=True)
class FailureMessage:
    """A validated ``osd failure`` (target >= 0) or ``osd beacon`` (target -1)."""

    reporter: int
    epoch: int
    target: int = -1
    failed_for: float = 0.0
    immediate: bool = False
    alive: bool = False


def parse_report(cmd: dict[str, Any], entity: str) -> FailureMessage:
    """Validate an ``osd failure``/``osd beacon`` from ``entity``; EACCES for
    anyone but an OSD, InvalidArgument for a malformed one."""
    kind, _, ident = entity.partition(".")
    if kind != "osd" or not ident.isdigit():
        raise RadosError(f"{cmd.get('prefix')} is for OSDs only, not {entity}", errno.EACCES)
    epoch = cmd.get("epoch")
    if not _is_int(epoch) or epoch < 0:
        raise InvalidArgument(f"invalid epoch {epoch!r}")
    if cmd["prefix"] == "osd beacon":
        return FailureMessage(int(ident), epoch)
    target, failed_for = cmd.get("target"), cmd.get("failed_for", 0.0)
    if not _is_int(target) or target < 0:
        raise InvalidArgument(f"invalid target osd {target!r}")
    if not isinstance(failed_for, int | float) or isinstance(failed_for, bool):
        raise InvalidArgument(f"invalid failed_for {failed_for!r}")
    if not math.isfinite(failed_for) or failed_for < 0:
        raise InvalidArgument(f"invalid failed_for {failed_for!r}")
    immediate, alive = cmd.get("immediate", False), cmd.get("alive", False)
    if not isinstance(immediate, bool) or not isinstance(alive, bool):
        raise InvalidArgument("immediate and alive must be booleans")
    return FailureMessage(int(ident), epoch, target, float(failed_for), immediate, alive)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def apply_mark_failed(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """``osd mark-failed ID UP_FROM``: mark that incarnation down (``down_at`` = the new
    epoch)."""
    osd, up_from = cmd["id"], cmd["up_from"]
    if not state.osdmap.exists(osd):
        raise NotFound(f"osd.{osd} does not exist")
    if state.osdmap.flags & MapFlag.NODOWN:
        return unchanged(f"nodown flag is set; osd.{osd} stays up")
    if not state.osdmap.is_up(osd):
        return unchanged(f"osd.{osd} is already down")
    if state.osdmap.osds[osd].up_from != up_from:
        return unchanged(f"osd.{osd} is up since e{state.osdmap.osds[osd].up_from} now")
    osdmap = state.begin_osdmap(cmd)
    osdmap.mark_down(osd)
    osdmap.osds[osd].down_at = osdmap.epoch + 1
    osdmap.osds[osd].down_stamp = stamp
    state.commit_osdmap(osdmap, stamp)
    return done(f"marked down osd.{osd}")


def apply_mark_autoout(state: MonState, cmd: dict, stamp: float) -> Outcome:
    """``osd mark-autoout ID``: mark a down OSD out, remembering it was automatic."""
    osd = cmd["id"]
    if not state.osdmap.exists(osd):
        raise NotFound(f"osd.{osd} does not exist")
    if state.osdmap.flags & MapFlag.NOOUT:
        return unchanged(f"noout flag is set; osd.{osd} stays in")
    if state.osdmap.is_up(osd):
        return unchanged(f"osd.{osd} is up")
    if state.osdmap.is_out(osd):
        return unchanged(f"osd.{osd} is already out")
    osdmap = state.begin_osdmap(cmd)
    osdmap.mark_out(osd)
    osdmap.osds[osd].state |= OsdStateFlag.AUTOOUT
    state.commit_osdmap(osdmap, stamp)
    return done(f"marked out osd.{osd}")


COMMANDS: tuple[Command, ...] = (
    Command(
        "osd mark-failed name=id,type=CephOsdName name=up_from,type=CephInt,range=0",
        "mark osd <id> down if it is still up since epoch <up_from> (failure detection)",
        "osd",
        "rwx",
        apply=apply_mark_failed,
    ),
    Command(
        "osd mark-autoout name=id,type=CephOsdName",
        "mark down osd <id> out, to be marked in again when it boots (failure detection)",
        "osd",
        "rwx",
        apply=apply_mark_autoout,
    ),
)
