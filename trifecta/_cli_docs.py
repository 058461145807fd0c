"""`trifecta ingest` and `trifecta search`: the document store from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trifecta.errors import UserError

__all__ = ["hit_record", "open_store", "run_ingest", "run_search"]

_err = Console(stderr=True)


def open_store(
    store: str,
    collection: str,
    *,
    chroma_url: str | None = None,
    embed_model: str | None = None,
    embed_url: str | None = None,
) -> Any:
    """The `DocumentStore` that `ingest` and `search` (and `trifecta mcp`) open."""
    from trifecta.specialists.rag import DocumentStore, openai_embeddings

    embeddings = openai_embeddings(embed_model, base_url=embed_url) if embed_model else None
    return DocumentStore(store, collection, embedding_function=embeddings, chroma_url=chroma_url)


def _open(args: argparse.Namespace) -> Any:
    return open_store(
        args.store,
        args.collection,
        chroma_url=args.chroma_url,
        embed_model=args.embed_model,
        embed_url=args.embed_url,
    )


def hit_record(hit: Any) -> dict[str, Any]:
    """One search hit as printed by ``search --json``: id, source, score, text."""
    return {
        "id": hit.id,
        "source": hit.source,
        "score": hit.score,
        "text": hit.text,
    }


def run_ingest(args: argparse.Namespace) -> int:
    """Ingest with a progress bar; prints what changed and what was skipped."""
    store = _open(args)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_err, transient=True) as progress:
        task = progress.add_task("ingesting", total=None)

        def update(done: int, total: int, path: str) -> None:
            progress.update(
                task, completed=done, total=total, description=f"ingesting {path[-40:]}"
            )

        report = store.ingest(args.paths, on_progress=update, follow_symlinks=args.follow_symlinks)
    for line in report.skipped:
        _err.print(f"[yellow]skipped[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
    print(
        f"{len(report.updated_files)} file(s) ingested, {len(report.unchanged_files)} unchanged, "
        f"{len(report.skipped)} skipped; {report.added} chunk(s) added, {report.removed} removed; "
        f"{store.count()} in the store"
    )
    return 0


def run_search(args: argparse.Namespace) -> int:
    """Print the hits as a table or JSON."""
    try:
        where = json.loads(args.where) if args.where else None
    except ValueError as exc:
        raise UserError(f"--where is not JSON: {exc}") from None
    if where is not None and not isinstance(where, dict):
        raise UserError('--where must be a JSON object, e.g. {"source": "docs/a.md"}')
    hits = _open(args).search(args.query, args.k, where=where, mode=args.mode)
    if args.json:
        print(json.dumps([hit_record(h) for h in hits], indent=2))
        return 0
    for rank, hit in enumerate(hits, 1):
        preview = " ".join(hit.text.split())[:160]
        print(f"{rank:>2}. {hit.score:.4f}  {hit.label}  {preview}")
    return 0
