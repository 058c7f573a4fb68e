"""Lossless session state between two messengers, kept across TCP reconnects. No I/O.

Rules (the same as Ceph's lossless policy):

1. Every application message gets the next sequence number of its direction and stays
   in `unacked` until the peer acknowledges it. Nothing is forgotten because a socket
   broke: only an ack releases a message.
2. Frames arrive in order over one TCP connection, so the receiver keeps just `in_seq`,
   the last sequence number delivered. A frame at or below `in_seq` is a replay and is
   dropped (and re-acknowledged); a frame above `in_seq + 1` means the peer skipped one,
   which this protocol never does, so the session is broken.
3. Every frame carries the sender's `in_seq` as its ack, so acks ride on traffic; a bare
   Ack frame goes out only when something is owed and nothing else is going out.
4. On reconnect each side tells the other its `in_seq`; each side releases what that
   covers and resends the rest, in order. Duplicates are then dropped by rule 2.
5. If the peer lost the session (restart, expiry), `reset()` renumbers what is still
   unacknowledged from 1 so it can be resent in a fresh session. Those messages may have
   been delivered before the peer lost its state: exactly-once holds within a session,
   at-least-once across a peer restart (daemons de-duplicate by request id, as Ceph's
   OSDs do with reqids).

The send queue is bounded in messages and bytes (`has_room()`); the shell makes senders
wait for room, so a slow peer exerts backpressure instead of growing memory. One message
larger than the byte bound is still admitted when the queue is empty.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from errno import EPROTO
from typing import NamedTuple

from radospy.common.errors import RadosError
from radospy.msg.frame import Payload, payload_size


class SessionError(RadosError):
    """The peer broke the sequencing rules; the session cannot continue."""

    errno = EPROTO


class Receipt(Enum):
    """What to do with a received sequenced frame."""

    DELIVER = "deliver"
    DUPLICATE = "duplicate"


class Outgoing(NamedTuple):
    """A sequenced message: encoded once, resent as is after a reconnect."""

    seq: int
    type: int
    flags: int
    tid: int
    payload: Payload

    @property
    def size(self) -> int:
        return payload_size(self.payload)


@dataclass
class Session:
    """Sequence numbers, the unacknowledged queue and the ack owed to the peer."""

    cookie: int
    max_messages: int
    max_bytes: int
    out_seq: int = 0
    """Last sequence number given to an outgoing message."""
    in_seq: int = 0
    """Last sequence number delivered from the peer."""
    ack_sent: int = 0
    """Highest `in_seq` the peer has been told about."""
    unacked: deque[Outgoing] = field(default_factory=deque)
    queued_bytes: int = 0

    def has_room(self) -> bool:
        """True when one more message may be queued without passing the bounds."""
        if not self.unacked:
            return True
        return len(self.unacked) < self.max_messages and self.queued_bytes < self.max_bytes

    def enqueue(self, type_: int, flags: int, tid: int, payload: Payload) -> Outgoing:
        """Number a new message and keep it until acknowledged; the caller sends it."""
        self.out_seq += 1
        out = Outgoing(self.out_seq, type_, flags, tid, payload)
        self.unacked.append(out)
        self.queued_bytes += out.size
        return out

    def handle_ack(self, ack: int) -> int:
        """Release messages up to `ack`; returns how many were released."""
        if ack > self.out_seq:
            raise SessionError(f"peer acked seq {ack} but only {self.out_seq} were sent")
        released = 0
        while self.unacked and self.unacked[0].seq <= ack:
            self.queued_bytes -= self.unacked.popleft().size
            released += 1
        return released

    def receive(self, seq: int) -> Receipt:
        """Classify a received sequenced frame (seq > 0) and advance `in_seq`."""
        if seq <= self.in_seq:
            return Receipt.DUPLICATE
        if seq != self.in_seq + 1:
            raise SessionError(f"expected seq {self.in_seq + 1}, got {seq}")
        self.in_seq = seq
        return Receipt.DELIVER

    def ack_due(self) -> bool:
        """True when the peer has not been told the current `in_seq` yet."""
        return self.in_seq > self.ack_sent

    def ack_to_send(self) -> int:
        """The ack value for the next outgoing frame; it will tell the peer `in_seq`."""
        self.ack_sent = self.in_seq
        return self.in_seq

    def resume(self, peer_in_seq: int) -> list[Outgoing]:
        """After a reconnect: release what the peer has, return what to resend, in order."""
        self.handle_ack(peer_in_seq)
        # The handshake that led here carried our in_seq to the peer.
        self.ack_sent = self.in_seq
        return list(self.unacked)

    def reset(self) -> list[Outgoing]:
        """The peer lost the session: renumber the unacknowledged messages from 1."""
        renumbered = [
            Outgoing(seq, out.type, out.flags, out.tid, out.payload)
            for seq, out in enumerate(self.unacked, start=1)
        ]
        self.unacked = deque(renumbered)
        self.out_seq = len(renumbered)
        self.in_seq = 0
        self.ack_sent = 0
        return list(renumbered)
