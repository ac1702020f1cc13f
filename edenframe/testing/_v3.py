"""The Eden AI v3 routes of the emulator: Universal AI (sync and async), uploads, embeddings and discovery.

Built from `wire-format-v3.md`, the v3 feature pages and the v3 OpenAPI (2026-06), never from what a client sends;
`v3_routes(state)` returns an aiohttp `RouteTableDef` to mount on the emulator's application (before its catch-all
route). Everything the routes need lives in a `V3State`: the key, the account's rate limit, where calls and charges
are recorded, and the function that answers one (subfeature, provider, input).

Shapes and statuses, with the choice made where the documents are silent:

- `POST /v3/universal-ai` `{model, input, fallbacks?, provider_params?, show_original_response?}` answers HTTP 200
  `{status, cost, provider, feature, subfeature, output, error}` even when the provider failed (`status: "fail"`,
  `output: null`, `error: {"message"}`); `cost` is a JSON number (the docs' examples) or a decimal string (the
  OpenAPI), per `V3State.cost_format`. Body validation answers FastAPI's 422 `{"detail": [{loc, msg, type}]}`: a
  missing, unknown or ill-typed input field, a v2-only field or option, more than 3 fallbacks. A malformed model
  string is 400, an unknown subfeature or provider 404 (both documented, for different cases). An async
  subfeature sent to the sync endpoint, or a sync one to the async endpoint, is 400 (undocumented).
- `POST /v3/universal-ai/async` answers 202 `{public_id, status: "processing", ...}`; `GET .../async/{public_id}`
  the same object until the job is done (`success` or `fail`, `V3State.job_seconds` after launch); `DELETE` 200;
  `GET /v3/universal-ai/async` lists jobs (newest first, `page`/`limit`).
- `POST /v3/upload` (multipart `file`, `expires_in_days` 1-30, `purpose`) answers `UploadResponse`; its `file_id`
  is accepted wherever an input is a file. `GET /v3/upload`, `DELETE /v3/upload`, `POST /v3/upload/delete` too.
- `POST /v3/embeddings` is OpenAI-shaped: `{model: "provider/model", input: str | [str]}` ->
  `{object: "list", data: [{object, index, embedding}], model, provider, usage, cost}`; errors as
  `{"error": {message, type, code}}` (400 bad body, 404 unknown model).
- `GET /v3/info`, `/v3/info/{feature}`, `/v3/info/{feature}/{subfeature}` are public (no key), like the spec says,
  each model with `pricing: {price, price_unit_quantity, price_unit_type}` (the documented `V3_MODELS`, or
  `V3State.prices`, which the universal-ai routes then bill). `GET /v3/models` and `/v3/embeddings/models` (public)
  answer `ListModelsResponse` with OpenRouter's `pricing: {prompt, completion}` in USD per token (the OpenAPI leaves
  `pricing` free): the shipped table's token prices, with `V3State.llm_prices` for the chat models.
- Auth: `Authorization: Bearer <key>` on every other route; 401 when missing or wrong.
- Every `/v3` route spends the account's budget (`AccountRateLimit`, a token bucket): 429
  `{"detail": "Rate limit exceeded", ...}` with a `Retry-After` header, without it, or alternating. `/v3/info` too
  ("all endpoints under /v3"), though it needs no key.

Mounting, in `EdenEmulator.astart` before its catch-all route: `app.add_routes(v3_routes(self._v3))`, where
`self._v3 = V3State(api_key=..., record=lambda **kw: <append Call(**kw)>, charge=lambda **kw: <append
Charge(**kw)>, ...)`. `/v3/info` lists subfeatures in v3's naming (`audio/tts`, `ocr/financial_parser`) and not
those v3 lacks: a provider check on v3 looks an entry up by `v3_mapping(path).v3_path`.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import mimetypes
import random
import re
import struct
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web

from .._catalog import Media, Param, Subfeature, get_subfeature
from .._schema import Enum, ListOf, Scalar, Struct, Type
from .._schema import Mapping as FreeForm
from .._v3_models import (
    MAX_FALLBACKS,
    V2_ONLY_OPTIONS,
    V3_MAPPINGS,
    V3_SUBFEATURES,
    ModelPrice,
    V3Field,
    V3Subfeature,
    models_of,
    split_model,
    v2_paths_of,
)
from . import _v3_canned
from ._synthetic import synthetic_cost, synthetic_output

# (v3 subfeature path, provider spec "provider[/model]", input with files resolved to bytes) -> (output, cost)
Answer = Callable[[str, str, dict[str, Any]], Awaitable[tuple[dict[str, Any], float]]]

log = logging.getLogger("edenframe.testing")

PSEUDO_PROVIDERS = ("synthetic", "local")
EMBEDDINGS_PATH = "text/embeddings"  # the v2 catalog entry whose synthetic vectors /v3/embeddings serves
MAX_EMBEDDING_INPUTS = 2048  # EmbeddingsBody.input: "Max 2048 items for OpenAI"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URL = re.compile(r"^https?://\S+$")
_BODY_OPTIONS = ("model", "input", "fallbacks", "provider_params", "show_original_response")
_ASYNC_OPTIONS = ("webhook_receiver", "user_webhook_parameters")
_DROP = "drop"


def _ignore(**_: Any) -> None:
    return None


# ---------------------------------------------------------------------------------------------------------------
# The account's rate limit and the random faults


class AccountRateLimit:
    """A token bucket on request starts: `rate` requests per second, bursts of at most `burst`.

    `retry_after` says how a refusal tells the client when to come back: "header" (a `Retry-After` header and
    `retry_after` in the body, seconds until a token is free), "none" (neither: the docs promise no header) or
    "alternate" (every other refusal has them). Thread-safe, though the routes use it from one event loop."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        retry_after: Literal["header", "none", "alternate"] = "header",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate is requests per second (> 0), got {rate!r}")
        if retry_after not in ("header", "none", "alternate"):
            raise ValueError(f"retry_after is 'header', 'none' or 'alternate', got {retry_after!r}")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        if self.burst < 1:
            raise ValueError(f"burst must allow one request (>= 1), got {burst!r}")
        self.retry_after = retry_after
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()
        self.admitted = 0
        self.refused = 0

    def take(self) -> float | None:
        """None when the request may start (a token is spent), else the seconds until the next token."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.admitted += 1
                return None
            self.refused += 1
            return (1.0 - self._tokens) / self.rate

    def tells(self) -> bool:
        """Whether the refusal being answered carries `Retry-After`."""
        if self.retry_after == "alternate":
            return self.refused % 2 == 1
        return self.retry_after == "header"


@dataclass
class V3Faults:
    """Random faults on every v3 route, besides the account limit: probabilities per request."""

    server_error: float = 0.0  # a 500
    drop_connection: float = 0.0  # the connection closed without an answer
    rate_limited: float = 0.0  # a 429 although the bucket had room (another process spent it)
    latency: float = 0.0  # seconds added before each answer
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("server_error", "drop_connection", "rate_limited"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1, got {p!r}")
        self._rng = random.Random(self.seed)

    def roll(self) -> str | None:
        """ "drop", "500", "429" or None."""
        if not (self.server_error or self.drop_connection or self.rate_limited):
            return None
        roll = self._rng.random()
        for name, p in (("drop", self.drop_connection), ("500", self.server_error), ("429", self.rate_limited)):
            if roll < p:
                return name
            roll -= p
        return None


# ---------------------------------------------------------------------------------------------------------------
# Server-side records


@dataclass
class Upload:
    """A file stored by `POST /v3/upload`."""

    file_id: str
    name: str
    content: bytes
    mimetype: str
    purpose: str
    created_at: datetime
    expires_at: datetime

    def wire(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_name": self.name,
            "file_size": len(self.content),
            "file_mimetype": self.mimetype,
            "purpose": self.purpose,
            "metadata": {},
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
        }


@dataclass
class AsyncJob:
    """A job launched on `POST /v3/universal-ai/async`."""

    public_id: str
    sub: V3Subfeature
    attempts: list[str]  # provider specs: the model's, then the fallbacks'
    model: str | None  # the provider's model named in the request, if any
    input: dict[str, Any]
    show_original_response: bool
    created_at: datetime
    due: float  # loop time when the result is ready
    status: str = "processing"
    provider: str = ""
    output: Any = None
    error: dict[str, Any] | None = None
    cost: float = 0.0
    task: asyncio.Task[None] | None = None


@dataclass
class V3State:
    """What the v3 routes need, and what they keep between requests.

    `record(method=, path=, query=, json=, status=)` is called once per request (`status` None when the
    connection was dropped); `charge(job=, name=, provider=, cost=)` once per result billed (`job` is "sync",
    "embeddings" or an async job's `public_id`; `name` is None). Both take keyword arguments only, so the emulator's
    `Call(**kw)` / `Charge(**kw)` fit. `answer` computes one provider's output; the default is `synthetic_answer`
    (the synthetic generator, and the offline implementations for provider `local`)."""

    api_key: str = "test-key"
    answer: Answer | None = None  # None: synthetic_answer
    limiter: AccountRateLimit | None = None
    record: Callable[..., None] = _ignore
    charge: Callable[..., None] = _ignore
    faults: V3Faults = field(default_factory=V3Faults)
    # Providers served per subfeature, replacing the documented ones (keys in v3 or v2 naming: "audio/tts" or
    # "audio/text_to_speech"); `synthetic` and `local` are always served.
    providers: Mapping[str, Collection[str]] = field(default_factory=dict)
    cost_format: Literal["number", "string", "alternate"] = "number"
    provider_fail_inputs: Collection[str] = ()  # inputs every provider fails on: 200 with status "fail"
    failing_providers: Collection[str] = ()  # providers that fail every request (so fallbacks answer)
    fail_inputs: Collection[str] = ()  # inputs refused with a 400
    request_fail_inputs: Collection[str] = ()  # inputs answered with a 500
    job_seconds: float = 0.0  # how long an async job stays "processing"
    credits: float | None = None  # once this much is charged, billable requests get a 402
    flat_image_generation: bool = False  # image/generation as {image, image_resource_url} (the GEN page's form)
    shuffle_embeddings: bool = False  # answer `data[]` out of input order (only `index` says which is which)
    max_upload_bytes: int = 100 * 1024 * 1024  # "Default maximum: 100 MB per file"
    info_status: int | None = None  # the info routes answer this HTTP error status instead
    # Listed prices replacing or adding to the documented ones (`V3_MODELS`), by model string
    # ("text/moderation/google"): (price, price_unit_quantity, price_unit_type), or a price alone (the documented
    # quantity and unit kept). Served by the info routes and billed for that model (times `cost_factor`).
    prices: Mapping[str, Any] = field(default_factory=dict)
    # LLM token prices by "provider/model": (input, output) USD per token, served by GET /v3/models (the others:
    # the shipped price table's `text/chat` token price, in and out alike).
    llm_prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    cost_factor: float = 1.0  # charges of a model priced by `prices` are its listed price times this
    # fixed answers ({path: {provider: provider object}}, the emulator's `responses=`): see `_v3_canned.py`
    responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # kept between requests
    uploads: dict[str, Upload] = field(default_factory=dict)
    jobs: dict[str, AsyncJob] = field(default_factory=dict)
    spent: float = 0.0
    _answers: int = 0

    def served(self, sub: V3Subfeature) -> list[str]:
        """The provider names served for a subfeature: the override, else the documented models' providers (the
        v2 catalog's where no page lists any), then `synthetic` and `local` (where it has an implementation)."""
        listed: Collection[str] | None = self.providers.get(sub.path)
        if listed is None:
            for v2_path in v2_paths_of(sub.path):
                if v2_path in self.providers:
                    listed = self.providers[v2_path]
                    break
        if listed is None:
            listed = [m.provider for m in models_of(sub.path)]
            if not listed:
                listed = [p for v2 in v2_paths_of(sub.path) for p in get_subfeature(v2).providers]
        names = [*dict.fromkeys([*listed, *_v3_canned.providers(self.responses, sub)]), "synthetic"]
        if _local_entry(sub) is not None:
            names.append("local")
        return names

    def listed(self, sub: V3Subfeature) -> dict[str, ModelPrice | None]:
        """Every model ("provider[/model]") /v3/info lists for a subfeature, with its listed price: the documented
        models of the served providers (a provider without one listed bare), with `prices` applied."""
        documented = {m.model: m for m in models_of(sub.path)}
        extra = [key[len(sub.path) + 1 :] for key in self.prices if key.startswith(f"{sub.path}/")]
        out: dict[str, ModelPrice | None] = {}
        for name in self.served(sub):
            specs = [m for m in [*documented, *extra] if m.split("/", 1)[0] == name] or [name]
            for spec in specs:
                out[spec] = self._priced(sub.path, spec, documented.get(spec))
        return out

    def _priced(self, path: str, spec: str, documented: ModelPrice | None) -> ModelPrice | None:
        given = self.prices.get(f"{path}/{spec}")
        if given is None:
            return documented
        if isinstance(given, (int, float)):
            per, unit = (documented.per, documented.unit) if documented is not None else (1, "request")
            return ModelPrice(spec, float(given), per, unit)
        price, per, unit = given
        return ModelPrice(spec, float(price), int(per), str(unit))

    def billed(self, sub: V3Subfeature, spec: str, data: dict[str, Any], cost: float) -> float:
        """The charge of one answer: a model priced by `prices` is billed at that price (the emulator's reading of
        v3 billing: chars of the text input, tokens as chars / 4, one of any other unit per request)."""
        if f"{sub.path}/{spec}" not in self.prices:
            return cost
        price = self._priced(sub.path, spec, None)
        assert price is not None
        text = data.get("text")
        chars = len(text) if isinstance(text, str) else 0
        quantity = {"char": chars, "token": math.ceil(chars / 4), "free": 0}.get(price.unit, 1)
        return round(quantity * price.price / (price.per or 1) * self.cost_factor, 12)

    def token_prices(self, path: str) -> dict[str, tuple[float, float]]:
        """The (input, output) USD per token of the models of the shipped price table's `path` ("text/chat",
        "text/embeddings") named "provider/model", with `llm_prices` applied (chat only)."""
        from .._prices import snapshot_token_prices

        out = {key: (p.input, p.output) for key, p in snapshot_token_prices(path).items() if p is not None}
        if path == "text/chat":
            out.update({k: (float(a), float(b)) for k, (a, b) in self.llm_prices.items()})
        return out


# ---------------------------------------------------------------------------------------------------------------
# Synthetic answers


def _v2_entry(sub: V3Subfeature) -> Subfeature | None:
    """The catalog entry whose output (or part of it) this v3 subfeature gives, if any."""
    paths = v2_paths_of(sub.path)
    if not paths:
        return None
    entry = get_subfeature(paths[0])
    if sub.output is not None and not all(
        name in entry.output.names and entry.output.field(name) == t for name, t in sub.output.fields
    ):
        return None  # v3's own output (the financial parser): generated from its own type
    return entry


def _local_entry(sub: V3Subfeature) -> Subfeature | None:
    from .._local import has_local

    entry = _v2_entry(sub)
    return entry if entry is not None and has_local(entry.path) else None


def _pseudo_entry(sub: V3Subfeature) -> Subfeature:
    """A catalog-shaped entry for a subfeature new in v3, so the synthetic generator can fill its output: its
    catalog entry where it has a method (so `expected_row` and the emulator agree), else one made up here."""
    assert sub.output is not None
    if sub.method is not None:
        from .._catalog import all_subfeatures

        entry = next((e for e in all_subfeatures() if e.path == sub.path), None)
        if entry is not None:
            return entry
    main = next(f for f in sub.inputs if f.required)
    media = None
    if "image_resource_url" in sub.output.names:
        payload = "image_b64" if "image_b64" in sub.output.names else "image"
        media = Media(payload=payload, url="image_resource_url", kind="image")
    return Subfeature(
        path=sub.path,
        method=sub.method or sub.subfeature,
        summary=sub.summary,
        input_field=main.name,
        input_kind="file" if main.file else "text",
        output=sub.output,
        params=tuple(Param(f.name, f.type or FreeForm()) for f in sub.inputs if f is not main),
        media=media,
    )


def _to_v2(sub: V3Subfeature, entry: Subfeature, data: dict[str, Any]) -> dict[str, Any]:
    """A v3 input in the v2 catalog's names, so v2 and v3 get the same synthetic answer for the same request."""
    mapping = V3_MAPPINGS[entry.path]
    fixed = {name for name, _ in mapping.fixed}
    return {mapping.v2_name(k): v for k, v in data.items() if k not in fixed}


async def synthetic_answer(path: str, provider: str, data: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """The default `V3State.answer`: what v2's synthetic (or local) provider gives for the same request, in v3's
    output fields (text to speech keeps `audio_resource_url` only); v3's own subfeatures from their own type."""
    sub = V3_SUBFEATURES[path]
    entry = _v2_entry(sub)
    if entry is None:
        pseudo = _pseudo_entry(sub)
        return synthetic_output(pseudo, provider, data), synthetic_cost(pseudo, provider, data)
    item = _to_v2(sub, entry, data)
    if provider.split("/", 1)[0] == "local":
        from .._local import local_compute

        [result] = await asyncio.to_thread(lambda: list(local_compute(entry.path)([item])))
        if not isinstance(result, dict) or result.get("status") == "fail":
            error = result.get("error") if isinstance(result, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            raise RuntimeError(str(message or "the local provider failed"))
        output = {k: v for k, v in result.items() if k not in ("status", "cost", "usage", "original_response")}
        cost = float(result.get("cost") or 0.0)
    else:
        output, cost = synthetic_output(entry, provider, item), synthetic_cost(entry, provider, item)
    if sub.output is not None:  # a narrower output than v2's (text to speech)
        output = {name: output.get(name) for name in sub.output.names}
    return output, cost


# ---------------------------------------------------------------------------------------------------------------
# Wire helpers


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(payload, status=status, headers=headers)


def _detail(status: int, message: str, **extra: Any) -> web.Response:
    """Universal AI and management endpoints: `{"detail": ...}` (SKILL-09)."""
    return _json({"detail": message, **extra}, status)


def _invalid(*problems: tuple[list[str | int], str, str]) -> web.Response:
    """FastAPI's HTTPValidationError: 422 `{"detail": [{loc, msg, type}]}`."""
    return _json({"detail": [{"loc": loc, "msg": msg, "type": type_} for loc, msg, type_ in problems]}, 422)


def _openai_error(status: int, message: str, type_: str, code: str | int | None = None) -> web.Response:
    """The OpenAI-shaped error of `/v3/embeddings` and the other OpenAI-compatible routes."""
    return _json({"error": {"message": message, "type": type_, "code": code}}, status)


def _decimal(value: float) -> str:
    """A price as a decimal string ("0.0000006", never "6e-07")."""
    return format(value, ".12f").rstrip("0").rstrip(".") or "0"


def _seconds(value: float) -> str:
    value = math.ceil(value * 1000) / 1000
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _cost(state: V3State, value: float) -> float | str:
    state._answers += 1
    as_string = state.cost_format == "string" or (state.cost_format == "alternate" and state._answers % 2 == 0)
    if not as_string:
        return value
    return format(value, ".10f").rstrip("0").rstrip(".") or "0"


def _type_problem(t: Type | None, value: Any) -> str | None:
    """Why `value` does not fit the documented type (None when it does), in pydantic's words."""
    if t is None or value is None:
        return None
    if isinstance(t, Enum):
        return None if value in t.values else f"Input should be {', '.join(repr(v) for v in t.values)}"
    if isinstance(t, Scalar):
        ok = {
            "string": isinstance(value, str),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
        }[t.kind]
        word = {"string": "a valid string", "float": "a valid number", "int": "a valid integer", "bool": "a bool"}
        return None if ok else f"Input should be {word[t.kind]}"
    if isinstance(t, ListOf):
        if not isinstance(value, list):
            return "Input should be a valid list"
        for element in value:
            problem = _type_problem(t.item, element)
            if problem:
                return problem
        return None
    if isinstance(t, (Struct, FreeForm)):
        return None if isinstance(value, dict) else "Input should be a valid dictionary"
    return None


def _hits(sub: V3Subfeature, data: dict[str, Any], values: Collection[str]) -> bool:
    """Whether the request's main input (its text, its file URL or id) is one of `values`."""
    if not values:
        return False
    main = next((f for f in sub.inputs if f.required), None)
    return main is not None and isinstance(data.get(main.name), str) and data[main.name] in values


# ---------------------------------------------------------------------------------------------------------------
# The routes


def auth_refusal(state: V3State, request: web.Request, openai: bool) -> web.Response | None:
    """None when the request carries the account's Bearer key, else the 401 (OpenAI-shaped for the LLM routes)."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), state.api_key.encode()):
        return None
    message = "Invalid or missing authentication token: send `Authorization: Bearer <API key>`."
    if openai:
        return _openai_error(401, message, "authentication_error", "invalid_api_key")
    return _detail(401, message, error_code="UNAUTHORIZED")


def too_many(retry_after: float | None) -> web.Response:
    """The only documented v3 429 body (wire-format-v3 §3), with `Retry-After` when the account limit tells it."""
    body: dict[str, Any] = {"detail": "Rate limit exceeded", "error_code": "RATE_LIMITED"}
    headers = None
    if retry_after is not None:
        body["retry_after"] = round(retry_after, 3)
        headers = {"Retry-After": _seconds(retry_after)}
    return _json(body, 429, headers)


async def admission(
    state: V3State, request: web.Request, *, check_key: bool, openai: bool
) -> web.Response | str | None:
    """The steps every v3 route takes before its handler, in order: latency, auth, the account limit, random
    faults. Returns the early answer (a response, or `_DROP` for a dropped connection), or None to go on."""
    if state.faults.latency > 0:
        await asyncio.sleep(state.faults.latency)
    if check_key:
        denied = auth_refusal(state, request, openai)
        if denied is not None:
            return denied
    if state.limiter is not None:
        wait = state.limiter.take()
        if wait is not None:
            return too_many(wait if state.limiter.tells() else None)
    fault = state.faults.roll()
    if fault == "drop":
        return _DROP
    if fault == "500":
        return _detail(500, "Internal Server Error")
    if fault == "429":
        return too_many(1.0 if state.limiter is None or state.limiter.tells() else None)
    return None


def _eden_500(message: str) -> web.Response:
    return _detail(500, message)


def serving(
    state: V3State,
    handler: Callable[[web.Request, Any], Awaitable[web.StreamResponse]],
    *,
    check_key: bool,
    openai: bool,
    crashed: Callable[[str], web.Response] = _eden_500,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler running `handler(request, body)` behind the steps every v3 route shares: the body read,
    `admission` (latency, key, account limit, faults), a 500 (`crashed`) for an unforeseen error, and the record."""

    async def guarded(request: web.Request, data: Any) -> Any:
        early = await admission(state, request, check_key=check_key, openai=openai)
        if early is not None:
            return early
        try:
            return await handler(request, data)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an input nobody foresaw: a 500, and keep serving
            log.exception("emulator error on %s %s", request.method, request.path)
            return crashed(f"Internal Server Error: {type(exc).__name__}: {exc}")

    async def wrapped(request: web.Request) -> web.StreamResponse:
        status: int | None = None
        record: Any = None
        try:
            data, record = await _read(request)
            response = await guarded(request, data)
            if isinstance(response, str):  # _DROP
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            status = response.status
            return response
        finally:
            state.record(
                method=request.method, path=request.path, query=dict(request.query), json=record, status=status
            )

    return wrapped


def v3_routes(state: V3State) -> web.RouteTableDef:
    """The v3 routes, serving from `state`. Mount them before any catch-all route: `app.add_routes(...)`."""
    routes = web.RouteTableDef()
    answer: Answer = state.answer or synthetic_answer

    def endpoint(
        method: str, path: str, *, public: bool = False, openai: bool = False
    ) -> Callable[[Callable[..., Awaitable[web.StreamResponse]]], None]:
        """Register a handler behind the shared steps: record, latency, auth, rate limit, faults."""

        def register(handler: Callable[..., Awaitable[web.StreamResponse]]) -> None:
            routes.route(method, path)(serving(state, handler, check_key=not public, openai=openai))

        return register

    def _broke() -> web.Response | None:
        if state.credits is not None and state.spent >= state.credits:
            return _detail(402, "User does not have sufficient credits", error_code="INSUFFICIENT_CREDIT")
        return None

    def _bill(job: str, provider: str, cost: float) -> None:
        state.spent += cost
        state.charge(job=job, name=None, provider=provider, cost=cost)

    # -- Universal AI ------------------------------------------------------------------------------------------

    def _parse(data: Any, want: str) -> tuple[V3Subfeature, list[str], dict[str, Any], bool] | web.Response:
        """(subfeature, provider specs to try, input with files resolved, show_original_response) or the
        refusal Eden would send."""
        if not isinstance(data, dict):
            return _invalid(
                (["body"], "Input should be a valid dictionary or object to extract fields from", "dict_type")
            )
        problems: list[tuple[list[str | int], str, str]] = []
        for name in ("model", "input"):
            if name not in data:
                problems.append((["body", name], "field required", "value_error.missing"))
        allowed = (*_BODY_OPTIONS, *(_ASYNC_OPTIONS if want == "async" else ()))
        for name in data:
            if name in V2_ONLY_OPTIONS:
                problems.append((["body", name], f"v2 field, not in v3: {V2_ONLY_OPTIONS[name]}", "value_error.extra"))
            elif name not in allowed:
                problems.append((["body", name], "extra fields not permitted", "value_error.extra"))
        if "model" in data and not isinstance(data["model"], str):
            problems.append((["body", "model"], "Input should be a valid string", "string_type"))
        if "input" in data and not isinstance(data["input"], dict):
            problems.append((["body", "input"], "Input should be a valid dictionary", "dict_type"))
        if problems:
            return _invalid(*problems)
        parts = split_model(data["model"])
        if parts is None:
            return _detail(
                400,
                f"Invalid model {data['model']!r}: use 'feature/subfeature/provider[/model]'",
                error_code="INVALID_MODEL",
            )
        path, provider, _ = parts
        sub = V3_SUBFEATURES.get(path)
        if sub is None:
            return _detail(404, f"Unknown feature/subfeature {path!r} (GET /v3/info lists them)")
        if provider not in state.served(sub):
            return _detail(404, f"Provider {provider!r} is not available for {path} (GET /v3/info/{path} lists them)")
        if sub.mode != want:
            other = "/v3/universal-ai/async" if sub.mode == "async" else "/v3/universal-ai"
            return _detail(400, f"{path} is a {sub.mode} subfeature: send it to POST {other}")

        data_in: dict[str, Any] = data["input"]
        for name, value in data_in.items():
            f = sub.input(name)
            if f is None:
                problems.append((["body", "input", name], "extra fields not permitted", "value_error.extra"))
                continue
            problem = _type_problem(f.type, value)
            if problem:
                problems.append((["body", "input", name], problem, "type_error"))
            elif f.file and value is not None and not (_URL.match(value) or _UUID.match(value)):
                problems.append(
                    (["body", "input", name], "a public URL or a file_id from POST /v3/upload", "value_error")
                )
        for f in sub.inputs:
            if f.required and data_in.get(f.name) is None:
                problems.append((["body", "input", f.name], "field required", "value_error.missing"))
        fallbacks = data.get("fallbacks")
        attempts = [data["model"].split("/", 2)[2]]
        if fallbacks is not None:
            if not isinstance(fallbacks, list) or not all(isinstance(x, str) for x in fallbacks):
                problems.append((["body", "fallbacks"], "Input should be a valid list of strings", "list_type"))
            elif len(fallbacks) > MAX_FALLBACKS:
                problems.append((["body", "fallbacks"], f"List should have at most {MAX_FALLBACKS} items", "too_long"))
            elif fallbacks and not sub.fallbacks:
                problems.append((["body", "fallbacks"], f"fallbacks are not supported on {path}", "value_error"))
            else:
                for index, target in enumerate(fallbacks):
                    spec = _fallback_spec(sub, target)
                    if spec is None:
                        problems.append(
                            (
                                ["body", "fallbacks", index],
                                f"{target!r} is not a provider of {path}: primary and fallbacks must support "
                                "the same feature and subfeature",
                                "value_error",
                            )
                        )
                    else:
                        attempts.append(spec)
        if problems:
            return _invalid(*problems)

        resolved = dict(data_in)
        for f in sub.inputs:
            value = resolved.get(f.name)
            if f.file and isinstance(value, str) and _UUID.match(value):
                upload = state.uploads.get(value.lower())
                if upload is None or upload.expires_at <= _now():
                    return _detail(400, f"File {value} not found: upload it with POST /v3/upload (or send a URL)")
                resolved[f.name] = upload.content
        if _hits(sub, data_in, state.fail_inputs):
            return _detail(400, "This input was rejected by the emulator (fail_inputs).")
        if _hits(sub, data_in, state.request_fail_inputs):
            return _detail(500, "The request failed (request_fail_inputs).")
        return sub, attempts, resolved, data.get("show_original_response") is True

    def _fallback_spec(sub: V3Subfeature, target: str) -> str | None:
        """'provider[/model]' of a fallback entry ('amazon', 'openai/gpt-4', 'text/moderation/google')."""
        parts = split_model(target)
        if parts is not None and parts[0] == sub.path:
            spec = target.split("/", 2)[2]
        elif parts is not None and V3_SUBFEATURES.get(parts[0]) is not None:
            return None  # another subfeature's model
        else:
            spec = target
        return spec if spec.split("/", 1)[0] in state.served(sub) else None

    async def _attempt(sub: V3Subfeature, attempts: list[str], data: dict[str, Any], original: bool, job: str) -> dict:
        """Try the model, then each fallback; bill only the attempt that answered (failed attempts are free)."""
        error = "Provider has returned an Error. Please try again later."
        provider = attempts[0].split("/", 1)[0]
        for spec in attempts:
            provider = spec.split("/", 1)[0]
            if provider in state.failing_providers or _hits(sub, data, state.provider_fail_inputs):
                continue
            try:
                fixed = _v3_canned.answer(state.responses, sub, spec)
                output, cost = fixed if fixed is not None else await answer(sub.path, spec, data)
            except _v3_canned.ProviderFailure as exc:  # a fixed answer that fails: its own message
                error = str(exc)
                continue
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if sub.path == "image/generation" and state.flat_image_generation:
                items = output.get("items") or [{}]
                output = {"image": items[0].get("image"), "image_resource_url": items[0].get("image_resource_url")}
            cost = state.billed(sub, spec, data, cost)
            _bill(job, spec, cost)
            result: dict[str, Any] = {"status": "success", "provider": provider, "output": output, "error": None}
            result["cost"] = cost
            if original:
                result["original_response"] = {"emulated": True, "provider": spec}
            return result
        return {"status": "fail", "provider": provider, "output": None, "error": {"message": error}, "cost": 0.0}

    def _envelope(sub: V3Subfeature, result: dict[str, Any]) -> dict[str, Any]:
        out = {
            "status": result["status"],
            "cost": _cost(state, result["cost"]),
            "provider": result["provider"],
            "feature": sub.feature,
            "subfeature": sub.subfeature,
            "output": result["output"],
            "error": result["error"],
        }
        if "original_response" in result:
            out["original_response"] = result["original_response"]
        return out

    @endpoint("POST", "/v3/universal-ai")
    async def universal_ai(request: web.Request, data: Any) -> web.StreamResponse:
        parsed = _parse(data, "sync")
        if isinstance(parsed, web.Response):
            return parsed
        broke = _broke()
        if broke is not None:
            return broke
        sub, attempts, resolved, original = parsed
        return _json(_envelope(sub, await _attempt(sub, attempts, resolved, original, "sync")))

    # -- async jobs ---------------------------------------------------------------------------------------------

    def _job_wire(job: AsyncJob) -> dict[str, Any]:
        out = {
            "public_id": job.public_id,
            "status": job.status,
            "cost": _cost(state, job.cost),
            "provider": job.provider or job.attempts[0].split("/", 1)[0],
            "feature": job.sub.feature,
            "subfeature": job.sub.subfeature,
            "output": job.output,
            "error": job.error,
            "model": job.model,
            "created_at": _iso(job.created_at),
        }
        return out

    async def _finish(job: AsyncJob) -> None:
        result = await _attempt(job.sub, job.attempts, job.input, job.show_original_response, job.public_id)
        job.status, job.provider, job.output = result["status"], result["provider"], result["output"]
        job.error, job.cost = result["error"], result["cost"]

    @endpoint("POST", "/v3/universal-ai/async")
    async def launch(request: web.Request, data: Any) -> web.StreamResponse:
        parsed = _parse(data, "async")
        if isinstance(parsed, web.Response):
            return parsed
        broke = _broke()
        if broke is not None:
            return broke
        sub, attempts, resolved, original = parsed
        model = data["model"].split("/", 3)[3] if data["model"].count("/") >= 3 else None
        job = AsyncJob(
            public_id=str(uuid.uuid4()),
            sub=sub,
            attempts=attempts,
            model=model,
            input=resolved,
            show_original_response=original,
            created_at=_now(),
            due=asyncio.get_running_loop().time() + state.job_seconds,
        )
        state.jobs[job.public_id] = job
        return _json(_job_wire(job), 202)

    def _job(request: web.Request) -> AsyncJob | web.Response:
        public_id = request.match_info["public_id"]
        if not _UUID.match(public_id):
            return _invalid((["path", "job_id"], "Input should be a valid UUID", "uuid_parsing"))
        job = state.jobs.get(public_id.lower())
        return job if job is not None else _detail(404, f"Job {public_id} not found")

    @endpoint("GET", "/v3/universal-ai/async/{public_id}")
    async def poll(request: web.Request, data: Any) -> web.StreamResponse:
        job = _job(request)
        if isinstance(job, web.Response):
            return job
        if job.status == "processing" and asyncio.get_running_loop().time() >= job.due:
            if job.task is None:  # concurrent polls share one computation: the job is billed once
                job.task = asyncio.get_running_loop().create_task(_finish(job))
            await asyncio.shield(job.task)
        return _json(_job_wire(job))

    @endpoint("DELETE", "/v3/universal-ai/async/{public_id}")
    async def delete_job(request: web.Request, data: Any) -> web.StreamResponse:
        job = _job(request)
        if isinstance(job, web.Response):
            return job
        del state.jobs[job.public_id]
        if job.task is not None and not job.task.done():
            job.task.cancel()
        return _json({"public_id": job.public_id, "deleted": True})

    @endpoint("GET", "/v3/universal-ai/async")
    async def list_jobs(request: web.Request, data: Any) -> web.StreamResponse:
        paging = _paging(request)
        if isinstance(paging, web.Response):
            return paging
        page, limit = paging
        query = request.query
        jobs = [
            j
            for j in sorted(state.jobs.values(), key=lambda j: j.created_at, reverse=True)
            if query.get("feature") in (None, j.sub.feature)
            and query.get("subfeature") in (None, j.sub.subfeature)
            and query.get("status") in (None, j.status)
        ]
        items = [
            {
                k: v
                for k, v in _job_wire(j).items()
                if k in ("public_id", "status", "feature", "subfeature", "provider", "model", "created_at")
            }
            for j in jobs[(page - 1) * limit : page * limit]
        ]
        return _json(_page(items, len(jobs), page, limit))

    # -- uploads ------------------------------------------------------------------------------------------------

    @endpoint("POST", "/v3/upload")
    async def upload(request: web.Request, data: Any) -> web.StreamResponse:
        if not isinstance(data, dict) or not request.content_type.startswith("multipart/"):
            return _invalid((["body", "file"], "field required (multipart/form-data)", "value_error.missing"))
        problems: list[tuple[list[str | int], str, str]] = []
        content = data.get("file")
        if not isinstance(content, tuple):
            problems.append((["body", "file"], "field required", "value_error.missing"))
        days: Any = data.get("expires_in_days", "30")
        try:
            days = int(days)
            if not 1 <= days <= 30:
                raise ValueError
        except ValueError:
            problems.append((["body", "expires_in_days"], "Input should be an integer from 1 to 30", "int_parsing"))
        purpose = data.get("purpose", "general")
        if not isinstance(purpose, str) or not 1 <= len(purpose) <= 50:
            problems.append((["body", "purpose"], "String should have 1 to 50 characters", "string_too_long"))
        if problems:
            return _invalid(*problems)
        name, raw, mimetype = content
        if len(raw) > state.max_upload_bytes:
            return _detail(413, f"File too large: at most {state.max_upload_bytes} bytes")
        now = _now()
        stored = Upload(
            file_id=str(uuid.uuid4()),
            name=name or "upload",
            content=raw,
            mimetype=mimetype or mimetypes.guess_type(name or "")[0] or "application/octet-stream",
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        state.uploads[stored.file_id] = stored
        return _json(stored.wire())

    @endpoint("GET", "/v3/upload")
    async def list_uploads(request: web.Request, data: Any) -> web.StreamResponse:
        paging = _paging(request)
        if isinstance(paging, web.Response):
            return paging
        page, limit = paging
        files = sorted(state.uploads.values(), key=lambda u: u.created_at, reverse=True)
        items = [u.wire() for u in files[(page - 1) * limit : page * limit]]
        return _json(_page(items, len(files), page, limit))

    @endpoint("DELETE", "/v3/upload")
    async def delete_uploads(request: web.Request, data: Any) -> web.StreamResponse:
        count = len(state.uploads)
        state.uploads.clear()
        return _json({"deleted_count": count})

    @endpoint("POST", "/v3/upload/delete")
    async def delete_some_uploads(request: web.Request, data: Any) -> web.StreamResponse:
        ids = data.get("file_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or not all(isinstance(i, str) for i in ids):
            return _invalid((["body", "file_ids"], "a list of 1 to 100 file ids", "value_error"))
        count = sum(state.uploads.pop(i.lower(), None) is not None for i in ids)
        return _json({"deleted_count": count})

    # -- embeddings ---------------------------------------------------------------------------------------------

    @endpoint("POST", "/v3/embeddings", openai=True)
    async def embeddings(request: web.Request, data: Any) -> web.StreamResponse:
        if not isinstance(data, dict):
            return _openai_error(400, "The body must be a JSON object.", "invalid_request_error")
        model, texts = data.get("model"), data.get("input")
        if not isinstance(model, str) or not model.strip():
            return _openai_error(400, "`model` is required: 'provider/model'.", "invalid_request_error", "model")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            return _openai_error(400, "`input` must be a string or a non-empty list.", "invalid_request_error")
        if len(texts) > MAX_EMBEDDING_INPUTS:
            return _openai_error(400, f"`input` has more than {MAX_EMBEDDING_INPUTS} items.", "invalid_request_error")
        if not all(isinstance(t, str) and t for t in texts) and not all(isinstance(t, (int, list)) for t in texts):
            return _openai_error(
                400, "`input` items must be non-empty strings or token lists.", "invalid_request_error"
            )
        encoding = data.get("encoding_format") or "float"
        dimensions = data.get("dimensions")
        if encoding not in ("float", "base64"):
            return _openai_error(400, "`encoding_format` is 'float' or 'base64'.", "invalid_request_error")
        if dimensions is not None and (
            isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
        ):
            return _openai_error(400, "`dimensions` must be a positive integer.", "invalid_request_error")
        entry = get_subfeature(EMBEDDINGS_PATH)
        provider = model.split("/", 1)[0]
        listed = state.providers.get(EMBEDDINGS_PATH)
        fixed_providers = [spec.split("/", 1)[0] for spec in state.responses.get(EMBEDDINGS_PATH, {})]
        known = [*(entry.providers if listed is None else listed), *PSEUDO_PROVIDERS, *fixed_providers]
        if provider not in known:
            return _openai_error(
                404,
                f"The model {model!r} does not exist (GET /v3/embeddings/models).",
                "not_found_error",
                "model_not_found",
            )
        words = [t if isinstance(t, str) else json.dumps(t) for t in texts]
        if any(w in state.fail_inputs for w in words):
            return _openai_error(400, "This input was rejected by the emulator (fail_inputs).", "invalid_request_error")
        if (
            any(w in state.request_fail_inputs for w in words)
            or provider in state.failing_providers
            or any(w in state.provider_fail_inputs for w in words)
        ):
            return _openai_error(502, "Provider has returned an Error. Please try again later.", "provider_error", 502)
        broke = _broke()
        if broke is not None:
            return _openai_error(402, "User does not have sufficient credits", "insufficient_quota", 402)
        params = {"dimensions": dimensions} if dimensions is not None else {}
        try:
            fixed = _v3_canned.vectors(state.responses, EMBEDDINGS_PATH, model, len(words))
        except _v3_canned.ProviderFailure as exc:
            return _openai_error(502, str(exc), "provider_error", 502)
        if fixed is not None:
            vectors, cost = fixed
        elif provider == "local":
            from .._local import local_compute

            [result] = await asyncio.to_thread(
                lambda: list(local_compute(EMBEDDINGS_PATH)([{"texts": words, **params}]))
            )
            vectors = [item["embedding"] for item in result["items"]]
            cost = float(result.get("cost") or 0.0)
        else:
            vectors = [synthetic_output(entry, model, {"texts": [w], **params})["items"][0]["embedding"] for w in words]
            cost = synthetic_cost(entry, model, {"texts": words, **params})
        _bill("embeddings", model, cost)
        rows = [
            {
                "object": "embedding",
                "index": index,
                "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if encoding == "base64" else v,
            }
            for index, v in enumerate(vectors)
            if v is not None  # a fixed answer shorter than the input: those inputs get no vector
        ]
        if state.shuffle_embeddings:
            rows.reverse()
        tokens = sum(max(1, len(w) // 4) for w in words)
        return _json(
            {
                "object": "list",
                "data": rows,
                "model": model,
                "provider": provider,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                "cost": cost,
            }
        )

    # -- discovery ------------------------------------------------------------------------------------------------

    def _models(sub: V3Subfeature) -> list[dict[str, Any]]:
        out = []
        for spec, price in state.listed(sub).items():
            model: dict[str, Any] = {"model": f"{sub.path}/{spec}", "provider": spec.split("/", 1)[0]}
            if price is not None:  # GEN's `models[].pricing.{price, price_unit_quantity, price_unit_type}`
                model["pricing"] = {
                    "price": price.price,
                    "price_unit_quantity": price.per,
                    "price_unit_type": price.unit,
                }
            out.append(model)
        return out

    def _model_objects(path: str) -> dict[str, Any]:
        """`ListModelsResponse` (OpenAPI): `{object: "list", data: [ModelObject]}`. The OpenAPI leaves
        `pricing` a free object; the emulator sends OpenRouter's `{prompt, completion}`, USD per token as decimal
        strings."""
        prices = state.token_prices(path)
        listed = getattr(state, "llm_models", None) if path == "text/chat" else None  # ChatState's own list
        data = []
        for key in dict.fromkeys(listed) if listed is not None else sorted(prices):
            provider, _, name = key.partition("/")
            model: dict[str, Any] = {
                "id": key,
                "object": "model",
                "created": 0,
                "owned_by": provider,
                "model_name": name,
                "capabilities": {},
                "regions": [],
            }
            if key in prices:  # a listed model without a known price is listed without one
                price_in, price_out = prices[key]
                model["pricing"] = model["list_pricing"] = {
                    "prompt": _decimal(price_in),
                    "completion": _decimal(price_out),
                }
            data.append(model)
        return {"object": "list", "data": data}

    def _subfeature_info(sub: V3Subfeature) -> dict[str, Any]:
        return {
            "name": sub.subfeature,
            "fullname": sub.subfeature.replace("_", " ").title(),
            "description": sub.summary or None,
            "mode": sub.mode,
            "models": _models(sub),
        }

    def _features() -> dict[str, list[V3Subfeature]]:
        grouped: dict[str, list[V3Subfeature]] = {}
        for sub in V3_SUBFEATURES.values():
            grouped.setdefault(sub.feature, []).append(sub)
        return grouped

    def _info_fault() -> web.Response | None:
        if state.info_status is None:
            return None
        return _detail(state.info_status, "The info service cannot answer (emulated).")

    @endpoint("GET", "/v3/info", public=True)
    async def info(request: web.Request, data: Any) -> web.StreamResponse:
        return _info_fault() or _json(
            {
                "features": [
                    {
                        "name": name,
                        "fullname": name.title(),
                        "description": None,
                        "subfeatures": [_subfeature_info(s) for s in subs],
                    }
                    for name, subs in _features().items()
                ]
            }
        )

    @endpoint("GET", "/v3/models", public=True)
    async def llm_models(request: web.Request, data: Any) -> web.StreamResponse:
        return _info_fault() or _json(_model_objects("text/chat"))

    @endpoint("GET", "/v3/embeddings/models", public=True)
    async def embedding_models(request: web.Request, data: Any) -> web.StreamResponse:
        return _info_fault() or _json(_model_objects("text/embeddings"))

    @endpoint("GET", "/v3/info/{feature}", public=True)
    async def feature_info(request: web.Request, data: Any) -> web.StreamResponse:
        name = request.match_info["feature"]
        subs = _features().get(name)
        if subs is None:
            return _info_fault() or _detail(404, f"Feature {name!r} not found")
        return _info_fault() or _json(
            {
                "name": name,
                "fullname": name.title(),
                "description": None,
                "subfeatures": [_subfeature_info(s) for s in subs],
            }
        )

    @endpoint("GET", "/v3/info/{feature}/{subfeature}", public=True)
    async def subfeature_info(request: web.Request, data: Any) -> web.StreamResponse:
        path = f"{request.match_info['feature']}/{request.match_info['subfeature']}"
        sub = V3_SUBFEATURES.get(path)
        if sub is None:
            return _info_fault() or _detail(404, f"Subfeature {path!r} not found")
        output = sub.output
        if output is None:
            output = get_subfeature(v2_paths_of(path)[0]).output
        return _info_fault() or _json(
            {
                "feature": sub.feature,
                "feature_fullname": sub.feature.title(),
                "subfeature": sub.subfeature,
                "subfeature_fullname": sub.subfeature.replace("_", " ").title(),
                "description": sub.summary or None,
                "mode": sub.mode,
                "endpoints": {"create": sub.endpoint},
                "input_schema": {"fields": [_input_field(f) for f in sub.inputs]},
                "output_schema": {"fields": _output_fields(output)},
                "models": _models(sub),
            }
        )

    return routes


def _input_field(f: V3Field) -> dict[str, Any]:
    kind = "file_input" if f.file else _type_name(f.type)
    out: dict[str, Any] = {"name": f.name, "type": kind, "required": f.required, "description": f.description}
    if isinstance(f.type, Enum):
        out["enum"] = list(f.type.values)
    return out


def _type_name(t: Type | None) -> str:
    if t is None:
        return "any"
    if isinstance(t, Enum):
        return "enum"
    if isinstance(t, Scalar):
        return {"string": "string", "float": "float", "int": "int", "bool": "bool"}[t.kind]
    if isinstance(t, ListOf):
        return f"array[{_type_name(t.item) if not isinstance(t.item, Struct) else 'object'}]"
    return "object"


def _output_fields(t: Struct) -> list[dict[str, Any]]:
    out = []
    for name, ft in t.fields:
        field_: dict[str, Any] = {"name": name, "type": _type_name(ft), "required": not isinstance(ft, ListOf)}
        inner = ft.item if isinstance(ft, ListOf) else ft
        if isinstance(inner, Struct):
            field_["fields"] = _output_fields(inner)
        out.append(field_)
    return out


def _paging(request: web.Request) -> tuple[int, int] | web.Response:
    try:
        page = int(request.query.get("page", "1"))
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return _invalid((["query", "page"], "Input should be a valid integer", "int_parsing"))
    if page < 1 or not 1 <= limit <= 1000:
        return _invalid(
            (["query", "page" if page < 1 else "limit"], "out of range (page >= 1, limit 1-1000)", "value_error")
        )
    return page, limit


def _page(items: list[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "limit": limit, "total_pages": max(1, -(-total // limit))}


async def _read(request: web.Request) -> tuple[Any, Any]:
    """(the body as the handler reads it, the body as recorded). Multipart files become (name, bytes, type)
    tuples, recorded as "<N bytes>"; a body that is not JSON reads as None."""
    if not request.body_exists:
        return None, None
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        data: dict[str, Any] = {}
        record: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                value.file.seek(0)  # a middleware may have read it already (aiohttp parses the form once)
                content = value.file.read()
                data[key] = (value.filename, content, value.content_type)
                record[key] = f"<{len(content)} bytes>"
            else:
                data[key] = record[key] = str(value)
        return data, record
    raw = await request.read()
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None, None
    return parsed, parsed


__all__ = [
    "AccountRateLimit",
    "AsyncJob",
    "Upload",
    "V3Faults",
    "V3State",
    "synthetic_answer",
    "v3_routes",
]
