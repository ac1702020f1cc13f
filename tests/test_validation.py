"""Every error of DESIGN.md "Errors before any request": a clear message, and nothing sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from helpers import sent

import edenframe
from edenframe.testing import EdenEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[EdenEmulator]:
    with EdenEmulator() as emu:
        yield emu


@pytest.fixture
def configured(emulator: EdenEmulator) -> EdenEmulator:
    edenframe.configure(api_key=emulator.api_key, base_url=emulator.base_url)
    emulator.reset()
    return emulator


DF = pd.DataFrame({"review": ["good", "bad"], "n": [1, 2]})
CLASHING = DF.assign(sentiment_error=[None, None])

CASES: list[Any] = [  # (case, call, error, message), or a pytest.param of one
    (
        "unknown column",
        lambda: DF.eden.sentiment("reveiw", providers="google"),
        edenframe.ValidationError,
        r"column 'reveiw' is not in the DataFrame\. Did you mean 'review'\?",
    ),
    (
        "unknown subfeature",
        lambda: DF.eden.run("text/sentiment", "review", providers="google"),
        edenframe.ValidationError,
        r"unknown subfeature 'text/sentiment'.*Did you mean",
    ),
    (
        "unknown parameter",
        lambda: DF.eden.sentiment("review", providers="google", langauge="en"),
        edenframe.ValidationError,
        r"unexpected parameter 'langauge'\. Did you mean 'language'\?",
    ),
    (
        "wrong parameter type",
        lambda: DF.eden.summarize("review", providers="openai", output_sentences="two"),
        edenframe.ValidationError,
        r"parameter 'output_sentences' must be an integer",
    ),
    (
        "missing required parameter",
        lambda: DF.eden.translate("review", providers="deepl"),
        edenframe.ValidationError,
        r"needs the parameter 'target_language'",
    ),
    (
        "column collision",
        lambda: CLASHING.eden.sentiment("review", providers="google"),
        edenframe.ValidationError,
        r"\['sentiment_error'\] already exist.*prefix=",
    ),
    (
        "non-text cells",
        lambda: DF.eden.sentiment("n", providers="google"),
        edenframe.ValidationError,
        r"column 'n' holds a value of type int \(1\) at row 0; .*astype\('string'\)",
    ),
    (
        "bad errors option",
        lambda: DF.eden.sentiment("review", providers="google", errors="ignore"),
        edenframe.ValidationError,
        r"errors must be 'collect' or 'raise'",
    ),
    (
        "no provider and no local implementation",
        lambda: DF.eden.generate("review"),
        edenframe.ValidationError,
        r"has no offline implementation, so name the provider",
    ),
    (
        "local provider without local implementation",
        lambda: DF.eden.generate("review", providers="local"),
        edenframe.ValidationError,
        r"'local' provider has no offline implementation of text/generation",
    ),
    (
        "enormous text",
        lambda: pd.DataFrame({"t": ["ok", "x" * 1_000_001]}).eden.sentiment("t", providers="google"),
        edenframe.ValidationError,
        r"row 1 has 1,000,001 characters, more than the 1,000,000 of edenframe's max_input_c",
    ),
    (
        "bad max_cost",
        lambda: DF.eden.sentiment("review", providers="google", max_cost="10"),
        edenframe.ValidationError,
        r"max_cost must be a non-negative number",
    ),
    (
        "bad transport",
        lambda: DF.eden.sentiment("review", providers="google", transport="carrier-pigeon"),
        edenframe.ValidationError,
        r"transport must be one of \['auto', 'batch', 'sync'\]",
    ),
    (
        "empty providers",
        lambda: DF.eden.sentiment("review", providers=" , "),
        edenframe.ValidationError,
        r"providers is empty",
    ),
    (
        "non-boolean flag",
        lambda: DF.eden.sentiment("review", providers="google", progress="yes"),
        edenframe.ValidationError,
        r"progress must be True or False, not 'yes'",
    ),
    (
        "empty prefix",
        lambda: DF.eden.sentiment("review", providers="google", prefix=""),
        edenframe.ValidationError,
        r"prefix must be a non-empty string such as 'review_sentiment', not ''",
    ),
    pytest.param(
        "fallback with the local provider",
        lambda: DF.eden.sentiment("review", providers="local", fallback_providers="google"),
        edenframe.ValidationError,
        r"the 'local' provider never calls it",
        marks=pytest.mark.extra("local"),
    ),
    (
        "column given twice",
        lambda: DF.eden.sentiment("review", column="review", providers="google"),
        edenframe.ValidationError,
        r"the input column is given twice \('review' and column='review'\)",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), CASES, ids=[getattr(c, "values", c)[0] for c in CASES])
def test_error_before_any_request(configured: EdenEmulator, case: str, call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        call()
    assert sent(configured) == []  # (provider lists may have been read)
    assert info.value.__context__ is None  # the traceback shows the error alone, nothing chained from edenframe


def test_unknown_method_is_attribute_error() -> None:
    with pytest.raises(AttributeError):
        DF.eden.sentimentt("review")  # type: ignore[attr-defined]


def test_remote_provider_without_key(emulator: EdenEmulator) -> None:
    emulator.reset()
    message = r"'google' run on Eden AI and need an API key.*EDENAI_API_KEY"
    with pytest.raises(edenframe.MissingAPIKeyError, match=message):
        DF.eden.sentiment("review", providers="google", base_url=emulator.base_url)
    assert emulator.calls == []


def test_collision_can_be_overwritten(configured: EdenEmulator) -> None:
    out = CLASHING.eden.sentiment("review", providers="google", overwrite=True)
    assert out["sentiment_error"].isna().all()
    assert list(out.columns).count("sentiment_error") == 1


@pytest.mark.parametrize("url", ["ftp://example.com/v2", "not a url", "http://user:pw@host/v2"])
def test_bad_base_url(url: str) -> None:
    with pytest.raises(edenframe.ValidationError, match="base_url"):
        edenframe.configure(base_url=url)


@pytest.mark.parametrize("url", ["https://api.edenai.run/v1", "https://api.edenai.run", "http://127.0.0.1:8080/"])
def test_a_base_url_must_name_the_api_version(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(edenframe.ValidationError, match=r"must end with.*/v3.*/v2"):
        edenframe.configure(base_url=url)
    with pytest.raises(edenframe.ValidationError, match=r"must end with.*/v3.*/v2"):
        pd.DataFrame({"t": ["x"]}).eden.ner("t", providers="amazon", api_key="k", base_url=url)
    monkeypatch.setenv("EDENAI_BASE_URL", url)
    with pytest.raises(edenframe.ValidationError, match=r"must end with.*/v3.*/v2"):
        pd.DataFrame({"t": ["x"]}).eden.ner("t", providers="amazon", api_key="k")


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("batch_size", 1000, "between 1 and 500"),
        ("batch_size", 2.5, "whole number"),
        ("batch_size", float("nan"), "whole number"),
        ("max_running_jobs", 0, "at least 1"),
        ("max_retries", -1, "at least 0"),
        ("window_units", True, "whole number"),
        ("poll_interval", 0, "positive number of seconds"),
        ("local_chunk_seconds", "fast", "positive number of seconds"),
        ("job_timeout", float("inf"), "positive number of seconds"),
        ("rate_limit", -5, "requests per second"),
        ("progress", "yes", "True or False"),
    ],
)
def test_bad_setting_is_refused_by_configure(configured: EdenEmulator, setting: str, value: Any, message: str) -> None:
    """Refused when set, naming the setting, rather than failing deep inside a later run."""
    with pytest.raises(edenframe.ValidationError, match=f"{setting} must .*{message}"):
        edenframe.configure(**{setting: value})
    out = pd.DataFrame({"text": ["fine"]}).eden.sentiment("text", providers="synthetic", progress=False)
    assert out["sentiment_error"].isna().all()  # the earlier, valid configuration is still in force


def test_numbers_of_any_numeric_type_are_accepted(configured: EdenEmulator) -> None:
    import numpy as np

    edenframe.configure(batch_size=np.int64(100), poll_interval=np.float32(0.01), max_retries=2.0, progress=np.False_)
    settings = edenframe._config.current_settings()
    assert (settings.batch_size, settings.max_retries, settings.progress) == (100, 2, False)
    assert type(settings.batch_size) is int and abs(settings.poll_interval - 0.01) < 1e-6
    out = pd.DataFrame({"text": ["fine"]}).eden.sentiment("text", providers="synthetic", dry_run=np.False_)
    assert out["sentiment_error"].isna().all()


def test_key_never_in_repr_or_errors(emulator: EdenEmulator) -> None:
    secret = "sk-very-secret-key-123"
    edenframe.configure(api_key=secret, base_url=emulator.base_url)
    settings = edenframe._config.current_settings()
    assert secret not in repr(settings) and secret not in str(settings)
    with pytest.raises(edenframe.APIError) as caught:
        DF.eden.sentiment("review", providers="google")  # the emulator rejects this key
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert "API key" in str(caught.value)


def test_column_by_keyword_is_the_input_column_and_the_axis_keeps_its_name(configured: EdenEmulator) -> None:
    by_keyword = DF.eden.sentiment(column="review", providers="google", cache=False)
    by_position = DF.eden.sentiment("review", providers="google", cache=False)
    via_run = DF.eden.run("text/sentiment_analysis", column="review", providers="google", cache=False)
    named = DF.rename_axis(columns="fields").eden.sentiment(column="review", providers="google", cache=False)
    assert named.columns.name == "fields"
    labels = by_position["sentiment_general_sentiment"].tolist()
    assert via_run["sentiment_analysis_general_sentiment"].tolist() == labels
    pd.testing.assert_frame_equal(by_keyword, by_position)
    assert by_keyword.attrs["edenframe"]["sent"] == 2


def test_text_of_invisible_characters_only_is_skipped_not_sent(configured: EdenEmulator) -> None:
    frame = pd.DataFrame({"t": ["\u200b", "\ufeff \u200b\n", " \x00 ", "\u00ad", "ok\u200b", "\u200bfine"]})
    out = frame.eden.sentiment("t", providers="google", cache=False)
    report = out.attrs["edenframe"]
    assert (report["skipped"], report["sent"]) == (4, 2)
    assert out["sentiment_general_sentiment"].isna().tolist() == [True, True, True, True, False, False]
    sent = [item["text"] for call in configured.calls if call.method == "POST" for item in call.json["requests"]]
    assert sorted(sent) == sorted(["ok\u200b", "\u200bfine"])


@pytest.mark.extra("local")
def test_misspelt_provider_without_key_is_named_with_the_closest_one(emulator: EdenEmulator) -> None:
    emulator.reset()
    with pytest.raises(edenframe.MissingAPIKeyError, match=r"'locl' is not a provider .* Did you mean 'local'\?"):
        DF.eden.sentiment("review", providers="locl", base_url=emulator.base_url)
    with pytest.raises(edenframe.MissingAPIKeyError, match=r"'gogle' is not a provider .* Did you mean 'google'\?"):
        DF.eden.sentiment("review", providers="gogle", base_url=emulator.base_url)
    assert emulator.calls == []
    out = DF.eden.sentiment("review", providers="LOCAL", progress=False)  # edenframe's own name, any case
    assert out.attrs["edenframe"]["providers"] == ["local"] and out.attrs["edenframe"]["failed"] == 0
