"""Protocol tests of `edenframe.testing.EdenEmulator`: a plain aiohttp client against the server over loopback HTTP.

These test the emulator itself (the wire format of wire-format.md §1–§3), not edenframe's client.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest
from helpers import sample_value

from edenframe._catalog import Subfeature, all_subfeatures, get_subfeature
from edenframe._local import has_local
from edenframe._schema import Embedding, Enum, ListOf, Mapping, Scalar, Struct, Type
from edenframe.testing import EdenEmulator, expected_row, synthetic_output

SENTIMENT = "text/sentiment_analysis"
EMBEDDINGS = "text/embeddings"


# ---------------------------------------------------------------------------------------------------------------
# helpers


def headers(emu: EdenEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.api_key}"}


async def request(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any, dict[str, str]]:
    async with session.request(method, url, **kwargs) as response:
        text = await response.text()
        body = json.loads(text) if text else None
        return response.status, body, dict(response.headers)


async def wait_finished(session: aiohttp.ClientSession, url: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, page, _ = await request(session, "GET", url, params={"page": 1})
        assert status == 200, page
        if page["status"] == "finished":
            return page
        assert asyncio.get_running_loop().time() < deadline, "batch job never finished"
        await asyncio.sleep(0.01)


def conforms(t: Type, value: Any) -> bool:
    """Strict check of a value against a catalog type (exact struct keys, floats in range where it matters)."""
    if isinstance(t, Enum):
        return value in t.values
    if isinstance(t, Scalar):
        return {
            "string": isinstance(value, str),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
        }[t.kind]
    if isinstance(t, ListOf):
        return isinstance(value, list) and all(conforms(t.item, v) for v in value)
    if isinstance(t, Struct):
        return (
            isinstance(value, dict)
            and list(value) == list(t.names)
            and all(conforms(ft, value[name]) for name, ft in t.fields)
        )
    if isinstance(t, Mapping):
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    if isinstance(t, Embedding):
        return isinstance(value, list) and bool(value) and all(isinstance(v, float) for v in value)
    raise AssertionError(f"unknown type {t!r}")


def sample_body(entry: Subfeature, value: str, provider: str = "synthetic") -> dict[str, Any]:
    body: dict[str, Any] = {"providers": provider}
    if entry.input_kind == "texts":
        body[entry.input_field] = [value]
    elif entry.input_kind == "file":
        body[entry.input_field] = f"https://example.com/{value.replace(' ', '_')}.png"
    else:
        body[entry.input_field] = value
    for p in entry.params:
        if p.required:
            body[p.name] = sample_value(p.name, p.type)
    return body


@pytest.fixture
async def emu() -> Any:
    async with EdenEmulator() as server:
        yield server


@pytest.fixture
async def session(emu: EdenEmulator) -> Any:
    async with aiohttp.ClientSession(headers=headers(emu)) as client:
        yield client


# ---------------------------------------------------------------------------------------------------------------
# sync endpoint


async def test_sync_call_returns_provider_keyed_objects(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    body = {"providers": "google,amazon", "text": "I love this product", "language": "en"}
    status, data, resp_headers = await request(session, "POST", f"{emu.base_url}/{SENTIMENT}/", json=body)
    assert status == 200
    assert resp_headers["Content-Type"].startswith("application/json")
    assert list(data) == ["google", "amazon"]
    entry = get_subfeature(SENTIMENT)
    for provider, obj in data.items():
        assert obj["status"] == "success"
        assert isinstance(obj["cost"], float) and obj["cost"] > 0
        fields = {k: v for k, v in obj.items() if k not in ("status", "cost")}
        assert conforms(entry.output, fields)
        assert fields == synthetic_output(entry, provider, body)
    assert data["google"] != data["amazon"]  # different providers, different values
    # the trailing slash is optional, and providers may be a list
    status, again, _ = await request(
        session, "POST", f"{emu.base_url}/{SENTIMENT}", json={**body, "providers": ["google", "amazon"]}
    )
    assert status == 200 and again == data
    assert [c.status for c in emu.calls] == [200, 200]
    assert [c.job for c in emu.ledger] == ["sync"] * 4


async def test_provider_with_model_is_keyed_by_provider_name(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    body = {"providers": "openai/gpt-4o, google", "text": "hello"}
    status, data, _ = await request(session, "POST", f"{emu.base_url}/{SENTIMENT}/", json=body)
    assert status == 200
    assert list(data) == ["openai", "google"]
    assert emu.ledger[0].provider == "openai/gpt-4o"


@pytest.mark.extra("local")
async def test_local_provider_uses_offline_implementation(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    if not has_local(SENTIMENT):
        pytest.skip("no local sentiment implementation")
    body = {"providers": "local", "text": "I absolutely love this, it is wonderful."}
    status, data, _ = await request(session, "POST", f"{emu.base_url}/{SENTIMENT}/", json=body)
    assert status == 200, data
    assert data["local"]["status"] == "success" and data["local"]["cost"] == 0.0
    assert data["local"]["general_sentiment"] == "Positive"


@pytest.mark.parametrize("entry", [e for e in all_subfeatures() if not e.v3_only], ids=lambda e: e.path)
async def test_every_subfeature_answers_schema_valid(emu: EdenEmulator, entry: Subfeature) -> None:
    async with aiohttp.ClientSession(headers=headers(emu)) as client:
        body = sample_body(entry, "some input text")
        status, data, _ = await request(client, "POST", f"{emu.base_url}/{entry.path}/", json=body)
    assert status == 200, data
    fields = {k: v for k, v in data["synthetic"].items() if k not in ("status", "cost")}
    assert conforms(entry.output, fields), fields


# ---------------------------------------------------------------------------------------------------------------
# errors: auth, 404, 400


async def test_auth_missing_header_is_403_and_wrong_key_is_401(emu: EdenEmulator) -> None:
    urls = [
        ("POST", f"{emu.base_url}/{SENTIMENT}/"),
        ("GET", f"{emu.base_url}/{SENTIMENT}/batch/some-job/"),
        ("DELETE", f"{emu.base_url}/{SENTIMENT}/batch/some-job/"),
        ("GET", f"{emu.base_url}/batch/"),
        ("GET", f"{emu.base_url}/no/such/route"),
    ]
    body = {"providers": "google", "text": "x"}
    async with aiohttp.ClientSession() as client:
        for method, url in urls:
            status, data, _ = await request(client, method, url, json=body)
            assert status == 403
            assert isinstance(data["error"]["type"], str) and "Bearer" in data["error"]["message"]
            status, data, _ = await request(client, method, url, json=body, headers={"Authorization": "Token x"})
            assert status == 403
            status, data, _ = await request(
                client, method, url, json=body, headers={"Authorization": "Bearer wrong-key"}
            )
            assert status == 401
            assert set(data["error"]) == {"type", "message"} and isinstance(data["error"]["message"], str)
    assert emu.ledger == []


async def test_not_found_body(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    for method, url in [
        ("POST", f"{emu.base_url}/text/no_such_subfeature/"),
        ("POST", f"{emu.base_url}/text/no_such_subfeature/batch/job/"),
        ("GET", f"{emu.base_url}/{SENTIMENT}/batch/never-launched/"),
        ("DELETE", f"{emu.base_url}/{SENTIMENT}/batch/never-launched/"),
        ("GET", f"{emu.url}/v3/whatever"),
    ]:
        status, data, _ = await request(session, method, url, json={"providers": "google", "text": "x"})
        assert (status, data) == (404, {"details": "Not Found"}), (method, url)


async def test_a_wrong_method_is_a_json_405_after_the_key_check(emu: EdenEmulator) -> None:
    """The route tables answer 405 for a known path with the wrong method, in Eden AI's JSON, the API key checked
    first except on the public `/v3/info`; the random faults never touch a 405."""
    async with aiohttp.ClientSession(headers=headers(emu)) as client:
        for method, url in [
            ("GET", f"{emu.base_url}/{SENTIMENT}/"),
            ("PUT", f"{emu.base_url}/{SENTIMENT}"),
            ("PATCH", f"{emu.base_url}/{SENTIMENT}/batch/job/"),
            ("POST", f"{emu.base_url}/batch/"),
            ("POST", f"{emu.base_url}/info/provider_subfeatures/"),
        ]:
            status, data, _ = await request(client, method, url)
            assert (status, data) == (405, {"detail": f'Method "{method}" not allowed.'}), (method, url)
    async with aiohttp.ClientSession() as anonymous:
        status, _, _ = await request(anonymous, "GET", f"{emu.base_url}/{SENTIMENT}/")
        assert status == 403
        status, data, _ = await request(anonymous, "POST", f"{emu.url}/v3/info")
        assert (status, data) == (405, {"detail": "Method Not Allowed"})
    async with EdenEmulator(server_error=1.0) as broken, aiohttp.ClientSession(headers=headers(broken)) as client:
        status, _, _ = await request(client, "GET", f"{broken.base_url}/{SENTIMENT}/")
        assert status == 405
        status, _, _ = await request(client, "GET", f"{broken.base_url}/batch")
        assert status == 500
    assert [c.status for c in emu.calls] == [405] * 5 + [403, 405]


async def test_validation_errors_use_the_bad_request_shape(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    url = f"{emu.base_url}/{SENTIMENT}/"
    cases = [
        ({"text": "x"}, "providers"),  # missing required
        ({"providers": "google"}, "text"),  # missing input
        ({"providers": "google", "text": 42}, "text"),  # wrong type
        ({"providers": "google", "text": "x", "language": 3}, "language"),  # wrong param type
        ({"providers": "google", "text": "x", "colour": "red"}, "colour"),  # unknown param
        ({"providers": "nosuchprovider", "text": "x"}, "providers"),  # unknown provider
        ({"providers": "google", "text": "x", "show_original_response": "yes"}, "show_original_response"),
    ]
    for body, field in cases:
        status, data, _ = await request(session, "POST", url, json=body)
        assert status == 400, body
        assert data["error"]["type"] == "Invalid request"
        message = data["error"]["message"]
        assert isinstance(message, dict) and field in message, (body, message)
        assert all(isinstance(m, str) for m in message[field])
    # common options are allowed
    ok = {"providers": "google", "text": "x", "settings": {"google": "m"}, "show_original_response": True}
    status, data, _ = await request(session, "POST", url, json=ok)
    assert status == 200 and "original_response" in data["google"]
    # an enum violation, on whichever subfeature has an enum parameter
    entry, param = next((e, p) for e in all_subfeatures() for p in e.params if isinstance(p.type, Enum))
    body = {**sample_body(entry, "x"), param.name: "not-a-choice"}
    status, data, _ = await request(session, "POST", f"{emu.base_url}/{entry.path}/", json=body)
    assert status == 400 and param.name in data["error"]["message"]
    # 'local' on a subfeature without an offline implementation is an invalid provider
    remote_only = next(e for e in all_subfeatures() if not has_local(e.path))
    status, data, _ = await request(
        session, "POST", f"{emu.base_url}/{remote_only.path}/", json=sample_body(remote_only, "x", "local")
    )
    assert status == 400 and "providers" in data["error"]["message"]
    # not JSON at all
    status, data, _ = await request(session, "POST", url, data=b"{nope", headers={"Content-Type": "application/json"})
    assert status == 400 and "error" in data
    assert emu.ledger[-1].provider == "google" and len(emu.ledger) == 1


async def test_multipart_upload_on_a_file_subfeature(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    entry = next(e for e in all_subfeatures() if e.input_kind == "file" and not any(p.required for p in e.params))
    payload = b"\x89PNG fake image bytes"
    form = aiohttp.FormData()
    form.add_field("providers", "synthetic")
    form.add_field("show_original_response", "false")
    form.add_field("file", payload, filename="cat.png", content_type="image/png")
    status, data, _ = await request(session, "POST", f"{emu.base_url}/{entry.path}/", data=form)
    assert status == 200, data
    fields = {k: v for k, v in data["synthetic"].items() if k not in ("status", "cost")}
    assert fields == expected_row(entry.path, "synthetic", payload)
    assert emu.calls[-1].json["file"] == f"<{len(payload)} bytes>"


# ---------------------------------------------------------------------------------------------------------------
# batch


async def test_batch_launch_poll_paginate_delete() -> None:
    async with EdenEmulator(page_size=3, job_seconds=0.3) as emu:
        url = f"{emu.base_url}/{SENTIMENT}/batch/my-job/"
        texts = [f"review number {i}" for i in range(8)]
        items: list[Any] = [{"name": f"row-{i}", "text": t, "providers": "google,amazon"} for i, t in enumerate(texts)]
        items.insert(2, {"name": "bad-provider", "text": "x", "providers": "nosuchprovider"})
        items.append({"name": "blank", "text": "", "providers": "google"})
        items.append("not an object")
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            status, launch, _ = await request(client, "POST", url, json={"requests": items})
            assert status == 200, launch
            assert set(launch) == {"job_id", "nb_launched", "nb_failed", "total", "failed_requests"}
            assert launch["job_id"] == "my-job"
            assert (launch["nb_launched"], launch["nb_failed"], launch["total"]) == (8, 3, 11)
            failed = launch["failed_requests"]
            assert [f["name"] for f in failed] == ["bad-provider", "blank", None]
            for f in failed:
                assert set(f) == {"name", "public_id", "body", "errors"}
                assert isinstance(f["public_id"], int) and isinstance(f["errors"], dict)
            assert "providers" in failed[0]["errors"] and "text" in failed[1]["errors"]
            assert failed[0]["body"] == items[2]

            status, first, _ = await request(client, "GET", url)
            assert status == 200 and first["status"] == "processing"
            assert all(r["status"] == "processing" and r["response"] is None for r in first["requests"])

            page = await wait_finished(client, url)
            collected = []
            number = 1
            while True:
                assert page["current_page"] == number
                assert (page["total"], page["per_page"], page["last_page"]) == (8, 3, 3)
                assert page["From"] == (number - 1) * 3 + 1
                assert page["to"] == min(number * 3, 8)
                assert len(page["requests"]) == page["to"] - page["From"] + 1
                assert page["created"] <= page["updated"]
                if number == 1:
                    assert page["prev_page_url"] is None
                else:
                    assert page["prev_page_url"].startswith(emu.url) and f"page={number - 1}" in page["prev_page_url"]
                collected.extend(page["requests"])
                if page["next_page_url"] is None:
                    assert number == page["last_page"]
                    break
                assert page["next_page_url"].startswith(f"{emu.base_url}/{SENTIMENT}/batch/my-job/")
                async with client.get(page["next_page_url"]) as response:  # absolute URL of this server
                    assert response.status == 200
                    page = await response.json()
                number += 1

            assert [r["name"] for r in collected] == [f"row-{i}" for i in range(8)]  # launch order
            ids = [r["public_id"] for r in collected]
            assert ids == list(range(ids[0], ids[0] + 8))  # sequential
            for request_state, text in zip(collected, texts, strict=True):
                assert set(request_state) == {"public_id", "status", "name", "errors", "response"}
                assert request_state["status"] == "succeeded" and request_state["errors"] is None
                assert list(request_state["response"]) == ["google", "amazon"]
                google = request_state["response"]["google"]
                fields = {k: v for k, v in google.items() if k not in ("status", "cost")}
                assert fields == expected_row(SENTIMENT, "google", text)
            assert len(emu.ledger) == 16  # charged once per request and provider
            assert {c.job for c in emu.ledger} == {"my-job"}

            status, listing, _ = await request(client, "GET", f"{emu.base_url}/batch/")
            assert status == 200
            assert listing == [
                {
                    "name": "my-job",
                    "status": "finished",
                    "feature": "text",
                    "subfeature": "sentiment_analysis",
                    "total_requests": 8,
                    "nb_processing": 0,
                    "nb_succeeded": 8,
                    "nb_failed": 0,
                    "get_response_url": url,
                }
            ]

            status, data, _ = await request(client, "DELETE", url)
            assert (status, data) == (204, None)
            status, data, _ = await request(client, "GET", url)
            assert (status, data) == (404, {"details": "Not Found"})
            assert emu.jobs == {}
        # polling after the job finished never charged again
        assert len(emu.ledger) == 16


async def test_batch_filters_and_page_edges() -> None:
    async with EdenEmulator(page_size=2, request_fail_inputs={"explode"}) as emu:
        url = f"{emu.base_url}/{SENTIMENT}/batch/filters"
        items = [
            {"name": f"n{i}", "text": "explode" if i % 3 == 0 else f"t{i}", "providers": "google"} for i in range(6)
        ]
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            status, launch, _ = await request(client, "POST", url, json={"requests": items})
            assert status == 200 and launch["nb_launched"] == 6
            page = await wait_finished(client, url)
            assert page["status"] == "finished"

            status, failed, _ = await request(client, "GET", url, params={"status": "failed"})
            assert [r["name"] for r in failed["requests"]] == ["n0", "n3"]
            assert failed["total"] == 2
            for r in failed["requests"]:
                assert r["response"] is None and r["errors"]
            status, ok, _ = await request(client, "GET", url, params={"status": "succeeded", "page": 2})
            assert ok["total"] == 4 and ok["current_page"] == 2 and [r["name"] for r in ok["requests"]] == ["n4", "n5"]
            assert "status=succeeded" in ok["prev_page_url"] and ok["next_page_url"] is None

            status, by_name, _ = await request(client, "GET", url, params={"name": "n4"})
            assert [r["name"] for r in by_name["requests"]] == ["n4"]
            public_id = by_name["requests"][0]["public_id"]
            status, by_id, _ = await request(client, "GET", url, params={"public_id": public_id})
            assert [r["name"] for r in by_id["requests"]] == ["n4"]

            status, zero, _ = await request(client, "GET", url, params={"page": 0})
            assert zero["current_page"] == 1 and zero["From"] == 1
            status, beyond, _ = await request(client, "GET", url, params={"page": 9})
            assert status == 200 and beyond["requests"] == [] and beyond["next_page_url"] is None
            status, bad, _ = await request(client, "GET", url, params={"status": "weird"})
            assert status == 400 and "status" in bad["error"]["message"]
        assert len(emu.ledger) == 4  # failed requests are not charged


async def test_batch_request_limit(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    item = {"text": "hello", "providers": "synthetic"}
    url = f"{emu.base_url}/{SENTIMENT}/batch/"
    status, data, _ = await request(session, "POST", url + "too-big/", json={"requests": [item] * 501})
    assert status == 400
    assert "requests" in data["error"]["message"] and "500" in data["error"]["message"]["requests"][0]
    assert "too-big" not in emu.jobs
    status, data, _ = await request(session, "POST", url + "just-right/", json={"requests": [item] * 500})
    assert status == 200 and data["nb_launched"] == 500
    status, data, _ = await request(session, "POST", url + "empty/", json={"requests": []})
    assert status == 400
    status, data, _ = await request(session, "POST", url + "none/", json={"items": [item]})
    assert status == 400 and "requests" in data["error"]["message"]


async def test_running_jobs_limit_and_duplicate_names() -> None:
    async with EdenEmulator(job_seconds=0.3, max_running_jobs=2, retry_after=0.25) as emu:
        base = f"{emu.base_url}/{SENTIMENT}/batch"
        body = {"requests": [{"text": "hello", "providers": "synthetic"}]}
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            for name in ("a", "b"):
                status, _, _ = await request(client, "POST", f"{base}/{name}/", json=body)
                assert status == 200
            status, data, resp_headers = await request(client, "POST", f"{base}/a/", json=body)
            assert status == 400 and "already exists" in json.dumps(data)
            status, data, resp_headers = await request(client, "POST", f"{base}/c/", json=body)
            assert status == 429
            assert resp_headers["Retry-After"] == "0.25"
            assert data["error"]["code"] == 429 and "2 concurrent running" in data["error"]["message"]
            assert emu.running_jobs == 2
            # deleting a running job frees a slot at once
            status, _, _ = await request(client, "DELETE", f"{base}/b/")
            assert status == 204
            status, _, _ = await request(client, "POST", f"{base}/c/", json=body)
            assert status == 200
            await wait_finished(client, f"{base}/c/")
            await wait_finished(client, f"{base}/a/")
            status, _, _ = await request(client, "POST", f"{base}/d/", json=body)
            assert status == 200
        assert emu.max_running_seen == 2
        assert "b" not in emu.jobs and set(emu.jobs) == {"a", "c", "d"}


async def test_fault_inputs_at_every_layer() -> None:
    async with EdenEmulator(
        fail_inputs={"reject me"}, provider_fail_inputs={"provider fails"}, request_fail_inputs={"request fails"}
    ) as emu:
        url = f"{emu.base_url}/{SENTIMENT}/batch/faults/"
        texts = ["fine", "reject me", "provider fails", "request fails"]
        items = [{"name": t, "text": t, "providers": "google,amazon"} for t in texts]
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            status, launch, _ = await request(client, "POST", url, json={"requests": items})
            assert status == 200
            assert [f["name"] for f in launch["failed_requests"]] == ["reject me"]
            assert "text" in launch["failed_requests"][0]["errors"]
            await wait_finished(client, url)
            status, page, _ = await request(client, "GET", url)
            by_name = {r["name"]: r for r in page["requests"]}
            assert set(by_name) == {"fine", "provider fails", "request fails"}
            assert by_name["fine"]["status"] == "succeeded"
            provider_failed = by_name["provider fails"]
            assert provider_failed["status"] == "succeeded"
            for obj in provider_failed["response"].values():
                assert obj["status"] == "fail" and obj["cost"] == 0.0
                assert isinstance(obj["error"]["message"], str) and isinstance(obj["error"]["type"], str)
            assert by_name["request fails"]["status"] == "failed"
            assert by_name["request fails"]["errors"] and by_name["request fails"]["response"] is None

            sync = f"{emu.base_url}/{SENTIMENT}/"
            status, data, _ = await request(client, "POST", sync, json={"providers": "google", "text": "reject me"})
            assert status == 400 and "text" in data["error"]["message"]
            status, data, _ = await request(
                client, "POST", sync, json={"providers": "google", "text": "provider fails"}
            )
            assert status == 200 and data["google"]["status"] == "fail"
        assert [c.name for c in emu.ledger] == ["fine", "fine"]


# ---------------------------------------------------------------------------------------------------------------
# the synthetic provider


def test_synthetic_is_deterministic_and_schema_valid_for_every_subfeature() -> None:
    for entry in all_subfeatures():
        body = sample_body(entry, "The quick brown fox")
        first = synthetic_output(entry, "google", body)
        assert first == synthetic_output(entry, "google", dict(reversed(list(body.items()))))
        assert conforms(entry.output, first), entry.path
        assert first != synthetic_output(entry, "amazon", body), entry.path
        assert first != synthetic_output(entry, "google", sample_body(entry, "another text")), entry.path


def test_synthetic_is_stable_across_processes() -> None:
    script = (
        "import json;from edenframe.testing import expected_row;"
        "print(json.dumps(expected_row('text/sentiment_analysis','google','stable?',language='en')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == expected_row(SENTIMENT, "google", "stable?", language="en")


def test_strings_carry_the_input_and_params_change_the_result() -> None:
    translation = get_subfeature("translation/automatic_translation")
    fr = synthetic_output(translation, "deepl", {"text": "Good morning", "target_language": "fr"})
    de = synthetic_output(translation, "deepl", {"text": "Good morning", "target_language": "de"})
    assert fr["text"].endswith("Good morning") and fr != de
    # None and default values are the same as leaving a parameter out
    sentiment = get_subfeature(SENTIMENT)
    assert synthetic_output(sentiment, "google", {"text": "a", "language": None}) == synthetic_output(
        sentiment, "google", {"text": "a"}
    )


def test_packed_items_do_not_depend_on_position() -> None:
    embeddings = get_subfeature(EMBEDDINGS)
    one = synthetic_output(embeddings, "openai", {"texts": ["alpha", "beta", "gamma"]})
    other = synthetic_output(embeddings, "openai", {"texts": ["gamma", "delta", "alpha"]})
    assert one["items"][0] == other["items"][2] and one["items"][2] == other["items"][0]
    assert [len(i["embedding"]) for i in one["items"]] == [8, 8, 8]
    sized = synthetic_output(embeddings, "openai", {"texts": ["alpha"], "dimensions": 5})
    assert len(sized["items"][0]["embedding"]) == 5
    assert expected_row("embed", "openai", "alpha", dimensions=5) == sized["items"][0]

    search = get_subfeature("text/search")
    texts = ["red apple", "green pear", "blue sky", "yellow banana"]
    result = synthetic_output(search, "openai", {"texts": texts, "query": "fruit"})
    items = result["items"]
    assert sorted(i["document"] for i in items) == [0, 1, 2, 3]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert {i["object"] for i in items} == {"search_result"}
    shuffled = synthetic_output(search, "openai", {"texts": texts[::-1], "query": "fruit"})
    for item in items:
        text = texts[item["document"]]
        twin = next(i for i in shuffled["items"] if texts[::-1][i["document"]] == text)
        assert twin["score"] == item["score"]
        assert expected_row("search", "openai", text, query="fruit") == {"score": item["score"]}

    classify = get_subfeature("text/custom_classification")
    labels = ["spam", "not spam"]
    params = {"labels": labels, "examples": [["buy now", "spam"], ["hi mum", "not spam"]]}
    out = synthetic_output(classify, "cohere", {"texts": ["win money", "see you"], **params})
    assert [c["input"] for c in out["classifications"]] == ["win money", "see you"]
    assert all(c["label"] in labels and 0.0 <= c["confidence"] <= 1.0 for c in out["classifications"])
    row = expected_row("classify", "cohere", "see you", **params)
    assert row == {k: v for k, v in out["classifications"][1].items() if k != "input"}


async def test_packed_request_over_http_matches_expected_row(emu: EdenEmulator, session: aiohttp.ClientSession) -> None:
    url = f"{emu.base_url}/{EMBEDDINGS}/batch/pack/"
    items = [
        {"name": "a", "texts": ["one", "two", "three"], "providers": "openai"},
        {"name": "b", "texts": ["three", "one"], "providers": "openai"},
    ]
    status, _, _ = await request(session, "POST", url, json={"requests": items})
    assert status == 200
    page = await wait_finished(session, url)
    responses = {r["name"]: r["response"]["openai"]["items"] for r in page["requests"]}
    assert responses["a"][0] == responses["b"][1] == expected_row(EMBEDDINGS, "openai", "one")
    assert responses["a"][2] == responses["b"][0] == expected_row(EMBEDDINGS, "openai", "three")


def test_question_answer_expected_row_is_the_whole_output() -> None:
    entry = get_subfeature("text/question_answer")
    params = {"question": "Who?", "examples_context": "ctx", "examples": [["q", "a"]]}
    whole = synthetic_output(entry, "openai", {"texts": ["Some context"], **params})
    assert expected_row("answer", "openai", "Some context", **params) == whole


# ---------------------------------------------------------------------------------------------------------------
# response-shape switches, faults, lifecycle


async def test_shape_switches() -> None:
    async with EdenEmulator(omit_status=True, add_eden_ai=True, extra_keys=True) as emu:
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            body = {"providers": "google", "text": "hello"}
            status, data, _ = await request(client, "POST", f"{emu.base_url}/{SENTIMENT}/", json=body)
            assert status == 200
            assert list(data) == ["google", "eden-ai"]
            assert "status" not in data["google"]
            assert {"usage", "original_response", "cost"} <= set(data["google"])
            assert data["eden-ai"]["status"] == "success"
            status, listed, _ = await request(
                client, "POST", f"{emu.base_url}/{SENTIMENT}/", json={**body, "response_as_dict": False}
            )
            assert [o["provider"] for o in listed] == ["google", "eden-ai"]
        assert [c.provider for c in emu.ledger] == ["google", "google"]  # eden-ai is never charged


async def _statuses(emu: EdenEmulator, count: int) -> list[tuple[int, str | None, Any]]:
    out = []
    async with aiohttp.ClientSession(headers=headers(emu)) as client:
        for _ in range(count):
            status, data, resp_headers = await request(
                client, "POST", f"{emu.base_url}/{SENTIMENT}/", json={"providers": "google", "text": "x"}
            )
            out.append((status, resp_headers.get("Retry-After"), data))
    return out


async def test_seeded_rate_limit_is_reproducible() -> None:
    async with EdenEmulator(rate_limit=0.5, seed=11) as emu:
        first = await _statuses(emu, 30)
    async with EdenEmulator(rate_limit=0.5, seed=11) as emu:
        second = await _statuses(emu, 30)
    codes = [s for s, _, _ in first]
    assert codes == [s for s, _, _ in second]
    assert 429 in codes and 200 in codes
    for status, retry_after, data in first:
        if status == 429:
            assert retry_after == "0.05"
            assert data == {"error": {"code": 429, "message": data["error"]["message"]}}


async def test_server_errors_and_dropped_connections() -> None:
    async with EdenEmulator(server_error=1.0) as emu:
        [(status, _, data)] = await _statuses(emu, 1)
        assert status == 500 and set(data["error"]) == {"type", "message"}
        assert emu.ledger == []
    async with EdenEmulator(drop_connection=1.0) as emu:
        async with aiohttp.ClientSession(headers=headers(emu)) as client:
            with pytest.raises(aiohttp.ClientConnectionError):
                await request(client, "POST", f"{emu.base_url}/{SENTIMENT}/", json={"providers": "google", "text": "x"})
        assert emu.calls[0].status is None and emu.calls[0].json == {"providers": "google", "text": "x"}


async def test_latency_is_added() -> None:
    async with EdenEmulator(latency=0.2) as emu:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _statuses(emu, 1)
        assert loop.time() - started >= 0.2


async def test_sync_context_manager_inside_a_running_loop() -> None:
    with EdenEmulator() as emu:
        assert emu.running
        [(status, _, data)] = await _statuses(emu, 1)  # served by the emulator's own thread
        assert status == 200 and "google" in data
        assert len(emu.calls) == 1
    assert not emu.running


def test_sync_context_manager_from_plain_code() -> None:
    with EdenEmulator(api_key="k-123") as emu:
        assert emu.base_url.startswith("http://127.0.0.1:") and emu.base_url.endswith("/v2")
        req = urllib.request.Request(
            f"{emu.base_url}/{SENTIMENT}",
            data=json.dumps({"providers": "synthetic", "text": "hi"}).encode(),
            headers={"Authorization": "Bearer k-123", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as response:
            assert response.status == 200
            assert "synthetic" in json.loads(response.read())
        bad = urllib.request.Request(f"{emu.base_url}/batch/", headers={"Authorization": "Bearer nope"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=5)
        with info.value:  # closes the error's response
            assert info.value.code == 401
        assert [c.method for c in emu.calls] == ["POST", "GET"]
        emu.reset()
        assert emu.calls == [] and emu.ledger == []


def test_repr_never_shows_the_api_key() -> None:
    secret = "sk-very-secret-value"
    emu = EdenEmulator(api_key=secret)
    assert secret not in repr(emu) and secret not in str(emu)
    with emu:
        assert secret not in repr(emu)
        assert emu.url in repr(emu)
    assert emu.api_key == secret
