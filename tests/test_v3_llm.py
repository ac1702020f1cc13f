"""The subfeatures v3 serves through an LLM (`_llm_tasks`), through the public API against the emulator's v3 URL over
loopback: the same columns and dtypes as v2, one chat per distinct text and provider, row errors for unusable
replies, fallbacks, faults, and the refusals made before any request."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import edenframe
from edenframe import get_subfeature
from edenframe._chat import chat_task
from edenframe._schema import Enum, json_schema
from edenframe._v3_models import V3_MAPPINGS
from edenframe.testing import EdenEmulator

pytest.importorskip("jsonschema")  # the replies are checked with it (edenframe[prompt])

LLM = "openai/gpt-4o-mini"
TEXTS = ["I love this phone, the screen is great", "Terrible battery. Would not buy.", None, ""]
TEXTS += ["I love this phone, the screen is great", "Fine for the price, nothing more."]
DISTINCT = 3  # texts sent: the NA and the empty row are skipped, the duplicate is sent once

# method -> (catalog path, its parameters)
LLM_METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "sentiment": ("text/sentiment_analysis", {"language": "en"}),
    "keywords": ("text/keyword_extraction", {}),
    "summarize": ("text/summarize", {"output_sentences": 1}),
    "syntax": ("text/syntax_analysis", {}),
    "detect_language": ("translation/language_detection", {}),
    "classify": (
        "text/custom_classification",
        {"labels": ["praise", "complaint"], "examples": [["works great", "praise"], ["broke in a day", "complaint"]]},
    ),
    "extract_entities": ("text/custom_named_entity_recognition", {"entities": ["product", "feature"]}),
    "answer": (
        "text/question_answer",
        {"question": "What is it about?", "examples_context": "A red bike.", "examples": [["What color?", "red"]]},
    ),
}
FREE_METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "generate": ("text/generation", {}),
    "chat": ("text/chat", {"chatbot_global_action": "Answer briefly.", "previous_history": []}),
    "generate_code": ("text/code_generation", {}),
}


def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": TEXTS}, index=[10, 11, 12, 13, 14, 15])


def chats(emu: EdenEmulator) -> list[dict[str, Any]]:
    return [c.json for c in emu.calls if c.method == "POST" and c.path == "/v3/chat/completions"]


def posts(emu: EdenEmulator) -> list[str]:
    return [c.path for c in emu.calls if c.method == "POST"]


def v3(emu: EdenEmulator, method: str, **options: Any) -> pd.DataFrame:
    params = {**LLM_METHODS, **FREE_METHODS}[method][1]
    options = {"providers": LLM, **params, **options}
    return getattr(frame().eden, method)("x", api_key=emu.api_key, base_url=emu.base_url_v3, **options)


@pytest.mark.parametrize("method", [*LLM_METHODS, *FREE_METHODS])
def test_llm_methods_give_the_v2_columns_and_dtypes(method: str) -> None:
    path, params = {**LLM_METHODS, **FREE_METHODS}[method]
    v2_provider = get_subfeature(path).providers[0]
    with EdenEmulator() as emu:
        v2 = getattr(frame().eden, method)(
            "x", providers=v2_provider, api_key=emu.api_key, base_url=emu.base_url, **params
        )
        out = v3(emu, method)
        sent = chats(emu)
    assert list(out.columns) == list(v2.columns)
    assert out.dtypes.to_dict() == v2.dtypes.to_dict()
    errors = out[[c for c in out.columns if c.endswith("_error")]]
    assert errors.isna().all().all(), errors.dropna().iloc[0].tolist()
    values = out.drop(columns=[c for c in out.columns if c.endswith(("_error", "_cost"))] + ["x"])
    assert values.loc[[12, 13]].isna().all().all()  # NA and empty rows: not sent
    assert values.loc[[10, 11, 15]].notna().any(axis=1).all()
    same = [c for c in out.columns if c != "x" and not c.endswith("_cost")]  # the charge sits on the first row
    assert out.loc[10, same].equals(out.loc[14, same])  # the duplicate shares its answer
    # one chat per distinct text, the model as given, the text verbatim in a user message
    assert len(sent) == DISTINCT and {body["model"] for body in sent} == {LLM}
    users = [m["content"] for body in sent for m in body["messages"] if m["role"] == "user"]
    for text in {t for t in TEXTS if t}:
        assert any(text in u for u in users), text
    structured = method in LLM_METHODS
    assert all(("response_format" in body) == structured for body in sent)


def test_sentiment_labels_are_the_v2_categories_and_the_schema_comes_from_the_catalog() -> None:
    entry = get_subfeature("text/sentiment_analysis")
    with EdenEmulator() as emu:
        out = v3(emu, "sentiment")
        body = chats(emu)[0]
    schema = body["response_format"]["json_schema"]["schema"]
    label = entry.output.field("general_sentiment")
    assert isinstance(label, Enum) and schema["properties"]["general_sentiment"]["enum"] == list(label.values)
    assert {k: v for k, v in schema.items() if k != "title"} == json_schema(entry.output)
    assert list(out["sentiment_general_sentiment"].cat.categories) == list(label.values)
    system = body["messages"][0]
    assert system["role"] == "system" and "'en'" in system["content"]  # language= feeds the instruction


def test_parameters_feed_the_instruction_and_narrow_the_schema() -> None:
    with EdenEmulator() as emu:
        labels = v3(emu, "classify")
        entities = v3(emu, "extract_entities")
        answer = v3(emu, "answer")
        bodies = chats(emu)
    classify, ner, qa = bodies[0], bodies[DISTINCT], bodies[2 * DISTINCT]
    assert classify["response_format"]["json_schema"]["schema"]["properties"]["label"]["enum"] == [
        "praise",
        "complaint",
    ]
    assert (
        '"praise", "complaint"' in classify["messages"][0]["content"]
        and "works great" in classify["messages"][0]["content"]
    )
    assert set(labels["classify_label"].dropna()) <= {"praise", "complaint"}
    category = ner["response_format"]["json_schema"]["schema"]["properties"]["items"]["items"]["properties"]["category"]
    assert category["enum"] == ["product", "feature"]
    assert {e["category"] for items in entities["extract_entities_items"].dropna() for e in items} <= {
        "product",
        "feature",
    }
    assert "What is it about?" in qa["messages"][0]["content"]
    assert answer["answer_answers"].dropna().map(len).gt(0).all()


def test_chat_sends_the_system_message_and_history_and_echoes_the_exchange() -> None:
    history = [{"role": "user", "message": "Hi"}, {"role": "assistant", "message": "Hello!"}]
    with EdenEmulator() as emu:
        out = v3(emu, "chat", previous_history=history, temperature=0.2, max_tokens=200)
        body = chats(emu)[0]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == "Answer briefly." and body["messages"][2]["content"] == "Hello!"
    assert body["temperature"] == 0.2 and body["max_tokens"] == 200  # chat options sent as they are
    exchange = out.loc[10, "chat_message"]
    assert [turn["role"] for turn in exchange] == ["user", "assistant"]
    assert exchange[0]["message"] == TEXTS[0] and exchange[1]["message"] == out.loc[10, "chat_generated_text"]


def test_a_rerun_with_the_cache_sends_nothing() -> None:
    with EdenEmulator() as emu:
        first = v3(emu, "sentiment")
        before = len(posts(emu))
        second = v3(emu, "sentiment")
        assert len(posts(emu)) == before == DISTINCT
    pd.testing.assert_frame_equal(first, second)


def test_invalid_replies_are_row_errors_naming_why_and_errors_raise_raises() -> None:
    texts = [f"Review number {i}: the battery lasts {i} hours" for i in range(24)]
    df = pd.DataFrame({"x": texts})
    with EdenEmulator(chat_invalid_share=0.5) as emu:
        with pytest.warns(edenframe.RowErrorWarning):
            out = df.eden.sentiment("x", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3)
        failed = out["sentiment_error"].dropna()
        assert 0 < len(failed) < len(texts)
        # the reason, never a default value: the labels of a failed row stay missing
        assert all(m.startswith(f"{LLM}: the reply ") for m in failed), failed.tolist()
        assert any("is not valid JSON" in m for m in failed) or any("breaks the schema" in m for m in failed)
        assert out.loc[failed.index, "sentiment_general_sentiment"].isna().all()
        assert out.loc[out["sentiment_error"].isna(), "sentiment_general_sentiment"].notna().all()
        with pytest.raises(edenframe.RowErrors) as raised:
            df.eden.sentiment("x", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3, errors="raise")
    assert len(raised.value.errors) == len(failed)


def test_a_packed_text_that_fails_is_that_rows_error_only() -> None:
    bad = "Fine for the price, nothing more."
    with EdenEmulator(chat_invalid_share=0.0, fail_inputs=[bad]) as emu, pytest.warns(edenframe.RowErrorWarning):
        out = v3(emu, "classify")
    assert out["classify_error"].notna().tolist() == [False, False, False, False, False, True]
    assert "HTTP 400" in out.loc[15, "classify_error"] and pd.isna(out.loc[15, "classify_label"])
    assert out.loc[[10, 11, 14], "classify_label"].notna().all() and out.loc[[12, 13], "classify_label"].isna().all()


def test_fallbacks_fill_the_provider_column() -> None:
    fallback = "mistral/mistral-large-latest"
    with EdenEmulator(failing_providers=["openai"]) as emu:
        out = v3(emu, "sentiment", fallback_providers=fallback)
        bodies = chats(emu)
    assert all(body["fallbacks"] == [fallback] for body in bodies)
    assert out["sentiment_error"].isna().all()
    assert out.loc[[10, 11, 14, 15], "sentiment_provider"].eq(fallback).all()
    assert out.loc[[12, 13], "sentiment_provider"].isna().all()


def test_faults_are_retried_without_losing_or_moving_a_row() -> None:
    texts = [f"Product {i} is {'great' if i % 2 else 'bad'}" for i in range(30)]
    df = pd.DataFrame({"x": texts + texts[:5]})
    with EdenEmulator() as clean:
        expected = df.eden.sentiment("x", providers=LLM, api_key=clean.api_key, base_url=clean.base_url_v3)
    edenframe.configure(retry_deadline=60)
    with EdenEmulator(server_error=0.2, rate_limit=0.2, retry_after=0.01, seed=3) as emu:
        out = df.eden.sentiment("x", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3)
        statuses = [c.status for c in emu.calls if c.method == "POST"]
    assert {500, 429} <= set(statuses) and statuses.count(200) == len(texts)
    assert out["sentiment_error"].isna().all()
    for column in ("sentiment_general_sentiment", "sentiment_general_sentiment_rate", "sentiment_items"):
        assert out[column].astype(str).tolist() == expected[column].astype(str).tolist()


def test_the_answers_cost_is_kept_as_number_or_string() -> None:
    for cost_format in ("number", "string"):
        with EdenEmulator(chat_cost=True, v3_cost_format=cost_format) as emu:
            out = v3(emu, "keywords")
            charged = emu.total_cost
        assert out["keywords_cost"].sum() == pytest.approx(charged) and charged > 0


def test_without_eden_cost_the_cost_is_the_served_token_price_times_the_usage() -> None:
    prices = {"openai/gpt-4o-mini": (2e-6, 8e-6)}
    with EdenEmulator(llm_prices=prices) as emu:  # no `cost` in the chat answers, as in Eden's docs
        out = v3(emu, "keywords")
        charged = emu.total_cost
    assert charged > 0 and out["keywords_cost"].sum() == pytest.approx(charged)


def test_a_model_without_a_known_price_costs_nan_never_zero() -> None:
    with EdenEmulator(llm_models=["acme/tiny"]) as emu:  # listed without a price; the answers carry no cost
        out = v3(emu, "keywords", providers="acme/tiny")
    assert out["keywords_error"].isna().all()
    assert out.loc[[10, 11, 15], "keywords_cost"].isna().all()  # each request's charge sits on its first row


@pytest.mark.parametrize("method", ["sentiment", "detect_language", "generate"])
def test_a_provider_that_is_not_an_llm_model_is_refused_before_any_request(method: str) -> None:
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError) as refused:
            v3(emu, method, providers="google")
        assert emu.calls == []
    message = str(refused.value)
    assert "'google'" in message and "provider/model" in message and f"providers='{LLM}'" in message
    if method != "generate":  # no expert model: the three ways out
        assert "no expert model" in message and "base_url='https://api.edenai.run/v2'" in message
        assert "local" in message


def test_an_unknown_model_is_refused_with_close_matches_before_any_post() -> None:
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=r"'openai/gpt-4o-minii' is not an LLM model.*gpt-4o-mini"):
            v3(emu, "sentiment", providers="openai/gpt-4o-minii")
        with pytest.raises(edenframe.ValidationError, match=r"fallback_providers.*'google'"):
            v3(emu, "sentiment", fallback_providers="google")
        with pytest.raises(edenframe.ValidationError, match=r"fallback_providers.*not an LLM model"):
            v3(emu, "sentiment", fallback_providers="mistral/no-such-model")
        assert posts(emu) == []
        assert {c.path for c in emu.calls} <= {"/v3/models"}  # the public model list only
        # names are returned in Eden AI's spelling
        out = v3(emu, "sentiment", providers="OpenAI/GPT-4o-mini")
    assert "sentiment_general_sentiment" in out and out["sentiment_error"].isna().all()


def test_chat_tools_are_refused_on_v3() -> None:
    tools = [{"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}]
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=r"available_tools=.*v2"):
            v3(emu, "chat", available_tools=tools)
        assert posts(emu) == []


def test_an_entry_without_an_llm_path_keeps_its_refusal() -> None:
    df = pd.DataFrame({"x": ["https://example.com/tower.jpg"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=r"no expert model.*no LLM path") as refused:
            df.eden.detect_landmarks("x", providers="google", api_key=emu.api_key, base_url=emu.base_url_v3)
        assert posts(emu) == []
    assert "gpt-4o-mini" not in str(refused.value)


def test_every_llm_mapping_has_a_chat_task() -> None:
    llm = sorted(path for path, mapping in V3_MAPPINGS.items() if mapping.llm)
    assert llm == sorted(path for path, _ in [*LLM_METHODS.values(), *FREE_METHODS.values()])
    assert all(chat_task(path) is not None for path in llm)


def test_the_emulator_lists_llm_models_as_the_openapi_describes() -> None:
    import json
    import urllib.request

    with EdenEmulator(llm_models=["openai/gpt-4o-mini", "acme/tiny"]) as emu:
        with urllib.request.urlopen(f"{emu.url}/v3/models") as response:  # public: no key
            body = json.loads(response.read())
        with pytest.raises(edenframe.ValidationError, match=r"not an LLM model.*gpt-4o-mini"):
            v3(emu, "sentiment", providers="openai/gpt-4o")
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["openai/gpt-4o-mini", "acme/tiny"]
    assert all({"id", "created", "owned_by", "model_name"} <= set(m) for m in body["data"])
    with pytest.raises(ValueError, match="chat_invalid_share"):
        EdenEmulator(chat_invalid_share=1.5)


def test_v2_settings_naming_the_model_of_a_bare_llm_provider_work_on_v3() -> None:
    with EdenEmulator() as emu:
        out = v3(emu, "generate", providers="openai", settings={"openai": "gpt-4o-mini"})
        models = {body["model"] for body in chats(emu)}
    assert models == {"openai/gpt-4o-mini"}
    assert out["generate_error"].isna().all() and out["generate_generated_text"].notna().sum() == 4


def test_a_refused_v3_parameter_is_explained_by_what_v3_takes() -> None:
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError) as refused:
            frame().eden.text_to_speech(
                "x", providers="google", language="en", api_key=emu.api_key, base_url=emu.base_url_v3
            )
        assert [c for c in emu.calls if c.method == "POST"] == []
    assert "language= has no place" in str(refused.value) and "audio/tts takes" in str(refused.value)


def test_a_model_named_by_settings_or_in_full_is_the_same_request_for_the_cache(tmp_path: Any) -> None:
    cache = str(tmp_path / "cache.sqlite")
    with EdenEmulator() as emu:
        first = v3(emu, "sentiment", cache=cache)
        again = v3(emu, "sentiment", providers="openai", settings={"openai": "gpt-4o-mini"}, cache=cache)
        sent = chats(emu)
    assert len(sent) == DISTINCT  # the same model and texts: asked once, the second call from the cache
    assert again.attrs["edenframe"]["sent"] == 0
    pd.testing.assert_frame_equal(first.drop(columns="sentiment_cost"), again.drop(columns="sentiment_cost"))
