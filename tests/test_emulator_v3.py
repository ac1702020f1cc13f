"""The emulator's v3 routes (`edenframe.testing._v3`), served alone over real loopback HTTP and called with raw
aiohttp requests, as a client following Eden AI's v3 documents would (no edenframe client code).

What the routes must answer comes from `wire-format-v3.md`, the v3 feature pages and the v3 OpenAPI; the shape
checks against the OpenAPI skip when `../shared/eden-api` is absent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from helpers import V3Client, serve_v3_tables

from edenframe._prices import parse_v3_info
from edenframe.testing._synthetic import expected_row
from edenframe.testing._v3 import AccountRateLimit, V3Faults, V3State, v3_routes

KEY = "v3-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
NER = "text/named_entity_recognition"


class Server(V3Client):
    """A v3-only app on 127.0.0.1 and a client session; `calls` and `charges` are what the state recorded."""

    async def run(self, model: str, data: dict[str, Any], **extra: Any) -> tuple[int, Any]:
        return await self.post("/v3/universal-ai", {"model": model, "input": data, **extra})


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    opened: list[tuple[TestServer, aiohttp.ClientSession]] = []

    async def start(**options: Any) -> Server:
        state = V3State(api_key=KEY)
        for name, value in options.items():
            setattr(state, name, value)
        server = await serve_v3_tables(state, v3_routes)
        session = aiohttp.ClientSession()
        opened.append((server, session))
        return Server(state, server, session, AUTH)

    yield start
    for server, session in opened:
        await session.close()
        await server.close()


# -- Universal AI, sync ------------------------------------------------------------------------------------------


async def test_sync_call_answers_the_v2_synthetic_output_in_the_v3_envelope(serve: Any) -> None:
    srv = await serve()
    status, body = await srv.run(f"{NER}/amazon", {"text": "Ada Lovelace met Babbage in London", "language": "en"})
    assert status == 200
    assert set(body) == {"status", "cost", "provider", "feature", "subfeature", "output", "error"}
    assert (body["status"], body["provider"], body["feature"], body["subfeature"], body["error"]) == (
        "success",
        "amazon",
        "text",
        "named_entity_recognition",
        None,
    )
    # the same answer the v2 routes give for the same request: frames from both APIs agree
    assert body["output"] == expected_row("ner", "amazon", "Ada Lovelace met Babbage in London", language="en")
    assert isinstance(body["cost"], float) and body["cost"] > 0
    assert srv.charges == [{"job": "sync", "name": None, "provider": "amazon", "cost": body["cost"]}]
    [call] = srv.calls
    assert (call["method"], call["path"], call["status"]) == ("POST", "/v3/universal-ai", 200)
    assert call["json"]["model"] == f"{NER}/amazon"


async def test_cost_is_a_number_or_a_decimal_string(serve: Any) -> None:
    as_string = await serve(cost_format="string")
    _, body = await as_string.run("text/moderation/google", {"text": "hello"})
    assert isinstance(body["cost"], str) and float(body["cost"]) == as_string.charges[0]["cost"]
    mixed = await serve(cost_format="alternate")
    kinds = [type((await mixed.run("text/moderation/google", {"text": t}))[1]["cost"]) for t in ("a", "b", "c")]
    assert kinds == [float, str, float]


async def test_auth_is_bearer_and_info_is_public(serve: Any) -> None:
    srv = await serve()
    status, body = await srv.post("/v3/universal-ai", {"model": f"{NER}/amazon", "input": {"text": "x"}}, headers={})
    assert status == 401 and "Bearer" in body["detail"]
    wrong = {"Authorization": "Bearer nope"}
    assert (await srv.post("/v3/universal-ai", {"model": f"{NER}/amazon", "input": {"text": "x"}}, wrong))[0] == 401
    assert (await srv.get("/v3/info", headers={}))[0] == 200
    assert (await srv.get("/v3/universal-ai/async", headers={}))[0] == 401
    status, body = await srv.post("/v3/embeddings", {"model": "openai/x", "input": ["a"]}, headers={})
    assert status == 401 and body["error"]["type"] == "authentication_error"
    assert srv.charges == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"model": f"{NER}/amazon", "input": {"text": "x", "mood": "happy"}}, ["body", "input", "mood"]),
        ({"model": "ocr/ocr/amazon", "input": {"file_url": "https://x.test/a.png", "language": "en"}}, None),
        ({"model": "ocr/ocr/amazon", "input": {"file": "https://x.test/a.png"}}, ["body", "input", "language"]),
        ({"model": f"{NER}/amazon", "input": {"text": 3}}, ["body", "input", "text"]),
        ({"model": f"{NER}/amazon", "input": {}}, ["body", "input", "text"]),
        ({"model": f"{NER}/amazon", "input": {"text": "x"}, "providers": "amazon"}, ["body", "providers"]),
        ({"model": f"{NER}/amazon", "input": {"text": "x"}, "response_as_dict": True}, ["body", "response_as_dict"]),
        ({"input": {"text": "x"}}, ["body", "model"]),
        ({"model": f"{NER}/amazon", "input": {"text": "x"}, "fallbacks": ["a", "b", "c", "d"]}, ["body", "fallbacks"]),
        ({"model": "audio/tts/amazon/neural", "input": {"text": "x"}, "fallbacks": ["google"]}, ["body", "fallbacks"]),
        ({"model": f"{NER}/amazon", "input": {"text": "x"}, "fallbacks": ["text/moderation/google"]}, None),
        ({"model": f"{NER}/amazon", "input": {"text": "x"}, "fallbacks": ["nobody"]}, ["body", "fallbacks", 0]),
        ({"model": "ocr/ocr/amazon", "input": {"file": "not a url", "language": "en"}}, ["body", "input", "file"]),
        ({"model": "audio/tts/amazon", "input": {"text": "x", "rate": 10}}, ["body", "input", "rate"]),
    ],
)
async def test_bodies_are_validated_like_eden_does(serve: Any, body: dict[str, Any], loc: list[Any] | None) -> None:
    srv = await serve()
    status, answer = await srv.post("/v3/universal-ai", body)
    assert status == 422, answer
    locs = [d["loc"] for d in answer["detail"]]
    assert all({"loc", "msg", "type"} <= set(d) for d in answer["detail"])
    if loc is not None:
        assert loc in locs
    else:  # the v2 name is refused as an unknown field
        assert any(x[:2] == ["body", "input"] or x[:2] == ["body", "fallbacks"] for x in locs)
    assert srv.charges == []


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("named_entity_recognition", 400),
        ("text//amazon", 400),
        ("text/sentiment_analysis/google", 404),  # no v3 expert model
        ("audio/text_to_speech/amazon", 404),  # v2's name: v3 says audio/tts
        (f"{NER}/nobody", 404),
        ("ocr/ocr_async/amazon", 400),  # an async subfeature on the sync endpoint
    ],
)
async def test_unknown_models_are_refused(serve: Any, model: str, status: int) -> None:
    srv = await serve()
    got, body = await srv.run(model, {"text": "x", "file": "https://x.test/a.pdf"})
    assert got == status and isinstance(body["detail"], str)


async def test_a_failed_provider_is_a_200_with_status_fail(serve: Any) -> None:
    srv = await serve(provider_fail_inputs=frozenset({"boom"}), cost_format="string")
    status, body = await srv.run(f"{NER}/amazon", {"text": "boom"})
    assert status == 200
    assert (body["status"], body["output"], body["cost"]) == ("fail", None, "0")
    assert body["error"]["message"]
    assert srv.charges == []  # failed attempts cost nothing
    rejected = await serve(fail_inputs=frozenset({"bad"}), request_fail_inputs=frozenset({"down"}))
    assert (await rejected.run(f"{NER}/amazon", {"text": "bad"}))[0] == 400
    assert (await rejected.run(f"{NER}/amazon", {"text": "down"}))[0] == 500


async def test_fallbacks_answer_when_the_model_fails_and_only_they_are_billed(serve: Any) -> None:
    srv = await serve(failing_providers=frozenset({"microsoft"}))
    body = {"text": "Text to moderate"}
    status, answer = await srv.run("text/moderation/microsoft", body, fallbacks=["text/moderation/google"])
    assert status == 200 and (answer["status"], answer["provider"]) == ("success", "google")
    assert answer["output"] == expected_row("moderate", "google", "Text to moderate")
    assert [c["provider"] for c in srv.charges] == ["google"]
    _, alone = await srv.run("text/moderation/microsoft", body)
    assert (alone["status"], alone["provider"]) == ("fail", "microsoft")


async def test_text_to_speech_is_audio_tts_with_a_url_only(serve: Any) -> None:
    srv = await serve()
    status, body = await srv.run("audio/tts/google/wavenet", {"text": "Hello", "speaking_pitch": 10})
    assert status == 200 and set(body["output"]) == {"audio_resource_url"}
    v2 = expected_row("text_to_speech", "google/wavenet", "Hello", pitch=10)
    assert body["output"]["audio_resource_url"] == v2["audio_resource_url"]


async def test_invoices_are_the_financial_parser(serve: Any) -> None:
    srv = await serve()
    data = {"file": "https://x.test/invoice.pdf", "language": "en", "document_type": "invoice"}
    status, body = await srv.run("ocr/financial_parser/mindee", data)
    assert status == 200 and body["subfeature"] == "financial_parser"
    [page, *_] = body["output"]["extracted_data"]
    assert {"customer_information", "payment_information", "document_metadata"} <= set(page)
    bad, answer = await srv.run("ocr/financial_parser/mindee", {**data, "document_type": "bill"})
    assert bad == 422 and answer["detail"][0]["loc"] == ["body", "input", "document_type"]


async def test_new_v3_subfeatures_answer_their_documented_fields(serve: Any) -> None:
    srv = await serve()
    url = "https://x.test/picture.png"
    for model, data, fields in [
        ("text/ai_detection/winstonai", {"text": "Was this written by a model?"}, {"ai_score", "items"}),
        ("text/plagia_detection/winstonai", {"text": "To be or not", "title": "t"}, {"plagia_score", "items"}),
        ("image/ai_detection/resemble", {"file": url}, {"ai_score", "prediction"}),
        ("image/deepfake_detection/sightengine", {"file": url}, {"deepfake_score", "prediction"}),
        ("image/background_removal/photoroom", {"file": url}, {"image_b64", "image_resource_url"}),
    ]:
        status, body = await srv.run(model, data)
        assert status == 200 and set(body["output"]) == fields, model
    _, removed = await srv.run("image/background_removal/photoroom", {"file": url})
    assert base64.b64decode(removed["output"]["image_b64"]).startswith(b"\x89PNG")


async def test_image_generation_in_either_documented_form(serve: Any) -> None:
    data = {"text": "a red fox", "resolution": "512x512"}
    items = await serve()
    _, body = await items.run("image/generation/openai", data)
    assert set(body["output"]) == {"items"}
    flat = await serve(flat_image_generation=True)
    _, body = await flat.run("image/generation/openai", data)
    assert set(body["output"]) == {"image", "image_resource_url"}


async def test_local_provider_answers_like_on_v2(serve: Any) -> None:
    try:
        expected = expected_row("translate", "local", "hello", target_language="es")
    except Exception as exc:  # the offline extra is not installed
        pytest.skip(f"local translation unavailable: {exc}")
    srv = await serve()
    status, body = await srv.run("translation/automatic_translation/local", {"text": "hello", "target_language": "es"})
    assert status == 200 and body["output"] == expected


# -- uploads ----------------------------------------------------------------------------------------------------


async def upload(srv: Server, content: bytes, name: str = "scan.png", **fields: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=name, content_type="image/png")
    for key, value in fields.items():
        form.add_field(key, value)
    async with srv.session.post(srv.url("/v3/upload"), data=form, headers=AUTH) as r:
        return r.status, await r.json()


async def test_an_uploaded_file_is_used_by_its_id(serve: Any) -> None:
    srv = await serve()
    content = b"\x89PNG fake scan"
    status, stored = await upload(srv, content, purpose="ocr", expires_in_days="7")
    assert status == 200
    assert (stored["file_name"], stored["file_size"], stored["file_mimetype"], stored["purpose"]) == (
        "scan.png",
        len(content),
        "image/png",
        "ocr",
    )
    status, body = await srv.run("ocr/ocr/amazon", {"file": stored["file_id"], "language": "en"})
    assert status == 200
    # the answer seeded by the file's content, as v2 uploads are: same text on both APIs
    assert body["output"] == expected_row("ocr", "amazon", content, language="en")
    recorded = [c for c in srv.calls if c["path"] == "/v3/upload"]
    assert recorded[0]["json"]["file"] == f"<{len(content)} bytes>"
    _, listing = await srv.get("/v3/upload")
    assert [f["file_id"] for f in listing["items"]] == [stored["file_id"]] and listing["total"] == 1

    missing = "00000000-0000-4000-8000-000000000000"
    assert (await srv.run("ocr/ocr/amazon", {"file": missing, "language": "en"}))[0] == 400
    status, _ = await srv.post("/v3/upload/delete", {"file_ids": [stored["file_id"]]})
    assert status == 200
    assert (await srv.run("ocr/ocr/amazon", {"file": stored["file_id"], "language": "en"}))[0] == 400


async def test_uploads_are_validated(serve: Any) -> None:
    srv = await serve(max_upload_bytes=10)
    assert (await upload(srv, b"x", expires_in_days="31"))[0] == 422
    assert (await upload(srv, b"01234567890"))[0] == 413
    form = aiohttp.FormData()
    form.add_field("purpose", "ocr")
    async with srv.session.post(srv.url("/v3/upload"), data=form, headers=AUTH) as r:
        assert r.status == 422
    async with srv.session.delete(srv.url("/v3/upload"), headers=AUTH) as r:
        assert r.status == 200 and (await r.json()) == {"deleted_count": 0}


# -- async jobs ---------------------------------------------------------------------------------------------------


async def test_async_job_lifecycle(serve: Any) -> None:
    srv = await serve(job_seconds=0.3)
    model = "ocr/ocr_tables_async/amazon"
    status, launched = await srv.post(
        "/v3/universal-ai/async", {"model": model, "input": {"file": "https://x.test/t.pdf"}}
    )
    assert status == 202
    assert {"public_id", "status", "cost", "provider", "feature", "subfeature", "created_at"} <= set(launched)
    assert (launched["status"], launched["output"], launched["subfeature"]) == ("processing", None, "ocr_tables_async")
    job = f"/v3/universal-ai/async/{launched['public_id']}"
    assert (await srv.get(job))[1]["status"] == "processing"
    assert srv.charges == []
    await asyncio.sleep(0.35)
    polls = await asyncio.gather(*(srv.get(job) for _ in range(3)))  # concurrent polls: billed once
    assert {p[1]["status"] for p in polls} == {"success"}
    output = polls[0][1]["output"]
    assert set(output) == {"pages", "num_pages"} and polls[0][1]["cost"] > 0
    assert [c["job"] for c in srv.charges] == [launched["public_id"]]

    _, listing = await srv.get("/v3/universal-ai/async", subfeature="ocr_tables_async")
    assert listing["total"] == 1 and listing["items"][0]["public_id"] == launched["public_id"]
    async with srv.session.delete(srv.url(job), headers=AUTH) as r:
        assert r.status == 200
    assert (await srv.get(job))[0] == 404
    assert (await srv.get("/v3/universal-ai/async/not-a-uuid"))[0] == 422


async def test_async_endpoint_takes_async_subfeatures_only_and_fails_like_sync(serve: Any) -> None:
    srv = await serve(provider_fail_inputs=frozenset({"https://x.test/broken.mp3"}))
    status, _ = await srv.post("/v3/universal-ai/async", {"model": f"{NER}/amazon", "input": {"text": "x"}})
    assert status == 400
    body = {"model": "audio/speech_to_text_async/deepgram/nova-3", "input": {"file": "https://x.test/broken.mp3"}}
    status, launched = await srv.post("/v3/universal-ai/async", body)
    assert status == 202 and launched["model"] == "nova-3"
    _, done = await srv.get(f"/v3/universal-ai/async/{launched['public_id']}")
    assert (done["status"], done["output"]) == ("fail", None) and done["error"]["message"]
    ok = {"model": "audio/speech_to_text_async/deepgram", "input": {"file": "https://x.test/talk.mp3", "speakers": 2}}
    _, launched = await srv.post("/v3/universal-ai/async", ok)
    _, done = await srv.get(f"/v3/universal-ai/async/{launched['public_id']}")
    assert done["status"] == "success" and set(done["output"]) == {"text", "diarization"}


# -- embeddings ---------------------------------------------------------------------------------------------------


async def test_embeddings_are_openai_shaped_and_matched_by_index(serve: Any) -> None:
    srv = await serve(shuffle_embeddings=True)
    texts = ["first", "second", "third"]
    model = "openai/text-embedding-3-small"
    status, body = await srv.post("/v3/embeddings", {"model": model, "input": texts})
    assert status == 200
    assert (body["object"], body["model"], body["provider"]) == ("list", model, "openai")
    assert [d["index"] for d in body["data"]] == [2, 1, 0]  # out of order: only `index` says which is which
    by_index = {d["index"]: d["embedding"] for d in body["data"]}
    for index, text in enumerate(texts):  # the v2 synthetic vector of each text, whatever else is in the request
        assert by_index[index] == expected_row("embed", model, text)["embedding"]
    assert {"prompt_tokens", "total_tokens"} <= set(body["usage"]) and isinstance(body["cost"], float)
    assert [c["job"] for c in srv.charges] == ["embeddings"]

    _, packed = await srv.post("/v3/embeddings", {"model": model, "input": "first", "encoding_format": "base64"})
    raw = base64.b64decode(packed["data"][0]["embedding"])
    vector = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert vector == pytest.approx(by_index[0], abs=1e-6)
    _, short = await srv.post("/v3/embeddings", {"model": model, "input": ["first"], "dimensions": 3})
    assert len(short["data"][0]["embedding"]) == 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"input": ["a"]}, 400),
        ({"model": "openai/text-embedding-3-small", "input": []}, 400),
        ({"model": "openai/text-embedding-3-small", "input": ["a"] * 2049}, 400),
        ({"model": "openai/text-embedding-3-small", "input": ["a"], "dimensions": 0}, 400),
        ({"model": "nobody/model", "input": ["a"]}, 404),
    ],
)
async def test_embedding_errors(serve: Any, body: dict[str, Any], status: int) -> None:
    srv = await serve()
    got, answer = await srv.post("/v3/embeddings", body)
    assert got == status and {"message", "type"} <= set(answer["error"])


# -- the account's rate limit, faults, credits ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("mode", ["header", "none", "alternate"])
async def test_the_account_budget_answers_429(serve: Any, mode: str) -> None:
    clock = Clock()
    limiter = AccountRateLimit(rate=10.0, burst=2, retry_after=mode, clock=clock)  # type: ignore[arg-type]
    srv = await serve(limiter=limiter)
    statuses, waits = [], []
    for _ in range(4):
        async with srv.session.get(srv.url("/v3/info")) as r:  # every /v3 route spends the budget, info too
            statuses.append(r.status)
            if r.status == 429:
                body = await r.json()
                assert body["detail"] == "Rate limit exceeded"
                waits.append(r.headers.get("Retry-After"))
    assert statuses == [200, 200, 429, 429]
    expected = {"header": ["0.1", "0.1"], "none": [None, None], "alternate": ["0.1", None]}[mode]
    assert waits == expected
    clock.now += 0.15  # a token back
    async with srv.session.get(srv.url("/v3/info")) as r:
        assert r.status == 200
    assert (limiter.admitted, limiter.refused) == (3, 2)


async def test_faults_and_credits(serve: Any) -> None:
    dropping = await serve(faults=V3Faults(drop_connection=1.0))
    with pytest.raises(aiohttp.ClientError):
        await dropping.run(f"{NER}/amazon", {"text": "x"})
    assert dropping.calls[-1]["status"] is None and dropping.charges == []
    failing = await serve(faults=V3Faults(server_error=1.0))
    assert (await failing.run(f"{NER}/amazon", {"text": "x"}))[0] == 500
    limited = await serve(faults=V3Faults(rate_limited=1.0))
    async with limited.session.post(
        limited.url("/v3/universal-ai"), json={"model": f"{NER}/amazon", "input": {"text": "x"}}, headers=AUTH
    ) as r:
        assert r.status == 429 and r.headers["Retry-After"] == "1"
    broke = await serve(credits=0.0)
    status, body = await broke.run(f"{NER}/amazon", {"text": "x"})
    assert status == 402 and body["error_code"] == "INSUFFICIENT_CREDIT"
    assert (await broke.post("/v3/embeddings", {"model": "openai/m", "input": ["a"]}))[0] == 402


# -- discovery ------------------------------------------------------------------------------------------------


def shared_spec() -> dict[str, Any] | None:
    root = Path(os.environ.get("EDENFRAME_SHARED_API", Path(__file__).resolve().parents[2] / "shared" / "eden-api"))
    path = root / "specs" / "edenai-v3-openapi.2026-06.json"
    return json.loads(path.read_text()) if path.is_file() else None


async def test_info_lists_v3_subfeatures_with_models_and_prices(serve: Any) -> None:
    srv = await serve(providers={"audio/text_to_speech": ["google", "newcomer"]})
    status, body = await srv.get("/v3/info", headers={})
    assert status == 200
    info = parse_v3_info(body)  # the provider check's (and the estimates') own parser reads it
    assert info is not None
    lists = {path: info.providers(path) for path in info.models}
    assert "audio/tts" in lists and "audio/text_to_speech" not in lists and "text/sentiment_analysis" not in lists
    assert lists["audio/tts"] == {"google", "newcomer", "synthetic", "local"}
    assert "ocr/financial_parser" in lists and "mindee" in lists["ocr/financial_parser"]
    subs = {f"{f['name']}/{s['name']}": s for f in body["features"] for s in f["subfeatures"]}
    assert subs["ocr/ocr_async"]["mode"] == "async" and subs[NER]["mode"] == "sync"
    priced = {m["model"]: m["pricing"] for m in subs["audio/tts"]["models"] if "pricing" in m}
    assert priced["audio/tts/google/wavenet"] == {
        "price": 4.0,
        "price_unit_quantity": 1000000,
        "price_unit_type": "char",
    }

    spec = shared_spec()
    if spec is not None:
        schemas = spec["components"]["schemas"]
        assert set(schemas["FeaturesListResponse"]["required"]) <= set(body)
        for feature in body["features"]:
            assert set(schemas["FeatureInfo"]["required"]) <= set(feature)
            for sub in feature["subfeatures"]:
                assert set(schemas["SubfeatureInfo"]["required"]) <= set(sub)

    status, detail = await srv.get("/v3/info/ocr/financial_parser", headers={})
    assert status == 200
    fields = {f["name"]: f for f in detail["input_schema"]["fields"]}
    assert fields["language"]["required"] and fields["file"]["type"] == "file_input"
    assert fields["document_type"]["enum"] == ["auto-detect", "invoice", "receipt"]
    if spec is not None:
        assert set(spec["components"]["schemas"]["SubfeatureDetailResponse"]["required"]) <= set(detail)
    assert (await srv.get("/v3/info/text", headers={}))[0] == 200
    assert (await srv.get("/v3/info/text/sentiment_analysis", headers={}))[0] == 404
    down = await serve(info_status=503)
    assert (await down.get("/v3/info", headers={}))[0] == 503


async def test_every_served_subfeature_answers_a_minimal_request(serve: Any) -> None:
    """Each documented subfeature, called with its required inputs only, answers an output of its fields."""
    from edenframe._v3_models import V3_SUBFEATURES

    srv = await serve()
    samples = {"file": "https://x.test/f.pdf", "file1": "https://x.test/a.png", "file2": "https://x.test/b.png"}
    samples |= {"collection_id": "c0ffee00-0000-4000-8000-000000000000", "language": "en", "target_language": "fr"}
    for sub in V3_SUBFEATURES.values():
        data = {f.name: samples.get(f.name, "some text") for f in sub.inputs if f.required}
        model = f"{sub.path}/synthetic"
        if sub.mode == "async":
            status, launched = await srv.post("/v3/universal-ai/async", {"model": model, "input": data})
            assert status == 202, (sub.path, launched)
            status, body = await srv.get(f"/v3/universal-ai/async/{launched['public_id']}")
        else:
            status, body = await srv.run(model, data)
        assert status == 200 and body["status"] == "success", (sub.path, body)
        assert body["output"], sub.path


async def test_the_answer_function_is_the_state_s(serve: Any) -> None:
    """`V3State.answer` decides what a provider gives; an exception in it is that provider's failure."""
    seen: list[tuple[str, str, dict[str, Any]]] = []

    async def answer(path: str, provider: str, data: dict[str, Any]) -> tuple[dict[str, Any], float]:
        seen.append((path, provider, data))
        if provider == "broken":
            raise RuntimeError("out of order")
        return {"items": [{"category": "canned", "importance": 1.0}]}, 0.25

    srv = await serve(answer=answer, providers={"text/topic_extraction": ["canned", "broken"]})
    _, body = await srv.run("text/topic_extraction/canned/v2", {"text": "x"})
    assert (body["output"], body["cost"], body["provider"]) == (
        {"items": [{"category": "canned", "importance": 1.0}]},
        0.25,
        "canned",
    )
    _, failed = await srv.run("text/topic_extraction/broken", {"text": "x"}, fallbacks=["canned"])
    assert (failed["status"], failed["provider"]) == ("success", "canned")
    _, failed = await srv.run("text/topic_extraction/broken", {"text": "x"})
    assert failed["status"] == "fail" and "out of order" in failed["error"]["message"]
    assert seen[0] == ("text/topic_extraction", "canned/v2", {"text": "x"})
    assert [c["cost"] for c in srv.charges] == [0.25, 0.25]
