"""A blocking OTLP/gRPC ``Export`` call whose body we gzip ourselves, not grpc core.

Why: grpc core compresses a message inside ``grpc_call_start_batch``, on the
thread that starts the call, at zlib's default level 6, which grpcio cannot
change. On grpc.aio that thread is the event loop, with the GIL held: each
500 KB logs request stalled the loop ~23 ms and all compression ran on one
core. A call made here runs on a worker thread, which gzips the body at the
configured level (``common.gzip_bytes``) with the GIL released.

How: grpcio's Python API cannot hand core a message that is compressed
already; core can take one. A send-message op flagged
``GRPC_WRITE_INTERNAL_COMPRESS`` passes core's compression filter untouched
and the transport frames it with the compressed flag set, while the call's
``compression=Gzip`` still sends ``grpc-encoding: gzip``: the standard
OTLP/gRPC wire, which any gRPC server decodes. The one place to set that flag
is the blocking unary-unary callable's ``_prepare``, a private grpcio method;
``AVAILABLE`` says whether the installed grpcio has it as expected (the tests
assert it does, so an upgrade that moves it is noticed), and without it the
exporter lets grpc core compress.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import grpc

try:
    from grpc._channel import _UnaryUnaryMultiCallable
    from grpc._cython.cygrpc import SendMessageOperation
except ImportError:  # a grpcio that moved its internals
    _UnaryUnaryMultiCallable = None  # type: ignore[assignment,misc]

from exporters.otlp.common import gzip_bytes

#: GRPC_WRITE_INTERNAL_COMPRESS (0x80000000u in grpc core) as the C int grpcio passes on.
_WRITE_INTERNAL_COMPRESS = -0x80000000
_PREPARE_PARAMETERS = ["self", "request", "timeout", "metadata", "wait_for_ready", "compression"]

Metadata = Sequence[tuple[str, "str | bytes"]]
#: ``start(body, timeout, metadata)``: gzips the body on the calling thread and starts the call; its
#: future (``result()`` is the decoded response or raises the failed call as ``grpc.RpcError``).
GzipCall = Callable[[bytes, "float | None", Metadata], grpc.Future]


def _prepare_hook_present() -> bool:
    prepare = getattr(_UnaryUnaryMultiCallable, "_prepare", None)
    return prepare is not None and list(inspect.signature(prepare).parameters) == _PREPARE_PARAMETERS


#: Whether this grpcio lets us send a message we gzipped (see the module docstring).
AVAILABLE = _prepare_hook_present()

if AVAILABLE:
    class _Precompressed(_UnaryUnaryMultiCallable):  # type: ignore[misc,valid-type]
        """grpcio's blocking unary-unary callable, its request marked as compressed already."""

        __slots__ = ()

        def _prepare(self, request, timeout, metadata, wait_for_ready, compression):  # type: ignore[no-untyped-def]
            state, operations, deadline, error = super()._prepare(
                request, timeout, metadata, wait_for_ready, compression)
            if operations is not None:
                sends = [i for i, op in enumerate(operations) if isinstance(op, SendMessageOperation)]
                if len(sends) != 1:  # else grpc core would gzip the gzipped body again, or send it unflagged
                    raise RuntimeError(f"grpcio prepared {len(sends)} send-message operations, not 1")
                operations = tuple(operations)
                operations = (*operations[:sends[0]], SendMessageOperation(request, _WRITE_INTERNAL_COMPRESS),
                              *operations[sends[0] + 1:])
            return state, operations, deadline, error


def gzip_call(channel: grpc.Channel, method: str, response_deserializer: Callable[[bytes], Any],
              level: int) -> GzipCall:
    """Calls of ``method`` on ``channel`` sending raw bytes gzipped at ``level``; needs ``AVAILABLE``."""
    if not AVAILABLE:
        raise RuntimeError("this grpcio offers no way to send a message gzipped beforehand")
    multicallable = channel.unary_unary(method, response_deserializer=response_deserializer)
    multicallable.__class__ = _Precompressed  # the same object layout: only _prepare differs

    def start(body: bytes, timeout: float | None, metadata: Metadata) -> grpc.Future:
        return multicallable.future(gzip_bytes(body, level), timeout=timeout, metadata=metadata,
                                    compression=grpc.Compression.Gzip)

    return start
