"""The OSD's superblock: the newest OSDMap epoch it has fully taken in.

Ceph's OSD records ``superblock.newest_map`` in the same transaction as the PGs'
info and past intervals that the maps up to it changed. radospy does the same: the
epoch is written with every map's past intervals, so after a restart the stored
intervals hold every interval through that epoch, and the OSD asks the monitors for
exactly the epochs after it (see ``OsdDaemon._catch_up_base``).
"""

from __future__ import annotations

import struct

NEWEST_MAP_KEY = "superblock.newest_map"
"""The store meta key of the epoch."""

_EPOCH = struct.Struct("<Q")


def encode_newest_map(epoch: int) -> bytes:
    """The stored form of ``epoch``."""
    return _EPOCH.pack(epoch)


def decode_newest_map(raw: bytes | None) -> int:
    """The epoch ``encode_newest_map`` stored; 0 (no map taken in) when absent or not
    one of its values (an OSD then starts from the newest map, as before)."""
    if raw is None or len(raw) != _EPOCH.size:
        return 0
    return int(_EPOCH.unpack(raw)[0])
