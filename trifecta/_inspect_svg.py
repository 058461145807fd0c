"""The run inspector's two drawings, as inline SVG written here (no script draws them):
the plan as a layered DAG, and the timeline of subtasks and their attempts on one axis.
Every piece of text goes through `html.escape`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from itertools import pairwise

from trifecta._inspect_view import RunView, SubtaskView

__all__ = ["dag_svg", "gantt_svg"]

_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _PAD = 168, 46, 56, 14, 8
_LABEL_W, _AXIS_W, _ROW_H, _BAR_H = 190, 720, 26, 16


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _layers(subtasks: Sequence[SubtaskView]) -> dict[str, int]:
    """Each subtask's column: one past its deepest dependency in the plan."""
    known = {s["id"] for s in subtasks}
    layer: dict[str, int] = {}
    for view in subtasks:  # a plan lists dependencies first; a later one is placed after
        deps = [layer.get(d, 0) for d in view["depends_on"] if d in known]
        layer[view["id"]] = 1 + max(deps) if deps else 0
    for _ in subtasks:  # settle forward references (a valid plan is acyclic)
        for view in subtasks:
            deps = [layer[d] for d in view["depends_on"] if d in known]
            layer[view["id"]] = max([layer[view["id"]], *(d + 1 for d in deps)])
    return layer


def _rows(subtasks: Sequence[SubtaskView], layer: dict[str, int]) -> dict[str, int]:
    """Each subtask's row within its column, ordered by its dependencies' rows."""
    row: dict[str, int] = {}
    for column in range(max(layer.values(), default=-1) + 1):
        members = [s for s in subtasks if layer[s["id"]] == column]

        def centre(view: SubtaskView) -> float:
            rows = [row[d] for d in view["depends_on"] if d in row]
            return sum(rows) / len(rows) if rows else math.inf

        ordered = sorted(enumerate(members), key=lambda p: (centre(p[1]), p[0]))
        for index, (_, view) in enumerate(ordered):
            row[view["id"]] = index
    return row


def dag_svg(view: RunView) -> str:
    """The plan: one box per subtask coloured by its status, an arrow per dependency
    (on the critical path drawn bold)."""
    subtasks = view["subtasks"]
    if not subtasks:
        return '<p class="empty">No plan.</p>'
    layer = _layers(subtasks)
    row = _rows(subtasks, layer)
    place = {
        s["id"]: (_PAD + layer[s["id"]] * (_NODE_W + _GAP_X), _PAD + row[s["id"]] * (_NODE_H + _GAP_Y))
        for s in subtasks
    }  # fmt: skip
    width = _PAD * 2 + (max(layer.values()) + 1) * (_NODE_W + _GAP_X) - _GAP_X
    height = _PAD * 2 + (max(row.values()) + 1) * (_NODE_H + _GAP_Y) - _GAP_Y
    critical = view["critical_path"]
    hops = set(pairwise(critical))
    edges = [
        _edge(place[d], place[s["id"]], (d, s["id"]) in hops)
        for s in subtasks
        for d in s["depends_on"]
        if d in place
    ]
    nodes = [_node(s, *place[s["id"]]) for s in subtasks]
    return (
        f'<svg class="dag" role="img" aria-label="plan" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
        '<path d="M0,0L10,5L0,10z"/></marker></defs>'
        f"{''.join(edges)}{''.join(nodes)}</svg>"
    )


def _edge(start: tuple[int, int], end: tuple[int, int], critical: bool) -> str:
    x1, y1 = start[0] + _NODE_W, start[1] + _NODE_H // 2
    x2, y2 = end[0], end[1] + _NODE_H // 2
    mid = (x1 + x2) // 2
    kind = "edge critical" if critical else "edge"
    return (
        f'<path class="{kind}" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" '
        'marker-end="url(#arrow)"/>'
    )


def _node(view: SubtaskView, x: int, y: int) -> str:
    ident, status = escape(view["id"]), escape(view["status"])
    title = escape(f"{view['id']} ({view['specialist']}): {view['instruction']}")
    critical = " critical" if view["critical"] else ""
    return (
        f'<g class="node status-{status}{critical}" data-subtask="{ident}" tabindex="0">'
        f"<title>{title}</title>"
        f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="6"/>'
        f'<text x="{x + 8}" y="{y + 18}" class="node-id">{escape(_short(view["id"], 18))}'
        f" · {escape(_short(view['specialist'], 12))}</text>"
        f'<text x="{x + 8}" y="{y + 36}" class="node-status">{status}</text></g>'
    )


def _ticks(end: float) -> list[float]:
    """Round tick positions covering [0, end]."""
    if end <= 0:
        return [0.0]
    raw = end / 6
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(end / step) + 1)]


def _bar(
    cls: str, x: float, y: float, width: float, title: str, data: str = "", height: int = _BAR_H
) -> str:
    return (
        f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 2.0):.1f}" '
        f'height="{height}"{data}><title>{escape(title)}</title></rect>'
    )


def gantt_svg(view: RunView) -> str:
    """Subtasks (and the planner's and merger's calls) as bars on one time axis; each
    subtask's attempts as segments coloured by their verdict; the critical path outlined."""
    known = [s for s in view["subtasks"] if s["start_s"] is not None]
    spans = [s for s in view["spans"] if s["start_s"] is not None]
    ends = [s["end_s"] or 0.0 for s in known] + [s["end_s"] or 0.0 for s in spans]
    end = max([view["elapsed_s"], *ends, 1e-3])
    scale = _AXIS_W / end
    rows = (1 if spans else 0) + len(view["subtasks"])
    height = (rows + 1) * _ROW_H + 10
    parts: list[str] = []
    for tick in _ticks(end):
        x = _LABEL_W + tick * scale
        parts.append(
            f'<line class="tick" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - _ROW_H}"/>'
            f'<text class="tick-label" x="{x:.1f}" y="{height - 8}">{tick:g}s</text>'
        )
    y = 4
    if spans:
        parts.append(f'<text class="row-label" x="4" y="{y + 13}">plan / merge</text>')
        for span in spans:
            x = _LABEL_W + (span["start_s"] or 0.0) * scale
            width = ((span["end_s"] or 0.0) - (span["start_s"] or 0.0)) * scale
            title = (
                f"{span['node']}: {span['model']} {span['tokens']} tokens ${span['cost_usd']:.6f}"
            )
            parts.append(_bar("span", x, y, width, title))
        y += _ROW_H
    for subtask in view["subtasks"]:
        parts.append(_gantt_row(subtask, y, scale))
        y += _ROW_H
    return (
        f'<svg class="gantt" role="img" aria-label="timeline" width="{_LABEL_W + _AXIS_W + 20}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _gantt_row(subtask: SubtaskView, y: int, scale: float) -> str:
    ident = escape(subtask["id"])
    label = escape(_short(f"{subtask['id']} · {subtask['specialist']}", 26))
    out = [f'<text class="row-label" x="4" y="{y + 13}">{label}</text>']
    start, end = subtask["start_s"], subtask["end_s"]
    if start is None:
        return out[0]
    stop = end if end is not None else start
    critical = " critical" if subtask["critical"] else ""
    data = f' data-subtask="{ident}" data-start="{start:.6f}" data-end="{stop:.6f}"'
    out.append(
        _bar(
            f"bar status-{escape(subtask['status'])}{critical}",
            _LABEL_W + start * scale,
            y,
            (stop - start) * scale,
            f"{subtask['id']}: {subtask['status']}, {stop - start:.3f}s",
            data,
        )
    )
    for attempt in subtask["attempts"]:
        if attempt["start_s"] is None:
            continue
        a_end = attempt["end_s"] if attempt["end_s"] is not None else attempt["start_s"]
        out.append(
            _bar(
                f"attempt verdict-{escape(attempt['verdict'] or 'running').replace(' ', '-')}",
                _LABEL_W + attempt["start_s"] * scale,
                y + 3,
                (a_end - attempt["start_s"]) * scale,
                f"attempt {attempt['number']}: tier {attempt['tier']} ({attempt['solver']}) "
                f"{attempt['verdict']}, {a_end - attempt['start_s']:.3f}s",
                f' data-subtask="{ident}"',
                _BAR_H - 6,
            )
        )
    return "".join(out)
