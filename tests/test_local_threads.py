"""The offline `local` provider called from several threads at once gives exactly the single-threaded result.

Dask's threaded scheduler runs partitions on a thread pool, and users call `df.eden` from their own threads: every
backend must keep its per-call state to itself. Each test here starts the same call on several threads at the same
instant (a barrier) and compares every result with the single-threaded one. The inputs are varied texts of one to
six sentences, so that a shared sentence splitter (the pysbd Segmenter edenframe once shared) would mix the texts
up; the interpreter also switches threads far more often than usual while they run. Backends needing an optional
extra or a Debian binary are skipped when it is missing.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import require_extra

import edenframe
from edenframe import MissingDependencyError, ValidationError, datasets
from edenframe._local import IMPLEMENTATIONS

THREADS = 4
# rows per call: enough for the cheap text backends to interleave on every chunk; fewer for the neural ones
MANY, FEW = 160, 8


def _texts(rows: int, seed: int = 7) -> list[str]:
    """Texts of one to six sample reviews each (some in other languages), all different."""
    reviews = datasets.reviews()["review"].dropna()
    pool = [text for text in reviews if text.strip()]
    rng = random.Random(seed)
    return [f"{i}. " + " ".join(rng.sample(pool, rng.randint(1, 6))) for i in range(rows)]


def _text_frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"text": _texts(rows)}, index=pd.RangeIndex(100, 100 + rows, name="id"))


def _images(folder: Path) -> pd.DataFrame:
    """Images with a few lines of text, of different sizes, as local paths."""
    Image = pytest.importorskip("PIL.Image")
    ImageDraw = pytest.importorskip("PIL.ImageDraw")
    ImageFont = pytest.importorskip("PIL.ImageFont")
    font = ImageFont.load_default(size=28)
    if not isinstance(font, ImageFont.FreeTypeFont):
        pytest.skip("Pillow is built without FreeType: no scalable font to draw text with")
    paths = []
    for i, text in enumerate(_texts(4, seed=3)):
        words = text.split()[:12]
        lines = [" ".join(words[k : k + 6]) for k in range(0, len(words), 6)]
        image = Image.new("RGB", (500 + 40 * i, 60 + 44 * len(lines)), "white")
        draw = ImageDraw.Draw(image)
        for k, line in enumerate(lines):
            draw.text((20, 20 + 44 * k), line, fill="black", font=font)
        path = folder / f"page{i}.png"
        image.save(path)
        paths.append(str(path))
    return pd.DataFrame({"file": paths})


def _faces(folder: Path) -> pd.DataFrame:
    """Matplotlib's portrait of Grace Hopper at several sizes and crops (or drawn images without it)."""
    Image = pytest.importorskip("PIL.Image")
    portrait = None
    try:
        import importlib.util

        spec = importlib.util.find_spec("matplotlib")
        if spec is not None and spec.submodule_search_locations:
            found = Path(next(iter(spec.submodule_search_locations))) / "mpl-data/sample_data/grace_hopper.jpg"
            portrait = Image.open(found).convert("RGB") if found.exists() else None
    except (ImportError, OSError):
        portrait = None
    paths = []
    for i in range(4):
        if portrait is not None:
            w, h = portrait.size
            image = portrait.crop((i * 8, i * 6, w - i * 5, h - i * 4)).resize((200 + 50 * i, 240 + 60 * i))
        else:
            image = Image.effect_noise((320 + 40 * i, 240 + 30 * i), 40 + 10 * i).convert("RGB")
        path = folder / f"face{i}.png"
        image.save(path)
        paths.append(str(path))
    return pd.DataFrame({"file": paths})


# subfeature -> (method, options, input frame maker)
Inputs = Callable[[Path], pd.DataFrame]
CALLS: dict[str, tuple[str, dict[str, Any], Inputs]] = {
    "text/sentiment_analysis": ("sentiment", {}, lambda _: _text_frame(MANY)),
    "translation/language_detection": ("detect_language", {}, lambda _: _text_frame(MANY)),
    "text/keyword_extraction": ("keywords", {}, lambda _: _text_frame(MANY // 2)),
    "text/summarize": ("summarize", {"output_sentences": 2}, lambda _: _text_frame(MANY)),
    "text/spell_check": ("spell_check", {}, lambda _: _text_frame(MANY // 2)),
    "text/moderation": ("moderate", {}, lambda _: _text_frame(MANY)),
    "text/anonymization": ("anonymize", {}, lambda _: _text_frame(MANY)),
    "text/embeddings": ("embed", {}, lambda _: _text_frame(FEW)),
    "text/topic_extraction": ("topics", {}, lambda _: _text_frame(FEW)),
    "text/search": ("search", {"query": "the battery does not last"}, lambda _: _text_frame(FEW)),
    "text/named_entity_recognition": ("ner", {}, lambda _: _text_frame(3 * FEW)),
    "text/syntax_analysis": ("syntax", {}, lambda _: _text_frame(3 * FEW)),
    "translation/automatic_translation": (
        "translate",
        {"source_language": "en", "target_language": "es"},
        lambda _: _text_frame(FEW),
    ),
    "ocr/ocr": ("ocr", {}, _images),
    "image/face_detection": ("detect_faces", {}, _faces),
    "audio/text_to_speech": ("text_to_speech", {"language": "en"}, lambda _: _text_frame(FEW)),
}


def test_every_local_backend_is_covered() -> None:
    assert set(CALLS) == set(IMPLEMENTATIONS)


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch every 10 µs instead of every 5 ms, so that their steps interleave finely."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def _call(frame: pd.DataFrame, method: str, options: dict[str, Any]) -> pd.DataFrame:
    column = frame.columns[0]
    return getattr(frame.eden, method)(column, progress=False, **options)


def _at_once(work: Callable[[], pd.DataFrame], threads: int = THREADS) -> list[pd.DataFrame]:
    """`work()` on `threads` threads released together; their results (the first exception is raised)."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(k: int) -> None:
        barrier.wait()
        try:
            results[k] = work()
        except BaseException as exc:  # re-raised in the test's thread
            results[k] = exc

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def differing_rows(expected: pd.DataFrame, actual: pd.DataFrame) -> list[Any]:
    """Index labels of the rows whose values differ (compared as Python objects)."""
    assert list(actual.columns) == list(expected.columns)
    assert actual.index.equals(expected.index)
    left = expected.astype(object).to_dict("records")
    right = actual.astype(object).to_dict("records")
    return [label for label, a, b in zip(expected.index, left, right, strict=True) if repr(a) != repr(b)]


@pytest.mark.parametrize("path", list(CALLS))
def test_concurrent_calls_equal_the_single_threaded_result(
    path: str, tmp_path: Path, busy_switching: None, recwarn: pytest.WarningsRecorder
) -> None:
    method, options, make_input = CALLS[path]
    require_extra(IMPLEMENTATIONS[path][1])
    frame = make_input(tmp_path)
    try:
        expected = _call(frame, method, options)
    except MissingDependencyError as exc:  # an optional extra or Debian binary is not installed
        pytest.skip(str(exc))
    except ValidationError as exc:  # e.g. no English->Spanish Apertium pair installed
        if path == "translation/automatic_translation":
            pytest.skip(str(exc))
        raise
    error_column = f"{method}_error"
    assert expected[error_column].notna().sum() < len(frame), expected[error_column].dropna().head()

    for result in _at_once(lambda: _call(frame, method, options)):
        assert differing_rows(expected, result) == []
        pd.testing.assert_frame_equal(result, expected)


@pytest.mark.extra("local")
def test_first_calls_from_several_threads_agree(tmp_path: Path) -> None:
    """Threads that start before anything is loaded (VADER's lexicon, the sentence splitter) agree with a
    single-threaded call too: run in a fresh process, where nothing of the local provider is loaded yet."""
    frame = _text_frame(MANY)
    code = (
        "import sys, threading, pandas as pd, edenframe\n"
        "sys.setswitchinterval(1e-5)\n"
        "frame = pd.read_pickle(sys.argv[1])\n"
        f"barrier, out = threading.Barrier({THREADS}), []\n"
        "def run():\n"
        "    barrier.wait()\n"
        "    out.append(frame.eden.sentiment('text', progress=False))\n"
        f"threads = [threading.Thread(target=run) for _ in range({THREADS})]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "pd.to_pickle(out, sys.argv[2])\n"
    )
    source, target = tmp_path / "in.pkl", tmp_path / "out.pkl"
    frame.to_pickle(source)
    root = Path(edenframe.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", code, str(source), str(target)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = pd.read_pickle(target)
    assert len(results) == THREADS
    expected = _call(frame, "sentiment", {})
    for result in results:
        assert differing_rows(expected, result) == []
