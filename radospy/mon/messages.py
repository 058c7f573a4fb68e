"""Monitor wire messages (type ids 0x0101-0x01ff; 0x0100 is the Raft frame).

Commands travel as Ceph's JSON command dicts. Every command a client sends carries its
client's random ``nonce`` and a per-client ``seq``: the pair names the command across
retries, so a command resent after a lost reply or a failover is applied at most once.
"""

from __future__ import annotations

from radospy.msg.messages import Message, message


@message(0x0101)
class MonCommand(Message):
    """Run a monitor command: ``cmd`` is Ceph's JSON command (``{"prefix": ...}``)."""

    cmd: str
    inbuf: bytes = b""
    nonce: int = 0
    seq: int = 0


@message(0x0102)
class MonCommandReply(Message):
    """A command's result as Ceph reports it: ``rc`` is 0 or a negative errno.

    ``retry`` means the command was not run here: this monitor is not the leader (then
    ``leader_name`` and ``leader_addr`` = ``host:port`` name it, when known) or lost
    leadership meanwhile; the client sends it again, there or elsewhere.
    """

    rc: int
    outbuf: bytes = b""
    outs: str = ""
    retry: bool = False
    leader_name: str = ""
    leader_addr: str = ""


@message(0x0103)
class MonSubscribe(Message):
    """Ask for every map of kind ``what`` (``osdmap``) from ``start_epoch`` on: the
    monitor sends the newest full map now if it is at least that epoch, then again
    each time the epoch advances, until the session ends."""

    what: str
    start_epoch: int = 0


@message(0x0104)
class MonMapData(Message):
    """A full map for a subscriber: kind, epoch and the map's own encoding."""

    what: str
    epoch: int
    data: bytes
