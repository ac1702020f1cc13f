"""`POST /v3/chat/completions` for the emulator: Eden AI's OpenAI-compatible chat, with structured output.

Built from `v3-pages/llms__chat-completions.mdx`, `llms__structured-output.mdx`, the v3 OpenAPI (2026-06:
`LlmCompletionBody`, `ChatCompletionResponse`) and `wire-format-v3.md`, never from what a client sends.
`chat_routes(state)` returns an aiohttp `RouteTableDef`; `state` is a `ChatState`, a `V3State` with the chat
options added, so one state can serve both tables and they share the account's rate limit, faults, records,
charges and credits (`v3_routes(state)` accepts a `ChatState` as it is).

Shapes and statuses, with the choice made where the documents are silent:

- Body (`LlmCompletionBody`): `model` and `messages` required; the OpenAPI's typed options are checked against
  their documented types and ranges (`temperature` 0-2, `top_p` 0-1, penalties -2..2, `max_tokens` >= 1, `seed`
  an integer, `reasoning_effort` one of the listed values, `fallbacks` at most 3 strings, messages `{role,
  content}` with a documented role). A violation is FastAPI's 422 `{"detail": [{loc, msg, type}]}` (the only error
  the OpenAPI lists). What the schema leaves free but the docs constrain is an OpenAI-shaped 400 `{"error":
  {message, type, code}}`: a model that is not "provider/model", a `response_format` whose `type` is not `text`,
  `json_object` or `json_schema`, or a `json_schema` without an object `schema`.
- `stream: true` is documented (SSE) but not emulated: a 400 that says so, never a silently unstreamed answer.
- The answer is OpenAI-shaped: `{id, object: "chat.completion", created, model, choices: [{index, message: {role,
  content}, finish_reason}], usage: {prompt_tokens, completion_tokens, total_tokens}}`. The docs show no `cost`;
  `ChatState.chat_cost` adds one (the response allows extra keys), formatted like universal-ai's per
  `cost_format`, so a client is tested both with and without it. `usage` is optional in the OpenAPI
  (`ChatCompletionResponse` requires id, created, model, choices): `ChatState.chat_usage=False` leaves it out.
- Content: with `response_format` `json_schema`, JSON valid against the schema, derived from a SHA-256 of the model
  and the messages (enums pick a value, numbers within their bounds, strings from the prompt's words, arrays of 1-3
  items, nested objects, `$ref`/`$defs`, `anyOf` and nullable types); with `json_object`, a small JSON object;
  otherwise a plain sentence. `max_tokens` cuts the content (`finish_reason: "length"`), as a real model would.
- `invalid_share` of the answers (chosen by prompt, so the same prompt is always valid or always not) are
  deliberately wrong: not JSON, or JSON that breaks the schema (a required field missing, a wrong type).
- Auth: `Authorization: Bearer <key>`, else an OpenAI-shaped 401. Then the account limit (429, like every v3
  route), the random faults, credits (402), `fail_inputs` (400), `request_fail_inputs` (500), and
  `failing_providers` / `provider_fail_inputs` (502 once the model and its fallbacks have all failed; a provider
  fails all its models, a 'provider/model' that model alone), `provider_fail_inputs` matched on the last user
  message's text.

`GET /v3/models` (public) is served with the other public v3 listings in `_v3.py`: `ChatState.llm_models` when
given, else the price table's LLM models. Clients check model names against it; the chat route itself answers any
'provider/model' (a client's check is what is under test, not the server's).

Mounting beside the v3 table, in `_server.py`'s `ROUTE_TABLES`: `lambda emu: chat_routes(emu._v3)` once the
emulator keeps a `ChatState` as `_v3` (shared with `v3_routes`), or `lambda emu: chat_routes(ChatState(api_key=
emu.api_key))`. The emulator's middlewares already record every request, so its state keeps `record` a no-op; the
handler is marked `public` for the emulator's auth middleware because it answers a missing key itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .._prices import load_prices
from .._v3_models import MAX_FALLBACKS
from ._v3 import V3State, _cost, _invalid, _json, _openai_error, serving
from ._wire import public

log = logging.getLogger("edenframe.testing")

CHAT_PATH = "/v3/chat/completions"
ROLES = ("user", "assistant", "system", "tool", "developer")  # OpenAPI `Message.role`
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "max", "xhigh", "disable", "none")
RESPONSE_TYPES = ("text", "json_object", "json_schema")
FALLBACK_PRICE_PER_TOKEN = 1e-6  # a model the price table does not list still costs something (never a silent 0)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_MAX_DEPTH = 8  # recursive schemas ($ref to itself) stop here with the smallest valid value

Problem = tuple[list[str | int], str, str]


@dataclass
class ChatState(V3State):
    """A `V3State` with the chat route's own options; usable by `v3_routes` too, so both share one account."""

    invalid_share: float = 0.0  # share of answers deliberately invalid (not JSON, or breaking the schema)
    chat_cost: bool = False  # add Eden's `cost` (number or string per `cost_format`) to the chat answer
    chat_usage: bool = True  # False: answers without `usage`, which the OpenAPI does not require
    llm_models: Collection[str] | None = None  # what GET /v3/models lists; None: the price table's LLM models

    def __post_init__(self) -> None:
        if not 0.0 <= self.invalid_share <= 1.0:
            raise ValueError(f"invalid_share is a share between 0 and 1, got {self.invalid_share!r}")


# ---------------------------------------------------------------------------------------------------------------
# Body validation


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# option -> (pydantic's words for the type, the check, optional (low, high) bounds), from `LlmCompletionBody`
_RANGED: dict[str, tuple[str, Callable[[Any], bool], tuple[float | None, float | None]]] = {
    "temperature": ("a valid number", _number, (0, 2)),
    "top_p": ("a valid number", _number, (0, 1)),
    "frequency_penalty": ("a valid number", _number, (-2, 2)),
    "presence_penalty": ("a valid number", _number, (-2, 2)),
    "max_tokens": ("a valid integer", _integer, (1, None)),
    "max_completion_tokens": ("a valid integer", _integer, (1, None)),
    "n": ("a valid integer", _integer, (1, None)),
    "top_logprobs": ("a valid integer", _integer, (1, 20)),
    "seed": ("a valid integer", _integer, (None, None)),
    "stream": ("a valid boolean", lambda v: isinstance(v, bool), (None, None)),
    "logprobs": ("a valid boolean", lambda v: isinstance(v, bool), (None, None)),
    "response_format": ("a valid dictionary", lambda v: isinstance(v, dict), (None, None)),
    "thinking": ("a valid dictionary", lambda v: isinstance(v, dict), (None, None)),
    "metadata": ("a valid dictionary", lambda v: isinstance(v, dict), (None, None)),
}


def _body_problems(data: Any) -> list[Problem]:
    """What FastAPI would refuse in `LlmCompletionBody` (422), in pydantic's words."""
    if not isinstance(data, dict):
        return [(["body"], "Input should be a valid dictionary or object to extract fields from", "dict_type")]
    problems: list[Problem] = []
    for name in ("model", "messages"):
        if name not in data:
            problems.append((["body", name], "Field required", "missing"))
    if "model" in data and not isinstance(data["model"], str):
        problems.append((["body", "model"], "Input should be a valid string", "string_type"))
    messages = data.get("messages")
    if "messages" in data and not isinstance(messages, list):
        problems.append((["body", "messages"], "Input should be a valid list", "list_type"))
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        loc: list[str | int] = ["body", "messages", index]
        if not isinstance(message, dict):
            problems.append((loc, "Input should be a valid dictionary", "dict_type"))
            continue
        if "role" not in message:
            problems.append(([*loc, "role"], "Field required", "missing"))
        elif message["role"] not in ROLES:
            problems.append(([*loc, "role"], f"Input should be {', '.join(map(repr, ROLES))}", "enum"))
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            problems.append(([*loc, "content"], "Input should be a valid string or list", "string_type"))
        for part_index, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, dict) or part.get("type") not in ("text", "image_url", "file"):
                problems.append(([*loc, "content", part_index], "a text, image_url or file part", "union_tag"))
            elif part["type"] == "text" and not isinstance(part.get("text"), str):
                problems.append(([*loc, "content", part_index, "text"], "Field required", "missing"))
    for name, (word, check, (low, high)) in _RANGED.items():
        value = data.get(name)
        if value is None:
            continue
        if not check(value):
            problems.append((["body", name], f"Input should be {word}", "type_error"))
        elif low is not None and value < low:
            problems.append((["body", name], f"Input should be greater than or equal to {low}", "greater_than_equal"))
        elif high is not None and value > high:
            problems.append((["body", name], f"Input should be less than or equal to {high}", "less_than_equal"))
    effort = data.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        problems.append(
            (["body", "reasoning_effort"], f"Input should be {', '.join(map(repr, REASONING_EFFORTS))}", "enum")
        )
    fallbacks = data.get("fallbacks")
    if fallbacks is not None:
        if not isinstance(fallbacks, list) or not all(isinstance(f, str) for f in fallbacks):
            problems.append((["body", "fallbacks"], "Input should be a valid list of strings", "list_type"))
        elif len(fallbacks) > MAX_FALLBACKS:
            problems.append((["body", "fallbacks"], f"List should have at most {MAX_FALLBACKS} items", "too_long"))
    return problems


def _model_ok(model: str) -> bool:
    provider, _, name = model.partition("/")
    return bool(provider.strip()) and bool(name.strip())


def _requested_schema(response_format: Any) -> tuple[str, Any] | str:
    """(mode, schema or None) from `response_format`, or why it is refused (a 400 message)."""
    if response_format is None:
        return "text", None
    kind = response_format.get("type")
    if kind not in RESPONSE_TYPES:
        return f"response_format.type must be one of {', '.join(RESPONSE_TYPES)}, got {kind!r}."
    if kind != "json_schema":
        return kind, None
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        return "response_format json_schema needs `json_schema: {name, schema: {...}}` with an object schema."
    return kind, spec["schema"]


# ---------------------------------------------------------------------------------------------------------------
# Deterministic answers


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _prompt(messages: list[dict[str, Any]]) -> str:
    """Every message as `role: text`, one a line: what the answer is derived from."""
    return "\n".join(f"{m['role']}: {_text(m.get('content'))}" for m in messages)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return _text(message.get("content"))
    return ""


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def _is_invalid(prompt: str, share: float) -> bool:
    """Whether this prompt's answer is one of the deliberately invalid ones: a hash of the prompt alone (salted,
    so it is independent of the content's draw), compared with the share."""
    if share <= 0:
        return False
    draw = int.from_bytes(_digest("invalid", prompt)[:8], "big") / 2**64
    return draw < share


class _Generator:
    """A JSON value valid against a JSON Schema, drawn from a seeded RNG and the prompt's words."""

    def __init__(self, rng: random.Random, words: list[str], root: dict[str, Any]) -> None:
        self.rng, self.words, self.root = rng, words or ["emulated", "answer"], root

    def phrase(self, low: int = 1, high: int = 4) -> str:
        count = self.rng.randint(low, high)
        start = self.rng.randrange(len(self.words))
        return " ".join(self.words[(start + i) % len(self.words)] for i in range(count))

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a local `$ref` ("#/$defs/Name", "#/definitions/Name"), as pydantic's schemas use them."""
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 32:
            target: Any = self.root
            for key in schema["$ref"].lstrip("#/").split("/"):
                target = target.get(key, {}) if isinstance(target, dict) else {}
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema

    def value(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict):
            return self.phrase()  # `true` / `{}`: anything goes
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        if isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            return self.value({**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}, depth)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                concrete = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
                # a nullable field is null a quarter of the time, so clients meet both
                if len(concrete) < len(options) and (not concrete or self.rng.random() < 0.25 or depth >= _MAX_DEPTH):
                    return None
                return self.value(self.rng.choice(concrete), depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if len(kinds) < len(kind) and (not kinds or self.rng.random() < 0.25):
                return None
            kind = self.rng.choice(kinds)
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        return getattr(self, f"_{kind}", self._string)(schema, depth)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        if depth >= _MAX_DEPTH:
            return {name: self.value(properties[name], depth + 1) for name in properties if name in required}
        return {name: self.value(sub, depth + 1) for name, sub in properties.items()}

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = int(schema.get("minItems", 1 if depth < _MAX_DEPTH else 0))
        high = max(low, min(int(schema.get("maxItems", 3)), 3))
        count = self.rng.randint(low, high)
        items = schema.get("items", {})
        out: list[Any] = []
        for _ in range(count * 10):  # uniqueItems: draw again on a repeat, give up after a few tries
            if len(out) == count:
                break
            item = self.value(items, depth + 1)
            if not schema.get("uniqueItems") or item not in out:
                out.append(item)
        return out

    def _bounds(self, schema: dict[str, Any], default: tuple[float, float]) -> tuple[float, float, bool, bool]:
        low, high = schema.get("minimum"), schema.get("maximum")
        ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        lo_open = isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool)
        hi_open = isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool)
        lo = ex_low if lo_open else low
        hi = ex_high if hi_open else high
        if lo is None and hi is None:
            lo, hi = default
        elif lo is None:
            lo = hi - (default[1] - default[0])
        elif hi is None:
            hi = lo + (default[1] - default[0])
        return float(lo), float(hi), lo_open, hi_open

    def _number(self, schema: dict[str, Any], depth: int) -> float:
        lo, hi, _, _ = self._bounds(schema, (0.0, 1.0))
        value = round(lo + (hi - lo) * (0.05 + 0.9 * self.rng.random()), 4)  # strictly inside: exclusive bounds hold
        return min(max(value, lo), hi) if lo != hi else lo

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        lo, hi, lo_open, hi_open = self._bounds(schema, (1, 5))
        low = math.floor(lo) + 1 if lo_open else math.ceil(lo)
        high = math.ceil(hi) - 1 if hi_open else math.floor(hi)
        return self.rng.randint(low, max(low, high))

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            return f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        if fmt == "date-time":
            return f"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}T12:00:00Z"
        if fmt == "email":
            return f"{self.words[0].lower()}@example.com"
        text = self.phrase()
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        while len(text) < low:
            text = f"{text} {self.phrase()}"
        return text[: int(high)] if high is not None else text


def _break(schema: dict[str, Any], valid: Any, rng: random.Random) -> str:
    """An answer that fails the schema: half the time not JSON at all (cut short, as a model that stopped
    mid-answer), otherwise JSON with a required field missing or of the wrong type."""
    text = json.dumps(valid)
    if rng.random() < 0.5 or not isinstance(valid, dict) or not valid:
        return text[: max(1, len(text) // 2)] if len(text) > 1 else "Sorry, I cannot answer in JSON."
    required = [name for name in schema.get("required") or () if name in valid]
    broken = dict(valid)
    if required and rng.random() < 0.5:
        del broken[rng.choice(required)]
    else:
        name = rng.choice(required or list(valid))
        # a list where the schema wants a scalar, a string where it wants a list or object: never allowed both
        broken[name] = "not a list" if isinstance(valid[name], (list, dict)) else [valid[name], valid[name]]
    return json.dumps(broken)


def answer_content(model: str, messages: list[dict[str, Any]], mode: str, schema: Any, invalid_share: float) -> str:
    """The content of the answer: deterministic in (model, messages, schema), a SHA-256 seeding every draw."""
    prompt = _prompt(messages)
    rng = random.Random(_digest(model, prompt, json.dumps(schema, sort_keys=True)))
    words = _WORD.findall(_last_user_text(messages)) or _WORD.findall(prompt)
    generator = _Generator(rng, words, schema if isinstance(schema, dict) else {})
    invalid = _is_invalid(prompt, invalid_share)
    if mode == "json_schema":
        valid = generator.value(schema)
        return _break(generator.resolve(schema), valid, rng) if invalid else json.dumps(valid)
    if mode == "json_object":
        valid = {"answer": generator.phrase(2, 6)}
        return _break({"required": ["answer"]}, valid, rng) if invalid else json.dumps(valid)
    return f"Emulated answer from {model}: {generator.phrase(3, 8)}."


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # ~4 characters a token, like the embeddings route


def _price(state: V3State, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    given = state.llm_prices.get(model)  # the prices GET /v3/models serves for it, when a test changed them
    if given is not None:
        return round(prompt_tokens * given[0] + completion_tokens * given[1], 12)
    tokens = prompt_tokens + completion_tokens
    table = load_prices()
    price = table.price("text/chat", model) or table.price("text/generation", model)
    return price.cost(tokens) if price is not None else tokens * FALLBACK_PRICE_PER_TOKEN


# ---------------------------------------------------------------------------------------------------------------
# The route


def chat_routes(state: ChatState) -> web.RouteTableDef:
    """`POST /v3/chat/completions` (and with a trailing slash), serving from `state`."""
    routes = web.RouteTableDef()

    async def _complete(data: Any) -> web.Response:
        problems = _body_problems(data)
        if problems:
            return _invalid(*problems)
        model: str = data["model"]
        if not _model_ok(model):
            return _openai_error(400, f"Invalid model {model!r}: use 'provider/model'.", "invalid_request_error")
        for target in data.get("fallbacks") or ():
            if not _model_ok(target):
                return _openai_error(
                    400, f"Invalid fallback {target!r}: use 'provider/model'.", "invalid_request_error"
                )
        if data.get("stream"):
            return _openai_error(
                400, "stream=true (SSE) is not emulated: send stream=false.", "invalid_request_error", "stream"
            )
        messages: list[dict[str, Any]] = data["messages"]
        if not messages:
            return _openai_error(400, "`messages` must hold at least one message.", "invalid_request_error")
        requested = _requested_schema(data.get("response_format"))
        if isinstance(requested, str):
            return _openai_error(400, requested, "invalid_request_error", "response_format")
        mode, schema = requested
        asked = _last_user_text(messages)
        if asked in state.fail_inputs:
            return _openai_error(400, "This input was rejected by the emulator (fail_inputs).", "invalid_request_error")
        if asked in state.request_fail_inputs:
            return _openai_error(500, "The request failed (request_fail_inputs).", "server_error")
        if state.credits is not None and state.spent >= state.credits:
            return _openai_error(402, "User does not have sufficient credits", "insufficient_quota", 402)
        answered_by = next(
            (
                m
                for m in (model, *(data.get("fallbacks") or ()))
                # a provider named alone fails all its models; 'provider/model' fails that model only
                if m.split("/", 1)[0] not in state.failing_providers
                and m not in state.failing_providers
                and asked not in state.provider_fail_inputs
            ),
            None,
        )
        if answered_by is None:
            return _openai_error(502, "Provider has returned an Error. Please try again later.", "provider_error", 502)

        content = answer_content(answered_by, messages, mode, schema, state.invalid_share)
        finish = "stop"
        limit = data.get("max_completion_tokens") or data.get("max_tokens")
        if limit is not None and _tokens(content) > limit:
            content, finish = content[: limit * 4], "length"
        prompt_tokens, completion_tokens = _tokens(_prompt(messages)), _tokens(content)
        cost = _price(state, answered_by, prompt_tokens, completion_tokens)
        state.spent += cost
        state.charge(job="chat", name=None, provider=answered_by, cost=cost)
        body: dict[str, Any] = {
            "id": "chatcmpl-" + _digest(answered_by, _prompt(messages), str(state.spent)).hex()[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answered_by,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        if not state.chat_usage:
            del body["usage"]
        if state.chat_cost:
            body["cost"] = _cost(state, cost)
        return _json(body)

    async def complete(request: web.Request, data: Any) -> web.Response:
        return await _complete(data)

    completions = serving(
        state,
        complete,
        check_key=True,
        openai=True,
        crashed=lambda message: _openai_error(500, message, "server_error"),
    )

    # The route checks the key itself (an OpenAI-shaped 401), so once mounted in `EdenEmulator` its v2-shaped auth
    # middleware must let it through: marked `public` for that middleware, never without a key here.
    public(completions)
    for path in (CHAT_PATH, CHAT_PATH + "/"):
        routes.post(path)(completions)

    return routes


__all__ = ["ChatState", "answer_content", "chat_routes"]
