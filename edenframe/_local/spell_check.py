"""text/spell_check offline: pyspellchecker's word-frequency dictionaries (word level, no context).

A word is flagged when the dictionary does not know it. Suggestions are the known words one edit away (the library's
candidates); when there are none, the most frequent dictionary words two edits away (a bounded scan here, because
the library's distance-2 search enumerates every double edit and costs 0.1-0.5 s per unknown word). Scores are the
candidates' relative frequencies, normalised to sum to 1 over all candidates, best first, at most five.

Not flagged: single letters, all-capital acronyms, words with inner capitals (iPhone), capitalised words inside a
sentence (names), words touching digits, and anything inside a URL, an e-mail address, an @mention or a #hashtag.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jellyfish
from spellchecker import SpellChecker

from ._text import ItemError, get_text, language_of, run_each

MAX_SUGGESTIONS = 5
ITEM_TYPE = "misspelled"  # as in Eden AI's standardized spell_check sample
# distance-2 suggestions come from this many most frequent words of the dictionary
DISTANCE2_VOCABULARY = 30_000

_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['’][^\W\d_]+)*(?!\w)")
_SKIPPED = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|[@#]\w+", re.IGNORECASE)
_SENTENCE_END = frozenset('.!?:;"“”\n')


@functools.cache
def supported_languages() -> tuple[str, ...]:
    return tuple(sorted(SpellChecker.languages()))


@functools.cache
def _checker(language: str) -> SpellChecker:
    # distance=1: the distance-2 fallback is done by `_distance2` below
    return SpellChecker(language=language, distance=1)


@functools.cache
def _frequent_by_length(language: str) -> dict[int, tuple[tuple[str, ...], dict[str, int]]]:
    """The DISTANCE2_VOCABULARY most frequent words, grouped by length."""
    counts = _checker(language).word_frequency.dictionary
    frequent = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:DISTANCE2_VOCABULARY]
    groups: dict[int, dict[str, int]] = {}
    for word, count in frequent:
        groups.setdefault(len(word), {})[word] = count
    return {length: (tuple(words), words) for length, words in groups.items()}


def _distance2(language: str, word: str) -> set[str]:
    by_length = _frequent_by_length(language)
    found: set[str] = set()
    for length in range(max(1, len(word) - 2), len(word) + 3):
        words = by_length.get(length)
        if words is None:
            continue
        for candidate in words[0]:
            if jellyfish.damerau_levenshtein_distance(word, candidate) <= 2:
                found.add(candidate)
    return found


def _match_case(original: str, suggestion: str) -> str:
    if original[:1].isupper():
        return suggestion[:1].upper() + suggestion[1:]
    return suggestion


def _suggestions(checker: SpellChecker, language: str, word: str) -> list[dict[str, Any]]:
    lowered = word.lower()
    candidates = checker.candidates(lowered) or set()
    candidates.discard(lowered)
    if not candidates:
        candidates = _distance2(language, lowered)
    counts = {c: checker.word_frequency[c] for c in candidates}
    total = sum(counts.values())
    if total <= 0:
        return []
    best = sorted(counts, key=lambda c: (-counts[c], c))[:MAX_SUGGESTIONS]
    return [{"suggestion": _match_case(word, c), "score": round(counts[c] / total, 3)} for c in best]


def _sentence_initial(text: str, start: int) -> bool:
    index = start - 1
    while index >= 0 and text[index] in " \t\r([{'‘\"“":
        index -= 1
    return index < 0 or text[index] in _SENTENCE_END


def _checkable(text: str, start: int, word: str) -> bool:
    if len(word) < 2 or word.isupper():
        return False
    if any(ch.isupper() for ch in word[1:]):  # iPhone, McDonald, eBay
        return False
    return not (word[0].isupper() and not _sentence_initial(text, start))


def _language(item: dict) -> str:
    language = language_of(item) or "en"
    if language not in supported_languages():
        raise ItemError(
            f"the local spell checker has no dictionary for language={language!r} "
            f"(available: {', '.join(supported_languages())})"
        )
    return language


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)
    language = _language(item)
    checker = _checker(language)
    skipped = [m.span() for m in _SKIPPED.finditer(text)]
    tokens = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        if any(s < end and start < e for s, e in skipped):
            continue
        if _checkable(text, start, match.group()):
            tokens.append((start, match.group()))
    unknown = checker.unknown([word.replace("’", "'") for _, word in tokens])
    items = []
    for start, word in tokens:
        normalized = word.replace("’", "'")
        if normalized.lower() not in unknown:
            continue
        items.append(
            {
                "text": word,
                "type": ITEM_TYPE,
                "offset": start,
                "length": len(word),
                "suggestions": _suggestions(checker, language, normalized),
            }
        )
    return {"text": text, "items": items}


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
