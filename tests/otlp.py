"""A real OTLP/HTTP trace receiver on loopback: it parses each POST /v1/traces body as
OpenTelemetry's `ExportTraceServiceRequest` (protobuf, gzip or not) and keeps the
spans, as a collector would, for tests to query."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["Received", "Receiver", "otlp_receiver"]


@dataclass(frozen=True)
class Received:
    """One span as it arrived."""

    service: str
    name: str
    span_id: str
    parent_id: str
    trace_id: str
    attributes: dict[str, Any]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


class Receiver(ThreadingHTTPServer):
    """The server; `spans` fills as exports arrive."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[Received] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def keep(self, path: str, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        found = [
            Received(
                service=str(_attributes(rs.resource.attributes).get("service.name")),
                name=span.name,
                span_id=span.span_id.hex(),
                parent_id=span.parent_span_id.hex(),
                trace_id=span.trace_id.hex(),
                attributes=_attributes(span.attributes),
            )
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]
        with self.lock:
            self.paths.append(path)
            self.spans.extend(found)

    def wait_for(self, name: str, seconds: float = 30.0) -> list[Received]:
        """The spans received once one named `name` has arrived."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if any(s.name == name for s in self.spans):
                    return list(self.spans)
            time.sleep(0.05)
        raise AssertionError(f"no span {name!r} arrived; got {[s.name for s in self.spans]}")


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.keep(self.path, body)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """A receiver serving on a free loopback port for the block."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
