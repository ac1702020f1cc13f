"""Never lose work, never pay twice, never surprise the bill: cache, resume, dry runs, budgets and fault soaks."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from helpers import sent

import edenframe
from edenframe.testing import EdenEmulator, expected_row

SENTIMENT = "text/sentiment_analysis"


def reviews(n: int, tag: str = "") -> pd.DataFrame:
    return pd.DataFrame({"review": [f"{tag}review {i}: the product was fine" for i in range(n)]})


def charged_twice(emu: EdenEmulator) -> list[tuple[str | None, str]]:
    counts = Counter((charge.name, charge.provider) for charge in emu.ledger)
    return [key for key, count in counts.items() if count > 1]


def assert_correct(out: pd.DataFrame, provider: str = "google", prefix: str = "sentiment") -> None:
    """Every row has its own emulator result, or an error (never a neighbour's value)."""
    for text, label, rate, error in zip(
        out["review"],
        out[f"{prefix}_general_sentiment"],
        out[f"{prefix}_general_sentiment_rate"],
        out[f"{prefix}_error"],
        strict=True,
    ):
        if pd.isna(error):
            want = expected_row(SENTIMENT, provider, text)
            assert (label, rate) == (want["general_sentiment"], pytest.approx(want["general_sentiment_rate"]))
        else:
            assert pd.isna(label) and pd.isna(rate)


def test_rerun_sends_nothing_and_gives_identical_output(emulator: EdenEmulator) -> None:
    df = reviews(40)
    first = df.eden.sentiment("review", providers="google,amazon")
    emulator.reset()
    second = df.eden.sentiment("review", providers="google,amazon")
    assert emulator.calls == []
    pd.testing.assert_frame_equal(first, second)
    assert second.attrs["edenframe"]["cached"] == 40
    assert second.attrs["edenframe"]["sent"] == 0 and second.attrs["edenframe"]["cost"] == 0
    assert first.attrs["edenframe"]["cost"] == pytest.approx(
        first["sentiment_google_cost"].sum() + first["sentiment_amazon_cost"].sum()
    )


def test_partial_cache_sends_only_the_rest(emulator: EdenEmulator) -> None:
    reviews(30).eden.sentiment("review", providers="google")
    emulator.reset()
    out = reviews(50).eden.sentiment("review", providers="google")
    sent = [item for call in emulator.calls if call.method == "POST" for item in call.json["requests"]]
    assert len(sent) == 20 and out.attrs["edenframe"]["cached"] == 30
    assert_correct(out)


def test_adding_a_provider_sends_only_that_provider(emulator: EdenEmulator) -> None:
    reviews(10).eden.sentiment("review", providers="google")
    emulator.reset()
    out = reviews(10).eden.sentiment("review", providers="google,amazon")
    sent = [item for call in emulator.calls if call.method == "POST" for item in call.json["requests"]]
    assert {item["providers"] for item in sent} == {"amazon"} and len(sent) == 10
    assert out["sentiment_google_error"].isna().all() and out["sentiment_amazon_error"].isna().all()


def test_failures_are_not_cached(make_emulator: Callable[..., EdenEmulator]) -> None:
    emu = make_emulator(provider_fail_inputs=["review 3: the product was fine"])
    with pytest.warns(edenframe.RowErrorWarning):
        reviews(5).eden.sentiment("review", providers="google")
    emu.provider_fail_inputs = frozenset()  # the provider recovers
    emu.reset()
    out = reviews(5).eden.sentiment("review", providers="google")
    sent = [item for call in emu.calls if call.method == "POST" for item in call.json["requests"]]
    assert [item["text"] for item in sent] == ["review 3: the product was fine"]
    assert out["sentiment_error"].isna().all()


def test_results_from_another_server_are_not_reused(make_emulator: Callable[..., EdenEmulator]) -> None:
    make_emulator()
    reviews(3).eden.sentiment("review", providers="google")
    other = make_emulator()
    out = reviews(3).eden.sentiment("review", providers="google")
    assert len([c for c in other.calls if c.method == "POST"]) == 1
    assert out.attrs["edenframe"]["cached"] == 0


def test_cache_opt_out_relocate_info_and_clear(emulator: EdenEmulator, tmp_path: Path) -> None:
    df = reviews(5)
    df.eden.sentiment("review", providers="google", cache=False)
    df.eden.sentiment("review", providers="google", cache=False)
    assert len([c for c in emulator.calls if c.method == "POST"]) == 2
    assert edenframe.cache_info()["results"] == 0

    elsewhere = tmp_path / "mine.sqlite3"
    df.eden.sentiment("review", providers="google", cache=elsewhere)
    info = edenframe.cache_info(cache=elsewhere)
    assert info["results"] == 5 and info["by_subfeature"] == {SENTIMENT: 5} and info["open_jobs"] == 0
    assert oct(elsewhere.stat().st_mode & 0o777) == "0o600"
    assert edenframe.clear_cache(SENTIMENT, cache=elsewhere) == 5
    assert edenframe.cache_info(cache=elsewhere)["results"] == 0


def test_corrupted_cache_is_set_aside_never_a_crash(emulator: EdenEmulator) -> None:
    path = Path(os.environ["EDENFRAME_CACHE_DIR"]) / "cache.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        out = reviews(5).eden.sentiment("review", providers="google")
    assert out["sentiment_error"].isna().all()
    assert list(path.parent.glob("cache.sqlite3.corrupt-*"))
    emulator.reset()
    reviews(5).eden.sentiment("review", providers="google")
    assert emulator.calls == []  # the fresh cache works


def test_dry_run_sends_nothing_and_estimates(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"review": ["a" * 100, "b" * 700, "a" * 100, None]})
    plan = df.eden.sentiment("review", providers="amazon", dry_run=True)
    assert sent(emulator) == []  # the provider list was read, nothing else
    assert list(plan.columns) == ["name", "transport", "providers", "inputs", "rows", "chars", "estimated_cost"]
    assert plan["rows"].tolist() == [2, 1] and plan["chars"].tolist() == [100, 700]
    # amazon sentiment: 1.0 USD per 1,000,000 chars, billed in 300-char blocks
    assert plan["estimated_cost"].tolist() == pytest.approx([300 / 1e6, 900 / 1e6])
    report = plan.attrs["edenframe"]
    assert report["dry_run"] and report["estimated_cost"] == pytest.approx(1200 / 1e6) and report["skipped"] == 1


def test_dry_run_needs_no_key() -> None:
    plan = reviews(3).eden.translate("review", target_language="fr", providers="deepl", dry_run=True)
    assert plan["estimated_cost"].sum() > 0


def test_estimate_matches_what_the_emulator_charges(emulator: EdenEmulator) -> None:
    df = reviews(30)
    estimate = df.eden.translate("review", target_language="fr", providers="deepl", dry_run=True)
    out = df.eden.translate("review", target_language="fr", providers="deepl")
    assert out.attrs["edenframe"]["cost"] == pytest.approx(estimate.attrs["edenframe"]["estimated_cost"])
    assert sum(c.cost for c in emulator.ledger) == pytest.approx(out.attrs["edenframe"]["cost"])


def test_max_cost_below_estimate_refuses_to_start(emulator: EdenEmulator) -> None:
    with pytest.raises(edenframe.BudgetExceededError, match=r"estimated cost \$0\.00\d+ is above max_cost"):
        reviews(20).eden.sentiment("review", providers="amazon", max_cost=0.001)
    assert sent(emulator) == []


def test_budget_reached_mid_run_stops_launching() -> None:
    with EdenEmulator() as emu:
        # synthetic has no price: the estimate is 0, so only the spending cap can stop the run
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01, max_running_jobs=1)
        df = reviews(2500)
        one_job = sum(
            edenframe.testing.synthetic_cost(edenframe.get_subfeature(SENTIMENT), "synthetic", {"text": t})
            for t in df["review"][:500]
        )
        with pytest.warns(edenframe.RowErrorWarning), pytest.warns(RuntimeWarning, match="no price is known"):
            out = df.eden.sentiment("review", providers="synthetic", max_cost=one_job * 1.5)
        launched = [len(c.json["requests"]) for c in emu.calls if c.method == "POST"]
        spent, largest = emu.total_cost, max(c.cost for c in emu.ledger)
    # one request alone first (its cost was unknown), then smaller and smaller jobs as the budget runs out
    assert launched[0] == 1 and launched[1:] == sorted(launched[1:], reverse=True) and launched[-1] == 1
    assert one_job * 1.4 <= spent <= one_job * 1.5 + largest
    errors = out["sentiment_error"]
    assert errors.notna().sum() == 2500 - sum(launched) and errors.dropna().str.contains("max_cost").all()
    assert out.attrs["edenframe"]["cost"] == pytest.approx(spent)
    assert_correct(out, provider="synthetic")


def test_fault_soak_every_row_correct_or_explained() -> None:
    rng = random.Random(11)
    df = reviews(5000, tag="soak ")
    texts = df["review"].tolist()
    picked = rng.sample(texts, 300)
    failed_items, provider_failures = picked[:150], picked[150:]
    with EdenEmulator(
        rate_limit=0.10,
        server_error=0.05,
        drop_connection=0.02,
        retry_after=0.01,
        seed=3,
        fail_inputs=failed_items,
        provider_fail_inputs=provider_failures,
        page_size=100,
    ) as emu:
        edenframe.configure(
            api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01, backoff_base=0.01, max_retries=15
        )
        with pytest.warns(edenframe.RowErrorWarning, match="300 of 5000 rows failed"):
            out = df.eden.sentiment("review", providers="google")
        statuses = Counter(c.status for c in emu.calls)
        assert charged_twice(emu) == []
        assert len(emu.ledger) == 5000 - 300
    assert statuses[429] > 0 and statuses[500] > 0 and statuses[None] > 0
    errors = out["sentiment_error"]
    assert set(out.loc[errors.notna(), "review"]) == set(picked)
    assert errors[out["review"].isin(failed_items)].str.contains("rejected").all()
    assert errors[out["review"].isin(provider_failures)].str.contains("google:").all()
    assert_correct(out)


CRASHING_RUN = textwrap.dedent(
    """
    import sys, pandas as pd, edenframe
    edenframe.configure(api_key=sys.argv[1], base_url=sys.argv[2], poll_interval=0.05)
    df = pd.DataFrame({"review": [f"crash review {i}" for i in range(3000)]})
    df.eden.sentiment("review", providers="google", progress=False)
    print("finished")  # never reached: the test kills this process
    """
)


def test_crash_then_rerun_pays_nothing_twice(tmp_path: Path) -> None:
    with EdenEmulator(job_seconds=1.5) as emu:
        env = {**os.environ, "EDENFRAME_CACHE_DIR": os.environ["EDENFRAME_CACHE_DIR"]}
        script = tmp_path / "crash.py"
        script.write_text(CRASHING_RUN)
        process = subprocess.Popen([sys.executable, str(script), emu.api_key, emu.base_url], env=env)
        try:
            deadline = time.monotonic() + 60
            while not any(c.method == "POST" and c.status == 200 for c in emu.calls):
                assert time.monotonic() < deadline, "the subprocess never launched a job"
                assert process.poll() is None, "the subprocess ended before it was killed"
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(timeout=30)
        launched_before = len([c for c in emu.calls if c.method == "POST" and c.status == 200])

        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.05)
        df = pd.DataFrame({"review": [f"crash review {i}" for i in range(3000)]})
        out = df.eden.sentiment("review", providers="google")
        assert charged_twice(emu) == []
        assert len(emu.ledger) == 3000
        launched_after = len([c for c in emu.calls if c.method == "POST" and c.status == 200])
    assert launched_before >= 1
    assert launched_after == 6  # 3000 rows are 6 jobs in all: the rerun launched only the ones never launched
    assert out["sentiment_error"].isna().all()
    for text, label in zip(out["review"], out["sentiment_general_sentiment"], strict=True):
        assert label == expected_row(SENTIMENT, "google", text)["general_sentiment"]


async def test_cancelling_keeps_what_arrived() -> None:
    async with EdenEmulator(job_seconds=0.3) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.02, max_running_jobs=1)
        df = reviews(1500, tag="cancel ")
        task = asyncio.ensure_future(df.eden.arun(SENTIMENT, "review", providers="google"))
        deadline = time.monotonic() + 30
        while edenframe.cache_info()["results"] < 500 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # until the first job's pages are stored (a fixed wait was flaky under load)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert edenframe.cache_info()["results"] >= 500
        emu.reset()
        out = await df.eden.arun(SENTIMENT, "review", providers="google")
        assert out.attrs["edenframe"]["cached"] >= 500
        assert charged_twice(emu) == []
    assert_correct(out, prefix="sentiment_analysis")


def test_a_stuck_job_ends_as_row_errors() -> None:
    with EdenEmulator(job_seconds=3600) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.02, job_timeout=0.3)
        with pytest.warns(edenframe.RowErrorWarning, match="3 of 3 rows failed"):
            out = reviews(3).eden.sentiment("review", providers="google")
    assert out["sentiment_error"].str.contains("still processing after").all()


def test_sync_transport_matches_batch(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"review": ["good", "bad", None, "good", "fine"]}, index=list("vwxyz"))
    batch = df.eden.sentiment("review", providers="google,amazon", cache=False)
    sync = df.eden.sentiment("review", providers="google,amazon", cache=False, transport="sync")
    pd.testing.assert_frame_equal(batch, sync)
    assert any(c.method == "POST" and c.path.rstrip("/").endswith("sentiment_analysis") for c in emulator.calls)


def test_sync_transport_under_faults_and_rate_limit() -> None:
    faults = {"rate_limit": 0.2, "server_error": 0.05, "retry_after": 0.01}
    with EdenEmulator(**faults, provider_fail_inputs=["review 7: the product was fine"]) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, backoff_base=0.01, rate_limit=200.0)
        with pytest.warns(edenframe.RowErrorWarning, match="1 of 60"):
            out = reviews(60).eden.sentiment("review", providers="google", transport="sync")
        assert len(emu.ledger) == 59  # sync items carry no name: one charge per successful item, none twice
    assert_correct(out)


def test_api_key_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-leak-canary-0123456789"
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    faults = {"rate_limit": 0.3, "retry_after": 0.01}
    with EdenEmulator(api_key=secret, **faults, provider_fail_inputs=["review 1: the product was fine"]) as emu:
        assert secret not in repr(emu)
        edenframe.configure(api_key=secret, base_url=emu.base_url, poll_interval=0.01, backoff_base=0.01)
        with pytest.warns(edenframe.RowErrorWarning) as warned:
            out = reviews(20).eden.sentiment("review", providers="google", cache=tmp_path / "c.sqlite3")
        messages += [str(w.message) for w in warned]
        messages += out["sentiment_error"].dropna().tolist()
        for bad in ({"api_key": "wrong-key-abc"}, {}):
            try:
                edenframe.configure(**bad)
                reviews(3, tag="x").eden.sentiment("review", providers="amazon", cache=False)
            except edenframe.EdenFrameError as exc:
                messages += [str(exc), repr(exc)]
        with pytest.raises(edenframe.RowErrors) as caught:
            edenframe.configure(api_key=secret)
            reviews(3).eden.sentiment("review", providers="google", errors="raise", cache=False)
        messages += [str(caught.value), repr(caught.value)]
    messages += [record.getMessage() for record in caplog.records]
    messages.append(repr(edenframe._config.current_settings()))
    assert not [m for m in messages if secret in m]
    for path in tmp_path.glob("c.sqlite3*"):
        assert secret.encode() not in path.read_bytes()
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 19


class _BrokenSecondPage(EdenEmulator):
    """An emulator whose result page 2 always fails (500): earlier pages must keep their results."""

    def _get_job(self, request, entry, job_name):  # type: ignore[no-untyped-def]
        from edenframe.testing import _emulator

        if request.query.get("page") == "2":
            return _emulator._error(500, "Internal Server Error", "page 2 broken")
        return super()._get_job(request, entry, job_name)


def test_a_failing_later_page_never_overwrites_results_already_received() -> None:
    with _BrokenSecondPage(page_size=3) as emu:
        edenframe.configure(
            api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01, max_retries=1, backoff_base=0.001
        )
        with pytest.warns(edenframe.RowErrorWarning, match="3 of 6 rows failed"):
            out = reviews(6).eden.sentiment("review", providers="google")
        assert out["sentiment_error"].iloc[:3].isna().all() and out["sentiment_error"].iloc[3:].notna().all()
        assert_correct(out)
        with pytest.warns(edenframe.RowErrorWarning):  # the rerun re-attaches and meets the same broken page
            again = reviews(6).eden.sentiment("review", providers="google")
        assert again.attrs["edenframe"]["cached"] == 3
        assert charged_twice(emu) == []


def test_reattached_job_spanning_windows_is_paid_once() -> None:
    with EdenEmulator(job_seconds=0.5) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        df = reviews(8, tag="span ")

        async def interrupted() -> None:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(df.eden.arun(SENTIMENT, "review", providers="google"), 0.2)

        asyncio.run(interrupted())
        edenframe.configure(window_units=2)  # the rerun cuts the same rows into other windows
        out = df.eden.sentiment("review", providers="google")
        assert len([c for c in emu.calls if c.method == "POST"]) == 1
        assert charged_twice(emu) == [] and len(emu.ledger) == 8
    assert_correct(out)


def test_budget_also_caps_the_sync_transport() -> None:
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, sync_concurrency=2)
        per_row = edenframe.testing.synthetic_cost(edenframe.get_subfeature(SENTIMENT), "synthetic", {"text": "x"})
        with pytest.warns(edenframe.RowErrorWarning), pytest.warns(RuntimeWarning, match="no price is known"):
            out = reviews(40).eden.sentiment("review", providers="synthetic", transport="sync", max_cost=per_row * 5)
        sent = len([c for c in emu.calls if c.method == "POST"])
    assert 4 <= sent <= 5  # the cap holds with requests in flight: each is admitted only if the budget covers it
    assert out["sentiment_error"].dropna().str.contains("max_cost").sum() == 40 - sent
