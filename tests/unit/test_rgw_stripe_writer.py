"""`StripeWriter` cuts any sequence of body pieces into the head and full stripes,
whatever the pieces' sizes: the stripes written and the head hold the body's bytes in
order, every stripe but the last full. The RADOS side is a recording ioctx."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common import osdop as o
from radospy.rgw.store.objects import StripeWriter


class RecordingIoctx:
    """Keeps what each op wrote, by object name."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def operate(self, key: str, ops: list[o.OsdOp], what: str) -> list[o.OpResult]:
        for op in ops:
            assert isinstance(op, o.WriteFull)
            self.objects[key] = bytes(op.data)
        return []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 70), max_size=12), st.integers(0, 40), st.integers(1, 30))
def test_pieces_become_head_and_stripes(sizes: list[int], head_size: int,
                                        stripe_size: int) -> None:
    body = bytes(n % 251 for n in range(sum(sizes)))
    ioctx = RecordingIoctx()
    writer = StripeWriter(ioctx, "tail.", head_size=head_size,  # type: ignore[arg-type]
                          stripe_size=stripe_size)

    async def write() -> bytes:
        pos = 0
        for size in sizes:
            await writer.feed(body[pos:pos + size])
            pos += size
        return await writer.finish()

    head = asyncio.run(write())
    assert head == body[:head_size]
    assert writer.size == len(body)
    tail = body[head_size:]
    stripes = [ioctx.objects[f"tail.{n}"] for n in range(1, len(ioctx.objects) + 1)]
    assert b"".join(stripes) == tail
    assert all(len(s) == stripe_size for s in stripes[:-1])
    assert len(stripes) == -(-len(tail) // stripe_size)
