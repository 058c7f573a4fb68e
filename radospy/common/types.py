"""Small value types shared by the client and the OSDs."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from radospy.common.errors import InvalidArgument

_U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
# msgpack ints stop at 2**64 - 1 and msgspec cannot state a bound that wide.
_U64 = Annotated[int, msgspec.Meta(ge=0)]
_REQID_RE = re.compile(r"([a-z]+\.-?\d+)\.(\d+):(\d+)")


class ReqId(msgspec.Struct, frozen=True, array_like=True, order=True):
    """`osd_reqid_t`: who sent a client op and which of its ops it is.

    `name` is the client's entity name (`client.4167`), `inc` the incarnation of that
    client instance (a reconnecting client keeps it, a restarted one gets a new one) and
    `tid` the op's transaction id, unique within the incarnation. An op resent after a
    reconnect carries the same reqid, which is how the PG log recognises it as a
    duplicate. Printed `client.4167.0:100201`, as Ceph prints it.
    """

    name: str
    inc: _U32
    tid: _U64

    def __str__(self) -> str:
        return f"{self.name}.{self.inc}:{self.tid}"

    @classmethod
    def parse(cls, text: str) -> ReqId:
        """Parse `TYPE.NUM.INC:TID` (`client.4167.0:100201`)."""
        match = _REQID_RE.fullmatch(text.strip())
        if match is None:
            raise InvalidArgument(f"invalid reqid '{text}'")
        inc, tid = int(match.group(2)), int(match.group(3))
        if inc >= 2**32 or tid >= 2**64:
            raise InvalidArgument(f"invalid reqid '{text}'")
        return cls(match.group(1), inc, tid)
