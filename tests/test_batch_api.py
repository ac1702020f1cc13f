"""df.eden against EdenEmulator over loopback HTTP: the batch protocol, naming rules, faults and shapes."""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from helpers import required_params

import edenframe
from edenframe.testing import EdenEmulator, assert_rows_match


def reviews(n: int, *, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review number {i}: it was fine" for i in range(start, start + n)]})


def test_two_providers_over_batch_api(emulator: EdenEmulator) -> None:
    df = reviews(12)
    out = df.eden.sentiment("review", providers="google,amazon")
    assert list(out.columns[:1]) == ["review"]
    for provider in ("google", "amazon"):
        for field in ("general_sentiment", "general_sentiment_rate", "items", "cost", "error"):
            assert f"sentiment_{provider}_{field}" in out.columns
    assert_rows_match(out, df, "review", "sentiment", providers="google,amazon")
    assert out["sentiment_google_general_sentiment"].dtype == pd.CategoricalDtype(["Positive", "Negative", "Neutral"])
    assert out["sentiment_google_general_sentiment_rate"].dtype == np.float64
    assert isinstance(out["sentiment_google_items"].dtype, pd.ArrowDtype)
    report = out.attrs["edenframe"]
    assert report["rows"] == 12 and report["sent"] == 12 and report["failed"] == 0 and report["jobs"] == 1
    assert report["providers"] == ["google", "amazon"]
    assert report["cost"] == pytest.approx(out["sentiment_google_cost"].sum() + out["sentiment_amazon_cost"].sum())
    launches = [c for c in emulator.calls if c.method == "POST"]
    assert len(launches) == 1
    item = launches[0].json["requests"][0]
    assert item["providers"] == "google,amazon" and item["name"].startswith("ef-")


def test_single_provider_column_names(emulator: EdenEmulator) -> None:
    out = reviews(3).eden.translate("review", target_language="fr", providers="deepl")
    assert list(out.columns) == ["review", "translate_text", "translate_cost", "translate_error"]
    assert_rows_match(out, out, "review", "translate", providers="deepl", target_language="fr")
    assert out["translate_text"].dtype == pd.StringDtype()


def test_provider_with_model_slug(emulator: EdenEmulator) -> None:
    out = reviews(2).eden.run("text/sentiment_analysis", "review", providers=["openai/gpt-4o", "google"])
    assert "sentiment_analysis_openai_gpt_4o_general_sentiment" in out.columns
    assert out["sentiment_analysis_openai_gpt_4o_error"].isna().all()


TEXT_SUBFEATURES = [e for e in edenframe._catalog.all_subfeatures() if e.input_kind != "file" and not e.v3_only]


@pytest.mark.parametrize("entry", TEXT_SUBFEATURES, ids=lambda e: e.path)
def test_every_text_subfeature_through_run(emulator: EdenEmulator, entry: edenframe.Subfeature) -> None:
    params = required_params(entry)
    texts = ["first input", "second input", None, "first input", "third one"]
    df = pd.DataFrame({"text": texts}, index=[5, 3, 9, 1, 7])
    out = df.eden.run(entry.path, "text", providers="synthetic", **params)
    assert out.index.equals(df.index)
    prefix = entry.subfeature
    for field, t in entry.row_output.fields:
        assert out[f"{prefix}_{field}"].dtype == t.dtype(), field
    assert_rows_match(out, df, "text", entry.path, providers="synthetic", **params)
    report = out.attrs["edenframe"]
    assert report["skipped"] == 1 and report["deduplicated"] == 1


def test_more_than_500_rows_and_more_than_5_jobs(make_emulator: Callable[..., EdenEmulator]) -> None:
    emu = make_emulator(job_seconds=0.2, page_size=150, settings={"poll_interval": 0.02})
    df = reviews(3100)
    out = df.eden.sentiment("review", providers="google")
    assert out["sentiment_error"].isna().all()
    assert out.attrs["edenframe"]["jobs"] == 7
    assert 1 < emu.max_running_seen <= 5
    pages = {c.query.get("page") for c in emu.calls if c.method == "GET"}
    assert {"1", "2", "3", "4"} <= pages
    assert [c.status for c in emu.calls if c.method == "DELETE"] == [204] * 7
    sample = out.sample(200, random_state=1)
    assert_rows_match(sample, df.loc[sample.index], "review", "sentiment", providers="google")


def test_small_windows_stream_without_misplacing_anything(emulator: EdenEmulator) -> None:
    edenframe.configure(window_units=37, batch_size=20)
    texts = [f"text {i % 150}" for i in range(400)]  # duplicates across windows
    df = pd.DataFrame({"review": texts}, index=np.arange(400)[::-1])
    out = df.eden.sentiment("review", providers="google,amazon")
    assert_rows_match(out, df, "review", "sentiment", providers="google,amazon")
    report = out.attrs["edenframe"]
    # 150 distinct texts in windows of 37 (37, 37, 37, 37, 2), each cut into jobs of at most 20: 2+2+2+2+1
    assert report["sent"] == 150 and report["deduplicated"] == 250 and report["jobs"] == 9
    emb = df.eden.embed("review", providers="openai")
    assert_rows_match(emb, df, "review", "embed", providers="openai")


def test_failed_requests_provider_failures_and_failed_items(make_emulator: Callable[..., EdenEmulator]) -> None:
    bad_launch, bad_provider, bad_request = "reject me at launch", "provider fails here", "request fails here"
    make_emulator(fail_inputs=[bad_launch], provider_fail_inputs=[bad_provider], request_fail_inputs=[bad_request])
    df = pd.DataFrame({"review": ["fine", bad_launch, bad_provider, bad_request, "also fine"]}, index=list("abcde"))
    with pytest.warns(edenframe.RowErrorWarning, match="3 of 5 rows failed"):
        out = df.eden.sentiment("review", providers="google")
    errors = out["sentiment_error"]
    assert errors[["a", "e"]].isna().all()
    assert "rejected" in errors["b"]
    assert "google" in errors["c"]
    assert "failed" in errors["d"]
    assert out.loc[["b", "c", "d"], "sentiment_general_sentiment"].isna().all()
    assert out.attrs["edenframe"]["failed"] == 3
    assert_rows_match(out.loc[["a", "e"]], df.loc[["a", "e"]], "review", "sentiment", providers="google")


def test_errors_raise_keeps_the_result(make_emulator: Callable[..., EdenEmulator]) -> None:
    make_emulator(provider_fail_inputs=["boom"])
    df = pd.DataFrame({"review": ["ok", "boom"]})
    with pytest.raises(edenframe.RowErrors) as caught:
        df.eden.sentiment("review", providers="google", errors="raise")
    assert list(caught.value.errors.index) == [1]
    assert caught.value.result["sentiment_error"].notna().tolist() == [False, True]


@pytest.mark.parametrize("switch", ["omit_status", "add_eden_ai", "extra_keys"])
def test_tolerant_parsing(make_emulator: Callable[..., EdenEmulator], switch: str) -> None:
    make_emulator(**{switch: True})
    out = reviews(4).eden.keywords("review", providers="amazon")
    assert out["keywords_error"].isna().all()
    assert_rows_match(out, out, "review", "keywords", providers="amazon")


def test_transient_faults_lose_nothing(make_emulator: Callable[..., EdenEmulator]) -> None:
    faults = {"rate_limit": 0.2, "server_error": 0.1, "drop_connection": 0.05, "retry_after": 0.01, "seed": 7}
    emu = make_emulator(**faults, settings={"max_retries": 12})
    df = reviews(1200)
    out = df.eden.sentiment("review", providers="google")
    statuses = [c.status for c in emu.calls]
    assert 429 in statuses and 500 in statuses
    assert out["sentiment_error"].isna().all()
    sample = out.sample(150, random_state=2)
    assert_rows_match(sample, df.loc[sample.index], "review", "sentiment", providers="google")
    charged = [(c.name, c.provider) for c in emu.ledger]
    assert len(charged) == len(set(charged)) == 1200


def test_packed_subfeatures_map_items_back_to_rows(emulator: EdenEmulator) -> None:
    texts = [f"sentence {i}" for i in range(250)]
    df = pd.DataFrame({"t": texts[::-1]}, index=np.arange(250) * 3)
    out = df.eden.embed("t", providers="openai")
    assert out.attrs["edenframe"]["sent"] == math.ceil(250 / 96)
    assert_rows_match(out, df, "t", "embed", providers="openai")
    matrix = out.eden.matrix("embed_embedding")
    assert matrix.dtype == np.float32 and matrix.shape == (250, 8)
    ranked = df.eden.search("t", query="sentence 7", providers="openai")
    assert_rows_match(ranked, df, "t", "search", providers="openai", query="sentence 7")


def test_explode_gives_long_format(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"review": ["one text", None, "another text"]}, index=["x", "y", "z"])
    out = df.eden.keywords("review", providers="amazon")
    long = out.eden.explode("keywords_items")
    assert list(long.columns) == ["keyword", "importance"]
    lengths = out["keywords_items"].list.len()
    assert long.index.tolist() == ["x"] * int(lengths["x"]) + ["y"] + ["z"] * int(lengths["z"])
    first = out["keywords_items"]["x"][0]
    assert long.loc["x"].iloc[0]["keyword"] == first["keyword"]
    wide = out.eden.explode("keywords_items", keep_columns=True)
    assert list(wide.columns[:2]) == ["review", "keywords_cost"]


def test_sync_call_inside_running_event_loop(emulator: EdenEmulator) -> None:
    async def notebook_cell() -> pd.DataFrame:
        return reviews(3).eden.sentiment("review", providers="google")

    out = asyncio.run(notebook_cell())
    assert_rows_match(out, out, "review", "sentiment", providers="google")


async def test_arun() -> None:
    async with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        out = await reviews(4).eden.arun("text/named_entity_recognition", "review", providers="google")
    assert_rows_match(out, out, "review", "text/named_entity_recognition", providers="google")


def test_series_accessor(emulator: EdenEmulator) -> None:
    s = pd.Series(["good", "bad"], name="comment", index=[10, 20])
    out = s.eden.sentiment(providers="google")
    assert list(out.columns[:2]) == ["comment", "sentiment_general_sentiment"]
    assert out.index.tolist() == [10, 20]


def test_no_warning_when_all_rows_succeed(emulator: EdenEmulator) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reviews(3).eden.sentiment("review", providers="google")


def test_sync_calls_from_several_threads_keep_filters_and_their_own_warnings(
    make_emulator: Callable[..., EdenEmulator],
) -> None:
    # Each call's warnings are held for it and issued at its caller's line; the process's filters stay as they were.
    from concurrent.futures import ThreadPoolExecutor

    def failing(i: int) -> pd.DataFrame:
        frame = pd.DataFrame({"review": ["provider fails here", f"fine {i}"]})
        return frame.eden.sentiment("review", providers="google", progress=False)  # warns: 1 of 2 rows failed

    def clean(i: int) -> pd.DataFrame:
        frame = pd.DataFrame({"review": [f"clean {i}", f"also clean {i}"]})
        return frame.eden.sentiment("review", providers="google", progress=False)

    make_emulator(provider_fail_inputs=["provider fails here"], settings={"poll_interval": 0.005, "cache": False})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        with ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(lambda i: failing(i) if i % 2 else clean(i), range(16)))
        after = list(warnings.filters)
    assert after == before
    row_warnings = [w for w in caught if issubclass(w.category, edenframe.RowErrorWarning)]
    assert len(row_warnings) == 8
    failing_line = failing.__code__.co_firstlineno + 2
    assert {(w.filename, w.lineno) for w in row_warnings} == {(__file__, failing_line)}
    assert all("1 of 2 rows failed" in str(w.message) for w in row_warnings)
    assert [int(out["sentiment_error"].notna().sum()) for out in outs] == [i % 2 for i in range(16)]


@pytest.mark.extra("local")
def test_progress_bar_counts_rows_once_each(
    make_emulator: Callable[..., EdenEmulator], capfd: pytest.CaptureFixture[str]
) -> None:
    # 6 rows: one missing (never sent, not counted), two pairs of duplicates; each distinct input goes to the local
    # engine and to the batch API, and each of its rows counts once, when both have answered.
    frame = pd.DataFrame({"review": ["good", "good", "bad", None, "meh", "meh"]})
    make_emulator(settings={"poll_interval": 0.005})
    for attempt in ("first run", "rerun: google's answers come from the cache"):
        out = frame.eden.sentiment("review", providers="local,google", progress=True)
        assert out.attrs["edenframe"]["failed"] == 0, attempt
        bar = capfd.readouterr().err.replace("\r", "\n").strip().splitlines()
        final = [line for line in bar if "eden sentiment" in line][-1]
        assert "5/5 " in final and "row" in final, (attempt, final)
        assert not any(f"{n}/5" in line for line in bar for n in range(6, 12)), (attempt, bar)
