"""Bucket policies (pure): the JSON document parsed and validated as S3/RGW do, and
evaluated for one request.

A policy is a list of statements, each with an Effect (Allow/Deny), the principals it
is about (`*`, or `arn:aws:iam::<tenant>:user/<uid>` / `:root`), the actions
(`s3:GetObject`, wildcards `s3:Get*`, `s3:*`, `*`, or NotAction), the resources
(`arn:aws:s3:::bucket` and `arn:aws:s3:::bucket/key*`, or NotResource) and conditions
(`StringEquals`, `StringLike`, `IpAddress`, `Bool`, `Numeric*`, `Null`, the negated
forms and the `…IfExists` variants) on the request's context keys (`aws:SourceIp`,
`aws:SecureTransport`, `aws:username`, `s3:prefix`, `s3:x-amz-acl`…).

`evaluate` gives DENY if any matching statement denies, else ALLOW if one allows,
else None: the gateway then falls back to the ACLs, as RGW's `eval_or_pass` does.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from radospy.rgw.s3.errors import S3Error

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_BYTES = 20 * 1024
"""Largest bucket policy S3 accepts."""
ANY_PRINCIPAL = "*"

ACTIONS = frozenset({
    "s3:AbortMultipartUpload", "s3:CreateBucket", "s3:DeleteBucket",
    "s3:DeleteBucketPolicy", "s3:DeleteBucketWebsite", "s3:DeleteObject",
    "s3:DeleteObjectTagging", "s3:DeleteObjectVersion", "s3:DeleteObjectVersionTagging",
    "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLocation", "s3:GetBucketLogging",
    "s3:GetBucketNotification", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus", "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetBucketWebsite",
    "s3:GetLifecycleConfiguration", "s3:GetObject", "s3:GetObjectAcl",
    "s3:GetObjectLegalHold", "s3:GetObjectRetention", "s3:GetObjectTagging",
    "s3:GetObjectVersion", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
    "s3:GetReplicationConfiguration", "s3:ListAllMyBuckets", "s3:ListBucket",
    "s3:ListBucketMultipartUploads", "s3:ListBucketVersions", "s3:ListMultipartUploadParts",
    "s3:PutBucketAcl", "s3:PutBucketCORS", "s3:PutBucketLogging", "s3:PutBucketNotification",
    "s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock", "s3:PutBucketRequestPayment", "s3:PutBucketTagging",
    "s3:PutBucketVersioning", "s3:PutBucketWebsite", "s3:PutLifecycleConfiguration",
    "s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectLegalHold", "s3:PutObjectRetention",
    "s3:PutObjectTagging", "s3:PutObjectVersionAcl", "s3:PutObjectVersionTagging",
    "s3:PutReplicationConfiguration", "s3:RestoreObject", "s3:BypassGovernanceRetention",
})
"""The S3 actions a policy may name (RGW's `s3:` action table)."""

_STRING_OPS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
               "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike")
_NUMERIC_OPS = ("NumericEquals", "NumericNotEquals", "NumericLessThan",
                "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals")
CONDITION_OPS = frozenset((*_STRING_OPS, *_NUMERIC_OPS, "Bool", "IpAddress",
                           "NotIpAddress", "Null"))
_NEGATED = frozenset(("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike",
                      "NumericNotEquals", "NotIpAddress"))


class Effect(enum.Enum):
    """What a policy says about a request."""

    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Condition:
    """One `operator: {key: values}` test of a statement."""

    op: str
    key: str
    values: tuple[str, ...]
    if_exists: bool = False


@dataclass(frozen=True)
class Statement:
    """One statement; `not_*` flags mark NotPrincipal / NotAction / NotResource."""

    effect: Effect
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    sid: str = ""
    not_principal: bool = False
    not_action: bool = False
    not_resource: bool = False


@dataclass(frozen=True)
class Policy:
    """A parsed bucket policy."""

    statements: tuple[Statement, ...]
    version: str = "2012-10-17"


@dataclass(frozen=True)
class Request:
    """What a policy is evaluated against: who, what, on which ARN, in which context.
    `user` is the requester's uid (`anonymous` when unsigned); `context` maps condition
    keys (lower-cased) to their values."""

    user: str
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    anonymous: bool = False


def malformed(message: str) -> S3Error:
    """The MalformedPolicy error with `message`."""
    return S3Error(code="MalformedPolicy", message=message)


def bucket_arn(bucket: str, key: str | None = None) -> str:
    """The ARN of a bucket, or of an object in it."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def user_arn(uid: str, tenant: str = "") -> str:
    """The ARN naming gateway user `uid` as a principal."""
    return f"arn:aws:iam::{tenant}:user/{uid}"


@functools.lru_cache(maxsize=4096)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(glob: str, text: str, *, ignore_case: bool = False) -> bool:
    """Whether `text` matches `glob` (`*` any run of characters, `?` any one)."""
    return _pattern(glob, ignore_case).fullmatch(text) is not None


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise malformed(f"Policy has an invalid {what}")


def _principals(value: object) -> tuple[str, ...]:
    if value == ANY_PRINCIPAL:
        return (ANY_PRINCIPAL,)
    if not isinstance(value, dict) or set(value) - {"AWS"} or "AWS" not in value:
        raise malformed("Invalid principal in policy")
    out = _strings(value["AWS"], "principal")
    for principal in out:
        if principal != ANY_PRINCIPAL and _parse_principal(principal) is None:
            raise malformed("Invalid principal in policy")
    return out


def _parse_principal(principal: str) -> tuple[str, str | None] | None:
    """(tenant, uid) of `arn:aws:iam::<tenant>:user/<uid>`, (tenant, None) of
    `arn:aws:iam::<tenant>:root` (every user of the tenant); None if neither."""
    match = re.fullmatch(r"arn:aws:iam::([^:]*):(?:user/(.+)|(root))", principal)
    if match is None:
        return None
    return match.group(1), match.group(2)


def _value_strings(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise malformed("Invalid Condition value")
    return tuple(out)


def _conditions(value: object) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise malformed("Invalid Condition block")
    out = []
    for raw_op, tests in value.items():
        op, if_exists = raw_op, False
        if op.endswith("IfExists") and op != "IfExists":
            op, if_exists = op[: -len("IfExists")], True
        if op not in CONDITION_OPS:
            raise malformed(f"Invalid Condition type : {raw_op}")
        if not isinstance(tests, dict) or not tests:
            raise malformed(f"Invalid Condition block for {raw_op}")
        for key, values in tests.items():
            parsed = _value_strings(values)
            if op in ("IpAddress", "NotIpAddress"):
                for v in parsed:
                    try:
                        ipaddress.ip_network(v, strict=False)
                    except ValueError:
                        raise malformed(f"Invalid IP address: {v}") from None
            if op in _NUMERIC_OPS:
                for v in parsed:
                    try:
                        float(v)
                    except ValueError:
                        raise malformed(f"Invalid number: {v}") from None
            out.append(Condition(op, key.lower(), parsed, if_exists))
    return tuple(out)


def _check_action(action: str) -> None:
    if action == "*":
        return
    if "*" in action or "?" in action:
        if not action.lower().startswith(("s3:", "s3*")):
            raise malformed("Policy has invalid action")
        return
    if action not in _ACTIONS_LOWER:
        raise malformed("Policy has invalid action")


_ACTIONS_LOWER = {a.lower(): a for a in ACTIONS} | {a: a for a in ACTIONS}


def _check_resource(resource: str, bucket: str) -> None:
    if resource == "*":
        return
    if not resource.startswith("arn:aws:s3:::"):
        raise malformed("Policy has invalid resource")
    name = resource[len("arn:aws:s3:::"):].partition("/")[0]
    if not name or ("*" not in name and "?" not in name and name != bucket):
        raise malformed("Policy has invalid resource")


_STATEMENT_FIELDS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                     "Resource", "NotResource", "Condition"}


def _statement(raw: object, bucket: str) -> Statement:
    if not isinstance(raw, dict):
        raise malformed("Statement is not an object")
    unknown = set(raw) - _STATEMENT_FIELDS
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed(f"Invalid effect: {effect}")

    def one_of(name: str) -> tuple[object, bool]:
        if name in raw and "Not" + name in raw:
            raise malformed(f"Statement has both {name} and Not{name}")
        if name in raw:
            return raw[name], False
        if "Not" + name in raw:
            return raw["Not" + name], True
        raise malformed(f"Missing required field {name}")

    principal, not_principal = one_of("Principal")
    action, not_action = one_of("Action")
    resource, not_resource = one_of("Resource")
    actions = _strings(action, "action")
    for a in actions:
        _check_action(a)
    resources = _strings(resource, "resource")
    for r in resources:
        _check_resource(r, bucket)
    sid = raw.get("Sid", "")
    if not isinstance(sid, str):
        raise malformed("Invalid Sid")
    return Statement(
        Effect(effect), _principals(principal), actions, resources,
        _conditions(raw["Condition"]) if "Condition" in raw else (), sid,
        not_principal, not_action, not_resource)


def parse(text: bytes | str, bucket: str) -> Policy:
    """The policy of bucket `bucket` from its JSON text; MalformedPolicy (with S3's
    message) when it is not a valid one."""
    if len(text) > MAX_POLICY_BYTES:
        raise malformed("Policy exceeds the maximum allowed document size.")
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise malformed("This policy contains invalid Json") from None
    if not isinstance(doc, dict):
        raise malformed("This policy contains invalid Json")
    unknown = set(doc) - {"Version", "Id", "Statement"}
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise malformed("The policy must contain a valid version string")
    if "Statement" not in doc:
        raise malformed("Missing required field Statement")
    raw = doc["Statement"]
    raws = raw if isinstance(raw, list) else [raw]
    if not raws:
        raise malformed("Missing required field Statement")
    return Policy(tuple(_statement(s, bucket) for s in raws), version)


@functools.lru_cache(maxsize=256)
def parse_stored(text: str, bucket: str) -> Policy:
    """A stored policy (validated when it was put), parsed once per text."""
    return parse(text, bucket)


def _principal_matches(principal: str, request: Request) -> bool:
    if principal == ANY_PRINCIPAL:
        return True
    if request.anonymous:
        return False
    parsed = _parse_principal(principal)
    if parsed is None:
        return False
    tenant, uid = parsed
    return tenant == "" and (uid is None or uid == request.user)


def _condition_holds(cond: Condition, context: Mapping[str, tuple[str, ...]]) -> bool:
    present = context.get(cond.key)
    if cond.op == "Null":
        want_absent = cond.values[0].lower() == "true"
        return (present is None) == want_absent
    if present is None:
        # A missing key: IfExists passes; the negated operators hold (nothing equals).
        return cond.if_exists or cond.op in _NEGATED
    matched = any(_test(cond.op, have, want) for have in present for want in cond.values)
    return not matched if cond.op in _NEGATED else matched


def _test(op: str, have: str, want: str) -> bool:
    if op in ("StringEquals", "StringNotEquals"):
        return have == want
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return have.lower() == want.lower()
    if op in ("StringLike", "StringNotLike"):
        return glob_match(want, have)
    if op == "Bool":
        return have.lower() == want.lower()
    if op in ("IpAddress", "NotIpAddress"):
        try:
            return ipaddress.ip_address(have) in ipaddress.ip_network(want, strict=False)
        except ValueError:
            return False
    try:
        a, b = float(have), float(want)
    except ValueError:
        return False
    return {
        "NumericEquals": a == b, "NumericNotEquals": a == b, "NumericLessThan": a < b,
        "NumericLessThanEquals": a <= b, "NumericGreaterThan": a > b,
        "NumericGreaterThanEquals": a >= b,
    }[op]


def statement_applies(st: Statement, request: Request) -> bool:
    """Whether statement `st` is about `request` (its principal, action, resource and
    every condition match)."""
    principal = any(_principal_matches(p, request) for p in st.principals)
    if principal == st.not_principal:
        return False
    action = any(glob_match(a, request.action, ignore_case=True) for a in st.actions)
    if action == st.not_action:
        return False
    resource = any(r == "*" or glob_match(r, request.resource) for r in st.resources)
    if resource == st.not_resource:
        return False
    return all(_condition_holds(c, request.context) for c in st.conditions)


def evaluate(policy: Policy, request: Request) -> Effect | None:
    """DENY if a statement denies the request, else ALLOW if one allows it, else None."""
    verdict = None
    for st in policy.statements:
        if statement_applies(st, request):
            if st.effect is Effect.DENY:
                return Effect.DENY
            verdict = Effect.ALLOW
    return verdict


def is_public(policy: Policy) -> bool:
    """Whether the policy grants anyone at all something: an unconditional Allow to
    the `*` principal (GetBucketPolicyStatus's IsPublic)."""
    return any(
        st.effect is Effect.ALLOW and not st.not_principal and not st.conditions
        and ANY_PRINCIPAL in st.principals
        for st in policy.statements)


OP_ACTIONS: dict[str, str] = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetBucketAcl": "s3:GetBucketAcl",
    "PutBucketAcl": "s3:PutBucketAcl",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "GetBucketTagging": "s3:GetBucketTagging",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectAcl": "s3:GetObjectAcl",
    "PutObjectAcl": "s3:PutObjectAcl",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
}
"""The IAM action each S3 operation is authorised as (DeleteObjects: s3:DeleteObject
per key, judged by its handler)."""

POLICY_OPS = frozenset(("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy",
                        "GetBucketPolicyStatus"))
"""Operations a bucket's owner may always perform: a policy cannot lock its owner out."""


def action_of(op: str, version_id: str | None) -> str | None:
    """The action operation `op` is judged as (`…Version` forms when a version is named)."""
    action = OP_ACTIONS.get(op)
    if action in ("s3:GetObject", "s3:DeleteObject", "s3:GetObjectTagging",
                  "s3:PutObjectTagging", "s3:DeleteObjectTagging", "s3:GetObjectAcl",
                  "s3:PutObjectAcl") and version_id is not None:
        return action.replace("Object", "ObjectVersion", 1)
    return action
