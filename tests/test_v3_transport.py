"""The v3 transport (`_transport/v3_universal.py`) against the emulator's v3 routes, served alone on loopback.

Items come from the real planner (`plan_requests` + `build_requests`) and outcomes go through the real `absorb` and
frame building, so "same columns as v2" is checked on the typed columns: the same items sent by the v2 sync transport
to the v2 emulator give the same values, errors and costs (both emulators answer the same synthetic output for the
same input).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from aiohttp.test_utils import TestServer
from helpers import ServedV3, serve_v3_tables

from edenframe._cache import ResultCache
from edenframe._catalog import Subfeature, get_subfeature
from edenframe._config import Secret, Settings
from edenframe._errors import APIError, ValidationError
from edenframe._pipeline._frame import ProviderColumns, ProviderResult, finish_all
from edenframe._pipeline._plan import Requests, build_requests, plan_requests
from edenframe._pipeline._results import UnitResults, absorb
from edenframe._transport import Outcome, Wiring
from edenframe._transport.http import open_session
from edenframe._transport.v2_sync import SyncTransport
from edenframe._transport.v3_universal import ANSWERED_BY, V3Transport, check_v3, v3_refusal
from edenframe._v3_models import V3_SUBFEATURES
from edenframe.testing import EdenEmulator
from edenframe.testing._v3 import AccountRateLimit, V3Faults, V3State, _pseudo_entry, v3_routes

KEY = "v3-transport-key"
NER = "text/named_entity_recognition"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class V3Server(ServedV3):
    @property
    def base_url(self) -> str:
        return self.url("/v3")

    def posts(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["method"] == "POST" and c["path"] == path]


@pytest.fixture
async def v3() -> AsyncIterator[Callable[..., Any]]:
    servers: list[TestServer] = []

    async def start(**options: Any) -> V3Server:
        state = V3State(api_key=KEY)
        for name, value in options.items():
            setattr(state, name, value)
        server = await serve_v3_tables(state, v3_routes)
        servers.append(server)
        return V3Server(state, server)

    yield start
    for server in servers:
        await server.close()


def settings_for(base_url: str, **options: Any) -> Settings:
    quick = {
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "poll_interval": 0.01,
        "poll_max_interval": 0.05,
        "rate_limit": 1000.0,
        "retry_deadline": 60.0,
        "first_contact_timeout": 5.0,
    }
    return Settings(api_key=Secret(KEY), base_url=base_url, **{**quick, **options})


class Run:
    """One call's requests sent by a transport: outcomes by name, and the typed columns built from them."""

    def __init__(self, entry: Subfeature, values: list[Any], params: dict[str, Any], providers: tuple[str, ...]):
        self.entry, self.providers = entry, providers
        column = entry.input_field
        self.plan = plan_requests(entry, pd.Series(values, dtype=object), column, params)
        self.requests: Requests = build_requests(self.plan, list(range(self.plan.units)), providers)
        self.index = {item["name"]: i for i, item in enumerate(self.requests.items)}
        self.results = {p: UnitResults(p, 0, self.plan.units) for p in providers}
        self.outcomes: dict[str, Outcome] = {}

    def on_outcomes(self, outcomes: dict[str, Outcome]) -> None:
        assert not set(outcomes) & set(self.outcomes), "an item got two outcomes"
        self.outcomes.update(outcomes)
        absorb(self.entry, self.requests, self.index, outcomes, self.results)

    async def send(self, transport: Any, **kw: Any) -> Run:
        await transport.send(self.entry, self.requests.items, self.on_outcomes, **kw)
        return self

    def columns(self) -> list[ProviderResult]:
        columns = {p: ProviderColumns(p, self.entry.row_output) for p in self.providers}
        for p in self.providers:
            columns[p].add(0, self.results[p])
        return finish_all(columns, self.providers, self.plan.row_unit)

    def errors(self, provider: str | None = None) -> list[Any]:
        result = self.columns()[self.providers.index(provider) if provider else 0]
        return [None if pd.isna(e) else e for e in result.error]


async def send_v3(server: V3Server, run: Run, **options: Any) -> tuple[Run, V3Transport]:
    settings = settings_for(server.base_url, **options.pop("settings", {}))
    async with open_session(settings) as session:
        limits = {k: options.pop(k) for k in ("limiter", "in_flight") if k in options}
        transport = V3Transport(Wiring(settings, session, **options), **limits)
        await run.send(transport)
    return run, transport


async def send_v2(run: Run) -> Run:
    async with EdenEmulator(api_key=KEY) as emu:
        settings = settings_for(emu.base_url)
        async with open_session(settings) as session:
            await run.send(SyncTransport(Wiring(settings, session)))
    return run


def assert_same_columns(v3_run: Run, v2_run: Run) -> None:
    for got, want in zip(v3_run.columns(), v2_run.columns(), strict=True):
        assert got.fields.keys() == want.fields.keys()
        for name in want.fields:
            pd.testing.assert_series_equal(pd.Series(got.fields[name]), pd.Series(want.fields[name]), obj=name)
        pd.testing.assert_series_equal(pd.Series(got.error), pd.Series(want.error), obj="error")
        np.testing.assert_allclose(got.cost, want.cost)


# -- the same columns as v2 -----------------------------------------------------------------------------------------

TEXTS = ["Ada Lovelace met Babbage in London", "Grace Hopper wrote COBOL", None, "Ada Lovelace met Babbage in London"]
URLS = ["https://files.test/scan-1.png", "https://files.test/scan-2.png", "https://files.test/scan-1.png"]


@pytest.mark.parametrize(
    ("path", "values", "params", "providers"),
    [
        (NER, TEXTS, {"language": "en"}, ("amazon",)),
        (NER, TEXTS, {}, ("amazon", "microsoft")),
        ("text/moderation", TEXTS, {}, ("google",)),
        ("text/topic_extraction", TEXTS, {"language": "en"}, ("google",)),
        ("translation/automatic_translation", TEXTS, {"target_language": "fr"}, ("deepl",)),
        ("ocr/ocr", URLS, {"language": "en"}, ("amazon",)),
        ("image/object_detection", URLS, {}, ("amazon",)),
        # cohere: no documented default model on v3, so both APIs name the same model (and get the same vectors)
        ("text/embeddings", [f"text number {i}" for i in range(150)] + [None, "text number 3"], {}, ("cohere",)),
    ],
)
async def test_the_typed_columns_equal_the_v2_ones(
    v3: Any, path: str, values: list[Any], params: dict[str, Any], providers: tuple[str, ...]
) -> None:
    entry = get_subfeature(path)
    server = await v3()
    v3_run, transport = await send_v3(server, Run(entry, values, params, providers))
    v2_run = await send_v2(Run(entry, values, params, providers))
    assert_same_columns(v3_run, v2_run)
    assert all(e is None for p in providers for e in v3_run.errors(p)[:2])
    # one v3 request per (distinct input, provider); embeddings pack many texts into one
    endpoint = "/v3/embeddings" if path == "text/embeddings" else "/v3/universal-ai"
    assert len(server.posts(endpoint)) == len(v3_run.requests.items) * len(providers)
    assert transport.stats.items_sent == len(v3_run.requests.items)
    for call in server.posts("/v3/universal-ai"):
        assert call["json"]["model"].rsplit("/", 1)[1] in providers
        assert "providers" not in call["json"]["input"] and "name" not in call["json"]["input"]


async def test_embeddings_are_matched_by_index_not_position(v3: Any) -> None:
    entry = get_subfeature("text/embeddings")
    texts = [f"sentence {i}" for i in range(120)]
    server = await v3(shuffle_embeddings=True)
    v3_run, _ = await send_v3(server, Run(entry, texts, {}, ("cohere",)))
    v2_run = await send_v2(Run(entry, texts, {}, ("cohere",)))
    assert_same_columns(v3_run, v2_run)
    [request, *_] = server.posts("/v3/embeddings")
    assert request["json"]["model"] == "cohere" and len(request["json"]["input"]) == entry.pack.max_items


async def test_invoices_go_to_the_financial_parser_with_their_document_type(v3: Any) -> None:
    server = await v3()
    run, _ = await send_v3(server, Run(get_subfeature("ocr/invoice_parser"), URLS[:1], {"language": "en"}, ("amazon",)))
    [call] = server.posts("/v3/universal-ai")
    assert call["json"] == {
        "model": "ocr/financial_parser/amazon",
        "input": {"file": URLS[0], "language": "en", "document_type": "invoice"},
    }
    assert run.errors() == [None]


# -- answers: fallbacks, cost, provider failures, refusals ----------------------------------------------------------


async def test_fallbacks_answer_and_the_object_names_who_answered(v3: Any) -> None:
    server = await v3(failing_providers=["amazon"])
    params = {"fallback_providers": "microsoft,tenstorrent"}
    run, _ = await send_v3(server, Run(get_subfeature(NER), TEXTS[:2], params, ("amazon",)))
    assert run.errors() == [None, None]
    for outcome in run.outcomes.values():
        assert outcome.response["amazon"][ANSWERED_BY] == "microsoft"
    calls = server.posts("/v3/universal-ai")
    assert [c["json"]["fallbacks"] for c in calls] == [["microsoft", "tenstorrent"]] * 2
    assert {c["provider"] for c in server.charges} == {"microsoft"}


async def test_settings_name_the_model_and_the_cost_string_becomes_a_float(v3: Any) -> None:
    server = await v3(cost_format="string")
    params = {"settings": {"openai": "gpt-4o"}}
    run, _ = await send_v3(server, Run(get_subfeature(NER), TEXTS[:2], params, ("openai",)))
    assert {c["json"]["model"] for c in server.posts("/v3/universal-ai")} == {f"{NER}/openai/gpt-4o"}
    [result] = run.columns()
    assert result.cost.tolist() == pytest.approx([c["cost"] for c in server.charges])
    assert all(isinstance(o.response["openai"]["cost"], float) for o in run.outcomes.values())


async def test_a_failed_provider_is_that_rows_error(v3: Any) -> None:
    server = await v3(provider_fail_inputs=["Grace Hopper wrote COBOL"])
    run, _ = await send_v3(server, Run(get_subfeature(NER), TEXTS, {}, ("amazon",)))
    errors = run.errors()
    assert errors[0] is None and errors[3] is None and errors[2] is None  # row 2 was never sent (NA)
    assert errors[1].startswith("amazon: ") and "Provider has returned an Error" in errors[1]


async def test_a_refused_request_fails_only_its_item(v3: Any) -> None:
    server = await v3(fail_inputs=["Grace Hopper wrote COBOL"])
    entry = get_subfeature(NER)
    run = Run(entry, ["first text", "Grace Hopper wrote COBOL", "third text"], {}, ("amazon",))
    run.requests.items[2]["text"] = 3  # v3 validates like Eden: a 422 for this item alone
    _, _ = await send_v3(server, run)
    errors = run.errors()
    assert errors[0] is None
    assert errors[1].startswith("rejected by Eden AI (HTTP 400)")
    assert errors[2].startswith("rejected by Eden AI (HTTP 422)") and "text" in errors[2]


async def test_several_providers_keep_the_answers_that_came(v3: Any) -> None:
    server = await v3(providers={NER: ["amazon"]})  # microsoft is not served: 404 for its requests only
    run, _ = await send_v3(server, Run(get_subfeature(NER), TEXTS[:2], {}, ("amazon", "microsoft")))
    assert run.errors("amazon") == [None, None]
    assert all(e.startswith("microsoft: rejected by Eden AI (HTTP 404)") for e in run.errors("microsoft"))


@pytest.mark.parametrize(("credits", "key", "status"), [(0.0, KEY, 402), (None, "wrong", 401)])
async def test_a_payment_or_key_refusal_stops_the_run(v3: Any, credits: Any, key: str, status: int) -> None:
    server = await v3(credits=credits)
    settings = Settings(api_key=Secret(key), base_url=server.base_url, rate_limit=1000.0)
    run = Run(get_subfeature(NER), TEXTS, {}, ("amazon",))
    async with open_session(settings) as session:
        with pytest.raises(APIError) as raised:
            await run.send(V3Transport(Wiring(settings, session)))
    assert raised.value.status == status
    assert key not in str(raised.value) or key == KEY


# -- the account's rate limit and faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", ["header", "none", "alternate"])
async def test_429s_are_retried_and_every_input_is_charged_once(v3: Any, retry_after: str) -> None:
    limiter = AccountRateLimit(rate=40.0, burst=1, retry_after=retry_after)
    server = await v3(limiter=limiter)
    texts = [f"row {i} about Paris" for i in range(40)]
    # the client's budget set twice too high: it slows down on the 429s, nothing is lost
    run, transport = await send_v3(
        server, Run(get_subfeature(NER), texts, {}, ("amazon",)), settings={"rate_limit": 80.0}
    )
    assert run.errors() == [None] * 40
    assert limiter.refused > 0  # the client asked for far more than the account allows
    assert sorted(c["cost"] for c in server.charges) == sorted(
        o.response["amazon"]["cost"] for o in run.outcomes.values()
    )
    assert len(server.charges) == 40 and transport.limiter.stats.throttled > 0


async def test_server_errors_and_dropped_connections_are_retried(v3: Any) -> None:
    server = await v3(faults=V3Faults(server_error=0.25, drop_connection=0.1, rate_limited=0.1, seed=7))
    texts = [f"row {i} about Rome" for i in range(30)]
    run, _ = await send_v3(server, Run(get_subfeature(NER), texts, {}, ("amazon",)))
    assert run.errors() == [None] * 30
    assert len(server.charges) == 30
    assert any(c["status"] in (None, 500, 429) for c in server.calls)


async def test_the_client_rate_limit_paces_request_starts(v3: Any) -> None:
    server = await v3()
    texts = [f"paced {i}" for i in range(12)]
    started = asyncio.get_running_loop().time()
    await send_v3(server, Run(get_subfeature(NER), texts, {}, ("amazon",)), settings={"rate_limit": 40.0})
    assert asyncio.get_running_loop().time() - started >= 11 / 40 * 0.9


# -- uploads --------------------------------------------------------------------------------------------------------


async def test_local_files_are_uploaded_once_and_sent_by_id(v3: Any, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG same content")
    server = await v3()
    values = [b"\x89PNG same content", str(picture), b"\x89PNG other content", "https://files.test/dog.png"]
    run, transport = await send_v3(
        server, Run(get_subfeature("image/object_detection"), values, {}, ("amazon", "google"))
    )
    assert run.errors("amazon") == [None] * 4 and run.errors("google") == [None] * 4
    assert len(server.posts("/v3/upload")) == 2 == transport.uploads  # two distinct contents
    files = [c["json"]["input"]["file"] for c in server.posts("/v3/universal-ai")]
    assert len(files) == 8
    assert sum(bool(UUID.match(f)) for f in files) == 6 and len({f for f in files if UUID.match(f)}) == 2
    assert files.count("https://files.test/dog.png") == 2


async def test_an_unreadable_file_fails_its_row_only(v3: Any, tmp_path: Path) -> None:
    server = await v3()
    values = [str(tmp_path / "missing.png"), "https://files.test/dog.png"]
    run, _ = await send_v3(server, Run(get_subfeature("image/object_detection"), values, {}, ("amazon",)))
    errors = run.errors()
    assert errors[0].startswith("cannot read the file") and errors[1] is None
    assert server.posts("/v3/upload") == []


# -- async subfeatures ----------------------------------------------------------------------------------------------

OCR_ASYNC = _pseudo_entry(V3_SUBFEATURES["ocr/ocr_async"])
DOCS = ["https://files.test/long-1.pdf", "https://files.test/long-2.pdf"]


async def test_async_jobs_are_launched_journaled_polled_and_deleted(v3: Any, tmp_path: Path) -> None:
    server = await v3(job_seconds=0.05)
    journal = ResultCache(tmp_path / "cache.sqlite")
    recorded: list[tuple[str, ...]] = []
    record_job = journal.record_job

    def spy(job: str, subfeature: str, base_url: str, items: list[str]) -> None:
        # the public_id is journaled before the first poll of it
        polls = [c for c in server.calls if c["method"] == "GET" and job.split(":")[1] in c["path"]]
        recorded.append((job, len(polls)))
        record_job(job, subfeature, base_url, items)

    journal.record_job = spy  # type: ignore[method-assign]
    try:
        run, transport = await send_v3(server, Run(OCR_ASYNC, DOCS, {}, ("amazon",)), journal=journal)
        assert run.errors() == [None, None]
        [result] = run.columns()
        assert pd.Series(result.fields["raw_text"]).notna().all()
        assert transport.stats.jobs_launched == 2 and transport.stats.jobs_attached == 0
        assert [polls for _, polls in recorded] == [0, 0]
        assert len(server.posts("/v3/universal-ai/async")) == 2
        assert len([c for c in server.calls if c["method"] == "DELETE"]) == 2 and server.state.jobs == {}
        names = [f"{item['name']}|amazon" for item in run.requests.items]
        assert journal.open_jobs(OCR_ASYNC.path, server.base_url, names) == {}
    finally:
        journal.close()


def polled(server: V3Server) -> set[str]:
    """The public_ids of the async jobs the server was asked about."""
    return {c["path"].rsplit("/", 1)[1] for c in server.calls if c["method"] == "GET" and "/async/" in c["path"]}


async def test_a_rerun_after_a_crash_reattaches_to_journaled_jobs(v3: Any, tmp_path: Path) -> None:
    server = await v3(job_seconds=60.0)  # still processing when the run dies, however slow the machine
    path = tmp_path / "cache.sqlite"
    first = ResultCache(path)
    run = Run(OCR_ASYNC, DOCS, {}, ("amazon",))
    settings = settings_for(server.base_url)
    async with open_session(settings) as session:
        task = asyncio.ensure_future(run.send(V3Transport(Wiring(settings, session, journal=first))))
        deadline = asyncio.get_running_loop().time() + 20
        # both launched and polled once (each public_id is journaled before its first poll); the journal alone says
        # too early, since it also holds the claim each request takes before its launch
        while not (len(server.state.jobs) == 2 and set(server.state.jobs) <= polled(server)):
            assert asyncio.get_running_loop().time() < deadline, "the jobs were never launched and polled"
            await asyncio.sleep(0.01)
        task.cancel()  # the crash: both jobs launched and journaled, nothing collected
        with pytest.raises(asyncio.CancelledError):
            await task
    first.close()
    assert run.outcomes == {} and len(server.state.jobs) == 2
    for job in server.state.jobs.values():
        job.due = 0.0  # the jobs finish

    second = ResultCache(path)
    try:
        rerun, transport = await send_v3(server, Run(OCR_ASYNC, DOCS, {}, ("amazon",)), journal=second)
    finally:
        second.close()
    assert rerun.errors() == [None, None]
    assert transport.stats.jobs_attached == 2 and transport.stats.jobs_launched == 0
    assert len(server.posts("/v3/universal-ai/async")) == 2  # zero duplicate launches
    assert len(server.charges) == 2 and server.state.jobs == {}


async def test_a_job_held_by_a_live_run_is_waited_for_and_recalled(v3: Any, tmp_path: Path) -> None:
    server = await v3(job_seconds=0.3)
    path = tmp_path / "cache.sqlite"
    owner, waiter = ResultCache(path), ResultCache(path)  # two runs sharing one cache
    first, second = Run(OCR_ASYNC, DOCS[:1], {}, ("amazon",)), Run(OCR_ASYNC, DOCS[:1], {}, ("amazon",))

    def recall(names: list[str]) -> set[str]:  # what the runner does: the owner's stored results
        found = {name for name in names if name in first.outcomes}
        second.outcomes.update({name: first.outcomes[name] for name in found})
        return found

    settings = settings_for(server.base_url)
    try:
        async with open_session(settings) as session:
            a = V3Transport(Wiring(settings, session, journal=owner))
            b = V3Transport(Wiring(settings, session, journal=waiter))
            launching = asyncio.ensure_future(first.send(a))
            while not server.state.jobs:
                await asyncio.sleep(0.01)
            await asyncio.gather(launching, second.send(b, recall=recall))
    finally:
        owner.close()
        waiter.close()
    assert len(server.posts("/v3/universal-ai/async")) == 1 and len(server.charges) == 1
    assert second.outcomes == first.outcomes and b.stats.jobs_launched == 0


async def test_an_async_job_that_fails_is_a_row_error_and_is_collected(v3: Any) -> None:
    server = await v3(provider_fail_inputs=[DOCS[1]])
    run, _ = await send_v3(server, Run(OCR_ASYNC, DOCS, {}, ("amazon",)))
    errors = run.errors()
    assert errors[0] is None and errors[1].startswith("amazon: ")
    assert server.state.jobs == {}


# -- refused before any request -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        # no expert model, and a provider that is not an LLM model: the three ways out, the LLM one concrete
        ("text/sentiment_analysis", {"providers": "amazon"}, ["no expert model", "v2", "providers='local'"]),
        ("translation/language_detection", {"providers": "amazon"}, ["no expert model", "base_url", "local"]),
        ("text/chat", {"providers": "amazon"}, ["chat completions", "'provider/model'"]),
        ("ocr/ocr", {"language": "en", "file_password": "x"}, ["file_password=", "drop it"]),
        ("ocr/ocr", {}, ["needs language="]),
        (NER, {"fallback_providers": "a,b,c,d"}, ["at most 3"]),
        ("audio/text_to_speech", {"fallback_providers": "google"}, ["no fallback providers"]),
        (NER, {"show_base_64": True}, ["show_base_64="]),
    ],
)
async def test_calls_v3_cannot_serve_are_refused_before_any_request(
    v3: Any, path: str, params: dict[str, Any], words: list[str]
) -> None:
    entry = get_subfeature(path)
    problem = v3_refusal(entry, params)
    assert problem is not None and all(w in problem for w in words), problem
    with pytest.raises(ValidationError):
        check_v3(entry, params)
    server = await v3()
    values = URLS[:1] if entry.input_kind == "file" else ["some text"]
    if entry.input_kind == "texts":
        values = ["some text"]
    with pytest.raises(ValidationError):
        await send_v3(server, Run(entry, values, params, ("amazon",)))
    assert server.calls == []


def test_v3_ready_calls_pass_the_check() -> None:
    assert v3_refusal(get_subfeature(NER), {"language": "en", "fallback_providers": "microsoft"}) is None
    assert v3_refusal(get_subfeature("ocr/ocr"), {"language": "en"}) is None
    assert v3_refusal(get_subfeature("text/embeddings"), {"dimensions": 8}) is None
    assert v3_refusal(OCR_ASYNC, {}) is None
