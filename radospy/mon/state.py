"""Everything the monitors replicate, and the one way it changes: `MonState.apply(entry)`.

The state is a pure value: no I/O, no clock, no randomness. An entry is a msgpack map
`{"prefix": ..., "cmd": {...}, "stamp": float}` made by `commands.handle_command` on the
leader, with every choice already in `cmd` (generated keys, new OSD ids, the epoch the
change produces) and the leader's clock in `stamp`. Applying the same entries to equal
states gives equal states on every monitor.

An entry whose OSDMap epoch no longer fits (another change committed between validation
and commit) is refused with EAGAIN and changes nothing; the driver should propose OSDMap
changes one at a time, or answer EAGAIN by running the command again.

Every OSDMap change makes a new full map with the epoch one higher; the last
`OSDMAP_EPOCHS_KEPT` (500) full maps are kept, encoded, for subscribers catching up
(`osdmap_bytes`); older ones are dropped, as Ceph trims old maps.
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
from radospy.crush import codec
from radospy.crush.dump import to_dump
from radospy.crush.map import CrushMap
from radospy.mon.cmdspec import CommandResult, Retry, error_result
from radospy.osdmap.osdmap import (
    DEFAULT_ERASURE_CODE_PROFILE,
    MapFlag,
    OSDMap,
    build_simple_crush,
)

OSDMAP_EPOCHS_KEPT = 500
"""Full maps kept for subscribers (Ceph keeps at least `mon_min_osdmap_epochs`, 500)."""

_BOOTSTRAP_FLAGS = (
    MapFlag.SORTBITWISE
    | MapFlag.RECOVERY_DELETES
    | MapFlag.PURGED_SNAPDIRS
    | MapFlag.PGLOG_HARDLIMIT
)
"""The flags of a new Pacific cluster's first OSDMap."""

_EMPTY_CRUSH_DUMP = to_dump(CrushMap())


def format_stamp(stamp: float) -> str:
    """A time as Ceph's `utime_t` prints it: `2026-11-28T15:10:52.443251+0000`."""
    moment = datetime.fromtimestamp(stamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


@dataclass
class PoolSnap:
    """A pool snapshot (`pool_snap_info_t`)."""

    name: str
    stamp: float


@dataclass
class PoolExtras:
    """What Ceph's `pg_pool_t` keeps that our `Pool` model does not: creation time and
    snapshots. `snap_seq` only grows: creating a snapshot (pool or self-managed) takes
    the next id, removing one bumps it too. `removed_snaps` (ascending) are the ids the
    OSDs trim clones of."""

    create_time: float = 0.0
    snap_seq: int = 0
    snap_epoch: int = 0
    snaps: dict[int, PoolSnap] = field(default_factory=dict)
    removed_snaps: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "create_time": self.create_time,
            "snap_seq": self.snap_seq,
            "snap_epoch": self.snap_epoch,
            "snaps": {sid: [s.name, s.stamp] for sid, s in self.snaps.items()},
            "removed_snaps": list(self.removed_snaps),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolExtras:
        return cls(
            create_time=float(d["create_time"]),
            snap_seq=int(d["snap_seq"]),
            snap_epoch=int(d["snap_epoch"]),
            snaps={int(sid): PoolSnap(str(n), float(t)) for sid, (n, t) in d["snaps"].items()},
            removed_snaps=[int(s) for s in d.get("removed_snaps", [])],
        )


def encode_osdmap(osdmap: OSDMap, extras: dict[int, PoolExtras]) -> bytes:
    """A full map as subscribers get it: msgpack of `OSDMap.to_dict()` with the CRUSH
    map in Ceph's binary encoding (exact, class and shadow ids included) and the pools'
    snapshots under `pool_extras`."""
    d = osdmap.to_dict()
    d["crush"] = codec.encode(osdmap.crush)
    d["pool_extras"] = {pid: e.to_dict() for pid, e in sorted(extras.items())}
    return bytes(msgpack.packb(d, use_bin_type=True))


def decode_osdmap(data: bytes) -> tuple[OSDMap, dict[int, PoolExtras]]:
    """Read what `encode_osdmap` wrote (raises InvalidArgument-like errors on garbage)."""
    d = msgpack.unpackb(data, raw=False, strict_map_key=False)
    crush = codec.decode(d["crush"])
    d["crush"] = _EMPTY_CRUSH_DUMP
    osdmap = OSDMap.from_dict(d)
    osdmap.crush = crush
    extras = {int(pid): PoolExtras.from_dict(e) for pid, e in d["pool_extras"].items()}
    return osdmap, extras


@dataclass
class MonState:
    """The replicated state: OSDMap (with recent full maps), auth, central config."""

    fsid: str
    osdmap: OSDMap
    auth: AuthDatabase = field(default_factory=AuthDatabase)
    config: dict[str, dict[str, str]] = field(default_factory=dict)
    """Central config: who (`global`, `osd`, `osd.3`, ...) -> option -> value."""
    pool_extras: dict[int, PoolExtras] = field(default_factory=dict)
    osdmap_epochs: dict[int, bytes] = field(default_factory=dict)
    """Epoch -> encoded full map, the last OSDMAP_EPOCHS_KEPT of them."""
    last_up_change: float = 0.0
    last_in_change: float = 0.0
    _record_epochs: bool = field(default=True, repr=False, compare=False)

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
        state.osdmap_epochs[1] = encode_osdmap(osdmap, {})
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
            auth=copy.deepcopy(self.auth),
            config=copy.deepcopy(self.config),
            pool_extras=copy.deepcopy(self.pool_extras),
            osdmap_epochs={},
            last_up_change=self.last_up_change,
            last_in_change=self.last_in_change,
            _record_epochs=False,
        )

    # -- OSDMap changes (used by apply handlers) -----------------------------------------

    def begin_osdmap(self, cmd: dict[str, Any]) -> OSDMap:
        """A private copy of the OSDMap to change; EAGAIN if the command was validated
        against another epoch than the current one (its `_epoch` is the epoch it makes).

        Apply handlers never change `self.osdmap` in place: they change this copy and
        hand it to `commit_osdmap`, so a refusal half-way leaves the state untouched.
        """
        if cmd.get("_epoch") != self.osdmap.epoch + 1:
            raise Retry(
                f"osdmap is at epoch {self.osdmap.epoch}, command was for epoch "
                f"{cmd.get('_epoch')}; retry"
            )
        return copy.deepcopy(self.osdmap)

    def commit_osdmap(self, new: OSDMap, stamp: float) -> None:
        """Install `new` as the next epoch, stamped `stamp`."""
        old = self.osdmap
        new.epoch = old.epoch + 1
        new.modified = format_stamp(stamp)
        if _up_set(new) != _up_set(old):
            self.last_up_change = stamp
        if _in_set(new) != _in_set(old):
            self.last_in_change = stamp
        self.osdmap = new
        if self._record_epochs:
            self.osdmap_epochs[new.epoch] = encode_osdmap(new, self.pool_extras)
            for epoch in [e for e in self.osdmap_epochs if e <= new.epoch - OSDMAP_EPOCHS_KEPT]:
                del self.osdmap_epochs[epoch]

    def osdmap_bytes(self, epoch: int) -> bytes | None:
        """The full map of `epoch` (see `encode_osdmap`), or None if not kept."""
        return self.osdmap_epochs.get(epoch)

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The whole state as msgpack; `restore(snapshot())` equals this state."""
        return bytes(
            msgpack.packb(
                {
                    "fsid": self.fsid,
                    "osdmap": encode_osdmap(self.osdmap, self.pool_extras),
                    "osdmap_epochs": dict(sorted(self.osdmap_epochs.items())),
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
        return cls(
            fsid=str(d["fsid"]),
            osdmap=osdmap,
            auth=AuthDatabase.from_dict(d["auth"]),
            config={who: dict(opts) for who, opts in d["config"].items()},
            pool_extras=extras,
            osdmap_epochs={int(e): bytes(b) for e, b in d["osdmap_epochs"].items()},
            last_up_change=float(d["last_up_change"]),
            last_in_change=float(d["last_in_change"]),
        )


def _up_set(osdmap: OSDMap) -> set[int]:
    return {osd for osd in range(osdmap.max_osd) if osdmap.is_up(osd)}


def _in_set(osdmap: OSDMap) -> set[int]:
    return {osd for osd in range(osdmap.max_osd) if osdmap.is_in(osd)}
