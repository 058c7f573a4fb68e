"""The MonMap: which monitors form the cluster, where they listen, and their ranks.

Ranks are Ceph's legacy ranks: monitors ordered by address the way Ceph compares
`entity_addr_t` (a memcmp of the sockaddr: family, then port, then IP), ties by name.
radospy speaks one protocol, so each monitor has one address, printed as Ceph prints a
msgr2-only monitor: `0: v2:127.0.0.1:3300/0 mon.a`. The text (`monmaptool --print`,
`ceph mon dump`), JSON (`ceph mon dump --format json`) and `ceph mon stat` shapes are
Ceph 16.2.15's; the encoding (msgpack) is our own.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgpack

from radospy.common.addr import Addr, parse_addr
from radospy.common.config import ZERO_FSID
from radospy.common.errors import Exists, InvalidArgument, NotFound, RadosError

ELECTION_CLASSIC = 1
"""Ceph's `election_strategy: 1`; Raft elects our leaders, ranks do not."""

RELEASE_NAMES = {
    0: "unknown",
    12: "luminous",
    13: "mimic",
    14: "nautilus",
    15: "octopus",
    16: "pacific",
    17: "quincy",
}

_T = TypeVar("_T")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_FORMAT = 1


def now_stamp() -> str:
    """The current time as Ceph prints a `utime_t`: `2024-05-01T12:00:00.123456+0000`."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def check_mon_name(name: str) -> str:
    """A monitor name (`a`, `mon-1`); InvalidArgument if it cannot be one."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"invalid monitor name '{name}': use letters, digits, '_', '-' and '.'"
        )
    return name


@dataclass
class MonMap:
    """The monitors of a cluster, epoch-numbered; `mons` maps name → address."""

    fsid: str = ZERO_FSID
    epoch: int = 0
    created: str = ""
    modified: str = ""
    mons: dict[str, Addr] = field(default_factory=dict)
    min_mon_release: int = 0
    election_strategy: int = ELECTION_CLASSIC

    @classmethod
    def create(cls, fsid: str | None = None) -> MonMap:
        """A new, empty epoch-0 map; a random fsid unless one is given."""
        stamp = now_stamp()
        fsid = str(uuid.UUID(fsid)) if fsid else str(uuid.uuid4())
        return cls(fsid=fsid, created=stamp, modified=stamp)

    # -- membership --

    @property
    def ranks(self) -> list[str]:
        """Monitor names in rank order (rank i is `ranks[i]`)."""
        return sorted(self.mons, key=lambda n: (self.mons[n].sort_key(), n))

    def rank(self, name: str) -> int:
        """The rank of monitor `name`; NotFound if it is not in the map."""
        if name not in self.mons:
            raise NotFound(f"mon.{name} does not exist")
        return self.ranks.index(name)

    def name_of(self, rank: int) -> str:
        """The monitor at `rank`; NotFound if there is none."""
        ranks = self.ranks
        if not 0 <= rank < len(ranks):
            raise NotFound(f"no monitor with rank {rank}")
        return ranks[rank]

    def find_addr(self, addr: Addr) -> str | None:
        """The name of the monitor at `addr`, if any."""
        return next((n for n, a in self.mons.items() if a == addr), None)

    def add(self, name: str, addr: Addr | str) -> None:
        """Add monitor `name` at `addr`; Exists if the name or the address is taken."""
        check_mon_name(name)
        if isinstance(addr, str):
            addr = parse_addr(addr, require_ip=True)
        if addr.ip is None:
            raise InvalidArgument(f"monitor address '{addr}' is not an IP address")
        if name in self.mons:
            raise Exists(f"map already contains mon.{name}")
        if self.find_addr(addr) is not None:
            raise Exists(f"map already contains {addr.entity_str()}")
        self.mons[name] = addr

    def remove(self, name: str) -> None:
        """Remove monitor `name`; NotFound if it is not in the map."""
        if name not in self.mons:
            raise NotFound(f"map does not contain {name}")
        del self.mons[name]

    # -- encoding --

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what `encode` packs); mons in rank order."""
        return {
            "v": _FORMAT,
            "fsid": self.fsid,
            "epoch": self.epoch,
            "created": self.created,
            "modified": self.modified,
            "min_mon_release": self.min_mon_release,
            "election_strategy": self.election_strategy,
            "mons": [[name, str(self.mons[name])] for name in self.ranks],
        }

    @classmethod
    def from_dict(cls, data: Any) -> MonMap:
        """Rebuild a map from `to_dict` output; InvalidArgument if anything is off."""
        try:
            return cls._from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InvalidArgument(f"malformed monmap: {e!r}") from None
        except RadosError as e:
            raise InvalidArgument(f"malformed monmap: {e}") from None

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> MonMap:
        if data["v"] != _FORMAT:
            raise ValueError(f"unsupported monmap format {data['v']!r}")
        monmap = cls(
            fsid=str(uuid.UUID(_typed(data["fsid"], str))),
            epoch=_typed(data["epoch"], int),
            created=_typed(data["created"], str),
            modified=_typed(data["modified"], str),
            min_mon_release=_typed(data["min_mon_release"], int),
            election_strategy=_typed(data["election_strategy"], int),
        )
        if monmap.epoch < 0:
            raise ValueError(f"negative epoch {monmap.epoch}")
        for name, addr in _typed(data["mons"], list):
            monmap.add(_typed(name, str), _typed(addr, str))
        return monmap

    def encode(self) -> bytes:
        """The map as msgpack bytes."""
        return msgpack.packb(self.to_dict(), use_bin_type=True)

    @classmethod
    def decode(cls, data: bytes) -> MonMap:
        """A map from `encode` output; InvalidArgument for anything else."""
        try:
            obj = msgpack.unpackb(data, raw=False, strict_map_key=True)
        except (ValueError, msgpack.UnpackException) as e:
            raise InvalidArgument(f"malformed monmap: {e}") from None
        return cls.from_dict(obj)

    # -- output, as Ceph shows it --

    def print_text(self) -> str:
        """`monmaptool --print` / `ceph mon dump` text."""
        lines = [
            f"epoch {self.epoch}",
            f"fsid {self.fsid}",
            f"last_changed {self.modified}",
            f"created {self.created}",
            f"min_mon_release {self.min_mon_release} ({self.release_name})",
            f"election_strategy: {self.election_strategy}",
        ]
        lines += [f"{r}: {self.mons[n].entity_str()} mon.{n}" for r, n in enumerate(self.ranks)]
        return "\n".join(lines) + "\n"

    @property
    def release_name(self) -> str:
        return RELEASE_NAMES.get(self.min_mon_release, "unknown")

    def dump(self) -> dict[str, Any]:
        """`ceph mon dump --format json`."""
        return {
            "epoch": self.epoch,
            "fsid": self.fsid,
            "modified": _json_time(self.modified),
            "created": _json_time(self.created),
            "min_mon_release": self.min_mon_release,
            "min_mon_release_name": self.release_name,
            "election_strategy": self.election_strategy,
            "disallowed_leaders: ": "",
            "stretch_mode": False,
            "tiebreaker_mon": "",
            "removed_ranks: ": "",
            "features": {"persistent": [], "optional": []},
            "mons": [self._dump_mon(rank, name) for rank, name in enumerate(self.ranks)],
        }

    def _dump_mon(self, rank: int, name: str) -> dict[str, Any]:
        addr = self.mons[name]
        legacy = f"{addr}/0"
        return {
            "rank": rank,
            "name": name,
            "public_addrs": {"addrvec": [{"type": "v2", "addr": str(addr), "nonce": 0}]},
            "addr": legacy,
            "public_addr": legacy,
            "priority": 0,
            "weight": 0,
            "crush_location": "{}",
        }

    def summary(self) -> str:
        """Ceph's `MonMap::print_summary`: `e3: 3 mons at {a=v2:…/0,b=…}` (names sorted)."""
        members = ",".join(f"{n}={self.mons[n].entity_str()}" for n in sorted(self.mons))
        return f"e{self.epoch}: {len(self.mons)} mons at {{{members}}}"

    def stat_line(self, election_epoch: int, leader: str, quorum: Sequence[str]) -> str:
        """`ceph mon stat`: summary, election epoch, leader and the quorum by rank."""
        ranks = sorted(self.rank(n) for n in quorum)
        names = ",".join(self.name_of(r) for r in ranks)
        return (
            f"{self.summary()}, election epoch {election_epoch}, "
            f"leader {self.rank(leader)} {leader}, "
            f"quorum {','.join(map(str, ranks))} {names}"
        )

    def stat_dict(self, leader: str, quorum: Sequence[str]) -> dict[str, Any]:
        """`ceph mon stat --format json`."""
        ranks = sorted(self.rank(n) for n in quorum)
        return {
            "epoch": self.epoch,
            "min_mon_release_name": self.release_name,
            "num_mons": len(self.mons),
            "leader": leader,
            "quorum": [{"rank": r, "name": self.name_of(r)} for r in ranks],
        }


def _json_time(stamp: str) -> str:
    """Ceph dumps monmap times in JSON as UTC with a `Z` (`utime_t::gmtime`)."""
    return stamp[: -len("+0000")] + "Z" if stamp.endswith("+0000") else stamp


def _typed(value: Any, kind: type[_T]) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value
