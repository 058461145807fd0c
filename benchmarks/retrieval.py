"""Retrieval benchmark on Cranfield (1,400 abstracts, 150 queries) and a synthetic 100k store.

- nDCG@10, Recall@10 and Recall@100 for dense (offline MiniLM in Chroma), BM25 and hybrid
  (reciprocal-rank fusion). Relevant: grades 1-3 (the data README); nDCG gain 4 - grade.
- Ingestion throughput (chunks per second, model embeddings, 2 cores), query latency
  p50/p99 at 1,400 chunks, store size on disk.
- 100,000 synthetic chunks (Cranfield vocabulary; random unit vectors in place of model
  embeddings, which would take about an hour to compute here): insert rate, hybrid query
  latency p50/p99 (the query itself is embedded by the model) and size on disk.

Run: .venv/bin/python benchmarks/retrieval.py [--data-dir ../shared/data] [--synthetic 100000]
Prints one table.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _table import percentiles, print_table

from trifecta.evaluation import cranfield_qrels, cranfield_records
from trifecta.specialists.rag import DocumentStore
from trifecta.specialists.rag._documents import Chunk

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
Row = tuple[str, str, str]


def load(data: Path) -> tuple[dict[str, str], list[str], dict[int, dict[str, int]]]:
    root = data / "cranfield"
    docs = {
        n: f"{f.get('T', '')}\n\n{f.get('W', '')}".strip()
        for n, f in cranfield_records((root / "cran.all.1400").read_text())
    }
    queries = [f.get("W", "") for _, f in cranfield_records((root / "cran.qry").read_text())]
    return docs, queries, cranfield_qrels((root / "cranqrel").read_text())


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(
        (4 - relevant[d]) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant
    )
    ideal = sorted((4 - g for g in relevant.values()), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def doc_ranking(store: DocumentStore, query: str, mode: str) -> list[str]:
    seen: list[str] = []
    for hit in store.search(query, 150, mode=mode, depth=150):  # type: ignore[arg-type]
        doc = hit.source.rsplit("/", 1)[-1]
        if doc not in seen:
            seen.append(doc)
    return seen


def du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def cranfield_rows(data: Path, workdir: Path) -> list[Row]:
    docs, queries, qrels = load(data)
    store = DocumentStore(workdir / "cranfield", "cranfield")
    start = time.perf_counter()
    store.add_texts([(text, f"cranfield/{number}") for number, text in docs.items()])
    ingest_s = time.perf_counter() - start
    chunks = store.count()
    rows: list[Row] = [
        (
            "ingestion (model embeddings)",
            f"{chunks / ingest_s:.1f} chunks/s",
            f"{chunks} chunks from {len(docs)} abstracts in {ingest_s:.1f} s",
        )
    ]
    judged = [(q, qrels[i + 1]) for i, q in enumerate(queries) if qrels.get(i + 1)]
    for mode in ("dense", "lexical", "hybrid"):
        rankings = [doc_ranking(store, q, mode) for q, _ in judged]
        n10 = statistics.mean(ndcg(r, rel) for r, (_, rel) in zip(rankings, judged, strict=True))
        r10 = statistics.mean(
            recall(r, rel, 10) for r, (_, rel) in zip(rankings, judged, strict=True)
        )
        r100 = statistics.mean(
            recall(r, rel, 100) for r, (_, rel) in zip(rankings, judged, strict=True)
        )
        name = {"lexical": "BM25"}.get(mode, mode)
        rows.append(
            (
                f"Cranfield {name}",
                f"nDCG@10 {n10:.4f}",
                f"Recall@10 {r10:.4f}, Recall@100 {r100:.4f} ({len(judged)} judged queries)",
            )
        )
    latencies = []
    for query, _ in judged:
        t = time.perf_counter()
        store.search(query, 10)
        latencies.append((time.perf_counter() - t) * 1000)
    rows.append(
        (
            "hybrid query latency, 1,400 docs",
            percentiles(latencies),
            f"k=10; store {du(workdir / 'cranfield'):.1f} MiB on disk",
        )
    )
    return rows


def synthetic_rows(data: Path, workdir: Path, n: int) -> list[Row]:
    docs, queries, _ = load(data)
    vocabulary = " ".join(docs.values()).split()
    rng = random.Random(7)
    store = DocumentStore(workdir / "synthetic", "synthetic")
    start = time.perf_counter()
    for offset in range(0, n, 2000):
        batch = []
        for i in range(offset, min(n, offset + 2000)):
            text = " ".join(rng.choice(vocabulary) for _ in range(60))
            batch.append(Chunk(f"s{i}", f"synthetic/{i // 10}", "synthetic", "", i % 10, text))
        vectors = np.random.default_rng(offset).normal(size=(len(batch), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        metadatas = [
            {
                "source": c.source,
                "title": c.title,
                "section": "",
                "position": c.position,
                "file_sha": "",
            }
            for c in batch
        ]
        store.collection.add(
            ids=[c.id for c in batch],
            embeddings=vectors,
            documents=[c.text for c in batch],
            metadatas=metadatas,
        )
        store.lexical.upsert(batch, metadatas)
    insert_s = time.perf_counter() - start
    store.search("warm up the lexical index", 10)
    latencies = []
    for query in queries[:100]:
        t = time.perf_counter()
        store.search(query, 10)
        latencies.append((time.perf_counter() - t) * 1000)
    return [
        (
            f"insert, {n:,} synthetic chunks",
            f"{n / insert_s:.0f} chunks/s",
            "precomputed vectors + lexical index",
        ),
        (
            f"hybrid query latency, {n:,} chunks",
            percentiles(latencies),
            f"100 queries, k=10; store {du(workdir / 'synthetic'):.0f} MiB on disk",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--synthetic", type=int, default=100_000, help="synthetic chunks (0 to skip)"
    )
    args = parser.parse_args()
    if not (args.data_dir / "cranfield").is_dir():
        print(
            f"skipped: no Cranfield data under {args.data_dir} (pass --data-dir)", file=sys.stderr
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows = cranfield_rows(args.data_dir, Path(tmp))
        if args.synthetic:
            rows += synthetic_rows(args.data_dir, Path(tmp), args.synthetic)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
