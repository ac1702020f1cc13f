"""The client and the emulator give the same verdict on a parameter value, for every parameter type of the catalog.

Both ask the parameter's type (`edenframe._schema`): the client before sending, the emulator on what it receives.
The verdicts follow Eden AI's request schemas (specs/, wire-format.md section 5): `2.0` is an integer on the wire
(JSON Schema's reading; the client sends it as `2`), a chat turn needs its `role` ("user" or "assistant") and its
`message`, NaN is no number, text is never a number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import aiohttp
import pandas as pd
import pytest
from helpers import required_params, sent
from hypothesis import given, settings
from hypothesis import strategies as st

import edenframe
from edenframe import Param, Subfeature
from edenframe._catalog import all_subfeatures, get_subfeature
from edenframe._validate import check_value
from edenframe.testing import EdenEmulator
from edenframe.testing._validation import validate_item


def _typed_params() -> list[tuple[Subfeature, Param]]:
    """One (subfeature, parameter) per distinct parameter type, on text subfeatures, without a value format (the
    client's language-code check is a courtesy Eden AI makes per provider, not a type)."""
    seen: dict[Any, tuple[Subfeature, Param]] = {}
    for entry in all_subfeatures():
        if entry.input_kind != "text":
            continue
        for p in entry.params:
            if p.format is None and p.type not in seen:
                seen[p.type] = (entry, p)
    return list(seen.values())


TYPED = _typed_params()
IDS = [f"{e.method}.{p.name}" for e, p in TYPED]

# Values of every JSON kind, and the near misses between them.
TABLE: list[Any] = [
    None, "", "text", "auto", "2", True, False, 0, 1, 2, -1, 2.0, 2.5, 0.5, 3.0, 1e9, math.nan, math.inf,
    [], ["a", "b"], [1, 2], [["a", "b"]], [None], {}, {"key": "value"},
    [{"role": "system"}], [{"role": "user"}], [{"role": "user", "message": "hi"}],
    [{"role": "user", "message": "hi", "colour": "red"}], [{"role": "user", "message": 3}],
    [{"id": "1", "result": "ok"}], [{"id": "1"}], [{"name": "f"}], [{"name": "f", "parameters": {"type": "object"}}],
]  # fmt: skip


def test_every_parameter_type_is_covered() -> None:
    kinds = {type(p.type).__name__ for _, p in TYPED}
    assert {"Scalar", "Enum", "ListOf"} <= kinds
    assert len(TYPED) >= 8


def client_accepts(entry: Subfeature, p: Param, value: Any) -> bool:
    try:
        check_value(entry, p, value)
    except edenframe.ValidationError:
        return False
    return True


def emulator_accepts(entry: Subfeature, p: Param, value: Any) -> bool:
    body = {"providers": "synthetic", entry.input_field: "some text", **required_params(entry), p.name: value}
    errors, _ = validate_item(entry, body)
    return p.name not in errors


# --- the two bugs of issue 12, through the public API ----------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[EdenEmulator]:
    with EdenEmulator() as emu:
        yield emu


@pytest.fixture
def configured(emulator: EdenEmulator) -> EdenEmulator:
    edenframe.configure(api_key=emulator.api_key, base_url=emulator.base_url)
    emulator.reset()
    return emulator


DF = pd.DataFrame({"text": ["Hello there.", "How are you?"]})


def test_a_chat_turn_the_emulator_refuses_is_refused_before_sending(configured: EdenEmulator) -> None:
    """`role` must be "user" or "assistant" and `message` is required (ChatMessageRequest); the client used to
    send `[{"role": "system"}]` and meet a 400 on every row."""
    for history in ([{"role": "system"}], [{"role": "user"}], [{"role": "user", "message": "hi", "extra": 1}]):
        with pytest.raises(edenframe.ValidationError, match=r"chat\(\) parameter 'previous_history' item 0"):
            DF.eden.chat("text", providers="openai", previous_history=history)
    assert sent(configured) == []
    good = [{"role": "user", "message": "Hi"}, {"role": "assistant", "message": "Hello!"}]
    out = DF.eden.chat("text", providers="openai", previous_history=good)
    assert out["chat_error"].isna().all()


def test_an_integral_float_is_an_integer_for_both(configured: EdenEmulator) -> None:
    """`output_sentences=2.0` is an integer on the wire (the emulator accepted it, the client refused it): the
    client now sends it as 2; 2.5 stays refused before sending."""
    out = DF.eden.summarize("text", providers="openai", output_sentences=2.0)
    assert out["summarize_error"].isna().all()
    [launch] = [c for c in sent(configured) if c.method == "POST"]
    assert {r["output_sentences"] for r in launch.json["requests"]} == {2}
    assert all(type(r["output_sentences"]) is int for r in launch.json["requests"])
    configured.reset()
    with pytest.raises(edenframe.ValidationError, match=r"'output_sentences' must be an integer \(got 2.5\)"):
        DF.eden.summarize("text", providers="openai", output_sentences=2.5)
    assert sent(configured) == []


# --- one verdict for a table of values, over HTTP -----------------------------------------------------------------


@pytest.mark.parametrize(("entry", "param"), TYPED, ids=IDS)
async def test_the_emulator_over_http_agrees_with_the_client(entry: Subfeature, param: Param) -> None:
    """Every value of the table, on every parameter type: the client's verdict is the emulator's (a raw JSON body
    POSTed to the sync endpoint answers 400 naming the parameter exactly when the client refuses the value)."""
    disagreements = []
    async with EdenEmulator() as emu, aiohttp.ClientSession(headers={"Authorization": f"Bearer {emu.api_key}"}) as s:
        for value in TABLE:
            body = {"providers": "synthetic", entry.input_field: "some text", **required_params(entry)}
            body[param.name] = value
            async with s.post(f"{emu.base_url}/{entry.path}/", data=json.dumps(body), headers=JSON) as response:
                answer = await response.json()
                emulator_ok = response.status == 200
                assert emulator_ok or param.name in answer["error"]["message"], answer
            if emulator_ok != client_accepts(entry, param, value):
                disagreements.append((value, "emulator" if emulator_ok else "client", "accepts"))
    assert disagreements == []


JSON = {"Content-Type": "application/json"}


# --- and on any JSON value (property) -----------------------------------------------------------------------------

_KEYS = st.sampled_from(["role", "message", "id", "result", "name", "description", "parameters", "key", "x"])
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "user", "assistant", "system", "auto", "none", "low", "2", "text"]),
    st.text(max_size=5),
)
JSON_VALUES = st.recursive(
    _LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3), max_leaves=8
)


@pytest.mark.parametrize(("entry", "param"), TYPED, ids=IDS)
@settings(max_examples=150, deadline=None)
@given(value=JSON_VALUES)
def test_any_json_value_gets_one_verdict(entry: Subfeature, param: Param, value: Any) -> None:
    assert client_accepts(entry, param, value) == emulator_accepts(entry, param, value)


def test_chat_history_is_the_spec_shape() -> None:
    chat = get_subfeature("text/chat")
    history = chat.param("previous_history")
    assert history is not None
    assert not client_accepts(chat, history, [{"role": "user", "tool_calls": [{"id": "1"}]}])
    assert client_accepts(chat, history, [{"role": "user", "message": "hi", "tools": None}])
