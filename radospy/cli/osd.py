"""`radospy osd`: create (``--mkfs``) or run an OSD, as Ceph's ``ceph-osd``.

    radospy osd --mkfs -i N [-c CONF] [--osd-data DIR] [--osd-uuid UUID]
    radospy osd -i N [-c CONF] [--osd-data DIR] [--public-addr HOST[:PORT]]
                [-f | --foreground | -d]

``--mkfs`` registers id N with the monitors (``osd new UUID N``: a new id, or one
destroyed with ``osd destroy`` and now re-created at its place) and writes the data
directory. Its key is ``osd.N``'s from the keyring files when they hold one (it is then
added to the monitors' database if missing), else the monitors make one (``auth
get-or-create osd.N`` with the caps of an OSD): Ceph's ``--mkfs --mkkey``. Talking to
the monitors at mkfs takes an admin key (``client.admin``, from the same keyring files).

The data directory is ``--osd-data``, else the config's ``osd_data`` for ``osd.N``.
Without ``--foreground`` the OSD detaches and logs to ``log_file`` (default
``DATA/osd.log``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from radospy.auth.caps import OSD_CAPS
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.cli.mon import _detach, _setup_logging
from radospy.common.addr import Addr
from radospy.common.config import Config, bootstrap
from radospy.common.errors import RadosError
from radospy.mon.client import MonClient, MonClientConfig
from radospy.osd.daemon import (
    OsdConfig,
    OsdError,
    load_data_dir,
    mkfs,
    new_uuid,
    run_daemon,
)
from radospy.osd.heartbeat_service import heartbeat_config
from radospy.osd.map_wait import MapWaitPolicy
from radospy.osd.read_lease import lease_interval
from radospy.osd.recovery import Throttle
from radospy.osd.scrub import ScrubSchedule

_NO_NAME = "osd.-"
_ADMIN = "client.admin"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise OsdError(message, 22)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy osd", allow_abbrev=False)
    p.add_argument("--mkfs", action="store_true", help="create the data directory")
    p.add_argument("--mkkey", action="store_true", help="accepted for ceph-osd compatibility")
    p.add_argument("--osd-uuid", help="uuid of the new OSD (with --mkfs)")
    p.add_argument("-f", "--foreground", action="store_true", help="do not detach")
    p.add_argument("-d", dest="foreground", action="store_true", help="same as -f")
    return p


def _keyring_entries(config: Config) -> Keyring:
    """Every entity of every keyring file the config names (later files do not win)."""
    merged = Keyring()
    for path in (p.strip() for p in config.get_str("keyring").split(",")):
        if not path or not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                found = Keyring.parse(f.read())
        except (OSError, ValueError) as exc:
            raise OsdError(f"cannot read keyring {path}: {exc}", 5) from None
        for name, auth in found.items():
            merged.entities.setdefault(name, auth)
    return merged


def _mon_addrs(config: Config) -> tuple[tuple[str, int], ...]:
    addrs = tuple(dict.fromkeys((a.host, a.port) for a in config.get_addrs("mon_host")))
    if not addrs:
        raise OsdError("no monitors specified to connect to (set mon_host)", 2)
    return addrs


async def _register(
    config: Config, osd_id: int, osd_uuid: str, own: EntityAuth | None
) -> tuple[str, CryptoKey]:
    """``osd new`` and the OSD's key, through the monitors; returns (fsid, key)."""
    keyring = _keyring_entries(config)
    admin = keyring.get(EntityName.parse(_ADMIN))
    if admin is None:
        raise OsdError(f"--mkfs needs the {_ADMIN} key in the keyring to reach the monitors", 2)
    timeout = float(config.get_int("client_mount_timeout"))
    async with MonClient(MonClientConfig(_ADMIN, admin.key, _mon_addrs(config), timeout)) as monc:

        async def command(cmd: dict[str, Any], inbuf: bytes = b"") -> bytes:
            rc, out, outs = await monc.command(cmd, inbuf)
            if rc < 0:
                raise OsdError(f"'{cmd['prefix']}' failed: {outs}", -rc)
            return out

        await command({"prefix": "osd new", "uuid": osd_uuid, "id": osd_id})
        entity = f"osd.{osd_id}"
        caps = [w for svc, c in OSD_CAPS.items() for w in (svc, c)]
        if own is not None:
            text = Keyring({EntityName.parse(entity): own}).to_text().encode()
            await command({"prefix": "auth add", "entity": entity, "caps": caps}, text)
            key = own.key
        else:
            out = await command({"prefix": "auth get-or-create", "entity": entity, "caps": caps})
            got = Keyring.parse(out.decode()).get(EntityName.parse(entity))
            if got is None:
                raise OsdError(f"the monitors returned no key for {entity}", 5)
            key = got.key
        dump = await command({"prefix": "osd dump", "format": "json"})
        fsid = str(json.loads(dump).get("fsid", ""))
    return fsid, key


def _mkfs(args: argparse.Namespace, config: Config, osd_id: int, data_dir: Path) -> int:
    osd_uuid = args.osd_uuid or new_uuid()
    own = _keyring_entries(config).get(EntityName("osd", str(osd_id)))
    fsid, key = asyncio.run(_register(config, osd_id, osd_uuid, own))
    mkfs(osd_id, data_dir, fsid, osd_uuid, key)
    print(
        f"radospy osd: created object store {data_dir} for osd.{osd_id} fsid {fsid}",
        file=sys.stderr,
    )
    return 0


def _run(argv: list[str]) -> int:
    boot = bootstrap(argv, default_name=_NO_NAME, short_id=True)
    config = boot.config
    if config.name == _NO_NAME:
        raise OsdError("-i ID is required", 22)
    args = _parser().parse_args(boot.args)
    try:
        osd_id = int(config.name.removeprefix("osd."))
    except ValueError:
        raise OsdError(f"invalid OSD id '{config.name.removeprefix('osd.')}'", 22) from None
    data_dir = Path(config.get_str("osd_data"))
    if args.mkfs:
        return _mkfs(args, config, osd_id, data_dir)
    load_data_dir(osd_id, data_dir)
    addr = config.get("public_addr")
    public = (addr.host, addr.port) if isinstance(addr, Addr) else ("127.0.0.1", 0)
    osd_config = OsdConfig(
        osd_id,
        data_dir,
        _mon_addrs(config),
        public,
        crush_update_on_start=config.get_bool("osd_crush_update_on_start"),
        crush_location=config.get_str("crush_location"),
        max_object_size=config.get_int("osd_max_object_size"),
        read_threads=config.get_int("osd_read_threads"),
        throttle=Throttle(
            config.get_int("osd_max_backfills"),
            # Our stores are not rotational disks as Ceph knows them: take the _ssd value.
            config.get_int("osd_recovery_max_active")
            or config.get_int("osd_recovery_max_active_ssd"),
            config.get_float("osd_recovery_sleep"),
        ),
        min_pg_log_entries=config.get_int("osd_min_pg_log_entries"),
        max_pg_log_entries=config.get_int("osd_max_pg_log_entries"),
        target_pg_log_entries_per_osd=config.get_int("osd_target_pg_log_entries_per_osd"),
        pg_log_trim_min=config.get_int("osd_pg_log_trim_min"),
        report_interval=float(config.get_int("osd_mon_report_interval")),
        capacity=config.get_int("osd_capacity"),
        heartbeat=heartbeat_config(config),
        read_lease_interval=lease_interval(
            float(config.get_int("osd_heartbeat_grace")),
            config.get_float("osd_pool_default_read_lease_ratio"),
        ),
        beacon_interval=float(config.get_int("osd_beacon_report_interval")),
        map_wait=MapWaitPolicy(
            config.get_float("osd_map_wait_resubscribe_interval"),
            config.get_float("osd_map_wait_timeout"),
        ),
        scrub=ScrubSchedule(
            min_interval=config.get_float("osd_scrub_min_interval"),
            max_interval=config.get_float("osd_scrub_max_interval"),
            deep_interval=config.get_float("osd_deep_scrub_interval"),
            randomize_ratio=config.get_float("osd_scrub_interval_randomize_ratio"),
            chunk_min=config.get_int("osd_scrub_chunk_min"),
            chunk_max=config.get_int("osd_scrub_chunk_max"),
            max_scrubs=config.get_int("osd_max_scrubs"),
            sleep=config.get_float("osd_scrub_sleep"),
        ),
    )
    osd_config = dataclasses.replace(osd_config, messenger=osd_config.messenger.with_modes(config))
    log_file = config.get_str("log_file")
    if not args.foreground:
        log_file = log_file or str(data_dir / "osd.log")
    _setup_logging(log_file)
    if not args.foreground:
        _detach()
    run_daemon(osd_config)
    return 0


def main(argv: list[str]) -> int:
    """Entry point: 0, or 1 with a one-line error on stderr."""
    try:
        return _run(argv)
    except RadosError as exc:
        print(f"radospy osd: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
