"""`edenframe demo`: the bundled reviews enriched offline, printed as a short tour."""

from __future__ import annotations

import functools
from typing import Any, TextIO

import pandas as pd


def first_item_field(items: pd.Series, field: str) -> pd.Series:
    """The `field` of each row's first list item (NA for empty or missing lists), as a string column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.chunked_array(items.array._pa_array).combine_chunks()  # type: ignore[attr-defined]
    heads = pc.list_slice(array, 0, 1)
    values = pc.list_flatten(heads).field(field)
    rows = pc.list_parent_indices(heads).to_numpy()
    out = pd.Series(pd.NA, index=items.index, dtype="string")
    out.iloc[rows] = values.to_pylist()
    return out


def run_demo(rows: int | None, progress: bool | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Enrich the bundled reviews offline: languages for all rows; sentiment, keywords and embeddings for the
    English ones (the local models for those are English-only). Returns the enriched frame and the run reports."""
    import edenframe  # noqa: F401  (registers df.eden)

    from .datasets import reviews

    frame = reviews()
    if rows is not None:
        frame = frame.head(rows)
    reports = []
    frame = frame.eden.detect_language("review", progress=progress)
    reports.append(frame.attrs["edenframe"])
    frame["language"] = first_item_field(frame["detect_language_items"], "language")
    english = frame[_is_english(frame)]
    for method in ("sentiment", "keywords", "embed"):
        options = {} if method == "embed" else {"language": "en"}
        done = getattr(english.eden, method)("review", progress=progress, **options)
        reports.append(done.attrs["edenframe"])
        new = [c for c in done.columns if c not in english.columns]
        frame = frame.join(done[new])
    frame.attrs = {}
    return frame, reports


def print_demo(frame: pd.DataFrame, reports: list[dict[str, Any]], stdout: TextIO, stderr: TextIO) -> None:
    import numpy as np

    from ._report import format_report

    english = _is_english(frame)
    view = pd.DataFrame(
        {
            "review_id": frame["review_id"],
            "review": frame["review"].str.slice(0, 40),
            "language": frame["language"],
            "sentiment": frame["sentiment_general_sentiment"],
            "rate": frame["sentiment_general_sentiment_rate"].round(2),
            "top keyword": first_item_field(frame["keywords_items"], "keyword"),
        }
    )
    p = functools.partial(print, file=stdout)
    p(f"{len(frame)} reviews from edenframe.datasets.reviews(), enriched offline by the 'local' provider")
    p("(sentiment, keywords and embeddings for the English reviews: the local models for those are English-only)")
    p()
    with pd.option_context("display.width", 160, "display.max_colwidth", 42):
        p(view.head(12).to_string())
    p()
    p("Languages:")
    p(_counts(frame["language"], missing="no text"))
    p()
    p(f"Sentiment of the {int(english.sum())} English reviews:")
    p(_counts(frame.loc[english, "sentiment_general_sentiment"], missing="no text"))
    p()
    keywords = frame[english].eden.explode("keywords_items")["keyword"].dropna().str.lower()
    top = keywords.value_counts().head(10)
    p("Top keywords of the English reviews:")
    p("  " + ", ".join(f"{word} ({count})" for word, count in top.items()))
    p()
    embedded = frame.loc[english].dropna(subset=["embed_embedding"])
    vectors = embedded.eden.matrix("embed_embedding")
    p(f"Embeddings: a {vectors.shape[0]} x {vectors.shape[1]} {vectors.dtype} matrix (df.eden.matrix)")
    distinct = ~embedded["review"].duplicated().to_numpy()
    if distinct.sum() > 1:
        similarity = vectors[distinct] @ vectors[distinct].T  # the vectors have unit length: dot product = cosine
        np.fill_diagonal(similarity, -1.0)
        i, j = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        ids = embedded.loc[distinct, "review_id"]
        p(f"  closest pair of different reviews: {ids.iloc[i]} and {ids.iloc[j]} (cosine {similarity[i, j]:.2f})")
        p(f"    {embedded.loc[distinct, 'review'].iloc[i]}")
        p(f"    {embedded.loc[distinct, 'review'].iloc[j]}")
    p()
    for report in reports:
        print(f"report: {format_report(report)}", file=stderr)


def _is_english(frame: pd.DataFrame) -> pd.Series:
    return frame["language"].eq("en").fillna(False).astype(bool)


def _counts(values: pd.Series, missing: str) -> str:
    counts = values.astype("object").fillna(f"<{missing}>").value_counts()
    return "  " + ", ".join(f"{label} {count}" for label, count in counts.items())
