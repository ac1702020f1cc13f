"""`edenframe.testing.assert_rows_match`, the row oracle offered to users: it passes on a real result and fails,
naming the row, the column and both values, on every way a result can put a value on the wrong row."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from edenframe.testing import EdenEmulator, assert_rows_match, expected_row

TEXTS = ["great product", "the screen broke", None, "it works", "   ", "great product"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"review": TEXTS, "stars": range(len(TEXTS))}, index=[f"r{i}" for i in (5, 2, 9, 0, 7, 3)])


def test_a_true_result_passes_with_providers_and_prefix_found_alone(
    emulator: EdenEmulator, frame: pd.DataFrame
) -> None:
    out = frame.eden.sentiment("review", providers="google,amazon")
    assert_rows_match(out, frame, "review", "sentiment")  # providers from the report, prefix from the columns
    assert_rows_match(out, frame, "review", "text/sentiment_analysis", providers=["google", "amazon"])
    ran = frame.eden.run("text/sentiment_analysis", "review", providers="google")
    assert_rows_match(ran, frame, "review", "text/sentiment_analysis")  # run's prefix is the subfeature name
    named = frame.eden.translate("review", providers="deepl", target_language="fr", prefix="fr")
    assert_rows_match(named, frame, "review", "translate", prefix="fr", target_language="fr")
    embedded = frame.eden.embed("review", providers="cohere")  # packed: each row's own item
    assert_rows_match(embedded, frame, "review", "embed")


def test_a_shuffled_result_fails_naming_row_column_and_values(emulator: EdenEmulator, frame: pd.DataFrame) -> None:
    out = frame.eden.sentiment("review", providers="google")
    shuffled = out.copy()
    new = [c for c in out.columns if c.startswith("sentiment_")]
    # the result values rotated by one row against an unchanged index: every value on its neighbour's row
    shuffled[new] = out[new].iloc[np.roll(np.arange(len(out)), 1)].set_axis(out.index)
    with pytest.raises(AssertionError) as info:
        assert_rows_match(shuffled, frame, "review", "sentiment", providers="google")
    message = str(info.value)
    assert message.startswith("text/sentiment_analysis: ")
    # row r5 ("great product") now holds r3's values (also "great product": equal), so the first to differ is r2,
    # which holds r5's
    great, broke = (expected_row("sentiment", "google", text) for text in ("great product", "the screen broke"))
    assert great["general_sentiment"] != broke["general_sentiment"]  # (else this test proves nothing)
    assert (
        "row 'r2' (position 1, input 'the screen broke'), column 'sentiment_general_sentiment': values differ\n"
        f"  [result]:   {great['general_sentiment']!r}\n  [expected]: {broke['general_sentiment']!r}"
    ) in message
    # the blank row r9 now carries the values of r2, and r0 ("it works") the NA of the blank row before it
    assert "row 'r9' (position 2, input NA), column 'sentiment_general_sentiment'" in message
    assert "row 'r0' (position 3, input 'it works'), column 'sentiment_general_sentiment'" in message
    assert "  [expected]: NA" in message and "  [result]:   NA" in message


def test_a_value_moved_within_a_column_is_caught(emulator: EdenEmulator, frame: pd.DataFrame) -> None:
    out = frame.eden.embed("review", providers="cohere")
    swapped = out.copy()
    column = swapped["embed_embedding"]
    values = column.tolist()
    values[0], values[1] = values[1], values[0]
    swapped["embed_embedding"] = pd.Series(values, index=column.index, dtype=column.dtype)
    with pytest.raises(AssertionError, match=re.escape("row 'r5' (position 0, input 'great product'), column "
                                                       "'embed_embedding': values differ")):  # fmt: skip
        assert_rows_match(swapped, frame, "review", "embed")


def test_failed_rows_and_wrong_dtypes_and_indexes_are_named(
    make_emulator: Callable[..., EdenEmulator], frame: pd.DataFrame
) -> None:
    make_emulator(provider_fail_inputs=["the screen broke"])
    with pytest.warns(UserWarning):
        out = frame.eden.sentiment("review", providers="google")
    with pytest.raises(AssertionError, match=r"row 'r2' .*column 'sentiment_error': the row failed: .*google"):
        assert_rows_match(out, frame, "review", "sentiment")
    ok = out.drop(index="r2")
    assert_rows_match(ok, frame.drop(index="r2"), "review", "sentiment")

    retyped = ok.astype({"sentiment_general_sentiment": "string"})
    with pytest.raises(
        AssertionError, match="'sentiment_general_sentiment' has dtype string; the catalog says category"
    ):
        assert_rows_match(retyped, frame.drop(index="r2"), "review", "sentiment")
    assert_rows_match(retyped, frame.drop(index="r2"), "review", "sentiment", check_dtype=False)

    with pytest.raises(AssertionError, match="the result's index differs from the input's"):
        assert_rows_match(ok.sort_index(), frame.drop(index="r2"), "review", "sentiment")
    with pytest.raises(AssertionError, match="no text/sentiment_analysis columns prefixed 'sentiment' or "):
        assert_rows_match(ok, frame.drop(index="r2"), "review", "sentiment", providers="google,amazon")
    with pytest.raises(AssertionError, match=r"row 'r5' .*'sentiment_general_sentiment': values differ"):
        assert_rows_match(ok, frame.drop(index="r2"), "review", "sentiment", providers="amazon")  # not its answers
    with pytest.raises(AssertionError, match="no column 'mood_general_sentiment'"):
        assert_rows_match(ok, frame.drop(index="r2"), "review", "sentiment", prefix="mood")


@pytest.mark.extra("local")
def test_a_series_result_and_the_local_provider(frame: pd.DataFrame) -> None:
    series = frame["review"]
    out = series.eden.sentiment(providers="local", progress=False)
    assert_rows_match(out, series, None, "sentiment")


def test_the_testing_page_example_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """docs/testing.md's "In a test" fixture and test, run as written."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"^```python\n(.*?)^```$", page, flags=re.S | re.M) if "def test_" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, "docs/testing.md", "exec"), namespace)  # our own docs
    fixture = namespace["eden"].__wrapped__(monkeypatch, tmp_path)  # the generator under @pytest.fixture
    emu = next(fixture)
    try:
        namespace["test_pipeline_labels_every_review"](emu)
    finally:
        fixture.close()
