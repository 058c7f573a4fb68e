"""`MonClient`: how clients and daemons talk to the monitors.

It keeps one authenticated session with one monitor, chosen from ``mon_host``; hunts for
another when that one dies or is not the leader (following the leader hint in a reply),
and resends a command there under the same (nonce, seq), which the monitors apply at
most once. Everything gives up at a deadline (``client_mount_timeout`` by default) with
one clear error instead of hanging.

A monitor that hangs (SIGSTOP, a stuck host) keeps its TCP connections open, so a lost
connection alone does not reveal it. As Ceph's MonClient, the session is probed with
keepalives: one goes out when the monitor has been quiet for ``mon_client_ping_interval``
and the client hunts when it stays silent for ``mon_client_ping_timeout``. A command
waiting for its reply probes sooner: the client hunts when the monitor sends nothing at
all (not even a keepalive ack, which its messenger answers before any command work) for
the hunt interval, ``mon_client_hunt_interval``, which grows by
``mon_client_hunt_interval_backoff`` with each hunt in a row up to
``mon_client_hunt_interval_max_multiple`` times itself, and is back to its base once a
monitor answers. A dial to one monitor while hunting is also given the hunt interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from errno import EACCES, EINVAL, ENOENT, EPROTO, ETIMEDOUT
from typing import Any

from radospy.auth.crypto import CryptoKey
from radospy.auth.handshake import CephxClient
from radospy.auth.keyring import EntityName, Keyring
from radospy.common.addr import parse_addr
from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.mon.messages import MonCommand, MonCommandReply, MonMapData, MonSubscribe
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed, RequestTimeout
from radospy.msg.messages import Message
from radospy.msg.messenger import Messenger

log = logging.getLogger("radospy.monc")

Addr = tuple[str, int]
MapCallback = Callable[[int, bytes, bool], None]
"""Called with (epoch, data, full): a full map, or the update that makes ``epoch``."""

_ANY_MON = "mon.*"
_STALL = 0.5
"""Seconds a session may stay without a TCP connection before the client hunts."""
_PER_TRY = 2.0
"""Seconds one connection attempt to one monitor may take in `refresh_tickets`."""
_RETRY_PAUSE = 0.1
"""Pause before asking again when a monitor knows no leader."""


@dataclass(frozen=True)
class MonClientConfig:
    """Who the client is and where the monitors are."""

    entity: str
    """``client.admin``, ``osd.3``, ..."""
    key: CryptoKey = field(repr=False)
    mon_addrs: tuple[Addr, ...]
    timeout: float = 300.0
    """``client_mount_timeout``: how long any one call may hunt for a working quorum."""
    messenger: MessengerConfig = field(default_factory=MessengerConfig)
    ping_interval: float = 10.0
    """``mon_client_ping_interval``: keepalive to a monitor quiet for this long."""
    ping_timeout: float = 30.0
    """``mon_client_ping_timeout``: hunt when the monitor is silent this long."""
    hunt_interval: float = 3.0
    """``mon_client_hunt_interval``: silence (or a dial) a pending command waits out
    before hunting for another monitor."""
    hunt_interval_backoff: float = 1.5
    """``mon_client_hunt_interval_backoff``: the hunt interval's growth per hunt in a row."""
    hunt_interval_max_multiple: float = 10.0
    """``mon_client_hunt_interval_max_multiple``: cap on that growth."""


class MonClientError(RadosError):
    """Could not reach a monitor quorum, or the monitors refused us."""


@dataclass
class _Subscription:
    next_epoch: int
    callback: MapCallback


class MonClient:
    """A session with the monitor cluster (usable as an async context manager)."""

    def __init__(self, config: MonClientConfig) -> None:
        if not config.mon_addrs:
            raise MonClientError("no monitors to connect to (set mon_host or use -m)", 22)
        self.config = config
        self._auth = CephxClient(config.entity, config.key, time.time)
        self._msgr = Messenger(config.entity, config.messenger, self._auth, self)
        self._conn: Connection | None = None
        self._preferred: Addr | None = None
        self._nonce = secrets.randbits(63) | 1
        self._seq = itertools.count(1)
        self._subs: dict[str, _Subscription] = {}
        self.on_message: Callable[[Message], None] | None = None
        """Called with any other message a monitor pushes (an OSD's scrub orders)."""
        self._hunt_lock = asyncio.Lock()
        self._waited = config.timeout
        self._keeper: asyncio.Task[None] | None = None
        self._hunt_multiple = 1.0
        """The hunt interval's current multiple (Ceph's ``reopen_interval_multiplier``)."""
        self._probed = 0.0
        """Event-loop time of the session's last keepalive probe."""

    async def __aenter__(self) -> MonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def mon_name(self) -> str | None:
        """The monitor this client currently talks to."""
        return self._conn.peer_name if self._conn is not None else None

    async def connect(self, timeout: float | None = None) -> None:
        """Open an authenticated session with some monitor."""
        await self._session(self._deadline(timeout))

    async def close(self) -> None:
        """End the session."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self._msgr.shutdown()
        self._conn = None

    async def command(
        self, cmd: dict[str, Any], inbuf: bytes = b"", timeout: float | None = None
    ) -> tuple[int, bytes, str]:
        """Run a monitor command; returns (rc, outbuf, outs) with rc 0 or -errno.

        Retried across monitors and failovers until the deadline, applied once.
        """
        deadline = self._deadline(timeout)
        msg = MonCommand(json.dumps(cmd), inbuf, self._nonce, next(self._seq))
        while True:
            conn = await self._session(deadline)
            try:
                reply = await self._attempt(conn, msg, deadline)
            except (ConnectionClosed, RequestTimeout, _Stalled) as exc:
                log.info("command to %s interrupted (%s); hunting", conn.peer_name, exc)
                self._drop(conn)
                continue
            except RadosError as exc:
                return -exc.errno, b"", str(exc)
            if not reply.retry:
                return reply.rc, bytes(reply.outbuf), reply.outs
            await self._follow(conn, reply, deadline)

    async def send(self, msg: Message, timeout: float | None = None) -> None:
        """Send a one-way message (a report) to the monitor of the current session,
        opening one if needed; it may be lost if that session fails.

        A session whose monitor stays unreachable for a moment is given up for another
        monitor (as a command's is): the messenger would keep redialling a dead one.
        """
        deadline = self._deadline(timeout)
        while True:
            conn = await self._session(deadline)
            try:
                await conn.wait_ready(_STALL)
            except (TimeoutError, ConnectionClosed):
                log.info("report to %s stalled; hunting", conn.peer_name)
                self._drop(conn)
                continue
            conn.try_send(msg)
            return

    def subscribe(self, what: str, start_epoch: int, callback: MapCallback) -> None:
        """Receive every ``what`` map from ``start_epoch`` on, as (epoch, data, full), on
        this and every later session; only newer epochs are passed on. Subscribing again
        from 0 asks for the newest full map (after a gap in the updates)."""
        self._subs[what] = _Subscription(start_epoch, callback)
        if self._conn is not None and self._conn.is_ready:
            asyncio.get_running_loop().create_task(self._send_subscriptions(self._conn))

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Messenger dispatcher: maps pushed by the monitor."""
        if isinstance(msg, MonMapData):
            sub = self._subs.get(msg.what)
            if sub is not None and msg.epoch >= sub.next_epoch:
                sub.next_epoch = msg.epoch + 1
                sub.callback(msg.epoch, bytes(msg.data), msg.full)
        elif self.on_message is not None:
            self.on_message(msg)

    # --- internals ------------------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float:
        self._waited = self.config.timeout if timeout is None else timeout
        return asyncio.get_running_loop().time() + self._waited

    async def _follow(self, conn: Connection, reply: MonCommandReply, deadline: float) -> None:
        if reply.leader_addr:
            leader = parse_addr(reply.leader_addr)
            addr = (leader.host, leader.port)
            if addr != conn.peer_addr:
                self._preferred = addr
                self._drop(conn)
            return
        # Nobody leads right now (an election is running, or there is no quorum).
        if asyncio.get_running_loop().time() + _RETRY_PAUSE < deadline:
            await asyncio.sleep(_RETRY_PAUSE)
        self._drop(conn)

    async def _attempt(self, conn: Connection, msg: MonCommand, deadline: float) -> MonCommandReply:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise _Stalled("deadline reached")
        loop = asyncio.get_running_loop()
        request = asyncio.ensure_future(conn.request(msg, remaining))
        hunt_after = self.config.hunt_interval * self._hunt_multiple
        sent = probed = loop.time()
        try:
            stalled = 0.0
            while not request.done():
                await asyncio.wait([request], timeout=min(_STALL, hunt_after) / 2)
                if request.done():
                    break
                # The messenger would wait for the monitor to come back; a dead leader
                # will not, so a session without TCP for a while means: go elsewhere.
                stalled = 0.0 if conn.is_ready else stalled + _STALL / 2
                if stalled >= _STALL:
                    raise _Stalled(f"lost the connection to {conn.peer_name}")
                now = loop.time()
                quiet = now - max(sent, conn.last_received or sent)
                if quiet >= hunt_after:
                    self._back_off()
                    raise _Stalled(f"{conn.peer_name} silent for {quiet:.1f}s")
                if quiet >= hunt_after / 2 and now - probed >= hunt_after / 2:
                    conn.send_keepalive()
                    probed = now
            reply = request.result()
        finally:
            request.cancel()
        self._hunt_multiple = 1.0
        if not isinstance(reply, MonCommandReply):
            raise RadosError(f"unexpected {type(reply).__name__} from {conn.peer_name}", EPROTO)
        return reply

    def _back_off(self) -> None:
        self._hunt_multiple = min(
            self._hunt_multiple * self.config.hunt_interval_backoff,
            self.config.hunt_interval_max_multiple,
        )

    def _drop(self, conn: Connection) -> None:
        conn.mark_down()
        if self._conn is conn:
            self._conn = None

    async def _session(self, deadline: float) -> Connection:
        async with self._hunt_lock:
            conn = self._conn
            if conn is not None and not conn.is_closed:
                return conn
            self._conn = await self._hunt(deadline)
            await self._send_subscriptions(self._conn)
            if self._keeper is None:
                self._keeper = asyncio.get_running_loop().create_task(self._keep_session())
            return self._conn

    async def _keep_session(self) -> None:
        """Keepalives on the session (Ceph's MonClient tick): a monitor silent for
        ``mon_client_ping_timeout`` is given up. Subscriptions ride on the session: when
        its monitor is given up or stays unreachable for a moment, hunt for another.
        Without this a client that only follows maps (no command or report pending)
        would keep redialling a dead monitor, or wait on a hung one, and never see
        another map."""
        stalled = 0.0
        while True:
            await asyncio.sleep(_STALL / 2)
            try:
                stalled = await self._keep_session_once(stalled)
            except MonClientError as exc:
                log.warning("%s", exc)
                stalled = 0.0
            except Exception:
                # Nothing restarts this task: were it to end on a bug, the client
                # would never hunt again and a map follower would see no more maps.
                log.exception("monitor session keeper: unexpected failure; going on")
                stalled = 0.0

    async def _keep_session_once(self, stalled: float) -> float:
        """One pass of `_keep_session`: ``stalled`` is how long the session has been
        without a TCP connection; returns the new figure."""
        conn = self._conn
        if conn is not None and conn.is_ready:
            if not self._ping(conn) or not self._subs:
                return 0.0
        elif not self._subs:
            return 0.0
        else:
            stalled += _STALL / 2
            if stalled < _STALL:
                return stalled
            if conn is not None:
                log.info("session with %s stalled; hunting", conn.peer_name)
                self._drop(conn)
        await self._session(asyncio.get_running_loop().time() + self.config.timeout)
        return 0.0

    def _ping(self, conn: Connection) -> bool:
        """Probe a quiet session; give it up (True) when its monitor stays silent."""
        now = asyncio.get_running_loop().time()
        quiet = now - (conn.last_received or now)
        if quiet >= self.config.ping_timeout:
            log.info("%s silent for %.1fs; hunting", conn.peer_name, quiet)
            self._drop(conn)
            return True
        if quiet >= self.config.ping_interval and now - self._probed >= self.config.ping_interval:
            conn.send_keepalive()
            self._probed = now
        return False

    def _candidates(self) -> list[Addr]:
        addrs = list(self.config.mon_addrs)
        random.shuffle(addrs)
        preferred, self._preferred = self._preferred, None
        if preferred is not None:
            addrs = [preferred, *(a for a in addrs if a != preferred)]
        return addrs

    async def _hunt(self, deadline: float) -> Connection:
        loop = asyncio.get_running_loop()
        errors: dict[Addr, str] = {}
        while True:
            for addr in self._candidates():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise self._timeout_error(errors)
                per_try = self.config.hunt_interval * self._hunt_multiple
                try:
                    async with asyncio.timeout(min(remaining, per_try)):
                        return await self._dial(addr)
                except RadosError as exc:
                    if exc.errno == EACCES:
                        raise MonClientError(
                            "RADOS permission denied (error connecting to the cluster)", EACCES
                        ) from None
                    errors[addr] = str(exc)
                except (OSError, TimeoutError) as exc:
                    errors[addr] = str(exc) or type(exc).__name__
            if loop.time() + _RETRY_PAUSE >= deadline:
                raise self._timeout_error(errors)
            await asyncio.sleep(_RETRY_PAUSE)

    def _timeout_error(self, errors: dict[Addr, str]) -> MonClientError:
        tried = ", ".join(f"{h}:{p}" for h, p in self.config.mon_addrs)
        return MonClientError(
            f"RADOS timed out (error connecting to the cluster): no monitor quorum "
            f"reachable within {self._waited:g}s (mon_host {tried})",
            ETIMEDOUT,
        )

    async def _dial(self, addr: Addr) -> Connection:
        # mon_host lists addresses only: dial whichever monitor answers there; once
        # connected, the session's redials insist on that monitor's name.
        return await self._msgr.connect(addr, _ANY_MON)

    async def _send_subscriptions(self, conn: Connection) -> None:
        for what, sub in self._subs.items():
            with contextlib.suppress(ConnectionClosed):
                await conn.send(MonSubscribe(what, sub.next_epoch))


async def refresh_tickets(messenger: Messenger, mon_addrs: Sequence[Addr], timeout: float) -> None:
    """Authenticate to some monitor once more through ``messenger`` and hang up.

    ``messenger``'s authenticator (a ``CephxClient``) collects fresh service tickets in
    the exchange: what an entity that talks to OSDs does when it has no valid ``osd``
    ticket (none was issued yet when it first met the monitors, or it expired).
    Raises MonClientError when no monitor could be reached within ``timeout``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    errors: list[str] = []
    while loop.time() < deadline:
        for addr in random.sample(list(mon_addrs), len(mon_addrs)):
            try:
                async with asyncio.timeout(min(_PER_TRY, max(deadline - loop.time(), 0.01))):
                    conn = await messenger.connect(addr, _ANY_MON)
            except (RadosError, OSError, TimeoutError) as exc:
                errors.append(f"{addr[0]}:{addr[1]}: {exc or type(exc).__name__}")
                continue
            conn.mark_down()
            return
        await asyncio.sleep(_RETRY_PAUSE)
    raise MonClientError(f"cannot refresh tickets: {'; '.join(errors[-3:])}", ETIMEDOUT)


_MON_WORDS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
    ("mon", "stat"): ("mon stat", ()),
    ("mon", "dump"): ("mon dump", ()),
    ("mon", "getmap"): ("mon getmap", ()),
    ("quorum_status",): ("quorum_status", ()),
    ("mon", "add"): ("mon add", ("name", "addr")),
    ("mon", "remove"): ("mon remove", ("name",)),
    ("mon", "rm"): ("mon remove", ("name",)),
}


def mon_argv(words: Sequence[str]) -> dict[str, Any] | None:
    """The command dict of the monitor-membership commands the daemon answers itself
    (``mon stat|dump|getmap|add|remove``, ``quorum_status``); None for other words."""
    for n in (2, 1):
        spec = _MON_WORDS.get(tuple(words[:n]))
        if spec is None:
            continue
        prefix, names = spec
        args = list(words[n:])
        if (
            prefix in ("mon dump", "mon getmap")
            and len(args) <= 1
            and all(a.isdigit() for a in args)
        ):
            return {"prefix": prefix, **({"epoch": int(args[0])} if args else {})}
        if len(args) != len(names):
            want = " ".join(f"<{a}>" for a in names)
            raise RadosError(f"Invalid command: usage: {prefix} {want}".rstrip(), EINVAL)
        return {"prefix": prefix, **dict(zip(names, args, strict=True))}
    return None


class _Stalled(Exception):
    """The current monitor stopped answering; try another."""


def client_config(config: Config, timeout: float | None = None) -> MonClientConfig:
    """A client's settings as Ceph's tools find them in ``config``: ``mon_host``, the
    entity's key from the ``keyring`` files, ``client_mount_timeout`` (``timeout``
    overrides it, as ``--connect-timeout`` does)."""
    hosts = tuple(dict.fromkeys((a.host, a.port) for a in config.get_addrs("mon_host")))
    if not hosts:
        raise MonClientError("no monitors specified to connect to (set mon_host or use -m)", ENOENT)
    wait = float(config.get_int("client_mount_timeout")) if timeout is None else timeout
    messenger = MessengerConfig().with_modes(config)
    return MonClientConfig(
        config.name,
        _find_key(config),
        hosts,
        wait,
        messenger,
        ping_interval=config.get_float("mon_client_ping_interval"),
        ping_timeout=config.get_float("mon_client_ping_timeout"),
        hunt_interval=config.get_float("mon_client_hunt_interval"),
        hunt_interval_backoff=config.get_float("mon_client_hunt_interval_backoff"),
        hunt_interval_max_multiple=config.get_float("mon_client_hunt_interval_max_multiple"),
    )


def _find_key(config: Config) -> CryptoKey:
    entity = config.name
    name = EntityName.parse(entity)
    paths = [p.strip() for p in config.get_str("keyring").split(",") if p.strip()]
    for path in paths:
        try:
            with open(path) as f:
                found = Keyring.parse(f.read()).get(name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise MonClientError(f"can't open keyring {path}: {exc.strerror}", EACCES) from None
        if found is not None:
            return found.key
    raise MonClientError(
        f"unable to find a keyring for {entity} on {','.join(paths) or '(no keyring set)'}: "
        "(2) No such file or directory",
        ENOENT,
    )
