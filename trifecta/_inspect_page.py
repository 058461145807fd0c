"""The run inspector's HTML: one self-contained page per run (styles, the drawings and a
small script inline; nothing is fetched), and the list of recent runs.

All user and model text is escaped with `html.escape`; a Content-Security-Policy that
allows only this page's own style and script (by hash) stops any markup that got
through from running."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from typing_extensions import TypedDict

from trifecta._inspect_attempts import AttemptView
from trifecta._inspect_svg import dag_svg, gantt_svg
from trifecta._inspect_view import BudgetLine, RunView, SubtaskView

__all__ = ["RunSummary", "csp", "render_body", "render_page", "runs_page"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:20px 0 8px}h4{margin:12px 0 4px}
section,header{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:12px 0}
pre,.text{white-space:pre-wrap;word-break:break-word;margin:4px 0}
pre{background:#f6f8fa;padding:6px 8px;border-radius:6px;font-size:13px}
.chips span{display:inline-block;margin:2px 6px 2px 0;padding:2px 8px;border-radius:12px;background:#eaeef2}
.badge{padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}details.subtask{border-top:1px solid #d0d7de;padding:6px 0}
summary{cursor:pointer}blockquote{margin:4px 0;padding:2px 10px;border-left:3px solid #0969da}
.scroll{overflow-x:auto}.muted{color:#656d76}.warn{color:#9a6700}.bad{color:#cf222e}
.status-verified{--c:#1a7f37}.status-checked{--c:#0969da}.status-rejected{--c:#cf222e}
.status-unverifiable{--c:#9a6700}.status-running{--c:#8250df}.status-waiting{--c:#8c959f}
.badge{background:var(--c,#57606a)}.phase-running{--c:#8250df}.phase-paused,.phase-pending{--c:#9a6700}
.node rect{fill:#fff;stroke:var(--c,#57606a);stroke-width:2}.node{cursor:pointer}
.node .node-status{fill:var(--c,#57606a);font-weight:600}.node text{font-size:12px}
.node.critical rect{stroke-width:3.5}.node:hover rect,.node:focus rect{stroke-width:5}
.edge{fill:none;stroke:#8c959f;stroke-width:1.5}.edge.critical{stroke:#1f2328;stroke-width:3}
marker path{fill:#57606a}
.bar{fill:var(--c,#57606a);fill-opacity:.25;stroke:var(--c,#57606a);cursor:pointer}
.bar.critical{stroke:#1f2328;stroke-width:1.5;stroke-dasharray:4 2}.span{fill:#57606a;fill-opacity:.5}
.attempt{fill:#8c959f;cursor:pointer}.verdict-verified{fill:#1a7f37}.verdict-checked{fill:#0969da}
.verdict-rejected{fill:#cf222e}.verdict-unverifiable{fill:#9a6700}.verdict-error{fill:#bc4c00}
.tick{stroke:#eaeef2}.tick-label,.row-label{font-size:11px;fill:#57606a}
"""

_JS = """
(function () {
  "use strict";
  var main = document.getElementById("run");
  function reveal(id) {
    var found = document.getElementById("subtask-" + id);
    if (!found) { return; }
    found.open = true;
    found.scrollIntoView({block: "nearest"});
  }
  document.addEventListener("click", function (event) {
    var hit = event.target.closest ? event.target.closest("[data-subtask]") : null;
    if (hit) { reveal(hit.getAttribute("data-subtask")); }
  });
  document.addEventListener("keydown", function (event) {
    var hit = event.target.closest ? event.target.closest("[data-subtask]") : null;
    if (hit && event.key === "Enter") { reveal(hit.getAttribute("data-subtask")); }
  });
  if (!main || main.getAttribute("data-live") !== "1" || !window.EventSource) { return; }
  var source = new EventSource(location.href.split("#")[0]);
  source.addEventListener("run", function (event) {
    var update = JSON.parse(event.data);
    var opened = Array.prototype.map.call(
      document.querySelectorAll("details[open]"), function (d) { return d.id; });
    main.innerHTML = update.html;
    main.setAttribute("data-phase", update.phase);
    opened.forEach(function (id) {
      var again = document.getElementById(id);
      if (again) { again.open = true; }
    });
  });
  source.addEventListener("end", function () {
    source.close();
    main.setAttribute("data-live", "0");
  });
})();
"""


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def csp(*, live: bool) -> str:
    """The page's Content-Security-Policy: its own style and script only; a served page
    may open its event stream (same origin); a file reaches nothing."""
    connect = "'self'" if live else "'none'"
    return (
        f"default-src 'none'; style-src {_digest(_CSS)}; script-src {_digest(_JS)}; "
        f"connect-src {connect}; img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _money(value: float) -> str:
    return f"${value:.6f}"


def _when(epoch: float | None) -> str:
    if not epoch:
        return "unknown"
    return datetime.fromtimestamp(epoch).astimezone().isoformat(sep=" ", timespec="seconds")


def _chips(items: Iterable[str]) -> str:
    return '<div class="chips">' + "".join(f"<span>{item}</span>" for item in items) + "</div>"


def _budget_cell(line: BudgetLine) -> str:
    def show(value: float) -> str:
        if line["what"] == "cost_usd":
            return _money(value)
        return f"{value:.2f}s" if line["what"] == "wall_s" else f"{value:g}"

    limit = "no limit" if line["limit"] is None else show(line["limit"])
    share = "" if not line["limit"] else f" ({100 * line['used'] / line['limit']:.0f}%)"
    return f"<td>{show(line['used'])} of {limit}{share}</td>"


def _budget(lines: Sequence[BudgetLine]) -> str:
    names = {"tokens": "tokens", "cost_usd": "cost", "wall_s": "wall time"}
    head = "".join(f"<th>{names[line['what']]}</th>" for line in lines if line["scope"] == "run")
    rows = "".join(
        f"<tr><th>{scope}</th>{''.join(_budget_cell(x) for x in lines if x['scope'] == scope)}</tr>"
        for scope in ("run", "thread")
    )
    return f'<table class="budget"><tr><th>budget</th>{head}</tr>{rows}</table>'


def _privacy(view: RunView) -> str:
    if not view["sensitive"]:
        return (
            '<p class="privacy">Privacy: not sensitive (no e-mail address, card number, IBAN '
            "or configured pattern found, and not started as sensitive).</p>"
        )
    why = "; ".join(_e(s) for s in view["sensitive"])
    return (
        f'<p class="privacy warn">Privacy: sensitive ({why}): no cloud model was sent this run.</p>'
    )


def _audit(view: RunView) -> str:
    audit = view["audit"]
    if audit is None:
        return '<p class="audit muted">Audit log: none configured.</p>'
    state = "intact" if audit["ok"] else f"{len(audit['problems'])} problem(s)"
    cls = "audit" if audit["ok"] else "audit bad"
    lines = "".join(f"<li>{_e(line)}</li>" for line in [*audit["problems"][:20], *audit["summary"]])
    return f'<div class="{cls}"><p>Audit log {_e(audit["path"])}: {state}</p><ul>{lines}</ul></div>'


def _header(view: RunView) -> str:
    r = view["report"]
    counts = [
        f'<b class="badge status-{_e(k)}">{_e(v)} {_e(k)}</b>' for k, v in view["counts"].items()
    ]
    facts = [
        *counts,
        f"tokens {r['tokens_in']} in / {r['tokens_out']} out",
        f"cost {_money(r['cost_usd'])}",
        f"wall {view['elapsed_s']:.2f}s",
        f"{r['model_calls']} model call(s), {r['checks']} check(s)",
        f"started {_e(_when(view['started_at']))}",
    ]
    notes = [
        f'<p class="bad">Error: {_e(view["error"])}</p>' if view["error"] else "",
        f'<p class="warn">Stopped: {_e(view["stopped"])}</p>' if view["stopped"] else "",
        *(f'<p class="warn">Waiting for approval: {_e(q)}</p>' for q in view["interrupts"]),
    ]
    return (
        f'<header><h1>Run {_e(view["thread_id"])} <span class="badge phase-{_e(view["phase"])}">'
        f"{_e(view['phase'])}"
        f'</span> <span class="muted">turn {view["turn"]}</span></h1>'
        f'<h4>Request</h4><div class="text request">{_e(view["request"])}</div>'
        f'<h4>Answer</h4><pre class="answer">{_e(view["answer"]) or "(none yet)"}</pre>'
        f"{''.join(notes)}{_chips(facts)}{_budget(view['budget'])}{_privacy(view)}{_audit(view)}"
        "</header>"
    )


def _attempt_row(a: AttemptView) -> str:
    latency = (
        "" if a["start_s"] is None or a["end_s"] is None else f"{a['end_s'] - a['start_s']:.3f}s"
    )
    notes = "".join(f"<li>{_e(e)}</li>" for e in a["evidence"]) + "".join(
        f'<li class="bad">{_e(e["rule"])}: {_e(e["message"])}</li>' for e in a["errors"]
    )
    models = ", ".join(a["models"]) or "no model call"
    return (
        f'<tr class="attempt-row"><td>{a["number"]}</td><td>{_e(a["tier"])}</td>'
        f'<td>{_e(a["solver"])}<br><span class="muted">{_e(models)}</span></td>'
        f"<td><b>{_e(a['why'])}</b>: {_e(a['reason'])}</td>"
        f"<td>{a['tokens_in']} / {a['tokens_out']}</td><td>{_money(a['cost_usd'])}</td>"
        f'<td>{latency}</td><td class="verdict">{_e(a["verdict"])}<br>'
        f'<span class="muted">{_e(a["method"])}</span></td><td><ul>{notes}</ul></td></tr>'
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    top = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><tr>{top}</tr>{body}</table></div>'


def _kept(s: SubtaskView) -> str:
    """What the specialist kept: citations, the query and its rows, math claims."""
    out = []
    if s["citations"]:
        quotes = "".join(
            f'<blockquote>{_e(c["quote"])}<br><span class="muted">{_e(c["chunk"])}</span>'
            "</blockquote>"
            for c in s["citations"]
        )
        sources = f'<p class="muted">sources: {_e(", ".join(s["sources"]))}</p>'
        out.append(f'<div class="citations"><h4>Citations</h4>{quotes}{sources}</div>')
    if s["sql"] is not None:
        q = s["sql"]
        shown = f"first {len(q['rows'])} of {q['row_count']} row(s)"
        out.append(
            f'<div class="sql"><h4>SQL as executed</h4><pre>{_e(q["sql"])}</pre>'
            f'<p class="muted">{shown}</p>{_table(q["columns"], q["rows"])}</div>'
        )
    if s["claims"]:
        keys = ("id", "kind", "expr", "answer", "status", "method", "errors")
        rows = [[c[k] for k in keys] for c in s["claims"]]
        out.append(f'<div class="claims"><h4>Math claims</h4>{_table(keys, rows)}</div>')
    return "".join(out)


def _subtask(s: SubtaskView) -> str:
    ident, status = _e(s["id"]), _e(s["status"])
    took = "" if s["start_s"] is None or s["end_s"] is None else f"{s['end_s'] - s['start_s']:.3f}s"
    tier = "" if s["tier"] is None else f"tier {s['tier']} ({s['solver']})"
    facts = " · ".join(f for f in (s["specialist"], tier, took, _money(s["cost_usd"])) if f)
    attempts = "".join(_attempt_row(a) for a in s["attempts"])
    head = ("#", "tier", "solver / model", "route decision", "tokens in / out", "cost",
            "latency", "verdict", "evidence and errors")  # fmt: skip
    listed = "".join(f"<li>{_e(e)}</li>" for e in s["evidence"]) + "".join(
        f'<li class="bad">{_e(e["rule"])}: {_e(e["message"])}</li>' for e in s["errors"]
    )
    return (
        f'<details class="subtask status-{status}" id="subtask-{ident}">'
        f'<summary><b class="badge status-{status}">{status}</b> <b>{ident}</b> · '
        f"{_e(facts)}"
        f'<div class="text">{_e(s["instruction"])} <b>→</b> {_e(s["answer"])}</div></summary>'
        f"<p>depends on: {_e(', '.join(s['depends_on']) or 'nothing')} · method: "
        f"{_e(s['method'])}</p><ul>{listed}</ul>"
        f'<h4>Attempts ({len(s["attempts"])})</h4><div class="scroll"><table class="attempts">'
        f"<tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{attempts}</table></div>"
        f"{_kept(s)}</details>"
    )


def render_body(view: RunView) -> str:
    """The page's content (also what a live page swaps in on each update)."""
    history = "".join(
        f"<li>{_e(t['request'])} <b>→</b> {_e(t['answer'])}</li>" for t in view["history"]
    )
    earlier = f"<section><h2>Earlier turns</h2><ol>{history}</ol></section>" if history else ""
    critical = " → ".join(view["critical_path"]) or "none"
    return (
        f"{_header(view)}"
        f'<section id="dag"><h2>Plan</h2><div class="scroll">{dag_svg(view)}</div></section>'
        f'<section id="timeline"><h2>Timeline</h2><p class="muted">critical path (what the '
        f"wall time waited for, outlined): {_e(critical)}</p>"
        f'<div class="scroll">{gantt_svg(view)}</div></section>'
        f'<section id="subtasks"><h2>Subtasks</h2>{"".join(_subtask(s) for s in view["subtasks"])}'
        f"</section>{earlier}"
    )


def _document(title: str, body: str, *, live: bool) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(live=live)}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}"
        f"<script>{_JS}</script></body></html>"
    )


def render_page(view: RunView, *, live: bool = False) -> str:
    """One run as a self-contained HTML page; `live` (served, run unfinished) makes it
    follow the run's event stream."""
    main = (
        f'<main id="run" data-phase="{_e(view["phase"])}" data-live="{int(live)}">'
        f"{render_body(view)}</main>"
    )
    return _document(f"trifecta run {view['thread_id']}", main, live=live)


class RunSummary(TypedDict):
    """One row of the recent runs list."""

    conversation: str
    href: str
    started_at: float | None
    request: str
    counts: dict[str, int]
    cost_usd: float
    wall_s: float
    phase: str


def runs_page(rows: Sequence[RunSummary]) -> str:
    """The recent runs, newest first, each linking to its page."""
    body = "".join(
        f'<tr><td>{_e(_when(r["started_at"]))}</td><td><a href="{_e(r["href"])}">'
        f"{_e(r['conversation'])}</a></td><td>{_e(r['request'][:200])}</td><td>"
        + ", ".join(f'<b class="badge status-{_e(k)}">{v} {_e(k)}</b>' for k, v in r["counts"].items())
        + f"</td><td>{_money(r['cost_usd'])}</td><td>{r['wall_s']:.2f}s</td>"
        f"<td>{_e(r['phase'])}</td></tr>"
        for r in rows
    )  # fmt: skip
    head = "".join(
        f"<th>{h}</th>" for h in ("started", "run", "request", "status", "cost", "wall", "")
    )
    table = f'<table class="runs"><tr>{head}</tr>{body}</table>' if rows else "<p>No runs yet.</p>"
    return _document(
        "trifecta runs", f"<main><h1>Recent runs</h1><section>{table}</section></main>", live=False
    )
