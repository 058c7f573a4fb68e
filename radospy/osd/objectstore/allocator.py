"""Free space of the object store's block file, in fixed-size allocation units.

A bitmap, one byte per unit (0 free, 1 used): 16 KiB of memory per GiB of block file
at 64 KiB units, and `bytearray.find` does a first-fit search for a run of free units
in C. The store rebuilds it on open from the units its committed metadata references,
so it is never written anywhere: whatever a crash left allocated but unreferenced is
free again.

The allocator only hands out units and takes them back; *when* freed units may be
handed out again (after the metadata commit that frees them, and after any reader
that might still be reading them) is the store's business.
"""

from __future__ import annotations

from collections.abc import Iterable


class Allocator:
    """Allocation units of a file that grows at its end as needed.

    `size` is the number of units the file holds now; `used` the units in use.
    """

    def __init__(self, size: int = 0, used: Iterable[int] = ()) -> None:
        self._map = bytearray(size)
        self._used = 0
        for unit in used:
            if unit >= len(self._map):
                self._map.extend(bytes(unit + 1 - len(self._map)))
            if not self._map[unit]:
                self._map[unit] = 1
                self._used += 1

    @property
    def size(self) -> int:
        """Units the file spans (used or not)."""
        return len(self._map)

    @property
    def used(self) -> int:
        """Units in use."""
        return self._used

    def is_used(self, unit: int) -> bool:
        """Whether `unit` is allocated."""
        return unit < len(self._map) and bool(self._map[unit])

    def allocate(self, count: int) -> list[int]:
        """`count` free units, marked used, ascending.

        One contiguous run when the file has one (so that an object's data is one
        sequential read), else the first free units when there are enough, else a run
        at the end of the file, which grows.
        """
        if count <= 0:
            return []
        start = self._map.find(bytes(count))
        if start < 0 and len(self._map) - self._used >= count:
            units = []
            at = self._map.find(0)
            while len(units) < count:
                units.append(at)
                at = self._map.find(0, at + 1)
        else:
            if start < 0:
                # Not enough free space: the file grows, from its free tail if any.
                start = len(self._map.rstrip(b"\0"))
                self._map.extend(bytes(start + count - len(self._map)))
            units = list(range(start, start + count))
        for unit in units:
            self._map[unit] = 1
        self._used += count
        return units

    def release(self, units: Iterable[int]) -> None:
        """Mark `units` free; a unit not in use is a bug in the caller."""
        for unit in units:
            if not self.is_used(unit):
                raise ValueError(f"allocation unit {unit} released twice")
            self._map[unit] = 0
            self._used -= 1
