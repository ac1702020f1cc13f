"""Property tests: whatever the index and the inputs, every value lands on its own row, on the v2 batch API and on
v3 (one request per distinct input; embeddings packed and matched by `data[].index`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edenframe
from edenframe.testing import EdenEmulator, assert_rows_match, expected_row

TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", "   ", "\n"]),
    st.sampled_from(["great product", "awful", "it works", "great product"]),
    st.text(min_size=1, max_size=30),
)


# What DESIGN.md calls blank: whitespace and characters that show nothing (zero-width spaces and joiners, word
# joiner, byte-order mark, soft hyphen, NUL); such texts are skipped, not sent.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00"


def _blank(text: str) -> bool:
    return not "".join(c for c in text if c not in _INVISIBLE).strip()


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    values = draw(st.lists(TEXTS, min_size=0, max_size=40))
    n = len(values)
    kind = draw(st.sampled_from(["range", "shuffled", "duplicated", "string", "datetime", "multi"]))
    if kind == "range":
        index: pd.Index = pd.RangeIndex(n)
    elif kind == "shuffled":
        index = pd.Index(draw(st.permutations(list(range(n)))))
    elif kind == "duplicated":
        index = pd.Index(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    elif kind == "string":
        index = pd.Index([f"row-{i}" for i in draw(st.permutations(list(range(n))))])
    elif kind == "datetime":
        index = pd.DatetimeIndex(pd.date_range("2026-01-01", periods=n, freq="h")[::-1])
    else:
        index = pd.MultiIndex.from_arrays([[i % 3 for i in range(n)], [f"k{i}" for i in range(n)]])
    frame = pd.DataFrame({"text": pd.Series(values, dtype=object, index=index), "other": np.arange(n)}, index=index)
    if draw(st.booleans()):
        frame["text"] = frame["text"].astype("category")
    return frame


def connect(emulator: EdenEmulator, api: str) -> None:
    """Point edenframe at the emulator's v2 batch API or its v3 API (one request per distinct input, paced by an
    account budget set high enough not to slow the test)."""
    base_url = emulator.base_url_v3 if api == "v3" else emulator.base_url
    edenframe.configure(
        api_key=emulator.api_key, base_url=base_url, poll_interval=0.005, window_units=7, rate_limit=5000.0
    )


APIS = pytest.mark.parametrize("api", ["v2", "v3"])


@APIS
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames())
def test_every_value_on_its_own_row(emulator: EdenEmulator, api: str, frame: pd.DataFrame) -> None:
    connect(emulator, api)
    out = frame.eden.run("translation/automatic_translation", "text", providers="google", target_language="de")
    assert out.index.equals(frame.index)
    pd.testing.assert_frame_equal(out[["text", "other"]], frame)
    assert_rows_match(out, frame, "text", "translation/automatic_translation", providers="google", target_language="de")
    sendable = sum(not pd.isna(value) and not _blank(str(value)) for value in frame["text"])
    report = out.attrs["edenframe"]
    assert report["skipped"] == len(frame) - sendable
    assert report["sent"] + report["cached"] + report["deduplicated"] == sendable
    assert all(call.path.startswith(f"/{api}/") for call in emulator.calls)


@APIS
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames())
def test_packed_rows_align(emulator: EdenEmulator, api: str, frame: pd.DataFrame) -> None:
    connect(emulator, api)
    out = frame.eden.embed("text", providers="cohere")
    assert out.index.equals(frame.index)
    assert_rows_match(out, frame, "text", "embed", providers="cohere")
    assert all(call.path.startswith(f"/{api}/") for call in emulator.calls)


def test_results_built_window_by_window_equal_one_window(emulator: EdenEmulator) -> None:
    # Each window's results become one chunk of the columns: the frame must not depend on where windows cut.
    texts = [f"review {i}: {'great' if i % 3 else 'awful'} product" for i in range(23)]
    texts += [None, "review 1: great product"]  # a skipped row and a duplicate
    frame = pd.DataFrame({"text": texts}, index=[f"r{i}" for i in range(len(texts))])[::-1]
    edenframe.configure(api_key=emulator.api_key, base_url=emulator.base_url, poll_interval=0.005, cache=False)
    whole = frame.eden.sentiment("text", providers="google,amazon")
    embedded_whole = frame.eden.embed("text", providers="cohere")
    edenframe.configure(window_units=4)
    windowed = frame.eden.sentiment("text", providers="google,amazon")
    embedded = frame.eden.embed("text", providers="cohere")
    pd.testing.assert_frame_equal(windowed, whole)
    assert_rows_match(windowed, frame, "text", "sentiment", providers="google,amazon")
    assert isinstance(windowed["sentiment_google_general_sentiment"].dtype, pd.CategoricalDtype)
    assert windowed["sentiment_google_items"].dtype == whole["sentiment_google_items"].dtype
    # (packed requests are cut at window edges, so only the cost column may differ: its requests differ)
    pd.testing.assert_frame_equal(embedded.drop(columns="embed_cost"), embedded_whole.drop(columns="embed_cost"))
    sendable = embedded.dropna(subset=["embed_embedding"])
    matrix = sendable.eden.matrix("embed_embedding")
    assert matrix.shape[0] == len(texts) - 1
    want = expected_row("text/embeddings", "cohere", "review 5: great product")["embedding"]
    np.testing.assert_array_equal(matrix[list(sendable.index).index("r5")], np.asarray(want, dtype=np.float32))
