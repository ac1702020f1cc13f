"""Eden AI v3 under faults, through the public API where it reaches (sync subfeatures, uploads), else through the
v3 transport (async subfeatures: no catalog method reaches `ocr/ocr_async` yet): every row ends correct (the
emulator's oracle) or with its error message, no value lands on another row, nothing is charged twice, and a run
killed mid-way (SIGKILL of a child process) and run again resends no completed call (on v3, and on v2's sync
endpoint, which hands answers over the same way) and launches no async job twice.

Already covered elsewhere and not repeated here: each fault alone on the transport (tests/test_v3_transport.py:
429 with/without/alternating Retry-After, 5xx and drops, uploads once per content, a cancelled run re-attaching to
its journaled jobs, a job held by a live run), a client budget far too high through the public API
(tests/test_v3_rate_budget_api.py), alignment of random frames on both APIs (tests/test_alignment.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_v3_transport import DOCS, OCR_ASYNC, Run, polled, settings_for, v3  # noqa: F401  (v3: the fixture)

import edenframe
from edenframe._cache import ResultCache
from edenframe._transport import Wiring
from edenframe._transport.http import open_session
from edenframe._transport.v3_universal import V3Transport
from edenframe.testing import EdenEmulator, assert_rows_match
from edenframe.testing._v3 import AccountRateLimit, V3Faults

ROOT = Path(__file__).resolve().parents[1]
NER = "text/named_entity_recognition"
FAILED = "this review makes every provider fail"  # answered 200 with status "fail" by every provider
QUICK = {"backoff_base": 0.01, "backoff_max": 0.05, "poll_interval": 0.01, "retry_deadline": 60.0}


def universal_posts(emu: EdenEmulator, path: str = "/v3/universal-ai") -> list[Any]:
    return [c for c in emu.calls if c.method == "POST" and c.path == path]


def answered_texts(emu: EdenEmulator) -> Counter[tuple[str, str]]:
    """(input text, model) of every sync request Eden answered 200: each is a charge."""
    return Counter((c.json["input"]["text"], c.json["model"]) for c in universal_posts(emu) if c.status == 200)


def soak_frame() -> pd.DataFrame:
    texts = [f"review {i} of the hotel in Lisbon" for i in range(40)]
    values: list[Any] = [*texts, *texts[:10], None, "   ", FAILED, FAILED]  # duplicates, NA, blank, failures
    index = [f"r{(i * 7) % len(values)}" for i in range(len(values))]  # shuffled string labels
    index[3] = index[4]  # and a duplicated label
    return pd.DataFrame({"x": pd.Series(values, dtype=object), "n": range(len(values))}).set_axis(index)


@pytest.mark.filterwarnings("ignore::edenframe.RowErrorWarning")
def test_sync_soak_every_row_correct_or_explained_and_charged_once(make_emulator: Any) -> None:
    # the account's limit (429s with and without Retry-After), random 5xx, drops and 429s, failed answers, two
    # providers one of which fails every request it gets
    emu = make_emulator(
        account_rate_limit=AccountRateLimit(rate=150.0, burst=5, retry_after="alternate"),
        server_error=0.1,
        drop_connection=0.05,
        rate_limit=0.03,  # (each such 429 pauses the process for its Retry-After: 1 s, or a backoff)
        provider_fail_inputs=[FAILED],
        failing_providers=["microsoft"],
        seed=11,
        connect=False,
    )
    edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, rate_limit=300.0, progress=False, **QUICK)
    frame = soak_frame()
    out = frame.eden.ner("x", providers="amazon,microsoft")

    pd.testing.assert_frame_equal(out[["x", "n"]], frame)
    failed = frame["x"].eq(FAILED).to_numpy()
    sendable = frame["x"].notna().to_numpy() & frame["x"].fillna("").str.strip().ne("").to_numpy()
    good = sendable & ~failed
    # amazon: every row its own value, or its failure message
    assert_rows_match(out[~failed], frame[~failed], "x", NER, providers="amazon", prefix="ner_amazon")
    assert out.loc[failed, "ner_amazon_error"].str.startswith("amazon: ").all()
    assert out.loc[failed, "ner_amazon_error"].str.contains("Provider has returned an Error").all()
    assert out.loc[failed, "ner_amazon_items"].isna().all()
    # microsoft failed every request: every sendable row says so, none holds a value
    assert out.loc[sendable, "ner_microsoft_error"].str.startswith("microsoft: ").all()
    assert out["ner_microsoft_items"].isna().all()
    assert out.loc[~sendable, "ner_microsoft_error"].isna().all()

    # the faults did happen, and nothing answered was sent again: one charge per distinct good input
    statuses = Counter(c.status for c in universal_posts(emu))
    assert statuses[500] and statuses[429], statuses  # (a dropped connection is recorded as a 500)
    distinct = set(frame.loc[good, "x"])
    assert answered_texts(emu) == Counter(
        {(t, f"{NER}/amazon"): 1 for t in distinct | {FAILED}}
        | {(t, f"{NER}/microsoft"): 1 for t in distinct | {FAILED}}
    )
    assert sorted(c.provider for c in emu.ledger) == ["amazon"] * len(distinct)
    assert out["ner_amazon_cost"].sum() == pytest.approx(emu.total_cost)


def test_uploads_under_faults_go_once_per_content_and_every_row_gets_its_own_answer(
    make_emulator: Any, tmp_path: Path
) -> None:
    emu = make_emulator(server_error=0.15, drop_connection=0.1, rate_limit=0.05, seed=5, connect=False)
    edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, rate_limit=300.0, progress=False, **QUICK)
    pictures = []
    for i in range(6):
        path = tmp_path / f"picture-{i}.png"
        path.write_bytes(b"\x89PNG picture %d" % (i % 4))  # 4 distinct contents under 6 names
        pictures.append(str(path))
    values = [*pictures, b"\x89PNG picture 1", None, "https://files.test/dog.png", pictures[0]]
    frame = pd.DataFrame({"image": pd.Series(values, dtype=object)}).set_axis(list(range(20, 20 + len(values)))[::-1])
    out = frame.eden.detect_objects("image", providers="amazon,google")

    assert out.index.equals(frame.index) and out.attrs["edenframe"]["skipped"] == 1
    for provider in ("amazon", "google"):
        errors = out[f"detect_objects_{provider}_error"]
        assert errors.isna().all(), errors.dropna().tolist()
        assert out[f"detect_objects_{provider}_items"].notna().sum() == len(values) - 1
    uploads = [c for c in emu.calls if c.path == "/v3/upload"]
    assert [c.status for c in uploads].count(200) == 4  # once per distinct content, retried through the faults
    # the same content gives the same answer on every row; different contents differ
    items = out["detect_objects_amazon_items"].map(repr)
    by_content = {}
    for value, item in zip(frame["image"], items, strict=True):
        if value is None:
            assert item == "None" or item == repr(pd.NA) or item == "nan"
            continue
        content = Path(value).read_bytes() if isinstance(value, str) and not value.startswith("http") else value
        by_content.setdefault(content, set()).add(item)
    assert all(len(answers) == 1 for answers in by_content.values())
    assert len({next(iter(a)) for a in by_content.values()}) == len(by_content)
    files = [c.json["input"]["file"] for c in universal_posts(emu) if c.status == 200]
    # one charged answer per (distinct value, provider): rows are deduplicated by value, so two paths to the
    # same content are two requests (sharing one upload)
    distinct = len(set(frame["image"].dropna()))
    assert len(files) == 2 * distinct and len(emu.ledger) == 2 * distinct


async def test_async_soak_every_job_launched_once_collected_and_deleted(v3: Any) -> None:  # noqa: F811
    server = await v3(
        job_seconds=0.05,
        provider_fail_inputs=[DOCS[1]],
        faults=V3Faults(server_error=0.15, drop_connection=0.1, rate_limited=0.1, seed=2),
        limiter=AccountRateLimit(rate=300.0, burst=3, retry_after="alternate"),
    )
    docs = [*DOCS, *(f"https://files.test/long-{i}.pdf" for i in range(3, 12)), DOCS[0]]
    run, transport = await send_async(server, docs)
    errors = run.errors()
    assert errors[1].startswith("amazon: ") and "Provider has returned an Error" in errors[1]
    assert [e is None for i, e in enumerate(errors) if i != 1] == [True] * (len(docs) - 1)
    launches = [c for c in server.posts("/v3/universal-ai/async") if c["status"] == 202]
    assert Counter(c["json"]["input"]["file"] for c in launches) == Counter(set(docs))  # zero duplicate launches
    assert len(server.charges) == len(set(docs)) - 1 and server.state.jobs == {}
    assert transport.stats.jobs_launched == len(set(docs))


async def send_async(server: Any, docs: list[str], journal: ResultCache | None = None) -> tuple[Run, V3Transport]:
    run = Run(OCR_ASYNC, docs, {}, ("amazon",))
    settings = settings_for(server.base_url)
    async with open_session(settings) as session:
        transport = V3Transport(Wiring(settings, session, journal=journal))
        await run.send(transport)
    return run, transport


# -- killed and run again -------------------------------------------------------------------------------------------

_CHILD_SYNC = """
import json, sys
import pandas as pd
import edenframe
base_url, key, rows, options = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
edenframe.configure(api_key=key, base_url=base_url, rate_limit=50.0, progress=False, backoff_base=0.01)
frame = pd.DataFrame({"x": [f"crash row {i} about Lisbon" for i in range(rows)]})
frame.eden.ner("x", providers="amazon", **options)
"""

_CHILD_ASYNC = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_v3_soak import send_async
from edenframe._cache import ResultCache

class Server:
    base_url = sys.argv[1]

asyncio.run(send_async(Server(), sys.argv[2].split(","), ResultCache(Path(sys.argv[4]))))
"""


def child(code: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)  # no cleanup of any kind: a crash, a lost machine
    assert process.wait(timeout=10) == -signal.SIGKILL


def sync_answers(emu: EdenEmulator, api: str) -> list[str]:
    """The input texts of the sync requests Eden answered 200 on `api`, in order (each one a charge)."""
    if api == "v3":
        return [c.json["input"]["text"] for c in universal_posts(emu) if c.status == 200]
    return [c.json["text"] for c in emu.calls if c.path == f"/v2/{NER}/" and c.status == 200]


def sync_sent(emu: EdenEmulator, api: str) -> list[str]:
    if api == "v3":
        return [c.json["input"]["text"] for c in universal_posts(emu)]
    return [c.json["text"] for c in emu.calls if c.path == f"/v2/{NER}/"]


STALL = 3.0  # seconds the emulator holds every request once the killed run has had its first answers


# v3, and v2's sync endpoint, which hands answers over the same way (`_transport.base.Handover`)
@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_killed_run_never_resends_a_sync_call_it_completed(make_emulator: Any, api: str) -> None:
    emu = make_emulator(connect=False)
    rows = 40
    base_url, options = (emu.base_url_v3, {}) if api == "v3" else (emu.base_url, {"transport": "sync"})
    process = child(_CHILD_SYNC, base_url, emu.api_key, str(rows), json.dumps(options))
    try:
        deadline = time.monotonic() + 20
        while len(sync_answers(emu, api)) < 8:
            assert process.poll() is None and time.monotonic() < deadline, "the child run ended or never started"
            time.sleep(0.005)
        emu.latency = STALL  # Eden stalls: the requests still to come hang, the answers already in are complete
        stalled = time.monotonic()
        answered = len(sync_answers(emu, api))
        while True:  # wait for a second without a new answer, then kill
            time.sleep(1.0)
            if len(sync_answers(emu, api)) == answered:
                break
            answered = len(sync_answers(emu, api))
        kill(process)
    finally:
        if process.poll() is None:
            process.kill()
    first = set(sync_answers(emu, api))  # what the killed run received
    assert 8 <= len(first) < rows
    emu.latency = 0.0
    # the requests that hung answer a client that is gone (so the emulator stops with no handler pending)
    time.sleep(max(0.0, stalled + STALL + 1.0 - time.monotonic()))
    sent_before = len(sync_sent(emu, api))

    edenframe.configure(api_key=emu.api_key, base_url=base_url, rate_limit=500.0, progress=False, **QUICK)
    frame = pd.DataFrame({"x": [f"crash row {i} about Lisbon" for i in range(rows)]})
    out = frame.eden.ner("x", providers="amazon", **options)
    assert_rows_match(out, frame, "x", NER, providers="amazon")
    resent = set(sync_sent(emu, api)[sent_before:])
    assert not resent & first, f"{len(resent & first)} of the {len(first)} calls answered before the crash were resent"
    assert resent == set(frame["x"]) - first
    assert out.attrs["edenframe"]["cached"] == len(first)


async def test_a_killed_run_of_async_jobs_relaunches_none(v3: Any, tmp_path: Path) -> None:  # noqa: F811
    server = await v3(job_seconds=60.0)  # the jobs are still processing when the run dies
    docs = [f"https://files.test/report-{i}.pdf" for i in range(6)]
    cache = tmp_path / "cache.sqlite"
    process = child(_CHILD_ASYNC, server.base_url, ",".join(docs), str(Path(__file__).parent), str(cache))
    try:
        deadline = time.monotonic() + 20
        # every job launched and polled once (each public_id is journaled before its first poll)
        while not (len(server.state.jobs) == len(docs) and set(server.state.jobs) <= polled(server)):
            assert process.poll() is None and time.monotonic() < deadline, "the child run ended or never started"
            await asyncio.sleep(0.01)
        kill(process)
    finally:
        if process.poll() is None:
            process.kill()
    for job in server.state.jobs.values():
        job.due = 0.0  # the jobs finish

    journal = ResultCache(cache)
    try:
        run, transport = await send_async(server, docs, journal)
    finally:
        journal.close()
    assert run.errors() == [None] * len(docs)
    assert transport.stats.jobs_attached == len(docs) and transport.stats.jobs_launched == 0
    assert len(server.posts("/v3/universal-ai/async")) == len(docs)  # zero duplicate launches
    assert len(server.charges) == len(docs) and server.state.jobs == {}
