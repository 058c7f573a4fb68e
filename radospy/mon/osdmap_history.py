"""The OSDMap epochs the monitors keep: an update (incremental) for every recent epoch
and a full map every `FULL_MAP_INTERVAL` epochs, as Ceph keeps incrementals and full
maps side by side. Part of the replicated state, so it changes only by `record`.

Any kept epoch is its nearest full map at or below it with the updates after it
applied. Trimming keeps at least the last `OSDMAP_EPOCHS_KEPT` epochs and the full map
they start from. A subscriber at a kept epoch catches up with the updates after it; one
further behind gets the current full map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radospy.mon.osdmap_wire import (
    OSDMapUpdate,
    PoolExtras,
    apply_update,
    decode_osdmap,
    encode_osdmap,
    encode_update,
    extras_dicts,
)
from radospy.osdmap import incremental
from radospy.osdmap.osdmap import OSDMap

OSDMAP_EPOCHS_KEPT = 500
"""Epochs kept at least (Ceph keeps at least `mon_min_osdmap_epochs`, 500)."""
FULL_MAP_INTERVAL = 50
"""A full map is kept for every epoch that is a multiple of this (and the first)."""


@dataclass
class OSDMapHistory:
    """Full maps and updates by epoch, up to the current epoch."""

    fulls: dict[int, bytes]
    """Epoch -> `encode_osdmap` of that epoch."""
    updates: dict[int, bytes]
    """Epoch -> `encode_update` of the update that made it."""

    @classmethod
    def start(cls, osdmap: OSDMap, extras: dict[int, PoolExtras]) -> OSDMapHistory:
        """A history holding only `osdmap`, in full."""
        return cls({osdmap.epoch: encode_osdmap(osdmap, extras)}, {})

    @property
    def first(self) -> int:
        """The oldest epoch kept."""
        return min(self.fulls)

    def record(
        self,
        old: OSDMap,
        new: OSDMap,
        new_extras: dict[int, PoolExtras],
        extras_changed: bool,
    ) -> None:
        """Keep the update from `old` to `new` (the next epoch), a full map of `new` if
        its epoch calls for one, and trim what is no longer needed."""
        extras = extras_dicts(new_extras) if extras_changed else None
        update = OSDMapUpdate(incremental.diff(old, new), extras)
        self.updates[new.epoch] = encode_update(update)
        if new.epoch % FULL_MAP_INTERVAL == 0:
            self.fulls[new.epoch] = encode_osdmap(new, new_extras)
        floor = new.epoch - OSDMAP_EPOCHS_KEPT + 1
        base = max((e for e in self.fulls if e <= floor), default=None)
        # The base moves once every FULL_MAP_INTERVAL epochs: only then is anything
        # left to trim (scanning every kept update on each epoch cost more than the rest).
        if base is not None and base > self.first:
            for epoch in [e for e in self.fulls if e < base]:
                del self.fulls[epoch]
            for epoch in [e for e in self.updates if e <= base]:
                del self.updates[epoch]

    def updates_after(self, have: int, current: int) -> list[tuple[int, bytes]] | None:
        """The updates `have`+1..`current` for a subscriber at `have`; None when some of
        them are no longer kept (it needs a full map)."""
        if have < self.first:
            return None
        wanted = range(have + 1, current + 1)
        if any(e not in self.updates for e in wanted):
            return None
        return [(e, self.updates[e]) for e in wanted]

    def map_at(self, epoch: int) -> tuple[OSDMap, dict[int, PoolExtras]] | None:
        """Map and pool extras of a kept past `epoch`, or None."""
        base = max((e for e in self.fulls if e <= epoch), default=None)
        if base is None or any(e not in self.updates for e in range(base + 1, epoch + 1)):
            return None
        osdmap, extras = decode_osdmap(self.fulls[base])
        for e in range(base + 1, epoch + 1):
            osdmap, extras = apply_update(osdmap, extras, self.updates[e])
        return osdmap, extras

    def to_dict(self) -> dict[str, Any]:
        """For the state's snapshot."""
        return {
            "fulls": dict(sorted(self.fulls.items())),
            "updates": dict(sorted(self.updates.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[Any, Any]) -> OSDMapHistory:
        """Read what `to_dict` wrote."""
        return cls(
            {int(e): bytes(b) for e, b in d["fulls"].items()},
            {int(e): bytes(b) for e, b in d["updates"].items()},
        )
