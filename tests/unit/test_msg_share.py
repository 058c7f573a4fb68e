"""A message sent to several peers is encoded once (a primary's RepOp to each
replica): the same body bytes, not a copy per connection."""

from __future__ import annotations

from radospy.common.eversion import Eversion
from radospy.msg.messages import REGISTRY
from radospy.osd.messages import RepOp
from radospy.osd.objectstore import ObjectId, Transaction


def _repop(data: bytes) -> RepOp:
    txn = Transaction().touch("1.0", ObjectId("o")).write("1.0", ObjectId("o"), 0, data)
    return RepOp(1, 0, 5, Eversion(5, 1), txn, b"entry")


BIG = 4 << 20


def test_the_same_message_is_encoded_once() -> None:
    for size in (1, 4096, BIG):
        repop = _repop(bytes(size))
        type_id, first = REGISTRY.encode(repop)
        assert REGISTRY.encode(repop) == (type_id, first)
        assert REGISTRY.encode(repop)[1] is first
        # A big write goes in parts, around the client's buffer (RepOp.split_bulk).
        whole = b"".join(first) if isinstance(first, tuple) else first
        assert REGISTRY.decode(type_id, whole) == repop
        # An equal but distinct message is encoded afresh.
        assert REGISTRY.encode(_repop(bytes(size)))[1] is not first


def test_another_message_in_between_is_encoded_afresh() -> None:
    a, b = _repop(b"a" * 4096), _repop(b"b" * 4096)
    first = REGISTRY.encode(a)[1]
    assert REGISTRY.decode(RepOp.TYPE, REGISTRY.encode(b)[1]) == b
    again = REGISTRY.encode(a)[1]
    assert again == first and again is not first
