"""Running a daemon's asyncio main loop until it is told to stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Protocol


class Service(Protocol):
    """A daemon: `run()` serves until `stop()` is called."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


def run_service(make: Callable[[], Service]) -> None:
    """Build a service inside a fresh event loop (uvloop when installed) and run it
    until SIGTERM or SIGINT calls its `stop()`."""

    async def main() -> None:
        service = make()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, service.stop)
        await service.run()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
