"""text/keyword_extraction offline: YAKE (statistical, unsupervised), with its stopword list for the item's language.

YAKE scores are lower-is-better and unbounded; `importance = 1 / (1 + 10 * score)` maps them monotonically onto
0..1 (higher = more important), spread so that the usual YAKE range (0.001..1) is not squeezed into 0.9..1.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yake

from ._shared import per_thread
from ._text import get_text, language_of, run_each

MAX_NGRAM = 3
TOP = 20
SCALE = 10.0

# ISO 639-1 codes whose YAKE stopword file has another name
_YAKE_CODES = {"cs": "cz", "nb": "no", "nn": "no"}


def _stopword_file(language: str) -> Path:
    return Path(yake.__file__).parent / "core" / "StopwordsList" / f"stopwords_{language}.txt"


@functools.cache
def _stopwords(language: str | None) -> frozenset[str]:
    """YAKE's stopword list for an ISO 639-1 code; an empty set when YAKE has none for that language.

    Read here rather than by YAKE: YAKE would look up "noLang" as Norwegian ("no") and prints a warning on stdout
    for its two Latin-1 files.
    """
    code = _YAKE_CODES.get(language or "en", language or "en")
    path = _stopword_file(code)
    if not code.isalpha() or not path.is_file():
        return frozenset()
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    return frozenset(word for word in content.lower().split() if word)


# One extractor per thread: it updates its own similarity cache and counters on every call (and answers [] on any
# exception it meets), so it is not shared between threads.
@per_thread
def _extractor(language: str | None) -> yake.KeywordExtractor:
    # an empty set would make YAKE load its own file again; {""} means "no stopwords"
    return yake.KeywordExtractor(
        lan=language or "en", n=MAX_NGRAM, top=TOP, stopwords=set(_stopwords(language)) or {""}
    )


def importance(score: float) -> float:
    return round(1.0 / (1.0 + SCALE * max(float(score), 0.0)), 2)


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    extractor = _extractor(language_of(item))
    keywords = extractor.extract_keywords(text)
    return {"items": [{"keyword": str(keyword), "importance": importance(score)} for keyword, score in keywords]}


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
