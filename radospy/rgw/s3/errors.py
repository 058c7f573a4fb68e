"""S3 errors: the code table (HTTP status and S3's default message) and typed exceptions.

Every refusal the gateway makes is an `S3Error`; `radospy.rgw.s3.xml.error_document`
renders one as the `<Error>` document S3 clients parse. Codes and messages follow
Amazon S3's error responses, which boto3, the AWS CLI, rclone and s3cmd key their
behaviour on (retry, redirect, "bucket exists" handling…).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorSpec:
    """One row of S3's error table."""

    status: int
    message: str


ERRORS: dict[str, ErrorSpec] = {
    "AccessDenied": ErrorSpec(403, "Access Denied"),
    "AccessForbidden": ErrorSpec(403, "CORSResponse: This CORS request is not allowed."),
    "AccountProblem": ErrorSpec(403, "There is a problem with your account."),
    "AuthorizationHeaderMalformed": ErrorSpec(
        400, "The authorization header you provided is invalid."
    ),
    "AuthorizationQueryParametersError": ErrorSpec(
        400, "Error parsing the X-Amz-Credential parameter."
    ),
    "BadRequest": ErrorSpec(400, "Bad Request"),
    "BadDigest": ErrorSpec(
        400, "The Content-MD5 or checksum value that you specified did not match what the "
        "server received."
    ),
    "BucketAlreadyExists": ErrorSpec(
        409, "The requested bucket name is not available. The bucket namespace is shared by "
        "all users of the system. Please select a different name and try again."
    ),
    "BucketAlreadyOwnedByYou": ErrorSpec(
        409, "Your previous request to create the named bucket succeeded and you already "
        "own it."
    ),
    "BucketNotEmpty": ErrorSpec(409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": ErrorSpec(
        400, "Your proposed upload exceeds the maximum allowed object size."
    ),
    "EntityTooSmall": ErrorSpec(
        400, "Your proposed upload is smaller than the minimum allowed object size."
    ),
    "ExpiredToken": ErrorSpec(400, "The provided token has expired."),
    "IllegalLocationConstraintException": ErrorSpec(
        400, "The unspecified location constraint is incompatible for the region specific "
        "endpoint this request was sent to."
    ),
    "IllegalVersioningConfigurationException": ErrorSpec(
        400, "The versioning configuration specified in the request is invalid."
    ),
    "IncompleteBody": ErrorSpec(
        400, "You did not provide the number of bytes specified by the Content-Length HTTP "
        "header."
    ),
    "InternalError": ErrorSpec(
        500, "We encountered an internal error. Please try again."
    ),
    "InvalidAccessKeyId": ErrorSpec(
        403, "The AWS Access Key Id you provided does not exist in our records."
    ),
    "InvalidArgument": ErrorSpec(400, "Invalid Argument"),
    "InvalidBucketName": ErrorSpec(400, "The specified bucket is not valid."),
    "InvalidBucketState": ErrorSpec(
        409, "The request is not valid with the current state of the bucket."
    ),
    "InvalidChunkSizeError": ErrorSpec(
        400, "Only the last chunk is allowed to have a size less than 8192 bytes"
    ),
    "InvalidDigest": ErrorSpec(400, "The Content-MD5 you specified is not valid."),
    "InvalidLocationConstraint": ErrorSpec(
        400, "The specified location constraint is not valid."
    ),
    "InvalidObjectState": ErrorSpec(
        403, "The operation is not valid for the current state of the object."
    ),
    "InvalidPart": ErrorSpec(
        400, "One or more of the specified parts could not be found. The part may not have "
        "been uploaded, or the specified entity tag may not match the part's entity tag."
    ),
    "InvalidPartOrder": ErrorSpec(
        400, "The list of parts was not in ascending order. The parts list must be "
        "specified in order by part number."
    ),
    "InvalidRange": ErrorSpec(416, "The requested range is not satisfiable"),
    "InvalidRequest": ErrorSpec(400, "Invalid Request"),
    "InvalidStorageClass": ErrorSpec(
        400, "The storage class you specified is not valid"
    ),
    "InvalidTag": ErrorSpec(400, "The tag provided was not a valid tag."),
    "InvalidTargetBucketForLogging": ErrorSpec(
        400, "The target bucket for logging does not exist"
    ),
    "KeyTooLongError": ErrorSpec(400, "Your key is too long"),
    "MalformedACLError": ErrorSpec(
        400, "The XML you provided was not well-formed or did not validate against our "
        "published schema"
    ),
    "MalformedPolicy": ErrorSpec(400, "Policy has invalid resource"),
    "MalformedTrailerError": ErrorSpec(
        400, "The request contained trailing data that was not well-formed or did not "
        "conform to our published schema."
    ),
    "MalformedXML": ErrorSpec(
        400, "The XML you provided was not well-formed or did not validate against our "
        "published schema"
    ),
    "MaxMessageLengthExceeded": ErrorSpec(400, "Your request was too big."),
    "MetadataTooLarge": ErrorSpec(
        400, "Your metadata headers exceed the maximum allowed metadata size."
    ),
    "MethodNotAllowed": ErrorSpec(
        405, "The specified method is not allowed against this resource."
    ),
    "MissingContentLength": ErrorSpec(411, "You must provide the Content-Length HTTP header."),
    "MissingRequestBodyError": ErrorSpec(400, "Request Body is empty"),
    "MissingSecurityHeader": ErrorSpec(400, "Your request is missing a required header."),
    "NoSuchBucket": ErrorSpec(404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": ErrorSpec(404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": ErrorSpec(404, "The CORS configuration does not exist"),
    "NoSuchKey": ErrorSpec(404, "The specified key does not exist."),
    "NoSuchLifecycleConfiguration": ErrorSpec(
        404, "The lifecycle configuration does not exist"
    ),
    "NoSuchObjectLockConfiguration": ErrorSpec(
        404, "The specified object does not have a ObjectLock configuration"
    ),
    "NoSuchTagSet": ErrorSpec(404, "The TagSet does not exist"),
    "ObjectLockConfigurationNotFoundError": ErrorSpec(
        404, "Object Lock configuration does not exist for this bucket"
    ),
    "NoSuchUpload": ErrorSpec(
        404, "The specified upload does not exist. The upload ID may be invalid, or the "
        "upload may have been aborted or completed."
    ),
    "NoSuchVersion": ErrorSpec(
        404, "The specified version does not exist."
    ),
    "NotImplemented": ErrorSpec(
        501, "A header you provided implies functionality that is not implemented."
    ),
    "NotModified": ErrorSpec(304, "Not Modified"),
    "OperationAborted": ErrorSpec(
        409, "A conflicting conditional operation is currently in progress against this "
        "resource. Try again."
    ),
    "PreconditionFailed": ErrorSpec(
        412, "At least one of the pre-conditions you specified did not hold"
    ),
    "QuotaExceeded": ErrorSpec(403, "Quota exceeded"),
    "RequestHeaderSectionTooLarge": ErrorSpec(
        400, "Your request header section exceeds the maximum allowed size."
    ),
    "RequestTimeTooSkewed": ErrorSpec(
        403, "The difference between the request time and the current time is too large."
    ),
    "RequestTimeout": ErrorSpec(
        400, "Your socket connection to the server was not read from or written to within "
        "the timeout period."
    ),
    "ServiceUnavailable": ErrorSpec(503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": ErrorSpec(
        403, "The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method."
    ),
    "SlowDown": ErrorSpec(503, "Please reduce your request rate."),
    "TooManyBuckets": ErrorSpec(
        400, "You have attempted to create more buckets than allowed."
    ),
    "UnexpectedContent": ErrorSpec(400, "This request does not support content."),
    "XAmzContentSHA256Mismatch": ErrorSpec(
        400, "The provided 'x-amz-content-sha256' header does not match what was computed."
    ),
}


class S3Error(Exception):
    """A refusal with an S3 error code; its HTTP status and default message come from
    `ERRORS`.

    `fields` are extra child elements of the `<Error>` document (S3 adds some per code:
    `BucketName`, `Key`, `StringToSign`, `RequestTime`, `ArgumentName`…), in order.
    Subclasses fix the code; the base class takes it as an argument.
    """

    code: str = "InternalError"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, **fields: str
    ) -> None:
        if code is not None:
            self.code = code
        spec = ERRORS[self.code]
        self.status: int = spec.status
        self.message: str = spec.message if message is None else message
        self.fields: dict[str, str] = fields
        self.headers: dict[str, str] = {}
        """Response headers that go with the error (`x-amz-delete-marker`…)."""
        super().__init__(f"{self.code}: {self.message}")


class AccessDenied(S3Error):
    code = "AccessDenied"


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"


class BadDigest(S3Error):
    code = "BadDigest"


class IncompleteBody(S3Error):
    code = "IncompleteBody"


class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"


class InvalidArgument(S3Error):
    code = "InvalidArgument"


class InvalidChunkSizeError(S3Error):
    code = "InvalidChunkSizeError"


class InvalidDigest(S3Error):
    code = "InvalidDigest"


class InvalidRequest(S3Error):
    code = "InvalidRequest"


class MalformedTrailerError(S3Error):
    code = "MalformedTrailerError"


class MalformedXML(S3Error):
    code = "MalformedXML"


class NotImplementedS3(S3Error):
    code = "NotImplemented"


class RequestTimeTooSkewed(S3Error):
    code = "RequestTimeTooSkewed"


class SignatureDoesNotMatch(S3Error):
    code = "SignatureDoesNotMatch"


class XAmzContentSHA256Mismatch(S3Error):
    code = "XAmzContentSHA256Mismatch"
