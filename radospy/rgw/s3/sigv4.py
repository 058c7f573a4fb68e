"""AWS Signature Version 4 verification for S3: the Authorization header and presigned URLs.

The canonical request is built the way AWS and botocore build it for S3:

* the URI is the decoded path re-encoded once (every byte but `A-Za-z0-9-_.~/` as
  %XX), with no dot-segment normalisation and no double encoding, unlike other services;
* query parameters are decoded, re-encoded the same way (`/` too), and sorted by name
  then value; a presigned URL's `X-Amz-Signature` is left out;
* each signed header is `name:value` with the values of repeated headers joined by `,`,
  each trimmed and with runs of whitespace collapsed to one space;
* the payload line is the `x-amz-content-sha256` header as sent (a hex digest, or
  `UNSIGNED-PAYLOAD` / `STREAMING-…`), and `UNSIGNED-PAYLOAD` for presigned URLs.

Errors are `S3Error`s with the code S3 answers; a signature mismatch carries the string
to sign and canonical request S3 shows clients so they can see where they differ.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from radospy.rgw.s3.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    S3Error,
    SignatureDoesNotMatch,
)
from radospy.rgw.s3.request import (
    MAX_SKEW_SECONDS,
    AuthResult,
    ChunkSigningContext,
    RequestParts,
    SecretLookup,
    decode_path,
    format_amz_date,
    format_iso,
    parse_amz_date,
    uri_encode,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
PAYLOAD_MODES = frozenset(
    {UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


@dataclass(frozen=True)
class Credential:
    """The parsed `AK/YYYYMMDD/region/service/aws4_request` credential."""

    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        """The credential scope line of the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True)
class Signed:
    """What a request claims: its credential, signed headers, signature and time."""

    credential: Credential
    signed_headers: list[str]
    signature: str
    amz_date: str


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a percent-encoded request path (S3: encoded once)."""
    return uri_encode(decode_path(raw_path), keep_slash=True) or "/"


def canonical_query(params: list[tuple[str, str]]) -> str:
    """The canonical query string of decoded (name, value) pairs."""
    encoded = sorted((uri_encode(k), uri_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_headers(req: RequestParts, signed_headers: list[str]) -> str:
    """The canonical header block (each line newline-terminated) of the signed headers."""
    lines = []
    for name in signed_headers:
        values = (" ".join(v.split()) for v in req.header_values(name))
        lines.append(f"{name}:{','.join(values)}\n")
    return "".join(lines)


def canonical_request(
    req: RequestParts, params: list[tuple[str, str]], signed_headers: list[str], payload: str
) -> str:
    """The canonical request of `req`, its query reduced to `params`."""
    return "\n".join(
        (
            req.method.upper(),
            canonical_uri(req.path),
            canonical_query(params),
            canonical_headers(req, signed_headers),
            ";".join(signed_headers),
            payload,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The SigV4 string to sign over a canonical request."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key: HMAC chain of date, region, service and `aws4_request` (kept
    for the day's later requests of the same key, region and service)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def hmac_hex(key: bytes, message: str) -> str:
    """Hex HMAC-SHA256 of a text message, as every SigV4 signature is."""
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, provided: str) -> bool:
    """Compare two hex signatures in constant time (case-insensitively)."""
    return hmac.compare_digest(expected.encode(), provided.lower().encode())


def verify_header_auth(
    req: RequestParts,
    lookup: SecretLookup,
    now: float,
    *,
    service: str = "s3",
    region: str | None = None,
) -> AuthResult:
    """Check a request signed with `Authorization: AWS4-HMAC-SHA256 …` at time `now`
    (seconds since the epoch). `region`, when given, is the only one accepted."""
    authorization = req.header("authorization") or ""
    fields = _parse_authorization(authorization)
    credential = parse_credential(fields["Credential"], AuthorizationHeaderMalformed)
    _check_scope(credential, service, region, AuthorizationHeaderMalformed)
    amz_date = _request_amz_date(req)
    if credential.date != amz_date[:8]:
        raise AuthorizationHeaderMalformed(
            f"Invalid credential date \"{credential.date}\". This date is not the same as "
            f"X-Amz-Date: \"{amz_date[:8]}\"."
        )
    _check_skew(amz_date, now)
    payload = _payload_mode(req, presigned=False)
    signed = Signed(credential, _parse_signed_headers(fields["SignedHeaders"]),
                    fields["Signature"], amz_date)
    params = req.query_params()
    return _verify(req, lookup, signed, params, payload, presigned=False)


def verify_presigned(
    req: RequestParts,
    lookup: SecretLookup,
    now: float,
    *,
    service: str = "s3",
    region: str | None = None,
) -> AuthResult:
    """Check a presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…`)
    at time `now`: expiry (at most 7 days), not-yet-valid, and the signature."""
    params = req.query_params()
    auth = _presigned_params(params)
    if auth["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthorizationQueryParametersError(
            f'X-Amz-Algorithm only supports "{ALGORITHM}"'
        )
    credential = parse_credential(auth["X-Amz-Credential"], AuthorizationQueryParametersError)
    _check_scope(credential, service, region, AuthorizationQueryParametersError)
    amz_date = auth["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    if signed_at is None:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    if credential.date != amz_date[:8]:
        raise AuthorizationQueryParametersError(
            "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    expires = _parse_expires(auth["X-Amz-Expires"])
    if now > signed_at + expires:
        raise AccessDenied(
            "Request has expired",
            **{"X-Amz-Expires": str(expires), "Expires": format_iso(signed_at + expires),
               "ServerTime": format_iso(now)},
        )
    if signed_at > now + MAX_SKEW_SECONDS:
        raise AccessDenied("Request is not valid yet")
    signed = Signed(credential, _parse_signed_headers(auth["X-Amz-SignedHeaders"]),
                    auth["X-Amz-Signature"], amz_date)
    unsigned = [(k, v) for k, v in params if k != "X-Amz-Signature"]
    return _verify(req, lookup, signed, unsigned, _payload_mode(req, presigned=True),
                   presigned=True)


def parse_credential(text: str, error: type[S3Error]) -> Credential:
    """Parse `AK/YYYYMMDD/region/service/aws4_request`; `error` is the S3 error class
    to raise (header and query auth answer with different codes)."""
    parts = text.split("/")
    if len(parts) != 5 or not all(parts[:4]) or len(parts[1]) != 8 or not parts[1].isdigit():
        raise error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
        )
    if parts[4] != TERMINATOR:
        raise error(
            "Error parsing the X-Amz-Credential parameter; incorrect terminal "
            f'"{parts[4]}". This endpoint uses "{TERMINATOR}".'
        )
    return Credential(*parts[:4])


def _check_scope(
    credential: Credential, service: str, region: str | None, error: type[S3Error]
) -> None:
    if credential.service != service:
        raise error(
            f"Error parsing the X-Amz-Credential parameter; incorrect service "
            f'"{credential.service}". This endpoint belongs to "{service}".'
        )
    if region is not None and credential.region != region:
        raise error(
            f"Error parsing the X-Amz-Credential parameter; the region "
            f"'{credential.region}' is wrong; expecting '{region}'",
            Region=region,
        )


def _parse_authorization(value: str) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthorizationHeaderMalformed(
            f"The authorization header is malformed; the algorithm must be {ALGORITHM}."
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, val = part.strip().partition("=")
        if not sep or name in fields:
            raise AuthorizationHeaderMalformed(
                f"The authorization header is malformed; invalid component '{part.strip()}'."
            )
        fields[name] = val
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise AuthorizationHeaderMalformed(
                f"The authorization header is malformed; missing {required}."
            )
    return fields


def _parse_signed_headers(text: str) -> list[str]:
    names = text.lower().split(";")
    if not all(names):
        raise AuthorizationHeaderMalformed(
            "The authorization header is malformed; SignedHeaders is empty or has an "
            "empty name."
        )
    return names


def _presigned_params(params: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in params:
        if name in _QUERY_AUTH_PARAMS:
            found.setdefault(name, value)
    if len(found) != len(_QUERY_AUTH_PARAMS):
        raise AuthorizationQueryParametersError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    return found


def _parse_expires(text: str) -> int:
    if not text.isdigit():
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires should be a number" if not text.startswith("-")
            else "X-Amz-Expires must be non-negative"
        )
    expires = int(text)
    if expires > MAX_PRESIGNED_EXPIRES:
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds"
        )
    return expires


def _request_amz_date(req: RequestParts) -> str:
    """The request time as `YYYYMMDDTHHMMSSZ`, from X-Amz-Date or else Date."""
    amz = req.header("x-amz-date")
    if amz is not None:
        if parse_amz_date(amz.strip()) is not None:
            return amz.strip()
    else:
        date = req.header("date")
        if date is not None:
            try:
                return format_amz_date(parsedate_to_datetime(date).timestamp())
            except (TypeError, ValueError):
                pass
    raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")


def _check_skew(amz_date: str, now: float) -> None:
    request_time = parse_amz_date(amz_date)
    assert request_time is not None  # _request_amz_date only returns parseable dates
    if abs(request_time - now) > MAX_SKEW_SECONDS:
        raise RequestTimeTooSkewed(
            RequestTime=amz_date,
            ServerTime=format_iso(now),
            MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000),
        )


def _payload_mode(req: RequestParts, *, presigned: bool) -> str:
    value = req.header("x-amz-content-sha256")
    if value is None:
        if presigned:
            return UNSIGNED_PAYLOAD
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    value = value.strip()
    if value in PAYLOAD_MODES or _HEX_SHA256.fullmatch(value):
        return value
    raise InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or "
        "a valid sha256 value.",
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value,
    )


def _verify(
    req: RequestParts,
    lookup: SecretLookup,
    signed: Signed,
    params: list[tuple[str, str]],
    payload: str,
    *,
    presigned: bool,
) -> AuthResult:
    cred = signed.credential
    secret = lookup(cred.access_key)
    if secret is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=cred.access_key)
    canonical = canonical_request(req, params, signed.signed_headers, payload)
    sts = string_to_sign(signed.amz_date, cred.scope, canonical)
    key = signing_key(secret, cred.date, cred.region, cred.service)
    expected = hmac_hex(key, sts)
    if not signatures_equal(expected, signed.signature):
        raise SignatureDoesNotMatch(
            AWSAccessKeyId=cred.access_key,
            StringToSign=sts,
            SignatureProvided=signed.signature,
            CanonicalRequest=canonical,
        )
    return AuthResult(
        access_key=cred.access_key,
        version=4,
        presigned=presigned,
        payload=payload,
        region=cred.region,
        chunk_signing=ChunkSigningContext(key, signed.amz_date, cred.scope, expected),
    )

