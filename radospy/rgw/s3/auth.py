"""Which signature scheme a request uses, and its verification.

A request carries at most one of: `Authorization: AWS4-HMAC-SHA256 …` (SigV4),
`Authorization: AWS …` (SigV2), `X-Amz-Algorithm` in the query (SigV4 presigned),
`AWSAccessKeyId`/`Signature` in the query (SigV2 presigned). None of them means an
anonymous request, which bucket policies and ACLs then judge.
"""

from __future__ import annotations

from radospy.rgw.s3 import sigv2, sigv4
from radospy.rgw.s3.errors import AccessDenied, InvalidArgument, NotImplementedS3
from radospy.rgw.s3.request import AuthResult, RequestParts, SecretLookup


def authenticate(
    req: RequestParts,
    lookup: SecretLookup,
    now: float,
    *,
    region: str | None = None,
    bucket: str | None = None,
) -> AuthResult | None:
    """Verify `req` at time `now` (seconds since the epoch) and say who signed it, or
    None for an anonymous request. `region` restricts SigV4 credentials to one region;
    `bucket` is the bucket taken from the Host header (virtual-host style), which
    SigV2 signs as part of the resource."""
    authorization = req.header("authorization")
    names = {name for name, _ in req.query_params()}
    v4_query = "X-Amz-Algorithm" in names
    v2_query = "AWSAccessKeyId" in names or "Signature" in names
    if (authorization is not None) + v4_query + v2_query > 1:
        raise InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be "
            "specified",
            ArgumentName="Authorization",
            ArgumentValue=authorization or "",
        )
    if authorization is not None:
        scheme = authorization.strip().partition(" ")[0]
        if scheme == sigv4.ALGORITHM:
            return sigv4.verify_header_auth(req, lookup, now, region=region)
        if scheme == "AWS":
            return sigv2.verify_header_auth(req, lookup, now, bucket=bucket)
        if scheme.startswith("AWS4-ECDSA"):
            raise NotImplementedS3("SigV4A (asymmetric) signatures are not supported")
        raise AccessDenied("Unsupported Authorization Type")
    if v4_query:
        return sigv4.verify_presigned(req, lookup, now, region=region)
    if v2_query:
        return sigv2.verify_presigned(req, lookup, now, bucket=bucket)
    return None


def claimed_access_key(req: RequestParts) -> str | None:
    """The access key id a request claims to be signed with (before any check), so
    its secret can be fetched ahead of `authenticate`; None for an anonymous one."""
    authorization = (req.header("authorization") or "").strip()
    scheme, _, rest = authorization.partition(" ")
    if scheme == sigv4.ALGORITHM:
        for field in rest.split(","):
            name, _, value = field.strip().partition("=")
            if name == "Credential":
                return value.split("/", 1)[0]
        return None
    if scheme == "AWS":
        return rest.strip().rpartition(":")[0] or None
    for name, value in req.query_params():
        if name == "X-Amz-Credential":
            return value.split("/", 1)[0]
        if name == "AWSAccessKeyId":
            return value
    return None
