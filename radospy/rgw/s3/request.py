"""What the authentication cores need to know about an HTTP request, and what they answer.

The gateway builds a `RequestParts` from the request line and headers exactly as they
arrived (the path still percent-encoded, the query string raw, headers in order with
repeats), because signatures are computed over the client's bytes, not over a parsed
form of them.
"""

from __future__ import annotations

import calendar
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, unquote_plus

from radospy.rgw.s3.errors import InvalidArgument

SecretLookup = Callable[[str], str | None]
"""Access key id → secret access key, or None when no such key exists."""

MAX_SKEW_SECONDS = 15 * 60
"""S3 refuses a request whose time is further than this from the server's clock."""

_UNRESERVED = "-_.~"


@dataclass(frozen=True)
class RequestParts:
    """An HTTP request as received: `path` percent-encoded and without the query,
    `query` the raw text after `?`, `headers` every (name, value) in arrival order."""

    method: str
    path: str
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()

    @functools.cached_property
    def _by_name(self) -> dict[str, list[str]]:
        """Header values by lower-cased name (built on first use: a request's headers
        are looked up dozens of times)."""
        out: dict[str, list[str]] = {}
        for k, v in self.headers:
            out.setdefault(k.lower(), []).append(v)
        return out

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name` (case-insensitive), in order."""
        return list(self._by_name.get(name.lower(), ()))

    def header(self, name: str) -> str | None:
        """The first value of header `name`, or None."""
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    @functools.cached_property
    def _query(self) -> tuple[tuple[str, str], ...]:
        return tuple(parse_query(self.query))

    def query_params(self) -> list[tuple[str, str]]:
        """The decoded query parameters, in order."""
        return list(self._query)

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter `name` (case-sensitive), or None."""
        for key, value in self.query_params():
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class ChunkSigningContext:
    """What verifying `aws-chunked` chunk signatures needs from the request's SigV4:
    the derived key, the request timestamp and scope, and the seed (request) signature
    that the first chunk's signature chains from."""

    signing_key: bytes = field(repr=False)
    amz_date: str
    scope: str
    seed_signature: str


@dataclass(frozen=True)
class AuthResult:
    """A request whose signature checked out.

    `payload` is the `x-amz-content-sha256` mode for SigV4 (a hex digest the body must
    hash to, `UNSIGNED-PAYLOAD`, or one of the `STREAMING-…` encodings) and
    `UNSIGNED-PAYLOAD` for SigV2, which does not sign bodies. `chunk_signing` is set for
    SigV4 so a streaming body's chunk signatures can be checked.
    """

    access_key: str
    version: int
    presigned: bool
    payload: str
    region: str | None = None
    chunk_signing: ChunkSigningContext | None = None


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded (name, value) pairs; `?acl` gives
    ("acl", ""). `+` means a space, as S3 reads query strings."""
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            pairs.append(
                (unquote_plus(name, errors="strict"), unquote_plus(value, errors="strict"))
            )
        except UnicodeDecodeError as e:
            raise InvalidArgument("Query string is not valid UTF-8") from e
    return pairs


def decode_path(raw_path: str) -> str:
    """The object path a percent-encoded request path names (`+` stays a `+`)."""
    try:
        return unquote(raw_path, errors="strict")
    except UnicodeDecodeError as e:
        raise InvalidArgument("Request path is not valid UTF-8") from e


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """AWS's URI encoding: everything but A-Z a-z 0-9 `-_.~` (and `/` if kept) as %XX
    of its UTF-8 bytes, hex upper-case."""
    return quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


@functools.lru_cache(maxsize=256)
def parse_amz_date(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 basic timestamp `YYYYMMDDTHHMMSSZ`, or
    None if `text` is not one."""
    if len(text) != 16 or not (text[:8].isdigit() and text[9:15].isdigit()):
        return None
    try:
        parsed = time.strptime(text, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return float(calendar.timegm(parsed))


def format_amz_date(epoch: float) -> str:
    """`YYYYMMDDTHHMMSSZ` of a time in seconds since the epoch."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def format_iso(epoch: float) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` of a time in seconds since the epoch (error documents)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
