"""The audit trail of one run: start, plan, each model call, route and verdict, end."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trifecta.audit import AuditKeyError, AuditLog, load_key, sha256_text
from trifecta.config import Config, ConfigError
from trifecta.graphs.state import Event
from trifecta.ledger import LedgerEntry
from trifecta.models import Message, ModelReply
from trifecta.result import RunResult

__all__ = ["RunAudit", "audit_log"]


class RunAudit:
    """Writes one run's records: start, plan, each model call, each verdict, end."""

    def __init__(self, log: AuditLog, run: str, on_event: Callable[[Event], None] | None) -> None:
        self.log, self.run, self.on_event = log, run, on_event

    def start(self, request: str | None, resume: bool) -> None:
        content = {"request": request} if self.log.store_content and request else {}
        digest = sha256_text(request) if request else None
        self.log.write("run_start", self.run, request_sha256=digest, resumed=resume, **content)

    def event(self, event: Event) -> None:
        if event.kind == "planned":
            self.log.write("plan", self.run, subtasks=event.data)
        elif event.kind == "subtask":
            r = event.data
            self.log.write(
                "verdict", self.run, subtask=r["id"], specialist=r["specialist"], status=r["status"],
                method=r["method"], tier=r["tier"], solver=r["solver"], attempts=r["attempts"],
                evidence=r["evidence"], errors=r["errors"],
            )  # fmt: skip
        if self.on_event is not None:
            self.on_event(event)

    def call(
        self, entry: LedgerEntry, messages: Sequence[Message], reply: ModelReply | None
    ) -> None:
        prompt = "\n".join(f"{m.role}: {m.content}" for m in messages)
        content = (
            {"prompt": prompt, "response": reply.text if reply else None}
            if self.log.store_content
            else {}
        )
        self.log.write(
            "call", self.run, node=entry["node"], subtask=entry["subtask"], model=entry["model"],
            tokens_in=entry["tokens_in"], tokens_out=entry["tokens_out"], cost_usd=entry["cost_usd"],
            latency_s=round(entry["latency_s"], 6), outcome=entry["detail"], prompt_sha256=sha256_text(prompt),
            served_model=reply.model if reply else None,
            response_sha256=sha256_text(reply.text) if reply else None, **content,
        )  # fmt: skip

    def route(self, entry: LedgerEntry) -> None:
        route = entry.get("route")
        fields = dict(route) if route else {"reason": entry["detail"]}
        self.log.write(
            "route", self.run, subtask=entry["subtask"], specialist=entry["specialist"], **fields
        )

    def end(self, result: RunResult) -> None:
        self.log.write(
            "run_end", self.run, answer_sha256=sha256_text(result.answer), report=dict(result.report),
            error=result.error, stopped=result.stopped,
        )  # fmt: skip


def audit_log(config: Config) -> AuditLog | None:
    """The configured audit log: keyed when the config names a key; its head is also kept
    in the checkpoint database unless checkpoints live in memory."""
    if not config.audit_log:
        return None
    try:
        key = load_key(config.audit_key_file, config.audit_key_env)
    except AuditKeyError as exc:
        raise ConfigError(str(exc)) from exc
    head_db = None if config.checkpoint_url == "memory" else config.checkpoint_url
    return AuditLog(config.audit_log, store_content=config.audit_content, key=key, head_db=head_db)
