"""S3 XML: the error document and status table, safe parsing, request bodies as botocore
sends them, response documents as botocore parses them, and round trips."""

from __future__ import annotations

import base64
import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import ERRORS, S3Error, SignatureDoesNotMatch

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
T0 = 1795867200.0  # 2026-11-28T12:00:00Z
VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "s3" / "botocore_requests.json").read_text()
)
OWNER = s3xml.Owner("u-1", "User One")


def _body(name: str) -> bytes:
    vector = next(v for v in VECTORS["requests"] if v["name"] == name)
    return base64.b64decode(vector["body_b64"])


def _ns(path: str) -> str:
    return "/".join(NS + part for part in path.split("/"))


def _codes(doc: bytes, path: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(doc).iterfind(_ns(path))]


# --------------------------------------------------------------------------- errors

STATUSES = {
    "NoSuchBucket": 404, "NoSuchKey": 404, "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409, "BucketNotEmpty": 409, "InvalidBucketName": 400,
    "EntityTooSmall": 400, "InvalidPart": 400, "InvalidPartOrder": 400, "NoSuchUpload": 404,
    "PreconditionFailed": 412, "NotModified": 304, "InvalidRange": 416,
    "MethodNotAllowed": 405, "MalformedXML": 400, "InvalidArgument": 400,
    "AccessDenied": 403, "SignatureDoesNotMatch": 403, "RequestTimeTooSkewed": 403,
    "InvalidAccessKeyId": 403, "BadDigest": 400, "InternalError": 500,
    "MissingContentLength": 411, "NotImplemented": 501, "SlowDown": 503,
}


def test_error_statuses() -> None:
    for code, status in STATUSES.items():
        assert ERRORS[code].status == status
        assert S3Error(code=code).status == status


def test_error_document_exact() -> None:
    doc = s3xml.error_document(S3Error(code="NoSuchKey", Key="a<&>b"), resource="/b/a<&>b",
                               request_id="tx1", host_id="h1")
    assert doc == (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
        b"<Message>The specified key does not exist.</Message><Key>a&lt;&amp;&gt;b</Key>"
        b"<Resource>/b/a&lt;&amp;&gt;b</Resource><RequestId>tx1</RequestId>"
        b"<HostId>h1</HostId></Error>"
    )
    typed = SignatureDoesNotMatch(StringToSign="x\ny")
    assert (typed.code, typed.status) == ("SignatureDoesNotMatch", 403)


@given(st.text().map(lambda t: t.replace("\r", "")))  # XML parsers turn CR into LF
def test_error_document_parses_whatever_it_quotes(text: str) -> None:
    doc = s3xml.error_document(S3Error(code="InvalidArgument", message=text,
                                       ArgumentValue=text), resource=text)
    root = ET.fromstring(doc)
    assert root.findtext("Code") == "InvalidArgument"
    kept = root.findtext("ArgumentValue") or ""
    assert len(kept) == len(text)
    assert all(a == b or b == "\ufffd" for a, b in zip(text, kept, strict=True))


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("body", [
    b"",
    b"   ",
    b"<Delete><Object><Key>a</Key></Object>",
    b"not xml",
    b'<?xml version="1.0"?><!DOCTYPE Delete [<!ENTITY x "y">]><Delete/>',
    b'<!DOCTYPE Delete SYSTEM "file:///etc/passwd"><Delete/>',
    b'<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Delete>&b;</Delete>',
    b"<Delete>&undefined;</Delete>",
])
def test_unsafe_or_broken_xml_is_malformed(body: bytes) -> None:
    with pytest.raises(S3Error) as info:
        s3xml.parse_xml(body)
    assert info.value.code == "MalformedXML"


def test_oversized_body() -> None:
    with pytest.raises(S3Error) as info:
        s3xml.parse_xml(b"<a>" + b"x" * 100 + b"</a>", max_bytes=50)
    assert info.value.code == "MaxMessageLengthExceeded"


def test_botocore_request_bodies() -> None:
    assert s3xml.parse_create_bucket(_body("v4/path/create_bucket")) == "eu-1"
    assert s3xml.parse_create_bucket(b"") is None
    delete = s3xml.parse_delete(_body("v4/path/delete_objects"))
    assert delete.quiet
    assert [o.key for o in delete.objects] == ["test.txt", "dir/ünïcødé ключ 日本語.txt"]


def test_delete_limits() -> None:
    many = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"
    for body in (many, b"<Delete></Delete>", b"<Delete><Object/></Delete>",
                 b"<Other><Object><Key>k</Key></Object></Other>"):
        with pytest.raises(S3Error) as info:
            s3xml.parse_delete(body)
        assert info.value.code == "MalformedXML"
    parsed = s3xml.parse_delete(
        b"<Delete><Object><Key> sp </Key><VersionId>v1</VersionId></Object></Delete>")
    assert parsed.objects == [s3xml.ObjectIdentifier(" sp ", "v1")] and not parsed.quiet


def test_complete_multipart() -> None:
    body = (b'<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b'<Part><PartNumber>1</PartNumber><ETag>"abc"</ETag>'
            b"<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
            b"<Part><ETag>def</ETag><PartNumber>3</PartNumber></Part>"
            b"</CompleteMultipartUpload>")
    parts = s3xml.parse_complete_multipart(body)
    assert parts == [s3xml.CompletedPart(1, "abc", {"CRC32": "AAAAAA=="}),
                     s3xml.CompletedPart(3, "def")]
    unordered = body.replace(b"<PartNumber>3", b"<PartNumber>1")
    with pytest.raises(S3Error) as info:
        s3xml.parse_complete_multipart(unordered)
    assert info.value.code == "InvalidPartOrder"
    for number, code in [(b"0", "MalformedXML"), (b"x", "MalformedXML"),
                         (b"10001", "InvalidArgument")]:
        bad = (b"<CompleteMultipartUpload><Part><PartNumber>" + number +
               b"</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>")
        with pytest.raises(S3Error) as info:
            s3xml.parse_complete_multipart(bad)
        assert info.value.code == code


def test_timestamps_and_etags() -> None:
    assert s3xml.format_timestamp(T0) == "2026-11-28T12:00:00.000Z"
    assert s3xml.format_timestamp(T0 + 0.0456) == "2026-11-28T12:00:00.046Z"
    assert s3xml.parse_timestamp("2026-11-28T12:00:00.000Z") == T0
    assert s3xml.parse_timestamp("2026-11-28T12:00:00Z") == T0
    assert s3xml.quote_etag("abc") == '"abc"' == s3xml.quote_etag('"abc"')
    assert s3xml.unquote_etag('"abc"') == "abc" == s3xml.unquote_etag("abc")


# --------------------------------------------------------------------------- responses


def test_list_objects_v1() -> None:
    objs = [s3xml.ObjectEntry("a b+c", T0, "e1", 5, owner=OWNER)]
    page = s3xml.ListObjectsV1("bkt", objs, ["p/q r/"], True, prefix="p/", marker="m",
                               delimiter="/", max_keys=2, next_marker="p/q r/",
                               encoding_type="url")
    doc = s3xml.list_objects_v1_result(page)
    assert _codes(doc, "NextMarker") == ["p/q%20r/"]
    assert _codes(doc, "Contents/Key") == ["a%20b%2Bc"]
    assert _codes(doc, "Contents/ETag") == ['"e1"']
    assert _codes(doc, "Contents/LastModified") == ["2026-11-28T12:00:00.000Z"]
    assert _codes(doc, "Contents/Owner/ID") == ["u-1"]
    assert _codes(doc, "CommonPrefixes/Prefix") == ["p/q%20r/"]
    assert _codes(doc, "IsTruncated") == ["true"]
    plain = s3xml.list_objects_v1_result(
        s3xml.ListObjectsV1("bkt", objs, [], True, next_marker="a b+c"))
    assert _codes(plain, "NextMarker") == []  # only with a delimiter, as S3
    with pytest.raises(S3Error):
        s3xml.list_objects_v1_result(s3xml.ListObjectsV1("b", [], [], False,
                                                         encoding_type="base64"))


_xml_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Cn"]),
                   max_size=20)


@given(st.lists(st.tuples(_xml_text, st.floats(0, 4e9), _xml_text, st.integers(0, 1 << 40),
                          st.none() | st.builds(s3xml.Owner, _xml_text, _xml_text)),
                max_size=8),
       st.lists(_xml_text, max_size=3), st.booleans(), st.booleans())
def test_listing_documents_carry_any_text(
        rows: list[tuple[str, float, str, int, s3xml.Owner | None]], prefixes: list[str],
        encode: bool, owner: bool) -> None:
    # The listings are rendered as text: whatever keys, ETags, owners and prefixes
    # hold, the document parses back to them (URL-encoded with encoding-type=url).
    objs = [s3xml.ObjectEntry(k, t, e, n, owner=o) for k, t, e, n, o in rows]
    encoding = "url" if encode else None
    v2 = s3xml.list_objects_v2_result(s3xml.ListObjectsV2(
        "bkt", objs, prefixes, True, prefix="p&<>", delimiter="/",
        continuation_token="c", next_continuation_token="n", encoding_type=encoding,
        fetch_owner=owner))
    v1 = s3xml.list_objects_v1_result(s3xml.ListObjectsV1(
        "bkt", objs, prefixes, False, prefix="p&<>", encoding_type=encoding))
    shown = (lambda t: s3xml.url_encode(t)) if encode else (lambda t: t)
    for doc, owners in ((v2, owner), (v1, True)):
        assert _codes(doc, "Prefix") == [shown("p&<>")]
        assert _codes(doc, "Contents/Key") == [shown(o.key) for o in objs]
        assert _codes(doc, "Contents/ETag") == [s3xml.quote_etag(o.etag) for o in objs]
        assert _codes(doc, "Contents/Size") == [str(o.size) for o in objs]
        assert _codes(doc, "Contents/LastModified") == [
            s3xml.format_timestamp(o.last_modified) for o in objs]
        assert _codes(doc, "Contents/Owner/ID") == [
            o.owner.id for o in objs if owners and o.owner is not None]
        assert _codes(doc, "CommonPrefixes/Prefix") == [shown(p) for p in prefixes]
    assert _codes(v2, "KeyCount") == [str(len(objs) + len(prefixes))]


needs_botocore = pytest.mark.skipif(importlib.util.find_spec("botocore") is None,
                                    reason="botocore (the reference parser) is not installed")


def _botocore_parse(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    from botocore import parsers, session

    model = session.get_session().get_service_model("s3").operation_model(operation)
    parser = parsers.create_parser("rest-xml")
    return parser.parse({"body": body, "headers": {}, "status_code": status},
                        model.output_shape)


@needs_botocore
def test_botocore_reads_list_objects_v2() -> None:
    objs = [s3xml.ObjectEntry("k1", T0, "etag1", 10), s3xml.ObjectEntry("ü/x", T0 + 1, "e2", 0)]
    doc = s3xml.list_objects_v2_result(s3xml.ListObjectsV2(
        "bkt", objs, ["d/"], True, prefix="", delimiter="/", max_keys=3,
        continuation_token="tok", next_continuation_token="next", start_after="a"))
    parsed = _botocore_parse("ListObjectsV2", doc)
    assert parsed["KeyCount"] == 3 and parsed["IsTruncated"] is True
    assert parsed["NextContinuationToken"] == "next"
    assert [c["Key"] for c in parsed["Contents"]] == ["k1", "ü/x"]
    assert parsed["Contents"][0]["ETag"] == '"etag1"'
    assert parsed["Contents"][1]["LastModified"].timestamp() == T0 + 1
    assert parsed["CommonPrefixes"] == [{"Prefix": "d/"}]
    assert "Owner" not in parsed["Contents"][0]


@needs_botocore
def test_botocore_reads_other_documents() -> None:
    buckets = _botocore_parse("ListBuckets", s3xml.list_buckets_result(
        OWNER, [s3xml.BucketEntry("b1", T0)]))
    assert buckets["Buckets"][0]["Name"] == "b1"
    assert buckets["Owner"] == {"ID": "u-1", "DisplayName": "User One"}
    deleted = _botocore_parse("DeleteObjects", s3xml.delete_result(
        [s3xml.Deleted("k", "v", True, "dm")],
        [s3xml.DeleteError("k2", "AccessDenied", "Access Denied")]))
    assert deleted["Deleted"] == [{"Key": "k", "VersionId": "v", "DeleteMarker": True,
                                   "DeleteMarkerVersionId": "dm"}]
    assert deleted["Errors"][0]["Code"] == "AccessDenied"
    init = _botocore_parse("CreateMultipartUpload",
                           s3xml.initiate_multipart_result("b", "k", "u1"))
    assert init["UploadId"] == "u1"
    versions = _botocore_parse("ListObjectVersions", s3xml.list_versions_result(
        s3xml.ListVersions("b", [
            s3xml.VersionEntry("k", "v2", True, T0, OWNER, delete_marker=True),
            s3xml.VersionEntry("k", "v1", False, T0 - 5, OWNER, etag="e", size=3),
        ], [], False)))
    assert versions["DeleteMarkers"][0]["VersionId"] == "v2"
    assert versions["Versions"][0]["Size"] == 3
    parts = _botocore_parse("ListParts", s3xml.list_parts_result(s3xml.ListParts(
        "b", "k", "u", [s3xml.PartEntry(1, T0, "e", 5 << 20)], False, OWNER, OWNER)))
    assert parts["Parts"][0]["Size"] == 5 << 20
    uploads = _botocore_parse("ListMultipartUploads", s3xml.list_uploads_result(
        s3xml.ListUploads("b", [s3xml.UploadEntry("k", "u", T0, OWNER, OWNER)], ["p/"],
                          False, delimiter="/")))
    assert uploads["Uploads"][0]["UploadId"] == "u"
    copy = _botocore_parse("CopyObject", s3xml.copy_result("e", T0))
    assert copy["CopyObjectResult"]["ETag"] == '"e"'
    complete = _botocore_parse("CompleteMultipartUpload", s3xml.complete_multipart_result(
        "http://h/b/k", "b", "k", "abc-2"))
    assert complete["ETag"] == '"abc-2"'
    location = _botocore_parse("GetBucketLocation", s3xml.location_constraint(None))
    assert location.get("LocationConstraint") in (None, "")
    acl = _botocore_parse("GetBucketAcl", s3xml.access_control_policy(
        s3xml.canned_acl("public-read", OWNER)))
    assert acl["Grants"][1] == {"Grantee": {"Type": "Group", "URI": s3xml.ALL_USERS},
                                "Permission": "READ"}


@needs_botocore
def test_botocore_reads_error_document() -> None:
    from botocore import parsers

    doc = s3xml.error_document(S3Error(code="NoSuchBucket", BucketName="b"), resource="/b",
                               request_id="r")
    parsed = parsers.create_parser("rest-xml").parse(
        {"body": doc, "headers": {}, "status_code": 404}, None)
    assert parsed["Error"]["Code"] == "NoSuchBucket"
    assert parsed["Error"]["BucketName"] == "b"


# --------------------------------------------------------------------------- round trips

# What AWS allows in a tag: Unicode letters, numbers and spaces, and + - = . _ : / @.
_text = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "Zs"], include_characters="+-=._:/@"),
    max_size=30,
)


@given(st.lists(st.tuples(_text.filter(lambda k: len(k.strip()) > 0 and k == k.strip()
                                       and not k.startswith("aws:")),
                          _text.map(str.strip)),
                max_size=10, unique_by=lambda t: t[0]))
def test_tagging_round_trip(tags: list[tuple[str, str]]) -> None:
    assert s3xml.parse_tagging(s3xml.tagging(tags)) == tags


def test_tagging_rules() -> None:
    for tags in ([("k", "v")] * 2, [(str(i), "") for i in range(11)], [("x" * 129, "")],
                 [("k", "v" * 257)], [("", "v")], [("aws:k", "v")], [("k<", "v")],
                 [("k", "v\u00a7")], [("k\t", "v")]):
        with pytest.raises(S3Error) as info:
            s3xml.parse_tagging(s3xml.tagging(tags))
        assert info.value.code == "InvalidTag"
    assert len(s3xml.parse_tagging(s3xml.tagging([(str(i), "") for i in range(50)]),
                                   max_tags=50)) == 50
    assert s3xml.parse_tagging(s3xml.tagging([("Ключ 1+2=3", "a.b_c:d/e@f-g")])) == [
        ("Ключ 1+2=3", "a.b_c:d/e@f-g")]


def test_tagging_header_control_characters() -> None:
    # The header form is not XML: without the character rule a NUL or a control byte
    # would be stored and make GetObjectTagging's document unparsable.
    for tags in ([("k", "a\x00b")], [("k\x01", "v")], [("k", "\x1b[0m")]):
        with pytest.raises(S3Error) as info:
            s3xml.validate_tags(tags)
        assert info.value.code == "InvalidTag"


def test_versioning() -> None:
    for status in ("Enabled", "Suspended"):
        config = s3xml.VersioningConfiguration(status)
        assert s3xml.parse_versioning(s3xml.versioning(config)) == config
    assert _codes(s3xml.versioning(s3xml.VersioningConfiguration()), "Status") == []
    with pytest.raises(S3Error) as info:
        s3xml.parse_versioning(b"<VersioningConfiguration><Status>On</Status>"
                               b"</VersioningConfiguration>")
    assert info.value.code == "IllegalVersioningConfigurationException"


def test_acl_round_trip_and_canned() -> None:
    bucket_owner = s3xml.Owner("u-2", "Two")
    for name in s3xml.CANNED_ACLS:
        policy = s3xml.canned_acl(name, OWNER, bucket_owner)
        assert s3xml.parse_access_control_policy(s3xml.access_control_policy(policy)) == policy
    assert [g.permission for g in s3xml.canned_acl("public-read-write", OWNER).grants] == \
        ["FULL_CONTROL", "READ", "WRITE"]
    assert s3xml.canned_acl("bucket-owner-full-control", OWNER, bucket_owner).grants[1].id \
        == "u-2"
    with pytest.raises(S3Error):
        s3xml.canned_acl("everyone", OWNER)
    with pytest.raises(S3Error) as info:
        s3xml.parse_access_control_policy(b"<AccessControlPolicy><AccessControlList><Grant>"
                                          b"<Permission>READ</Permission></Grant>"
                                          b"</AccessControlList></AccessControlPolicy>")
    assert info.value.code == "MalformedACLError"


def test_cors() -> None:
    rules = [s3xml.CorsRule(["https://a.example", "*"], ["GET", "PUT"], ["*"], ["ETag"], 300,
                            "r1"), s3xml.CorsRule(["*"], ["HEAD"])]
    assert s3xml.parse_cors(s3xml.cors(rules)) == rules
    bad_method = s3xml.cors([s3xml.CorsRule(["*"], ["PATCH"])])
    with pytest.raises(S3Error) as info:
        s3xml.parse_cors(bad_method)
    assert info.value.code == "InvalidRequest"
    with pytest.raises(S3Error) as info:
        s3xml.parse_cors(b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                         b"</CORSRule></CORSConfiguration>")
    assert info.value.code == "MalformedXML"


def test_lifecycle() -> None:
    rules = [
        s3xml.LifecycleRule("Enabled", "logs", prefix="logs/", expiration_days=30),
        s3xml.LifecycleRule("Disabled", "tagged", prefix="tmp/", tags=[("a", "1")],
                            expiration_date=T0 - 12 * 3600),
        s3xml.LifecycleRule("Enabled", None, noncurrent_days=7, newer_noncurrent_versions=2,
                            abort_incomplete_days=3),
        s3xml.LifecycleRule("Enabled", "old", prefix="x", legacy_prefix=True,
                            expired_object_delete_marker=True),
        s3xml.LifecycleRule("Enabled", "size", object_size_greater_than=10,
                            expiration_days=1),
    ]
    assert s3xml.parse_lifecycle(s3xml.lifecycle(rules)) == rules
    not_midnight = s3xml.lifecycle([s3xml.LifecycleRule("Enabled", expiration_date=T0)])
    with pytest.raises(S3Error) as info:
        s3xml.parse_lifecycle(not_midnight)
    assert info.value.code == "InvalidArgument"
    bad = [
        b"<LifecycleConfiguration/>",
        b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration><Days>1</Days>"
        b"</Expiration></Rule></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><Filter/><Status>On</Status><Expiration><Days>1"
        b"</Days></Expiration></Rule></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration>"
        b"<Days>1</Days><Date>2026-01-01T00:00:00Z</Date></Expiration></Rule>"
        b"</LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration>"
        b"<Days>0</Days></Expiration></Rule></LifecycleConfiguration>",
    ]
    for body in bad:
        with pytest.raises(S3Error) as info:
            s3xml.parse_lifecycle(body)
        assert info.value.code == "MalformedXML", body
    duplicate = s3xml.lifecycle([rules[0], rules[0]])
    with pytest.raises(S3Error) as info:
        s3xml.parse_lifecycle(duplicate)
    assert info.value.code == "InvalidArgument"
