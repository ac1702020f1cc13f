"""edenframe benchmarks ("Scale and speed"): ratios measured in one run, against EdenEmulator on loopback.

    python benchmarks/run.py                  # the full run (about 12 minutes, half of it the 16 local subfeatures)
    python benchmarks/run.py --quick          # scaled down (about three minutes)
    python benchmarks/run.py --only typed_columns,local
    python benchmarks/run.py --profile DIR    # also write pyinstrument profiles of the CPU-bound edenframe paths

The emulator runs in a process of its own (`edenframe.testing.serve`), so its CPU work never shares the client's GIL,
and answers with the `synthetic` provider. Every figure is a ratio of two wall times taken in the same run on the same
machine, printed with its target and PASS/FAIL and written to benchmarks/results/latest.json (draw it with
benchmarks/plot.py). edenframe runs with its defaults (result cache on, in a temporary directory).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUTPUT = HERE / "results" / "latest.json"
sys.path.insert(0, str(HERE))

import baseline_client  # noqa: E402  (beside this file)
from local_cases import CASES as LOCAL_CASES  # noqa: E402
from local_cases import LocalCase  # noqa: E402
from local_cases import Skip as LocalSkip  # noqa: E402

API_KEY = "bench-key"
SUBFEATURE = "text/sentiment_analysis"
PROVIDER = "synthetic"
JOB_SIZE = 500  # Eden AI's batch limits
JOB_SLOTS = 5

_SERVE = (
    "import sys\n"
    "from edenframe.testing import serve\n"
    "serve(port=0, api_key=sys.argv[1], job_seconds=float(sys.argv[2]), page_size=int(sys.argv[3]),\n"
    "      latency=float(sys.argv[4]), log_requests=False)\n"
)


@dataclass(frozen=True)
class Scale:
    """Sizes of one run (full or --quick)."""

    quick: bool
    baseline_rows: int
    reps: int
    latency_rows: int
    naive_rows: int
    typed_rows: int
    job_rows: int
    memory_rows: int  # the local subfeatures' row counts are in local_cases.py (full and quick)


FULL = Scale(False, 20_000, 5, 20_000, 50, 1_000_000, 100_000, 1_000_000)
QUICK = Scale(True, 20_000, 3, 5_000, 20, 200_000, 10_000, 100_000)


@dataclass
class Figure:
    key: str
    title: str
    value: float
    unit: str  # how `value` reads: "x slower" means lower is better, "x faster" higher is better
    target: float | None = None
    op: str = ""  # "<=" or ">=" (value op target passes); "" for a figure shown for information only
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


# ---------------------------------------------------------------------------------------------------------------
# Helpers


class EmulatorProcess:
    """`EdenEmulator` served from a child process, on a free loopback port."""

    def __init__(self, *, job_seconds: float = 0.0, page_size: int = 100, latency: float = 0.0) -> None:
        self.options = (job_seconds, page_size, latency)
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorProcess:
        job_seconds, page_size, latency = self.options
        command = [sys.executable, "-c", _SERVE, API_KEY, str(job_seconds), str(page_size), str(latency)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on (\S+)", line)
        if not found:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the emulator did not start (it printed {line!r})")
        self.base_url = found.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def connect(base_url: str, **settings: Any) -> None:
    import edenframe

    edenframe.reset_configuration()
    edenframe.configure(api_key=API_KEY, base_url=base_url, progress=False, **settings)


@contextmanager
def emulator(**options: Any) -> Iterator[EmulatorProcess]:
    import edenframe

    with EmulatorProcess(**options) as emu:
        connect(emu.base_url)
        try:
            yield emu
        finally:
            edenframe.reset_configuration()


def sample_reviews() -> list[str]:
    """The bundled product reviews (300, in seven languages), without blank ones."""
    with resources.files("edenframe").joinpath("data/reviews.csv").open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, keep_default_na=False, na_values=[""])
    return [text for text in frame["review"].dropna() if text.strip()]


_REVIEWS: list[str] = []


def review_texts(rows: int, tag: str) -> list[str]:
    """`rows` distinct realistic texts (so nothing is deduplicated); `tag` keeps runs apart."""
    if not _REVIEWS:
        _REVIEWS.extend(sample_reviews())
    return [f"{_REVIEWS[i % len(_REVIEWS)]} [{tag}:{i}]" for i in range(rows)]


def review_frame(rows: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame({"review": review_texts(rows, tag)})


def eden_sentiment(frame: pd.DataFrame, **options: Any) -> pd.DataFrame:
    return frame.eden.sentiment("review", providers=PROVIDER, **options)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def interleaved(variants: dict[str, Callable[[int], Any]], reps: int, first: int = 0) -> dict[str, list[float]]:
    """Run each variant `reps` times (repetitions first, first + 1, ...), rotating the order every repetition (so
    neither always goes first)."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(first, first + reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            seconds, _ = timed(lambda name=name, rep=rep: variants[name](rep))
            times[name].append(seconds)
    return times


def spread(times: list[float]) -> dict[str, float]:
    return {"best": round(min(times), 4), "median": round(statistics.median(times), 4), "runs": len(times)}


class Profiles:
    """pyinstrument profiles of edenframe's CPU-bound paths, written as text when --profile is given."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def run(self, name: str, function: Callable[[], Any]) -> None:
        if self.folder is None:
            return
        from pyinstrument import Profiler

        self.folder.mkdir(parents=True, exist_ok=True)
        profiler = Profiler(interval=0.001)
        profiler.start()
        try:
            function()
        finally:
            profiler.stop()
        path = self.folder / f"{name}.txt"
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
        print(f"    profile written to {path}", flush=True)


# ---------------------------------------------------------------------------------------------------------------
# 1. Batch protocol: edenframe vs a hand-written aiohttp client


def bench_batch_vs_baseline(scale: Scale, profiles: Profiles) -> list[Figure]:
    rows, reps = scale.baseline_rows, scale.reps
    with emulator() as emu:
        frames = {f"{tag}{rep}": review_frame(rows, f"{tag}{rep}") for rep in range(reps) for tag in ("e", "n", "b")}

        def baseline(rep: int) -> pd.DataFrame:
            texts = frames[f"b{rep}"]["review"].tolist()
            return baseline_client.run(texts, base_url=emu.base_url, api_key=API_KEY, provider=PROVIDER)

        variants = {
            "edenframe": lambda rep: eden_sentiment(frames[f"e{rep}"]),
            "edenframe_no_cache": lambda rep: eden_sentiment(frames[f"n{rep}"], cache=False),
            "baseline": baseline,
        }
        eden_sentiment(review_frame(1000, "warm"))  # imports, first connection
        baseline_client.run(review_texts(1000, "warm-b"), base_url=emu.base_url, api_key=API_KEY, provider=PROVIDER)
        times = interleaved(variants, reps)

        # The two clients must agree on every row (the synthetic provider is deterministic per input).
        check = review_frame(2000, "agree")
        ours = eden_sentiment(check, cache=False)
        theirs = baseline_client.run(check["review"].tolist(), base_url=emu.base_url, api_key=API_KEY)
        agree = ours["sentiment_general_sentiment"].astype(str).tolist() == theirs["general_sentiment"].tolist()
        profiles.run("batch_edenframe", lambda: eden_sentiment(review_frame(rows, "prof")))

    best = {name: min(values) for name, values in times.items()}
    detail = {name: spread(values) for name, values in times.items()}
    detail.update(rows=rows, results_agree=agree)
    return [
        Figure(
            "batch_vs_baseline",
            f"edenframe / hand-written aiohttp client, {rows:,} rows, zero latency",
            round(best["edenframe"] / best["baseline"], 3),
            "x the baseline's time",
            1.1,
            "<=",
            detail,
            f"best of {reps} interleaved runs each; edenframe {best['edenframe']:.2f} s, baseline "
            f"{best['baseline']:.2f} s; both clients return the same labels: {agree}",
        ),
        Figure(
            "batch_vs_baseline_no_cache",
            f"same, edenframe with cache=False, {rows:,} rows",
            round(best["edenframe_no_cache"] / best["baseline"], 3),
            "x the baseline's time",
            detail={"edenframe_no_cache": detail["edenframe_no_cache"]},
            note=f"edenframe {best['edenframe_no_cache']:.2f} s without writing results to the SQLite cache",
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# 2. Batch vs a naive loop over the sync endpoint, 200 ms per request


def naive_sync_loop(texts: list[str], base_url: str) -> pd.DataFrame:
    """What a first script looks like: one POST per row, one at a time, then json_normalize."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    objects = []
    for text in texts:
        request = urllib.request.Request(
            f"{base_url}/{SUBFEATURE}/",
            data=json.dumps({"text": text, "providers": PROVIDER}).encode(),
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
            method="POST",
        )
        with opener.open(request, timeout=60) as response:
            objects.append(json.load(response)[PROVIDER])
    return pd.json_normalize(objects)


def bench_batch_vs_naive(scale: Scale, profiles: Profiles) -> list[Figure]:
    latency = 0.2
    with emulator(latency=latency) as emu:
        naive_rows = scale.naive_rows
        naive_seconds, naive = timed(lambda: naive_sync_loop(review_texts(naive_rows, "naive"), emu.base_url))
        assert len(naive) == naive_rows
        per_row = naive_seconds / naive_rows
        rows = scale.latency_rows
        frame = review_frame(rows, "latency")
        eden_seconds, out = timed(lambda: eden_sentiment(frame))
        assert out["sentiment_error"].isna().all()
    naive_total = per_row * rows
    return [
        Figure(
            "batch_vs_naive_sync",
            f"naive per-row sync loop / edenframe, {rows:,} rows, {latency * 1000:.0f} ms per request",
            round(naive_total / eden_seconds, 1),
            "x faster",
            50.0,
            ">=",
            {
                "rows": rows,
                "latency_seconds": latency,
                "naive_rows_measured": naive_rows,
                "naive_seconds_measured": round(naive_seconds, 3),
                "naive_seconds_per_row": round(per_row, 4),
                "naive_seconds_extrapolated": round(naive_total, 1),
                "edenframe_seconds": round(eden_seconds, 3),
                "edenframe_jobs": out.attrs["edenframe"]["jobs"],
            },
            f"the naive loop was measured on {naive_rows} rows ({per_row * 1000:.0f} ms per row) and extrapolated "
            f"to {rows:,} rows = {naive_total:,.0f} s; edenframe took {eden_seconds:.1f} s",
        )
    ]


# ---------------------------------------------------------------------------------------------------------------
# 3. Typed columns from responses vs pd.json_normalize


def bench_typed_columns(scale: Scale, profiles: Profiles) -> list[Figure]:
    from edenframe import get_subfeature
    from edenframe._pipeline._frame import ProviderColumns
    from edenframe._pipeline._plan import build_requests, plan_requests
    from edenframe._pipeline._results import UnitResults, absorb
    from edenframe._transport import Outcome
    from edenframe.testing import synthetic_cost, synthetic_output

    rows = scale.typed_rows
    entry = get_subfeature(SUBFEATURE)
    samples = []
    for text in review_texts(2000, "typed-sample"):
        item = {"text": text}
        cost = synthetic_cost(entry, PROVIDER, item)
        samples.append({**synthetic_output(entry, PROVIDER, item), "status": "success", "cost": cost})
    # One provider object per row, as the batch pages deliver them (each a separate dict, as json.loads makes them).
    objects = []
    for i in range(rows):
        sample = samples[i % len(samples)]
        objects.append({**sample, "items": [dict(segment) for segment in sample["items"]]})

    values = pd.Series(review_texts(rows, "typed"))
    plan = plan_requests(entry, values, "review", {})
    requests = build_requests(plan, range(plan.units), (PROVIDER,))
    index = {item["name"]: position for position, item in enumerate(requests.items)}
    outcomes = {
        item["name"]: Outcome(response={PROVIDER: obj}) for item, obj in zip(requests.items, objects, strict=True)
    }

    def edenframe_columns() -> pd.DataFrame:
        results = {PROVIDER: UnitResults(PROVIDER, 0, plan.units)}
        absorb(entry, requests, index, outcomes, results, keep=False)  # as a run without a cache does
        columns = ProviderColumns(PROVIDER, entry.row_output)
        columns.add(0, results[PROVIDER])
        result = columns.finish(plan.row_unit)
        return pd.DataFrame({**result.fields, "cost": result.cost, "error": result.error})

    times = interleaved(
        {"edenframe": lambda _: edenframe_columns(), "json_normalize": lambda _: pd.json_normalize(objects)}, 2
    )
    typed = edenframe_columns()
    assert typed["error"].isna().all() and len(typed) == rows
    profiles.run("typed_columns_edenframe", edenframe_columns)

    best = {name: min(values) for name, values in times.items()}
    return [
        Figure(
            "typed_columns",
            f"pd.json_normalize / edenframe typed columns, {rows:,} sentiment results",
            round(best["json_normalize"] / best["edenframe"], 2),
            "x faster",
            2.0,
            ">=",
            {
                "rows": rows,
                **{name: spread(values) for name, values in times.items()},
                "edenframe_dtypes": {k: str(v) for k, v in typed.dtypes.items()},
            },
            f"edenframe (responses -> unit records -> category/float64/list<struct> columns, error, cost) "
            f"{best['edenframe']:.2f} s; json_normalize (untyped: strings and object lists) "
            f"{best['json_normalize']:.2f} s",
        )
    ]


# ---------------------------------------------------------------------------------------------------------------
# 4. Wall time against the theoretical minimum with 1 s jobs


def bench_job_time(scale: Scale, profiles: Profiles) -> list[Figure]:
    job_seconds = 1.0
    rows = scale.job_rows
    jobs = math.ceil(rows / JOB_SIZE)
    minimum = math.ceil(jobs / JOB_SLOTS) * job_seconds
    figures = []
    with emulator(job_seconds=job_seconds) as emu:
        eden_sentiment(review_frame(10, "warm"))
        seconds, out = timed(lambda: eden_sentiment(review_frame(rows, "jobs")))
        assert out.attrs["edenframe"]["jobs"] == jobs
        figures.append(
            Figure(
                "job_time",
                f"wall time / theoretical minimum, {rows:,} rows, {job_seconds:g} s jobs",
                round(seconds / minimum, 3),
                "x the minimum",
                1.15,
                "<=",
                {"rows": rows, "jobs": jobs, "seconds": round(seconds, 2), "minimum_seconds": minimum},
                f"{jobs} jobs of {JOB_SIZE}, {JOB_SLOTS} at a time: at least {minimum:g} s; took {seconds:.1f} s "
                "(default polling: 0.25 s, growing 1.5x per poll)",
            )
        )
        connect(emu.base_url, poll_interval=0.05)
        seconds, _ = timed(lambda: eden_sentiment(review_frame(rows, "jobs-fast-poll")))
        figures.append(
            Figure(
                "job_time_poll_0.05",
                f"same with configure(poll_interval=0.05), {rows:,} rows",
                round(seconds / minimum, 3),
                "x the minimum",
                detail={"rows": rows, "jobs": jobs, "seconds": round(seconds, 2), "minimum_seconds": minimum},
                note=f"took {seconds:.1f} s",
            )
        )
    return figures


# ---------------------------------------------------------------------------------------------------------------
# 5. Peak memory of a large run (measured in a fresh process)


def memory_child(rows: int, base_url: str) -> None:
    """Runs in its own process: prints one JSON line with the peak RSS above the baseline and the frame sizes."""
    import psutil

    import edenframe  # noqa: F401  (registers df.eden)

    connect(base_url)
    eden_sentiment(review_frame(2000, "memory-warm"))
    gc.collect()
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    frame = review_frame(rows, "memory")
    out = eden_sentiment(frame)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    new_columns = out.drop(columns=list(frame.columns))
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(seconds, 2),
                "baseline_rss": baseline,
                "peak_rss": peak[0],
                "peak_above_baseline": peak[0] - baseline,
                "input_bytes": int(frame.memory_usage(deep=True).sum()),
                "output_bytes": int(out.memory_usage(deep=True).sum()),
                "new_columns_bytes": int(new_columns.memory_usage(deep=True).sum()),
                "failed": out.attrs["edenframe"]["failed"],
            }
        ),
        flush=True,
    )


def bench_memory(scale: Scale, profiles: Profiles) -> list[Figure]:
    rows = scale.memory_rows
    with EmulatorProcess() as emu:
        command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(rows), emu.base_url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the memory run failed:\n{done.stderr[-3000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    frames = data["input_bytes"] + data["output_bytes"]
    mib = 2**20
    return [
        Figure(
            "memory",
            f"peak memory above baseline / (input + output frames), {rows:,} rows",
            round(data["peak_above_baseline"] / frames, 2),
            "x the frames",
            3.0,
            "<=",
            data,
            f"peak {data['peak_above_baseline'] / mib:,.0f} MiB above the process baseline (RSS sampled every 5 ms); "
            f"input {data['input_bytes'] / mib:,.0f} MiB + output {data['output_bytes'] / mib:,.0f} MiB "
            f"(memory_usage(deep=True); the output repeats the input column); run took {data['seconds']:.1f} s",
        ),
        Figure(
            "memory_vs_new_data",
            f"same, against input + the new columns only, {rows:,} rows",
            round(data["peak_above_baseline"] / (data["input_bytes"] + data["new_columns_bytes"]), 2),
            "x the data",
            note=f"new columns {data['new_columns_bytes'] / mib:,.0f} MiB",
        ),
        Figure(
            "throughput_1m",
            f"rows per second, {rows:,} rows at zero job time",
            round(rows / data["seconds"]),
            "rows/s",
            note="wall time of the whole call, emulator in another process",
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Local subfeatures: df.eden.<method>(..., providers="local") vs the library in a loop


CHEAP_REP_SECONDS = 3.0


def _local_figures(case: LocalCase, scale: Scale, profiles: Profiles, folder: Path) -> list[Figure]:
    rows = case.rows(scale.quick)
    compares = {"direct": case.direct, **case.extras}
    loops = {name: compare.make() for name, compare in compares.items()}  # loads each library (untimed)

    def frame(tag: str, count: int) -> pd.DataFrame:
        return pd.DataFrame({"review": case.values(review_texts(count, f"{case.method}{tag}"), folder)})

    def eden(data: pd.DataFrame) -> pd.DataFrame:
        return getattr(data.eden, case.method)("review", providers="local", progress=False, **case.options)

    warm = frame("-warm", case.warm_rows)
    eden(warm)  # imports, model loading, pre-flight checks (a missing command raises MissingDependencyError)
    frames: dict[int, pd.DataFrame] = {}

    def data(rep: int) -> pd.DataFrame:
        if rep not in frames:
            frames[rep] = frame(str(rep), rows)
        return frames[rep]

    for rep in range(2):
        data(rep)
    counted = {name: min(rows, compare.max_rows or rows) for name, compare in compares.items()}
    failed: list[int] = []

    def edenframe(rep: int) -> pd.DataFrame:
        out = eden(data(rep))
        failed.append(int(out.attrs["edenframe"]["failed"]))
        return out

    variants: dict[str, Callable[[int], Any]] = {"edenframe": edenframe}
    for name, loop in loops.items():
        loop(warm["review"].tolist()[: counted[name]])
        variants[name] = lambda rep, loop=loop, n=counted[name]: loop(data(rep)["review"].tolist()[:n])
    times = interleaved(variants, 2)
    if max(times["edenframe"]) < CHEAP_REP_SECONDS:
        # A repetition this short is easily disturbed by other work on the machine, and cheap to repeat: three more
        # (on fresh inputs), so each side's best is closer to its real speed.
        for name, more in interleaved(variants, 3, first=2).items():
            times[name].extend(more)
    rate = {name: counted.get(name, rows) / min(values) for name, values in times.items()}
    detail: dict[str, Any] = {"rows": rows, "direct": case.direct.label}
    detail.update({name: spread(values) for name, values in times.items()})
    detail["rows_per_second"] = {name: round(value) for name, value in rate.items()}
    detail["failed_rows"] = max(failed)
    failures = f"; {max(failed):,} rows failed in edenframe" if max(failed) else ""
    figures = [
        Figure(
            f"local_{case.method}",
            f"local {case.method}: edenframe / {case.direct.label}, {rows:,} rows"
            + (f" (the loop on the first {counted['direct']:,})" if counted["direct"] < rows else ""),
            round(rate["direct"] / rate["edenframe"], 3),
            "x the loop's time",
            1.2,
            "<=",
            detail,
            f"{rate['edenframe']:,.0f} rows/s through edenframe, {rate['direct']:,.0f} rows/s in the loop"
            + (f"; {case.note}" if case.note else "")
            + failures,
        )
    ]
    for name, compare in case.extras.items():
        measured = f"measured on {counted[name]:,} rows" if counted[name] < rows else f"{rows:,} rows"
        figures.append(
            Figure(
                f"local_{case.method}_{name}",
                f"local {case.method}: edenframe / {compare.label}, {measured}",
                round(rate[name] / rate["edenframe"], 3),
                "x the loop's time",
                detail={"rows": counted[name], name: detail[name], "rows_per_second": round(rate[name])},
                note=f"{rate[name]:,.0f} rows/s" + (f": {compare.note}" if compare.note else ""),
            )
        )
    if profiles.folder is not None:
        fresh = frame("-prof", rows)  # inputs of its own, like every timed run
        profiles.run(f"local_{case.method}", lambda: eden(fresh))
    return figures


def bench_local(scale: Scale, profiles: Profiles, cases: frozenset[str] = frozenset()) -> list[Figure]:
    """One figure (plus information figures) per local case; `cases`: only these methods (empty: all)."""
    from edenframe._local import IMPLEMENTATIONS

    uncovered = sorted(set(IMPLEMENTATIONS) - {case.path for case in LOCAL_CASES})
    if uncovered:
        print(f"    no benchmark case for local {', '.join(uncovered)}", flush=True)
    figures = []
    for case in LOCAL_CASES:
        if case.path not in IMPLEMENTATIONS or (cases and case.method not in cases):
            continue
        began = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix=f"edenframe-bench-{case.method}-") as folder:
                found = _local_figures(case, scale, profiles, Path(folder))
        except (ImportError, LocalSkip) as exc:  # edenframe's MissingDependencyError is an ImportError
            print(f"    local {case.method}: skipped ({exc})", flush=True)
            continue
        figures.extend(found)
        print(
            f"    local {case.method}: {found[0].value:.3f}x, {case.rows(scale.quick):,} rows "
            f"({time.perf_counter() - began:.1f} s)",
            flush=True,
        )
    return figures


# ---------------------------------------------------------------------------------------------------------------
# Driver

BENCHMARKS: dict[str, Callable[[Scale, Profiles], list[Figure]]] = {
    "batch_vs_baseline": bench_batch_vs_baseline,
    "batch_vs_naive_sync": bench_batch_vs_naive,
    "typed_columns": bench_typed_columns,
    "job_time": bench_job_time,
    "memory": bench_memory,
    "local": bench_local,
}


def write_report(output: Path, scale: Any, seconds: float, load_before: Any, figures: list[Figure]) -> None:
    """The run's figures as JSON (results/*.json): when, how loaded the machine was, at what scale."""
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": scale.quick,
        "seconds": round(seconds, 1),
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "machine": machine(),
        "scale": asdict(scale),
        "figures": [f.as_json() for f in figures],
    }
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def machine() -> dict[str, Any]:
    import aiohttp
    import numpy
    import psutil
    import pyarrow

    import edenframe

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "edenframe": edenframe.__version__,
            "pandas": pd.__version__,
            "pyarrow": pyarrow.__version__,
            "numpy": numpy.__version__,
            "aiohttp": aiohttp.__version__,
        },
        "commit": commit + ("+uncommitted changes" if dirty else ""),
    }


def print_table(figures: list[Figure]) -> None:
    width = max(len(f.title) for f in figures)
    print()
    print(f"{'benchmark':<{width}}  {'measured':>12}  {'target':>10}  result")
    print("-" * (width + 38))
    for figure in figures:
        value = f"{figure.value:,.3g}" if figure.value < 1000 else f"{figure.value:,.0f}"
        unit = "x" if figure.unit.startswith("x") else f" {figure.unit}"
        measured = f"{value}{unit}"
        target = f"{figure.op} {figure.target:g}{unit}" if figure.target is not None else "info"
        result = {True: "PASS", False: "FAIL", None: ""}[figure.passed]
        print(f"{figure.title:<{width}}  {measured:>12}  {target:>10}  {result}")
    print()
    for figure in figures:
        if figure.note:
            print(f"- {figure.key}: {figure.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled-down sizes (one to two minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--local-cases", default="", help="comma-separated methods of the local benchmark to run (default: all)"
    )
    parser.add_argument("--profile", type=Path, default=None, help="write pyinstrument profiles into this folder")
    parser.add_argument("--output", type=Path, default=None, help=f"results file (default {DEFAULT_OUTPUT})")
    parser.add_argument("--memory-child", nargs=2, metavar=("ROWS", "BASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        memory_child(int(args.memory_child[0]), args.memory_child[1])
        return 0

    selected = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    cases = frozenset(name.strip() for name in args.local_cases.split(",") if name.strip())
    unknown = sorted(cases - {case.method for case in LOCAL_CASES})
    if unknown:
        parser.error(f"unknown local case(s) {unknown}; choose from {[case.method for case in LOCAL_CASES]}")
    benchmarks = {**BENCHMARKS, "local": functools.partial(bench_local, cases=cases)}
    output = args.output or (DEFAULT_OUTPUT if not (args.only or cases) else None)
    scale = QUICK if args.quick else FULL
    profiles = Profiles(args.profile)

    import edenframe  # noqa: F401  (registers df.eden)

    started = time.perf_counter()
    load_before = os.getloadavg()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="edenframe-bench-cache-") as cache_dir:
        os.environ["EDENFRAME_CACHE_DIR"] = cache_dir  # edenframe's default cache, kept out of the user's
        for name in selected:
            print(f"running {name} ...", flush=True)
            began = time.perf_counter()
            found = benchmarks[name](scale, profiles)
            figures.extend(found)
            for figure in found:
                shown = {True: "PASS", False: "FAIL", None: "info"}[figure.passed]
                print(f"    {figure.key}: {figure.value:,.3f} {figure.unit} [{shown}]", flush=True)
            print(f"    ({time.perf_counter() - began:.1f} s)", flush=True)
    seconds = time.perf_counter() - started

    print_table(figures)
    targets = [f for f in figures if f.passed is not None]
    print(f"\n{sum(bool(f.passed) for f in targets)} of {len(targets)} targets met; run took {seconds:.0f} s")
    if output is not None:
        write_report(output, scale, seconds, load_before, figures)
        print(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
