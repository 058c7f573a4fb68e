"""A big message sent to several peers is encoded once (a primary's RepOp to each
replica): the same body bytes, not a copy per connection."""

from __future__ import annotations

from radospy.common.eversion import Eversion
from radospy.msg.messages import REGISTRY, SHARE_MIN
from radospy.osd.messages import RepOp
from radospy.osd.objectstore import ObjectId, Transaction


def _repop(data: bytes) -> RepOp:
    txn = Transaction().touch("1.0", ObjectId("o")).write("1.0", ObjectId("o"), 0, data)
    return RepOp(1, 0, 5, Eversion(5, 1), txn, b"entry")


def test_the_same_big_message_is_encoded_once() -> None:
    big = _repop(bytes(SHARE_MIN))
    type_id, first = REGISTRY.encode(big)
    assert REGISTRY.encode(big) == (type_id, first)
    assert REGISTRY.encode(big)[1] is first
    # An equal but distinct message, or a small one, is encoded afresh.
    assert REGISTRY.encode(_repop(bytes(SHARE_MIN)))[1] is not first
    small = _repop(b"x")
    assert REGISTRY.encode(small)[1] is not REGISTRY.encode(small)[1]
    assert REGISTRY.decode(type_id, first) == big
