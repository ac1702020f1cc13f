"""text/spell_check offline: pyspellchecker's word-frequency dictionaries (word level, no context).

A word is flagged when the dictionary does not know it. Suggestions are the known words one edit away (the library's
candidates); when there are none, words two edits away among the 30,000 most frequent ones (found here in about
1 ms with a vectorised letter-count filter; the library's own distance-2 search enumerates every double edit and
takes 0.1-0.5 s per unknown word). Scores are the candidates' relative frequencies, normalised to sum to 1 over all
candidates, best first, at most five. Possessives and elisions of known words ("children's", "l'adresse") pass.

Not flagged: single letters, all-capital acronyms, words with inner capitals (iPhone), capitalised words inside a
sentence (names), words touching digits, and anything inside a URL, an e-mail address, an @mention or a #hashtag.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np
from spellchecker import SpellChecker

from ._shared import load_once
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


@load_once
def _checker(language: str) -> SpellChecker:
    # distance=1: the distance-2 fallback is done by `_distance2` below
    return SpellChecker(language=language, distance=1)


@dataclass(frozen=True)
class _Vocabulary:
    """The most frequent dictionary words sorted by length, with a letter-count matrix for fast pre-filtering."""

    words: tuple[str, ...]
    lengths: np.ndarray  # (n,) word lengths, ascending
    counts: np.ndarray  # (n, letters) how often each letter occurs in each word
    letters: dict[str, int]


@load_once
def _vocabulary(language: str) -> _Vocabulary:
    counts = _checker(language).word_frequency.dictionary
    frequent = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:DISTANCE2_VOCABULARY]
    words = tuple(sorted((word for word, _ in frequent), key=lambda w: (len(w), w)))
    letters = {ch: i for i, ch in enumerate(sorted({ch for word in words for ch in word}))}
    matrix = np.zeros((len(words), len(letters)), dtype=np.int16)
    for row, word in enumerate(words):
        for ch in word:
            matrix[row, letters[ch]] += 1
    return _Vocabulary(words, np.array([len(w) for w in words]), matrix, letters)


@functools.lru_cache(maxsize=20_000)
def _distance2(language: str, word: str) -> frozenset[str]:
    """Frequent dictionary words at Damerau-Levenshtein distance <= 2 from `word`.

    Two edits change the letter counts by at most 4 in total (a substitution moves two counts, an insertion or a
    deletion one, a transposition none), so a vectorised count comparison discards almost every word first.
    """
    vocabulary = _vocabulary(language)
    low = int(np.searchsorted(vocabulary.lengths, len(word) - 2, side="left"))
    high = int(np.searchsorted(vocabulary.lengths, len(word) + 2, side="right"))
    query = np.zeros(len(vocabulary.letters), dtype=np.int16)
    unknown_letters = 0
    for ch in word:
        index = vocabulary.letters.get(ch)
        if index is None:
            unknown_letters += 1
        else:
            query[index] += 1
    if unknown_letters > 2:
        return frozenset()
    difference = np.abs(vocabulary.counts[low:high] - query).sum(axis=1) + unknown_letters
    close = np.flatnonzero(difference <= 4)
    return frozenset(
        candidate
        for candidate in (vocabulary.words[low + i] for i in close)
        if jellyfish.damerau_levenshtein_distance(word, candidate) <= 2
    )


def _match_case(original: str, suggestion: str) -> str:
    if original[:1].isupper():
        return suggestion[:1].upper() + suggestion[1:]
    return suggestion


def _suggestions(checker: SpellChecker, language: str, word: str) -> list[dict[str, Any]]:
    lowered = word.lower()
    candidates = checker.candidates(lowered) or set()
    candidates.discard(lowered)
    if not candidates:
        candidates = set(_distance2(language, lowered))
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


def _known_with_apostrophe(checker: SpellChecker, word: str) -> bool:
    """Possessives and elisions the dictionaries do not list: "children's", "l'adresse", "dell'anno"."""
    lowered = word.lower()
    if "'" not in lowered:
        return False
    if lowered.endswith("'s") and checker.known([lowered[:-2]]):
        return True
    prefix, _, rest = lowered.partition("'")
    return len(prefix) <= 5 and bool(rest) and bool(checker.known([rest]))


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
        if normalized.lower() not in unknown or _known_with_apostrophe(checker, normalized):
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
