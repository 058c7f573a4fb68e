"""Bucket policies: parsing and validation (MalformedPolicy with S3's messages) and the
evaluator (explicit Deny wins, Allow, no opinion), with hypothesis properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.s3 import policy
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.policy import Effect, Request

BUCKET = "photos"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str = "Allow", principal: Any = "*", action: Any = "s3:GetObject",
         resource: Any = "arn:aws:s3:::photos/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action,
            "Resource": resource, **extra}


def judge(text: str, user: str = "bob", action: str = "s3:GetObject", key: str | None = "a",
          context: dict[str, tuple[str, ...]] | None = None, anonymous: bool = False
          ) -> Effect | None:
    req = Request(user, action, policy.bucket_arn(BUCKET, key), context or {}, anonymous)
    return policy.evaluate(policy.parse(text, BUCKET), req)


def malformed(text: str | bytes) -> str:
    with pytest.raises(S3Error) as info:
        policy.parse(text, BUCKET)
    assert info.value.code == "MalformedPolicy" and info.value.status == 400
    return info.value.message


def test_public_read_policy() -> None:
    text = doc(stmt())
    assert judge(text) is Effect.ALLOW
    assert judge(text, anonymous=True, user="anonymous") is Effect.ALLOW
    assert judge(text, action="s3:PutObject") is None
    assert judge(text, action="s3:ListBucket", key=None) is None
    assert policy.is_public(policy.parse(text, BUCKET))


def test_user_principal_and_explicit_deny_wins() -> None:
    text = doc(stmt(principal={"AWS": ["arn:aws:iam:::user/bob"]}, action="s3:*",
                    resource=["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]),
               stmt("Deny", principal={"AWS": "*"}, action="s3:DeleteObject",
                    resource="arn:aws:s3:::photos/keep/*"))
    assert judge(text, action="s3:PutObject") is Effect.ALLOW
    assert judge(text, action="s3:ListBucket", key=None) is Effect.ALLOW
    assert judge(text, user="carol") is None
    assert judge(text, action="s3:DeleteObject", key="keep/x") is Effect.DENY
    assert judge(text, action="s3:DeleteObject", key="other") is Effect.ALLOW
    assert judge(text, anonymous=True, user="anonymous") is None
    assert not policy.is_public(policy.parse(text, BUCKET))


def test_root_principal_means_every_user_but_not_anonymous() -> None:
    text = doc(stmt(principal={"AWS": "arn:aws:iam:::root"}))
    assert judge(text, user="anyone") is Effect.ALLOW
    assert judge(text, user="anonymous", anonymous=True) is None


def test_wildcard_actions_and_resources() -> None:
    text = doc(stmt(action="s3:Get*", resource="arn:aws:s3:::photos/2024/??.jpg"))
    assert judge(text, action="s3:GetObjectTagging", key="2024/ab.jpg") is Effect.ALLOW
    assert judge(text, key="2024/abc.jpg") is None
    assert judge(text, action="s3:PutObject", key="2024/ab.jpg") is None


def test_not_action_and_not_resource() -> None:
    text = doc({"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject",
                "NotResource": "arn:aws:s3:::photos/public/*"})
    assert judge(text, action="s3:PutObject", key="private/x") is Effect.DENY
    assert judge(text, action="s3:GetObject", key="private/x") is None
    assert judge(text, action="s3:PutObject", key="public/x") is None


def test_conditions() -> None:
    text = doc(
        stmt(action="s3:ListBucket", resource="arn:aws:s3:::photos",
             Condition={"StringLike": {"s3:prefix": ["home/bob/*", "shared/*"]}}),
        stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        stmt("Deny", action="s3:*", resource="arn:aws:s3:::photos/*",
             Condition={"Bool": {"aws:SecureTransport": False},
                        "StringEquals": {"aws:username": "mallory"}}),
    )
    ctx_ok = {"s3:prefix": ("home/bob/docs",)}
    assert judge(text, action="s3:ListBucket", key=None, context=ctx_ok) is Effect.ALLOW
    assert judge(text, action="s3:ListBucket", key=None,
                 context={"s3:prefix": ("home/eve/",)}) is None
    assert judge(text, action="s3:ListBucket", key=None) is None
    assert judge(text, context={"aws:sourceip": ("10.1.2.3",)}) is Effect.ALLOW
    assert judge(text, context={"aws:sourceip": ("127.0.0.1",)}) is None
    insecure = {"aws:securetransport": ("false",), "aws:username": ("mallory",),
                "aws:sourceip": ("10.1.2.3",)}
    assert judge(text, user="mallory", context=insecure) is Effect.DENY


def test_negated_if_exists_and_null_conditions() -> None:
    text = doc(stmt("Deny", Condition={"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))
    assert judge(text, context={"aws:sourceip": ("192.0.2.1",)}) is Effect.DENY
    assert judge(text, context={"aws:sourceip": ("127.0.0.1",)}) is None
    text = doc(stmt(Condition={"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}))
    assert judge(text) is Effect.ALLOW
    assert judge(text, context={"s3:x-amz-acl": ("public-read",)}) is None
    text = doc(stmt(Condition={"Null": {"s3:x-amz-acl": "true"}}))
    assert judge(text) is Effect.ALLOW
    assert judge(text, context={"s3:x-amz-acl": ("private",)}) is None
    text = doc(stmt(Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}}))
    assert judge(text, context={"s3:max-keys": ("5",)}) is Effect.ALLOW
    assert judge(text, context={"s3:max-keys": ("50",)}) is None


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "This policy contains invalid Json"),
    ("[]", "This policy contains invalid Json"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (json.dumps({"Version": "2011-01-01", "Statement": [stmt()]}),
     "The policy must contain a valid version string"),
    (doc(stmt(effect="Maybe")), "Invalid effect: Maybe"),
    (doc(stmt(action="s3:GetObjekt")), "Policy has invalid action"),
    (doc(stmt(action="ec2:RunInstances")), "Policy has invalid action"),
    (doc(stmt(resource="arn:aws:s3:::otherbucket/*")), "Policy has invalid resource"),
    (doc(stmt(resource="photos/*")), "Policy has invalid resource"),
    (doc(stmt(principal={"AWS": "bob"})), "Invalid principal in policy"),
    (doc(stmt(principal={"CanonicalUser": "x"})), "Invalid principal in policy"),
    (doc(stmt(Condition={"StringSortOf": {"s3:prefix": "a"}})),
     "Invalid Condition type : StringSortOf"),
    (doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "not-an-ip"}})),
     "Invalid IP address: not-an-ip"),
    (doc({k: v for k, v in stmt().items() if k != "Principal"}),
     "Missing required field Principal"),
    (doc(stmt(Extra=1)), "Unknown field Extra"),
    (b"{" + b" " * policy.MAX_POLICY_BYTES + b"}",
     "Policy exceeds the maximum allowed document size."),
])
def test_malformed_policies(text: str | bytes, message: str) -> None:
    assert malformed(text) == message


_segment = st.text(alphabet="abc/", min_size=0, max_size=6)
_glob = st.text(alphabet="abc/*?", min_size=0, max_size=6)


@given(_glob, _segment)
def test_glob_match_agrees_with_a_reference_matcher(glob: str, text: str) -> None:
    def ref(g: str, t: str) -> bool:
        if not g:
            return not t
        if g[0] == "*":
            return any(ref(g[1:], t[i:]) for i in range(len(t) + 1))
        if not t:
            return False
        return (g[0] == "?" or g[0] == t[0]) and ref(g[1:], t[1:])

    assert policy.glob_match(glob, text) == ref(glob, text)


_actions = st.sampled_from(sorted(policy.ACTIONS))
_statements = st.builds(
    lambda effect, principal, action, key: stmt(
        effect, "*" if principal is None else {"AWS": policy.user_arn(principal)},
        action, f"arn:aws:s3:::photos/{key}"),
    st.sampled_from(["Allow", "Deny"]), st.one_of(st.none(), st.sampled_from(["bob", "eve"])),
    st.one_of(_actions, st.just("s3:*"), st.just("s3:Get*")), _glob)


@given(st.lists(_statements, min_size=1, max_size=6), st.sampled_from(["bob", "eve"]),
       _actions, _segment)
def test_deny_wins_and_order_does_not_matter(statements: list[dict[str, Any]], user: str,
                                            action: str, key: str) -> None:
    verdict = judge(doc(*statements), user=user, action=action, key=key)
    assert judge(doc(*reversed(statements)), user=user, action=action, key=key) is verdict
    parsed = policy.parse(doc(*statements), BUCKET)
    req = Request(user, action, policy.bucket_arn(BUCKET, key))
    applying = [s.effect for s in parsed.statements if policy.statement_applies(s, req)]
    if Effect.DENY in applying:
        assert verdict is Effect.DENY
    elif applying:
        assert verdict is Effect.ALLOW
    else:
        assert verdict is None
    # Adding an unconditional Deny of everything makes every request denied.
    deny_all = stmt("Deny", action="s3:*", resource="arn:aws:s3:::photos/*")
    assert judge(doc(*statements, deny_all), user=user, action=action,
                 key=key) is Effect.DENY
