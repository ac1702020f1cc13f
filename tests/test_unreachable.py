"""A dead, silent or wrong server is an APIError within seconds, not minutes of retries and a frame of failed rows.

Every server here is real and on loopback: a closed port, a socket server that reads and never answers, a plain
aiohttp server that is not Eden AI, and the emulator with faults switched on once it has answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from helpers import sent

import edenframe
from edenframe._cache import ResultCache
from edenframe.testing import EdenEmulator

KEY = "sk-live-do-not-print-1234567890"


def reviews(n: int) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review number {i}: it was fine" for i in range(n)]})


def run(transport: str, rows: int = 2) -> pd.DataFrame:
    return reviews(rows).eden.sentiment("review", providers="google", transport=transport, cache=False)


def assert_names_the_server(error: edenframe.APIError, base_url: str) -> None:
    message = str(error)
    assert base_url in message
    assert "EDENAI_BASE_URL" in message and "configure(base_url=" in message
    assert KEY not in message and KEY not in repr(error.args)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads what comes, but never answers (a hung process behind a live port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.setblocking(False)
            held.append(conn)
            for c in held:
                with contextlib.suppress(OSError):
                    c.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v2"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


class PlainServer:
    """A small aiohttp server on a background thread, answering every path with one handler."""

    def __init__(self, handler: object) -> None:
        self.handler = handler
        self.hits: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def any_path(request: web.Request) -> web.StreamResponse:
            self.hits.append(f"{request.method} {request.path}")
            await request.read()
            return await self.handler(request)  # type: ignore[operator]

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", any_path)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.ready.set()
        self.loop.run_forever()

    def __enter__(self) -> PlainServer:
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2"


# -- nothing listens ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("transport", "rows"), [("batch", 2), ("sync", 2), ("batch", 1000), ("sync", 1000)])
def test_closed_port_is_an_api_error_within_seconds(closed_port: int, transport: str, rows: int) -> None:
    base_url = f"http://127.0.0.1:{closed_port}/v2"
    edenframe.configure(api_key=KEY, base_url=base_url, batch_size=100)  # 10 jobs: 5 launch at once
    started = time.monotonic()
    with pytest.raises(edenframe.APIError, match="connection refused") as caught:
        run(transport, rows)
    assert time.monotonic() - started < 5
    assert_names_the_server(caught.value, base_url)


def test_closed_port_fails_a_file_upload_too(closed_port: int, tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    base_url = f"http://127.0.0.1:{closed_port}/v2"
    edenframe.configure(api_key=KEY, base_url=base_url)
    started = time.monotonic()
    with pytest.raises(edenframe.APIError, match="cannot connect") as caught:
        pd.DataFrame({"scan": [str(scan)]}).eden.ocr("scan", providers="amazon", cache=False)
    assert time.monotonic() - started < 5
    assert_names_the_server(caught.value, base_url)


def test_closed_port_with_a_journaled_job_still_fails_fast(closed_port: int, tmp_path: Path) -> None:
    """A rerun first re-attaches to the jobs of its journal: those GETs meet the dead server first."""
    cache = tmp_path / "cache.sqlite"
    base_url = f"http://127.0.0.1:{closed_port}/v2"
    edenframe.configure(api_key=KEY, base_url=base_url)
    # a job journaled on the dead server's base URL, as the crash of an earlier run would have left it
    names = reviews(3).eden.sentiment("review", providers="google", cache=str(cache), dry_run=True)["name"].tolist()
    journal = ResultCache(cache)
    journal.record_job("edenframe-journaled", "text/sentiment_analysis", base_url, names)
    journal.close()
    started = time.monotonic()
    with pytest.raises(edenframe.APIError, match="connection refused") as caught:
        reviews(3).eden.sentiment("review", providers="google", cache=str(cache))
    assert time.monotonic() - started < 5
    assert_names_the_server(caught.value, base_url)


# -- a server that accepts and never answers -----------------------------------------------------------------------


@pytest.mark.parametrize(("transport", "rows"), [("batch", 2), ("sync", 2), ("batch", 1000), ("sync", 100)])
def test_silent_server_fails_within_the_first_contact_timeout(silent_server: str, transport: str, rows: int) -> None:
    edenframe.configure(api_key=KEY, base_url=silent_server, first_contact_timeout=0.5, batch_size=100)
    started = time.monotonic()
    with pytest.raises(edenframe.APIError, match=r"did not answer within 0\.5 s") as caught:
        run(transport, rows)
    # the wait, then as long again for the probe, plus slack for a loaded machine
    assert time.monotonic() - started < 4
    assert_names_the_server(caught.value, silent_server)
    assert "first_contact_timeout" in str(caught.value)


@pytest.mark.parametrize("cancel_after", [0.3, 2.5], ids=["waiting", "probing"])
def test_cancelling_while_waiting_on_a_silent_server_is_clean(silent_server: str, cancel_after: float) -> None:
    # probing: the requests wait 2 s, then the probe waits 2 s more; the run is cancelled in the middle of it
    edenframe.configure(api_key=KEY, base_url=silent_server, first_contact_timeout=2 if cancel_after > 1 else 30)

    async def scenario() -> None:
        task = asyncio.ensure_future(
            reviews(20).eden.arun("text/sentiment_analysis", "review", providers="google", cache=False)
        )
        await asyncio.sleep(cancel_after)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 2
        await asyncio.sleep(0.05)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(scenario())


def test_a_slow_server_that_answers_a_probe_is_waited_for() -> None:
    """A sync request whose provider takes longer than first_contact_timeout is not mistaken for a dead server."""

    async def slow_eden(request: web.Request) -> web.Response:
        if request.method == "GET" and request.path == "/v2/":
            return web.json_response({"details": "Not Found"}, status=404)
        await asyncio.sleep(2.0)
        answer = {"status": "success", "general_sentiment": "Positive", "general_sentiment_rate": 0.9, "items": []}
        return web.json_response({"google": {**answer, "cost": 0.001}})

    with PlainServer(slow_eden) as server:
        edenframe.configure(api_key=KEY, base_url=server.base_url, first_contact_timeout=0.5)
        out = run("sync", 3)
    assert out["sentiment_error"].isna().all()
    assert (out["sentiment_general_sentiment"] == "Positive").all()
    assert server.hits.count("GET /v2/") == 1  # one probe for the run, not one per request


# -- a server that is not Eden AI ----------------------------------------------------------------------------------


async def html_not_found(request: web.Request) -> web.Response:
    return web.Response(status=404, text="<html><body><h1>Not Found</h1></body></html>", content_type="text/html")


async def html_ok(request: web.Request) -> web.Response:
    return web.Response(text="<!doctype html><html><body>Welcome to nginx!</body></html>", content_type="text/html")


@pytest.mark.parametrize("handler", [html_not_found, html_ok], ids=["404-html", "200-html"])
@pytest.mark.parametrize("transport", ["batch", "sync"])
def test_a_server_that_is_not_eden_is_an_api_error(transport: str, handler: object) -> None:
    with PlainServer(handler) as server:
        edenframe.configure(api_key=KEY, base_url=server.base_url, batch_size=100)
        started = time.monotonic()
        with pytest.raises(edenframe.APIError, match="is not Eden AI's API") as caught:
            run(transport, 1000)
        assert time.monotonic() - started < 5
        assert len(server.hits) <= 10  # stopped at the first answers, not retried
    assert_names_the_server(caught.value, server.base_url)
    assert "not JSON" in str(caught.value)


@pytest.mark.parametrize("transport", ["batch", "sync"])
def test_an_eden_404_from_an_endpoint_that_must_exist_is_an_api_error(transport: str) -> None:
    """The emulator, but under a path prefix it does not serve: every path is Eden AI's JSON 404."""
    with EdenEmulator() as emu:
        base_url = f"{emu.url}/api/v2"
        edenframe.configure(api_key=emu.api_key, base_url=base_url)
        with pytest.raises(edenframe.APIError, match="has no endpoint") as caught:
            run(transport, 50)
        assert all(call.status == 404 for call in emu.calls)
    assert base_url in str(caught.value) and "HTTP 404" in str(caught.value)
    assert "EDENAI_BASE_URL" in str(caught.value)


def test_a_vanished_job_is_not_a_missing_endpoint(tmp_path: Path) -> None:
    """A journaled job the server no longer knows answers 404 on GET: the rows are sent again, nothing fails."""
    cache = tmp_path / "cache.sqlite"
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        names = reviews(3).eden.sentiment("review", providers="google", cache=str(cache), dry_run=True)["name"]
        journal = ResultCache(cache)
        journal.record_job("edenframe-vanished", "text/sentiment_analysis", emu.base_url, names.tolist())
        journal.close()
        out = reviews(3).eden.sentiment("review", providers="google", cache=str(cache))
        statuses = [(c.method, c.status) for c in sent(emu)]
    assert out["sentiment_error"].isna().all()
    assert statuses[0] == ("GET", 404) and ("POST", 200) in statuses


# -- a server that answered, then fails: retried as before ---------------------------------------------------------


@pytest.mark.parametrize("transport", ["batch", "sync"])
def test_failures_after_the_first_answer_are_retried(transport: str) -> None:
    with EdenEmulator(job_seconds=0.3, retry_after=0.01) as emu:
        edenframe.configure(
            api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01, backoff_base=0.01, max_retries=50,
            sync_concurrency=2,
        )  # fmt: skip
        stop = threading.Event()

        def break_after_first_answer() -> None:
            while not stop.is_set() and not any(c.status == 200 for c in emu.calls):
                time.sleep(0.002)
            emu.server_error = 0.5  # the server has answered: from now on half its answers are 500s
            emu.drop_connection = 0.2  # and some connections drop
            stop.wait(1.0)
            emu.server_error = emu.drop_connection = 0.0

        breaker = threading.Thread(target=break_after_first_answer, daemon=True)
        breaker.start()
        try:
            out = run(transport, 40)
        finally:
            stop.set()
            breaker.join()
        statuses = [c.status for c in emu.calls]
    assert 500 in statuses
    assert out["sentiment_error"].isna().all()


def test_first_contact_timeout_is_a_checked_setting() -> None:
    with pytest.raises(edenframe.ValidationError, match="first_contact_timeout must be a positive number"):
        edenframe.configure(first_contact_timeout=0)
    edenframe.configure(first_contact_timeout=2)
    assert edenframe._config.current_settings().first_contact_timeout == 2.0


# -- a server that answered, then went away --------------------------------------------------------------------------


def test_a_server_that_goes_away_mid_run_fails_the_rest_within_seconds(tmp_path: Path) -> None:
    # Each request used to spend its own retries on refused connections (minutes at the default backoff, in waves of
    # the in-flight cap); once no connection got through for first_contact_timeout, the rest fail at once. What
    # arrived is kept and cached, and a rerun on the server back at its address sends only the missing rows.
    frame = reviews(60)
    emu = EdenEmulator().start()
    url = emu.base_url_v3
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    edenframe.configure(api_key=emu.api_key, base_url=url, cache=tmp_path, rate_limit=10, first_contact_timeout=1.0)

    def stop_after_some_answers() -> None:
        while sum(c.status == 200 for c in emu.calls if c.path == "/v3/universal-ai") < 10:
            time.sleep(0.005)
        emu.stop()

    stopper = threading.Thread(target=stop_after_some_answers, daemon=True)
    stopper.start()
    began = time.monotonic()
    with pytest.warns(edenframe.RowErrorWarning, match="stopped answering"):
        out = frame.eden.ner("review", providers="amazon")
    elapsed = time.monotonic() - began
    stopper.join()
    answered = int(out["ner_error"].isna().sum())
    assert answered >= 10 and out["ner_error"].dropna().str.contains("stopped answering").all()
    assert elapsed < 20, elapsed  # the old code: each of 50 requests retrying for about a minute
    with EdenEmulator(port=port) as back:
        again = frame.eden.ner("review", providers="amazon")
        assert [c.path for c in sent(back)] == ["/v3/universal-ai"] * (60 - answered)
    assert again["ner_error"].isna().all()
