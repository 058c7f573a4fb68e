"""AWS Signature Version 2 verification (`Authorization: AWS AK:sig` and
`?AWSAccessKeyId=…&Expires=…&Signature=…`), for s3cmd and older clients.

String to sign: method, Content-MD5, Content-Type, Date (the `Expires` value for a
presigned URL), the `x-amz-*` headers (lower-cased, sorted, repeats joined by `,`), then
the resource: `/bucket` for virtual-host requests plus the path as sent, and the
sub-resources S3 signs (`?acl`, `?uploadId=…`, `response-*` overrides…) sorted by name,
values decoded. The signature is base64 of HMAC-SHA1 with the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from radospy.rgw.s3.errors import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidArgument,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from radospy.rgw.s3.request import (
    MAX_SKEW_SECONDS,
    AuthResult,
    RequestParts,
    SecretLookup,
    format_iso,
)

SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "cors", "delete", "encryption", "inventory",
        "legal-hold", "lifecycle", "location", "logging", "metrics", "notification",
        "object-lock", "ownershipControls", "partNumber", "policy", "policyStatus",
        "publicAccessBlock", "replication", "requestPayment", "response-cache-control",
        "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires",
        "restore", "retention", "select", "select-type", "tagging", "torrent", "uploadId",
        "uploads", "versionId", "versioning", "versions", "website",
    }
)
"""Query parameters that are part of the signed resource (AWS's list, with RGW's)."""


def string_to_sign(req: RequestParts, date: str, resource: str) -> str:
    """The SigV2 string to sign, with `date` in the Date slot and `resource` the
    canonicalized resource (see `canonical_resources`)."""
    lines = [
        req.method.upper(),
        (req.header("content-md5") or "").strip(),
        (req.header("content-type") or "").strip(),
        date,
    ]
    return "\n".join(lines) + "\n" + _amz_headers(req) + resource


def canonical_resources(req: RequestParts, bucket: str | None = None) -> list[str]:
    """The canonicalized resource of `req`, first as S3 defines it; `bucket` is the
    bucket named by the Host header in virtual-host-style addressing.

    A path-style request for a bucket itself (`/bucket`) is signed as `/bucket/` by
    botocore (the form S3 documents for a bucket); both forms are accepted.
    """
    path = (f"/{bucket}" if bucket else "") + req.path
    subresources = _subresources(req.query)
    forms = [path]
    if bucket is None and len(path) > 1 and "/" not in path[1:]:
        forms.append(path + "/")
    return [form + subresources for form in forms]


def sign(secret: str, text: str) -> str:
    """Base64 HMAC-SHA1 of `text`: a SigV2 signature."""
    return base64.b64encode(hmac.digest(secret.encode(), text.encode(), hashlib.sha1)).decode()


def verify_header_auth(
    req: RequestParts, lookup: SecretLookup, now: float, *, bucket: str | None = None
) -> AuthResult:
    """Check `Authorization: AWS AK:signature` at time `now` (seconds since the epoch)."""
    value = (req.header("authorization") or "").strip()
    scheme, _, credentials = value.partition(" ")
    access_key, sep, signature = credentials.strip().rpartition(":")
    if scheme != "AWS" or not sep or not access_key or not signature:
        raise InvalidArgument(
            "AWS authorization header is invalid. Expected AwsAccessKeyId:signature",
            ArgumentName="Authorization",
            ArgumentValue=value,
        )
    _check_time(req, now)
    secret = _secret(lookup, access_key)
    # S3 signs an empty Date when x-amz-date is present; clients that fill it in anyway
    # (both headers sent) are accepted too.
    dates = [req.header("date") or ""]
    if req.header("x-amz-date") is not None and dates[0]:
        dates.insert(0, "")
    _check_signature(req, secret, access_key, signature, dates, bucket)
    return AuthResult(access_key=access_key, version=2, presigned=False,
                      payload="UNSIGNED-PAYLOAD")


def verify_presigned(
    req: RequestParts, lookup: SecretLookup, now: float, *, bucket: str | None = None
) -> AuthResult:
    """Check `?AWSAccessKeyId=…&Expires=…&Signature=…` at time `now`."""
    access_key = req.query_param("AWSAccessKeyId")
    expires = req.query_param("Expires")
    signature = req.query_param("Signature")
    if not access_key or expires is None or not signature:
        raise AccessDenied(
            "Query-string authentication requires the Signature, Expires and "
            "AWSAccessKeyId parameters"
        )
    if not expires.isdigit():
        raise AccessDenied("Invalid date (should be seconds since epoch): " + expires)
    if now > int(expires):
        raise AccessDenied("Request has expired", Expires=format_iso(int(expires)),
                           ServerTime=format_iso(now))
    secret = _secret(lookup, access_key)
    _check_signature(req, secret, access_key, signature, [expires], bucket)
    return AuthResult(access_key=access_key, version=2, presigned=True,
                      payload="UNSIGNED-PAYLOAD")


def _secret(lookup: SecretLookup, access_key: str) -> str:
    secret = lookup(access_key)
    if secret is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key)
    return secret


def _check_signature(
    req: RequestParts,
    secret: str,
    access_key: str,
    provided: str,
    dates: list[str],
    bucket: str | None,
) -> None:
    resources = canonical_resources(req, bucket)
    candidates = [string_to_sign(req, date, res) for date in dates for res in resources]
    for sts in candidates:
        if hmac.compare_digest(sign(secret, sts).encode(), provided.encode()):
            return
    raise SignatureDoesNotMatch(
        AWSAccessKeyId=access_key, StringToSign=candidates[0], SignatureProvided=provided
    )


def _check_time(req: RequestParts, now: float) -> None:
    text = req.header("x-amz-date") or req.header("date")
    try:
        request_time = parsedate_to_datetime(text).timestamp() if text else None
    except (TypeError, ValueError):
        request_time = None
    if request_time is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if abs(request_time - now) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed(
            RequestTime=text or "",
            ServerTime=format_iso(now),
            MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000),
        )


def _amz_headers(req: RequestParts) -> str:
    values: dict[str, list[str]] = {}
    for name, value in req.headers:
        lname = name.lower()
        if lname.startswith("x-amz-"):
            values.setdefault(lname, []).append(value.strip())
    return "".join(f"{name}:{','.join(values[name])}\n" for name in sorted(values))


def _subresources(query: str) -> str:
    # As botocore and s3cmd sign it: names matched raw, values decoded, `name` alone
    # when the query had no `=` (`?uploads`) and `name=` when it had an empty value.
    subresources = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if name in SUBRESOURCES:
            subresources.append((name, sep + unquote(value)))
    if not subresources:
        return ""
    subresources.sort(key=lambda kv: kv[0])
    return "?" + "&".join(name + value for name, value in subresources)

