"""Connection modes, as Ceph's msgr2 has them: how frames are protected once a
connection is authenticated. Pure: parsing the options and picking a mode.

- ``crc``: the peers proved who they are (the authenticator's mutual challenge, and
  cephx tickets and caps for every op, exactly as in ``secure``), then each frame only
  carries an xxh3-64 checksum. It catches corruption on the wire, not an attacker:
  whoever can write into the TCP stream (an on-path host) can change a frame and
  recompute its checksum, or inject whole frames, and acts with the authenticated
  peer's rights on that connection. Ceph's default: its clusters run on networks an
  operator controls, and the per-frame MAC costs CPU on every byte of data (here
  ~2.4 ms per MB of HMAC-SHA256 across three OSDs, more than the rest of a replicated
  4 MiB write).
- ``secure``: every frame is signed with HMAC-SHA256 under the session key (see
  `radospy.msg.frame`): a changed, injected, replayed or reordered frame fails its
  check and closes the connection. (Ceph's ``secure`` also encrypts with AES-GCM; we
  sign without encrypting: the data is readable on the wire in both modes.)

Which list applies to a connection (`modes_for`), as Ceph's AuthRegistry:
``ms_client_mode`` on a client's connections, ``ms_service_mode`` on a daemon's
connections with clients, ``ms_cluster_mode`` between daemons. Each is a list in order
of preference ("crc secure" by default for all three, so crc is chosen). The dialling
side sends its list; the accepting side takes the first mode of it that its own list
also has (`pick_mode`), or refuses the connection with EOPNOTSUPP.

Neither mode can be forced on a peer by someone on the path: the dialler's list and the
acceptor's choice travel in the first two frames after authentication
(`SessionConnect`, `SessionReady`), which are always signed with the session key; only
then do both sides switch to the chosen mode. Without a session key (an authenticator
that gives none) every frame has the xxh3 checksum whatever the mode.
"""

from __future__ import annotations

import re
from errno import EINVAL

from radospy.common.errors import RadosError

CRC = "crc"
SECURE = "secure"
MODES = (CRC, SECURE)
"""Every connection mode, by its name in the options."""

DEFAULT = "crc secure"
"""Ceph's default for ms_cluster_mode, ms_service_mode and ms_client_mode."""

DAEMON_TYPES = frozenset({"mon", "osd", "mds", "mgr"})
"""Entity types that are cluster daemons; every other entity is a client."""


def parse_modes(option: str, text: str) -> tuple[str, ...]:
    """The modes of option ``option`` (``"crc secure"``: space or comma separated, in
    order of preference); EINVAL for an empty list or an unknown mode."""
    modes = tuple(dict.fromkeys(m for m in re.split(r"[\s,;]+", text.strip()) if m))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise RadosError(
            f"invalid {option} '{text}': expected a list of {' and '.join(MODES)}", EINVAL
        )
    return modes


def is_daemon(entity_name: str) -> bool:
    """Whether ``entity_name`` (``osd.3``, ``client.admin``) names a cluster daemon."""
    return entity_name.partition(".")[0] in DAEMON_TYPES


def modes_for(
    my_name: str,
    peer_name: str,
    cluster: tuple[str, ...],
    service: tuple[str, ...],
    client: tuple[str, ...],
) -> tuple[str, ...]:
    """The modes this side allows on a connection between ``my_name`` and ``peer_name``
    (``peer_name`` may be a wildcard such as ``mon.*``)."""
    if not is_daemon(my_name):
        return client
    return cluster if is_daemon(peer_name) else service


def pick_mode(offered: list[str] | tuple[str, ...], allowed: tuple[str, ...]) -> str | None:
    """The first of the dialler's ``offered`` modes that the acceptor ``allowed``
    (Ceph's pick_con_mode: the dialler's preference wins); None when none is."""
    for mode in offered:
        if mode in allowed:
            return mode
    return None
