"""text/search offline: rank `texts` against `query` with the local MiniLM embeddings.

Scores by `similarity_metric`:

* `cosine` (default): cosine similarity of the unit-length embeddings, in [-1, 1].
* `euclidean` / `manhattan`: the negated L2 / L1 distance between the embeddings, so that for every metric a
  higher score means a more relevant document (the items are sorted by score, descending, as Eden AI does).

One item per text: `{object: "search_result", document: <index into texts>, score}`; ties keep input order.
"""

from __future__ import annotations

import numpy as np

from . import embeddings
from ._objects import fail

METRICS = ("cosine", "euclidean", "manhattan")


def _scores(query: np.ndarray, docs: np.ndarray, metric: str) -> np.ndarray:
    q = query.astype(np.float64)
    d = docs.astype(np.float64)
    if metric == "cosine":
        return d @ q
    if metric == "euclidean":
        return -np.linalg.norm(d - q, axis=1)
    return -np.abs(d - q).sum(axis=1)


def _check(item: dict) -> str | None:
    texts = item.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return "texts must be a non-empty list of strings"
    if not isinstance(item.get("query"), str) or not item["query"].strip():
        return "query must be a non-empty string"
    metric = item.get("similarity_metric") or "cosine"
    if metric not in METRICS:
        return f"similarity_metric must be one of {', '.join(METRICS)}; got {metric!r}"
    return None


def compute(items: list[dict]) -> list[dict]:
    """One `{items: [search_result...]}` per request item; all queries and texts are embedded in one batch."""
    results = [fail(_check(item) or "") for item in items]
    valid = [k for k, item in enumerate(items) if _check(item) is None]
    batch: list[str] = []
    spans: list[tuple[int, int, int]] = []  # (item, index of its query in batch, number of texts)
    for k in valid:
        spans.append((k, len(batch), len(items[k]["texts"])))
        batch.append(items[k]["query"])
        batch.extend(items[k]["texts"])
    vectors = embeddings.embed(batch)
    for k, start, count in spans:
        metric = items[k].get("similarity_metric") or "cosine"
        scores = _scores(vectors[start], vectors[start + 1 : start + 1 + count], metric)
        order = np.argsort(-scores, kind="stable")
        results[k] = {
            "items": [
                {"object": "search_result", "document": int(i), "score": round(float(scores[i]), 6)} for i in order
            ],
            "status": "success",
            "cost": 0.0,
        }
    return results
