"""The offline model with its operators fused (attention, bias + GELU, skip + LayerNorm),
built once beside the hash-checked model and reused while its own hash still matches.

onnxruntime's transformer optimizer fuses GELU and LayerNorm; its attention fusion does not
match the decomposed attention of this export (a NaN guard around the softmax), so each
layer's query/key/value projections and attention are replaced here by one
``com.microsoft.Attention`` node. The result is checked against the original model on a
probe batch before it is kept: same vectors within `TOLERANCE`, else it is not used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

__all__ = ["TOLERANCE", "optimized_model"]

TOLERANCE = 1e-4
"""Largest absolute difference allowed between the two models' hidden states."""
_HEADS, _HIDDEN = 12, 384
_LAYER = "inner.encoder.layer.{}.attention."
log = logging.getLogger(__name__)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fuse_attention(graph: Any) -> int:
    """Replace each layer's attention by one ``Attention`` node; the number replaced."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = {i.name: i for i in graph.model.graph.initializer}
    made_by = graph.output_name_to_node()
    used_by = graph.input_name_to_nodes()
    graph.add_node(
        helper.make_node("Cast", ["attention_mask"], ["mask_int32"], to=TensorProto.INT32)
    )
    layer = 0
    while (prefix := _LAYER.format(layer)) + "self.query.bias" in weights:
        inputs, kernels, biases = set(), [], []
        for part in ("query", "key", "value"):
            bias = f"{prefix}self.{part}.bias"
            add = used_by[bias][0]
            matmul = made_by[next(i for i in add.input if i != bias)]
            inputs.add(matmul.input[0])
            kernels.append(numpy_helper.to_array(weights[matmul.input[1]]))
            biases.append(numpy_helper.to_array(weights[bias]))
        context = made_by[used_by[prefix + "output.dense.bias"][0].input[0]].input[0]
        if len(inputs) != 1:
            raise ValueError(f"layer {layer}: query, key and value read different inputs")
        graph.remove_node(made_by[context])
        kernel = numpy_helper.from_array(np.concatenate(kernels, 1), f"qkv_weight_{layer}")
        bias = numpy_helper.from_array(np.concatenate(biases), f"qkv_bias_{layer}")
        graph.add_initializer(kernel)
        graph.add_initializer(bias)
        graph.add_node(
            helper.make_node(
                "Attention",
                [inputs.pop(), kernel.name, bias.name, "mask_int32"],
                [context],
                domain="com.microsoft",
                num_heads=_HEADS,
            )
        )
        layer += 1
    graph.model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    graph.prune_graph()
    graph.topological_sort()
    return layer


def _hidden(path: Path) -> Any:
    """The model's hidden states for a fixed padded probe batch."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(0).integers(1000, 30000, size=(3, 40), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 25:] = 0
    ids[1, 25:] = 0
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return session.run(None, feed)[0] * mask[:, :, None]


def _build(source: Path, target: Path) -> None:
    """Fold constants (onnxruntime), fuse (its transformer optimizer, then attention
    here), and check the result against `source`."""
    from onnxruntime.transformers.optimizer import optimize_model

    folded = target.with_name(f"{target.name}.{uuid.uuid4().hex}.folded")
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        graph = optimize_model(
            str(folded), model_type="bert", num_heads=_HEADS, hidden_size=_HIDDEN, opt_level=0
        )
        if _fuse_attention(graph) == 0:
            raise ValueError("no attention layer found")
        graph.save_model_to_file(str(target))
    finally:
        folded.unlink(missing_ok=True)
    difference = float(np.abs(_hidden(target) - _hidden(source)).max())
    if not difference <= TOLERANCE:
        raise ValueError(f"fused model differs by {difference:.2e} (> {TOLERANCE})")


def optimized_model(source: Path, source_sha256: str) -> Path:
    """The fused model beside `source` (built on first use), or `source` itself when it
    cannot be built. A built file is reused only while the stamp beside it names this
    source hash, this onnxruntime version and the file's own hash."""
    target = source.with_name("model.optimized.onnx")
    stamp = target.with_suffix(".json")
    expected = {"source_sha256": source_sha256, "onnxruntime": ort.__version__}
    try:
        recorded = json.loads(stamp.read_text())
        if recorded.pop("sha256") == _sha256(target) and recorded == expected:
            return target
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # missing, partial or from another version: build it again
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}")
    try:
        _build(source, partial)
        os.replace(partial, target)
        stamp.write_text(json.dumps({**expected, "sha256": _sha256(target)}))
    except Exception as exc:  # any failure of the optimizer: the original model still works
        log.warning("using the unfused embedding model: %s", exc)
        return source
    finally:
        partial.unlink(missing_ok=True)
    return target
