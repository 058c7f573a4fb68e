"""S3's XML documents: the error document, response bodies, and request body parsers.

Parsing runs expat directly and refuses any document with a DTD (so no entity can be
declared: no "billion laughs", no external entities) — the protection defusedxml
gives, without the dependency. Namespaces are dropped (clients send S3's namespace or
none), and a body that is not well-formed or does not have the expected shape answers
`MalformedXML`.

Building goes through `xml.etree.ElementTree`, which escapes text and attributes.
Timestamps are S3's `2026-11-28T12:00:00.000Z`; ETags are quoted.
"""

from __future__ import annotations

import calendar
import itertools
import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.parsers import expat

import msgspec

from radospy.rgw.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
    S3Error,
)

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
MAX_BODY = 1024 * 1024
"""Largest XML request body parsed (a 1000-key multi-delete is well under this)."""
MAX_DELETE_OBJECTS = 1000
MAX_PARTS = 10000

# --------------------------------------------------------------------------- basics


def format_timestamp(epoch: float) -> str:
    """S3's XML timestamp with milliseconds: `2026-11-28T12:00:00.000Z`."""
    millis = round(epoch * 1000)
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]00:?00)")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 UTC timestamp (`…Z`, fraction optional)."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise MalformedXML(f"Invalid timestamp {text!r}")
    fields = [int(g) for g in match.groups()[:6]]
    fraction = match.group(7) or "0"
    try:
        base = calendar.timegm(time.strptime(" ".join(map(str, fields)), "%Y %m %d %H %M %S"))
    except ValueError as e:
        raise MalformedXML(f"Invalid timestamp {text!r}") from e
    return base + float("0." + fraction)


def quote_etag(etag: str) -> str:
    """An ETag in double quotes, as S3 sends it (already-quoted ones are left alone)."""
    return etag if etag.startswith('"') and etag.endswith('"') and len(etag) > 1 else f'"{etag}"'


def unquote_etag(etag: str) -> str:
    """An ETag without its double quotes (clients send either form)."""
    etag = etag.strip()
    return etag[1:-1] if len(etag) > 1 and etag[0] == etag[-1] == '"' else etag


def url_encode(text: str) -> str:
    """`encoding-type=url` encoding of a key or prefix: every byte but unreserved
    characters and `/` as %XX (so clients' unquote_plus gets `+` and spaces right)."""
    return quote(text, safe="/-_.~")


def _document(root: ET.Element) -> bytes:
    return (DECLARATION + ET.tostring(root, encoding="unicode")).encode()


def _root(name: str) -> ET.Element:
    return ET.Element(name, {"xmlns": S3_NS})


def _add(parent: ET.Element, name: str, value: object | None) -> ET.Element | None:
    """Append `<name>value</name>` unless value is None; booleans as `true`/`false`."""
    if value is None:
        return None
    child = ET.SubElement(parent, name)
    child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return child


# --------------------------------------------------------------------------- errors

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    """`text` with the characters XML 1.0 cannot carry (NUL, most controls) replaced by
    U+FFFD: an error may quote a client's bad key, and must still parse."""
    return _NOT_XML.sub("\ufffd", text)



def error_document(
    error: S3Error, *, resource: str = "", request_id: str = "", host_id: str = ""
) -> bytes:
    """The `<Error>` document for an S3 error (send with `error.status`)."""
    root = ET.Element("Error")
    _add(root, "Code", error.code)
    _add(root, "Message", _xml_safe(error.message))
    for name, value in error.fields.items():
        _add(root, name, _xml_safe(value))
    _add(root, "Resource", _xml_safe(resource))
    _add(root, "RequestId", request_id)
    _add(root, "HostId", host_id)
    return _document(root)


# --------------------------------------------------------------------------- parsing


def parse_xml(body: bytes, *, max_bytes: int = MAX_BODY) -> ET.Element:
    """Parse a request body into elements named by local name; MalformedXML on a
    body that is empty, too long, not well-formed, or has a DTD."""
    if not body.strip():
        raise MalformedXML()
    if len(body) > max_bytes:
        raise S3Error(code="MaxMessageLengthExceeded")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: object) -> None:
        raise MalformedXML("DTDs and entity declarations are not accepted")

    def start(name: str, attrs: dict[str, str]) -> None:
        builder.start(_local(name), {_local(k): v for k, v in attrs.items()})

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_local(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
    except expat.ExpatError as e:
        raise MalformedXML() from e
    return builder.close()


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _expect_root(root: ET.Element, name: str) -> None:
    if root.tag != name:
        raise MalformedXML()


def _text(el: ET.Element, name: str, *, required: bool = False) -> str | None:
    child = el.find(name)
    if child is None:
        if required:
            raise MalformedXML()
        return None
    return (child.text or "").strip()


def _required(el: ET.Element, name: str) -> str:
    value = _text(el, name, required=True)
    assert value is not None
    return value


def _bool(text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() not in ("true", "false"):
        raise MalformedXML()
    return text.lower() == "true"


def _int(text: str | None, *, minimum: int = 0) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or int(text) < minimum:
        raise MalformedXML()
    return int(text)


# --------------------------------------------------------------------------- shared types


class Owner(msgspec.Struct, frozen=True):
    """A canonical user: the bucket or object owner, an upload's initiator (a Struct,
    not a dataclass: a listing makes one per key)."""

    id: str
    display_name: str = ""


def _add_owner(parent: ET.Element, tag: str, owner: Owner | None) -> None:
    if owner is None:
        return
    el = ET.SubElement(parent, tag)
    _add(el, "ID", owner.id)
    _add(el, "DisplayName", owner.display_name)


def _add_prefixes(
    parent: ET.Element, prefixes: Iterable[str], encode: bool
) -> None:
    for prefix in prefixes:
        el = ET.SubElement(parent, "CommonPrefixes")
        _add(el, "Prefix", url_encode(prefix) if encode else prefix)


def _encoder(encoding_type: str | None) -> bool:
    if encoding_type is None:
        return False
    if encoding_type != "url":
        raise InvalidArgument("Invalid Encoding Method specified in Request",
                              ArgumentName="encoding-type", ArgumentValue=encoding_type)
    return True


def _maybe(value: str | None, encode: bool) -> str | None:
    return url_encode(value) if encode and value is not None else value


# --------------------------------------------------------------------------- buckets


@dataclass(frozen=True)
class BucketEntry:
    """One bucket of ListBuckets."""

    name: str
    creation_date: float


def list_buckets_result(owner: Owner, buckets: Sequence[BucketEntry]) -> bytes:
    """`ListAllMyBucketsResult`."""
    root = _root("ListAllMyBucketsResult")
    _add_owner(root, "Owner", owner)
    container = ET.SubElement(root, "Buckets")
    for bucket in buckets:
        el = ET.SubElement(container, "Bucket")
        _add(el, "Name", bucket.name)
        _add(el, "CreationDate", format_timestamp(bucket.creation_date))
    return _document(root)


def parse_create_bucket(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucketConfiguration (None for no body or no
    constraint)."""
    if not body.strip():
        return None
    root = parse_xml(body)
    _expect_root(root, "CreateBucketConfiguration")
    return _text(root, "LocationConstraint") or None


def location_constraint(region: str | None) -> bytes:
    """GetBucketLocation's answer (empty for the default region, as S3 answers)."""
    root = _root("LocationConstraint")
    root.text = region or None
    return _document(root)


def policy_status(public: bool) -> bytes:
    """GetBucketPolicyStatus's answer."""
    root = _root("PolicyStatus")
    ET.SubElement(root, "IsPublic").text = "true" if public else "false"
    return _document(root)


# --------------------------------------------------------------------------- listings


class ObjectEntry(msgspec.Struct, frozen=True):
    """One object of a ListObjects page (a Struct: a page makes a thousand)."""

    key: str
    last_modified: float
    etag: str
    size: int
    storage_class: str = "STANDARD"
    owner: Owner | None = None
    checksum_algorithm: str | None = None


# Listings are rendered as text, not as ElementTree elements: a 1000-key page built
# element by element spent more time in ElementTree than the index reads took.


def _text_escape(text: str) -> str:
    """Element text escaped as ElementTree escapes it (`&`, `<`, `>`)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _field(out: list[str], name: str, value: object | None) -> None:
    """Append `<name>value</name>` unless value is None; booleans as `true`/`false`."""
    if value is None:
        return
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    out.append(f"<{name}>{_text_escape(text)}</{name}>")


class _Timestamps:
    """`format_timestamp` remembering the last second formatted: a page's objects are
    mostly written within a few seconds of each other."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, epoch: float) -> str:
        seconds, ms = divmod(round(epoch * 1000), 1000)
        if seconds != self._second:
            self._second = seconds
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        return f"{self._prefix}.{ms:03d}Z"


def _object_text(out: list[str], obj: ObjectEntry, encode: bool, owner: bool,
                 stamp: _Timestamps) -> None:
    key = url_encode(obj.key) if encode else _text_escape(obj.key)
    out.append(f"<Contents><Key>{key}</Key><LastModified>{stamp(obj.last_modified)}"
               f"</LastModified><ETag>{_text_escape(quote_etag(obj.etag))}</ETag>"
               f"<Size>{obj.size}</Size>")
    _field(out, "StorageClass", obj.storage_class)
    if owner and obj.owner is not None:
        out.append("<Owner>")
        _field(out, "ID", obj.owner.id)
        _field(out, "DisplayName", obj.owner.display_name)
        out.append("</Owner>")
    _field(out, "ChecksumAlgorithm", obj.checksum_algorithm)
    out.append("</Contents>")


def _listing_text(out: list[str], contents: Sequence[ObjectEntry], prefixes: Iterable[str],
                  encode: bool, owner: bool) -> bytes:
    stamp = _Timestamps()
    for obj in contents:
        _object_text(out, obj, encode, owner, stamp)
    for prefix in prefixes:
        out.append(f"<CommonPrefixes><Prefix>"
                   f"{url_encode(prefix) if encode else _text_escape(prefix)}"
                   f"</Prefix></CommonPrefixes>")
    out.append("</ListBucketResult>")
    return "".join(out).encode()


@dataclass(frozen=True)
class ListObjectsV1:
    """The parameters and page of a ListObjects (v1) answer."""

    bucket: str
    contents: Sequence[ObjectEntry]
    common_prefixes: Sequence[str]
    is_truncated: bool
    prefix: str = ""
    marker: str = ""
    delimiter: str | None = None
    max_keys: int = 1000
    next_marker: str | None = None
    encoding_type: str | None = None


def list_objects_v1_result(page: ListObjectsV1) -> bytes:
    """`ListBucketResult` for ListObjects v1; NextMarker only with a delimiter, as S3."""
    encode = _encoder(page.encoding_type)
    out = [f'{DECLARATION}<ListBucketResult xmlns="{S3_NS}">']
    _field(out, "Name", page.bucket)
    _field(out, "Prefix", _maybe(page.prefix, encode))
    _field(out, "Marker", _maybe(page.marker, encode))
    if page.is_truncated and page.delimiter:
        _field(out, "NextMarker", _maybe(page.next_marker, encode))
    _field(out, "MaxKeys", page.max_keys)
    _field(out, "Delimiter", _maybe(page.delimiter, encode))
    _field(out, "EncodingType", page.encoding_type)
    _field(out, "IsTruncated", page.is_truncated)
    return _listing_text(out, page.contents, page.common_prefixes, encode, owner=True)


@dataclass(frozen=True)
class ListObjectsV2:
    """The parameters and page of a ListObjectsV2 answer."""

    bucket: str
    contents: Sequence[ObjectEntry]
    common_prefixes: Sequence[str]
    is_truncated: bool
    prefix: str = ""
    delimiter: str | None = None
    max_keys: int = 1000
    continuation_token: str | None = None
    next_continuation_token: str | None = None
    start_after: str | None = None
    encoding_type: str | None = None
    fetch_owner: bool = False


def list_objects_v2_result(page: ListObjectsV2) -> bytes:
    """`ListBucketResult` for ListObjectsV2 (KeyCount counts keys and prefixes)."""
    encode = _encoder(page.encoding_type)
    out = [f'{DECLARATION}<ListBucketResult xmlns="{S3_NS}">']
    _field(out, "Name", page.bucket)
    _field(out, "Prefix", _maybe(page.prefix, encode))
    _field(out, "MaxKeys", page.max_keys)
    _field(out, "KeyCount", len(page.contents) + len(page.common_prefixes))
    _field(out, "Delimiter", _maybe(page.delimiter, encode))
    _field(out, "EncodingType", page.encoding_type)
    _field(out, "IsTruncated", page.is_truncated)
    _field(out, "ContinuationToken", page.continuation_token)
    if page.is_truncated:
        _field(out, "NextContinuationToken", page.next_continuation_token)
    _field(out, "StartAfter", _maybe(page.start_after, encode))
    return _listing_text(out, page.contents, page.common_prefixes, encode,
                         owner=page.fetch_owner)


@dataclass(frozen=True)
class VersionEntry:
    """One version or delete marker of ListObjectVersions."""

    key: str
    version_id: str
    is_latest: bool
    last_modified: float
    owner: Owner | None = None
    delete_marker: bool = False
    etag: str = ""
    size: int = 0
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class ListVersions:
    """The parameters and page of a ListObjectVersions answer."""

    bucket: str
    versions: Sequence[VersionEntry]
    common_prefixes: Sequence[str]
    is_truncated: bool
    prefix: str = ""
    key_marker: str = ""
    version_id_marker: str = ""
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    delimiter: str | None = None
    max_keys: int = 1000
    encoding_type: str | None = None


def list_versions_result(page: ListVersions) -> bytes:
    """`ListVersionsResult`: versions and delete markers in key, then newest-first
    order, as given."""
    encode = _encoder(page.encoding_type)
    root = _root("ListVersionsResult")
    _add(root, "Name", page.bucket)
    _add(root, "Prefix", _maybe(page.prefix, encode))
    _add(root, "KeyMarker", _maybe(page.key_marker, encode))
    _add(root, "VersionIdMarker", page.version_id_marker)
    if page.is_truncated:
        _add(root, "NextKeyMarker", _maybe(page.next_key_marker, encode))
        _add(root, "NextVersionIdMarker", page.next_version_id_marker)
    _add(root, "MaxKeys", page.max_keys)
    _add(root, "Delimiter", _maybe(page.delimiter, encode))
    _add(root, "EncodingType", page.encoding_type)
    _add(root, "IsTruncated", page.is_truncated)
    for version in page.versions:
        el = ET.SubElement(root, "DeleteMarker" if version.delete_marker else "Version")
        _add(el, "Key", url_encode(version.key) if encode else version.key)
        _add(el, "VersionId", version.version_id)
        _add(el, "IsLatest", version.is_latest)
        _add(el, "LastModified", format_timestamp(version.last_modified))
        if not version.delete_marker:
            _add(el, "ETag", quote_etag(version.etag))
            _add(el, "Size", version.size)
            _add(el, "StorageClass", version.storage_class)
        _add_owner(el, "Owner", version.owner)
    _add_prefixes(root, page.common_prefixes, encode)
    return _document(root)


# --------------------------------------------------------------------------- multi-delete


@dataclass(frozen=True)
class ObjectIdentifier:
    """A key, and optionally one version of it."""

    key: str
    version_id: str | None = None


@dataclass(frozen=True)
class DeleteRequest:
    """A DeleteObjects body: at most 1000 objects, and whether to answer quietly."""

    objects: list[ObjectIdentifier]
    quiet: bool = False


def parse_delete(body: bytes) -> DeleteRequest:
    """Parse a `<Delete>` body."""
    root = parse_xml(body)
    _expect_root(root, "Delete")
    objects = []
    for el in root.findall("Object"):
        key = el.find("Key")
        if key is None:
            raise MalformedXML()
        objects.append(ObjectIdentifier(key.text or "", _text(el, "VersionId") or None))
    if not objects or len(objects) > MAX_DELETE_OBJECTS:
        raise MalformedXML()
    return DeleteRequest(objects, _bool(_text(root, "Quiet")))


@dataclass(frozen=True)
class Deleted:
    """One successful deletion of DeleteObjects."""

    key: str
    version_id: str | None = None
    delete_marker: bool = False
    delete_marker_version_id: str | None = None


@dataclass(frozen=True)
class DeleteError:
    """One failed deletion of DeleteObjects."""

    key: str
    code: str
    message: str
    version_id: str | None = None


def delete_result(
    deleted: Sequence[Deleted], errors: Sequence[DeleteError], *, quiet: bool = False
) -> bytes:
    """`DeleteResult`; a quiet request lists errors only."""
    root = _root("DeleteResult")
    for item in [] if quiet else deleted:
        el = ET.SubElement(root, "Deleted")
        _add(el, "Key", item.key)
        _add(el, "VersionId", item.version_id)
        if item.delete_marker:
            _add(el, "DeleteMarker", True)
            _add(el, "DeleteMarkerVersionId", item.delete_marker_version_id)
    for error in errors:
        el = ET.SubElement(root, "Error")
        _add(el, "Key", error.key)
        _add(el, "VersionId", error.version_id)
        _add(el, "Code", error.code)
        _add(el, "Message", error.message)
    return _document(root)


# --------------------------------------------------------------------------- multipart


def initiate_multipart_result(bucket: str, key: str, upload_id: str) -> bytes:
    """`InitiateMultipartUploadResult`."""
    root = _root("InitiateMultipartUploadResult")
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "UploadId", upload_id)
    return _document(root)


@dataclass(frozen=True)
class CompletedPart:
    """A part named in CompleteMultipartUpload: number, ETag (unquoted), checksums."""

    part_number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)


def parse_complete_multipart(body: bytes) -> list[CompletedPart]:
    """Parse `<CompleteMultipartUpload>`: parts in strictly ascending order
    (InvalidPartOrder otherwise), numbers 1..10000."""
    root = parse_xml(body)
    _expect_root(root, "CompleteMultipartUpload")
    parts: list[CompletedPart] = []
    for el in root.findall("Part"):
        number = _int(_required(el, "PartNumber"), minimum=1)
        assert number is not None
        if number > MAX_PARTS:
            raise InvalidArgument("Part number must be an integer between 1 and 10000, "
                                  "inclusive", ArgumentName="partNumber",
                                  ArgumentValue=str(number))
        checksums = {
            child.tag[len("Checksum"):].upper(): (child.text or "").strip()
            for child in el if child.tag.startswith("Checksum")
        }
        parts.append(CompletedPart(number, unquote_etag(_required(el, "ETag")), checksums))
    if not parts:
        raise MalformedXML()
    for before, after in itertools.pairwise(parts):
        if after.part_number <= before.part_number:
            raise S3Error(code="InvalidPartOrder")
    return parts


def complete_multipart_result(location: str, bucket: str, key: str, etag: str) -> bytes:
    """`CompleteMultipartUploadResult`."""
    root = _root("CompleteMultipartUploadResult")
    _add(root, "Location", location)
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "ETag", quote_etag(etag))
    return _document(root)


@dataclass(frozen=True)
class PartEntry:
    """One uploaded part of ListParts."""

    part_number: int
    last_modified: float
    etag: str
    size: int


@dataclass(frozen=True)
class ListParts:
    """The parameters and page of a ListParts answer."""

    bucket: str
    key: str
    upload_id: str
    parts: Sequence[PartEntry]
    is_truncated: bool
    initiator: Owner
    owner: Owner
    part_number_marker: int = 0
    next_part_number_marker: int | None = None
    max_parts: int = 1000
    storage_class: str = "STANDARD"


def list_parts_result(page: ListParts) -> bytes:
    """`ListPartsResult`."""
    root = _root("ListPartsResult")
    _add(root, "Bucket", page.bucket)
    _add(root, "Key", page.key)
    _add(root, "UploadId", page.upload_id)
    _add_owner(root, "Initiator", page.initiator)
    _add_owner(root, "Owner", page.owner)
    _add(root, "StorageClass", page.storage_class)
    _add(root, "PartNumberMarker", page.part_number_marker)
    _add(root, "NextPartNumberMarker", page.next_part_number_marker)
    _add(root, "MaxParts", page.max_parts)
    _add(root, "IsTruncated", page.is_truncated)
    for part in page.parts:
        el = ET.SubElement(root, "Part")
        _add(el, "PartNumber", part.part_number)
        _add(el, "LastModified", format_timestamp(part.last_modified))
        _add(el, "ETag", quote_etag(part.etag))
        _add(el, "Size", part.size)
    return _document(root)


@dataclass(frozen=True)
class UploadEntry:
    """One in-progress multipart upload of ListMultipartUploads."""

    key: str
    upload_id: str
    initiated: float
    initiator: Owner
    owner: Owner
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class ListUploads:
    """The parameters and page of a ListMultipartUploads answer."""

    bucket: str
    uploads: Sequence[UploadEntry]
    common_prefixes: Sequence[str]
    is_truncated: bool
    prefix: str = ""
    delimiter: str | None = None
    key_marker: str = ""
    upload_id_marker: str = ""
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None
    max_uploads: int = 1000
    encoding_type: str | None = None


def list_uploads_result(page: ListUploads) -> bytes:
    """`ListMultipartUploadsResult`."""
    encode = _encoder(page.encoding_type)
    root = _root("ListMultipartUploadsResult")
    _add(root, "Bucket", page.bucket)
    _add(root, "KeyMarker", _maybe(page.key_marker, encode))
    _add(root, "UploadIdMarker", page.upload_id_marker)
    _add(root, "NextKeyMarker", _maybe(page.next_key_marker, encode))
    _add(root, "NextUploadIdMarker", page.next_upload_id_marker)
    _add(root, "Prefix", _maybe(page.prefix, encode))
    _add(root, "Delimiter", _maybe(page.delimiter, encode))
    _add(root, "MaxUploads", page.max_uploads)
    _add(root, "EncodingType", page.encoding_type)
    _add(root, "IsTruncated", page.is_truncated)
    for upload in page.uploads:
        el = ET.SubElement(root, "Upload")
        _add(el, "Key", url_encode(upload.key) if encode else upload.key)
        _add(el, "UploadId", upload.upload_id)
        _add_owner(el, "Initiator", upload.initiator)
        _add_owner(el, "Owner", upload.owner)
        _add(el, "StorageClass", upload.storage_class)
        _add(el, "Initiated", format_timestamp(upload.initiated))
    _add_prefixes(root, page.common_prefixes, encode)
    return _document(root)


def copy_result(etag: str, last_modified: float, *, part: bool = False) -> bytes:
    """`CopyObjectResult`, or `CopyPartResult` for UploadPartCopy."""
    root = _root("CopyPartResult" if part else "CopyObjectResult")
    _add(root, "LastModified", format_timestamp(last_modified))
    _add(root, "ETag", quote_etag(etag))
    return _document(root)


# --------------------------------------------------------------------------- tagging

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50


def parse_tagging(body: bytes, *, max_tags: int = MAX_OBJECT_TAGS) -> list[tuple[str, str]]:
    """Parse `<Tagging><TagSet><Tag>…`: InvalidTag for too many tags, duplicate keys,
    keys over 128 or values over 256 characters."""
    root = parse_xml(body)
    _expect_root(root, "Tagging")
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise MalformedXML()
    tags = []
    for el in tag_set.findall("Tag"):
        key_el, value_el = el.find("Key"), el.find("Value")
        if key_el is None or value_el is None:
            raise MalformedXML()
        tags.append((key_el.text or "", value_el.text or ""))
    validate_tags(tags, max_tags=max_tags)
    return tags


def validate_tags(tags: Sequence[tuple[str, str]], *, max_tags: int = MAX_OBJECT_TAGS) -> None:
    """S3's tag rules, shared by the Tagging body and the `x-amz-tagging` header."""
    if len(tags) > max_tags:
        raise S3Error(f"Object tags cannot be greater than {max_tags}", code="InvalidTag")
    keys = [key for key, _ in tags]
    if len(set(keys)) != len(keys):
        raise S3Error("Cannot provide multiple Tags with the same key", code="InvalidTag")
    for key, value in tags:
        if not key or len(key) > 128 or not _tag_text(key):
            raise S3Error("The TagKey you have provided is invalid", code="InvalidTag")
        if key.startswith("aws:"):
            raise S3Error("Your TagKey cannot be prefixed with aws:", code="InvalidTag")
        if len(value) > 256 or not _tag_text(value):
            raise S3Error("The TagValue you have provided is invalid", code="InvalidTag")


_TAG_PUNCTUATION = frozenset("+-=._:/@")


def _tag_text(text: str) -> bool:
    """Whether `text` holds only what AWS allows in a tag: Unicode letters, numbers and
    spaces, and `+ - = . _ : / @` (so no control character can reach a Tagging
    document)."""
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


def tagging(tags: Sequence[tuple[str, str]]) -> bytes:
    """`Tagging` document of GetObjectTagging / GetBucketTagging."""
    root = _root("Tagging")
    tag_set = ET.SubElement(root, "TagSet")
    for key, value in tags:
        el = ET.SubElement(tag_set, "Tag")
        _add(el, "Key", key)
        _add(el, "Value", value)
    return _document(root)


# --------------------------------------------------------------------------- versioning


@dataclass(frozen=True)
class VersioningConfiguration:
    """A bucket's versioning state: None (never enabled), Enabled or Suspended."""

    status: str | None = None
    mfa_delete: str | None = None


def parse_versioning(body: bytes) -> VersioningConfiguration:
    """Parse `<VersioningConfiguration>`."""
    root = parse_xml(body)
    _expect_root(root, "VersioningConfiguration")
    status = _text(root, "Status")
    mfa = _text(root, "MfaDelete")
    if status not in (None, "Enabled", "Suspended") or mfa not in (None, "Enabled", "Disabled"):
        raise S3Error(code="IllegalVersioningConfigurationException")
    return VersioningConfiguration(status, mfa)


def versioning(config: VersioningConfiguration) -> bytes:
    """`VersioningConfiguration` of GetBucketVersioning (empty if never enabled)."""
    root = _root("VersioningConfiguration")
    _add(root, "Status", config.status)
    _add(root, "MfaDelete", config.mfa_delete)
    return _document(root)


# --------------------------------------------------------------------------- ACLs

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")


@dataclass(frozen=True)
class Grant:
    """One grant: a grantee (canonical user `id`, group `uri` or `email`) and a
    permission."""

    permission: str
    id: str | None = None
    display_name: str | None = None
    uri: str | None = None
    email: str | None = None

    @property
    def grantee_type(self) -> str:
        """The `xsi:type` of the grantee."""
        if self.id is not None:
            return "CanonicalUser"
        return "Group" if self.uri is not None else "AmazonCustomerByEmail"


@dataclass(frozen=True)
class AccessControlPolicy:
    """An ACL: its owner and grants."""

    owner: Owner
    grants: list[Grant]


CANNED_ACLS = (
    "private", "public-read", "public-read-write", "authenticated-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
)


def canned_acl(name: str, owner: Owner, bucket_owner: Owner | None = None) -> AccessControlPolicy:
    """The grants a canned ACL (`x-amz-acl`) stands for; `bucket_owner` matters for
    the `bucket-owner-*` ones on objects."""
    full = Grant("FULL_CONTROL", id=owner.id, display_name=owner.display_name)
    extra: dict[str, list[Grant]] = {
        "private": [],
        "public-read": [Grant("READ", uri=ALL_USERS)],
        "public-read-write": [Grant("READ", uri=ALL_USERS), Grant("WRITE", uri=ALL_USERS)],
        "authenticated-read": [Grant("READ", uri=AUTHENTICATED_USERS)],
        "log-delivery-write": [Grant("WRITE", uri=LOG_DELIVERY),
                               Grant("READ_ACP", uri=LOG_DELIVERY)],
    }
    if bucket_owner is not None and bucket_owner.id != owner.id:
        extra["bucket-owner-read"] = [
            Grant("READ", id=bucket_owner.id, display_name=bucket_owner.display_name)]
        extra["bucket-owner-full-control"] = [
            Grant("FULL_CONTROL", id=bucket_owner.id, display_name=bucket_owner.display_name)]
    else:
        extra["bucket-owner-read"] = extra["bucket-owner-full-control"] = []
    if name not in extra:
        raise InvalidArgument(ArgumentName="x-amz-acl", ArgumentValue=name)
    return AccessControlPolicy(owner, [full, *extra[name]])


def access_control_policy(policy: AccessControlPolicy) -> bytes:
    """`AccessControlPolicy` of GetBucketAcl / GetObjectAcl."""
    root = _root("AccessControlPolicy")
    _add_owner(root, "Owner", policy.owner)
    acl = ET.SubElement(root, "AccessControlList")
    for grant in policy.grants:
        el = ET.SubElement(acl, "Grant")
        grantee = ET.SubElement(
            el, "Grantee", {"xmlns:xsi": XSI_NS, "xsi:type": grant.grantee_type}
        )
        _add(grantee, "ID", grant.id)
        _add(grantee, "DisplayName", grant.display_name)
        _add(grantee, "URI", grant.uri)
        _add(grantee, "EmailAddress", grant.email)
        _add(el, "Permission", grant.permission)
    return _document(root)


def parse_access_control_policy(body: bytes) -> AccessControlPolicy:
    """Parse a PutBucketAcl / PutObjectAcl body (MalformedACLError on a bad shape)."""
    try:
        root = parse_xml(body)
        _expect_root(root, "AccessControlPolicy")
        owner_el = root.find("Owner")
        owner = Owner(_required(owner_el, "ID"), _text(owner_el, "DisplayName") or "") \
            if owner_el is not None else Owner("")
        acl = root.find("AccessControlList")
        grants = [_parse_grant(el) for el in (acl.findall("Grant") if acl is not None else [])]
    except MalformedXML as e:
        raise S3Error(code="MalformedACLError") from e
    return AccessControlPolicy(owner, grants)


def _parse_grant(el: ET.Element) -> Grant:
    grantee = el.find("Grantee")
    permission = _required(el, "Permission")
    if grantee is None or permission not in PERMISSIONS:
        raise MalformedXML()
    grant = Grant(
        permission,
        id=_text(grantee, "ID"),
        display_name=_text(grantee, "DisplayName"),
        uri=_text(grantee, "URI"),
        email=_text(grantee, "EmailAddress"),
    )
    if (grant.id, grant.uri, grant.email) == (None, None, None):
        raise MalformedXML()
    return grant


# --------------------------------------------------------------------------- CORS

CORS_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_CORS_RULES = 100


@dataclass(frozen=True)
class CorsRule:
    """One CORSRule."""

    allowed_origins: list[str]
    allowed_methods: list[str]
    allowed_headers: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age_seconds: int | None = None
    id: str | None = None


def parse_cors(body: bytes) -> list[CorsRule]:
    """Parse `<CORSConfiguration>`: 1..100 rules, each with origins and known methods."""
    root = parse_xml(body)
    _expect_root(root, "CORSConfiguration")
    rules = []
    for el in root.findall("CORSRule"):
        origins = _texts(el, "AllowedOrigin")
        methods = _texts(el, "AllowedMethod")
        if not origins or not methods:
            raise MalformedXML()
        for method in methods:
            if method not in CORS_METHODS:
                raise InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is "
                    f"{method}"
                )
        rules.append(CorsRule(
            origins, methods, _texts(el, "AllowedHeader"), _texts(el, "ExposeHeader"),
            _int(_text(el, "MaxAgeSeconds")), _text(el, "ID"),
        ))
    if not rules or len(rules) > MAX_CORS_RULES:
        raise MalformedXML()
    return rules


def _texts(el: ET.Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in el.findall(name)]


def cors(rules: Sequence[CorsRule]) -> bytes:
    """`CORSConfiguration` of GetBucketCors."""
    root = _root("CORSConfiguration")
    for rule in rules:
        el = ET.SubElement(root, "CORSRule")
        _add(el, "ID", rule.id)
        for tag, values in (
            ("AllowedOrigin", rule.allowed_origins),
            ("AllowedMethod", rule.allowed_methods),
            ("AllowedHeader", rule.allowed_headers),
            ("ExposeHeader", rule.expose_headers),
        ):
            for value in values:
                _add(el, tag, value)
        _add(el, "MaxAgeSeconds", rule.max_age_seconds)
    return _document(root)


# --------------------------------------------------------------------------- lifecycle

MAX_LIFECYCLE_RULES = 1000
_DAY = 86400


@dataclass(frozen=True)
class LifecycleRule:
    """One expiration rule: which objects (prefix, tags, size bounds) and when they
    expire (days after creation or a midnight-UTC date), noncurrent versions, expired
    delete markers and incomplete multipart uploads."""

    status: str
    id: str | None = None
    prefix: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list)
    object_size_greater_than: int | None = None
    object_size_less_than: int | None = None
    expiration_days: int | None = None
    expiration_date: float | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_incomplete_days: int | None = None
    legacy_prefix: bool = False
    """The rule used the deprecated top-level `<Prefix>` instead of `<Filter>`."""


def parse_lifecycle(body: bytes) -> list[LifecycleRule]:
    """Parse `<LifecycleConfiguration>` (expiration actions; transitions refused)."""
    root = parse_xml(body)
    _expect_root(root, "LifecycleConfiguration")
    rules = [_parse_rule(el) for el in root.findall("Rule")]
    if not rules or len(rules) > MAX_LIFECYCLE_RULES:
        raise MalformedXML()
    ids = [rule.id for rule in rules if rule.id]
    if len(set(ids)) != len(ids):
        raise InvalidArgument("Rule ID must be unique. Found same ID for more than one rule",
                              ArgumentName="ID")
    return rules


def _parse_rule(el: ET.Element) -> LifecycleRule:
    status = _required(el, "Status")
    if status not in ("Enabled", "Disabled"):
        raise MalformedXML()
    if el.find("Transition") is not None or el.find("NoncurrentVersionTransition") is not None:
        raise S3Error("Lifecycle transitions are not supported", code="NotImplemented")
    rule_id = _text(el, "ID")
    if rule_id is not None and len(rule_id) > 255:
        raise InvalidArgument("ID length should not exceed allowed limit of 255",
                              ArgumentName="ID")
    filt = el.find("Filter")
    legacy = el.find("Prefix")
    if (filt is None) == (legacy is None):
        raise MalformedXML()
    scope = _parse_filter(filt) if filt is not None else {"prefix": (legacy.text or "")}
    exp = el.find("Expiration")
    nce = el.find("NoncurrentVersionExpiration")
    abort = el.find("AbortIncompleteMultipartUpload")
    rule = LifecycleRule(
        status=status,
        id=rule_id,
        legacy_prefix=legacy is not None,
        expiration_days=_int(_text(exp, "Days"), minimum=1) if exp is not None else None,
        expiration_date=_midnight(_text(exp, "Date")) if exp is not None else None,
        expired_object_delete_marker=(
            _bool(_text(exp, "ExpiredObjectDeleteMarker"))
            if exp is not None and exp.find("ExpiredObjectDeleteMarker") is not None else None
        ),
        noncurrent_days=_int(_text(nce, "NoncurrentDays"), minimum=1)
        if nce is not None else None,
        newer_noncurrent_versions=_int(_text(nce, "NewerNoncurrentVersions"), minimum=1)
        if nce is not None else None,
        abort_incomplete_days=_int(_text(abort, "DaysAfterInitiation"), minimum=1)
        if abort is not None else None,
        **scope,  # type: ignore[arg-type]
    )
    _check_actions(rule, exp)
    return rule


def _parse_filter(filt: ET.Element) -> dict[str, object]:
    scope: dict[str, object] = {}
    container = filt.find("And")
    if container is not None and len(filt) != 1:
        raise MalformedXML()
    source = container if container is not None else filt
    if container is None and len(filt) > 1:
        raise MalformedXML()  # several conditions need an <And>
    prefix = _text(source, "Prefix")
    if prefix is not None:
        scope["prefix"] = prefix
    tags = []
    for tag in source.findall("Tag"):
        tags.append((_required(tag, "Key"), _text(tag, "Value") or ""))
    if tags:
        validate_tags(tags, max_tags=MAX_BUCKET_TAGS)
        scope["tags"] = tags
    for name, attr in (("ObjectSizeGreaterThan", "object_size_greater_than"),
                       ("ObjectSizeLessThan", "object_size_less_than")):
        value = _int(_text(source, name))
        if value is not None:
            scope[attr] = value
    return scope


def _midnight(text: str | None) -> float | None:
    if text is None:
        return None
    stamp = parse_timestamp(text)
    if stamp % _DAY:
        raise InvalidArgument("'Date' must be at midnight GMT", ArgumentName="Date",
                              ArgumentValue=text)
    return stamp


def _check_actions(rule: LifecycleRule, exp: ET.Element | None) -> None:
    if exp is not None:
        chosen = [rule.expiration_days is not None, rule.expiration_date is not None,
                  rule.expired_object_delete_marker is not None]
        if sum(chosen) != 1:
            raise MalformedXML()
        if rule.expired_object_delete_marker is not None and rule.tags:
            raise InvalidArgument("ExpiredObjectDeleteMarker cannot be specified with tags.")
    if rule.abort_incomplete_days is not None and rule.tags:
        raise InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
    if (exp is None and rule.noncurrent_days is None
            and rule.abort_incomplete_days is None):
        raise InvalidRequest("At least one action needs to be specified in a rule")


def lifecycle(rules: Sequence[LifecycleRule]) -> bytes:
    """`LifecycleConfiguration` of GetBucketLifecycleConfiguration."""
    root = _root("LifecycleConfiguration")
    for rule in rules:
        el = ET.SubElement(root, "Rule")
        _add(el, "ID", rule.id)
        if rule.legacy_prefix:
            _add(el, "Prefix", rule.prefix)
        else:
            _add_filter(el, rule)
        _add(el, "Status", rule.status)
        if rule.expiration_days is not None or rule.expiration_date is not None \
                or rule.expired_object_delete_marker is not None:
            exp = ET.SubElement(el, "Expiration")
            _add(exp, "Days", rule.expiration_days)
            if rule.expiration_date is not None:
                _add(exp, "Date", format_timestamp(rule.expiration_date))
            _add(exp, "ExpiredObjectDeleteMarker", rule.expired_object_delete_marker)
        if rule.noncurrent_days is not None:
            nce = ET.SubElement(el, "NoncurrentVersionExpiration")
            _add(nce, "NoncurrentDays", rule.noncurrent_days)
            _add(nce, "NewerNoncurrentVersions", rule.newer_noncurrent_versions)
        if rule.abort_incomplete_days is not None:
            abort = ET.SubElement(el, "AbortIncompleteMultipartUpload")
            _add(abort, "DaysAfterInitiation", rule.abort_incomplete_days)
    return _document(root)


def _add_filter(el: ET.Element, rule: LifecycleRule) -> None:
    filt = ET.SubElement(el, "Filter")
    conditions = bool(rule.prefix) + len(rule.tags) + \
        (rule.object_size_greater_than is not None) + (rule.object_size_less_than is not None)
    target = ET.SubElement(filt, "And") if conditions > 1 else filt
    if rule.prefix or conditions == 0:
        _add(target, "Prefix", rule.prefix)
    for key, value in rule.tags:
        tag = ET.SubElement(target, "Tag")
        _add(tag, "Key", key)
        _add(tag, "Value", value)
    _add(target, "ObjectSizeGreaterThan", rule.object_size_greater_than)
    _add(target, "ObjectSizeLessThan", rule.object_size_less_than)
