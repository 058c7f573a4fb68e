"""S3 Object Lock (pure): the bucket's default retention, a version's retention and
legal hold as XML documents and request headers, and the rules that decide whether a
version may be deleted or its retention changed.

A version under COMPLIANCE retention cannot be deleted, nor its retention shortened
or loosened, by anyone until its retain-until date; under GOVERNANCE the same holds
unless the request carries `x-amz-bypass-governance-retention: true`. A legal hold
blocks deletion until it is turned off, whatever the retention.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from radospy.rgw.s3.errors import InvalidArgument, InvalidRequest, MalformedXML, S3Error
from radospy.rgw.s3.xml import DECLARATION, S3_NS, format_timestamp, parse_timestamp, parse_xml

MODES = ("GOVERNANCE", "COMPLIANCE")
DAY = 86400
YEAR = 365 * DAY


@dataclass(frozen=True)
class LockConfiguration:
    """A bucket's object lock configuration: enabled, and an optional default
    retention (mode and a period in days or years)."""

    mode: str | None = None
    days: int | None = None
    years: int | None = None

    def default_until(self, now: float) -> float | None:
        """The retain-until date a new version gets by default (None: no default)."""
        if self.mode is None:
            return None
        return now + (self.days or 0) * DAY + (self.years or 0) * YEAR


@dataclass(frozen=True)
class Retention:
    """A version's retention: mode and retain-until date (no mode: none)."""

    mode: str | None = None
    until: float = 0.0

    def active(self, now: float) -> bool:
        """Whether the retention still protects the version."""
        return self.mode is not None and self.until > now


def _element(root: ET.Element, name: str) -> str | None:
    child = root.find(name)
    return None if child is None else (child.text or "").strip()


def _document(root: ET.Element) -> bytes:
    return (DECLARATION + ET.tostring(root, encoding="unicode")).encode()


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, name)
    child.text = text
    return child


def parse_configuration(body: bytes) -> LockConfiguration:
    """Parse `<ObjectLockConfiguration>`: ObjectLockEnabled must be Enabled; a rule's
    DefaultRetention names a mode and exactly one of Days and Years (positive)."""
    root = parse_xml(body)
    if root.tag != "ObjectLockConfiguration" or _element(root, "ObjectLockEnabled") != "Enabled":
        raise MalformedXML()
    rule = root.find("Rule")
    if rule is None:
        return LockConfiguration()
    default = rule.find("DefaultRetention")
    if default is None:
        raise MalformedXML()
    mode = _element(default, "Mode")
    if mode not in MODES:
        raise MalformedXML()
    days, years = _element(default, "Days"), _element(default, "Years")
    if (days is None) == (years is None):
        raise MalformedXML()
    value = days if days is not None else years
    assert value is not None
    if not value.isdigit() or int(value) < 1:
        raise InvalidArgument("Default retention period must be a positive integer value.",
                              ArgumentName="Days" if days is not None else "Years",
                              ArgumentValue=value)
    return LockConfiguration(mode, int(days) if days else None, int(years) if years else None)


def configuration(config: LockConfiguration) -> bytes:
    """`ObjectLockConfiguration` of GetObjectLockConfiguration."""
    root = ET.Element("ObjectLockConfiguration", {"xmlns": S3_NS})
    _add(root, "ObjectLockEnabled", "Enabled")
    if config.mode is not None:
        default = ET.SubElement(ET.SubElement(root, "Rule"), "DefaultRetention")
        _add(default, "Mode", config.mode)
        if config.days is not None:
            _add(default, "Days", str(config.days))
        if config.years is not None:
            _add(default, "Years", str(config.years))
    return _document(root)


def parse_retention(body: bytes, now: float) -> Retention:
    """Parse `<Retention>`: a mode and a retain-until date in the future."""
    root = parse_xml(body)
    if root.tag != "Retention":
        raise MalformedXML()
    mode, until = _element(root, "Mode"), _element(root, "RetainUntilDate")
    if mode is None and until is None:
        return Retention()
    if mode not in MODES or until is None:
        raise MalformedXML()
    return Retention(mode, _future(parse_timestamp(until), now))


def _future(until: float, now: float) -> float:
    if until <= now:
        raise InvalidArgument("The retain until date must be in the future!",
                              ArgumentName="RetainUntilDate")
    return until


def retention(value: Retention) -> bytes:
    """`Retention` of GetObjectRetention."""
    root = ET.Element("Retention", {"xmlns": S3_NS})
    if value.mode is not None:
        _add(root, "Mode", value.mode)
        _add(root, "RetainUntilDate", format_timestamp(value.until))
    return _document(root)


def parse_legal_hold(body: bytes) -> bool:
    """Parse `<LegalHold>`: whether Status is ON."""
    root = parse_xml(body)
    status = _element(root, "Status")
    if root.tag != "LegalHold" or status not in ("ON", "OFF"):
        raise MalformedXML()
    return status == "ON"


def legal_hold(on: bool) -> bytes:
    """`LegalHold` of GetObjectLegalHold."""
    root = ET.Element("LegalHold", {"xmlns": S3_NS})
    _add(root, "Status", "ON" if on else "OFF")
    return _document(root)


def from_headers(mode: str | None, until: str | None, hold: str | None,
                 now: float) -> tuple[Retention | None, bool | None]:
    """A PUT's `x-amz-object-lock-mode`, `-retain-until-date` and `-legal-hold`
    headers: the retention (None: not given) and legal hold (None: not given)."""
    value: Retention | None = None
    if mode is not None or until is not None:
        if mode not in MODES or until is None:
            raise InvalidArgument(
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both "
                "be supplied", ArgumentName="x-amz-object-lock-mode",
                ArgumentValue=mode or "")
        try:
            stamp = parse_timestamp(until)
        except S3Error:
            raise InvalidArgument("The retain until date must be provided in ISO 8601 format",
                                  ArgumentName="x-amz-object-lock-retain-until-date",
                                  ArgumentValue=until) from None
        value = Retention(mode, _future(stamp, now))
    held: bool | None = None
    if hold is not None:
        if hold not in ("ON", "OFF"):
            raise InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'",
                                  ArgumentName="x-amz-object-lock-legal-hold",
                                  ArgumentValue=hold)
        held = hold == "ON"
    return value, held


def check_delete(current: Retention, held: bool, now: float, *, bypass: bool) -> None:
    """AccessDenied when a version under this retention and legal hold may not be
    deleted now."""
    if held:
        raise S3Error("Object is under legal hold and cannot be deleted", code="AccessDenied")
    if current.active(now) and not (current.mode == "GOVERNANCE" and bypass):
        raise S3Error("Object is WORM protected and cannot be overwritten",
                      code="AccessDenied")


def check_change(current: Retention, new: Retention, now: float, *, bypass: bool) -> None:
    """AccessDenied when an active retention would be removed, shortened or moved from
    COMPLIANCE to GOVERNANCE (GOVERNANCE's may be, with the bypass header)."""
    if not current.active(now):
        return
    loosened = (new.mode is None or new.until < current.until
                or (current.mode == "COMPLIANCE" and new.mode != "COMPLIANCE"))
    if loosened and not (current.mode == "GOVERNANCE" and bypass):
        raise S3Error("Object is WORM protected and cannot be overwritten",
                      code="AccessDenied")


def require_enabled(enabled: bool) -> None:
    """InvalidRequest unless the bucket was created with object lock."""
    if not enabled:
        raise InvalidRequest("Bucket is missing Object Lock Configuration")
