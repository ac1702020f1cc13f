"""`df.eden.prompt`: templates over columns, sent to an LLM through Eden AI v3's chat completions, answers in typed
columns. Through the public API against the emulator's v3 URL (real loopback HTTP)."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import require_extra, sent

import edenframe
from edenframe import RowErrors, RowErrorWarning, ValidationError
from edenframe.testing import EdenEmulator

require_extra("prompt")

MODEL = "openai/gpt-4o-mini"
CHAT = "/v3/chat/completions"

SHORTHAND = {
    "label": ["positive", "negative", "neutral"],
    "score": float,
    "stars": int,
    "recommended": bool,
    "summary": str,
    "tags": [str],
    "who": {"name": str, "age": int},
}
JSON_SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["positive", "negative", "neutral"]},
        "score": {"type": "number"},
        "stars": {"type": "integer"},
        "recommended": {"type": "boolean"},
        "summary": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "who": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        },
    },
    "required": ["label", "score", "stars", "recommended", "summary", "tags", "who"],
}
EXPECTED_DTYPES = {
    "rating_label": pd.CategoricalDtype(["positive", "negative", "neutral"]),
    "rating_score": np.dtype("float64"),
    "rating_stars": pd.Int64Dtype(),
    "rating_recommended": pd.BooleanDtype(),
    "rating_summary": pd.StringDtype(),
    "rating_tags": pd.ArrowDtype(pa.list_(pa.string())),
    "rating_who": pd.ArrowDtype(pa.struct([("name", pa.string()), ("age", pa.int64())])),
    "rating_cost": np.dtype("float64"),
    "rating_error": pd.StringDtype(),
}


@pytest.fixture
def v3(make_emulator: Callable[..., EdenEmulator]) -> Callable[..., EdenEmulator]:
    """`v3(**options)`: an emulator edenframe talks to through its v3 URL."""

    def start(**options: Any) -> EdenEmulator:
        emu = make_emulator(**{"chat_cost": True, **options})
        edenframe.configure(base_url=emu.base_url_v3)
        return emu

    return start


def chats(emu: EdenEmulator) -> list[Any]:
    return [c for c in emu.calls if c.path.rstrip("/") == CHAT]


def reviews() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product": ["kettle", "lamp", None, "kettle", "lamp", "chair", "desk"],
            "review": ["Boils fast {really}", "Too dim", "Great", "Boils fast {really}", "  ", "Wobbly", pd.NA],
            "stock": [3, 0, 5, 3, 1, 2, 4],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    ).astype({"product": "string", "review": "string"})


# -- templates ---------------------------------------------------------------------------------------------------


def test_template_over_two_columns_skips_missing_and_sends_each_prompt_once(v3: Any) -> None:
    emu = v3()
    df = reviews()
    out = df.eden.prompt("Review of {product} ({{stock: {stock}}}): {review}", providers=MODEL, progress=False)

    # the original columns, then the new ones; no helper column left behind
    assert list(out.columns) == [*df.columns, "prompt_text", "prompt_cost", "prompt_error"]
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out["prompt_text"].dtype == pd.StringDtype()
    # rows 12 (no product), 14 (blank review), 16 (NA review) are skipped: NA everywhere, no error
    skipped = [12, 14, 16]
    assert out.loc[skipped, ["prompt_text", "prompt_error"]].isna().all().all()
    assert out.loc[skipped, "prompt_cost"].isna().all()
    answered = [10, 11, 13, 15]
    assert out.loc[answered, "prompt_text"].notna().all() and out.loc[answered, "prompt_error"].isna().all()
    # the duplicate row 13 shares row 10's answer, paid once
    assert out.loc[13, "prompt_text"] == out.loc[10, "prompt_text"]
    assert out.loc[13, "prompt_cost"] == 0.0 and out.loc[10, "prompt_cost"] > 0

    # one request per distinct rendered prompt; each row's values verbatim in the user message, braces unescaped
    users = sorted(c.json["messages"][-1]["content"] for c in chats(emu))
    assert users == sorted(
        {
            "Review of kettle ({stock: 3}): Boils fast {really}",
            "Review of lamp ({stock: 0}): Too dim",
            "Review of chair ({stock: 2}): Wobbly",
        }
    )
    for call in chats(emu):
        assert call.json["model"] == MODEL
        assert [m["role"] for m in call.json["messages"]] == ["user"]
        assert "response_format" not in call.json or call.json["response_format"].get("type") == "text"
    report = out.attrs["edenframe"]
    assert (report["rows"], report["skipped"], report["deduplicated"], report["sent"]) == (7, 3, 1, 3)


def test_series_prompt_names_the_series(v3: Any) -> None:
    emu = v3()
    s = pd.Series(["Too dim", "Wobbly", None], name="review")
    out = s.eden.prompt("Summarize: {review}", providers=MODEL, prefix="gist", progress=False)
    assert list(out.columns) == ["review", "gist_text", "gist_cost", "gist_error"]
    assert out["gist_text"].notna().tolist() == [True, True, False]
    assert sorted(c.json["messages"][-1]["content"] for c in chats(emu)) == ["Summarize: Too dim", "Summarize: Wobbly"]
    with pytest.raises(ValidationError, match=r"names the column 'text', which is not in the DataFrame"):
        s.eden.prompt("Summarize: {text}", providers=MODEL)


def test_system_and_chat_options_are_sent_and_change_the_cache_key(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": ["Too dim"]})
    df.eden.prompt("{review}", providers=MODEL, progress=False)
    df.eden.prompt("{review}", providers=MODEL, progress=False)  # from the cache
    assert len(chats(emu)) == 1
    df.eden.prompt(
        "{review}",
        providers=MODEL,
        system="You are terse.",
        temperature=0.2,
        max_tokens=64,
        seed=7,
        reasoning_effort="low",
        top_p=0.9,
        progress=False,
    )
    assert len(chats(emu)) == 2
    body = chats(emu)[-1].json
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Too dim"},
    ]
    assert {k: body[k] for k in ("temperature", "max_tokens", "seed", "reasoning_effort", "top_p")} == {
        "temperature": 0.2,
        "max_tokens": 64,
        "seed": 7,
        "reasoning_effort": "low",
        "top_p": 0.9,
    }
    df.eden.prompt("{review}", providers=MODEL, system="You are verbose.", progress=False)
    assert len(chats(emu)) == 3  # another system message: asked again


async def test_aprompt_is_the_async_twin(v3: Any) -> None:
    emu = v3()
    out = await pd.DataFrame({"review": ["Too dim"]}).eden.aprompt("{review}", providers=MODEL, progress=False)
    assert out["prompt_text"].notna().all() and len(chats(emu)) == 1


# -- schemas ------------------------------------------------------------------------------------------------------


def _pydantic_model() -> type:
    pydantic = pytest.importorskip("pydantic")
    from typing import Literal

    class Who(pydantic.BaseModel):
        name: str
        age: int

    class Rating(pydantic.BaseModel):
        label: Literal["positive", "negative", "neutral"]
        score: float
        stars: int
        recommended: bool
        summary: str
        tags: list[str]
        who: Who

    return Rating


@pytest.mark.parametrize("form", ["json_schema", "pydantic", "shorthand"])
def test_each_schema_form_gives_the_same_typed_columns(v3: Any, form: str) -> None:
    schema = {"json_schema": JSON_SCHEMA, "shorthand": SHORTHAND}.get(form) or _pydantic_model()
    emu = v3()
    df = pd.DataFrame({"review": ["Boils fast", "Too dim", None, "Boils fast"]})
    out = df.eden.prompt("Rate: {review}", schema=schema, providers=MODEL, prefix="rating", progress=False)

    assert {name: out[name].dtype for name in out.columns if name != "review"} == EXPECTED_DTYPES
    assert list(out.columns) == ["review", *EXPECTED_DTYPES]
    assert out["rating_error"].isna().all()
    answered = out.loc[[0, 1, 3]]
    assert answered.drop(columns=["rating_cost", "rating_error"]).notna().all().all()
    assert out.loc[2].drop("review").drop("rating_error").isna().all()
    assert set(out["rating_label"].dropna()) <= {"positive", "negative", "neutral"}
    assert isinstance(out.loc[0, "rating_who"], dict) and set(out.loc[0, "rating_who"]) == {"name", "age"}
    # the strict schema went out as response_format
    (body, *_) = [c.json for c in chats(emu)]
    sent_format = body["response_format"]
    assert sent_format["type"] == "json_schema" and sent_format["json_schema"]["strict"] is True
    sent_schema = sent_format["json_schema"]["schema"]
    assert sent_schema["required"] == list(SHORTHAND) and sent_schema["additionalProperties"] is False
    assert len(chats(emu)) == 2


def test_the_three_schema_forms_send_the_same_schema(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": ["Too dim"]})
    forms: list[Any] = [JSON_SCHEMA, SHORTHAND]
    if importlib.util.find_spec("pydantic") is not None:
        forms.append(_pydantic_model())
    for schema in forms:
        df.eden.prompt("{review}", schema=schema, providers=MODEL, cache=False, progress=False)
    schemas = [c.json["response_format"]["json_schema"]["schema"] for c in chats(emu)]
    properties = [s["properties"] for s in schemas]
    assert all(p == properties[0] for p in properties)


def test_invalid_replies_become_row_errors_naming_why(v3: Any) -> None:
    emu = v3(chat_invalid_share=0.5)
    df = pd.DataFrame({"review": [f"review number {i}" for i in range(40)]})
    with pytest.warns(RowErrorWarning, match="rows failed in llm/prompt"):
        out = df.eden.prompt("Rate: {review}", schema=SHORTHAND, providers=MODEL, prefix="rating", progress=False)
    failed = out[out["rating_error"].notna()]
    good = out[out["rating_error"].isna()]
    assert 5 < len(failed) < 35 and len(good) > 5
    # never a default value: a failed row's fields are all NA
    assert failed.drop(columns=["review", "rating_error", "rating_cost"]).isna().all().all()
    for message in failed["rating_error"]:
        assert "not valid JSON" in message or "breaks the schema" in message, message
    assert good.drop(columns=["rating_error"]).notna().all().all()
    assert len(chats(emu)) == 40
    with pytest.raises(RowErrors) as caught:
        df.eden.prompt(
            "Rate: {review}", schema=SHORTHAND, providers=MODEL, prefix="rating", errors="raise", progress=False
        )
    assert len(caught.value.errors) == len(failed)
    assert len(chats(emu)) == 40 + len(failed)  # failures are not cached: asked again, the rest is not
    assert "rendered prompt" not in caught.value.result.columns
    assert list(caught.value.result.columns) == list(out.columns)


def test_rerun_comes_from_the_cache(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"a": ["x", "y", "x"], "b": ["1", "2", "1"]})
    first = df.eden.prompt("{a}-{b}", schema={"n": int}, providers=MODEL, progress=False)
    before = len(sent(emu))
    second = df.eden.prompt("{a}-{b}", schema={"n": int}, providers=MODEL, progress=False)
    assert len(sent(emu)) == before
    pd.testing.assert_frame_equal(first, second)
    assert second.attrs["edenframe"]["cached"] == 2 and second.attrs["edenframe"]["sent"] == 0
    # another schema is another question
    df.eden.prompt("{a}-{b}", schema={"n": float}, providers=MODEL, progress=False)
    assert len(sent(emu)) == before + 2


def test_several_models_side_by_side(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]})
    out = df.eden.prompt("{review}", schema={"ok": bool}, providers=[MODEL, "openai/gpt-4o"], progress=False)
    assert list(out.columns) == [
        "review",
        "prompt_openai_gpt_4o_mini_ok",
        "prompt_openai_gpt_4o_mini_cost",
        "prompt_openai_gpt_4o_mini_error",
        "prompt_openai_gpt_4o_ok",
        "prompt_openai_gpt_4o_cost",
        "prompt_openai_gpt_4o_error",
    ]
    assert out.filter(like="_ok").notna().all().all()
    assert sorted(c.json["model"] for c in chats(emu)) == sorted([MODEL, MODEL, "openai/gpt-4o", "openai/gpt-4o"])


def test_fallback_models_name_who_answered(v3: Any) -> None:
    emu = v3(failing_providers=["openai"])
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]})
    out = df.eden.prompt(
        "{review}", schema={"ok": bool}, providers=MODEL, fallback_providers="google/gemini-2.5-flash", progress=False
    )
    assert out["prompt_provider"].tolist() == ["google/gemini-2.5-flash"] * 2
    assert out["prompt_ok"].notna().all()
    assert all(c.json["fallbacks"] == ["google/gemini-2.5-flash"] for c in chats(emu))


def posts(emu: EdenEmulator) -> list[Any]:
    """What was sent to be answered (reads of the model list, made while checking the call, are not)."""
    return [c for c in emu.calls if c.method != "GET"]


def test_dry_run_estimates_from_prompt_length(v3: Any) -> None:
    emu = v3(llm_models=[MODEL, "acme/brand-new-model"])
    df = pd.DataFrame({"review": ["short", "a much longer review " * 20, "short"]})
    plan = df.eden.prompt("{review}", providers=MODEL, dry_run=True, max_tokens=100)
    assert len(plan) == 2 and posts(emu) == []
    assert plan["estimated_cost"].gt(0).all()
    assert plan["estimated_cost"].iloc[1] > plan["estimated_cost"].iloc[0]
    report = plan.attrs["edenframe"]
    assert report["estimated_cost"] == pytest.approx(plan["estimated_cost"].sum())
    assert report["unpriced_providers"] == []
    # a model without a known price: no made-up number
    plan = df.eden.prompt("{review}", providers="acme/brand-new-model", dry_run=True)
    assert plan["estimated_cost"].isna().all()
    assert plan.attrs["edenframe"]["unpriced_providers"] == ["acme/brand-new-model"]
    assert posts(emu) == []


def test_max_cost_refuses_before_sending(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": [f"review {i} " * 50 for i in range(20)]})
    with pytest.raises(edenframe.BudgetExceededError):
        df.eden.prompt("{review}", providers=MODEL, max_cost=1e-6, max_tokens=1000)
    assert posts(emu) == []


# -- refusals, all before any request -------------------------------------------------------------------------------


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("{prodct}: {review}", {}, r"column 'prodct'.*Did you mean 'product'"),
    ("{}", {}, r"positional field \{\}"),
    ("{0}", {}, r"positional field \{0\}"),
    ("{product.name}", {}, "attribute or index access"),
    ("{review[0]}", {}, "attribute or index access"),
    ("Rate this review", {}, "names no column"),
    ("{review", {}, "malformed"),
    ("Rate \ud800 {review}", {}, r"template holds '\\ud800' at character 5, a lone surrogate"),
    ("{review}", {"providers": "local"}, "'local' has no LLM.*'provider/model'"),
    ("{review}", {"providers": "openai"}, "'openai' is a provider, not a model.*'openai/gpt-4o'"),
    ("{review}", {"providers": "opnai"}, "not an LLM model.*Did you mean 'openai'"),
    ("{review}", {"fallback_providers": "google"}, "fallback_providers: 'google' is a provider"),
    ("{review}", {"temperature": 2.5}, "'temperature' must be at most 2"),
    ("{review}", {"top_p": -0.1}, "'top_p' must be at least 0"),
    ("{review}", {"max_tokens": 0}, "'max_tokens' must be at least 1"),
    ("{review}", {"max_tokens": 1.5}, "'max_tokens' must be an integer"),
    ("{review}", {"seed": "7"}, "'seed' must be an integer"),
    ("{review}", {"reasoning_effort": "hard"}, "'reasoning_effort' must be one of"),
    ("{review}", {"temprature": 0.5}, "unexpected parameter 'temprature'.*Did you mean 'temperature'"),
    ("{review}", {"schema": {"label": "positive"}}, "not a shorthand type"),
    ("{review}", {"schema": {"type": "object", "properties": {}}}, "without properties"),
    ("{review}", {"schema": {"error": str}}, r"collide.*'error'"),
    ("{review}", {"system": ""}, "system must be a non-empty string"),
    ("{review}", {"column": "review"}, "takes no column"),
]


@pytest.mark.parametrize(("template", "options", "message"), REFUSALS)
def test_refused_before_any_request(v3: Any, template: str, options: dict[str, Any], message: str) -> None:
    emu = v3()
    df = pd.DataFrame({"product": ["kettle"], "review": ["Boils fast"]})
    with pytest.raises(ValidationError, match=message):
        df.eden.prompt(template, **{"providers": MODEL, **options})
    assert emu.calls == []


def test_duplicated_column_label_is_refused(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame([["a", "b"]], columns=["review", "review"])
    with pytest.raises(ValidationError, match="'review' is duplicated"):
        df.eden.prompt("{review}", providers=MODEL)
    assert emu.calls == []


def test_a_pydantic_instance_is_refused_naming_its_class(v3: Any) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Rating(pydantic.BaseModel):
        label: str

    emu = v3()
    df = pd.DataFrame({"review": ["Boils fast"]})
    with pytest.raises(ValidationError, match=r"instance of the pydantic model Rating: pass the class itself"):
        df.eden.prompt("{review}", providers=MODEL, schema=Rating(label="good"))
    assert emu.calls == []


def test_a_model_eden_does_not_list_is_refused_with_close_matches(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": ["Boils fast"]})
    with pytest.raises(
        ValidationError, match=r"'openai/gpt-4o-mni' is not an LLM model.*Did you mean 'openai/gpt-4o-mini'"
    ):
        df.eden.prompt("{review}", providers="openai/gpt-4o-mni")
    assert posts(emu) == []


def test_v2_base_url_is_refused_naming_the_v3_url(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"review": ["Boils fast"]})
    with pytest.raises(ValidationError, match=r'configure\(base_url="https://api.edenai.run/v3"\)'):
        df.eden.prompt("{review}", providers=MODEL)
    assert emulator.calls == []


def test_lone_surrogate_is_refused_naming_the_column(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"review": pd.Series(["fine", "bad \ud800 text"], dtype=object)})
    with pytest.raises(ValidationError, match=r"column 'review' holds text that cannot be sent at row 1"):
        df.eden.prompt("{review}", providers=MODEL)
    assert emu.calls == []


def test_format_specs_and_non_text_columns_render_verbatim(v3: Any) -> None:
    emu = v3()
    df = pd.DataFrame({"price": [1.5, math.nan, 2.0], "qty": pd.array([2, 3, None], dtype="Int64")})
    out = df.eden.prompt("{price:.2f} x {qty} ({price!r})", providers=MODEL, progress=False)
    assert out["prompt_text"].notna().tolist() == [True, False, False]
    assert [c.json["messages"][-1]["content"] for c in chats(emu)] == ["1.50 x 2 (1.5)"]


def test_clear_cache_takes_the_prompt_method(v3: Any) -> None:
    v3()
    df = pd.DataFrame({"review": ["Boils fast"]})
    df.eden.prompt("{review}", providers=MODEL, progress=False)
    assert edenframe.clear_cache("prompt") == 1
    assert json.dumps(edenframe.cache_info(), default=str)  # still readable


# -- the docs -----------------------------------------------------------------------------------------------------


def test_docs_prompts_page_runs_as_written(v3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/prompts.md's Python blocks run top to bottom against the emulator (its configure() pointed there)."""
    import re
    from pathlib import Path

    require_extra("prompt")
    pytest.importorskip("pydantic")
    emu = v3()
    configure = edenframe.configure

    def to_emulator(**settings: Any) -> None:
        configure(**{**settings, "api_key": emu.api_key, "base_url": emu.base_url_v3, "progress": False})

    monkeypatch.setattr(edenframe, "configure", to_emulator)
    page = Path(__file__).resolve().parents[1] / "docs" / "prompts.md"
    blocks = re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, str(page), "exec", dont_inherit=True), namespace)  # our own docs, without our __future__
    out, plan = namespace["out"], namespace["plan"]
    assert out["prompt_label"].dtype == pd.CategoricalDtype(["positive", "negative", "mixed"])
    assert out["prompt_error"].isna().all() and out["prompt_issues"].notna().all()
    assert plan["estimated_cost"].gt(0).all() and len(plan) == 2
    assert len(chats(emu)) == 4  # the first and the pydantic call, two distinct prompts each


def test_a_fallback_of_the_same_provider_is_named_and_priced_as_the_model_that_answered(v3: Any) -> None:
    # "openai/gpt-4o-mini" starts with "openai/gpt-4o-": the answer of the fallback must not be put on the model
    # asked first (the provider column, and the cost at that model's price when Eden sends none, would be wrong)
    emu = v3(failing_providers=["openai/gpt-4o"], chat_cost=False)
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]})
    out = df.eden.prompt("{review}", schema={"ok": bool}, providers="openai/gpt-4o", fallback_providers=MODEL)
    assert out["prompt_provider"].tolist() == [MODEL] * 2
    assert [c.json["model"] for c in chats(emu)] == ["openai/gpt-4o"] * 2
    assert out["prompt_cost"].sum() == pytest.approx(emu.total_cost)


def test_an_integer_beyond_64_bits_is_that_rows_error_not_a_crash(v3: Any) -> None:
    # valid JSON Schema (an integer has no bound), but no Int64 holds it: the row's error, every row still there
    emu = v3()
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]}, index=[7, 3])
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1e19}, "ok": {"type": "boolean"}},
        "required": ["n", "ok"],
    }
    with pytest.warns(RowErrorWarning):
        out = df.eden.prompt("{review}", schema=schema, providers=MODEL, progress=False)
    assert list(out.index) == [7, 3] and out["prompt_n"].isna().all() and out["prompt_ok"].isna().all()
    assert out["prompt_error"].str.contains("the reply breaks the schema: n: .* is beyond a 64-bit integer").all()
    assert out["prompt_cost"].sum() == pytest.approx(emu.total_cost) and emu.total_cost > 0  # paid all the same
    with pytest.warns(RowErrorWarning):
        df.eden.prompt("{review}", schema=schema, providers=MODEL, progress=False)
    assert len(chats(emu)) == 4  # a reply error, not a cached record: asked again


def test_models_whose_columns_would_coincide_are_refused_before_any_request(v3: Any) -> None:
    # "acme/m-1" and "acme/m.1" both become prompt_acme_m_1_*: one's paid answers would overwrite the other's
    emu = v3(llm_models=["acme/m-1", "acme/m.1"])
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]})
    with pytest.raises(ValidationError, match=r"'acme/m-1' and 'acme/m.1' would both write the column"):
        df.eden.prompt("{review}", schema={"n": int}, providers="acme/m-1,acme/m.1")
    assert posts(emu) == []


def test_an_answer_without_cost_or_usage_costs_nan_not_a_guess(v3: Any) -> None:
    # Eden sent neither `cost` nor `usage` (optional in the OpenAPI): what was charged is unknown, so NaN on the row
    # (the report's total leaves it out), never a made-up figure shown as the charge
    v3(chat_cost=False, chat_usage=False)
    df = pd.DataFrame({"review": ["Too dim", "Wobbly"]})
    out = df.eden.prompt("{review}", schema={"ok": bool}, providers=MODEL, progress=False)
    assert out["prompt_ok"].notna().all() and out["prompt_cost"].isna().all()
