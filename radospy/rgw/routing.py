"""Which bucket and key a request names (pure): path style `/<bucket>/<key>` or
virtual-host style `Host: <bucket>.<dns name>` with `/<key>`."""

from __future__ import annotations

from dataclasses import dataclass

from radospy.rgw.s3.request import decode_path


@dataclass(frozen=True)
class Target:
    """The bucket and key of a request (None when it names none), and whether the
    bucket came from the Host header."""

    bucket: str | None
    key: str | None
    virtual_host: bool = False


def host_bucket(host: str | None, dns_names: tuple[str, ...]) -> str | None:
    """The bucket a virtual-host-style Host header names, or None."""
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    for dns in dns_names:
        suffix = "." + dns.lower()
        if dns and name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def target(raw_path: str, host: str | None, dns_names: tuple[str, ...]) -> Target:
    """Bucket and key of a request with percent-encoded `raw_path`."""
    path = decode_path(raw_path)
    bucket = host_bucket(host, dns_names)
    if bucket is not None:
        key = path[1:] if path.startswith("/") else path
        return Target(bucket, key or None, True)
    trimmed = path[1:] if path.startswith("/") else path
    if not trimmed:
        return Target(None, None)
    bucket, sep, key = trimmed.partition("/")
    return Target(bucket, key if sep and key else None)
