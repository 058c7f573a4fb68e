"""CORS as S3 evaluates it (pure): which rule of a bucket's configuration admits a
request from an origin, and the `Access-Control-*` headers of the answer.

An allowed origin or header may hold one `*` standing for any text; headers compare
case-insensitively. The first rule that admits origin, method and every requested
header wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from radospy.rgw.s3.xml import CorsRule

_NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the "
    "evalution of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
"""S3's message (with its spelling) for a refused preflight."""


def _wildcard(pattern: str, text: str, *, fold: bool = False) -> bool:
    if fold:
        pattern, text = pattern.lower(), text.lower()
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


def requested_headers(value: str | None) -> list[str]:
    """The header names of `Access-Control-Request-Headers`."""
    return [h.strip() for h in (value or "").split(",") if h.strip()]


def match(rules: Sequence[CorsRule], origin: str, method: str,
          headers: Sequence[str] = ()) -> CorsRule | None:
    """The first rule admitting `origin` to use `method` with `headers`, or None."""
    for rule in rules:
        if not any(_wildcard(o, origin) for o in rule.allowed_origins):
            continue
        if method not in rule.allowed_methods:
            continue
        if all(any(_wildcard(a, h, fold=True) for a in rule.allowed_headers) for h in headers):
            return rule
    return None


def response_headers(rule: CorsRule, origin: str) -> dict[str, str]:
    """The headers S3 adds to an actual (non-preflight) cross-origin response."""
    headers = {
        "Access-Control-Allow-Origin": "*" if rule.allowed_origins == ["*"] else origin,
        "Access-Control-Allow-Methods": ", ".join(rule.allowed_methods),
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if rule.allowed_origins != ["*"]:
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    return headers


def preflight_headers(rule: CorsRule, origin: str, headers: Sequence[str]) -> dict[str, str]:
    """The headers of a successful preflight answer."""
    out = response_headers(rule, origin)
    if headers:
        out["Access-Control-Allow-Headers"] = ", ".join(h.lower() for h in headers)
    return out


def not_allowed_message() -> str:
    """The message of a refused preflight."""
    return _NOT_ALLOWED
