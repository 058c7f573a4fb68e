"""Everything the monitors replicate, and the one way it changes: `MonState.apply(entry)`.

The state is a pure value: no I/O, no clock, no randomness. An entry is a msgpack map
`{"prefix": ..., "cmd": {...}, "stamp": float}` made by `commands.handle_command` on the
leader, with every choice already in `cmd` (generated keys, new OSD ids, the epoch the
change produces) and the leader's clock in `stamp`. Applying the same entries to equal
states gives equal states on every monitor.

An entry whose OSDMap epoch no longer fits (another change committed between validation
and commit) is refused with EAGAIN and changes nothing; the driver should propose OSDMap
changes one at a time, or answer EAGAIN by running the command again.

Every OSDMap change makes a new map with the epoch one higher; `history` keeps the
update (incremental) of each recent epoch and a full map now and then, for subscribers
catching up and for commands about past epochs (see `osdmap_history`).
"""

from __future__ import annotations

import copy
import errno
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgpack

from radospy.auth.database import AuthDatabase
from radospy.auth.keyring import Keyring
from radospy.common.errors import RadosError
from radospy.mon.cmdspec import CommandResult, Retry, error_result
from radospy.mon.osdmap_history import OSDMapHistory
from radospy.mon.osdmap_wire import (
    PoolExtras,
    decode_osdmap,
    encode_osdmap,
    extras_dicts,
)
from radospy.osdmap.osdmap import (
    DEFAULT_ERASURE_CODE_PROFILE,
    MapFlag,
    OSDMap,
    build_simple_crush,
)

_BOOTSTRAP_FLAGS = (
    MapFlag.SORTBITWISE
    | MapFlag.RECOVERY_DELETES
    | MapFlag.PURGED_SNAPDIRS
    | MapFlag.PGLOG_HARDLIMIT
)
"""The flags of a new Pacific cluster's first OSDMap."""


def format_stamp(stamp: float) -> str:
    """A time as Ceph's `utime_t` prints it: `2026-11-28T15:10:52.443251+0000`."""
    moment = datetime.fromtimestamp(stamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


@dataclass
class MonState:
    """The replicated state: OSDMap (with its recent past), auth, central config."""

    fsid: str
    osdmap: OSDMap
    auth: AuthDatabase = field(default_factory=AuthDatabase)
    config: dict[str, dict[str, str]] = field(default_factory=dict)
    """Central config: who (`global`, `osd`, `osd.3`, ...) -> option -> value."""
    pool_extras: dict[int, PoolExtras] = field(default_factory=dict)
    history: OSDMapHistory | None = None
    """Past epochs; None on a scratch copy, which keeps none."""
    last_up_change: float = 0.0
    last_in_change: float = 0.0
    _committed_extras: dict[int, dict[str, Any]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """`pool_extras` as of the last committed epoch, to see whether a change touched them."""
    _full_cache: tuple[int, bytes] | None = field(default=None, repr=False, compare=False)
    """The current epoch's full map, encoded when first asked for."""

    # -- construction -------------------------------------------------------------------

    @classmethod
    def bootstrap(
        cls,
        fsid: str,
        now: float = 0.0,
        keyring: Keyring | None = None,
        config: dict[str, dict[str, str]] | None = None,
    ) -> MonState:
        """The state `ceph-mon --mkfs` leaves: OSDMap epoch 1 with no OSDs, the CRUSH map
        of a new cluster (root `default`, types osd..root, rule 0 `replicated_rule`
        choosing leaves across hosts), the `default` erasure-code profile, Pacific's
        flags and ratios; the entities of `keyring`; and an initial central config."""
        osdmap = OSDMap(
            epoch=1,
            fsid=fsid,
            created=format_stamp(now),
            modified=format_stamp(now),
            flags=_BOOTSTRAP_FLAGS,
            crush=build_simple_crush(0),
            full_ratio=0.95,
            backfillfull_ratio=0.9,
            nearfull_ratio=0.85,
            require_min_compat_client="luminous",
            require_osd_release="pacific",
        )
        osdmap.erasure_code_profiles["default"] = dict(DEFAULT_ERASURE_CODE_PROFILE)
        state = cls(fsid=fsid, osdmap=osdmap, config=copy.deepcopy(config or {}))
        if keyring is not None:
            state.auth.import_keyring(keyring)
        state.history = OSDMapHistory.start(osdmap, {})
        return state

    # -- the state machine --------------------------------------------------------------

    def apply(self, entry: bytes) -> CommandResult:
        """Apply one committed entry; deterministic, never raises for any input."""
        from radospy.mon.commands import COMMANDS_BY_NAME

        try:
            decoded = msgpack.unpackb(entry, raw=False, strict_map_key=False)
            prefix, cmd, stamp = decoded["prefix"], decoded["cmd"], float(decoded["stamp"])
            command = COMMANDS_BY_NAME[prefix]
        except (ValueError, KeyError, TypeError, msgpack.UnpackException):
            return CommandResult(-errno.EINVAL, b"", "malformed monitor log entry")
        if command.apply is None or not isinstance(cmd, dict):
            return CommandResult(-errno.EINVAL, b"", "malformed monitor log entry")
        try:
            return command.apply(self, cmd, stamp).result
        except RadosError as e:
            return error_result(e)

    def scratch(self) -> MonState:
        """A throw-away copy to validate a command on (shares nothing that apply mutates)."""
        return MonState(
            fsid=self.fsid,
            osdmap=self.osdmap,
            auth=self.auth.copy(),
            config={who: dict(section) for who, section in self.config.items()},
            pool_extras={pid: extras.copy() for pid, extras in self.pool_extras.items()},
            history=None,
            last_up_change=self.last_up_change,
            last_in_change=self.last_in_change,
        )

    # -- OSDMap changes (used by apply handlers) -----------------------------------------

    def begin_osdmap(self, cmd: dict[str, Any], crush: bool = False) -> OSDMap:
        """A private copy of the OSDMap to change; EAGAIN if the command was validated
        against another epoch than the current one (its `_epoch` is the epoch it makes).

        Apply handlers never change `self.osdmap` in place: they change this copy and
        hand it to `commit_osdmap`, so a refusal half-way leaves the state untouched.
        The copy shares the CRUSH map with the current one unless `crush` is True: a
        handler that edits the CRUSH map in place must ask for its own copy (copying it
        costs more than all the rest of the map; replacing it needs none).
        """
        if cmd.get("_epoch") != self.osdmap.epoch + 1:
            raise Retry(
                f"osdmap is at epoch {self.osdmap.epoch}, command was for epoch "
                f"{cmd.get('_epoch')}; retry"
            )
        return self.osdmap.copy(crush=crush)

    def commit_osdmap(self, new: OSDMap, stamp: float) -> None:
        """Install `new` as the next epoch, stamped `stamp`."""
        old = self.osdmap
        new.epoch = old.epoch + 1
        new.modified = format_stamp(stamp)
        up_changed, in_changed = _up_in_changed(old, new)
        if up_changed:
            self.last_up_change = stamp
        if in_changed:
            self.last_in_change = stamp
        self.osdmap = new
        if self.history is not None:
            extras = extras_dicts(self.pool_extras)
            self.history.record(old, new, self.pool_extras, extras != self._committed_extras)
            self._committed_extras = extras

    def osdmap_at(self, epoch: int) -> tuple[OSDMap, dict[int, PoolExtras]] | None:
        """The map and pool extras of `epoch`: the current ones, or a kept past epoch's
        (None if `epoch` is not kept or not reached yet)."""
        if epoch == self.osdmap.epoch:
            return self.osdmap, self.pool_extras
        if self.history is None or epoch > self.osdmap.epoch:
            return None
        return self.history.map_at(epoch)

    def osdmap_bytes(self, epoch: int) -> bytes | None:
        """The full map of `epoch` (see `encode_osdmap`), or None if not kept."""
        if epoch == self.osdmap.epoch:
            if self._full_cache is None or self._full_cache[0] != epoch:
                self._full_cache = (epoch, encode_osdmap(self.osdmap, self.pool_extras))
            return self._full_cache[1]
        found = self.osdmap_at(epoch)
        return encode_osdmap(*found) if found is not None else None

    def osdmap_updates(self, have: int) -> list[tuple[int, bytes]] | None:
        """The updates (epoch, `encode_update`) that take a subscriber at epoch `have` to
        the current epoch; None if it is too far behind and needs the full map."""
        if self.history is None or have > self.osdmap.epoch:
            return None
        return self.history.updates_after(have, self.osdmap.epoch)

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state as msgpack; `restore(snapshot())` equals this state."""
        return bytes(
            msgpack.packb(
                {
                    "fsid": self.fsid,
                    "osdmap": encode_osdmap(self.osdmap, self.pool_extras),
                    "osdmap_history": self.history.to_dict() if self.history else None,
                    "auth": self.auth.to_dict(),
                    "config": self.config,
                    "last_up_change": self.last_up_change,
                    "last_in_change": self.last_in_change,
                },
                use_bin_type=True,
            )
        )

    @classmethod
    def restore(cls, data: bytes) -> MonState:
        """The state a `snapshot()` holds."""
        d = msgpack.unpackb(data, raw=False, strict_map_key=False)
        osdmap, extras = decode_osdmap(d["osdmap"])
        kept = d.get("osdmap_history")
        history = OSDMapHistory.from_dict(kept) if kept else OSDMapHistory.start(osdmap, extras)
        return cls(
            fsid=str(d["fsid"]),
            osdmap=osdmap,
            auth=AuthDatabase.from_dict(d["auth"]),
            config={who: dict(opts) for who, opts in d["config"].items()},
            pool_extras=extras,
            history=history,
            last_up_change=float(d["last_up_change"]),
            last_in_change=float(d["last_in_change"]),
            _committed_extras=extras_dicts(extras),
        )


def _up_in_changed(old: OSDMap, new: OSDMap) -> tuple[bool, bool]:
    """Whether any OSD went up or down, and whether any went in or out.

    Only OSDs whose state or reweight differ are asked about: this runs for every
    epoch every monitor applies, and most epochs change neither.
    """
    up = in_ = False
    for osd, (a, b) in enumerate(zip(old.osds, new.osds, strict=False)):
        if a.state != b.state or a.weight != b.weight:
            up = up or old.is_up(osd) != new.is_up(osd)
            in_ = in_ or old.is_in(osd) != new.is_in(osd)
    # OSD ids only one of the maps has (max_osd changed) are neither up nor in in the
    # other one.
    for osdmap in (old, new):
        for osd in range(min(old.max_osd, new.max_osd), osdmap.max_osd):
            up = up or osdmap.is_up(osd)
            in_ = in_ or osdmap.is_in(osd)
    return up, in_
