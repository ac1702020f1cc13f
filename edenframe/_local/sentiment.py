"""text/sentiment_analysis offline: VADER (lexicon and rules, English) on the whole text and on each sentence."""

from __future__ import annotations

from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ._shared import load_once
from ._text import ItemError, get_text, language_of, run_each, sentence_spans

# VADER's own convention: compound >= 0.05 is positive, <= -0.05 negative, in between neutral
THRESHOLD = 0.05


@load_once
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _label(compound: float) -> str:
    if compound >= THRESHOLD:
        return "Positive"
    if compound <= -THRESHOLD:
        return "Negative"
    return "Neutral"


def _rate(compound: float) -> float:
    return round(min(abs(compound), 1.0), 4)


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    language = language_of(item)
    if language != "en":
        raise ItemError(f"the local sentiment model (VADER) supports English only, not language={language!r}")
    analyzer = _analyzer()
    compound = analyzer.polarity_scores(text)["compound"]
    segments = []
    spans = sentence_spans(text, "en")
    for start, end in spans:
        segment = text[start:end]
        single = len(spans) == 1 and segment == text
        seg_compound = compound if single else analyzer.polarity_scores(segment)["compound"]
        segments.append({"segment": segment, "sentiment": _label(seg_compound), "sentiment_rate": _rate(seg_compound)})
    return {"general_sentiment": _label(compound), "general_sentiment_rate": _rate(compound), "items": segments}


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
