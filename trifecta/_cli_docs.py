"""`trifecta ingest` and `trifecta search`: the document store from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from trifecta.errors import UserError

__all__ = ["add_commands", "hit_record", "open_store", "run_ingest", "run_search"]

_err = Console(stderr=True)


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", required=True, help="store directory (Chroma files and the lexical index)"
    )
    parser.add_argument(
        "--collection", default="documents", help="collection name (default: documents)"
    )
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--embed-model",
        help="embedding model at an OpenAI-compatible endpoint (default: offline MiniLM)",
    )
    parser.add_argument(
        "--embed-url", help="the endpoint for --embed-model, e.g. http://127.0.0.1:8080/v1"
    )


def add_commands(commands: Any) -> None:
    """Register `ingest` and `search` on the CLI's subparsers."""
    ingest = commands.add_parser(
        "ingest",
        help="add documents to a store",
        description="Chunk and embed text, Markdown, HTML and PDF files; unchanged files are skipped, "
        "changed files replace their old chunks.",
    )
    ingest.add_argument("paths", nargs="+", help="files or folders")
    ingest.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="ingest symlinks in a folder that lead outside it (skipped by default)",
    )
    _store_options(ingest)
    search = commands.add_parser(
        "search", help="search a store", description="Hybrid (dense + BM25, fused by RRF) search."
    )
    search.add_argument("query")
    search.add_argument("-k", type=int, default=10, help="results (default 10)")
    search.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    search.add_argument(
        "--where", help='metadata filter as JSON, e.g. {"source": "docs/returns.md"}'
    )
    search.add_argument(
        "--json", action="store_true", help='print [{"id", "source", "score", "text"}]'
    )
    _store_options(search)


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
