"""`radospy radosgw-admin`: gateway users, keys and buckets, as Ceph's radosgw-admin.

    radospy radosgw-admin [-c CONF] user create --uid U --display-name N
                          [--email E] [--access-key K --secret S] [--max-buckets N]
    radospy radosgw-admin user info|rm|suspend|enable --uid U
    radospy radosgw-admin user modify --uid U [--display-name N] [--email E] [--max-buckets N]
    radospy radosgw-admin user list
    radospy radosgw-admin key create --uid U [--access-key K] [--secret S]
    radospy radosgw-admin key rm --uid U --access-key K
    radospy radosgw-admin bucket list [--uid U] | stats --bucket B | rm --bucket B [--purge-objects]
    radospy radosgw-admin bucket link --bucket B --uid U
    radospy radosgw-admin quota set --quota-scope=user|bucket (--uid U | --bucket B)
                          [--max-objects N] [--max-size BYTES[K|M|G|T]]
    radospy radosgw-admin quota enable|disable --quota-scope=user|bucket (--uid U | --bucket B)
    radospy radosgw-admin user stats --uid U [--sync-stats]
    radospy radosgw-admin bucket reshard --bucket B --num-shards N
    radospy radosgw-admin reshard add --bucket B --num-shards N | list | process
    radospy radosgw-admin reshard status|cancel --bucket B
    radospy radosgw-admin bucket check --bucket B [--fix] [--check-objects]
    radospy radosgw-admin gc list|process [--include-all]
    radospy radosgw-admin lc list | process [--bucket B]

Output is Ceph's JSON (4-space indent); errors are Ceph's lines on stderr with the
errno as the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import email.utils
import errno
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from radospy.client.rados import AsyncRados
from radospy.common.config import bootstrap
from radospy.common.errors import RadosError
from radospy.rgw.lc_worker import LifecycleWorker
from radospy.rgw.quota import Usage, parse_size, quota_json
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import lc, names
from radospy.rgw.store.check import check_bucket
from radospy.rgw.store.index import entry_name, shard_oids
from radospy.rgw.store.records import BucketInfo, QuotaInfo, UserInfo, UserStats
from radospy.rgw.store.reshard import Resharder, ReshardError
from radospy.rgw.store.store import Store
from radospy.rgw.store.users import UserError


class AdminError(Exception):
    """A failed command: the stderr line and the exit status (an errno)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise AdminError(message, errno.EINVAL)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy radosgw-admin", add_help=False, allow_abbrev=False)
    p.add_argument("--uid")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument("--access-key")
    p.add_argument("--secret", "--secret-key", dest="secret")
    p.add_argument("--gen-access-key", action="store_true")
    p.add_argument("--gen-secret", action="store_true")
    p.add_argument("--key-type", default="s3")
    p.add_argument("--max-buckets", type=int)
    p.add_argument("--bucket")
    p.add_argument("--purge-objects", action="store_true")
    p.add_argument("--purge-data", action="store_true")
    p.add_argument("--quota-scope")
    p.add_argument("--max-objects")
    p.add_argument("--max-size")
    p.add_argument("--sync-stats", action="store_true")
    p.add_argument("--num-shards")
    p.add_argument("--fix", action="store_true")
    p.add_argument("--check-objects", action="store_true")
    p.add_argument("--include-all", action="store_true")
    p.add_argument("--format", choices=("json", "json-pretty"), default="json-pretty")
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("words", nargs="*")
    return p


def user_json(info: UserInfo) -> dict[str, Any]:
    """`radosgw-admin user info`'s document."""
    return {
        "user_id": info.user_id,
        "display_name": info.display_name,
        "email": info.email,
        "suspended": info.suspended,
        "max_buckets": info.max_buckets,
        "subusers": [],
        "keys": [{"user": k.user, "access_key": k.access_key, "secret_key": k.secret_key}
                 for k in info.keys],
        "swift_keys": [],
        "caps": [],
        "op_mask": info.op_mask,
        "default_placement": "",
        "default_storage_class": "",
        "placement_tags": [],
        "bucket_quota": quota_json(info.bucket_quota),
        "user_quota": quota_json(info.user_quota),
        "temp_url_keys": [],
        "type": info.type,
        "mfa_ids": [],
    }


def bucket_stats_json(info: BucketInfo, usage: Usage) -> dict[str, Any]:
    """`radosgw-admin bucket stats`'s document for one bucket."""
    return {
        "bucket": info.bucket,
        "num_shards": info.num_shards,
        "tenant": "",
        "zonegroup": info.zonegroup,
        "placement_rule": info.placement_rule,
        "explicit_placement": {"data_pool": "", "data_extra_pool": "", "index_pool": ""},
        "id": info.marker,
        "marker": info.marker,
        "index_type": "Normal",
        "owner": info.owner,
        "creation_time": _iso(info.creation_time),
        "usage": {"rgw.main": usage.stats_json()} if usage.objects else {},
        "bucket_quota": quota_json(info.quota),
    }


def _iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class _Admin:
    def __init__(self, store: Store, args: argparse.Namespace, config: Any) -> None:
        self.store = store
        self.args = args
        self.config = config
        self.out: Any = None

    def _uid(self) -> str:
        if not self.args.uid:
            raise AdminError("user id was not specified", errno.EINVAL)
        return str(self.args.uid)

    async def _user(self) -> UserInfo:
        info = await self.store.users.get(self._uid())
        if info is None:
            raise AdminError("could not fetch user info: no user info saved", errno.ENOENT)
        return info

    async def user_create(self) -> None:
        uid = self._uid()
        if not self.args.display_name:
            raise AdminError("display-name was not specified", errno.EINVAL)
        try:
            info = await self.store.users.create(
                uid, self.args.display_name, email=self.args.email or "",
                access_key=self.args.access_key, secret_key=self.args.secret,
                max_buckets=1000 if self.args.max_buckets is None else self.args.max_buckets)
        except UserError as exc:
            raise AdminError(f"could not create user: unable to create user, {exc}",
                             exc.errno) from None
        self.out = user_json(info)

    async def user_info(self) -> None:
        self.out = user_json(await self._user())

    async def user_list(self) -> None:
        self.out = await self.store.users.list()

    async def user_rm(self) -> None:
        info = await self._user()
        owned = await self.store.users.bucket_names(info.user_id)
        if owned and not self.args.purge_data:
            raise AdminError("could not remove user: unable to remove user, user has "
                             "buckets (use --purge-data)", errno.ENOTEMPTY)
        for bucket in owned:
            await self._remove_bucket(bucket, purge=True)
        await self.store.users.remove(info.user_id)

    async def user_modify(self) -> None:
        await self._user()
        args = self.args

        def change(user: UserInfo) -> None:
            if args.display_name:
                user.display_name = args.display_name
            if args.email is not None:
                user.email = args.email
            if args.max_buckets is not None:
                user.max_buckets = args.max_buckets

        self.out = user_json(await self.store.users.update(self._uid(), change))

    async def _suspend(self, value: int) -> None:
        await self._user()

        def change(user: UserInfo) -> None:
            user.suspended = value

        self.out = user_json(await self.store.users.update(self._uid(), change))

    async def user_suspend(self) -> None:
        await self._suspend(1)

    async def user_enable(self) -> None:
        await self._suspend(0)

    async def key_create(self) -> None:
        await self._user()
        if self.args.key_type != "s3":
            raise AdminError("only s3 keys are supported", errno.EINVAL)
        try:
            info = await self.store.users.add_key(self._uid(), self.args.access_key,
                                                  self.args.secret)
        except UserError as exc:
            raise AdminError(f"could not create key: unable to add access key, {exc}",
                             exc.errno) from None
        self.out = user_json(info)

    async def key_rm(self) -> None:
        await self._user()
        if not self.args.access_key:
            raise AdminError("access key was not specified", errno.EINVAL)
        try:
            info = await self.store.users.remove_key(self._uid(), self.args.access_key)
        except UserError as exc:
            raise AdminError(f"could not remove key: unable to parse request, {exc}",
                             exc.errno) from None
        self.out = user_json(info)

    async def bucket_list(self) -> None:
        if self.args.uid:
            await self._user()
            self.out = sorted(await self.store.users.bucket_names(self._uid()))
        else:
            self.out = await self.store.buckets.list_all()

    async def _bucket(self) -> BucketInfo:
        if not self.args.bucket:
            raise AdminError("bucket name was not specified", errno.EINVAL)
        try:
            return await self.store.buckets.get(self.args.bucket)
        except S3Error:
            raise AdminError("failure: (2) No such file or directory", errno.ENOENT) from None

    async def bucket_stats(self) -> None:
        if not self.args.bucket:
            stats = []
            for name in await self.store.buckets.list_all():
                self.args.bucket = name
                info = await self._bucket()
                usage = await self.store.buckets.index(info).usage()
                stats.append(bucket_stats_json(info, usage))
            self.out = stats
            return
        info = await self._bucket()
        self.out = bucket_stats_json(info, await self.store.buckets.index(info).usage())

    async def bucket_link(self) -> None:
        info = await self._bucket()
        await self._user()
        await self.store.buckets.relink(info, self._uid())

    async def bucket_rm(self) -> None:
        info = await self._bucket()
        await self._remove_bucket(info.bucket, purge=self.args.purge_objects)

    async def _remove_bucket(self, bucket: str, *, purge: bool) -> None:
        info = await self.store.buckets.get(bucket)
        index = self.store.buckets.index(info)
        if purge:
            for oid in shard_oids(info):
                after = ""
                while True:
                    entries, more = await index.page(oid, after)
                    for entry in entries:
                        await self.store.objects.delete(info, index, entry.key,
                                                        entry.version_id)
                    if not more or not entries:
                        break
                    after = entry_name(entries[-1])
            for upload in await self.store.uploads.list(info):
                await self.store.uploads.claim(info, upload.key, upload.upload_id)
                await self.store.uploads.finish(info, upload.key, upload.upload_id)
        try:
            await self.store.buckets.delete(info)
        except S3Error as exc:
            if exc.code == "BucketNotEmpty":
                raise AdminError("ERROR: could not remove non-empty bucket " + bucket,
                                 errno.ENOTEMPTY) from None
            raise


    def _quota_target(self) -> str:
        """Which quota a `quota` command changes: "bucket" (a bucket's own), "user" or
        "user-bucket" (the user's default for its buckets), as radosgw-admin decides."""
        scope = self.args.quota_scope
        if not self.args.bucket and not self.args.uid:
            raise AdminError("ERROR: bucket name or uid is required for quota operation",
                             errno.EINVAL)
        if self.args.bucket:
            if scope not in (None, "bucket"):
                raise AdminError("ERROR: invalid quota scope specification.", errno.EINVAL)
            return "bucket"
        if scope == "bucket":
            return "user-bucket"
        if scope == "user":
            return "user"
        raise AdminError("ERROR: invalid quota scope specification. Please specify either "
                         "--quota-scope=bucket, or --quota-scope=user", errno.EINVAL)

    def _quota_change(self) -> Callable[[QuotaInfo], QuotaInfo]:
        max_objects = max_size = None
        if self.args.max_objects is not None:
            try:
                max_objects = int(self.args.max_objects)
            except ValueError:
                raise AdminError("ERROR: failed to parse max objects: "
                                 + self.args.max_objects, errno.EINVAL) from None
            max_objects = max(max_objects, -1)
        if self.args.max_size is not None:
            try:
                max_size = parse_size(self.args.max_size)
            except ValueError as exc:
                raise AdminError(f"ERROR: failed to parse max size: {exc}",
                                 errno.EINVAL) from None
        words = self.args.words[1]

        def change(q: QuotaInfo) -> QuotaInfo:
            if words == "enable":
                return msgspec.structs.replace(q, enabled=True)
            if words == "disable":
                return msgspec.structs.replace(q, enabled=False)
            return msgspec.structs.replace(
                q, max_objects=q.max_objects if max_objects is None else max_objects,
                max_size=q.max_size if max_size is None else max_size)

        return change

    async def quota(self) -> None:
        target = self._quota_target()
        change = self._quota_change()
        if target == "bucket":
            info = await self._bucket()
            await self.store.buckets.update(
                info, lambda b: msgspec.structs.replace(b, quota=change(b.quota)))
            return
        await self._user()

        def apply(user: UserInfo) -> None:
            if target == "user":
                user.user_quota = change(user.user_quota)
            else:
                user.bucket_quota = change(user.bucket_quota)

        await self.store.users.update(self._uid(), apply)

    async def user_stats(self) -> None:
        info = await self._user()
        if self.args.sync_stats:
            total = Usage()
            for name in await self.store.users.bucket_names(info.user_id):
                try:
                    bucket = await self.store.buckets.get(name)
                except S3Error:
                    continue
                total += await self.store.buckets.index(bucket).usage()
            now = time.time()
            await self.store.users.set_stats(info.user_id, UserStats(
                total.objects, total.size, total.size_rounded, now, now))
        stats = await self.store.users.stats(info.user_id)
        usage = Usage(stats.objects, stats.size, stats.size_rounded)
        self.out = {
            "stats": usage.stats_json(),
            "last_stats_sync": _iso(stats.last_stats_sync),
            "last_stats_update": _iso(stats.last_stats_update),
        }


    def _num_shards(self) -> int:
        if self.args.num_shards is None:
            raise AdminError("ERROR: --num-shards not specified", errno.EINVAL)
        try:
            return int(self.args.num_shards)
        except ValueError:
            raise AdminError("ERROR: failed to parse num shards: " + self.args.num_shards,
                             errno.EINVAL) from None

    def _resharder(self) -> Resharder:
        return Resharder(self.store.buckets, self.store.pools.reshard_log)

    async def bucket_reshard(self) -> None:
        info = await self._bucket()
        num_shards = self._num_shards()
        try:
            fresh = await self._resharder().reshard(info, num_shards)
        except ReshardError as exc:
            raise AdminError(str(exc), exc.errno) from None
        self.out = bucket_stats_json(fresh, await self.store.buckets.index(fresh).usage())

    async def reshard_add(self) -> None:
        info = await self._bucket()
        try:
            await self._resharder().add(info, self._num_shards())
        except ReshardError as exc:
            raise AdminError(str(exc), exc.errno) from None

    async def reshard_list(self) -> None:
        self.out = [
            {"time": _iso(e.time), "tenant": e.tenant, "bucket_name": e.bucket_name,
             "bucket_id": e.bucket_id, "new_instance_id": e.new_instance_id,
             "old_num_shards": e.old_num_shards,
             "tentative_new_num_shards": e.tentative_new_num_shards}
            for e in await self._resharder().queue()]

    async def reshard_status(self) -> None:
        self.out = await self._resharder().status(await self._bucket())

    async def reshard_cancel(self) -> None:
        await self._resharder().cancel(await self._bucket())

    async def reshard_process(self) -> None:
        try:
            await self._resharder().process()
        except ReshardError as exc:
            raise AdminError(str(exc), exc.errno) from None

    async def bucket_check(self) -> None:
        info = await self._bucket()
        report = await check_bucket(self.store.buckets.index(info), self.store.objects, info,
                                    fix=self.args.fix, check_objects=self.args.check_objects)
        self.out = report.json()


    async def gc_list(self) -> None:
        now = time.time()
        self.out = [
            {"tag": e.tag, "time": _iso(e.time),
             "objs": [{"pool": names.DATA_POOL, "oid": oid, "key": "", "instance": ""}
                      for oid in e.oids],
             **({"upload_prefix": e.prefix} if e.prefix else {})}
            for e in await self.store.gc.entries() if self.args.include_all or e.time <= now]

    async def gc_process(self) -> None:
        await self.store.gc.process(include_all=self.args.include_all)

    async def lc_list(self) -> None:
        rows = []
        for shard in range(lc.SHARDS):
            for entry in await self.store.lc.entries(shard):
                rows.append({"bucket": lc.entry_key(entry.bucket, entry.marker),
                             "shard": lc.shard_oid(shard),
                             "started": _http_date(entry.started),
                             "status": entry.status})
        self.out = rows

    async def lc_process(self) -> None:
        if self.args.bucket is not None:
            await self._bucket()
        worker = LifecycleWorker(self.store, debug_interval=self.config.get_int(
            "rgw_lc_debug_interval"), lock_time=self.config.get_int("rgw_lc_lock_max_time"))
        await worker.process(self.args.bucket)


def _http_date(epoch: float) -> str:
    """RGW's lc timestamps: `Thu, 01 Jan 1970 00:00:00 GMT`."""
    return email.utils.formatdate(int(epoch), usegmt=True)


COMMANDS: dict[tuple[str, str], Callable[[_Admin], Awaitable[None]]] = {
    ("user", "create"): _Admin.user_create,
    ("user", "info"): _Admin.user_info,
    ("user", "list"): _Admin.user_list,
    ("user", "rm"): _Admin.user_rm,
    ("user", "modify"): _Admin.user_modify,
    ("user", "suspend"): _Admin.user_suspend,
    ("user", "enable"): _Admin.user_enable,
    ("key", "create"): _Admin.key_create,
    ("key", "rm"): _Admin.key_rm,
    ("bucket", "list"): _Admin.bucket_list,
    ("bucket", "stats"): _Admin.bucket_stats,
    ("bucket", "rm"): _Admin.bucket_rm,
    ("bucket", "link"): _Admin.bucket_link,
    ("quota", "set"): _Admin.quota,
    ("quota", "enable"): _Admin.quota,
    ("quota", "disable"): _Admin.quota,
    ("user", "stats"): _Admin.user_stats,
    ("bucket", "reshard"): _Admin.bucket_reshard,
    ("bucket", "check"): _Admin.bucket_check,
    ("reshard", "add"): _Admin.reshard_add,
    ("reshard", "list"): _Admin.reshard_list,
    ("reshard", "status"): _Admin.reshard_status,
    ("reshard", "cancel"): _Admin.reshard_cancel,
    ("reshard", "process"): _Admin.reshard_process,
    ("gc", "list"): _Admin.gc_list,
    ("gc", "process"): _Admin.gc_process,
    ("lc", "list"): _Admin.lc_list,
    ("lc", "process"): _Admin.lc_process,
}


def usage() -> str:
    return "usage: radosgw-admin <cmd> [options...]\ncommands:\n" + "".join(
        f"  {a} {b}\n" for a, b in COMMANDS)


async def _run(config: Any, handler: Callable[[_Admin], Awaitable[None]],
               args: argparse.Namespace) -> Any:
    rados = AsyncRados(config)
    await rados.connect()
    try:
        store = await Store(rados).open(create=True)
        admin = _Admin(store, args, config)
        await handler(admin)
        return admin.out
    finally:
        await rados.shutdown()


def main(argv: list[str]) -> int:
    """Entry point: 0, or the errno with Ceph's error line on stderr."""
    try:
        boot = bootstrap(argv)
        args = _parser().parse_intermixed_args(boot.args)
        if args.help or len(args.words) < 2:
            print(usage(), file=sys.stdout if args.help else sys.stderr)
            return 0 if args.help else 1
        handler = COMMANDS.get((args.words[0], args.words[1]))
        if handler is None or len(args.words) > 2:
            raise AdminError("ERROR: unrecognized arg " + " ".join(args.words), errno.EINVAL)
        out = asyncio.run(_run(boot.config, handler, args))
        if out is not None:
            indent = 4 if args.format == "json-pretty" else None
            print(json.dumps(out, indent=indent))
        return 0
    except AdminError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except RadosError as exc:
        print(f"couldn't init storage provider: ({exc.errno}) {os.strerror(exc.errno)}",
              file=sys.stderr)
        return exc.errno or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
