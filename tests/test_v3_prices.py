"""Prices on Eden AI v3: `dry_run` and `max_cost` estimate from the prices `GET /v3/info` serves (the documented
`V3_MODELS` when it cannot be read), `refresh_prices` re-reads them, `edenframe.models()` lists them, and
`chat_cost` prices LLM answers from `GET /v3/models`. Through the public API against the emulator's v3 URL."""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from helpers import sent

import edenframe
from edenframe._prices import chat_cost, v3_quantity
from edenframe.testing import EdenEmulator

MODERATION = "text/moderation"
TEXTS = ["hello world", "a second, longer text to moderate", "hello world", "three"]


@pytest.fixture
def v3(make_emulator: Callable[..., EdenEmulator]) -> Callable[..., EdenEmulator]:
    """`v3(**options)`: an emulator edenframe is configured to use through its v3 URL."""

    def start(**options: object) -> EdenEmulator:
        emu = make_emulator(connect=False, **options)
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, poll_interval=0.01, backoff_base=0.01)
        return emu

    return start


def frame(texts: list[str] = TEXTS) -> pd.DataFrame:
    return pd.DataFrame({"text": texts})


def distinct_chars(texts: list[str] = TEXTS) -> list[int]:
    return [len(t) for t in dict.fromkeys(texts)]


# -- dry_run ---------------------------------------------------------------------------------------------------------


def test_dry_run_on_v3_prices_each_request_from_the_served_prices(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3()
    plan = frame().eden.moderate("text", providers="google,microsoft", dry_run=True)
    # google: $5 per 1,000,000 chars; microsoft: $1 per 1,000 requests (GET /v3/info, as the feature page lists)
    expected = [n * 5 / 1_000_000 + 1 / 1000 for n in distinct_chars()]
    assert plan["estimated_cost"].tolist() == pytest.approx(expected)
    report = plan.attrs["edenframe"]
    assert report["estimated_cost"] == pytest.approx(sum(expected))
    assert report["unpriced_providers"] == [] and report["price_notes"] == []
    assert sent(emu) == []  # the info read only
    assert [c.path for c in emu.calls] == ["/v3/info"]


def test_changed_prices_change_the_estimate(v3: Callable[..., EdenEmulator]) -> None:
    v3(v3_prices={"text/moderation/google": (50.0, 1_000_000, "char"), "text/moderation/microsoft": 3.0})
    plan = frame().eden.moderate("text", providers="google,microsoft", dry_run=True)
    expected = [n * 50 / 1_000_000 + 3 / 1000 for n in distinct_chars()]
    assert plan["estimated_cost"].tolist() == pytest.approx(expected)


def test_a_model_without_a_price_is_nan_with_a_note_never_zero(v3: Callable[..., EdenEmulator]) -> None:
    v3()
    plan = frame().eden.moderate("text", providers="google,synthetic", dry_run=True)
    assert plan["estimated_cost"].isna().all()
    report = plan.attrs["edenframe"]
    assert report["unpriced_providers"] == ["synthetic"]
    assert any("synthetic" in note and "no price listed" in note for note in report["price_notes"])
    assert report["estimated_cost"] == 0.0  # the known part: google's estimate is counted only where it is whole


def test_per_minute_text_to_speech_is_estimated_from_the_text_length_with_a_note(
    v3: Callable[..., EdenEmulator],
) -> None:
    v3()
    text = "x" * 150  # 10 s of speech at 15 characters a second
    plan = frame([text]).eden.text_to_speech("text", providers="google/gemini-2.5-flash-tts", dry_run=True)
    assert plan["estimated_cost"].tolist() == pytest.approx([0.006 * 10 / 60])  # $0.006 per minute
    assert any("characters a second" in note for note in plan.attrs["edenframe"]["price_notes"])


def test_a_local_pdf_is_priced_by_its_pages_a_url_by_one_page(v3: Callable[..., EdenEmulator], tmp_path: Path) -> None:
    v3()
    pdf = tmp_path / "three.pdf"
    pages = b"".join(b"%d 0 obj << /Type /Page /Parent 1 0 R >> endobj\n" % (i + 2) for i in range(3))
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 3 >> endobj\n" + pages + b"%%EOF\n")
    df = pd.DataFrame({"doc": [str(pdf), "https://example.com/scan.png"]})
    plan = df.eden.ocr("doc", providers="amazon", language="en", dry_run=True)
    assert plan["estimated_cost"].tolist() == pytest.approx([3 * 1.5 / 1000, 1.5 / 1000])  # $1.5 per 1,000 pages
    assert any("1 page assumed" in note for note in plan.attrs["edenframe"]["price_notes"])


def test_audio_length_comes_from_a_local_wav_else_a_documented_assumption(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000 * 3)  # 3 seconds
    # speech to text (priced per second) joins the catalog on another branch: any file entry reads the same way
    entry = edenframe.get_subfeature("ocr/ocr")
    seconds, note = v3_quantity(entry, "second", {"file": buffer.getvalue()})
    assert seconds == pytest.approx(3.0) and note is None
    minutes, note = v3_quantity(entry, "minute", {"file": b"not audio"})
    assert minutes == pytest.approx(1.0) and note is not None and "60 s assumed" in note
    assert v3_quantity(entry, "exec_time", {"file": b""})[0] is None


# -- the fallback and the refresh ---------------------------------------------------------------------------------


def test_the_documented_prices_answer_when_v3_info_cannot_be_read(v3: Callable[..., EdenEmulator]) -> None:
    # the served prices are ten times the documented ones, but /v3/info answers 503: V3_MODELS prices the plan
    v3(info_status=503, v3_prices={"text/moderation/google": (50.0, 1_000_000, "char")})
    plan = frame().eden.moderate("text", providers="google", dry_run=True)
    assert plan["estimated_cost"].tolist() == pytest.approx([n * 5 / 1_000_000 for n in distinct_chars()])
    notes = plan.attrs["edenframe"]["price_notes"]
    assert any("documented table" in note and "unread" in note for note in notes)  # the report says whose prices


def test_refresh_prices_reads_v3_info_again_and_the_estimates_follow(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3()
    before = frame().eden.moderate("text", providers="google", dry_run=True)
    emu.v3_prices["text/moderation/google"] = (20.0, 1_000_000, "char")  # Eden AI changes its price
    cached = frame().eden.moderate("text", providers="google", dry_run=True)
    assert cached["estimated_cost"].tolist() == before["estimated_cost"].tolist()  # read once an hour
    table = edenframe.refresh_prices(emu.base_url_v3)
    price = table.price(MODERATION, "google")
    assert price is not None and (price.price, price.per, price.unit) == (20.0, 1_000_000, "char")
    assert table.snapshot.startswith("live: ") and "audio/tts" in table.paths()
    after = frame().eden.moderate("text", providers="google", dry_run=True)
    assert after["estimated_cost"].tolist() == pytest.approx([n * 20 / 1_000_000 for n in distinct_chars()])


# -- max_cost ---------------------------------------------------------------------------------------------------------


def test_max_cost_on_v3_refuses_a_run_the_served_prices_put_above_it(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3(v3_prices={"text/moderation/microsoft": (1.0, 1, "request")})  # $1 a request, not $0.001
    with pytest.raises(edenframe.BudgetExceededError, match="estimated cost"):
        frame().eden.moderate("text", providers="microsoft", max_cost=2.5)
    assert sent(emu) == []


def test_max_cost_on_v3_stops_before_exceeding(v3: Callable[..., EdenEmulator]) -> None:
    # listed at $1 a request, billed at $2 (cost_factor): the estimate passes, the bill would not
    emu = v3(v3_prices={"text/moderation/microsoft": (1.0, 1, "request")}, cost_factor=2.0)
    texts = [f"text number {i}" for i in range(10)]
    with pytest.warns(edenframe.RowErrorWarning):
        out = frame(texts).eden.moderate("text", providers="microsoft", max_cost=10.0)
    spent = emu.total_cost
    assert spent <= 10.0 + 2.0  # within max_cost plus one request (the probe that learns the real price)
    report = out.attrs["edenframe"]
    assert report["budget_reached"] is True and report["not_sent"] >= 4
    assert report["cost"] == pytest.approx(spent)
    refused = out["moderate_error"].dropna()
    assert refused.str.startswith("not sent: the budget").all()


# -- edenframe.models() ---------------------------------------------------------------------------------------------


def test_models_lists_a_subfeature_with_the_served_prices(v3: Callable[..., EdenEmulator]) -> None:
    v3(v3_prices={"text/moderation/google": (7.0, 1_000_000, "char")})
    listed = edenframe.models("text/moderation")
    assert list(listed.columns) == ["model", "provider", "model_name", "price", "output_price", "per", "unit", "mode"]
    assert listed.dtypes.astype(str).tolist() == [
        "string", "string", "string", "float64", "float64", "Int64", "string", "string",
    ]  # fmt: skip
    google = listed.set_index("model").loc["text/moderation/google"]
    assert (google["provider"], google["price"], google["per"], google["unit"], google["mode"]) == (
        "google", 7.0, 1_000_000, "char", "sync",
    )  # fmt: skip
    assert pd.isna(google["model_name"])
    stable = listed.set_index("model").loc["text/moderation/openai/text-moderation-stable"]
    assert (stable["provider"], stable["model_name"], stable["unit"]) == ("openai", "text-moderation-stable", "free")
    assert math.isnan(listed.set_index("model").loc["text/moderation/synthetic", "price"])  # listed, no price
    assert listed.attrs["edenframe"]["live"] is True
    assert listed.equals(edenframe.models("moderate"))  # a method name


def test_models_takes_v2_paths_that_v3_renamed_and_lists_async_modes(v3: Callable[..., EdenEmulator]) -> None:
    v3()
    tts = edenframe.models("audio/text_to_speech")
    assert tts.attrs["edenframe"]["subfeature"] == "audio/tts"
    assert tts["model"].str.startswith("audio/tts/").all()
    assert "audio/tts/google/gemini-2.5-flash-tts" in set(tts["model"])
    assert set(edenframe.models("ocr/ocr_tables_async")["mode"]) == {"async"}


def test_models_llm_lists_chat_models_with_input_and_output_prices(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3(llm_prices={"openai/gpt-4o-mini": (0.15e-6, 0.6e-6)})
    llms = edenframe.models("llm").set_index("model")
    row = llms.loc["openai/gpt-4o-mini"]
    assert (row["price"], row["output_price"], row["per"], row["unit"]) == pytest.approx((0.15, 0.6, 1e6, "token"))
    assert ("GET", "/v3/models") in [(c.method, c.path) for c in emu.calls]


def test_models_errors_name_close_matches_and_the_llm_way(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3()
    with pytest.raises(edenframe.ValidationError, match="Did you mean 'moderate'"):
        edenframe.models("moderat")
    with pytest.raises(edenframe.ValidationError, match=r"models\('llm'\)"):
        edenframe.models("sentiment")
    assert emu.calls == []  # refused before any request


def test_models_fall_back_to_the_documented_list_with_a_warning(v3: Callable[..., EdenEmulator]) -> None:
    v3(info_status=503)
    with pytest.warns(RuntimeWarning, match="HTTP 503"):
        listed = edenframe.models("text/moderation")
    assert listed.attrs["edenframe"]["live"] is False
    google = listed.set_index("model").loc["text/moderation/google"]
    assert (google["price"], google["per"], google["unit"]) == (5.0, 1_000_000, "char")


# -- LLM chat cost ------------------------------------------------------------------------------------------------


def test_chat_cost_prices_an_answer_from_its_usage_and_a_request_from_its_prompt(
    v3: Callable[..., EdenEmulator],
) -> None:
    v3(llm_prices={"openai/gpt-4o-mini": (0.15e-6, 0.6e-6)})
    assert chat_cost("openai/gpt-4o-mini", {"prompt_tokens": 1000, "completion_tokens": 500}) == pytest.approx(
        1000 * 0.15e-6 + 500 * 0.6e-6
    )
    # a request not sent yet: chars / 4 tokens in, max_tokens (else a typical reply) out
    assert chat_cost("openai/gpt-4o-mini", prompt="x" * 400, max_tokens=50) == pytest.approx(
        100 * 0.15e-6 + 50 * 0.6e-6
    )
    assert chat_cost("openai/gpt-4o-mini", prompt=[{"role": "user", "content": "x" * 40}]) > 10 * 0.15e-6
    assert math.isnan(chat_cost("nobody/no-such-model", {"prompt_tokens": 1, "completion_tokens": 1}))


def test_chat_cost_falls_back_to_the_shipped_token_prices(v3: Callable[..., EdenEmulator]) -> None:
    v3(info_status=503, llm_prices={"openai/gpt-4o-mini": (1.0, 1.0)})  # served prices unreadable: not used
    price = edenframe.load_prices().price("text/chat", "openai/gpt-4o-mini")
    assert price is not None
    per_token = price.price / price.per
    assert chat_cost("openai/gpt-4o-mini", {"prompt_tokens": 10, "completion_tokens": 20}) == pytest.approx(
        30 * per_token
    )


def test_a_local_only_dry_run_on_v3_reads_no_prices(v3: Callable[..., EdenEmulator]) -> None:
    emu = v3()
    plan = frame().eden.sentiment("text", providers="local", dry_run=True)
    assert plan.attrs["edenframe"]["estimated_cost"] == 0.0
    assert emu.calls == []  # the offline engine is free: nothing to price, nothing to ask Eden AI
