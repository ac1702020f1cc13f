"""Helpers shared by the local text backends: per-item error handling, language codes, sentence splitting."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pysbd

from ._objects import ItemError, fail, success
from ._shared import per_thread


def run_each(items: list[dict], compute_one: Callable[[dict], dict[str, Any]]) -> list[dict]:
    """Apply `compute_one` to every item; an exception fails that item only, never the batch."""
    results: list[dict] = []
    for item in items:
        try:
            results.append(success(compute_one(item)))
        except ItemError as exc:
            results.append(fail(str(exc)))
        except Exception as exc:  # one bad row must not lose the others; report it like a provider failure
            results.append(fail(f"{type(exc).__name__}: {exc}"))
    return results


def get_text(item: dict, field: str = "text") -> str:
    """The item's input text; empty or non-string input is an item error (Eden AI requires minLength 1)."""
    value = item.get(field)
    if not isinstance(value, str):
        raise ItemError(f"'{field}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ItemError(f"'{field}' is empty")
    return value


def language_of(item: dict, default: str | None = "en") -> str | None:
    """The item's `language` as a lower-case base code ('en-US' -> 'en'); `default` when absent or 'auto'."""
    value = item.get("language")
    if not isinstance(value, str) or not value.strip() or value.strip().lower() in {"auto", "auto-detect"}:
        return default
    return value.strip().replace("_", "-").split("-", 1)[0].lower()


# pysbd has rules for these languages; others fall back to the English rules, which still split on . ! ?
_PYSBD_LANGUAGES = frozenset(
    {"am", "ar", "bg", "da", "de", "el", "en", "es", "fa", "fr", "hi", "hy", "it", "ja", "kk", "mr", "my", "nl",
     "pl", "ru", "sk", "ur", "zh"}
)  # fmt: skip


# One Segmenter per thread: `segment()` keeps the text it splits on the Segmenter itself and maps the sentences
# back onto it, so a shared one mixes up the texts of concurrent calls (whole reviews returned as one sentence,
# sentences of another text, IndexError).
@per_thread
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False, char_span=True)


# a sentence boundary is only possible after one of these (or at a line break) with more text following
_POSSIBLE_BOUNDARY = re.compile(r"[.!?…。！？\n]\W*\s*\w|\n")


def sentence_spans(text: str, language: str | None = "en") -> list[tuple[int, int]]:
    """(start, end) character offsets of each sentence in `text`, trailing whitespace excluded, empty ones dropped."""
    stripped = text.strip()
    if stripped and not _POSSIBLE_BOUNDARY.search(stripped):
        # one sentence: skip pysbd, which costs ~0.2 ms even on a short text
        start = len(text) - len(text.lstrip())
        return [(start, start + len(stripped))]
    lang = language if language in _PYSBD_LANGUAGES else "en"
    spans: list[tuple[int, int]] = []
    for span in _segmenter(lang).segment(text):
        start, end = span.start, span.end
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    if not spans and text.strip():
        start = len(text) - len(text.lstrip())
        spans.append((start, len(text.rstrip())))
    return spans


def sentences(text: str, language: str | None = "en") -> list[str]:
    """The sentences of `text`, stripped."""
    return [text[start:end] for start, end in sentence_spans(text, language)]
