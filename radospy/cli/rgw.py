"""`radospy rgw`: the S3 gateway, in the foreground.

    radospy rgw [-c CONF] [--id ID | -n TYPE.ID] [--host 127.0.0.1] [--port 7480]
                [--dns-name NAME ...] [--ssl-certificate PEM [--ssl-private-key PEM]]

It connects as `client.admin` unless told otherwise, creates RGW's pools on the
cluster's first start, and serves S3 until SIGTERM or Ctrl-C. `--dns-name` names the
domain under which `<bucket>.<domain>` is virtual-host-style addressing (Ceph's
`rgw_dns_name`); `localhost` by default. With `--ssl-certificate` (and
`--ssl-private-key` when the key is in a file of its own, as beast's `ssl_certificate`
and `ssl_private_key`) the port speaks HTTPS instead of HTTP. Config options (file or
`--name value`): `rgw_lc_debug_interval` (seconds a lifecycle "day" lasts, for tests)
and `rgw_lc_lock_max_time`.
"""

from __future__ import annotations

import argparse
import ssl
import sys
from typing import Any

from radospy.cli.mon import _setup_logging
from radospy.client.rados import AsyncRados
from radospy.common.config import bootstrap
from radospy.common.errors import RadosError
from radospy.common.service import run_service
from radospy.rgw.gateway import Gateway

DEFAULT_PORT = 7480
"""Ceph's radosgw port."""


class _Usage(Exception):
    pass


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _Usage(message)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy rgw", allow_abbrev=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    p.add_argument("--dns-name", action="append", default=None,
                   help="domain for virtual-host-style bucket addressing")
    p.add_argument("--ssl-certificate", default=None,
                   help="PEM certificate (chain) to serve HTTPS with")
    p.add_argument("--ssl-private-key", default=None,
                   help="PEM private key of the certificate (default: in the certificate file)")
    p.add_argument("--foreground", "-f", action="store_true",
                   help="accepted for Ceph compatibility; the gateway always runs in the "
                   "foreground")
    return p


def _tls_context(certificate: str | None, private_key: str | None) -> ssl.SSLContext | None:
    """The server TLS context of `--ssl-certificate`/`--ssl-private-key` (None: plain HTTP)."""
    if certificate is None:
        if private_key is not None:
            raise _Usage("--ssl-private-key needs --ssl-certificate")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certificate, private_key)
    except ssl.SSLError as exc:
        raise _Usage(f"cannot use certificate {certificate}: {exc.reason or exc}") from None
    return context


def main(argv: list[str]) -> int:
    """Entry point: serve until stopped; 1 with a one-line error on failure."""
    try:
        boot = bootstrap(argv)
        args = _parser().parse_args(boot.args)
        if not 0 <= args.port <= 65535:
            raise _Usage(f"invalid port {args.port}")
        _setup_logging(boot.config.get_str("log_file"))
        dns = tuple(args.dns_name or ("localhost",))
        tls = _tls_context(args.ssl_certificate, args.ssl_private_key)
        lc_debug = boot.config.get_int("rgw_lc_debug_interval")
        lc_lock = boot.config.get_int("rgw_lc_lock_max_time")
        run_service(lambda: Gateway(AsyncRados(boot.config), args.host, args.port, dns, tls,
                                    lc_debug_interval=lc_debug, lc_lock_time=lc_lock))
        return 0
    except _Usage as exc:
        print(f"radospy rgw: error: {exc}", file=sys.stderr)
        return 1
    except RadosError as exc:
        print(f"radospy rgw: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"radospy rgw: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
