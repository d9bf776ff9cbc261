"""Request errors: a gRPC status code plus a message that says what was wrong.

Engines and codecs raise `RequestError`; the servicers turn it into the RPC's status with
`abort_on_error`, so a bad request ends only its own call and never the server.
"""

import contextlib
import logging
from collections.abc import Iterator

import grpc

logger = logging.getLogger(__name__)


class RequestError(Exception):
    """A request the server will not serve; `code` is the gRPC status to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.NOT_FOUND, message)


def exhausted(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def unavailable(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.UNAVAILABLE, message)


@contextlib.contextmanager
def abort_on_error(context: grpc.ServicerContext, rpc: str) -> Iterator[None]:
    """Answer a RequestError with its status; anything else is INTERNAL (and logged)."""
    try:
        yield
    except RequestError as exc:
        logger.info("%s: %s %s", rpc, exc.code.name, exc.message)
        context.abort(exc.code, exc.message)
    except Exception as exc:
        if not context.is_active():  # the client went away; nobody to answer
            return
        logger.exception("%s failed", rpc)
        context.abort(grpc.StatusCode.INTERNAL, f"{rpc} failed: {type(exc).__name__}: {exc}")
