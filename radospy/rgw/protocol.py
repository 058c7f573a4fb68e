"""HTTP-level refusals as S3 error documents.

aiohttp refuses a request it cannot parse (a header line past its limit, too many
headers, a malformed request line or chunked encoding) before the gateway's handler
runs, and answers in plain text. S3 clients parse every 4xx as an `<Error>` document, so
`S3Server` hands out connection handlers whose refusals are S3's: the code that names
the problem (`RequestHeaderSectionTooLarge` for oversized headers), the request id,
and a closed connection, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, ContentLengthError, LineTooLong
from aiohttp.web_protocol import RequestHandler

from radospy.rgw.s3 import xml as s3xml
from radospy.rgw.s3.errors import S3Error

log = logging.getLogger("radospy.rgw")


def protocol_error(status: int, exc: BaseException | None) -> S3Error:
    """The S3 error for a request aiohttp refused with `status` because of `exc`."""
    if isinstance(exc, LineTooLong) or (
            isinstance(exc, BadHttpMessage) and "too many headers" in str(exc).lower()):
        return S3Error(code="RequestHeaderSectionTooLarge")
    if isinstance(exc, BadHttpMessage):
        return S3Error(code="BadRequest", message=exc.message)
    if status == 504:
        return S3Error(code="RequestTimeout")
    return S3Error(code="InternalError")


def body_error(exc: BadHttpMessage) -> S3Error:
    """The S3 error for a request body aiohttp could not deliver: IncompleteBody when it
    ended before its Content-Length, BadRequest when its framing was malformed."""
    if isinstance(exc, ContentLengthError):
        return S3Error(code="IncompleteBody")
    return S3Error(code="BadRequest", message=exc.message)


class _S3RequestHandler(RequestHandler):
    """aiohttp's connection handler, refusing in S3's words."""

    def __init__(self, manager: web.Server, request_id: Callable[[], str],
                 **kwargs: object) -> None:
        super().__init__(manager, **kwargs)  # type: ignore[arg-type]
        self._s3_request_id = request_id

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The refusal as an S3 `<Error>` document (the connection is closed after it,
        since whatever follows the bad request on it cannot be trusted)."""
        error = protocol_error(status, exc)
        if isinstance(exc, ConnectionError):
            log.info("rgw: the client went away mid-request: %s", exc)
        else:
            log.warning("rgw: refused a request: %s (%s)", error.code,
                        exc if exc is not None else status)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send an error")
        request_id = self._s3_request_id()
        body = s3xml.error_document(error, request_id=request_id)
        response = web.Response(status=error.status, body=body,
                                content_type="application/xml",
                                headers={"x-amz-request-id": request_id})
        response.force_close()
        return response


class S3Server(web.Server):
    """`aiohttp.web.Server` whose connections refuse unparsable requests as S3 does;
    `request_id` numbers those refusals like the gateway's other responses."""

    def __init__(self, handler: Callable[[web.BaseRequest], object],
                 request_id: Callable[[], str], **kwargs: object) -> None:
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]
        self._request_id = request_id

    def __call__(self) -> RequestHandler:
        return _S3RequestHandler(self, self._request_id, loop=self._loop, **self._kwargs)
