"""Messenger options, named as Ceph names them where Ceph has the same knob."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


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
    """Sign frames with the session key when authentication produced one."""
