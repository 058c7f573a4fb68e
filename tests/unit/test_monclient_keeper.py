"""The MonClient's session keeper outlives an unexpected failure: nothing restarts it,
and without it a client that only follows maps would never hunt for a monitor again."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from radospy.auth.crypto import CryptoKey
from radospy.common.addr import Addr
from radospy.mon.client import MonClient, MonClientConfig
from radospy.msg.connection import Connection


class _FlakyClient(MonClient):
    """Its first session attempt fails on a bug (a RuntimeError); later ones are
    counted and then wait for good (there is no monitor to dial here)."""

    def __init__(self, config: MonClientConfig) -> None:
        super().__init__(config)
        self.attempts = 0
        self.more = asyncio.Event()

    async def _session(self, deadline: float) -> Connection:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("a bug in the hunt")
        self.more.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_the_session_keeper_goes_on_after_an_unexpected_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> int:
        config = MonClientConfig(
            "client.admin", CryptoKey.generate(time.time()), (Addr("127.0.0.1", 9),)
        )
        client = _FlakyClient(config)
        client.subscribe("osdmap", 1, lambda epoch, data, full: None)
        client._keeper = asyncio.create_task(client._keep_session())
        try:
            async with asyncio.timeout(30):
                await client.more.wait()
        finally:
            await client.close()
        return client.attempts

    with caplog.at_level(logging.ERROR, "radospy.monc"):
        assert asyncio.run(main()) == 2
    record = next(r for r in caplog.records if "session keeper" in r.getMessage())
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
