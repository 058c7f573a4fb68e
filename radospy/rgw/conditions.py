"""HTTP conditions and ranges as S3 applies them (pure): `Range`, `If-Match`,
`If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since` (and their
`x-amz-copy-source-` forms)."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable

from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.xml import unquote_etag

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

Header = Callable[[str], str | None]


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte a `Range` header asks for, or None for the whole object
    (no header, or one S3 ignores: several ranges, bad syntax). InvalidRange when
    the range starts past the end."""
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.groups()
    if not first_text:
        suffix = int(last_text)
        if suffix == 0:
            raise S3Error(code="InvalidRange", ActualObjectSize=str(size))
        return max(0, size - suffix), size - 1 if size else -1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        raise S3Error(code="InvalidRange", RangeRequested=value, ActualObjectSize=str(size))
    return first, min(last, size - 1)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an HTTP date, or None (absent or unparsable: S3
    then ignores the condition)."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names `etag` (or is `*`)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or unquote_etag(candidate) == etag:
            return True
    return False


def check_read(header: Header, etag: str, mtime: float, *, prefix: str = "") -> None:
    """Evaluate the read conditions (RFC 7232 order, as S3): PreconditionFailed (412)
    or NotModified (304). With `prefix` (`x-amz-copy-source-`), every failure is 412."""
    if_match = header(prefix + "if-match")
    if_none = header(prefix + "if-none-match")
    modified_since = parse_http_date(header(prefix + "if-modified-since"))
    unmodified_since = parse_http_date(header(prefix + "if-unmodified-since"))
    seconds = int(mtime)
    not_modified = "PreconditionFailed" if prefix else "NotModified"
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise S3Error(code="PreconditionFailed", Condition=prefix + "If-Match")
    elif unmodified_since is not None and seconds > unmodified_since:
        raise S3Error(code="PreconditionFailed", Condition=prefix + "If-Unmodified-Since")
    if if_none is not None:
        if etag_matches(if_none, etag):
            raise S3Error(code=not_modified, Condition=prefix + "If-None-Match")
    elif modified_since is not None and seconds <= modified_since:
        raise S3Error(code=not_modified, Condition=prefix + "If-Modified-Since")


def check_write(header: Header, current_etag: str | None) -> None:
    """A conditional PUT's `If-None-Match: *` (the key must not exist) and `If-Match`
    (the current ETag must match): PreconditionFailed otherwise."""
    if_none = header("if-none-match")
    if_match = header("if-match")
    if if_none is not None:
        if if_none.strip() != "*":
            raise S3Error(code="NotImplemented",
                          message="If-None-Match only supports *")
        if current_etag is not None:
            raise S3Error(code="PreconditionFailed", Condition="If-None-Match")
    if if_match is not None and (current_etag is None or not etag_matches(if_match, current_etag)):
        if current_etag is None:
            raise S3Error(code="NoSuchKey")
        raise S3Error(code="PreconditionFailed", Condition="If-Match")
