"""Eden AI v3 throughput: edenframe against an emulated account limit, as a ratio of the theoretical minimum.

    python benchmarks/v3_throughput.py            # 10 req/s account, 100 rows per case (about 1.5 minutes)
    python benchmarks/v3_throughput.py --quick    # 20 req/s, 60 rows per case (about 25 seconds): a smoke run,
                                                  # whose 3 s cases are dominated by the account's 1 s burst
    python benchmarks/v3_throughput.py --rows 300 --rate 10 --output /tmp/v3.json

v3 has no batch endpoint: one `POST /v3/universal-ai` per (row, provider), and an account budget of about 10
requests per second, so the best any client can do is `rows / rate` seconds. `EdenEmulator` serves v3 on loopback
(a thread of this process: at 10 requests per second its CPU work is negligible) with `account_rate_limit=` (a token
bucket answering 429, bursts of `rate`). Each case starts a fresh emulator, so the account's bucket is full and the
records (`emu.calls`) are the case's own. Cases:

1. `df.eden.ner(..., providers="amazon")` with `configure(rate_limit=)` equal to the account's limit: wall time over
   `rows / rate` (target <= 1.05x) and the share of requests answered 429 (target < 1%).
2. The hand-written client (`baseline_v3_client.py`: one POST per row, a semaphore, a token bucket at the same
   rate, 429s retried after `Retry-After`) on the same rows: edenframe's time over the baseline's.
3. A client budget set twice too high, with and without `Retry-After` on the 429s, for edenframe (it adapts,
   nothing is lost) and for the baseline (which does not adapt): the 429 share and the time ratio.
4. A strict account (bursts of 1 request instead of `rate`): the same figure when the server allows no slack.
5. `df.eden.embed(..., providers="openai")` on v3: rows per `POST /v3/embeddings` request, and rows per second as
   a multiple of what one request per row allows (`rate`).

Every row's result is checked against the emulator's oracle (`assert_rows_match`), the baseline's against
`expected_row`. Results are written to benchmarks/results/v3.json (`--output` elsewhere; `--no-output` not at all).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import baseline_v3_client  # noqa: E402  (beside this file)
from run import Figure, print_table, review_texts, write_report  # noqa: E402

import edenframe  # noqa: E402
from edenframe.testing import EdenEmulator, assert_rows_match, expected_row  # noqa: E402
from edenframe.testing._v3 import AccountRateLimit  # noqa: E402

DEFAULT_OUTPUT = HERE / "results" / "v3.json"
NER = "text/named_entity_recognition"
PROVIDER = "amazon"
MODEL = f"{NER}/{PROVIDER}"
SKIP = 2.0  # seconds at the start of a case left out of the sustained rate: the account's burst (1 s of tokens)


@dataclass(frozen=True)
class Scale:
    quick: bool
    rate: float  # the account's limit, requests per second
    rows: int  # rows per throughput case
    embed_rows: int


FULL = Scale(False, 10.0, 100, 2_000)
QUICK = Scale(True, 20.0, 60, 1_000)


@dataclass
class Case:
    """One client's run against a fresh emulated account."""

    client: str  # "edenframe" or "baseline"
    seconds: float
    rows: int
    ok: int  # POST /v3/universal-ai answered 200
    refused: int  # ... answered 429
    other: int  # every other request the server saw (edenframe's GET /v3/info)
    correct: bool
    sustained: float  # requests the account admitted per second once past its initial burst

    @property
    def share_429(self) -> float:
        return self.refused / (self.ok + self.refused) if self.ok + self.refused else 0.0

    def ratio(self, rate: float) -> float:
        return self.seconds / (self.rows / rate)


class TimedLimit(AccountRateLimit):
    """The emulator's account limit, noting when it admitted each request (for the sustained rate)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.times: list[float] = []

    def take(self) -> float | None:
        wait = super().take()
        if wait is None:
            self.times.append(time.monotonic())
        return wait

    def sustained(self, skip: float = SKIP) -> float:
        """Requests admitted per second from `skip` seconds after the first (past the bucket's initial burst)."""
        times = [t for t in self.times if t >= self.times[0] + skip]
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else float("nan")


def account(rate: float, retry_after: str = "header", burst: float | None = None) -> EdenEmulator:
    return EdenEmulator(account_rate_limit=TimedLimit(rate, burst=burst, retry_after=retry_after))  # type: ignore[arg-type]


def counted(emu: EdenEmulator, client: str, seconds: float, rows: int, correct: bool) -> Case:
    posts = [c.status for c in emu.calls if c.method == "POST" and c.path == "/v3/universal-ai"]
    other = len(emu.calls) - len(posts)
    limit = emu.account_rate_limit
    assert isinstance(limit, TimedLimit)
    return Case(client, seconds, rows, posts.count(200), posts.count(429), other, correct, limit.sustained())


def run_edenframe(scale: Scale, tag: str, client_rate: float, retry_after: str, burst: float | None = None) -> Case:
    texts = review_texts(scale.rows, tag)
    frame = pd.DataFrame({"review": texts})
    with account(scale.rate, retry_after, burst) as emu:
        edenframe.reset_configuration()
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, rate_limit=client_rate, progress=False)
        started = time.perf_counter()
        out = frame.eden.ner("review", providers=PROVIDER)
        seconds = time.perf_counter() - started
        edenframe.reset_configuration()
    try:
        assert_rows_match(out, frame, "review", NER, providers=PROVIDER)
        correct = bool(out["ner_error"].isna().all())
    except AssertionError:
        correct = False
    return counted(emu, "edenframe", seconds, scale.rows, correct)


def run_baseline(scale: Scale, tag: str, client_rate: float, retry_after: str, burst: float | None = None) -> Case:
    texts = review_texts(scale.rows, tag)
    with account(scale.rate, retry_after, burst) as emu:
        started = time.perf_counter()
        out, _ = asyncio.run(baseline_v3_client.run(texts, emu.base_url_v3, emu.api_key, MODEL, rate=client_rate))
        seconds = time.perf_counter() - started
    want = [expected_row(NER, PROVIDER, text)["items"] for text in texts]
    correct = out["items"].tolist() == want
    return counted(emu, "baseline", seconds, scale.rows, correct)


def run_embeddings(scale: Scale) -> dict[str, Any]:
    texts = review_texts(scale.embed_rows, "embed")
    frame = pd.DataFrame({"review": texts})
    with account(scale.rate) as emu:
        edenframe.reset_configuration()
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, rate_limit=scale.rate, progress=False)
        started = time.perf_counter()
        out = frame.eden.embed("review", providers="openai")
        seconds = time.perf_counter() - started
        edenframe.reset_configuration()
    posts = [c for c in emu.calls if c.method == "POST" and c.path == "/v3/embeddings"]
    answered = [c for c in posts if c.status == 200]
    assert_rows_match(out, frame, "review", "embed", providers="openai")
    return {
        "rows": scale.embed_rows,
        "requests": len(posts),
        "answered": len(answered),
        "rows_per_request": scale.embed_rows / max(len(answered), 1),
        "seconds": round(seconds, 3),
        "rows_per_second": scale.embed_rows / seconds,
    }


def figures_for(scale: Scale, cases: dict[str, Case], embed: dict[str, Any]) -> list[Figure]:
    rate, rows = scale.rate, scale.rows
    minimum = rows / rate

    def detail(*names: str) -> dict[str, Any]:
        return {name: {**asdict(cases[name]), "share_429": round(cases[name].share_429, 4)} for name in names}

    right, base = cases["edenframe_1x"], cases["baseline_1x"]
    figures = [
        Figure(
            "v3_throughput",
            f"edenframe wall time / (rows / budget), {rows} rows at {rate:g} req/s",
            round(right.ratio(rate), 3),
            "x the minimum",
            1.05,
            "<=",
            detail("edenframe_1x"),
            f"{right.seconds:.2f} s for {rows} rows, minimum {minimum:.1f} s; every row correct: {right.correct}",
        ),
        Figure(
            "v3_throughput_429",
            "share of those requests answered 429, in %",
            round(100 * right.share_429, 2),
            "%",
            1.0,
            "<=",
            note=f"{right.refused} of {right.ok + right.refused} POSTs",
        ),
        Figure(
            "v3_sustained",
            f"budget / rate the account admitted after its first {SKIP:g} s (its burst)",
            round(rate / right.sustained, 3),
            "x the minimum",
            1.05,
            "<=",
            note=f"{right.sustained:.2f} req/s sustained of {rate:g}; baseline {base.sustained:.2f} req/s",
        ),
        Figure(
            "v3_vs_baseline",
            "edenframe / hand-written v3 client (one POST per row, semaphore, token bucket)",
            round(right.seconds / base.seconds, 3),
            "x the baseline's time",
            detail=detail("baseline_1x"),
            note=f"baseline {base.seconds:.2f} s ({base.ratio(rate):.3f}x the minimum, "
            f"{100 * base.share_429:.1f}% 429s); its rows correct: {base.correct}",
        ),
    ]
    for mode, label in (("header", "with Retry-After"), ("none", "without Retry-After")):
        ef, bl = cases[f"edenframe_2x_{mode}"], cases[f"baseline_2x_{mode}"]
        figures.append(
            Figure(
                f"v3_2x_{mode}",
                f"client budget 2x too high, 429s {label}: edenframe wall / minimum",
                round(ef.ratio(rate), 3),
                "x the minimum",
                detail=detail(f"edenframe_2x_{mode}", f"baseline_2x_{mode}"),
                note=f"edenframe {100 * ef.share_429:.1f}% 429s, sustained {ef.sustained:.2f} req/s, rows correct "
                f"{ef.correct}; baseline "
                f"{bl.ratio(rate):.3f}x the minimum with {100 * bl.share_429:.1f}% 429s, rows correct {bl.correct}",
            )
        )
    strict, strict_base = cases["edenframe_strict"], cases["baseline_strict"]
    figures.append(
        Figure(
            "v3_strict_account",
            "account without bursts (1 request): edenframe wall / minimum",
            round(strict.ratio(rate), 3),
            "x the minimum",
            detail=detail("edenframe_strict", "baseline_strict"),
            note=f"edenframe {100 * strict.share_429:.1f}% 429s, sustained {strict.sustained:.2f} req/s; baseline "
            f"{strict_base.ratio(rate):.3f}x with {100 * strict_base.share_429:.1f}% 429s",
        )
    )
    figures.append(
        Figure(
            "v3_embeddings",
            f"v3 embeddings: rows per POST /v3/embeddings ({embed['rows']} rows)",
            round(embed["rows_per_request"], 1),
            "rows/request",
            detail=embed,
            note=f"{embed['rows_per_second']:,.0f} rows/s, {embed['rows_per_second'] / rate:,.0f}x one request per "
            f"row at {rate:g} req/s",
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 req/s, 60 rows per case (about 25 seconds)")
    parser.add_argument("--rows", type=int, default=None, help="rows per throughput case")
    parser.add_argument("--rate", type=float, default=None, help="the account's limit, requests per second")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-output", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    scale = Scale(scale.quick, args.rate or scale.rate, args.rows or scale.rows, scale.embed_rows)

    rate = scale.rate
    plan: list[tuple[str, Callable[[], Case]]] = [
        ("edenframe_1x", lambda: run_edenframe(scale, "a", rate, "header")),
        ("baseline_1x", lambda: run_baseline(scale, "b", rate, "header")),
        ("edenframe_2x_header", lambda: run_edenframe(scale, "c", 2 * rate, "header")),
        ("baseline_2x_header", lambda: run_baseline(scale, "d", 2 * rate, "header")),
        ("edenframe_2x_none", lambda: run_edenframe(scale, "e", 2 * rate, "none")),
        ("baseline_2x_none", lambda: run_baseline(scale, "f", 2 * rate, "none")),
        ("edenframe_strict", lambda: run_edenframe(scale, "g", rate, "header", burst=1.0)),
        ("baseline_strict", lambda: run_baseline(scale, "h", rate, "header", burst=1.0)),
    ]
    started = time.perf_counter()
    load_before = os.getloadavg()
    cases: dict[str, Case] = {}
    print(f"account limit {rate:g} req/s, {scale.rows} rows per case; minimum {scale.rows / rate:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="edenframe-bench-cache-") as cache_dir:
        os.environ["EDENFRAME_CACHE_DIR"] = cache_dir  # edenframe's default cache, kept out of the user's
        for name, case in plan:
            result = cases[name] = case()
            print(
                f"    {name:<20} {result.seconds:7.2f} s  {result.ratio(rate):.3f}x  "
                f"sustained {result.sustained:5.2f}/s  429s {result.refused:>3} ({100 * result.share_429:4.1f}%)  "
                f"correct {result.correct}",
                flush=True,
            )
        embed = run_embeddings(scale)
        print(f"    embeddings: {embed}", flush=True)
    seconds = time.perf_counter() - started
    figures = figures_for(scale, cases, embed)
    print_table(figures)
    lost = [name for name, case in cases.items() if not case.correct]
    print(f"\nrows lost or wrong in: {lost or 'no case'}; run took {seconds:.0f} s")
    if not args.no_output:
        write_report(args.output, scale, seconds, load_before, figures)
        print(f"results written to {args.output}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
