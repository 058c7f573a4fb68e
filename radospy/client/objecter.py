"""The objecter: sends object ops to the right OSD and keeps them going until answered.

It follows the OSDMap through the monitors (``MonClient.subscribe``), computes each
object's PG and acting primary with the same placement code the OSDs run, and sends the
op there. An op is sent again — under the same reqid, which the PG log de-duplicates —
when the primary it went to is no longer the primary in a newer map, when that OSD
answers ``OSDRetry`` (our map is stale), or when no primary is up yet (it then waits for
a map that has one); and after a backoff when the OSD answers EAGAIN (its map stayed
older than ours: ``radospy.osd.map_wait``). Every op gives up with ETIMEDOUT after
``rados_osd_op_timeout`` seconds (0: never). Everything is a coroutine on the caller's
loop; nothing blocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from errno import EAGAIN, ENOENT, ETIMEDOUT
from typing import TypeVar

from radospy.auth.crypto import CryptoKey
from radospy.auth.handshake import CephxClient
from radospy.common.errors import RadosError
from radospy.common.osdop import OsdOp
from radospy.common.types import ReqId
from radospy.mon.client import MonClient, refresh_tickets
from radospy.mon.osdmap_wire import OSDMapFollower, PoolExtras, Take
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection, ConnectionClosed, RequestTimeout
from radospy.msg.messages import ErrorReply, Message
from radospy.msg.messenger import Messenger
from radospy.osd.map_wait import eagain_backoff
from radospy.osd.messages import (
    OP_FLAG_RETRY,
    ListEntry,
    ObjectLocator,
    OSDOp,
    OSDOpReply,
    OSDOpReplyView,
    OSDRetry,
    PGList,
    PGListReply,
    PGQueryCmd,
    PGQueryCmdReply,
    PGScrubLs,
    PGScrubLsReply,
)
from radospy.osd.objectstore.types import NOSNAP
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId

log = logging.getLogger("radospy.objecter")

Addr = tuple[str, int]
R = TypeVar("R", bound=Message)

_TICKET_TIMEOUT = 30.0
"""Seconds a refresh of the ``osd`` service ticket may take."""
_REDIAL_PAUSE = 0.2
"""Pause before sending again after a connection to an OSD failed, unless a new map
arrives first."""


class PoolNotFound(RadosError):
    """The pool does not exist (in the newest map we have)."""

    errno = ENOENT


MESSENGER = MessengerConfig(ms_initial_backoff=0.1, ms_max_backoff=1.0)
"""The objecter's messenger settings: OSD sessions redial quickly."""


class _Resend(Exception):
    """A new map sent the op's PG to another primary: place and send it again."""


def _expire(future: asyncio.Future[Message]) -> None:
    if not future.done():
        future.set_exception(RadosError("operation timed out", ETIMEDOUT))


def _public_addr(osdmap: OSDMap, osd: int) -> Addr | None:
    """Where ``osd`` listens under ``osdmap``; None when it is down or unknown."""
    if not osdmap.is_up(osd) or not osdmap.osds[osd].public_addr:
        return None
    host, _, port = osdmap.osds[osd].public_addr.rpartition(":")
    return host, int(port)


@dataclass(frozen=True, slots=True)
class _InFlight:
    """An op sent and not answered yet: where it went and how to place it again."""

    target: Target
    seed_of: Callable[[OSDMap], int]
    pool: int
    conn: Connection


@dataclass(frozen=True)
class Target:
    """Where an op goes under one map: the PG and its acting primary's name/address."""

    epoch: int
    pg_seed: int
    primary: int
    addr: Addr | None


class Objecter:
    """Object ops over the OSDs of one cluster, for one client entity."""

    def __init__(
        self,
        monc: MonClient,
        entity: str,
        key: CryptoKey,
        mon_addrs: Sequence[Addr],
        op_timeout: float = 0.0,
        messenger: MessengerConfig | None = None,
    ) -> None:
        self.monc = monc
        self.entity = entity
        self.mon_addrs = tuple(mon_addrs)
        self.op_timeout = op_timeout
        self.auth = CephxClient(entity, key, time.time, ("mon", "osd"))
        config = messenger or MESSENGER
        self.messenger = Messenger(entity, config, self.auth, self)
        self.osdmap: OSDMap | None = None
        self.pool_extras: dict[int, PoolExtras] = {}
        """Per pool: snapshots (names, ids, stamps, removed ids) of the current map."""
        self._follower = OSDMapFollower()
        self._map_event = asyncio.Event()
        self._inc = secrets.randbits(31)
        self._tids = itertools.count(1)
        self._ticket_lock = asyncio.Lock()
        self._targets_of = (0, 0)
        self._targets: dict[tuple[int, int], Target] = {}
        """`locate`'s answers under the map identified by `_targets_of` (id, epoch)."""
        self._in_flight: dict[asyncio.Future[Message], _InFlight] = {}
        """Ops sent by `_send_once` and not answered yet, checked on every new map."""

    # --- maps ---------------------------------------------------------------------------

    async def start(self, timeout: float) -> None:
        """Subscribe to OSDMaps and wait for the first one."""
        self.monc.subscribe("osdmap", 1, self._on_map)
        await self.wait_for_epoch(1, timeout)

    async def close(self) -> None:
        await self.messenger.shutdown()

    def _on_map(self, epoch: int, data: bytes, full: bool) -> None:
        taken = self._follower.take(epoch, data, full)
        if taken is Take.GAP:
            self.monc.subscribe("osdmap", 0, self._on_map)
        if taken is not Take.NEW:
            return
        self.osdmap, self.pool_extras = self._follower.osdmap, self._follower.pool_extras
        event, self._map_event = self._map_event, asyncio.Event()
        event.set()
        self._check_in_flight()
        osdmap = self.osdmap
        if osdmap is not None:
            self.messenger.drop_moved("osd.", lambda name: _public_addr(osdmap, int(name[4:])))

    def _check_in_flight(self) -> None:
        """Under a new map: ops whose PG moved to another primary (or whose primary
        moved to another address) are sent again; ops on deleted pools fail."""
        for future, op in list(self._in_flight.items()):
            self._check(future, op)

    def _check(self, future: asyncio.Future[Message], op: _InFlight) -> None:
        osdmap = self.osdmap
        if future.done() or osdmap is None:
            return
        if op.pool not in osdmap.pools:
            future.set_exception(PoolNotFound(f"pool {op.pool} does not exist"))
            return
        now = self.locate(osdmap, op.pool, op.seed_of(osdmap))
        was = op.target
        if now.primary == was.primary and now.addr != was.addr:
            # The OSD restarted elsewhere: its old session would redial a dead
            # address forever (the ops on it are resent, as this one).
            op.conn.mark_down()
        moved = (now.primary, now.addr, now.pg_seed) != (was.primary, was.addr, was.pg_seed)
        if moved and not future.done():
            future.set_exception(_Resend())

    @property
    def epoch(self) -> int:
        return self.osdmap.epoch if self.osdmap is not None else 0

    async def wait_for_epoch(self, epoch: int, timeout: float | None) -> OSDMap:
        """The map once it is at least ``epoch``; ETIMEDOUT after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while self.osdmap is None or self.osdmap.epoch < epoch:
                    await self._map_event.wait()
        except TimeoutError:
            raise RadosError(f"timed out waiting for osdmap epoch {epoch}", ETIMEDOUT) from None
        return self.osdmap

    async def _next_map(self, than: int, deadline: float | None) -> None:
        """Wait for a map newer than ``than`` (until ``deadline``, loop time)."""
        loop = asyncio.get_running_loop()
        timeout = None if deadline is None else max(deadline - loop.time(), 0)
        await self.wait_for_epoch(than + 1, timeout)

    # --- ops ----------------------------------------------------------------------------

    def new_reqid(self) -> ReqId:
        """A fresh reqid: one per op, kept across its resends."""
        return ReqId(self.entity, self._inc, next(self._tids))

    def locate(self, osdmap: OSDMap, pool: int, pg_seed: int) -> Target:
        """The acting primary of PG ``pool.pg_seed`` under ``osdmap``.

        Remembered per map (as Ceph's objecter keeps each PG's mapping until the next
        map): CRUSH runs once per PG and map, not once per op."""
        if self._targets_of != (id(osdmap), osdmap.epoch):
            self._targets_of, self._targets = (id(osdmap), osdmap.epoch), {}
        target = self._targets.get((pool, pg_seed))
        if target is None:
            target = self._targets[(pool, pg_seed)] = self._place(osdmap, pool, pg_seed)
        return target

    @staticmethod
    def _place(osdmap: OSDMap, pool: int, pg_seed: int) -> Target:
        mapping = osdmap.pg_to_up_acting_osds(PgId(pool, pg_seed))
        primary = mapping.acting_primary
        addr = _public_addr(osdmap, primary) if primary >= 0 else None
        return Target(osdmap.epoch, pg_seed, primary, addr)

    async def op(
        self,
        loc: ObjectLocator,
        ops: list[OsdOp],
        *,
        flags: int = 0,
        snap_seq: int = 0,
        snaps: Sequence[int] = (),
        snap: int = NOSNAP,
        timeout: float | None = None,
        reqid: ReqId | None = None,
        views: bool = False,
    ) -> OSDOpReply:
        """Run ``ops`` on one object; the reply (rc and per-op results).

        ``reqid`` names the op across resends; a caller passes one only to send the
        same op again itself (the OSD then answers from its PG log). With ``views``
        the reply is an `OSDOpReplyView`: read data is not copied out of the frame.
        """
        reqid = reqid or self.new_reqid()

        def seed_of(osdmap: OSDMap) -> int:
            return osdmap.object_to_pg(loc.pool, loc.name, loc.key, loc.nspace).seed

        def build(epoch: int, seed: int, resend: bool) -> Message:
            retry = OP_FLAG_RETRY if resend else 0
            return OSDOp(reqid, seed, loc, ops, epoch, flags | retry, snap_seq, list(snaps), snap)

        reply_type = OSDOpReplyView if views else OSDOpReply
        return await self._submit(loc.pool, seed_of, build, reply_type, timeout)

    async def list_pg(
        self,
        pool: int,
        pg_seed: int,
        *,
        nspace: str,
        all_nspaces: bool,
        after: tuple[str, str],
        max_entries: int,
        timeout: float | None = None,
    ) -> PGListReply:
        """One page of PG ``pool.pg_seed``'s objects after ``after`` (nspace, name)."""

        def build(epoch: int, seed: int, resend: bool) -> Message:
            return PGList(pool, seed, epoch, nspace, all_nspaces, *after, max_entries)

        return await self._submit(pool, lambda _: pg_seed, build, PGListReply, timeout)

    async def scrub_ls(
        self, pool: int, pg_seed: int, timeout: float | None = None
    ) -> PGScrubLsReply:
        """What PG ``pool.pg_seed``'s last scrub found, from its primary."""

        def build(epoch: int, seed: int, resend: bool) -> Message:
            return PGScrubLs(pool, seed, epoch)

        return await self._submit(pool, lambda _: pg_seed, build, PGScrubLsReply, timeout)

    async def query_pg(self, pool: int, pg_seed: int, timeout: float | None = None) -> str:
        """`ceph pg PGID query`: the JSON document PG ``pool.pg_seed``'s primary answers."""

        def build(epoch: int, seed: int, resend: bool) -> Message:
            return PGQueryCmd(pool, seed, epoch)

        reply = await self._submit(pool, lambda _: pg_seed, build, PGQueryCmdReply, timeout)
        return reply.json

    async def list_objects(
        self, pool: int, nspace: str, all_nspaces: bool, page: int = 1024
    ) -> list[ListEntry]:
        """Every object of a pool (in namespace ``nspace``, or all), PG by PG."""
        osdmap = self._pool_map(pool)
        found: list[ListEntry] = []
        for seed in range(osdmap.pools[pool].pg_num):
            after = ("", "")
            while True:
                reply = await self.list_pg(
                    pool, seed, nspace=nspace, all_nspaces=all_nspaces, after=after,
                    max_entries=page,
                )  # fmt: skip
                found += reply.entries
                if reply.done or not reply.entries:
                    break
                last = reply.entries[-1]
                after = (last.nspace, last.name)
        return found

    def _pool_map(self, pool: int) -> OSDMap:
        osdmap = self.osdmap
        if osdmap is None or pool not in osdmap.pools:
            raise PoolNotFound(f"pool {pool} does not exist")
        return osdmap

    async def _submit(
        self,
        pool: int,
        seed_of: Callable[[OSDMap], int],
        build: Callable[[int, int, bool], Message],
        reply_type: type[R],
        timeout: float | None,
    ) -> R:
        loop = asyncio.get_running_loop()
        limit = self.op_timeout if timeout is None else timeout
        deadline = loop.time() + limit if limit > 0 else None
        resend = False
        eagains = 0
        while True:
            if deadline is not None and loop.time() >= deadline:
                raise RadosError("operation timed out", ETIMEDOUT)
            osdmap = self._pool_map(pool)
            target = self.locate(osdmap, pool, seed_of(osdmap))
            if target.addr is None:
                # No primary up: wait for a map that has one.
                await self._next_map(target.epoch, deadline)
                continue
            reply = await self._send_once(target, build(target.epoch, target.pg_seed, resend),
                                          seed_of, pool, deadline, reply_type)  # fmt: skip
            resend = True
            if reply is None:
                continue
            if isinstance(reply, OSDRetry):
                await self._next_map(max(reply.map_epoch, target.epoch + 1) - 1, deadline)
                continue
            if isinstance(reply, OSDOpReply) and reply.rc == -EAGAIN:
                # Not served yet (the OSD waited in vain for our map): sent again after
                # a backoff, or at once under a newer map, as Ceph's objecter resubmits
                # an op answered -EAGAIN.
                delay = eagain_backoff(eagains)
                eagains += 1
                log.info("osd.%d answered EAGAIN; sending again in %.1fs", target.primary, delay)
                await self._pause(delay, deadline)
                continue
            if isinstance(reply, ErrorReply):
                raise reply.to_error()
            if isinstance(reply, OSDOpReply) and not isinstance(reply, reply_type):
                # An error the OSD answered a listing with.
                raise RadosError(f"osd.{target.primary}: error {reply.rc}", -reply.rc)
            if not isinstance(reply, reply_type):
                raise RadosError(f"unexpected {type(reply).__name__} from osd.{target.primary}")
            return reply

    async def _pause(self, delay: float, deadline: float | None) -> None:
        """Wait ``delay`` seconds (not past ``deadline``, loop time), or until a new map."""
        if deadline is not None:
            delay = min(delay, max(deadline - asyncio.get_running_loop().time(), 0))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._map_event.wait()

    async def _send_once(
        self,
        target: Target,
        msg: Message,
        seed_of: Callable[[OSDMap], int],
        pool: int,
        deadline: float | None,
        reply_as: type[Message],
    ) -> Message | None:
        """Send to the target and wait for the answer (decoded as ``reply_as`` where
        that is a view class); None when the op must be sent again (the connection
        failed, or a newer map moved the PG's primary)."""
        assert target.addr is not None
        loop = asyncio.get_running_loop()
        # Taken before any await: a map that arrives while we dial still wakes us.
        map_event = self._map_event
        try:
            conn = await self._connect(target.primary, target.addr)
        except (RadosError, OSError, TimeoutError) as exc:
            log.info("cannot reach osd.%d: %s", target.primary, exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_REDIAL_PAUSE):
                    await self._map_event.wait()
            return None
        future = conn.call(msg, reply_as)
        if future is not None:
            op = _InFlight(target, seed_of, pool, conn)
            self._in_flight[future] = op
            if map_event is not self._map_event:
                self._check(future, op)  # a map came while we dialled
            return await self._reply(future, deadline)
        remaining = None if deadline is None else max(deadline - loop.time(), 0.001)
        request = asyncio.ensure_future(
            conn.request(msg, remaining, reply_as)  # type: ignore[arg-type]
        )
        try:
            while True:
                map_changed = asyncio.ensure_future(map_event.wait())
                try:
                    await asyncio.wait({request, map_changed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    map_changed.cancel()
                if request.done():
                    try:
                        return request.result()
                    except (ConnectionClosed, RequestTimeout) as exc:
                        if isinstance(exc, RequestTimeout):
                            raise RadosError("operation timed out", ETIMEDOUT) from None
                        return None
                map_event = self._map_event
                osdmap = self.osdmap
                if osdmap is None or pool not in osdmap.pools:
                    raise PoolNotFound(f"pool {pool} does not exist")
                now = self.locate(osdmap, pool, seed_of(osdmap))
                if now.primary == target.primary and now.addr != target.addr:
                    # The OSD restarted elsewhere: its old session would redial a dead
                    # address forever (the ops on it are resent, as this one).
                    conn.mark_down()
                if (now.primary, now.addr, now.pg_seed) != (
                    target.primary,
                    target.addr,
                    target.pg_seed,
                ):
                    return None
        finally:
            request.cancel()

    async def _reply(
        self, future: asyncio.Future[Message], deadline: float | None
    ) -> Message | None:
        """The answer to an op sent with `Connection.call` (and registered in
        `_in_flight`); None when it must be sent again (the connection failed, or
        `_check` found its PG moved)."""
        timer = None
        if deadline is not None:
            timer = asyncio.get_running_loop().call_at(deadline, _expire, future)
        try:
            reply = await future
        except (ConnectionClosed, _Resend):
            return None
        finally:
            self._in_flight.pop(future, None)
            if timer is not None:
                timer.cancel()
        if isinstance(reply, ErrorReply):
            raise reply.to_error()
        return reply

    async def _connect(self, osd: int, addr: Addr) -> Connection:
        if self.auth.session.ticket_for("osd", time.time()) is None:
            async with self._ticket_lock:
                if self.auth.session.ticket_for("osd", time.time()) is None:
                    await refresh_tickets(self.messenger, self.mon_addrs, _TICKET_TIMEOUT)
        return await self.messenger.connect(addr, f"osd.{osd}")

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        """Messenger dispatcher: OSDs send nothing unasked (yet)."""
