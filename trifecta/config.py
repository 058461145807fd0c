"""Configuration from arguments, environment and a TOML file (in that precedence)."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from trifecta.approval import Gate
from trifecta.checkpoint import checkpoint_kind
from trifecta.errors import UserError
from trifecta.ledger import Budget
from trifecta.models import Price, Privacy, StructuredMode

__all__ = [
    "Config",
    "ConfigError",
    "Limits",
    "McpSpec",
    "ModelSpec",
    "OtelSettings",
    "ServerSettings",
    "default_data_dir",
    "load_config",
]


class ConfigError(UserError):
    """A configuration file or value is invalid."""


_Positive = Annotated[int, Field(ge=1)]
_Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class Limits:
    """Bounds on one run's shape."""

    max_subtasks: _Positive = 64
    max_replans: Annotated[int, Field(ge=0)] = 1
    max_plan_attempts: _Positive = 3
    max_request_chars: _Positive = 100_000


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class ServerSettings:
    """Limits and keys for `trifecta serve`.

    Attributes:
        api_keys: accepted bearer keys (none: no authentication); a conversation
            belongs to the key that started it.
        max_body_bytes: the request body limit, enforced while it is read (413).
        max_messages: messages per request.
        deadline_s: the hard per-request deadline (504).
        model_name: the model name the server answers to.
        max_header_bytes: the whole request head (request line and headers).
        max_headers: headers per request (431 past it).
        head_timeout_s: a connection must send a complete request head within this.
        body_timeout_s: a request body must arrive within this (408).
        keep_alive_s: an idle keep-alive connection is closed after this.
        max_connections: concurrent connections and requests (503 past it).
        max_conversation_chars: the length of ``X-Conversation-Id`` / ``user``.
        checkpoint_timeout_s: wait this long for the checkpoint store before a 503.
        worker_threads: threads for work kept off the event loop.
    """

    api_keys: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    max_messages: int = 100
    deadline_s: float = 120.0
    model_name: str = "trifecta"
    max_header_bytes: int = 16_384
    max_headers: int = 100
    head_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: int = 5
    max_connections: int = 1000
    max_conversation_chars: int = 256
    checkpoint_timeout_s: float = 5.0
    worker_threads: int = 32


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class OtelSettings:
    """OpenTelemetry export (``[otel]``; the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``
    variable turns it on too, see `trifecta.telemetry`).

    Attributes:
        enabled: export every run's spans over OTLP/HTTP (needs the ``otel`` extra).
        endpoint: the OTLP/HTTP base URL (default ``OTEL_EXPORTER_OTLP_ENDPOINT``, else
            ``http://localhost:4318``); ``/v1/traces`` is appended.
        service_name: ``service.name`` (default ``OTEL_SERVICE_NAME``, else ``trifecta``).
    """

    enabled: bool = False
    endpoint: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = None
    service_name: Annotated[str, Field(min_length=1)] | None = None


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class ModelSpec:
    """One model of the registry (``[models.<name>]`` in the config file).

    Attributes:
        model: the name sent to the server (default: the registry key).
        base_url: the OpenAI-compatible endpoint (None: OpenAI's).
        api_key_env: the environment variable holding its key.
        price: USD per million input and output tokens.
        privacy: ``local`` or ``cloud``.
        context_window: tokens, for reference and routing.
        latency_s: expected latency, for reference and routing.
        structured_output: ``json_schema``, ``json_object`` or ``tool``.
        max_output_tokens: a cap on each reply.
        timeout_s: seconds per call attempt.
    """

    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    price: Price = field(default_factory=Price)
    privacy: Privacy = "cloud"
    context_window: _Positive | None = None
    latency_s: _Seconds | None = None
    structured_output: StructuredMode = "json_schema"
    max_output_tokens: _Positive | None = None
    timeout_s: _Seconds = 60.0


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class McpSpec:
    """An MCP server whose tools become specialists (``[mcp.<name>]`` in the config file).

    Attributes:
        command: the argv of a server spoken to over stdio (``["mcp-server-time"]``).
        url: or the URL of a streamable HTTP server (``http://127.0.0.1:9000/mcp``).
        env: extra environment variables for `command`.
        api_key_env: the environment variable holding a bearer key sent to `url`.
        tools: the tools to use (default: every tool the server lists).
        verify: ``module:function``, the verifier of every answer (a `Verifier`);
            none: each answer is ``unverifiable`` and the merger flags it.
        match: a regular expression; a clause it matches goes to these tools when the
            offline planner routes, and its named groups are the tool's arguments.
        answer: a dotted path into the tool's structured result to use as the answer
            (``target.datetime``; default: the result's text).
        description: what the planner reads (default: the tool's own description).
        privacy: ``cloud`` (a sensitive run skips it) or ``local``.
        timeout_s: seconds to connect and call the tool.
    """

    command: tuple[str, ...] = ()
    url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    api_key_env: str | None = None
    tools: tuple[str, ...] = ()
    verify: str | None = None
    match: str | None = None
    answer: str | None = None
    description: str | None = None
    privacy: Privacy = "cloud"
    timeout_s: _Seconds = 30.0


def default_data_dir() -> Path:
    """``$TRIFECTA_DATA_DIR``, else ``$XDG_DATA_HOME/trifecta`` (~/.local/share/trifecta)."""
    if env := os.environ.get("TRIFECTA_DATA_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "trifecta"


@with_config(ConfigDict(extra="forbid", revalidate_instances="always"))
@dataclass(frozen=True)
class Config:
    """Everything `Trifecta.from_config` needs. With `model` unset, tier 0 runs offline.

    Attributes:
        model: model name at an OpenAI-compatible endpoint (planner, merger, specialists).
        base_url: the endpoint, e.g. ``http://127.0.0.1:8080/v1``.
        api_key: its key (``OPENAI_API_KEY``).
        timeout_s: seconds per model call attempt.
        max_retries: retries with backoff per call.
        structured_output: how JSON is requested: ``json_schema`` (OpenAI, vLLM, Ollama),
            ``json_object`` (llama.cpp's server) or ``tool``.
        max_output_tokens: a cap on each model reply.
        prices: model name → USD per million tokens.
        data_dir: where checkpoints and demo data live.
        checkpoint: ``sqlite:///file``, ``postgresql://…`` or ``memory``; default a
            SQLite file in `data_dir`.
        db: database URL for the SQL specialist.
        docs: folder of documents for the RAG specialist.
        budget: per-run token, cost and time limits.
        thread_budget: the same limits for everything spent on one thread (a run
            and its resumes).
        limits: plan and request bounds.
        server: API keys and limits of `trifecta serve` (``TRIFECTA_API_KEYS``, comma-separated).
        audit_log: append every run's hash-chained audit records to this JSON-lines file.
        audit_content: also store prompts and responses in it (they may be sensitive).
        log_content: log records also carry requests, prompts, replies and answers
            (never for a sensitive run).
        otel: OpenTelemetry span export (``[otel]``).
        audit_key_file: a file holding the key that authenticates audit records
            (HMAC-SHA256; ``trifecta audit keygen FILE`` makes one).
        audit_key_env: or the name of an environment variable holding that key.
        privacy: ``local`` if the configured model runs where sensitive data may go.
        sensitive_patterns: regular expressions that make a request sensitive (besides
            e-mail addresses, card numbers and IBANs).
        models: the model registry (``[models.<name>]``); when set, it replaces `model`.
        approve: approval gates that pause a run to ask a person (``cloud``, ``sql``,
            ``budget``; see `trifecta.approval`).
        routing: chains of registry names, cheapest first, per role: ``planner``,
            ``merger``, a specialist's name, or ``specialists`` for the rest.
        databases: alias → database URL, what `trifecta mcp`'s ``check_sql`` may query
            (`db` is there too, as ``default``).
        stores: alias → document store directory (made by `trifecta ingest`), what
            `trifecta mcp`'s ``search`` may read.
        mcp: MCP servers whose tools become specialists (``[mcp.<name>]``).
    """

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: _Seconds = 60.0
    max_retries: Annotated[int, Field(ge=0)] = 2
    structured_output: StructuredMode = "json_schema"
    max_output_tokens: _Positive | None = None
    prices: Mapping[str, Price] = field(default_factory=dict)
    data_dir: Path = field(default_factory=default_data_dir)
    checkpoint: str | None = None
    db: str | None = None
    docs: str | None = None
    budget: Budget = field(default_factory=Budget)
    thread_budget: Budget = field(default_factory=Budget)
    limits: Limits = field(default_factory=Limits)
    server: ServerSettings = field(default_factory=ServerSettings)
    audit_log: str | None = None
    audit_content: bool = False
    log_content: bool = False
    otel: OtelSettings = field(default_factory=OtelSettings)
    audit_key_file: str | None = None
    audit_key_env: str | None = None
    privacy: Privacy = "cloud"
    sensitive_patterns: tuple[str, ...] = ()
    approve: tuple[Gate, ...] = ()
    models: Mapping[str, ModelSpec] = field(default_factory=dict)
    routing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    databases: Mapping[str, str] = field(default_factory=dict)
    stores: Mapping[str, str] = field(default_factory=dict)
    mcp: Mapping[str, McpSpec] = field(default_factory=dict)

    @property
    def checkpoint_url(self) -> str:
        """The checkpointer URL in effect."""
        return self.checkpoint or f"sqlite:///{self.data_dir / 'checkpoints.sqlite'}"


_ENV = {"model": "TRIFECTA_MODEL", "base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Build a `Config`: defaults < file < environment < `overrides` (None ignored).

    The file is `path`, else ``$TRIFECTA_CONFIG``, else ``./trifecta.toml`` if present.

    Raises:
        ConfigError: unreadable file, unknown key or wrong type.
    """
    env = os.environ if env is None else env
    values = _from_file(_config_path(path, env))
    values.update({k: env[v] for k, v in _ENV.items() if env.get(v)})
    if env.get("TRIFECTA_API_KEYS"):
        keys = tuple(k.strip() for k in env["TRIFECTA_API_KEYS"].split(",") if k.strip())
        if not keys:  # an empty list would switch authentication off
            raise ConfigError("TRIFECTA_API_KEYS holds no key (comma-separated keys expected)")
        server = values.get("server", {})
        if isinstance(server, Mapping):  # anything else is reported by validation
            values["server"] = {**server, "api_keys": keys}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build(values)


def _config_path(path: str | Path | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if env.get("TRIFECTA_CONFIG"):
        return Path(env["TRIFECTA_CONFIG"])
    local = Path("trifecta.toml")
    return local if local.is_file() else None


def _from_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def _check_routing(routing: Mapping[str, tuple[str, ...]], models: Mapping[str, Any]) -> None:
    unknown = sorted({name for chain in routing.values() for name in chain if name not in models})
    if unknown:
        known = ", ".join(sorted(models)) or "none"
        raise ConfigError(f"routing names unknown models: {', '.join(unknown)} (registry: {known})")


_CONFIG = TypeAdapter(Config)


def _price(value: Any) -> Any:
    """``{input = 0.5, output = 1.5}`` (the file's form) as a `Price`."""
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - {"input", "output"})
    if unknown:
        raise ConfigError(
            f"invalid configuration: a price is {{input = …, output = …}} (USD per million "
            f"tokens); unknown: {', '.join(map(str, unknown))}"
        )
    return {"input_per_mtok": value.get("input", 0.0), "output_per_mtok": value.get("output", 0.0)}


def _file_forms(values: dict[str, Any]) -> dict[str, Any]:
    """The TOML spellings the dataclasses do not share: prices as ``input``/``output``,
    a routing chain of one model as a bare name."""
    out = dict(values)
    if isinstance(out.get("prices"), Mapping):
        out["prices"] = {name: _price(p) for name, p in out["prices"].items()}
    if isinstance(out.get("models"), Mapping):
        out["models"] = {
            name: {**spec, "price": _price(spec["price"])}
            if isinstance(spec, Mapping) and "price" in spec
            else spec
            for name, spec in out["models"].items()
        }
    if isinstance(out.get("routing"), Mapping):
        out["routing"] = {
            role: [chain] if isinstance(chain, str) else chain
            for role, chain in out["routing"].items()
        }
    return out


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "config"
    if error["type"] == "unexpected_keyword_argument":
        return f"{where}: unknown key"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _check_mcp(config: Config) -> None:
    """Aliases fit a resource URI; each ``[mcp.<name>]`` has one way to reach it and a
    `match` that compiles."""
    for table, names in (("databases", config.databases), ("stores", config.stores)):
        for name in names:
            if not _ALIAS.fullmatch(name):
                raise ConfigError(
                    f"{table}.{name}: an alias is 1-64 letters, digits, '_', '.', '-'"
                )
    for name, spec in config.mcp.items():
        if not _ALIAS.fullmatch(name):
            raise ConfigError(f"mcp.{name}: a name is 1-64 letters, digits, '_', '.', '-'")
        if bool(spec.command) == bool(spec.url):
            raise ConfigError(f"mcp.{name}: give either command (stdio) or url (HTTP)")
        if spec.url and not spec.url.startswith(("http://", "https://")):
            raise ConfigError(f"mcp.{name}.url: an http:// or https:// URL (got {spec.url!r})")
        if spec.verify is not None and ":" not in spec.verify:
            raise ConfigError(f"mcp.{name}.verify: module:function (got {spec.verify!r})")
        if spec.match is not None:
            try:
                re.compile(spec.match)
            except re.error as exc:
                raise ConfigError(f"mcp.{name}.match: not a regular expression: {exc}") from None


def _build(values: dict[str, Any]) -> Config:
    try:
        config = _CONFIG.validate_python(_file_forms(values))
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors()[:5])
        raise ConfigError(f"invalid configuration: {problems}") from None
    _check_routing(config.routing, config.models)
    _check_mcp(config)
    for pattern in config.sensitive_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"sensitive_patterns: {pattern!r} is not a regular expression: {exc}"
            ) from None
    if config.checkpoint is not None:
        try:
            checkpoint_kind(config.checkpoint)
        except UserError as exc:
            raise ConfigError(str(exc)) from None
    return replace(config, data_dir=config.data_dir.expanduser())
