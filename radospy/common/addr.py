"""Network addresses as Ceph writes them: `1.2.3.4:3300`, `[::1]:3300`, `v2:1.2.3.4:3300/0`.

radospy speaks one protocol, so an address is a host and a port. Ceph's `v2:` prefix and
`/nonce` suffix are accepted on input so that addresses copied from Ceph's output work,
and `entity_str()` prints the `v2:IP:PORT/0` form Ceph prints for a msgr2-only address.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from radospy.common.errors import InvalidArgument

MON_PORT = 3300
"""Ceph's IANA monitor port (msgr2), used when an address names no port."""

_HOSTNAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Addr:
    """A host (IP literal, or a host name where names are allowed) and a TCP port."""

    host: str
    port: int

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The host as an IP address, or None for a host name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def entity_str(self) -> str:
        """The address as Ceph prints an `entity_addr_t` of a msgr2 peer: `v2:IP:PORT/0`."""
        return f"v2:{self}/0"

    def sort_key(self) -> tuple[int, int, bytes, str]:
        """Ceph's `entity_addr_t` order: a memcmp of the sockaddr, so family, port, then IP.

        Monitor ranks follow this order, which is why 10.0.0.9:3300 ranks before
        10.0.0.1:3301.
        """
        ip = self.ip
        if ip is None:
            return (0, self.port, b"", self.host)
        return (ip.version, self.port, ip.packed, "")


def parse_addr(text: str, default_port: int = MON_PORT, *, require_ip: bool = False) -> Addr:
    """Parse one address; a missing or zero port becomes `default_port`.

    Raises InvalidArgument naming the text when it is not an address.
    """
    body = text.strip()
    if body.startswith("v2:"):
        body = body[3:]
    elif body.startswith(("v1:", "any:")):
        raise InvalidArgument(f"address '{text}': radospy speaks only the v2 protocol")
    body = re.sub(r"/[0-9]+$", "", body)
    host, port_text = _split_host_port(body, text)
    port = default_port
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
            raise InvalidArgument(f"invalid ip:port '{text}'")
        port = int(port_text) or default_port
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if require_ip or not _HOSTNAME.fullmatch(host):
            raise InvalidArgument(f"invalid ip:port '{text}'") from None
    return Addr(host, port)


def _split_host_port(body: str, text: str) -> tuple[str, str | None]:
    if body.startswith("["):
        end = body.find("]")
        if end < 0:
            raise InvalidArgument(f"invalid ip:port '{text}'")
        rest = body[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidArgument(f"invalid ip:port '{text}'")
        return body[1:end], rest[1:] if rest else None
    if body.count(":") > 1:
        # a bare IPv6 address cannot carry a port
        return body, None
    host, colon, port = body.partition(":")
    return host, port if colon else None


def parse_addrs(text: str, default_port: int = MON_PORT) -> list[Addr]:
    """Parse a `mon_host`-style list: addresses separated by commas, semicolons or spaces.

    A Ceph address vector `[v2:IP:PORT,v1:IP:PORT]` contributes its v2 address.
    """
    addrs: list[Addr] = []
    for token in _split_list(text):
        if token.startswith(("[v1:", "[v2:", "[any:")) and token.endswith("]"):
            members = [m for m in token[1:-1].split(",") if m]
            v2 = [m for m in members if m.startswith("v2:")]
            if not v2:
                raise InvalidArgument(f"address vector '{token}' has no v2 address")
            addrs.append(parse_addr(v2[0], default_port))
        else:
            addrs.append(parse_addr(token, default_port))
    return addrs


def _split_list(text: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth == 0 and (ch in ",;" or ch.isspace()):
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(ch)
    if depth != 0:
        raise InvalidArgument(f"unbalanced brackets in address list '{text}'")
    if current:
        tokens.append("".join(current))
    return tokens
