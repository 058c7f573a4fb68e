"""Object lock rules: configuration and retention documents round-trip and refuse
what S3 refuses, deletion and retention changes are allowed exactly when S3 allows
them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.s3 import object_lock as ol
from radospy.rgw.s3.errors import S3Error

NOW = 1_795_824_000.0


def _code(call: object) -> str:
    with pytest.raises(S3Error) as info:
        call()  # type: ignore[operator]
    return info.value.code


def test_documents_round_trip() -> None:
    for config in (ol.LockConfiguration(), ol.LockConfiguration("GOVERNANCE", days=3),
                   ol.LockConfiguration("COMPLIANCE", years=1)):
        assert ol.parse_configuration(ol.configuration(config)) == config
    kept = ol.Retention("COMPLIANCE", NOW + 60)
    assert ol.parse_retention(ol.retention(kept), NOW) == kept
    assert ol.parse_legal_hold(ol.legal_hold(True)) is True
    assert ol.LockConfiguration("GOVERNANCE", days=2).default_until(NOW) == NOW + 2 * ol.DAY


def test_bad_documents() -> None:
    head = b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
    for body in (b"<ObjectLockConfiguration/>",
                 head + b"<Rule><DefaultRetention><Mode>X</Mode><Days>1</Days>"
                        b"</DefaultRetention></Rule></ObjectLockConfiguration>",
                 head + b"<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days>"
                        b"<Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>"):
        assert _code(lambda b=body: ol.parse_configuration(b)) == "MalformedXML"
    zero = head + (b"<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days>"
                   b"</DefaultRetention></Rule></ObjectLockConfiguration>")
    assert _code(lambda: ol.parse_configuration(zero)) == "InvalidArgument"
    past = ol.retention(ol.Retention("GOVERNANCE", NOW - 1))
    assert _code(lambda: ol.parse_retention(past, NOW)) == "InvalidArgument"
    assert _code(lambda: ol.from_headers("GOVERNANCE", None, None, NOW)) == "InvalidArgument"
    assert _code(lambda: ol.from_headers(None, None, "MAYBE", NOW)) == "InvalidArgument"
    assert ol.from_headers(None, None, "ON", NOW) == (None, True)


modes = st.sampled_from([None, "GOVERNANCE", "COMPLIANCE"])


@given(modes, st.integers(-100, 100), st.booleans(), st.booleans())
def test_delete_allowed_exactly_when_unprotected(mode: str | None, left: int, held: bool,
                                                 bypass: bool) -> None:
    retention = ol.Retention(mode, NOW + left)
    protected = held or (mode is not None and left > 0
                         and not (mode == "GOVERNANCE" and bypass))
    if protected:
        assert _code(lambda: ol.check_delete(retention, held, NOW, bypass=bypass)) == \
            "AccessDenied"
    else:
        ol.check_delete(retention, held, NOW, bypass=bypass)


@given(modes, modes, st.integers(1, 100), st.integers(-50, 50), st.booleans())
def test_retention_only_tightens(old_mode: str | None, new_mode: str | None, left: int,
                                 change: int, bypass: bool) -> None:
    old = ol.Retention(old_mode, NOW + left)
    new = ol.Retention(new_mode, NOW + left + change)
    loosened = old_mode is not None and (
        new_mode is None or change < 0 or (old_mode == "COMPLIANCE" and new_mode != old_mode))
    if loosened and not (old_mode == "GOVERNANCE" and bypass):
        assert _code(lambda: ol.check_change(old, new, NOW, bypass=bypass)) == "AccessDenied"
    else:
        ol.check_change(old, new, NOW, bypass=bypass)
