"""Gateway users and their S3 keys, as RGW keeps them: the user's info in
`default.rgw.meta` namespace `users.uid`, one object per access key in namespace
`users.keys` naming its user, the user's buckets in the omap of `<uid>.buckets`.

A new user or key takes its objects with exclusive creates, so two gateways or admin
tools creating the same one at once cannot both succeed; an update rewrites the info
object only if it still holds what was read (a cmpext guard), else it is retried.
Every change of an existing user or key then rewrites the metadata stamp, so gateways
drop what they cached of it (`meta_cache`).
"""

from __future__ import annotations

import contextlib
import errno
import time
from collections.abc import Callable

import msgspec

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.common.errors import RadosError
from radospy.rgw.store import names
from radospy.rgw.store.meta_cache import MetaCache, MetaStamp
from radospy.rgw.store.rados_ops import Conflict, Pools, run
from radospy.rgw.store.records import (
    AccessKey,
    KeyIndex,
    UserInfo,
    UserStats,
    decode,
    encode,
)

_UPDATE_ATTEMPTS = 20


class UserError(RadosError):
    """A refused user or key operation; `str()` is radosgw-admin's message."""


class Users:
    """Users and keys in the meta pool."""

    def __init__(self, pools: Pools, stamp: MetaStamp, cache: MetaCache[UserInfo]) -> None:
        self._users: AsyncIoctx = pools.users
        self._keys: AsyncIoctx = pools.keys
        self._stamp = stamp
        self._by_key = cache

    async def get(self, uid: str) -> UserInfo | None:
        """The user `uid`, or None."""
        info, _ = await self._read(uid)
        return info

    async def _read(self, uid: str) -> tuple[UserInfo | None, bytes]:
        try:
            results = await run(self._users, names.user_oid(uid), [o.Read()], "read user")
        except ObjectNotFound:
            return None, b""
        data = results[0].data if isinstance(results[0], o.ReadData) else b""
        return decode(data, UserInfo), data

    async def by_access_key(self, access_key: str, stamp: bytes | None = None
                            ) -> UserInfo | None:
        """The user owning `access_key`, or None. With `stamp` (the metadata stamp read
        before this call) a user cached under that stamp is taken as it is, and the one
        read is cached; the caller must not change it."""
        if stamp is None:
            return await self._by_access_key(access_key)
        now = time.monotonic()
        user = self._by_key.get(access_key, stamp, now)
        if user is None:
            user = await self._by_access_key(access_key)
            if user is not None:
                self._by_key.put(access_key, stamp, user, now)
        return user

    async def _by_access_key(self, access_key: str) -> UserInfo | None:
        try:
            results = await run(self._keys, names.key_oid(access_key), [o.Read()], "read key")
        except ObjectNotFound:
            return None
        data = results[0].data if isinstance(results[0], o.ReadData) else b""
        try:
            uid = decode(data, KeyIndex).user_id
        except msgspec.ValidationError:
            return None
        return await self.get(uid)

    async def list(self) -> list[str]:
        """Every user id, sorted."""
        entries = await self._users.list_objects()
        return sorted(e.name for e in entries if not e.name.endswith(".buckets"))

    async def create(
        self,
        uid: str,
        display_name: str,
        *,
        email: str = "",
        access_key: str | None = None,
        secret_key: str | None = None,
        max_buckets: int = 1000,
        generate_key: bool = True,
    ) -> UserInfo:
        """A new user, with one key pair (given, or generated when `generate_key`)."""
        # "anonymous" is who unsigned requests act as; no user may be it.
        if not uid or "\x00" in uid or uid.endswith(".buckets") or uid == "anonymous":
            raise UserError("invalid user id", errno.EINVAL)
        if not display_name:
            raise UserError("no display name specified", errno.EINVAL)
        if await self.get(uid) is not None:
            raise UserError("user: " + uid + " exists", errno.EEXIST)
        info = UserInfo(uid, display_name, email=email, max_buckets=max_buckets,
                        create_date=time.time())
        key = None
        if access_key or secret_key or generate_key:
            key = AccessKey(uid, access_key or names.new_access_key(),
                            secret_key or names.new_secret_key())
            await self._claim_key(key)
            info.keys.append(key)
        try:
            await run(self._users, names.user_oid(uid),
                      [o.Create(exclusive=True), o.WriteFull(data=encode(info))], "create user")
        except Conflict:
            if key is not None:
                await self._release_key(key.access_key)
            raise UserError("user: " + uid + " exists", errno.EEXIST) from None
        return info

    async def _claim_key(self, key: AccessKey) -> None:
        try:
            await run(self._keys, names.key_oid(key.access_key),
                      [o.Create(exclusive=True), o.WriteFull(data=encode(KeyIndex(key.user)))],
                      "create key")
        except Conflict:
            raise UserError("key exists", errno.EEXIST) from None

    async def _release_key(self, access_key: str) -> None:
        with contextlib.suppress(ObjectNotFound):
            await run(self._keys, names.key_oid(access_key), [o.Remove()], "remove key")

    async def update(self, uid: str, change: Callable[[UserInfo], None]) -> UserInfo:
        """Apply `change` to user `uid` and store it, retrying when another writer
        changed the user meanwhile."""
        for _ in range(_UPDATE_ATTEMPTS):
            info, raw = await self._read(uid)
            if info is None:
                raise UserError("user does not exist", errno.ENOENT)
            change(info)
            try:
                await run(self._users, names.user_oid(uid),
                          [o.CmpExt(offset=0, data=raw), o.WriteFull(data=encode(info))],
                          "update user")
            except Conflict:
                continue
            await self._stamp.bump()
            return info
        raise UserError("user changed concurrently; try again", errno.EAGAIN)

    async def add_key(self, uid: str, access_key: str | None, secret_key: str | None) -> UserInfo:
        """Give user `uid` a key pair (generated parts where not given); a given access
        key the user has already gets the new secret."""
        info = await self.get(uid)
        if info is None:
            raise UserError("user does not exist", errno.ENOENT)
        key = AccessKey(uid, access_key or names.new_access_key(),
                        secret_key or names.new_secret_key())
        if all(k.access_key != key.access_key for k in info.keys):
            await self._claim_key(key)

        def change(user: UserInfo) -> None:
            user.keys = [k for k in user.keys if k.access_key != key.access_key] + [key]

        return await self.update(uid, change)

    async def remove_key(self, uid: str, access_key: str) -> UserInfo:
        """Take key `access_key` from user `uid`."""
        info = await self.get(uid)
        if info is None:
            raise UserError("user does not exist", errno.ENOENT)
        if all(k.access_key != access_key for k in info.keys):
            raise UserError("access key does not exist", errno.ENOENT)

        def change(user: UserInfo) -> None:
            user.keys = [k for k in user.keys if k.access_key != access_key]

        info = await self.update(uid, change)
        await self._release_key(access_key)
        return info

    async def remove(self, uid: str) -> None:
        """Remove user `uid` and its keys (its buckets must be gone already)."""
        info = await self.get(uid)
        if info is None:
            raise UserError("user does not exist", errno.ENOENT)
        for key in info.keys:
            await self._release_key(key.access_key)
        for oid in (names.user_oid(uid), names.user_buckets_oid(uid)):
            with contextlib.suppress(ObjectNotFound):
                await run(self._users, oid, [o.Remove()], "remove user")
        await self._stamp.bump()

    async def bucket_names(self, uid: str) -> dict[str, float]:
        """The user's buckets: name → creation time."""
        try:
            results = await run(self._users, names.user_buckets_oid(uid),
                                [o.OmapGetVals()], "list user buckets")
        except ObjectNotFound:
            return {}
        vals = results[0]
        assert isinstance(vals, o.OmapVals)
        return {name: float(value or b"0") for name, value in vals.entries.items()}

    async def link_bucket(self, uid: str, bucket: str, created: float) -> None:
        """Add `bucket` to the user's bucket list."""
        await run(self._users, names.user_buckets_oid(uid),
                  [o.OmapSet(entries={bucket: repr(created).encode()})], "link bucket")

    async def unlink_bucket(self, uid: str, bucket: str) -> None:
        """Take `bucket` off the user's bucket list."""
        with contextlib.suppress(ObjectNotFound):
            await run(self._users, names.user_buckets_oid(uid),
                      [o.OmapRmKeys(keys=[bucket])], "unlink bucket")

    async def stats(self, uid: str) -> UserStats:
        """The user's usage as last synced (zeros if never)."""
        try:
            results = await run(self._users, names.user_buckets_oid(uid),
                                [o.OmapGetHeader()], "read user stats")
        except ObjectNotFound:
            return UserStats()
        header = results[0]
        data = header.data if isinstance(header, o.OmapHeader) else b""
        return decode(data, UserStats) if data else UserStats()

    async def set_stats(self, uid: str, stats: UserStats) -> None:
        """Record the user's synced usage."""
        await run(self._users, names.user_buckets_oid(uid),
                  [o.OmapSetHeader(data=encode(stats))], "write user stats")
