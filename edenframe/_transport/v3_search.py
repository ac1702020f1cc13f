"""Semantic search on v3, which has no search model: the texts ranked against the query by their embeddings'
similarity, computed here (numpy) from the vectors `POST /v3/embeddings` returned.

The scores follow v2's search and edenframe's offline provider (`_local/search.py`): `cosine` is the cosine
similarity (in [-1, 1]); `euclidean` and `manhattan` are the negated L2 and L1 distances, so that for every metric a
higher score is a better match. Items come best first, as Eden AI sorted them (a stable sort: ties keep input order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

METRICS = ("cosine", "euclidean", "manhattan")  # the catalog's `similarity_metric` values


def scores(query: Sequence[float], documents: Sequence[Sequence[float]], metric: str) -> np.ndarray:
    """One score per document against `query`."""
    q = np.asarray(query, dtype=np.float64)
    d = np.asarray(documents, dtype=np.float64).reshape(len(documents), -1)
    if metric == "cosine":
        norms = np.linalg.norm(d, axis=1) * np.linalg.norm(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            similarity = (d @ q) / norms
        return np.where(norms > 0, similarity, 0.0)  # a zero vector resembles nothing
    if metric == "euclidean":
        return -np.linalg.norm(d - q, axis=1)
    if metric == "manhattan":
        return -np.abs(d - q).sum(axis=1)
    raise ValueError(f"similarity_metric must be one of {', '.join(METRICS)}, not {metric!r}")


def search(query: Sequence[float], documents: Sequence[Sequence[float] | None], metric: str) -> list[dict[str, Any]]:
    """v2's search items `{object, document, score}` for the documents that have a vector (`document` is the index
    into `documents`; one without a vector is left out, so only its row gets an error)."""
    present = [i for i, v in enumerate(documents) if v is not None]
    if not present:
        return []
    values = scores(query, [documents[i] for i in present], metric)
    order = np.argsort(-values, kind="stable")
    return [{"object": "search_result", "document": present[k], "score": float(values[k])} for k in order]
