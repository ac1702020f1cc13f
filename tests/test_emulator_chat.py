"""The emulator's `POST /v3/chat/completions` (`edenframe.testing._v3_chat`), served alone over real loopback HTTP
and called with raw aiohttp requests, as a client following Eden AI's chat and structured-output pages would.

The shape check against the v3 OpenAPI skips when `../shared/eden-api` is absent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestServer
from conftest import SHARED_API
from helpers import V3Client, serve_v3_tables

from edenframe.testing._v3 import AccountRateLimit, V3Faults, v3_routes
from edenframe.testing._v3_chat import ChatState, chat_routes

KEY = "chat-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PATH = "/v3/chat/completions"
MODEL = "openai/gpt-4o-mini"


class Server(V3Client):
    async def chat(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return await self.post(PATH, body, headers)

    async def ask(self, prompt: str, schema: dict[str, Any] | None = None, **extra: Any) -> Any:
        body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **extra}
        if schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
        status, answer = await self.chat(body)
        assert status == 200, answer
        return answer


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    opened: list[tuple[TestServer, aiohttp.ClientSession]] = []

    async def start(with_v3: bool = False, **options: Any) -> Server:
        state = ChatState(api_key=KEY, **options)
        server = await serve_v3_tables(state, chat_routes, *([v3_routes] if with_v3 else []))
        session = aiohttp.ClientSession()
        opened.append((server, session))
        return Server(state, server, session, AUTH)

    yield start
    for server, session in opened:
        await session.close()
        await server.close()


def content(answer: dict[str, Any]) -> str:
    text = answer["choices"][0]["message"]["content"]
    assert isinstance(text, str)
    return text


# The schema forms a prompt over columns sends: the docs' example, every scalar type with bounds, nullable fields,
# arrays of enums and objects, nested objects, and a pydantic-style schema with $defs and anyOf.
SCHEMAS: dict[str, dict[str, Any]] = {
    "docs_product_review": {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
            "rating": {"type": "integer", "description": "Rating from 1 to 5"},
            "summary": {"type": "string"},
            "keywords": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["sentiment", "rating", "summary", "keywords"],
        "additionalProperties": False,
    },
    "scalars_with_bounds": {
        "type": "object",
        "properties": {
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "temperature": {"type": "number", "exclusiveMinimum": -10.5, "exclusiveMaximum": -10},
            "stars": {"type": "integer", "minimum": 1, "maximum": 5},
            "odd_bounds": {"type": "integer", "exclusiveMinimum": 2, "exclusiveMaximum": 4},
            "count": {"type": "integer", "minimum": 100},
            "flag": {"type": "boolean"},
            "code": {"type": "string", "minLength": 30, "maxLength": 40},
            "fixed": {"const": "v1"},
        },
        "required": ["score", "temperature", "stars", "odd_bounds", "count", "flag", "code", "fixed"],
        "additionalProperties": False,
    },
    "nullable": {
        "type": "object",
        "properties": {
            "maybe_text": {"type": ["string", "null"]},
            "maybe_number": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "maybe_label": {"type": ["string", "null"], "enum": ["a", "b", None]},
        },
        "required": ["maybe_text", "maybe_number", "maybe_label"],
        "additionalProperties": False,
    },
    "arrays_and_nesting": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"enum": ["x", "y", "z"]}, "uniqueItems": True},
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "entity": {"type": "string"},
                        "category": {"type": "string", "enum": ["PERSON", "ORG"]},
                        "importance": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["entity", "category", "importance"],
                    "additionalProperties": False,
                },
                "minItems": 1,
            },
            "meta": {
                "type": "object",
                "properties": {"inner": {"type": "object", "properties": {"deep": {"type": "integer"}}}},
                "required": ["inner"],
            },
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}, "maxItems": 2},
        },
        "required": ["tags", "entities", "meta", "matrix"],
    },
    "pydantic_style": {
        "$defs": {
            "Label": {"enum": ["positive", "negative"], "title": "Label", "type": "string"},
            "Span": {
                "properties": {"start": {"type": "integer", "minimum": 0}, "text": {"type": "string"}},
                "required": ["start", "text"],
                "title": "Span",
                "type": "object",
            },
        },
        "properties": {
            "label": {"$ref": "#/$defs/Label"},
            "spans": {"items": {"$ref": "#/$defs/Span"}, "type": "array"},
            "best": {"anyOf": [{"$ref": "#/$defs/Span"}, {"type": "null"}], "default": None},
        },
        "required": ["label", "spans", "best"],
        "title": "Rating",
        "type": "object",
    },
}

PROMPTS = [f"Review {i}: the battery of model {i} lasts {i * 3} hours, screen is bright" for i in range(40)]


@pytest.mark.parametrize("name", list(SCHEMAS))
async def test_answers_are_valid_against_the_requested_schema(serve: Any, name: str) -> None:
    srv = await serve()
    schema = SCHEMAS[name]
    for prompt in PROMPTS:
        value = json.loads(content(await srv.ask(prompt, schema)))
        jsonschema.validate(value, schema)


async def test_nullable_fields_are_sometimes_null_and_sometimes_not(serve: Any) -> None:
    srv = await serve()
    values = [json.loads(content(await srv.ask(p, SCHEMAS["nullable"]))) for p in PROMPTS]
    for field in ("maybe_text", "maybe_number", "maybe_label"):
        seen = {v[field] is None for v in values}
        assert seen == {True, False}, field


async def test_strings_come_from_the_prompt_and_enums_vary(serve: Any) -> None:
    srv = await serve()
    schema = SCHEMAS["docs_product_review"]
    values = [json.loads(content(await srv.ask(p, schema))) for p in PROMPTS]
    for prompt, value in zip(PROMPTS, values, strict=True):
        assert set(value["summary"].split()) <= set(prompt.replace(":", " ").replace(",", " ").split())
        assert 1 <= len(value["keywords"]) <= 3
    assert {v["sentiment"] for v in values} == {"positive", "negative", "neutral"}


async def test_same_prompt_same_answer_different_prompts_different_answers(serve: Any) -> None:
    srv = await serve()
    schema = SCHEMAS["docs_product_review"]
    first = [content(await srv.ask(p, schema)) for p in PROMPTS[:10]]
    again = [content(await srv.ask(p, schema)) for p in PROMPTS[:10]]
    assert first == again
    assert len(set(first)) == len(first)
    other = await serve()  # another server, same answers: nothing depends on the server's history
    assert [content(await other.ask(p, schema)) for p in PROMPTS[:10]] == first
    plain = [content(await srv.ask(p)) for p in PROMPTS[:10]]
    assert plain == [content(await srv.ask(p)) for p in PROMPTS[:10]]
    assert len(set(plain)) == len(plain)
    for text in plain:
        with pytest.raises(ValueError):
            json.loads(text)


async def test_the_answer_is_openai_shaped_and_billed(serve: Any) -> None:
    srv = await serve()
    answer = await srv.ask("Hello! How are you?")
    assert answer["object"] == "chat.completion"
    assert answer["id"].startswith("chatcmpl-") and isinstance(answer["created"], int)
    assert answer["model"] == MODEL and "cost" not in answer  # the docs show no cost
    [choice] = answer["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    usage = answer["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    [charge] = srv.charges
    assert charge["job"] == "chat" and charge["provider"] == MODEL and charge["cost"] > 0
    assert srv.calls[-1]["path"] == PATH and srv.calls[-1]["status"] == 200
    assert srv.calls[-1]["json"]["model"] == MODEL


@pytest.mark.parametrize("cost_format", ["number", "string"])
async def test_an_optional_cost_field_as_number_or_string(serve: Any, cost_format: str) -> None:
    srv = await serve(chat_cost=True, cost_format=cost_format)
    answer = await srv.ask("Hello")
    cost = answer["cost"]
    assert isinstance(cost, float if cost_format == "number" else str)
    assert float(cost) == pytest.approx(srv.charges[-1]["cost"]) and float(cost) > 0


def shared_spec() -> dict[str, Any] | None:
    path = SHARED_API / "specs" / "edenai-v3-openapi.2026-06.json"
    return json.loads(path.read_text()) if path.exists() else None


async def test_the_answer_validates_against_the_openapi_response(serve: Any) -> None:
    spec = shared_spec()
    if spec is None:
        pytest.skip("../shared/eden-api is absent")
    srv = await serve(chat_cost=True)
    answer = await srv.ask("Classify this", SCHEMAS["docs_product_review"], temperature=0.2, seed=7)
    schema = {**spec["components"]["schemas"]["ChatCompletionResponse"], "components": spec["components"]}
    jsonschema.validate(answer, schema)
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: `object` is a const
        jsonschema.validate({**answer, "object": "list"}, schema)


async def test_options_and_message_forms_the_docs_show_are_accepted(serve: Any) -> None:
    srv = await serve()
    body = {
        "model": "anthropic/claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant that speaks like a pirate."},
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is Paris."},
            {"role": "user", "content": [{"type": "text", "text": "What's the population?"}]},
        ],
        "temperature": 0.9,
        "max_tokens": 500,
        "seed": 3,
        "reasoning_effort": "low",
        "stream": False,
        "fallbacks": ["openai/gpt-4o"],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "response_format": {"type": "json_object"},
    }
    status, answer = await srv.chat(body)
    assert status == 200, answer
    assert isinstance(json.loads(content(answer)), dict)


async def test_max_tokens_cuts_the_answer(serve: Any) -> None:
    srv = await serve()
    answer = await srv.ask("Write a creative story about a robot and its battery", SCHEMAS["arrays_and_nesting"])
    full = content(answer)
    cut = await srv.ask(
        "Write a creative story about a robot and its battery", SCHEMAS["arrays_and_nesting"], max_tokens=2
    )
    assert cut["choices"][0]["finish_reason"] == "length"
    assert full.startswith(content(cut)) and len(content(cut)) <= 8


@pytest.mark.parametrize("share", [0.0, 0.25, 1.0])
async def test_invalid_share_makes_about_that_share_invalid(serve: Any, share: float) -> None:
    srv = await serve(invalid_share=share)
    schema = SCHEMAS["docs_product_review"]
    prompts = [f"Row {i}: {w}" for i, w in enumerate(["good phone", "bad screen", "fine"] * 100)]
    invalid, not_json = 0, 0
    verdicts = []
    for prompt in prompts:
        text = content(await srv.ask(prompt, schema))
        try:
            jsonschema.validate(json.loads(text), schema)
            verdicts.append(True)
        except ValueError:
            invalid, not_json = invalid + 1, not_json + 1
            verdicts.append(False)
        except jsonschema.ValidationError:
            invalid += 1
            verdicts.append(False)
    assert abs(invalid / len(prompts) - share) <= 0.07
    if 0 < share < 1:
        assert 0 < not_json < invalid  # both kinds: not JSON, and JSON breaking the schema
    # chosen by prompt: the same prompt is invalid again
    for prompt, ok in list(zip(prompts, verdicts, strict=True))[:20]:
        text = content(await srv.ask(prompt, schema))
        try:
            jsonschema.validate(json.loads(text), schema)
            again = True
        except (ValueError, jsonschema.ValidationError):
            again = False
        assert again == ok


async def test_invalid_share_is_checked() -> None:
    with pytest.raises(ValueError, match="invalid_share"):
        ChatState(invalid_share=1.5)


GOOD = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"messages": GOOD["messages"]}, ["body", "model"]),
        ({"model": MODEL}, ["body", "messages"]),
        ({**GOOD, "messages": "hi"}, ["body", "messages"]),
        ({**GOOD, "messages": [{"content": "hi"}]}, ["body", "messages", 0, "role"]),
        ({**GOOD, "messages": [{"role": "robot", "content": "hi"}]}, ["body", "messages", 0, "role"]),
        ({**GOOD, "messages": [{"role": "user", "content": 5}]}, ["body", "messages", 0, "content"]),
        ({**GOOD, "temperature": 2.5}, ["body", "temperature"]),
        ({**GOOD, "temperature": "hot"}, ["body", "temperature"]),
        ({**GOOD, "max_tokens": 0}, ["body", "max_tokens"]),
        ({**GOOD, "seed": 1.5}, ["body", "seed"]),
        ({**GOOD, "reasoning_effort": "extreme"}, ["body", "reasoning_effort"]),
        ({**GOOD, "fallbacks": ["a/b", "c/d", "e/f", "g/h"]}, ["body", "fallbacks"]),
        ({**GOOD, "response_format": "json"}, ["body", "response_format"]),
        ([1, 2], ["body"]),
    ],
)
async def test_bodies_breaking_the_openapi_are_422(serve: Any, body: Any, loc: list[Any]) -> None:
    srv = await serve()
    status, answer = await srv.chat(body)
    assert status == 422, answer
    assert loc in [d["loc"] for d in answer["detail"]]
    assert srv.charges == []


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({**GOOD, "model": "gpt-4o"}, "provider/model"),
        ({**GOOD, "fallbacks": ["claude"]}, "provider/model"),
        ({**GOOD, "messages": []}, "messages"),
        ({**GOOD, "stream": True}, "stream"),
        ({**GOOD, "response_format": {"type": "xml"}}, "json_schema"),
        ({**GOOD, "response_format": {"type": "json_schema"}}, "schema"),
        ({**GOOD, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": 3}}}, "schema"),
    ],
)
async def test_requests_the_docs_rule_out_are_openai_400s(serve: Any, body: Any, word: str) -> None:
    srv = await serve()
    status, answer = await srv.chat(body)
    assert status == 400, answer
    assert answer["error"]["type"] == "invalid_request_error" and word in answer["error"]["message"]


async def test_auth_is_bearer(serve: Any) -> None:
    srv = await serve()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        status, answer = await srv.chat(GOOD, headers=headers)
        assert status == 401 and answer["error"]["code"] == "invalid_api_key"
        assert KEY not in json.dumps(answer)
    assert (await srv.chat(GOOD, headers={"Authorization": f"bearer {KEY}"}))[0] == 200
    assert [c["status"] for c in srv.calls] == [401, 401, 401, 200]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_account_limit_answers_429_shared_with_universal_ai(serve: Any) -> None:
    clock = Clock()
    limiter = AccountRateLimit(rate=10.0, burst=2, clock=clock)
    srv = await serve(with_v3=True, limiter=limiter)
    assert (await srv.chat(GOOD))[0] == 200
    async with srv.session.get(srv.url("/v3/info")) as r:  # the same account budget
        assert r.status == 200
    async with srv.session.post(srv.url(PATH), json=GOOD, headers=AUTH) as r:
        assert r.status == 429 and r.headers["Retry-After"] == "0.1"
        assert (await r.json())["detail"] == "Rate limit exceeded"
    clock.now += 0.15
    assert (await srv.chat(GOOD))[0] == 200
    assert (limiter.admitted, limiter.refused) == (3, 1)


async def test_faults_credits_and_failing_providers(serve: Any) -> None:
    dropping = await serve(faults=V3Faults(drop_connection=1.0))
    with pytest.raises(aiohttp.ClientError):
        await dropping.chat(GOOD)
    assert dropping.calls[-1]["status"] is None and dropping.charges == []
    assert (await (await serve(faults=V3Faults(server_error=1.0))).chat(GOOD))[0] == 500
    assert (await (await serve(faults=V3Faults(rate_limited=1.0))).chat(GOOD))[0] == 429
    broke = await serve(credits=0.0)
    status, answer = await broke.chat(GOOD)
    assert status == 402 and answer["error"]["type"] == "insufficient_quota"
    assert (await (await serve(fail_inputs=["hi"])).chat(GOOD))[0] == 400
    assert (await (await serve(request_fail_inputs=["hi"])).chat(GOOD))[0] == 500
    assert (await (await serve(provider_fail_inputs=["hi"])).chat(GOOD))[0] == 502
    failing = await serve(failing_providers=["openai"])
    assert (await failing.chat(GOOD))[0] == 502
    status, answer = await failing.chat({**GOOD, "fallbacks": ["openai/gpt-4o", "mistral/mistral-large-latest"]})
    assert status == 200 and answer["model"] == "mistral/mistral-large-latest"
    assert [c["provider"] for c in failing.charges] == ["mistral/mistral-large-latest"]


async def test_the_route_mounts_in_the_emulator_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mount line the report gives for `ROUTE_TABLES`, through the public `EdenEmulator` over loopback."""
    from edenframe.testing import EdenEmulator, _server

    tables = (*_server.ROUTE_TABLES, lambda emu: chat_routes(ChatState(api_key=emu.api_key)))
    monkeypatch.setattr(_server, "ROUTE_TABLES", tables)
    schema = SCHEMAS["docs_product_review"]
    body = {**GOOD, "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}
    async with EdenEmulator(api_key=KEY) as emu, aiohttp.ClientSession() as session:
        async with session.post(f"{emu.url}{PATH}", json=body, headers=AUTH) as r:
            assert r.status == 200
            jsonschema.validate(json.loads((await r.json())["choices"][0]["message"]["content"]), schema)
        async with session.post(f"{emu.url}{PATH}", json=body) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "invalid_api_key"
        assert [(c.path, c.status) for c in emu.calls] == [(PATH, 200), (PATH, 401)]
