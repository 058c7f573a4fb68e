"""S3's listing rules over a bucket index: prefix, delimiter, max-keys and markers.

Keys are ordered by their UTF-8 bytes, as S3 orders them. With a delimiter, every key
whose remainder after the prefix contains it rolls up into one common prefix (the key
up to and including the first delimiter); a common prefix takes one of the page's
`max-keys` slots, like a key. A page lists the items (keys and common prefixes) that
sort after the marker; a common prefix that sorts at or before the marker was listed
already (or the marker lies inside it), so it is skipped. `next_marker` is the last
item of a truncated page: v1's NextMarker, and what a v2 continuation token encodes.

The index is read through a `Source`: a callable giving the entries whose key is at or
after a UTF-8 byte string, in order. Rolling up a common prefix seeks past it
(`prefix + b"\\xff"`, a byte no UTF-8 text contains) instead of reading every key
under it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from radospy.rgw.s3.errors import InvalidArgument

MAX_KEYS = 1000


class Keyed(Protocol):
    """An index entry: anything with a `key`."""

    @property
    def key(self) -> str: ...


T = TypeVar("T", bound=Keyed)

Source = Callable[[bytes], Iterable[T]]
"""`source(start)`: the entries whose UTF-8 key is >= `start`, in byte order."""


@dataclass(frozen=True)
class ListingPage(Generic[T]):
    """One page: entries and common prefixes (each in order), and whether more follow."""

    contents: list[T]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None = None


def list_page(
    source: Source[T],
    *,
    prefix: str = "",
    delimiter: str = "",
    marker: str = "",
    max_keys: int = MAX_KEYS,
) -> ListingPage[T]:
    """The page of the listing after `marker` (a v1 marker, a v2 start-after or a
    decoded continuation token), at most `max_keys` items long."""
    if max_keys <= 0:
        return ListingPage([], [], False)
    prefix_b, marker_b = prefix.encode(), marker.encode()
    start = max(prefix_b, marker_b + b"\x00") if marker else prefix_b
    contents: list[T] = []
    prefixes: list[str] = []
    last: str | None = None
    entries: Iterator[T] = iter(source(start))
    while (entry := next(entries, None)) is not None:
        key = entry.key
        key_b = key.encode()
        if not key_b.startswith(prefix_b):
            break
        if marker and key_b <= marker_b:
            continue
        common = _common_prefix(key, prefix, delimiter)
        if common is not None:
            entries = iter(source(common.encode() + b"\xff"))
            if marker and common.encode() <= marker_b:
                continue
        if len(contents) + len(prefixes) == max_keys:
            return ListingPage(contents, prefixes, True, last)
        if common is not None:
            prefixes.append(common)
            last = common
        else:
            contents.append(entry)
            last = key
    return ListingPage(contents, prefixes, False)


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def encode_token(marker: str) -> str:
    """An opaque ListObjectsV2 continuation token for a page's `next_marker`."""
    return base64.urlsafe_b64encode(marker.encode()).decode()


def decode_token(token: str) -> str:
    """The marker inside a continuation token; InvalidArgument if it is not one."""
    try:
        marker = base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        marker = None
    # The decoder skips stray characters; only a token we could have issued is valid.
    if marker is None or encode_token(marker) != token:
        raise InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token,
        )
    return marker


def parse_max_keys(text: str | None, *, name: str = "max-keys") -> int:
    """The `max-keys` (or `max-uploads`, `max-parts`) parameter: 1000 when absent,
    at most 1000; InvalidArgument when it is not a non-negative integer."""
    if text is None:
        return MAX_KEYS
    if not text.strip().isdigit():
        raise InvalidArgument(
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=text,
        )
    return min(int(text), MAX_KEYS)
