"""SigV4 and SigV2 verification: AWS's published examples and signing test suite, requests
captured from botocore (tests/vectors/s3/botocore_requests.json), tampering, skew and
expiry, and malformed authentication."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.rgw.s3 import sigv2, sigv4
from radospy.rgw.s3.auth import authenticate
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.request import RequestParts, parse_amz_date

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "s3" / "botocore_requests.json").read_text()
)
LOOKUP = {VECTORS["access_key"]: VECTORS["secret_key"]}.get
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

AWS_AK = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _request(vector: dict[str, Any]) -> RequestParts:
    return RequestParts(
        vector["method"], vector["path"], vector["query"], [tuple(h) for h in vector["headers"]]
    )


def _vectors(kind: str) -> list[dict[str, Any]]:
    return [v for v in VECTORS["requests"] if v["name"].startswith(kind)]


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


def _code(call: Callable[[], object]) -> str:
    with pytest.raises(S3Error) as info:
        call()
    return info.value.code


# --------------------------------------------------------------------------- AWS examples


def test_aws_s3_documentation_get_object_example() -> None:
    """The GET example of S3's "Signature Calculations for the Authorization Header"."""
    auth = (
        f"AWS4-HMAC-SHA256 Credential={AWS_AK}/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    req = RequestParts("GET", "/test.txt", "", [
        ("Host", "examplebucket.s3.amazonaws.com"),
        ("Range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", "20130524T000000Z"),
        ("Authorization", auth),
    ])
    now = parse_amz_date("20130524T000000Z")
    assert now is not None
    result = sigv4.verify_header_auth(req, {AWS_AK: AWS_SECRET}.get, now)
    assert (result.access_key, result.version, result.payload) == (AWS_AK, 4, EMPTY_SHA256)
    assert result.chunk_signing is not None
    assert result.chunk_signing.scope == "20130524/us-east-1/s3/aws4_request"


def test_aws_s3_documentation_streaming_seed_signature() -> None:
    """The seed signature of S3's aws-chunked upload example."""
    req = RequestParts("PUT", "/examplebucket/chunkObject.txt", "", [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Authorization",
         f"AWS4-HMAC-SHA256 Credential={AWS_AK}/20130524/us-east-1/s3/aws4_request, "
         "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
         "x-amz-decoded-content-length;x-amz-storage-class, "
         "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
    ])
    now = parse_amz_date("20130524T000000Z")
    assert now is not None
    result = sigv4.verify_header_auth(req, {AWS_AK: AWS_SECRET}.get, now)
    assert result.chunk_signing is not None
    assert result.chunk_signing.seed_signature.startswith("4f232c43")


# The generic AWS SigV4 test suite (awslabs/aws-c-auth aws-signing-test-suite/v4), cases
# whose canonicalisation is the same for S3 (no path normalisation or double encoding):
# (name, request line target, extra headers, signature).
SUITE_HEADER_CASES = [
    ("get-vanilla-query-order-key-case", "/?Param2=value2&Param1=value1", [],
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-header-value-trim", "/", [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')],
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("get-vanilla-query-unreserved",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [],
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-vanilla-utf8-query", "/?ሴ=bar", [],
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    ("get-vanilla-empty-query-key", "/?Param1=value1", [],
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
    ("get-header-key-duplicate", "/",
     [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    ("get-header-value-order", "/",
     [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"),
      ("My-Header1", "value2")],
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
]
SUITE_AK, SUITE_SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_DATE = "20150830T123600Z"


def _suite_request(target: str, headers: list[tuple[str, str]], auth: str | None) -> RequestParts:
    path, _, query = target.partition("?")
    names = sorted({"host", "x-amz-date", *(name.lower() for name, _ in headers)})
    all_headers = [("Host", "example.amazonaws.com"), *headers, ("X-Amz-Date", SUITE_DATE)]
    if auth is not None:
        all_headers.append(("Authorization",
                            f"AWS4-HMAC-SHA256 Credential={SUITE_AK}/20150830/us-east-1/"
                            f"service/aws4_request, SignedHeaders={';'.join(names)}, "
                            f"Signature={auth}"))
    # The suite signs the empty body's hash; S3 reads it from this (unsigned) header.
    all_headers.append(("x-amz-content-sha256", EMPTY_SHA256))
    return RequestParts("GET", path, query, all_headers)


@pytest.mark.parametrize(("name", "target", "headers", "signature"), SUITE_HEADER_CASES,
                         ids=[c[0] for c in SUITE_HEADER_CASES])
def test_aws_signing_suite_header_cases(
    name: str, target: str, headers: list[tuple[str, str]], signature: str
) -> None:
    req = _suite_request(target, headers, signature)
    now = parse_amz_date(SUITE_DATE)
    assert now is not None
    result = sigv4.verify_header_auth(req, {SUITE_AK: SUITE_SECRET}.get, now, service="service")
    assert result.access_key == SUITE_AK
    tampered = dataclasses.replace(req, query=req.query + "&x=1")
    assert _code(lambda: sigv4.verify_header_auth(
        tampered, {SUITE_AK: SUITE_SECRET}.get, now, service="service")) == \
        "SignatureDoesNotMatch"


def test_aws_signing_suite_presigned_case() -> None:
    """get-vanilla-query-order-key-case, signed in the query string."""
    query = ("Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
             "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
             "20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature="
             "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5")
    req = RequestParts("GET", "/", query, [("Host", "example.amazonaws.com"),
                                          ("x-amz-content-sha256", EMPTY_SHA256)])
    now = parse_amz_date(SUITE_DATE)
    assert now is not None
    lookup = {SUITE_AK: SUITE_SECRET}.get
    assert sigv4.verify_presigned(req, lookup, now + 3600, service="service").presigned
    assert _code(lambda: sigv4.verify_presigned(req, lookup, now + 3601, service="service")) \
        == "AccessDenied"


def test_aws_s3_documentation_sigv2_examples() -> None:
    """The GET and PUT examples of S3's "Signing and Authenticating REST Requests"."""
    cases = [
        ("GET", [], "Tue, 27 Mar 2007 19:36:42 +0000", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
        ("PUT", [("Content-Type", "image/jpeg"), ("Content-Length", "94328")],
         "Tue, 27 Mar 2007 21:15:45 +0000", "MyyxeRY7whkBe+bq8fHCL/2kKUg="),
    ]
    for method, headers, date, signature in cases:
        req = RequestParts(method, "/photos/puppy.jpg", "", [
            ("Host", "johnsmith.s3.amazonaws.com"), *headers, ("Date", date),
            ("Authorization", f"AWS {AWS_AK}:{signature}"),
        ])
        now = parsedate_to_datetime(date).timestamp()
        result = sigv2.verify_header_auth(req, {AWS_AK: AWS_SECRET}.get, now,
                                          bucket="johnsmith")
        assert (result.version, result.access_key) == (2, AWS_AK)


# --------------------------------------------------------------------------- botocore


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=_ids(VECTORS["requests"]))
def test_botocore_requests_verify(vector: dict[str, Any]) -> None:
    result = authenticate(_request(vector), LOOKUP, vector["now"], bucket=vector["bucket"])
    assert result is not None
    assert result.access_key == VECTORS["access_key"]
    assert result.version == (4 if vector["name"].startswith("v4/") else 2)
    assert result.presigned == ("presigned" in vector["name"])


def _signed_header_names(req: RequestParts) -> set[str]:
    auth = req.header("authorization") or ""
    if auth.startswith("AWS4"):
        return set(auth.split("SignedHeaders=")[1].split(",")[0].split(";"))
    return {"content-md5", "content-type", "date"} | {
        n.lower() for n, _ in req.headers if n.lower().startswith("x-amz-")}


def _tamperings(vector: dict[str, Any]) -> list[tuple[str, RequestParts]]:
    req = _request(vector)
    out = [
        ("method", dataclasses.replace(req, method="DELETE" if req.method != "DELETE" else "GET")),
        ("path", dataclasses.replace(req, path=req.path + "x")),
        # versionId is signed by both versions (SigV2 signs sub-resources only).
        ("query", dataclasses.replace(req, query=(req.query + "&" if req.query else "")
                                      + "versionId=tampered")),
    ]
    signed = _signed_header_names(req)
    for name, _ in req.headers:
        if name.lower() in signed and name.lower() not in ("x-amz-date", "date", "host"):
            headers = [(n, v + "z" if n == name else v) for n, v in req.headers]
            out.append((f"header {name}", dataclasses.replace(req, headers=headers)))
    return out


@pytest.mark.parametrize("vector", VECTORS["requests"], ids=_ids(VECTORS["requests"]))
def test_botocore_requests_tampered_fail(vector: dict[str, Any]) -> None:
    for what, req in _tamperings(vector):
        try:
            authenticate(req, LOOKUP, vector["now"], bucket=vector["bucket"])
        except S3Error as e:
            # A tampered payload hash is refused as a malformed value or a mismatch.
            assert e.code in ("SignatureDoesNotMatch", "InvalidArgument"), what
        else:
            raise AssertionError(f"tampered {what} accepted")


@pytest.mark.parametrize("vector", _vectors("v4/path/get_object"), ids=_ids(_vectors(
    "v4/path/get_object")))
def test_unsigned_header_changes_are_ignored(vector: dict[str, Any]) -> None:
    req = _request(vector)
    req = dataclasses.replace(req, headers=[*req.headers, ("X-Unsigned", "anything")])
    assert authenticate(req, LOOKUP, vector["now"]) is not None


@pytest.mark.parametrize("vector", _vectors("v4/path/") + _vectors("v2/path/"),
                         ids=_ids(_vectors("v4/path/") + _vectors("v2/path/")))
def test_wrong_secret_and_unknown_key(vector: dict[str, Any]) -> None:
    req = _request(vector)
    assert _code(lambda: authenticate(req, lambda ak: "other", vector["now"])) == \
        "SignatureDoesNotMatch"
    assert _code(lambda: authenticate(req, lambda ak: None, vector["now"])) == \
        "InvalidAccessKeyId"


def test_header_auth_clock_skew() -> None:
    vector = _vectors("v4/path/put_object")[0]
    req, now = _request(vector), vector["now"]
    assert authenticate(req, LOOKUP, now + 14 * 60) is not None
    assert authenticate(req, LOOKUP, now - 14 * 60) is not None
    for skew in (16 * 60, -16 * 60):
        with pytest.raises(S3Error) as info:
            authenticate(req, LOOKUP, now + skew)
        assert info.value.code == "RequestTimeTooSkewed"
        assert info.value.status == 403
        assert info.value.fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_sigv2_clock_skew() -> None:
    vector = _vectors("v2/path/get_object")[0]
    req, now = _request(vector), vector["now"]
    assert authenticate(req, LOOKUP, now + 60) is not None
    assert _code(lambda: authenticate(req, LOOKUP, now + 3600)) == "RequestTimeTooSkewed"


@pytest.mark.parametrize("name", ["v4/path/presigned_get", "v4/virtual/presigned_put",
                                  "v2/path/presigned_get"])
def test_presigned_expiry(name: str) -> None:
    vector = next(v for v in VECTORS["requests"] if v["name"] == name)
    req = _request(vector)
    expires = int(req.query_param("X-Amz-Expires") or req.query_param("Expires") or 0)
    # SigV4 gives a lifetime from X-Amz-Date; SigV2's Expires is a time itself.
    deadline = vector["now"] + expires if name.startswith("v4") else expires
    assert authenticate(req, LOOKUP, deadline - 1) is not None
    with pytest.raises(S3Error) as info:
        authenticate(req, LOOKUP, deadline + 2)
    assert (info.value.code, info.value.message) == ("AccessDenied", "Request has expired")


def test_presigned_not_yet_valid() -> None:
    vector = _vectors("v4/path/presigned_get")[0]
    with pytest.raises(S3Error) as info:
        authenticate(_request(vector), LOOKUP, vector["now"] - 3600)
    assert info.value.code == "AccessDenied"


def _presigned_with(vector: dict[str, Any], name: str, value: str) -> RequestParts:
    req = _request(vector)
    parts = [p if not p.startswith(name + "=") else f"{name}={value}"
             for p in req.query.split("&")]
    return dataclasses.replace(req, query="&".join(parts))


def test_presigned_parameter_errors() -> None:
    vector = _vectors("v4/path/presigned_get")[0]
    now = vector["now"]
    too_long = _presigned_with(vector, "X-Amz-Expires", "604801")
    assert _code(lambda: authenticate(too_long, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"
    negative = _presigned_with(vector, "X-Amz-Expires", "-1")
    assert _code(lambda: authenticate(negative, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"
    algorithm = _presigned_with(vector, "X-Amz-Algorithm", "AWS4-HMAC-SHA1")
    assert _code(lambda: authenticate(algorithm, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"
    bad_date = _presigned_with(vector, "X-Amz-Date", "2026-01-01")
    assert _code(lambda: authenticate(bad_date, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"
    credential = _presigned_with(vector, "X-Amz-Credential", "AK%2F2026")
    assert _code(lambda: authenticate(credential, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"
    req = _request(vector)
    missing = dataclasses.replace(req, query="&".join(
        p for p in req.query.split("&") if not p.startswith("X-Amz-SignedHeaders")))
    assert _code(lambda: authenticate(missing, LOOKUP, now)) == \
        "AuthorizationQueryParametersError"


def test_seven_day_presigned_url_is_accepted() -> None:
    vector = _vectors("v4/path/presigned_get_unicode")[0]
    req = _request(vector)
    assert req.query_param("X-Amz-Expires") == "604800"
    assert authenticate(req, LOOKUP, vector["now"] + 604800 - 5) is not None


def _with_header(req: RequestParts, name: str, value: str | None) -> RequestParts:
    headers = [(n, v) for n, v in req.headers if n.lower() != name.lower()]
    if value is not None:
        headers.append((name, value))
    return dataclasses.replace(req, headers=headers)


def test_malformed_authorization_headers() -> None:
    vector = _vectors("v4/path/get_object")[0]
    req, now = _request(vector), vector["now"]
    auth = req.header("authorization") or ""
    cases = {
        auth.replace("Credential=", "Credentials="): "AuthorizationHeaderMalformed",
        auth.replace("/aws4_request", "/aws5_request"): "AuthorizationHeaderMalformed",
        auth.replace("/s3/", "/ec2/"): "AuthorizationHeaderMalformed",
        auth.replace(", Signature=", ", Sig="): "AuthorizationHeaderMalformed",
        auth.replace("SignedHeaders=host;", "SignedHeaders=;host;"):
            "AuthorizationHeaderMalformed",
        auth.split(" Credential")[0] + "X Credential=a": "AccessDenied",
        "AWS4-ECDSA-P256-SHA256 Credential=x": "NotImplemented",
        "Bearer token": "AccessDenied",
        "AWS missingcolon": "InvalidArgument",
    }
    for value, code in cases.items():
        assert _code(lambda v=value: authenticate(_with_header(req, "Authorization", v),
                                                  LOOKUP, now)) == code, value


def test_region_restriction() -> None:
    vector = _vectors("v4/path/get_object")[0]
    req, now = _request(vector), vector["now"]
    assert authenticate(req, LOOKUP, now, region="us-east-1") is not None
    with pytest.raises(S3Error) as info:
        authenticate(req, LOOKUP, now, region="eu-west-1")
    assert info.value.code == "AuthorizationHeaderMalformed"
    assert info.value.fields["Region"] == "eu-west-1"


def test_missing_date_and_payload_hash() -> None:
    vector = _vectors("v4/path/get_object")[0]
    req, now = _request(vector), vector["now"]
    no_date = _with_header(req, "X-Amz-Date", None)
    assert _code(lambda: authenticate(no_date, LOOKUP, now)) == "AccessDenied"
    no_hash = _with_header(req, "X-Amz-Content-SHA256", None)
    assert _code(lambda: authenticate(no_hash, LOOKUP, now)) == "InvalidRequest"
    bad_hash = _with_header(req, "X-Amz-Content-SHA256", "STREAMING-NOTHING")
    assert _code(lambda: authenticate(bad_hash, LOOKUP, now)) == "InvalidArgument"


def test_only_one_auth_mechanism() -> None:
    presigned = _request(_vectors("v4/path/presigned_get")[0])
    header = _request(_vectors("v4/path/get_object")[0])
    both = dataclasses.replace(header, query=presigned.query)
    assert _code(lambda: authenticate(both, LOOKUP, 0)) == "InvalidArgument"


def test_anonymous_request() -> None:
    req = RequestParts("GET", "/bucket/key", "versionId=1", [("Host", "h")])
    assert authenticate(req, LOOKUP, 0) is None


def test_date_header_instead_of_x_amz_date() -> None:
    """SigV4 allows the Date header to carry the request time."""
    secret = "sekrit"
    amz_date = "20260102T030405Z"
    now = parse_amz_date(amz_date)
    assert now is not None
    headers = [("Host", "h"), ("Date", "Fri, 02 Jan 2026 03:04:05 GMT"),
               ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
    req = RequestParts("GET", "/b/k", "", headers)
    signed = ["date", "host", "x-amz-content-sha256"]
    canonical = sigv4.canonical_request(req, [], signed, "UNSIGNED-PAYLOAD")
    scope = "20260102/us-east-1/s3/aws4_request"
    key = sigv4.signing_key(secret, "20260102", "us-east-1", "s3")
    signature = sigv4.hmac_hex(key, sigv4.string_to_sign(amz_date, scope, canonical))
    auth = (f"AWS4-HMAC-SHA256 Credential=AK/{scope}, SignedHeaders={';'.join(signed)}, "
            f"Signature={signature}")
    req = _with_header(req, "Authorization", auth)
    assert authenticate(req, {"AK": secret}.get, now) is not None


def test_sigv2_with_x_amz_date_signs_an_empty_date() -> None:
    """s3cmd's form: x-amz-date header, empty Date line in the string to sign."""
    secret = "sekrit"
    req = RequestParts("PUT", "/bucket/some%20key", "acl", [
        ("Host", "h"), ("x-amz-date", "Fri, 02 Jan 2026 03:04:05 +0000"),
        ("Content-Type", "text/plain"), ("x-amz-meta-A", "1"), ("X-Amz-Meta-A", "2")])
    resource = sigv2.canonical_resources(req)[0]
    assert resource == "/bucket/some%20key?acl"
    sts = sigv2.string_to_sign(req, "", resource)
    assert sts == ("PUT\n\ntext/plain\n\nx-amz-date:Fri, 02 Jan 2026 03:04:05 +0000\n"
                   "x-amz-meta-a:1,2\n/bucket/some%20key?acl")
    req = _with_header(req, "Authorization", f"AWS AK:{sigv2.sign(secret, sts)}")
    assert authenticate(req, {"AK": secret}.get, 1767323045.0) is not None


# --------------------------------------------------------------------------- hypothesis

_key_text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00\r\n"), min_size=1, max_size=40)
_AUTH_PARAMS = {"Signature", "AWSAccessKeyId", "X-Amz-Algorithm"}
"""Query parameters that choose an auth mechanism: beside an Authorization header they
make the request ambiguous, which S3 refuses (tested on their own above)."""
_param = st.tuples(
    st.text(
        st.characters(codec="utf-8", exclude_characters="\x00&="), min_size=1, max_size=12
    ).filter(lambda name: name not in _AUTH_PARAMS),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
)


@pytest.mark.skipif(importlib.util.find_spec("botocore") is None,
                    reason="botocore (the reference signer) is not installed")
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(key=_key_text, params=st.lists(_param, max_size=4), presign=st.booleans())
def test_random_requests_signed_by_botocore_verify(
    key: str, params: list[tuple[str, str]], presign: bool
) -> None:
    """Any key and query parameters botocore signs (header or presigned) verify, and a
    changed key does not."""
    from botocore import auth as auth_mod
    from botocore import awsrequest, credentials

    creds = credentials.Credentials(VECTORS["access_key"], VECTORS["secret_key"])
    url = "http://h.test:7480/bkt/" + quote(key, safe="/~")
    request = awsrequest.AWSRequest(method="GET", url=url, params=params, data=b"")
    signer = (auth_mod.S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=60) if presign
              else auth_mod.S3SigV4Auth(creds, "s3", "us-east-1"))
    signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = [("Host", parts.netloc), *prepared.headers.items()]
    req = RequestParts("GET", parts.path, parts.query, headers)
    amz_date = req.header("x-amz-date") or req.query_param("X-Amz-Date") or ""
    now = parse_amz_date(amz_date)
    assert now is not None
    assert authenticate(req, LOOKUP, now) is not None
    altered = dataclasses.replace(req, path=req.path + "%21")
    assert _code(lambda: authenticate(altered, LOOKUP, now)) == "SignatureDoesNotMatch"
