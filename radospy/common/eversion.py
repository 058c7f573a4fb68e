"""`eversion_t`: the (epoch, version) stamp that orders every change within a PG."""

from __future__ import annotations

import re

import msgspec

from radospy.common.errors import InvalidArgument

_EVERSION_RE = re.compile(r"(\d+)'(\d+)")


class Eversion(msgspec.Struct, frozen=True, array_like=True, order=True):
    """An OSDMap epoch and a per-PG version, compared epoch first as Ceph does.

    Printed `EPOCH'VERSION` (`5'42`), the way `ceph pg dump` and the OSD logs show it.
    The zero value `0'0` means "never written".
    """

    epoch: int = 0
    version: int = 0

    def __str__(self) -> str:
        return f"{self.epoch}'{self.version}"

    @classmethod
    def parse(cls, text: str) -> Eversion:
        """Parse `EPOCH'VERSION`."""
        match = _EVERSION_RE.fullmatch(text.strip())
        if match is None:
            raise InvalidArgument(f"invalid eversion '{text}'")
        return cls(int(match.group(1)), int(match.group(2)))
