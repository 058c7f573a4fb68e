"""`radospy mon`: create (``--mkfs``) or run a monitor, as Ceph's ``ceph-mon``.

    radospy mon --mkfs -i NAME --monmap FILE --keyring FILE [-c CONF] [--mon-data DIR]
                [--public-addr HOST:PORT]
    radospy mon -i NAME [-c CONF] [--mon-data DIR] [--public-addr HOST:PORT]
                [-f | --foreground | -d]

The data directory is ``--mon-data``, else the config's ``mon_data`` for ``mon.NAME``.
Without ``--foreground`` the monitor detaches and logs to ``log_file`` (default
``DATA/mon.log``); in the foreground it logs to stderr unless ``log_file`` is set.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from radospy.auth.keyring import Keyring
from radospy.common.addr import Addr
from radospy.common.config import Config, bootstrap
from radospy.common.errors import RadosError
from radospy.mon.daemon import MonConfig, MonError, check_data_dir, mkfs, run_daemon
from radospy.mon.failure_service import failure_config
from radospy.mon.monmap import MonMap

_NO_NAME = "mon.-"
_LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s: %(message)s"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise MonError(message, 22)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy mon", allow_abbrev=False)
    p.add_argument("--mkfs", action="store_true", help="create the data directory")
    p.add_argument("--monmap", help="initial monmap (with --mkfs)")
    p.add_argument("-f", "--foreground", action="store_true", help="do not detach")
    p.add_argument("-d", dest="foreground", action="store_true", help="same as -f")
    return p


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise MonError(f"cannot read {what} '{path}': {exc.strerror}", exc.errno or 5) from None


def _mkfs(args: argparse.Namespace, config: Config, public: tuple[str, int] | None) -> int:
    if not args.monmap:
        raise MonError("--mkfs needs --monmap FILE (and --keyring FILE)", 22)
    # --keyring is the config option: the first of its files that exists.
    paths = [p.strip() for p in config.get_str("keyring").split(",") if p.strip()]
    keyring_path = next((p for p in paths if os.path.exists(p)), None)
    if keyring_path is None:
        raise MonError(f"no keyring found at {','.join(paths)}: give --keyring FILE", 2)
    name = config.name.removeprefix("mon.")
    data_dir = Path(config.get_str("mon_data"))
    try:
        monmap = MonMap.decode(_read(args.monmap, "monmap"))
        keyring = Keyring.parse(_read(keyring_path, "keyring").decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise MonError(f"cannot parse: {exc}", 22) from None
    mkfs(name, data_dir, monmap, keyring, public)
    print(f"radospy mon: created monfs at {data_dir} for mon.{name}", file=sys.stderr)
    return 0


def _setup_logging(log_file: str) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _detach() -> None:
    """The classic double fork: the monitor outlives the shell that started it."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _run(argv: list[str]) -> int:
    # -i NAME, -c CONF and config options (--mon-data, --public-addr, --log-file, ...)
    boot = bootstrap(argv, default_name=_NO_NAME, short_id=True)
    config = boot.config
    if config.name == _NO_NAME:
        raise MonError("-i NAME is required", 22)
    args = _parser().parse_args(boot.args)
    name = config.name.removeprefix("mon.")
    data_dir = Path(config.get_str("mon_data"))
    addr = config.get("public_addr")
    public = (addr.host, addr.port) if isinstance(addr, Addr) else None
    if args.mkfs:
        return _mkfs(args, config, public)
    mon_config = MonConfig(
        name,
        data_dir,
        public,
        failure=failure_config(config),
        tick_interval=float(config.get_int("mon_tick_interval")),
        pg_stuck_threshold=float(config.get_int("mon_pg_stuck_threshold")),
        op_retry_timeout=config.get_float("mon_op_retry_timeout"),
    )
    mon_config = dataclasses.replace(mon_config, messenger=mon_config.messenger.with_modes(config))
    # Check the store before detaching, so a bad data directory fails in the foreground.
    check_data_dir(mon_config)
    log_file = config.get_str("log_file")
    if not args.foreground:
        log_file = log_file or str(data_dir / "mon.log")
    _setup_logging(log_file)
    if not args.foreground:
        _detach()
    run_daemon(mon_config)
    return 0


def main(argv: list[str]) -> int:
    """Entry point: 0, or 1 with a one-line error on stderr."""
    try:
        return _run(argv)
    except RadosError as exc:
        print(f"radospy mon: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
