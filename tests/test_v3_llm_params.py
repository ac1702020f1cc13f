"""Parameters of the methods v3 runs through an LLM: what v2's schema requires and the LLM path does without
(classify's and answer's examples) may be left out on v3, and is still required on v2; through the public API
against the emulator over loopback."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator

pytest.importorskip("jsonschema")  # the replies are checked with it (edenframe[prompt])

LLM = "openai/gpt-4o-mini"


def frame() -> pd.DataFrame:
    return pd.DataFrame({"review": ["Arrived broken.", "Love it!", None, "Arrived broken."]}, index=[3, 1, 4, 1])


def chat_bodies(emu: EdenEmulator) -> list[dict]:
    return [c.json for c in emu.calls if c.method == "POST" and c.path == "/v3/chat/completions"]


def test_classify_on_v3_takes_labels_alone() -> None:
    with EdenEmulator() as emu:
        out = frame().eden.classify(
            "review", providers=LLM, labels=["praise", "complaint"], api_key=emu.api_key, base_url=emu.base_url_v3
        )
        bodies = chat_bodies(emu)
    assert list(out.index) == [3, 1, 4, 1]
    assert out["classify_error"].isna().all()
    assert out["classify_label"].notna().tolist() == [True, True, False, True]
    assert set(out["classify_label"].dropna()) <= {"praise", "complaint"}
    assert len(bodies) == 2  # the two distinct texts
    system = bodies[0]["messages"][0]["content"]
    assert '"praise", "complaint"' in system and "Examples" not in system


def test_answer_on_v3_takes_the_question_alone() -> None:
    with EdenEmulator() as emu:
        out = frame().eden.answer(
            "review", providers=LLM, question="What happened?", api_key=emu.api_key, base_url=emu.base_url_v3
        )
        bodies = chat_bodies(emu)
    assert out["answer_error"].isna().all()
    assert out["answer_answers"].notna().tolist() == [True, True, False, True]
    assert "What happened?" in bodies[0]["messages"][0]["content"]


def test_examples_given_on_v3_still_reach_the_instruction() -> None:
    with EdenEmulator() as emu:
        frame().eden.classify(
            "review",
            providers=LLM,
            labels=["praise", "complaint"],
            examples=[["works great", "praise"]],
            api_key=emu.api_key,
            base_url=emu.base_url_v3,
        )
        bodies = chat_bodies(emu)
    assert '"works great" -> "praise"' in bodies[0]["messages"][0]["content"]


@pytest.mark.parametrize(
    ("method", "params", "missing"),
    [
        ("classify", {"labels": ["praise", "complaint"]}, "examples"),
        ("answer", {"question": "What happened?", "examples": [["Who?", "Ann"]]}, "examples_context"),
    ],
)
def test_v2_still_requires_the_examples(method: str, params: dict, missing: str) -> None:
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match=f"needs the parameter '{missing}'"):
            getattr(frame().eden, method)(
                "review", providers="openai", api_key=emu.api_key, base_url=emu.base_url, **params
            )
        assert not [c for c in emu.calls if c.method == "POST"]


def test_what_the_llm_needs_stays_required_on_v3() -> None:
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError, match="needs the parameter 'labels'"):
            frame().eden.classify("review", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3)
        with pytest.raises(edenframe.ValidationError, match="needs the parameter 'question'"):
            frame().eden.answer("review", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3)
        assert not [c for c in emu.calls if c.method == "POST"]


def test_without_jsonschema_an_llm_method_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from edenframe import _llm_tasks, _prompt_schema

    monkeypatch.setitem(sys.modules, "jsonschema", None)  # `import jsonschema` now raises ImportError
    caches = (_llm_tasks._format, _prompt_schema._checker, _prompt_schema._normalized)
    for cache in caches:
        cache.cache_clear()  # schemas built by earlier tests would skip the import
    try:
        with EdenEmulator() as emu:
            with pytest.raises(edenframe.MissingDependencyError, match=r"such as sentiment.*edenframe\[prompt\]"):
                frame().eden.sentiment("review", providers=LLM, api_key=emu.api_key, base_url=emu.base_url_v3)
            assert not [c for c in emu.calls if c.method == "POST"]
    finally:
        for cache in caches:
            cache.cache_clear()
