"""botocore failures as the collector's typed errors.

The exporter helper decides what to retry from the error's type, so every
failure of an AWS call is classified here, once: throttling and service
faults are retryable, a request the service refuses as invalid is permanent.
Messages carry the operation and the service's error code, never credentials.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
)

from collector.errors import ConsumeError, PermanentError, RetryableError, ThrottledError

#: Error codes meaning "slow down" (CloudWatch says Throttling, Logs ThrottlingException).
THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
#: Error codes of faults on the service's side, or races that a later attempt resolves.
TRANSIENT = frozenset({
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServiceError",
    "InternalServiceFault", "InternalServerError", "InternalError", "RequestTimeout",
    "RequestTimeoutException", "OperationAbortedException", "ExpiredToken", "ExpiredTokenException",
    "RequestExpired", "IDPCommunicationError",
})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "") or "")


def classify(exc: Exception, operation: str) -> ConsumeError:
    """The typed error for a failed call of ``operation``."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
        message = exc.response.get("Error", {}).get("Message", "") or ""
        text = f"{operation}: {code or 'HTTP ' + str(status)}: {message}".rstrip(": ")
        if code in THROTTLING or status == 429:
            return ThrottledError(text)
        if code in TRANSIENT or status >= 500:
            return RetryableError(text)
        return PermanentError(text)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        # Instance and container metadata can be briefly unreachable; a token file can appear later.
        return RetryableError(f"{operation}: no usable AWS credentials (environment, shared config, web identity, "
                              f"container or instance metadata): {type(exc).__name__}")
    if isinstance(exc, NoRegionError):
        return PermanentError(f"{operation}: no AWS region: set 'region' in the config or AWS_REGION")
    if isinstance(exc, ParamValidationError):
        return PermanentError(f"{operation}: invalid request: {exc}")
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return RetryableError(f"{operation}: {type(exc).__name__}: {exc}")
    if isinstance(exc, BotoCoreError):
        return RetryableError(f"{operation}: {type(exc).__name__}: {exc}")
    return RetryableError(f"{operation}: {type(exc).__name__}: {exc}")


def code_of(exc: BaseException) -> str:
    """The service's error code behind a typed error raised by :class:`AwsClients`, or ''."""
    cause = exc.__cause__
    return error_code(cause) if isinstance(cause, ClientError) else ""
