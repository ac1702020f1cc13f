"""One cache file shared by several processes, and the cache that `cache_info()` / `clear_cache()` act on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator, expected_row

SENTIMENT = "text/sentiment_analysis"

# One run of the same call in its own process, as two notebooks (or two scripts) on one machine would do it.
SHARED_RUN = textwrap.dedent(
    """
    import json, sys, pandas as pd, edenframe
    api_key, base_url, rows, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    max_cost = float(sys.argv[5]) if len(sys.argv) > 5 else None
    edenframe.configure(api_key=api_key, base_url=base_url, poll_interval=0.05, progress=False)
    df = pd.DataFrame({"review": [f"shared review {i}" for i in range(rows)]})
    result = df.eden.sentiment("review", providers="google", max_cost=max_cost)
    result.to_pickle(out)
    with open(out + ".json", "w") as handle:
        json.dump(result.attrs["edenframe"], handle, default=str)
    """
)


def _start(script: Path, emu: EdenEmulator, rows: int, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(script), emu.api_key, emu.base_url, str(rows), str(out), *extra],
        env=dict(os.environ),  # the same EDENFRAME_CACHE_DIR: one cache file for both
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _finish(process: subprocess.Popen[bytes]) -> None:
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode(errors="replace")


@pytest.mark.parametrize("stagger", [True, False], ids=["second-run-a-moment-later", "both-at-once"])
def test_two_processes_sharing_a_cache_both_complete_and_pay_once(tmp_path: Path, stagger: bool) -> None:
    rows = 1200  # three jobs of 500, 500 and 200
    script = tmp_path / "shared.py"
    script.write_text(SHARED_RUN)
    outs = [tmp_path / "first.pkl", tmp_path / "second.pkl"]
    with EdenEmulator(job_seconds=4.0) as emu:
        first = _start(script, emu, rows, outs[0])
        try:
            if stagger:  # the second run starts while the first one's jobs run on the server
                deadline = time.monotonic() + 120
                while not any(c.method == "POST" and c.status == 200 for c in emu.calls):
                    assert time.monotonic() < deadline, "the first run never launched a job"
                    assert first.poll() is None, "the first run ended before launching"
                    time.sleep(0.02)
            second = _start(script, emu, rows, outs[1])
            _finish(second)
        finally:
            _finish(first)
        calls = list(emu.calls)
        ledger = list(emu.ledger)
        running_at_end = emu.running_jobs

    # every item launched (and paid) once, whoever launched it
    assert len(ledger) == rows
    assert Counter(charge.name for charge in ledger).most_common(1)[0][1] == 1
    launched = [c for c in calls if c.method == "POST" and c.status == 200]
    assert len(launched) == 3
    # each job deleted once, by the run that owned it: no job vanished under a reader, no 404 anywhere
    deletes = [c for c in calls if c.method == "DELETE"]
    assert sorted(c.path for c in deletes) == sorted(c.path for c in launched)
    assert all(c.status == 204 for c in deletes)
    assert not [c for c in calls if c.status == 404]
    assert running_at_end == 0
    for out in outs:
        frame = pd.read_pickle(out)
        assert frame["sentiment_error"].isna().all(), frame["sentiment_error"].dropna().head()
        for text, label in zip(frame["review"], frame["sentiment_general_sentiment"], strict=True):
            assert label == expected_row(SENTIMENT, "google", text)["general_sentiment"]
    reports = [json.loads(Path(str(out) + ".json").read_text()) for out in outs]
    assert sum(report["sent"] for report in reports) == rows  # what one run did not send, it took from the cache
    assert sum(report["cost"] for report in reports) == pytest.approx(sum(charge.cost for charge in ledger))
    assert edenframe.cache_info()["open_jobs"] == 0


def test_two_processes_sharing_a_cache_under_max_cost_pay_once(tmp_path: Path) -> None:
    """Both runs capped: each job is claimed after the budget formed it, and a job refused by the claim (the other
    run holds those requests) gives its reservation back, so the waiting run's budget does not stall on it."""
    rows = 600
    script = tmp_path / "shared.py"
    script.write_text(SHARED_RUN)
    outs = [tmp_path / "first.pkl", tmp_path / "second.pkl"]
    with EdenEmulator(job_seconds=3.0) as emu:
        first = _start(script, emu, rows, outs[0], "100")
        try:
            deadline = time.monotonic() + 120
            while not any(c.method == "POST" and c.status == 200 for c in emu.calls):
                assert time.monotonic() < deadline, "the first run never launched a job"
                assert first.poll() is None, "the first run ended before launching"
                time.sleep(0.02)
            second = _start(script, emu, rows, outs[1], "100")
            _finish(second)
        finally:
            _finish(first)
        ledger = list(emu.ledger)

    assert len(ledger) == rows  # every item paid once, whichever run launched it
    assert Counter(charge.name for charge in ledger).most_common(1)[0][1] == 1
    reports = [json.loads(Path(str(out) + ".json").read_text()) for out in outs]
    for out, report in zip(outs, reports, strict=True):
        assert pd.read_pickle(out)["sentiment_error"].isna().all()
        assert not report["budget_reached"] and report["not_sent"] == 0
        # what a run did not send, it took from the cache (stored by the other run), and says so per provider
        assert report["sent"] + report["cached"] == rows
        assert report["cached_by_provider"] == {"google": report["cached"]}
    assert sum(report["sent"] for report in reports) == rows
    assert edenframe.cache_info()["open_jobs"] == 0


# -- which cache cache_info() and clear_cache() act on --------------------------------------------------------------


def _reviews(n: int) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"cache review {i}: " + "the product was fine " * 20 for i in range(n)]})


def test_cache_info_and_clear_cache_follow_configure(emulator: EdenEmulator, tmp_path: Path) -> None:
    configured = tmp_path / "configured.sqlite3"
    edenframe.configure(cache=configured)
    _reviews(400).eden.sentiment("review", providers="google")
    _reviews(3).eden.detect_language("review", providers="google")

    info = edenframe.cache_info()
    assert info["path"] == str(configured)
    assert info["results"] == 403 and info["by_subfeature"][SENTIMENT] == 400
    default = Path(os.environ["EDENFRAME_CACHE_DIR"]) / "cache.sqlite3"
    assert edenframe.cache_info(cache=default)["results"] == 0  # the explicit argument still wins

    before = configured.stat().st_size
    assert edenframe.clear_cache("sentiment") == 400  # a method name, as df.eden.sentiment
    assert configured.stat().st_size < before / 2  # the space went back to the disk (VACUUM)
    assert edenframe.cache_info()["by_subfeature"] == {"translation/language_detection": 3}
    assert edenframe.clear_cache("translation/language_detection") == 3
    assert edenframe.cache_info()["results"] == 0


def test_cache_info_follows_the_environment_when_nothing_is_configured(
    emulator: EdenEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDENFRAME_CACHE_DIR", str(tmp_path / "from-env"))
    _reviews(4).eden.sentiment("review", providers="google")
    info = edenframe.cache_info()
    assert info["path"] == str(tmp_path / "from-env" / "cache.sqlite3") and info["results"] == 4
    assert edenframe.clear_cache() == 4


def test_clear_cache_refuses_unknown_names_before_touching_anything(emulator: EdenEmulator) -> None:
    _reviews(2).eden.sentiment("review", providers="google")
    with pytest.raises(edenframe.ValidationError, match="Did you mean 'sentiment'"):
        edenframe.clear_cache("sentimnt")
    with pytest.raises(edenframe.ValidationError, match="older_than"):
        edenframe.clear_cache(older_than=-1)
    assert edenframe.cache_info()["results"] == 2


def test_cache_turned_off_by_configure_is_reported(tmp_path: Path) -> None:
    edenframe.configure(cache=False)
    with pytest.raises(edenframe.ValidationError, match="cache=False"):
        edenframe.cache_info()
    with pytest.raises(edenframe.ValidationError, match="cache=False"):
        edenframe.clear_cache()
    assert edenframe.cache_info(cache=tmp_path / "other.sqlite3")["results"] == 0


async def test_a_job_that_vanishes_is_launched_again_not_failed() -> None:
    async with EdenEmulator(job_seconds=1.0) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.02)
        df = pd.DataFrame({"review": [f"vanishing review {i}" for i in range(20)]})
        task = asyncio.ensure_future(df.eden.arun(SENTIMENT, "review", providers="google"))
        deadline = time.monotonic() + 30
        while not any(c.method == "POST" and c.status == 200 for c in emu.calls):
            assert time.monotonic() < deadline, "the run never launched its job"
            await asyncio.sleep(0.01)
        job = next(c.path for c in emu.calls if c.method == "POST")
        headers = {"Authorization": f"Bearer {emu.api_key}"}
        async with aiohttp.ClientSession() as session, session.delete(emu.url + job, headers=headers) as response:
            assert response.status == 204  # someone else deleted the job while it ran
        out = await task
        launched = [c for c in emu.calls if c.method == "POST" and c.status == 200]
        assert len(launched) == 2 and len(emu.ledger) == 20  # the deleted job never finished, so never charged
    assert out["sentiment_analysis_error"].isna().all()


def test_a_run_that_failed_on_another_server_does_not_hold_the_same_requests(
    emulator: EdenEmulator, tmp_path: Path
) -> None:
    """Request names hash the item, not the server: a job journaled for a dead base URL (a failed first contact)
    must not stand in the way of the same requests sent to a live server from the same cache."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v2"
    cache = str(tmp_path / "cache.sqlite")
    df = _reviews(20)
    with pytest.raises(edenframe.APIError, match="cannot connect"):
        df.eden.sentiment("review", providers="google", cache=cache, base_url=dead)
    out = df.eden.sentiment("review", providers="google", cache=cache)
    assert out["sentiment_error"].isna().all()
    assert out.attrs["edenframe"]["sent"] == 20


def test_a_cache_file_another_process_holds_is_waited_for_not_moved_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite may answer 'database is locked' at once while another run switches a new file to WAL: that file is
    in use, not corrupt, and must never be moved aside (the two runs would then journal into different files)."""
    from edenframe import _cache

    path = tmp_path / "cache.sqlite"
    _cache.open_cache(str(path)).close()
    real_open, refusals = _cache._open, [2]

    def busy_then_open(target: Path) -> Any:
        if refusals[0]:
            refusals[0] -= 1
            raise _cache.sqlite3.OperationalError("database is locked")
        return real_open(target)

    monkeypatch.setattr(_cache, "_open", busy_then_open)
    handle = _cache.open_cache(str(path))
    handle.close()
    assert refusals == [0]
    assert sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name) == []


def test_collected_v3_async_jobs_leave_nothing_in_the_journal(tmp_path: Path) -> None:
    # v3 journals a claim and a job per async request; kept as 'collected' tombstones they grew the cache file by two
    # rows per request for good (20 million rows after 10 million requests) and every lease refresh scanned them all.
    import sqlite3

    from edenframe._cache import CACHE_FILE

    frame = pd.DataFrame({"doc": [f"https://files.test/doc-{i}.pdf" for i in range(12)]})
    with EdenEmulator(job_seconds=0.05) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, cache=tmp_path, poll_interval=0.02)
        out = frame.eden.ocr_async("doc", providers="amazon")
        assert out["ocr_async_error"].isna().all()
        assert out.attrs["edenframe"]["jobs"] == 12
        again = frame.eden.ocr_async("doc", providers="amazon")  # all from the cache: nothing launched again
        assert again.attrs["edenframe"]["cached"] == 12 and emu.total_cost > 0
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM job_items").fetchone()[0] == 0
