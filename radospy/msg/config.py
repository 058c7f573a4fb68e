"""Messenger options, named as Ceph names them where Ceph has the same knob."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from radospy.msg.modes import DEFAULT, parse_modes

if TYPE_CHECKING:
    from radospy.common.config import Config

MIB = 1024 * 1024
_DEFAULT_MODES = parse_modes("default", DEFAULT)


@dataclass(frozen=True)
class MessengerConfig:
    """Limits and timers of one messenger (defaults follow Ceph's where it has one)."""

    ms_max_message_size: int = 100 * MIB
    """Largest frame payload accepted; a bigger frame closes the connection."""
    ms_dispatch_throttle_bytes: int = 100 * MIB
    """Received bytes waiting for the dispatcher before reading from the peer pauses."""
    ms_send_queue_bytes: int = 100 * MIB
    """Unacknowledged bytes per session before `Connection.send` waits."""
    ms_send_queue_messages: int = 4096
    """Unacknowledged messages per session before `Connection.send` waits."""
    ms_connection_ready_timeout: float = 10.0
    """Seconds a handshake (banner, auth, session) may take."""
    ms_initial_backoff: float = 0.2
    """First delay before reconnecting a faulted client session."""
    ms_max_backoff: float = 15.0
    """Reconnect delays double up to this."""
    ms_keepalive_interval: float = 10.0
    """An idle ready connection sends a Keepalive this often."""
    ms_keepalive_timeout: float = 30.0
    """A connection that heard nothing for this long is faulted."""
    ms_session_timeout: float = 900.0
    """A server keeps a disconnected client's session (for resume) this long."""
    ms_tcp_nodelay: bool = True
    """Disable Nagle, as Ceph does: small request frames must not wait for more."""
    cephx_sign_messages: bool = True
    """Sign frames with the session key when authentication produced one (False: no
    frame is signed, whatever the connection mode)."""
    ms_cluster_mode: tuple[str, ...] = _DEFAULT_MODES
    """Connection modes between daemons, in order of preference (`radospy.msg.modes`)."""
    ms_service_mode: tuple[str, ...] = _DEFAULT_MODES
    """Connection modes a daemon allows its clients."""
    ms_client_mode: tuple[str, ...] = _DEFAULT_MODES
    """Connection modes a client asks for."""

    def with_modes(self, config: Config) -> MessengerConfig:
        """This configuration with the connection modes ``config`` sets (radospy.conf,
        environment, command line); EINVAL when one is not a list of crc/secure."""
        return replace(
            self,
            **{
                name: parse_modes(name, config.get_str(name))
                for name in ("ms_cluster_mode", "ms_service_mode", "ms_client_mode")
            },
        )
