"""What a run tells the outside: log records and OpenTelemetry spans.

Logging: records go to the ``trifecta`` logger hierarchy (``trifecta.plan``,
``trifecta.specialist.<name>``, ``trifecta.model``, ``trifecta.merge``,
``trifecta.server``), each with structured fields in ``extra`` (``event``,
``thread_id`` and the step's own). The library never configures handlers: the command
line does (``--log-level``, ``--log-format text|json``), or the application does.
Requests, prompts, replies, instructions and answers appear only with content logging
on (``log_content``), and never for a sensitive run.

Tracing: spans follow the OpenTelemetry GenAI semantic conventions: a root
``invoke_workflow trifecta`` span per run, ``invoke_agent <specialist>`` per subtask,
``chat <model>`` per model call, ``execute_tool`` for SymPy and SQL checks and
``retrieval`` for Chroma and BM25 searches, with ``trifecta.*`` attributes for what the
conventions lack (tier, verdict, escalation reason, cost in USD). Tracing is off unless
`setup_tracing` was called (``[otel] enabled`` in the config calls it), the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variables are
set, or the application installed a global OpenTelemetry tracer provider. OpenTelemetry
is imported only then; when off, each span point costs one context-variable read.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from trifecta.errors import UserError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = [
    "AttributeValue",
    "RunScope",
    "add_cost",
    "agent_span",
    "escalation_event",
    "log_content",
    "log_extra",
    "reset_tracing",
    "run_scope",
    "setup_tracing",
    "span",
    "tool_span",
]

AttributeValue = str | int | float | bool
SpanKind = Literal["internal", "client"]

_log = logging.getLogger("trifecta")


@dataclass(frozen=True)
class RunScope:
    """What every record and span of one run shares: its thread, its tracer (None when
    tracing is off) and whether records may carry content."""

    thread_id: str | None = None
    tracer: Tracer | None = None
    content: bool = False


@dataclass
class _Agent:
    """What one subtask's span adds up while it runs."""

    span: Span
    cost_usd: float = 0.0
    escalations: int = 0


_OFF = RunScope()
_SCOPE: ContextVar[RunScope] = ContextVar("trifecta_run_scope", default=_OFF)
_AGENT: ContextVar[_Agent | None] = ContextVar("trifecta_agent_span", default=None)
_NULL: AbstractContextManager[None] = nullcontext()


class _Tracing:
    """The tracer provider `setup_tracing` installed, and whether this module built it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.provider: TracerProvider | None = None
        self.tracer: Tracer | None = None
        self.owned = False
        self.built_for: tuple[str | None, str | None] | None = None
        self.env_checked = False


_state = _Tracing()


def setup_tracing(
    provider: TracerProvider | None = None,
    *,
    endpoint: str | None = None,
    service_name: str | None = None,
) -> None:
    """Trace every run from now on.

    Args:
        provider: any OpenTelemetry `TracerProvider` (yours, or one with an in-memory
            exporter in a test). None builds one that exports OTLP over HTTP.
        endpoint: the OTLP/HTTP base URL (``http://127.0.0.1:4318``; ``/v1/traces`` is
            appended); default ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
            ``OTEL_EXPORTER_OTLP_ENDPOINT``.
        service_name: ``service.name``; default ``OTEL_SERVICE_NAME``, else ``trifecta``.

    Raises:
        UserError: a provider is to be built and the ``otel`` extra is not installed.
    """
    with _state.lock:
        wanted = (endpoint, service_name)
        if provider is None and _state.owned and _state.built_for == wanted:
            return  # the same export is set up already (a second `from_config`)
        chosen = _otlp_provider(endpoint, service_name) if provider is None else provider
        _shutdown()
        _state.provider, _state.owned = chosen, provider is None
        _state.built_for = wanted if provider is None else None
        _state.tracer = chosen.get_tracer("trifecta")


def reset_tracing() -> None:
    """Stop tracing runs (a provider `setup_tracing` built is flushed and shut down);
    the environment and a global provider are looked at again on the next run."""
    with _state.lock:
        _shutdown()
        _state.env_checked = False


def _shutdown() -> None:
    if _state.owned and _state.provider is not None:
        _state.provider.shutdown()  # type: ignore[attr-defined]  # the SDK's, not the API's
    _state.provider, _state.tracer, _state.owned, _state.built_for = None, None, False, None


def _otlp_provider(endpoint: str | None, service_name: str | None) -> TracerProvider:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise UserError(
            f"OpenTelemetry export needs the otel extra ({exc.name} is missing): "
            "pip install 'trifecta[otel]'"
        ) from None
    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "trifecta"
    provider = SdkTracerProvider(resource=Resource.create({"service.name": name}))
    url = f"{endpoint.rstrip('/')}/v1/traces" if endpoint else None
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return provider


def _env_enabled(env: Mapping[str, str]) -> bool:
    """The standard variables ask for export (and do not switch the SDK off)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def _tracer() -> Tracer | None:
    """The tracer for a new run: `setup_tracing`'s, else the application's global
    provider's, else one built from the ``OTEL_*`` variables (looked at once), else None."""
    if _state.tracer is not None:
        return _state.tracer
    trace = sys.modules.get("opentelemetry.trace")  # never imported here when unused
    if trace is not None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            tracer: Tracer = provider.get_tracer("trifecta")
            return tracer
    if not _state.env_checked:
        _state.env_checked = True
        if _env_enabled(os.environ):
            try:
                setup_tracing()
            except UserError as exc:
                _log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but spans cannot be sent: %s", exc)
    return _state.tracer


@contextmanager
def run_scope(
    thread_id: str, *, content: bool, attributes: Mapping[str, AttributeValue]
) -> Iterator[Span | None]:
    """The scope of one run: its records carry `thread_id`; when tracing is on, its
    root ``invoke_workflow trifecta`` span (yielded, else None) is the parent of every
    span of the run, in every task and worker thread it starts."""
    tracer = _tracer()
    token = _SCOPE.set(RunScope(thread_id, tracer, content))
    try:
        if tracer is None:
            yield None
        else:
            base = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "trifecta"}
            with _span(
                tracer, "invoke_workflow trifecta", {**base, **attributes}, "internal"
            ) as root:
                yield root
    finally:
        _SCOPE.reset(token)


def span(
    name: str,
    attributes: Mapping[str, AttributeValue],
    *,
    kind: SpanKind = "internal",
    paused: tuple[type[BaseException], ...] = (),
) -> AbstractContextManager[Span | None]:
    """A child span of the current one when the run is traced (yields it), else
    nothing (yields None). An exception marks it failed (``error.type``), except one of
    `paused` (an interrupt that pauses the run is not a failure)."""
    tracer = _SCOPE.get().tracer
    if tracer is None:
        return _NULL
    return _span(tracer, name, attributes, kind, paused)


@contextmanager
def _span(
    tracer: Tracer,
    name: str,
    attributes: Mapping[str, AttributeValue],
    kind: SpanKind,
    paused: tuple[type[BaseException], ...] = (),
) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind as Kind
    from opentelemetry.trace import Status, StatusCode

    with tracer.start_as_current_span(
        name,
        kind=Kind.CLIENT if kind == "client" else Kind.INTERNAL,
        attributes=dict(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except paused:
            raise
        except BaseException as exc:
            current.set_attribute("error.type", type(exc).__qualname__)
            current.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            raise


@contextmanager
def agent_span(
    specialist: str, subtask: str, *, paused: tuple[type[BaseException], ...] = ()
) -> Iterator[Span | None]:
    """The ``invoke_agent <specialist>`` span of one subtask (see `span`); on exit it
    carries the cost of the model calls made inside it and the number of escalations."""
    attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": specialist,
        "trifecta.subtask.id": subtask,
    }
    with span(f"invoke_agent {specialist}", attributes, paused=paused) as current:
        if current is None:
            yield None
            return
        tally = _Agent(current)
        token = _AGENT.set(tally)
        try:
            yield current
        finally:
            _AGENT.reset(token)
            current.set_attribute("trifecta.cost_usd", round(tally.cost_usd, 10))
            current.set_attribute("trifecta.escalations", tally.escalations)


def tool_span(
    tool: str,
    subtask: str,
    *,
    tool_type: str = "function",
    attributes: Mapping[str, AttributeValue] | None = None,
) -> AbstractContextManager[Span | None]:
    """An ``execute_tool <tool>`` span (a SymPy or SQL check) for `subtask`."""
    base = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool,
        "gen_ai.tool.type": tool_type,
        "trifecta.subtask.id": subtask,
    }
    return span(f"execute_tool {tool}", {**base, **(attributes or {})})


def add_cost(cost_usd: float) -> None:
    """Count a model call's cost towards the subtask span it ran in (if traced)."""
    tally = _AGENT.get()
    if tally is not None:
        tally.cost_usd += cost_usd


def escalation_event(attributes: Mapping[str, AttributeValue]) -> None:
    """Record an escalation on the traced subtask's span: an ``escalation`` event, and
    its reason as ``trifecta.escalation.reason`` (the last one wins)."""
    tally = _AGENT.get()
    if tally is None:
        return
    tally.escalations += 1
    tally.span.add_event("escalation", dict(attributes))
    reason = attributes.get("trifecta.escalation.reason")
    if reason is not None:
        tally.span.set_attribute("trifecta.escalation.reason", reason)


def log_extra(event: str, **fields: Any) -> dict[str, Any]:
    """The ``extra`` of a record: its `event`, the run's thread id and `fields`."""
    return {"event": event, "thread_id": _SCOPE.get().thread_id, **fields}


def log_content(sensitive: bool) -> bool:
    """Whether this run's records may carry content (requests, prompts, replies,
    instructions, answers): content logging is on and the run is not sensitive."""
    return _SCOPE.get().content and not sensitive
