"""v3's own subfeatures through the public API against the emulator's /v3 URL: speech to text, OCR (async and
tables), AI-text and plagiarism detection, AI-image and deepfake detection, background removal.

Each method gives its typed columns with the synthetic provider's values on the right rows, sends each distinct
input once and skips missing ones; file columns take URLs, paths and bytes (uploaded once per content); async
subfeatures are journaled so a rerun after a crash re-attaches to the jobs already launched; a v2 base URL and bad
parameters are refused before any request.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pandas as pd
import pytest

import edenframe
from edenframe import Subfeature
from edenframe._v3_models import V3_SUBFEATURES
from edenframe.testing import EdenEmulator, expected_row
from edenframe.testing._media_route import loopback_links

V3_ONLY = [e for e in edenframe.all_subfeatures() if e.v3_only]
METHODS = {
    "audio/speech_to_text_async": "speech_to_text",
    "ocr/ocr_async": "ocr_async",
    "ocr/ocr_tables_async": "ocr_tables",
    "text/ai_detection": "detect_ai_text",
    "text/plagia_detection": "detect_plagiarism",
    "image/ai_detection": "detect_ai_image",
    "image/background_removal": "remove_background",
    "image/deepfake_detection": "detect_deepfake",
}
ASYNC = [e for e in V3_ONLY if V3_SUBFEATURES[e.path].mode == "async"]
FILES = [e for e in V3_ONLY if e.input_kind == "file"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@pytest.fixture
def emu(make_emulator: Callable[..., EdenEmulator]) -> Iterator[EdenEmulator]:
    """An emulator, with edenframe pointed at its v3 URL (quick polls and retries)."""
    emulator = make_emulator(connect=False)
    edenframe.configure(
        api_key=emulator.api_key, base_url=emulator.base_url_v3, poll_interval=0.01, backoff_base=0.01, progress=False
    )
    yield emulator


def posts(emu: EdenEmulator, path: str) -> list[Any]:
    return [c for c in emu.calls if c.method == "POST" and c.path == path]


def launches(emu: EdenEmulator) -> list[Any]:
    return posts(emu, "/v3/universal-ai/async")


def work(emu: EdenEmulator) -> list[Any]:
    """Calls that did or fetched work: all but reads of the public info endpoint."""
    return [c for c in emu.calls if not (c.method == "GET" and "/info" in c.path)]


def test_the_methods_and_their_catalog_entries() -> None:
    assert {e.path: e.method for e in V3_ONLY} == METHODS
    for entry in V3_ONLY:
        sub = V3_SUBFEATURES[entry.path]
        # derived from the v3 record: the first required input is the row's value, the others are parameters
        assert entry.input_field == sub.inputs[0].name and entry.output == sub.output and entry.summary == sub.summary
        assert [(p.name, p.type, p.required) for p in entry.params] == [
            (f.name, f.type, f.required) for f in sub.inputs[1:]
        ]
        assert entry.providers and entry.notes in (getattr(pd.DataFrame.eden, entry.method).__doc__ or "")
    assert edenframe.get_subfeature("remove_background").media == edenframe._catalog.Media(
        payload="image_b64", url="image_resource_url", kind="image"
    )


def _inputs(entry: Subfeature) -> list[Any]:
    """Two distinct values, a duplicate and a missing one."""
    if entry.input_kind == "file":
        return ["https://files.test/one.pdf", None, "https://files.test/two.pdf", "https://files.test/one.pdf"]
    return ["Was this written by a model?", None, "To be or not to be", "Was this written by a model?"]


@pytest.mark.parametrize("entry", V3_ONLY, ids=lambda e: e.method)
def test_each_method_gives_its_typed_columns_on_the_right_rows(emu: EdenEmulator, entry: Subfeature) -> None:
    values = _inputs(entry)
    df = pd.DataFrame({"x": values}, index=pd.Index([30, 10, 20, 30], name="row"))  # a duplicated label too
    provider = entry.providers[0]
    out = getattr(df.eden, entry.method)("x", providers=provider)

    assert out.index.equals(df.index) and list(out.columns[:1]) == ["x"]
    assert list(out.columns[1:]) == [
        *(f"{entry.method}_{field}" for field in entry.row_output.names),
        f"{entry.method}_cost",
        f"{entry.method}_error",
    ]
    for field, t in entry.row_output.fields:
        assert out[f"{entry.method}_{field}"].dtype == t.dtype(), field
    assert out[f"{entry.method}_cost"].dtype == "float64" and out[f"{entry.method}_error"].dtype == "string"
    assert out[f"{entry.method}_error"].isna().all()
    for position, value in enumerate(values):
        row = out.iloc[position]
        if value is None:
            assert all(pd.isna(row[f"{entry.method}_{field}"]) for field in entry.row_output.names)
            continue
        want = loopback_links(expected_row(entry.path, provider, value), emu.url)  # links served by the emulator
        for field in entry.row_output.names:
            got = row[f"{entry.method}_{field}"]
            if isinstance(want[field], float):
                assert got == pytest.approx(want[field]), field
            elif isinstance(want[field], (str, int)):
                assert got == want[field], field
            else:  # lists and structs: the Arrow scalar as Python
                assert got == want[field], field
    report = out.attrs["edenframe"]
    assert (report["sent"], report["deduplicated"], report["skipped"], report["failed"]) == (2, 1, 1, 0)
    endpoint = "/v3/universal-ai/async" if entry in ASYNC else "/v3/universal-ai"
    sent = posts(emu, endpoint)
    assert len(sent) == 2  # one request per distinct input
    assert {c.json["model"] for c in sent} == {f"{entry.path}/{provider}"}
    assert {c.json["input"][entry.input_field] for c in sent} == {v for v in values if v is not None}


def test_scores_are_float64_and_predictions_categories(emu: EdenEmulator) -> None:
    urls = pd.DataFrame({"image": [f"https://files.test/photo-{i}.jpg" for i in range(12)]})
    ai = urls.eden.detect_ai_image("image", providers="winstonai")
    fake = urls.eden.detect_deepfake("image", providers="sightengine")
    assert ai["detect_ai_image_ai_score"].dtype == "float64"
    assert list(ai["detect_ai_image_prediction"].cat.categories) == ["ai-generated", "original"]
    assert list(fake["detect_deepfake_prediction"].cat.categories) == ["deepfake", "original"]
    assert ai["detect_ai_image_prediction"].notna().all() and fake["detect_deepfake_deepfake_score"].between(0, 1).all()


def test_nested_outputs_are_arrow_columns_that_explode_and_round_trip(emu: EdenEmulator, tmp_path: Path) -> None:
    docs = pd.DataFrame({"doc": ["https://files.test/report.pdf", "https://files.test/annex.pdf"]})
    tables = docs.eden.ocr_tables("doc", providers="amazon")
    long = tables.eden.explode("ocr_tables_pages")
    assert len(long) >= 1 and "tables" in "".join(long.columns)
    speech = pd.DataFrame({"audio": ["https://files.test/call.mp3"]}).eden.speech_to_text("audio", providers="openai")
    diarization = speech["speech_to_text_diarization"].iloc[0]
    assert set(diarization) == {"total_speakers", "entries", "error_message"}
    edenframe.write_table(tables, tmp_path / "tables.parquet")
    back = edenframe.read_parquet(tmp_path / "tables.parquet")
    assert back["ocr_tables_pages"].dtype == tables["ocr_tables_pages"].dtype
    assert back["ocr_tables_pages"].tolist() == tables["ocr_tables_pages"].tolist()


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.method)
def test_files_as_urls_paths_and_bytes_are_uploaded_once_per_content(
    emu: EdenEmulator, entry: Subfeature, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    first.write_bytes(PNG)
    second.write_bytes(PNG[::-1])
    url = "https://files.test/remote.png"
    values = [url, str(first), first.read_bytes(), first, second.read_bytes(), str(first), None]
    out = getattr(pd.DataFrame({"f": values}).eden, entry.method)("f", providers=entry.providers[0])
    assert out[f"{entry.method}_error"].isna().all()
    uploads = posts(emu, "/v3/upload")
    assert len(uploads) == 2  # two distinct contents (the URL goes as it is)
    endpoint = "/v3/universal-ai/async" if entry in ASYNC else "/v3/universal-ai"
    files = [c.json["input"]["file"] for c in posts(emu, endpoint)]
    assert url in files and len({f for f in files if f != url}) == 2  # every local content by its file_id
    # the same content gives the same result, whichever form it came in
    field = entry.row_output.names[0]
    column = out[f"{entry.method}_{field}"]
    assert column.iloc[1] == column.iloc[2] == column.iloc[3] == column.iloc[5]
    assert column.iloc[1] == expected_row(entry.path, entry.providers[0], PNG)[field]


def test_background_removal_saves_the_images(emu: EdenEmulator, tmp_path: Path) -> None:
    df = pd.DataFrame({"photo": ["https://files.test/cat.jpg", None, "https://files.test/dog.jpg"]}, index=list("abc"))
    out = df.eden.remove_background("photo", providers="photoroom", save_to=tmp_path / "cutouts")
    paths = out["remove_background_path"]
    assert paths.dtype == "string" and pd.isna(paths["b"])
    for label in "ac":
        saved = Path(paths[label])
        assert saved.parent == tmp_path / "cutouts" / "remove_background_photoroom" and saved.suffix == ".png"
        assert saved.read_bytes() == base64.b64decode(out.loc[label, "remove_background_image_b64"])
        assert saved.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("entry", ASYNC, ids=lambda e: e.method)
def test_async_jobs_are_collected_and_deleted(emu: EdenEmulator, entry: Subfeature) -> None:
    df = pd.DataFrame({"f": ["https://files.test/long-1.pdf", "https://files.test/long-2.pdf"]})
    out = getattr(df.eden, entry.method)("f", providers=entry.providers[0])
    assert out[f"{entry.method}_error"].isna().all()
    deleted = [c for c in emu.calls if c.method == "DELETE" and c.path.startswith("/v3/universal-ai/async/")]
    assert len(launches(emu)) == 2 and len(deleted) == 2


async def test_a_rerun_after_a_crash_reattaches_to_the_async_jobs(
    make_emulator: Callable[..., EdenEmulator], tmp_path: Path
) -> None:
    """The run is cancelled once every job was launched and polled (so journaled); the rerun on the same cache
    collects those jobs: no launch twice, nothing charged twice."""
    emu = make_emulator(connect=False, job_seconds=0.8)
    edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, poll_interval=0.02, progress=False)
    cache = str(tmp_path / "cache.sqlite")
    audio = pd.DataFrame({"audio": [f"https://files.test/meeting-{i}.mp3" for i in range(3)] + [None]})
    task = asyncio.ensure_future(
        audio.eden.arun("speech_to_text", "audio", providers="deepgram/nova-3", language="en", cache=cache)
    )
    deadline = time.monotonic() + 30
    while True:  # the public_id is journaled before its first poll: wait until every job was polled
        polled = {c.path for c in emu.calls if c.method == "GET" and c.path.startswith("/v3/universal-ai/async/")}
        if len(polled) == 3:
            break
        assert time.monotonic() < deadline, "the run never polled its three jobs"
        await asyncio.sleep(0.01)
    task.cancel()  # the crash: three jobs launched, none collected
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(launches(emu)) == 3 and emu.ledger == []

    out = await audio.eden.arun("speech_to_text", "audio", providers="deepgram/nova-3", language="en", cache=cache)
    assert len(launches(emu)) == 3  # zero duplicate launches
    assert out["speech_to_text_async_error"].isna().all() and out["speech_to_text_async_text"].notna().sum() == 3
    assert out.attrs["edenframe"]["reattached"] == 3
    assert len(emu.ledger) == 3  # each job charged once
    again = audio.eden.speech_to_text("audio", providers="deepgram/nova-3", language="en", cache=cache)
    assert again.attrs["edenframe"]["cached"] == 3 and len(launches(emu)) == 3


@pytest.mark.parametrize("entry", V3_ONLY, ids=lambda e: e.method)
def test_refused_on_a_v2_base_url_before_any_request(
    make_emulator: Callable[..., EdenEmulator], entry: Subfeature
) -> None:
    emu = make_emulator()  # connected to its v2 URL
    df = pd.DataFrame({"x": _inputs(entry)})
    with pytest.raises(edenframe.ValidationError) as refused:
        getattr(df.eden, entry.method)("x", providers=entry.providers[0])
    assert str(refused.value) == (
        f"{entry.method}() is new in Eden AI's v3 API: use a base URL ending /v3 "
        "(edenframe.configure(base_url='https://api.edenai.run/v3'))"
    )
    with pytest.raises(edenframe.ValidationError, match="new in Eden AI's v3 API"):
        df.eden.run(entry.path, "x", providers=entry.providers[0], dry_run=True)
    assert emu.calls == []


@pytest.mark.parametrize(
    ("method", "options", "words"),
    [
        ("speech_to_text", {"speakers": "two"}, ["speakers"]),
        ("speech_to_text", {"vocabulary": "hello"}, ["vocabulary"]),
        ("speech_to_text", {"language": "English"}, ["language", "did you mean 'en'"]),
        ("detect_plagiarism", {"title": 3}, ["title"]),
        ("detect_ai_text", {"language": "en"}, ["language"]),
        ("ocr_async", {"file_password": "x"}, ["file_password"]),
        ("remove_background", {"providers": "local"}, ["local"]),
        ("detect_ai_text", {"providers": None}, ["providers="]),
    ],
)
def test_bad_parameters_are_refused_before_any_request(
    emu: EdenEmulator, method: str, options: dict[str, Any], words: list[str]
) -> None:
    entry = edenframe.get_subfeature(method)
    df = pd.DataFrame({"x": _inputs(entry)})
    options = {"providers": entry.providers[0], **options}
    with pytest.raises(edenframe.ValidationError) as refused:
        getattr(df.eden, method)("x", **options)
    assert all(w in str(refused.value) for w in words), str(refused.value)
    assert work(emu) == []


# -- the emulator validates these requests like Eden AI ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"model": "text/ai_detection/sapling", "input": {"text": "x", "language": "en"}},
            ["body", "input", "language"],
        ),
        ({"model": "text/plagia_detection/winstonai", "input": {"title": "t"}}, ["body", "input", "text"]),
        (
            {"model": "image/ai_detection/resemble", "input": {"file_url": "https://f.test/a.png"}},
            ["body", "input", "file"],
        ),
        ({"model": "image/deepfake_detection/resemble", "input": {"file": "not a url"}}, ["body", "input", "file"]),
    ],
)
async def test_the_emulator_answers_422_to_bad_inputs(emu: EdenEmulator, body: dict[str, Any], loc: list[str]) -> None:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emu.base_url_v3}/universal-ai", json=body, headers=headers) as response:
            status, answer = response.status, await response.json()
        assert status == 422 and loc in [d["loc"] for d in answer["detail"]], answer
        job = {"model": "audio/speech_to_text_async/openai", "input": {"file": "https://f.test/a.mp3", "speakers": "2"}}
        async with session.post(f"{emu.base_url_v3}/universal-ai/async", json=job, headers=headers) as response:
            status, answer = response.status, await response.json()
        assert status == 422 and ["body", "input", "speakers"] in [d["loc"] for d in answer["detail"]], answer
