"""Eden AI v3 through the public API: the base URL's last segment picks the API, every v3-mapped method gives the
same columns and dtypes on the emulator's /v3 URL as on its /v2 URL, refusals come before any request, and the
account's rate limit (429, with and without Retry-After) costs no row."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import edenframe
from edenframe._catalog import get_subfeature
from edenframe._config import current_settings
from edenframe._v3_models import V3_MAPPINGS, models_of
from edenframe.testing import EdenEmulator
from edenframe.testing._v3 import AccountRateLimit

# Parameters a method needs on both APIs (v3 requires OCR's language; v2 the others).
PARAMS: dict[str, dict[str, Any]] = {
    "translation/automatic_translation": {"target_language": "fr"},
    "translation/document_translation": {"target_language": "fr"},
    "image/generation": {"resolution": "512x512"},
    "ocr/ocr": {"language": "en"},
    "ocr/invoice_parser": {"language": "en"},
    "ocr/receipt_parser": {"language": "en"},
    "text/search": {"query": "spring in Paris"},
}
INPUTS = {
    "text": ["Paris is lovely in spring", "the service was slow", "Paris is lovely in spring"],
    "file": ["https://example.com/a.png", "https://example.com/b.png", "https://example.com/a.png"],
}
MAPPED = sorted(path for path, m in V3_MAPPINGS.items() if m.endpoint in ("universal-ai", "embeddings"))


def v3_provider(path: str) -> str:
    """A provider that both the v2 catalog and v3's documented models list for `path`."""
    mapping = V3_MAPPINGS[path]
    v3_listed = [m.provider for m in models_of(mapping.v3_path)] if mapping.v3_path else []
    both = [p for p in get_subfeature(path).providers if p in v3_listed]
    return both[0] if both else get_subfeature(path).providers[0]


def posts(emu: EdenEmulator) -> list[str]:
    return [call.path for call in emu.calls if call.method == "POST"]


@pytest.mark.parametrize("path", MAPPED)
def test_same_columns_and_dtypes_on_v2_and_v3(path: str) -> None:
    entry = get_subfeature(path)
    frame = pd.DataFrame({"x": INPUTS["file" if entry.input_kind == "file" else "text"]}, index=[10, 11, 12])
    provider = v3_provider(path)
    with EdenEmulator() as emu:
        method = getattr(frame.eden, entry.method)
        options = {"providers": provider, "api_key": emu.api_key, "cache": False, "progress": False}
        v2 = method("x", base_url=emu.base_url, **options, **PARAMS.get(path, {}))
        v3_posts_before = len([p for p in posts(emu) if p.startswith("/v3/")])
        v3 = method("x", base_url=emu.base_url_v3, **options, **PARAMS.get(path, {}))
        v3_posts = [p for p in posts(emu) if p.startswith("/v3/")][v3_posts_before:]
    assert list(v3.columns) == list(v2.columns)
    assert v3.dtypes.to_dict() == v2.dtypes.to_dict()
    errors = [c for c in v3.columns if c.endswith("_error")]
    assert v3[errors].isna().all().all(), v3[errors].iloc[0].tolist()
    assert v3.index.tolist() == [10, 11, 12]
    # one v3 request per distinct input (embeddings: several rows per request)
    assert 1 <= len(v3_posts) <= 2 and v3.attrs["edenframe"]["deduplicated"] == 1


@pytest.mark.parametrize(
    ("method", "params"),
    [("sentiment", {}), ("keywords", {}), ("detect_language", {}), ("summarize", {"output_sentences": 1})],
)
def test_no_expert_model_on_v3_is_refused_before_any_post(method: str, params: dict[str, Any]) -> None:
    frame = pd.DataFrame({"x": ["good", "bad"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError) as refused:
            getattr(frame.eden, method)("x", providers="google", api_key=emu.api_key, base_url=emu.base_url_v3)
        assert posts(emu) == []
    message = str(refused.value)
    assert "no expert model" in message and "LLM provider" in message
    assert "base_url='https://api.edenai.run/v2'" in message and "local" in message


def test_v2_only_option_on_v3_is_refused_before_any_post() -> None:
    frame = pd.DataFrame({"x": ["good"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match="show_base_64"):
            frame.eden.ner("x", providers="amazon", show_base_64=True, api_key=emu.api_key, base_url=emu.base_url_v3)
        assert posts(emu) == []


@pytest.mark.parametrize("transport", ["batch", "sync"])
def test_a_v2_transport_on_a_v3_url_is_refused(transport: str) -> None:
    frame = pd.DataFrame({"x": ["good"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=rf"transport='{transport}' speaks Eden AI's v2 API.*v3"):
            frame.eden.ner("x", providers="amazon", transport=transport, api_key=emu.api_key, base_url=emu.base_url_v3)
        assert emu.calls == []


def test_a_base_url_without_v2_or_v3_is_refused_before_any_request() -> None:
    frame = pd.DataFrame({"x": ["good"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=r"base_url .*/v1.*must end with.*/v3.*/v2"):
            frame.eden.ner("x", providers="amazon", api_key=emu.api_key, base_url=f"{emu.url}/v1")
        assert emu.calls == []


def test_rate_limit_defaults_to_ten_per_second_on_v3_only() -> None:
    assert current_settings(base_url="https://api.edenai.run/v3").rate_limit == 10.0
    assert current_settings(base_url="https://api.edenai.run/v2").rate_limit is None
    edenframe.configure(rate_limit=3)
    assert current_settings(base_url="https://api.edenai.run/v3").rate_limit == 3.0


@pytest.mark.parametrize("retry_after", ["header", "none", "alternate"])
def test_the_account_limit_429s_are_absorbed_without_losing_rows(retry_after: str) -> None:
    texts = [f"review number {i}" for i in range(40)]
    frame = pd.DataFrame({"x": texts + texts[:5]})
    limit = AccountRateLimit(rate=40.0, burst=2, retry_after=retry_after)  # type: ignore[arg-type]
    with EdenEmulator(account_rate_limit=limit) as emu:
        # the client's budget set above the account's: the server refuses, the client backs off and loses nothing
        # (a budget far too high, 7.5x: tests/test_v3_rate_budget_api.py)
        edenframe.configure(rate_limit=60, backoff_base=0.02, backoff_max=0.2, max_retries=20)
        out = frame.eden.ner("x", providers="amazon", api_key=emu.api_key, base_url=emu.base_url_v3, cache=False)
        statuses = [call.status for call in emu.calls if call.path == "/v3/universal-ai"]
        charged = len(emu.ledger)
    assert limit.refused > 0 and 429 in statuses
    assert out["ner_error"].isna().all() and out["ner_items"].notna().all()
    assert statuses.count(200) == 40 == charged  # every distinct text answered and charged once
    assert out["ner_items"].iloc[40:].tolist() == out["ner_items"].iloc[:5].tolist()


def test_emulator_records_and_ledger_cover_v3() -> None:
    frame = pd.DataFrame({"x": ["one", "two"]})
    with EdenEmulator(cost_factor=2.0) as emu:
        out = frame.eden.moderate("x", providers="google", api_key=emu.api_key, base_url=emu.base_url_v3, cache=False)
        assert [c.provider for c in emu.ledger] == ["google", "google"]
        assert emu.total_cost == pytest.approx(out["moderate_cost"].sum())
        assert all(call.json["model"] == "text/moderation/google" for call in emu.calls if call.method == "POST")
    with EdenEmulator() as emu:  # the v3 routes check the emulator's key, answering v3's 401
        with pytest.raises(edenframe.APIError) as denied:
            frame.eden.moderate("x", providers="google", api_key="wrong", base_url=emu.base_url_v3, cache=False)
        assert denied.value.status == 401


def test_fallbacks_name_the_provider_that_answered_on_both_apis() -> None:
    frame = pd.DataFrame({"x": ["Paris in spring", "slow service", "Paris in spring"]})
    served = {"text/named_entity_recognition": ["amazon", "microsoft"]}
    with EdenEmulator(providers=served, failing_providers=["amazon"]) as emu:
        options = {"providers": "amazon", "fallback_providers": "microsoft", "api_key": emu.api_key, "cache": False}
        v3 = frame.eden.ner("x", base_url=emu.base_url_v3, **options)
        v2 = frame.eden.ner("x", base_url=emu.base_url, **options)
        bodies = [call.json for call in emu.calls if call.path == "/v3/universal-ai"]
    assert list(v3.columns) == list(v2.columns) == ["x", "ner_items", "ner_provider", "ner_cost", "ner_error"]
    assert v3.dtypes.to_dict() == v2.dtypes.to_dict()
    assert v3["ner_provider"].tolist() == ["microsoft"] * 3 and v3["ner_error"].isna().all()
    assert v2["ner_provider"].isna().all()  # v2 does not say who answered
    assert all(body["fallbacks"] == ["microsoft"] and "fallback_providers" not in body for body in bodies)
    with EdenEmulator() as emu, pytest.raises(edenframe.ValidationError, match="at most 3 fallback providers"):
        frame.eden.ner(
            "x", providers="amazon", fallback_providers="microsoft,openai,google,synthetic", api_key=emu.api_key,
            base_url=emu.base_url_v3,
        )  # fmt: skip
