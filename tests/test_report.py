"""The run report says what happened: requests Eden AI actually received, cache hits per provider, re-attached jobs,
and every call of a chain."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator

SENTIMENT = "text/sentiment_analysis"


def reviews(n: int, tag: str = "") -> pd.DataFrame:
    return pd.DataFrame({"review": [f"{tag}review {i}: the product was fine" for i in range(n)]})


def items_received(emu: EdenEmulator) -> int:
    total = 0
    for call in emu.calls:
        if call.method == "POST":
            body = call.json
            total += len(body["requests"]) if isinstance(body, dict) and "requests" in body else 1
    return total


def test_sent_counts_what_eden_received(emulator: EdenEmulator) -> None:
    reviews(20).eden.sentiment("review", providers="google")
    emulator.reset()
    df = pd.concat([reviews(30), reviews(5)], ignore_index=True)  # 20 cached, 5 duplicates, 10 to send
    out = df.eden.sentiment("review", providers="google")
    report = out.attrs["edenframe"]
    assert report["sent"] == 10 == items_received(emulator)
    assert report["cached"] == 20 and report["deduplicated"] == 5


def test_sent_over_the_sync_transport(emulator: EdenEmulator) -> None:
    out = reviews(12).eden.sentiment("review", providers="google", transport="sync")
    assert out.attrs["edenframe"]["sent"] == 12 == items_received(emulator)


def test_cache_hits_are_reported_per_provider(emulator: EdenEmulator) -> None:
    reviews(10).eden.sentiment("review", providers="google")
    emulator.reset()
    out = reviews(15).eden.sentiment("review", providers="google,amazon")
    report = out.attrs["edenframe"]
    assert report["cached"] == 0  # no input was answered by the cache for every provider
    assert report["cached_by_provider"] == {"google": 10, "amazon": 0}
    assert report["sent"] == 15 == items_received(emulator)  # amazon for the 10 cached by google, both for 5
    assert report["reattached"] == 0 and report["budget_reached"] is False and report["not_sent"] == 0
    assert report["max_cost"] is None


def test_reattached_jobs_are_reported() -> None:
    with EdenEmulator(job_seconds=2.0) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        df = reviews(8, tag="again ")

        async def interrupted() -> None:
            task = asyncio.ensure_future(df.eden.arun(SENTIMENT, "review", providers="google"))
            while not any(c.method == "POST" and c.status == 200 for c in emu.calls):  # launched: now interrupt
                assert not task.done()
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(interrupted())
        out = df.eden.sentiment("review", providers="google")
        report = out.attrs["edenframe"]
        assert items_received(emu) == 8  # the rerun sent nothing: it collected the job
    assert report["reattached"] == 1 and report["jobs"] == 0 and report["sent"] == 0
    assert out["sentiment_error"].isna().all()


@pytest.mark.extra("local")
def test_chained_calls_keep_every_report() -> None:
    df = pd.DataFrame({"review": ["Great product, works well.", "Terrible, it broke.", None]})
    df.attrs["source"] = "survey"
    out = df.eden.sentiment("review", progress=False).eden.keywords("review", progress=False)
    history = out.attrs["edenframe_history"]
    assert [report["subfeature"] for report in history] == [SENTIMENT, "text/keyword_extraction"]
    assert out.attrs["edenframe"] == history[-1]
    assert history[0]["skipped"] == 1
    assert out.attrs["source"] == "survey"  # the user's own attrs pass through
    assert df.attrs == {"source": "survey"}  # the input is not touched
    again = df.eden.sentiment("review", progress=False)
    assert len(again.attrs["edenframe_history"]) == 1  # a call on the original frame starts a new history


def test_summary_shows_the_budget_and_cache_keys_only_when_they_say_something() -> None:
    quiet = edenframe.RunReport(
        {
            "subfeature": SENTIMENT,
            "rows": 3,
            "sent": 3,
            "cached": 0,
            "cost": 0.01,
            "reattached": 0,
            "cached_by_provider": {"google": 0},
            "max_cost": None,
            "budget_reached": False,
            "not_sent": 0,
            "seconds": 0.5,
        }
    )
    assert quiet.summary() == f"{SENTIMENT}: 3 rows, 3 sent, 0 cached, cost 0.01, 0.50 s"
    loud = edenframe.RunReport(
        {
            **quiet,
            "reattached": 2,
            "cached_by_provider": {"google": 4, "amazon": 0},
            "max_cost": 0.5,
            "budget_reached": True,
            "not_sent": 7,
        }
    )
    line = loud.summary()
    assert "reattached 2" in line and "cached_by_provider google 4, amazon 0" in line
    assert "max_cost 0.5" in line and "budget_reached True" in line and "not_sent 7" in line
    assert "google 4, amazon 0" in loud._repr_html_()
