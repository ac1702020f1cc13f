"""Eden AI v3 as a transport: the request items the planner builds for v2 go out as v3 calls, and each comes back as
the provider-keyed response v2's sync endpoint would give, so results are absorbed and typed exactly as on v2.

An adapter, one request per (item, provider):

- `POST {base}/universal-ai` with `{"model": "feature/subfeature/provider[/model]", "input": {...}}`: the item's
  fields renamed to v3's names (`_v3_models.V3Mapping`), the values the v2 subfeature implies added (invoice parsing
  is the financial parser with `document_type="invoice"`), `fallback_providers` sent as `fallbacks` (at most 3) and
  v2's `settings` ({provider: model}) folded into the model string.
- Async subfeatures (`mode == "async"`): `POST {base}/universal-ai/async`, then `GET .../async/{public_id}` with a
  growing interval until the job is done, then `DELETE`. Each `public_id` is journaled before the first poll (see
  "Journal" below), so a rerun after a crash polls the jobs already paid for instead of launching them again.
- `text/embeddings`: `POST {base}/embeddings` (OpenAI-shaped) with the item's list of texts as `input`; vectors are
  put back in input order by `data[].index`, never by their position in `data`. A bare provider with a documented
  default model gets it (`_v3_models.embedding_model`: "openai" is "openai/text-embedding-3-small").
- `text/search` (no v3 model): the query and the pack's texts in one `POST {base}/embeddings`, ranked here by the
  vectors' similarity (`v3_search.py`) into v2's search object.
- File inputs: a URL goes as `input.file` as it is; a local path or bytes is uploaded once per content (sha256) with
  `POST {base}/upload` and sent by `file_id`, for every provider and row with that content.
- Entries that run as an LLM chat (`chat_of`: a `_chat.ChatTask` is registered for the path, and v3 has no expert
  model for it or serves it by chat): `POST {base}/chat/completions` per (input text, provider) with
  `{"model": "provider/model", "messages": ..., "response_format": ..., <chat options>, "fallbacks": [...]}`. The
  reply's `choices[0].message.content` becomes the entry's output through the task, so the provider object has the
  same fields as the universal-ai path's. A packed item (a list of texts) gets one chat per text, its results put
  back by the text's position; a text whose reply is unusable gets a failed entry in that position only.

The answer `{status, cost, provider, output, error}` becomes the provider object
`{"status": "success", **output, "cost": float, "provider": provider}` under the provider that was asked
(the key absorb looks up): `cost` arrives as a number or a decimal string and leaves as a float;
`provider` names who served the row (differs from the key when a fallback answered), for the
`{prefix}_provider` column. Where v3 renamed the output's fields (the financial parser for invoices and receipts),
the mapping's `output_map` puts them back in v2's (`v3_shapes.py`). `status: "fail"` becomes
`{"status": "fail", "error": {"message": ...}}`, which absorb turns into that row's error "provider: message".
HTTP 400/404/422 fail only the item (as v2 sync's "rejected by Eden AI"); 401/402/403 raise `APIError` and stop
the run; 429, 5xx and dropped connections are retried by `call()` within `retry_deadline`. With several providers,
an item whose requests all failed gets one error; one where some answered gets a failed provider object for the
others.

Pacing: every request (launch, poll, upload, delete) goes through the account's `RateBudget` (`rate_budget.py`):
one per (base URL, API key) per process, shared by every run, thread and event loop, at `settings.rate_limit` (10
per second when unset: the v3 account default) and adapting to 429s; it also caps the process's requests in flight.
A run still works on at most `in_flight` items at once: an item may hold its place for minutes (an async job being
polled), which a cap on requests in flight cannot stand for. `budget` (max_cost) admits each item before its first
request, as in the sync transport.

Journal (`ResultCache`'s batch-job journal, unchanged): the item of an async request is journaled as
"{request name}|{provider}". Before launching, the run claims `v3-claim-{hash}` for it (one claim per subfeature,
server, provider and request), so two runs sharing the cache never both launch it; once the launch answers, the
job `v3-job:{public_id}:{provider}` is recorded (state "launching") and the claim closed; the job is closed only
after its result was handed over (and so stored, on the journal writer thread, before the close). A later run
finds open jobs for its items: one whose owner is gone is adopted and polled (`jobs_attached`), one held by a live
run is waited for and its result recalled from the cache, a stale claim is dropped and the request launched. A
crash between the launch and the record of its `public_id` cannot be recovered (v3 takes no client-chosen job
name): that request is launched again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from .._catalog import Subfeature
from .._chat import CHAT_OPTIONS, ChatTask, asked_texts, chat_task
from .._config import Settings
from .._errors import APIError, ValidationError
from .._local import has_local
from .._prices import chat_cost
from .._v3_models import MAX_FALLBACKS, V2_ONLY_OPTIONS, V3_MAPPINGS, V3_SUBFEATURES, V3Mapping, embedding_model
from .base import Handover, Outcome, OutcomeCallback, Recall, TransportStats, Wiring
from .http import FATAL_STATUSES, api_error, call, describe_error, gather_all, is_fatal
from .rate_budget import RateBudget, budget_for
from .v3_search import search as _rank
from .v3_shapes import to_v2

if TYPE_CHECKING:
    from .._pipeline._budget import Budget

log = logging.getLogger("edenframe")

DEFAULT_RATE = 10.0  # requests per second: every v3 account's documented starting limit (wire-format-v3 3.1)
DEFAULT_IN_FLIGHT = 32  # items worked on at once (in flight ~ rate x latency; wire-format-v3 7.2 suggests 16-32)
UPLOAD_DAYS = 7  # how long an uploaded file stays on Eden AI: as long as async results are kept
ANSWERED_BY = "provider"  # the provider object's field naming the provider that served the row: {prefix}_provider
MAX_ROUNDS = 4  # claims tried for one async request while other runs hold it
_WAIT_MAX_INTERVAL = 1.0  # longest pause between two looks at the journal while another run holds a job
# Item fields that are not v3 input fields: the request name, the providers and the v2 request options.
_CONTROL = ("name", "providers", "fallback_providers", "settings", "show_original_response", "file")


# -- what a v2 catalog entry is on v3 ---------------------------------------------------------------------------


def v3_route(entry: Subfeature) -> V3Mapping:
    """How `entry` is called on v3: its mapping, or (for a subfeature new in v3, whose catalog path is its v3 path)
    an identity mapping. KeyError for a path v3 does not know."""
    mapping = V3_MAPPINGS.get(entry.path)
    if mapping is not None:
        return mapping
    if entry.path in V3_SUBFEATURES:
        return V3Mapping(entry.path, "universal-ai", entry.path, fallbacks=V3_SUBFEATURES[entry.path].fallbacks)
    raise KeyError(entry.path)


def v3_refusal(entry: Subfeature, fields: dict[str, Any]) -> str | None:
    """Why a call of `entry` with these request fields (an item's, or the plan's params) cannot go to v3, or None.

    For the runner to check before any request (the transport checks again on its first item). An entry that runs
    as chat (`chat_of`) is checked by `_chat_refusal`: its providers (when `fields` names them) must be LLM models."""
    task = chat_of(entry)
    if task is not None:
        return _chat_refusal(entry, fields)
    try:
        mapping = v3_route(entry)
    except KeyError:
        return f"{entry.method}() ({entry.path}) is not part of Eden AI's v3 API. {_ways_out(entry)}"
    if mapping.endpoint is None:
        return f"{entry.method}() ({entry.path}) has no expert model on Eden AI's v3 API. {_ways_out(entry)}"
    if mapping.endpoint == "chat":  # a chat entry whose task is not registered (its module was not imported)
        return f"{entry.method}() ({entry.path}) runs through v3's chat completions, and has no chat task here."
    fallbacks = _split(fields.get("fallback_providers"))
    if fallbacks and (not mapping.fallbacks or mapping.endpoint == "embeddings"):
        return (
            f"{entry.method}() ({entry.path}) takes no fallback providers on Eden AI's v3 API: drop fallback_providers"
        )
    if len(fallbacks) > MAX_FALLBACKS:
        return (
            f"Eden AI's v3 API takes at most {MAX_FALLBACKS} fallback providers, got {len(fallbacks)} "
            f"({', '.join(fallbacks)}): keep the {MAX_FALLBACKS} you trust most"
        )
    sub = mapping.subfeature
    given: set[str] = set()
    for key, value in fields.items():
        if key in _CONTROL or value is None or key == entry.input_field:
            continue
        name = mapping.v3_name(key)
        if name is None or (sub is not None and name not in sub.input_names):
            why = V2_ONLY_OPTIONS.get(key) or (
                f"v3's {sub.path} takes {', '.join(mapping.v2_name(n) + '=' for n in sub.input_names)}"
                if sub is not None
                else "v3 has no such field"
            )
            return (
                f"{entry.method}() ({entry.path}): {key}= has no place in Eden AI's v3 API ({why}); drop it, or use "
                "the v2 base URL while Eden serves it"
            )
        given.add(name)
    if sub is not None:
        main = mapping.v3_name(entry.input_field)
        fixed = {name for name, _ in mapping.fixed}
        missing = [name for name in sub.required if name not in given | fixed and name != main]
        if missing:
            needs = ", ".join(f"{mapping.v2_name(name)}=" for name in missing)
            return f"{entry.method}() ({entry.path}) needs {needs} on Eden AI's v3 API ({sub.path}); pass it"
    return None


def check_v3(entry: Subfeature, fields: dict[str, Any]) -> None:
    """Raise ValidationError (nothing sent) when a call of `entry` with these fields cannot go to v3."""
    problem = v3_refusal(entry, fields)
    if problem is not None:
        raise ValidationError(problem)
    task = chat_of(entry)
    if task is not None:
        # the schema asked for, built now: a missing `jsonschema` (edenframe[prompt], which checks the replies) or
        # a schema that cannot be built fails here, before any request
        task.response_format({k: v for k, v in fields.items() if k not in _CONTROL and v is not None})


def _ways_out(entry: Subfeature) -> str:
    local = (
        "or the offline provider: providers='local'"
        if has_local(entry.path)
        else "(no offline implementation exists for this one, so providers='local' is not an option)"
    )
    llm = (
        f"an LLM provider, e.g. providers='{EXAMPLE_LLM}' (the same columns, through v3's chat completions; "
        "the models are listed by GET /v3/models)"
        if chat_task(entry.path) is not None or getattr(V3_MAPPINGS.get(entry.path), "llm", False)
        else "(no LLM path exists for this one)"
    )
    return (
        f"Ways out: {llm}; Eden AI's v2 API while Eden serves it (until the end of 2026): "
        "edenframe.configure(base_url='https://api.edenai.run/v2'); " + local
    )


# -- entries that run as an LLM chat ----------------------------------------------------------------------------

EXAMPLE_LLM = "openai/gpt-4o-mini"  # the model named in messages: cheap, and served by Eden AI's v3 chat


def chat_of(entry: Subfeature) -> ChatTask | None:
    """The chat task `entry` runs by on v3, or None when it runs on an expert model (or not at all).

    Any catalog path with a registered task runs as chat unless v3 serves it by an expert model: those v3 has no
    expert model for (sentiment, keywords...), those it serves by chat only (generation, chat, code generation),
    and paths v3 does not map at all (a prompt over columns, "llm/prompt")."""
    task = chat_task(entry.path)
    if task is None:
        return None
    mapping = V3_MAPPINGS.get(entry.path)
    if mapping is not None and mapping.endpoint not in (None, "chat"):
        return None
    return task


def is_llm_model(spec: str) -> bool:
    """Whether a provider string names an LLM model as v3's chat wants it: 'provider/model'."""
    provider, slash, model = spec.partition("/")
    return bool(provider.strip() and slash and model.strip())


def llm_refusal(entry: Subfeature, spec: str, option: str = "providers") -> str:
    """The error for a provider that is not an LLM model ('provider/model') on an entry that runs as chat."""
    if V3_MAPPINGS.get(entry.path) is not None and V3_MAPPINGS[entry.path].endpoint is None:
        return (
            f"{entry.method}() ({entry.path}) has no expert model on Eden AI's v3 API: it runs through an LLM, and "
            f"{option}={spec!r} is not an LLM model ('provider/model'). {_ways_out(entry)}"
        )
    return (
        f"{entry.method}() ({entry.path}) runs through an LLM on Eden AI's v3 API (chat completions): {option}="
        f"{spec!r} is not an LLM model; name one as 'provider/model', e.g. providers='{EXAMPLE_LLM}' (GET /v3/models "
        "lists them)"
    )


def _chat_refusal(entry: Subfeature, fields: dict[str, Any]) -> str | None:
    """Why a call of an entry that runs as chat cannot go to v3 with these fields, or None."""
    settings = fields.get("settings")
    for spec in _split(fields.get("providers")):
        if spec != "local" and not is_llm_model(model_spec(spec, settings)):
            return llm_refusal(entry, spec)
    fallbacks = _split(fields.get("fallback_providers"))
    if len(fallbacks) > MAX_FALLBACKS:
        return (
            f"Eden AI's v3 API takes at most {MAX_FALLBACKS} fallback providers, got {len(fallbacks)} "
            f"({', '.join(fallbacks)}): keep the {MAX_FALLBACKS} you trust most"
        )
    for spec in fallbacks:
        if not is_llm_model(model_spec(spec, settings)):
            return llm_refusal(entry, spec, "fallback_providers")
    mapping = V3_MAPPINGS.get(entry.path)
    for key, value in fields.items():
        if key in _CONTROL or value is None or key == entry.input_field or key in CHAT_OPTIONS:
            continue
        if mapping is not None and mapping.v3_name(key) is None:
            why = V2_ONLY_OPTIONS.get(key) or mapping.notes or "the LLM path has no such field"
            return (
                f"{entry.method}() ({entry.path}): {key}= has no place on Eden AI's v3 API ({why}); drop it, or use "
                "the v2 base URL while Eden serves it"
            )
    return None


def _split(providers: Any) -> list[str]:
    if not providers:
        return []
    return [p.strip() for p in str(providers).split(",") if p.strip()]


# -- the transport --------------------------------------------------------------------------------------------


@dataclass
class _Answer:
    """One provider's share of one item: its provider object (success or fail), or an error for the request."""

    obj: dict[str, Any] | None = None
    error: str | None = None
    job: str | None = None  # the journaled async job, closed once the item is handed over
    public_id: str | None = None  # the async job on the server, deleted once handed over
    recalled: bool = False  # another run collected it: the item was answered from the cache


class V3Transport:
    """Sends request items to Eden AI's v3 API, one call per (item, provider); same interface as the v2 transports.

    `limiter` is the `RateBudget` to pace by; by default the account's, shared by the whole process
    (`budget_for`), at `settings.rate_limit`, or 10 per second.
    """

    def __init__(self, wiring: Wiring, *, limiter: Any = None, in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        assert wiring.session is not None, "a remote transport needs the run's session"
        settings = wiring.settings
        self.settings: Settings = settings
        self.session: aiohttp.ClientSession = wiring.session
        self.journal = wiring.journal  # a ResultCache, or None: async jobs are not recoverable after a crash
        self.journal_writer = wiring.journal_writer  # the thread that stores results: journal writes queue behind
        self.budget: Budget | None = wiring.budget
        rate = settings.rate_limit if settings.rate_limit is not None else DEFAULT_RATE
        if limiter is None:
            # the key only tells accounts apart: budget_for keeps a digest of it, never the key
            key = settings.api_key.reveal() if settings.api_key is not None else None
            limiter = budget_for(settings.base_url, key, rate=rate)
        self.limiter: RateBudget = limiter
        self.slots = asyncio.Semaphore(max(1, in_flight))
        self.base = settings.base_url.rstrip("/")
        # items_sent: items Eden AI answered at least one request of; jobs_launched: async jobs launched;
        # jobs_attached: async jobs of an earlier run polled instead of launched again
        self.stats = TransportStats()
        self.requests_sent = 0  # v3 calls answered: sync calls, launches and embeddings requests (not polls)
        self.uploads = 0  # files uploaded
        self._uploads: dict[str, asyncio.Future[str]] = {}  # sha256 of the content -> file_id, for the run
        self._checked: set[str] = set()

    async def send(
        self,
        entry: Subfeature,
        items: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,
    ) -> None:
        """Send `items`; every item gets an outcome, except one `recall` answered from the cache (an async job
        another run collected while this one waited for it)."""
        if not items:
            return
        if entry.path not in self._checked:
            check_v3(entry, items[0])
            self._checked.add(entry.path)
        task = chat_of(entry)
        route = v3_route(entry) if task is None else None
        hand_over = Handover(on_outcomes, eager=self.budget is not None)

        async def one(item: dict[str, Any]) -> None:
            async with self.slots:
                name = item["name"]
                if self.budget is not None and await self.budget.admit([name]) == 0:
                    hand_over(name, Outcome(error=self.budget.refusal()))
                    return
                providers = _split(item["providers"])
                if task is not None:
                    answers = await self._chat(entry, task, item, providers)
                else:
                    assert route is not None
                    answers = await self._item(entry, route, item, providers, recall)
                if any(a.recalled for a in answers):
                    if self.budget is not None:
                        self.budget.release([name])
                else:
                    if any(a.obj is not None for a in answers):
                        self.stats.items_sent += 1
                    jobs = [a for a in answers if a.job is not None or a.public_id is not None]
                    hand_over(name, _outcome(providers, answers), force=bool(jobs))
                await self._finish_jobs(answers)

        try:
            await gather_all(one(item) for item in items)
        finally:
            hand_over.flush()

    async def _item(
        self,
        entry: Subfeature,
        route: V3Mapping,
        item: dict[str, Any],
        providers: list[str],
        recall: Recall | None,
    ) -> list[_Answer]:
        """Each provider's answer for one item (its requests run concurrently)."""
        if route.rank:
            return list(await asyncio.gather(*(self._search(entry, item, p) for p in providers)))
        if route.endpoint == "embeddings":
            return list(await asyncio.gather(*(self._embed(entry, item, p) for p in providers)))
        try:
            data = await self._input(entry, route, item)
        except _ItemError as exc:
            return [_Answer(error=str(exc)) for _ in providers]
        fallbacks = [model_spec(p, item.get("settings")) for p in _split(item.get("fallback_providers"))]
        common: dict[str, Any] = {"input": data}
        if fallbacks:
            common["fallbacks"] = fallbacks
        if item.get("show_original_response"):
            common["show_original_response"] = True
        prefix = route.model_prefix or ""

        async def ask(provider: str) -> _Answer:
            body = {"model": prefix + model_spec(provider, item.get("settings")), **common}
            if route.mode == "async":
                answer = await self._run_job(entry, item["name"], provider, body, recall)
            else:
                answer = await self._sync(body)
            return _in_v2_fields(entry, route, answer)

        return list(await asyncio.gather(*(ask(p) for p in providers)))

    async def _input(self, entry: Subfeature, route: V3Mapping, item: dict[str, Any]) -> dict[str, Any]:
        """The v3 `input` of an item: its fields in v3's names, an uploaded file by id, the implied values."""
        data: dict[str, Any] = {}
        for key, value in item.items():
            if key in _CONTROL or value is None:
                continue
            name = route.v3_name(key)
            if name is not None:  # v3_refusal refused the call had it carried a field v3 lacks
                data[name] = value
        given = item.get("file")  # a file the planner left for upload (a path or bytes); a URL of a subfeature
        if given is not None:  # new in v3, whose input field is `file` too, goes as it is
            data[route.v3_name(entry.input_field) or "file"] = (
                await self._file_id(given) if isinstance(given, (bytes, Path)) else given
            )
        data.update(dict(route.fixed))
        return data

    # -- one request ------------------------------------------------------------------------------------------

    async def _post(self, url: str, body: Any, *, accept: tuple[int, ...] = (200,)) -> Any:
        """POST a JSON body; the answer, or `_ItemError` for a request Eden refused or could not answer (fatal
        statuses raise APIError)."""
        try:
            status, answer = await call(self.session, self.settings, "POST", url, json_body=body, limiter=self.limiter)
        except APIError as exc:
            if is_fatal(exc):
                raise
            raise _ItemError(str(exc)) from None
        self.requests_sent += 1
        if status in FATAL_STATUSES:
            raise api_error("POST", url, status, answer)
        if status not in accept:
            detail = describe_error(answer)
            raise _ItemError(f"rejected by Eden AI (HTTP {status})" + (f": {detail}" if detail else ""))
        if not isinstance(answer, dict):
            raise _ItemError("Eden AI returned a response that is not a JSON object")
        return answer

    async def _sync(self, body: dict[str, Any]) -> _Answer:
        try:
            envelope = await self._post(f"{self.base}/universal-ai", body)
        except _ItemError as exc:
            return _Answer(error=str(exc))
        return _Answer(obj=_provider_object(envelope))

    async def _chat(
        self, entry: Subfeature, task: ChatTask, item: dict[str, Any], providers: list[str]
    ) -> list[_Answer]:
        """Each provider's answer for one item run as chat: one `POST /chat/completions` per (text, provider).

        A packed item's texts are asked one by one and their results put back by position (`_packed`); a packed
        entry without an items field (question answering's `texts`) asks once, its texts joined as the context."""
        value = item.get(entry.input_field)
        params = {k: v for k, v in item.items() if k not in _CONTROL and k != entry.input_field and v is not None}
        items_field = entry.pack.items_field if entry.pack is not None else None
        texts = asked_texts(value, items_field is not None)
        response_format = task.response_format(params)
        options = {name: params[name] for name in CHAT_OPTIONS if name in params}
        settings = item.get("settings")
        fallbacks = [model_spec(p, settings) for p in _split(item.get("fallback_providers"))]

        async def ask(text: str, model: str) -> _Answer:
            body: dict[str, Any] = {"model": model, "messages": task.messages(text, params)}
            if response_format is not None:
                body["response_format"] = response_format
            body.update(options)
            if fallbacks:
                body["fallbacks"] = fallbacks
            try:
                answer = await self._post(f"{self.base}/chat/completions", body)
            except _ItemError as exc:
                return _Answer(error=str(exc))
            # the task's `output` sees the text asked too, under the entry's input field (chat echoes it)
            asked = {**params, entry.input_field: text}
            obj = _chat_object(task, answer, asked, model, fallbacks, response_format is not None)
            if obj["cost"] is None:  # Eden sent no cost: the model's token price times the reported usage (or NaN)
                usage = answer.get("usage")
                # no usage either (the OpenAPI does not require it): NaN, unknown; chat_cost without usage would
                # price a request not sent yet (no prompt, a typical reply) and show that guess as the charge
                obj["cost"] = await asyncio.to_thread(
                    chat_cost, obj[ANSWERED_BY], usage if isinstance(usage, dict) else {}, settings=self.settings
                )
            return _Answer(obj=obj)

        async def one(provider: str) -> _Answer:
            model = model_spec(provider, settings)
            if items_field is None or not isinstance(value, list):
                return await ask(texts[0], model)
            return _packed(items_field, list(await asyncio.gather(*(ask(t, model) for t in texts))))

        return list(await asyncio.gather(*(one(p) for p in providers)))

    async def _embed(self, entry: Subfeature, item: dict[str, Any], provider: str) -> _Answer:
        texts = item[entry.input_field]
        body: dict[str, Any] = {"model": embedding_model(model_spec(provider, item.get("settings"))), "input": texts}
        for key, value in item.items():
            if key not in _CONTROL and key != entry.input_field and value is not None:
                body[key] = value  # `dimensions`: the same name on /v3/embeddings
        try:
            answer = await self._post(f"{self.base}/embeddings", body)
        except _ItemError as exc:
            return _Answer(error=str(exc))
        vectors: list[dict[str, Any] | None] = [None] * len(texts)
        for row in answer.get("data") or []:
            index = row.get("index") if isinstance(row, dict) else None
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(texts):
                vectors[index] = {"embedding": _vector(row.get("embedding"))}
        obj = {
            "status": "success",
            "items": vectors,  # a missing index stays None: that text's row gets an error, no other row moves
            "cost": _cost(answer.get("cost")),
            ANSWERED_BY: answer.get("provider") or provider.split("/", 1)[0],
        }
        return _Answer(obj=obj)

    async def _search(self, entry: Subfeature, item: dict[str, Any], provider: str) -> _Answer:
        """Semantic search (no v3 model): the query and the pack's texts embedded in one `POST /v3/embeddings`,
        vectors matched by `data[].index`, then ranked in the client (`v3_search`); v2's search object comes back."""
        texts = list(item[entry.input_field])
        metric = item.get("similarity_metric") or "cosine"
        model = embedding_model(model_spec(provider, item.get("settings")))
        try:
            answer = await self._post(f"{self.base}/embeddings", {"model": model, "input": [item["query"], *texts]})
        except _ItemError as exc:
            return _Answer(error=str(exc))
        vectors: list[Any] = [None] * (len(texts) + 1)
        for row in answer.get("data") or []:
            index = row.get("index") if isinstance(row, dict) else None
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(vectors):
                vectors[index] = _vector(row.get("embedding"))
        if vectors[0] is None:
            return _Answer(error="Eden AI returned no embedding for the query")
        try:
            items = _rank(vectors[0], vectors[1:], metric)
        except ValueError as exc:  # vectors of different lengths: not one model's
            return _Answer(error=f"cannot compare the embeddings Eden AI returned: {exc}")
        obj = {
            "status": "success",
            "items": items,  # a text without a vector is left out: its row gets an error, no other row moves
            "cost": _cost(answer.get("cost")),
            ANSWERED_BY: answer.get("provider") or provider.split("/", 1)[0],
        }
        return _Answer(obj=obj)

    # -- async jobs ---------------------------------------------------------------------------------------------

    async def _run_job(
        self, entry: Subfeature, name: str, provider: str, body: dict[str, Any], recall: Recall | None
    ) -> _Answer:
        """Launch one async request and wait for its result; with a journal, take up a job of an earlier run
        instead when there is one (see the module docstring)."""
        if self.journal is None:
            return await self._launch_and_wait(body, None, None)
        key = f"{name}|{provider}"
        claim = "v3-claim-" + hashlib.sha256(f"{entry.path}\n{self.base}\n{key}".encode()).hexdigest()[:32]
        for _ in range(MAX_ROUNDS):
            blocking = await asyncio.to_thread(self.journal.claim_job, claim, entry.path, self.base, [key])
            if not blocking:
                return await self._launch_and_wait(body, claim, (entry.path, key))
            for job in blocking:
                answer = await self._settle(job, name, recall)
                if answer is not None:
                    return answer
        return _Answer(error=f"not sent after {MAX_ROUNDS} tries: other runs kept holding this async request")

    async def _launch_and_wait(self, body: dict[str, Any], claim: str | None, where: tuple[str, str] | None) -> _Answer:
        try:
            launched = await self._post(f"{self.base}/universal-ai/async", body, accept=(200, 201, 202))
        except _ItemError as exc:
            if claim is not None:
                await self._journal(self.journal.close_job, claim)
            return _Answer(error=str(exc))
        self.stats.jobs_launched += 1
        public_id = launched.get("public_id")
        if launched.get("status") in ("success", "fail") or not isinstance(public_id, str):
            if claim is not None:
                await self._journal(self.journal.close_job, claim)
            if not isinstance(public_id, str) and launched.get("status") not in ("success", "fail"):
                return _Answer(error="Eden AI launched the async job without a public_id")
            return _Answer(obj=_provider_object(launched), public_id=public_id)
        job = None
        if claim is not None and where is not None:
            # recorded before the first poll: from here on a rerun finds the job instead of paying for it again
            job = f"v3-job:{public_id}:{body['model'].split('/', 2)[2]}"
            await self._journal(self.journal.record_job, job, where[0], self.base, [where[1]])
            await self._journal(self.journal.close_job, claim)
        answer = await self._wait(public_id)
        answer.job = job
        return answer

    async def _settle(self, job: str, name: str, recall: Recall | None) -> _Answer | None:
        """Deal with an open journal entry in the way of a claim: the answer it gives, or None to claim again."""
        started = time.monotonic()
        delay = self.settings.poll_interval
        while True:
            holder, _ = await asyncio.to_thread(self.journal.job_holder, job)
            if holder == "closed":
                break
            if holder == "gone" and await asyncio.to_thread(self.journal.adopt_job, job) is None:
                continue  # another run adopted it first, or it was closed meanwhile: look again
            if holder in ("gone", "me"):
                if not job.startswith("v3-job:"):  # a claim never launched (or launched and lost): drop it
                    await self._journal(self.journal.close_job, job)
                    return None
                public_id = job.split(":", 2)[1]
                log.info("re-attached to async job %s of an earlier run", public_id)
                self.stats.jobs_attached += 1
                answer = await self._wait(public_id)
                if answer.error is not None and answer.error.startswith(_VANISHED):
                    await self._journal(self.journal.close_job, job)
                    return None  # gone from the server: launched again
                answer.job = job
                return answer
            if time.monotonic() - started > self.settings.job_timeout:
                return _Answer(
                    error=f"async job {job} of another run was still open after {self.settings.job_timeout:.0f} s"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _WAIT_MAX_INTERVAL)
        # collected by its owner: the result is in the cache (a failure is not, and is sent again)
        if recall is not None and name in recall([name]):
            return _Answer(recalled=True)
        return None

    async def _wait(self, public_id: str) -> _Answer:
        """Poll a job until it is done (interval from `poll_interval`, growing 1.5x up to `poll_max_interval`)."""
        url = f"{self.base}/universal-ai/async/{public_id}"
        started = time.monotonic()
        delay = self.settings.poll_interval
        while True:
            try:
                status, body = await call(self.session, self.settings, "GET", url, limiter=self.limiter)
            except APIError as exc:
                if is_fatal(exc):
                    raise
                return _Answer(error=f"async job {public_id}: {exc}")  # stays journaled: a rerun polls it again
            if status in FATAL_STATUSES:
                raise api_error("GET", url, status, body)
            if status == 404:
                return _Answer(error=f"{_VANISHED} ({public_id})")
            if status != 200 or not isinstance(body, dict):
                detail = describe_error(body)
                return _Answer(error=f"async job {public_id}: HTTP {status}" + (f": {detail}" if detail else ""))
            if body.get("status") in ("success", "fail"):
                return _Answer(obj=_provider_object(body), public_id=public_id)
            if time.monotonic() - started > self.settings.job_timeout:
                limit = self.settings.job_timeout
                return _Answer(error=f"the async job {public_id} was still processing after {limit:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.settings.poll_max_interval)

    async def _finish_jobs(self, answers: list[_Answer]) -> None:
        """After the item was handed over (its result stored first, on the journal writer): close each job in the
        journal, then delete it on the server."""
        for answer in answers:
            if answer.job is not None and (answer.obj is not None or answer.recalled):
                await self._journal(self.journal.close_job, answer.job)
            if answer.public_id is not None and answer.obj is not None:
                await self._delete(answer.public_id)

    async def _delete(self, public_id: str) -> None:
        url = f"{self.base}/universal-ai/async/{public_id}"
        try:
            status, body = await call(self.session, self.settings, "DELETE", url, limiter=self.limiter)
        except APIError as exc:
            log.warning("could not delete a collected async job: %s", exc)
            return
        if status not in (200, 202, 204, 404):
            log.warning("could not delete a collected async job: %s", api_error("DELETE", url, status, body))

    async def _journal(self, write: Callable[..., Any], *args: Any) -> None:
        if self.journal_writer is None:
            await asyncio.to_thread(write, *args)
        else:
            await asyncio.get_running_loop().run_in_executor(self.journal_writer, write, *args)

    # -- uploads ------------------------------------------------------------------------------------------------

    async def _file_id(self, upload: Any) -> str:
        """The `file_id` of a local file or bytes: uploaded once per content for the whole run."""
        try:
            if isinstance(upload, bytes):
                content, filename = upload, "upload.bin"
            else:  # a local path, read off the event loop
                content, filename = await asyncio.to_thread(Path(upload).read_bytes), Path(upload).name
        except OSError as exc:
            raise _ItemError(f"cannot read the file {upload}: {exc.strerror or exc}") from None
        digest = hashlib.sha256(content).hexdigest()
        pending = self._uploads.get(digest)
        if pending is None:
            pending = self._uploads[digest] = asyncio.ensure_future(self._upload(content, filename))
        try:
            return await asyncio.shield(pending)
        except _ItemError:
            if self._uploads.get(digest) is pending:
                del self._uploads[digest]  # a failed upload is tried again by the next row that needs it
            raise

    async def _upload(self, content: bytes, filename: str) -> str:
        url = f"{self.base}/upload"

        def form() -> aiohttp.FormData:  # a fresh body per attempt: aiohttp cannot send a FormData twice
            data = aiohttp.FormData()
            data.add_field("file", content, filename=filename, content_type="application/octet-stream")
            data.add_field("expires_in_days", str(UPLOAD_DAYS))
            data.add_field("purpose", "edenframe")
            return data

        try:
            status, answer = await call(
                self.session, self.settings, "POST", url, data=form, limiter=self.limiter, must_exist=True
            )
        except APIError as exc:
            if is_fatal(exc):
                raise
            raise _ItemError(f"upload of {filename} failed: {exc}") from None
        if status in FATAL_STATUSES:
            raise api_error("POST", url, status, answer)
        file_id = answer.get("file_id") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(file_id, str):
            detail = describe_error(answer)
            raise _ItemError(
                f"upload of {filename} refused by Eden AI (HTTP {status})" + (f": {detail}" if detail else "")
            )
        self.uploads += 1
        return file_id


_VANISHED = "the async job is gone from Eden AI"


class _ItemError(Exception):
    """One item cannot be sent or was refused: its rows get this message, the run goes on."""


# -- shapes ---------------------------------------------------------------------------------------------------


def model_spec(provider: str, settings: Any) -> str:
    """'provider[/model]' for the model string: v2's `settings={provider: model}` names the model of a bare one."""
    if "/" not in provider and isinstance(settings, dict) and isinstance(settings.get(provider), str):
        return f"{provider}/{settings[provider]}"
    return provider


def _cost(value: Any) -> float | None:
    """v3's cost as a float: a JSON number, or a decimal string (the OpenAPI's form); None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except InvalidOperation:
            return None
    return None


def _provider_object(envelope: dict[str, Any]) -> dict[str, Any]:
    """v2's per-provider object for a v3 answer (sync, or a finished async job)."""
    answered = envelope.get("provider")
    if envelope.get("status") != "success":
        error = envelope.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return {
            "status": "fail",
            "error": {"message": str(message or "the provider failed (no message)")},
            "cost": _cost(envelope.get("cost")) or 0.0,
            ANSWERED_BY: answered,
        }
    output = envelope.get("output")
    output = dict(output) if isinstance(output, dict) else {}
    if "items" not in output and "image" in output:
        # image generation as its feature page shows it (one flat image): v2's items[] form
        output = {
            "items": [
                {"image": output.pop("image", None), "image_resource_url": output.pop("image_resource_url", None)}
            ],
            **output,
        }
    obj = {"status": "success", **output, "cost": _cost(envelope.get("cost")), ANSWERED_BY: answered}
    if "original_response" in envelope:
        obj["original_response"] = envelope["original_response"]
    return obj


def _chat_object(
    task: ChatTask, answer: dict[str, Any], params: dict[str, Any], model: str, fallbacks: list[str], structured: bool
) -> dict[str, Any]:
    """The provider object for one chat answer: the task's output fields, or a failure saying why the reply cannot
    be used (it was paid for all the same: its cost stays on the row)."""
    cost = _cost(answer.get("cost"))  # None when Eden sends none: never a made-up 0
    who = _answered_by(answer, model, fallbacks)

    def failed(message: str) -> dict[str, Any]:
        return {"status": "fail", "error": {"message": message}, "cost": cost, ANSWERED_BY: who}

    choices = answer.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts: their text, in order
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    finish = first.get("finish_reason")
    if finish == "length" and structured:
        limit = params.get("max_tokens")
        at = f" at max_tokens={limit}" if limit is not None else ""
        return failed(
            f"the reply was cut off{at} (finish_reason 'length') before its JSON was complete: raise max_tokens"
        )
    if finish == "content_filter":
        return failed("the provider's content filter stopped the reply (finish_reason 'content_filter')")
    if not isinstance(content, str):
        return failed("the answer holds no message content (choices[0].message.content)")
    output = task.output(content, params)
    if isinstance(output, str):
        return failed(output)
    return {"status": "success", **output, "cost": cost, ANSWERED_BY: who}


def _answered_by(answer: dict[str, Any], model: str, fallbacks: list[str]) -> str:
    """The 'provider/model' that answered: the answer's `model` when it names one of those asked (a provider may
    answer with a dated version, 'gpt-4o-mini-2024-07-18'), else the one asked first."""
    said = answer.get("model")
    if not isinstance(said, str) or not said.strip():
        return model
    candidates = (model, *fallbacks)
    for asked in candidates:  # an exact name first: "openai/gpt-4o-mini" also starts with "openai/gpt-4o-"
        if said == asked or asked.endswith("/" + said):
            return asked
    # a dated version of one asked: the longest name it extends ("gpt-4o-mini-2024-07-18" is gpt-4o-mini's)
    dated = [a for a in candidates if said.startswith(a + "-") or said.startswith(a.split("/", 1)[-1] + "-")]
    if dated:
        return max(dated, key=len)
    provider = answer.get("provider")
    if "/" not in said and isinstance(provider, str) and provider.strip():
        return f"{provider.strip()}/{said}"
    return said


def _packed(items_field: str, answers: list[_Answer]) -> _Answer:
    """One provider object for the texts of a packed item asked one by one: `items_field` holds each text's entry
    at the text's position (a failed text's place holds a failed entry, its row's error; no other row moves)."""
    if all(a.obj is None for a in answers):
        errors = list(dict.fromkeys(a.error or "no answer" for a in answers))
        return _Answer(error="; ".join(errors))
    entries: list[dict[str, Any]] = []
    costs = [a.obj.get("cost") for a in answers if a.obj is not None and a.obj.get("cost") is not None]
    answered_by = None
    for answer in answers:
        obj = answer.obj
        if obj is None:
            entries.append({"status": "fail", "error": {"message": answer.error or "no answer"}})
            continue
        listed = obj.get(items_field)
        if obj.get("status") != "success":
            entries.append({"status": "fail", "error": obj.get("error"), ANSWERED_BY: obj.get(ANSWERED_BY)})
        elif isinstance(listed, list) and len(listed) == 1 and isinstance(listed[0], dict):
            entries.append({**listed[0], ANSWERED_BY: obj.get(ANSWERED_BY)})
            answered_by = answered_by or obj.get(ANSWERED_BY)
        else:
            message = f"the task gave no single {items_field} entry for this text"
            entries.append({"status": "fail", "error": {"message": message}})
    obj = {
        "status": "success",
        items_field: entries,
        "cost": sum(costs) if costs else None,
        ANSWERED_BY: answered_by,
    }
    return _Answer(obj=obj)


def _in_v2_fields(entry: Subfeature, route: V3Mapping, answer: _Answer) -> _Answer:
    """The hook for outputs whose fields v3 renamed (the financial parser for invoices and receipts): a successful
    provider object is put in the v2 entry's fields by the mapping's `output_map`; anything else is left as is."""
    if route.output_map is not None and answer.obj is not None and answer.obj.get("status") == "success":
        answer.obj = to_v2(route.output_map, answer.obj, entry.output)
    return answer


def _outcome(providers: list[str], answers: list[_Answer]) -> Outcome:
    """One item's outcome: the provider-keyed response, or one error when no provider's request got an answer."""
    if all(a.obj is None for a in answers):
        errors = list(dict.fromkeys(a.error or "no answer" for a in answers))
        if len(errors) == 1:
            return Outcome(error=errors[0])
        return Outcome(error="; ".join(f"{p}: {a.error}" for p, a in zip(providers, answers, strict=True)))
    response = {}
    for provider, answer in zip(providers, answers, strict=True):
        response[provider] = (
            answer.obj
            if answer.obj is not None
            else {"status": "fail", "error": {"message": answer.error or "no answer"}, "cost": 0.0}
        )
    return Outcome(response=response)


def _vector(embedding: Any) -> Any:
    """An embedding as a list of floats: OpenAI's base64 form (little-endian float32) decoded."""
    if isinstance(embedding, str):
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return embedding
