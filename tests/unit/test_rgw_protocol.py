"""Which S3 error answers a request aiohttp could not parse or whose body broke off."""

from __future__ import annotations

from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    ContentLengthError,
    LineTooLong,
    TransferEncodingError,
)

from radospy.rgw.protocol import body_error, protocol_error


def test_oversized_headers_are_request_header_section_too_large() -> None:
    for exc in (LineTooLong(b"x" * 10, 8190), BadHttpMessage("Too many headers received")):
        error = protocol_error(400, exc)
        assert (error.code, error.status) == ("RequestHeaderSectionTooLarge", 400)


def test_other_parse_failures_are_bad_request() -> None:
    error = protocol_error(400, BadStatusLine("GARBAGE"))
    assert (error.code, error.status) == ("BadRequest", 400)
    assert "GARBAGE" in error.message


def test_server_side_failures() -> None:
    assert protocol_error(504, None).code == "RequestTimeout"
    assert protocol_error(500, RuntimeError("boom")).code == "InternalError"
    assert protocol_error(500, ConnectionResetError()).code == "InternalError"


def test_body_errors() -> None:
    assert body_error(ContentLengthError("Not enough data")).code == "IncompleteBody"
    error = body_error(TransferEncodingError("bad chunk length"))
    assert (error.code, error.status) == ("BadRequest", 400)
