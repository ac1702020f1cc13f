"""text/summarize offline: extractive TextRank over TF-IDF sentence vectors (numpy), sentences split by pysbd.

Each sentence is a node; edges are the cosine similarities of the sentences' TF-IDF vectors; PageRank (power
iteration) ranks the nodes. The `output_sentences` best sentences are returned in their original order. Ties go to
the earlier sentence, so a text whose sentences share no words gets its lead sentence(s).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._text import ItemError, get_text, language_of, run_each, sentence_spans

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-8
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

# Only for English: without them, short texts rank sentences by shared "the"/"and"; other languages rely on IDF alone.
_ENGLISH_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves also its it's i'm
    we're they're you're don't doesn't didn't can't won't isn't aren't wasn't weren't"""
_ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORD_TEXT.split())


def _tokens(sentence: str, language: str | None) -> list[str]:
    words = [w.lower() for w in _WORD.findall(sentence)]
    if language == "en":
        words = [w for w in words if w not in _ENGLISH_STOPWORDS]
    return words


def textrank_scores(token_lists: list[list[str]]) -> np.ndarray:
    """PageRank score of each sentence in the graph of TF-IDF cosine similarities."""
    n = len(token_lists)
    vocabulary: dict[str, int] = {}
    for tokens in token_lists:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary))
    if n == 0:
        return np.zeros(0)
    counts = np.zeros((n, max(len(vocabulary), 1)))
    for row, tokens in enumerate(token_lists):
        for token in tokens:
            counts[row, vocabulary[token]] += 1.0
    document_frequency = (counts > 0).sum(axis=0)
    idf = np.log((1.0 + n) / (1.0 + document_frequency)) + 1.0
    vectors = counts * idf
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0.0)
    row_sums = similarity.sum(axis=1, keepdims=True)
    # a sentence that shares no word with any other links to every sentence equally
    transition = np.where(row_sums > 0, similarity / np.where(row_sums > 0, row_sums, 1.0), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(MAX_ITERATIONS):
        updated = (1.0 - DAMPING) / n + DAMPING * (transition.T @ scores)
        if np.abs(updated - scores).sum() < TOLERANCE:
            scores = updated
            break
        scores = updated
    return scores


def _output_sentences(item: dict) -> int:
    value = item.get("output_sentences", 1)
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        raise ItemError(f"output_sentences must be an integer >= 1, got {value!r}")
    return int(value)


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    count = _output_sentences(item)
    language = language_of(item)
    spans = sentence_spans(text, language)
    sentences = [text[start:end] for start, end in spans]
    if len(sentences) <= count:
        return {"result": " ".join(sentences)}
    scores = textrank_scores([_tokens(s, language) for s in sentences])
    # rank by score, earlier sentence first on ties (scores are rounded so float noise does not break ties)
    order = sorted(range(len(sentences)), key=lambda i: (-round(float(scores[i]), 10), i))
    chosen = sorted(order[:count])
    return {"result": " ".join(sentences[i] for i in chosen)}


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
