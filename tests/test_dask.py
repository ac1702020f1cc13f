"""`ddf.eden` on Dask: the same results and dtypes as pandas, meta from the catalog, validation before compute, the
client's settings on the workers, and the account's 5-job limit held across a multi-process cluster."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import require_extra, sent

import edenframe
from edenframe import MissingAPIKeyError, ValidationError
from edenframe._config import current_settings
from edenframe.testing import EdenEmulator
from edenframe.testing._v3 import AccountRateLimit

require_extra("dask")
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

PARTITION_ROWS = 30


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def client(cluster: LocalCluster) -> Iterator[Client]:
    with Client(cluster) as active:
        yield active


@pytest.fixture
def emu() -> Iterator[EdenEmulator]:
    with EdenEmulator() as server:
        yield server


def reviews_frame(partitions: int = 3) -> pd.DataFrame:
    """Rows with missing, blank and duplicated inputs (duplicates inside one partition), on a string index."""
    texts: list[str | None] = []
    for i in range(partitions * PARTITION_ROWS // 2):
        text = f"Review {i}: the sound is great. The case broke after a week."
        texts.extend([text, text] if i % 3 == 0 else [text, f"Another opinion, number {i}."])
    texts[4], texts[11], texts[40] = None, "   ", ""
    index = pd.Index([f"r{i:03d}" for i in range(len(texts))], name="key")
    return pd.DataFrame({"review": texts, "stars": np.arange(len(texts)) % 5 + 1}, index=index)


def to_dask(frame: pd.DataFrame) -> dd.DataFrame:
    return dd.from_pandas(frame, chunksize=PARTITION_ROWS, sort=False)


def connect(emu: EdenEmulator, **settings: object) -> None:
    edenframe.configure(
        **{"api_key": emu.api_key, "base_url": emu.base_url, "poll_interval": 0.02, "cache": False, **settings}
    )


def test_named_method_gives_the_pandas_result(client: Client, emu: EdenEmulator) -> None:
    connect(emu)
    ddf = to_dask(reviews_frame())
    assert ddf.npartitions == 3

    lazy = ddf.eden.sentiment("review", providers="synthetic")
    assert sent(emu) == []  # nothing is sent before compute (the provider list was read to check 'synthetic')
    result = lazy.compute()

    expected = ddf.compute().eden.sentiment("review", providers="synthetic")
    pd.testing.assert_frame_equal(result, expected)
    assert result["sentiment_error"].isna().all()
    assert result.loc[["r004", "r011", "r040"], "sentiment_general_sentiment"].isna().all()
    assert "edenframe" not in result.attrs and "edenframe_history" not in result.attrs


def test_meta_dtypes_equal_the_computed_dtypes(client: Client, emu: EdenEmulator) -> None:
    connect(emu)
    ddf = to_dask(reviews_frame())
    calls = [
        lambda: ddf.eden.sentiment("review", providers="google,amazon", prefix="s"),
        lambda: ddf.eden.run("text/keyword_extraction", "review", providers="synthetic"),
        lambda: ddf.eden.detect_language("review", providers="synthetic"),
        lambda: ddf.eden.embed("review", providers="synthetic"),
        lambda: ddf.eden.moderate("review", providers="synthetic"),
    ]
    pandas_input = ddf.compute()
    for make in calls:
        lazy = make()
        result = lazy.compute()
        assert list(lazy.columns) == list(result.columns)
        assert dict(lazy._meta.dtypes) == dict(result.dtypes)
        assert lazy._meta.empty

    expected = pandas_input.eden.sentiment("review", providers="google,amazon", prefix="s")
    pd.testing.assert_frame_equal(calls[0]().compute(), expected)


def test_local_provider_runs_on_the_workers_without_a_key(client: Client) -> None:
    pytest.importorskip("vaderSentiment")
    ddf = to_dask(reviews_frame())
    result = ddf.eden.sentiment("review").compute()
    expected = ddf.compute().eden.sentiment("review")
    pd.testing.assert_frame_equal(result, expected)


def test_validation_errors_are_raised_before_compute(emu: EdenEmulator) -> None:
    connect(emu)
    ddf = to_dask(reviews_frame())
    with pytest.raises(ValidationError, match="Did you mean 'review'"):
        ddf.eden.sentiment("reveiw", providers="synthetic")
    with pytest.raises(ValidationError, match="unexpected parameter 'langage'"):
        ddf.eden.sentiment("review", providers="synthetic", langage="en")
    with pytest.raises(ValidationError):
        ddf.eden.run("text/no_such_subfeature", "review", providers="synthetic")
    with pytest.raises(ValidationError, match="already exist"):
        to_dask(reviews_frame().assign(sentiment_cost=1.0)).eden.sentiment("review", providers="synthetic")
    with pytest.raises(ValidationError, match="not supported on a Dask DataFrame"):
        ddf.eden.sentiment("review", providers="synthetic", dry_run=True)
    edenframe.reset_configuration()
    with pytest.raises(MissingAPIKeyError):
        ddf.eden.sentiment("review", providers="google")
    assert emu.calls == []


def test_client_settings_reach_the_workers(client: Client, emu: EdenEmulator, tmp_path: Path) -> None:
    # Key, base URL and cache are configured here only: the worker processes have no configure() state.
    connect(emu, cache=tmp_path / "shared-cache")
    frame = reviews_frame()
    result = to_dask(frame).eden.sentiment("review", providers="synthetic").compute()
    assert result["sentiment_error"].isna().all()
    charged = len(emu.ledger)
    assert charged > 0

    # The workers filled the client's cache: the same call in pandas is answered from it without a request.
    again = to_dask(frame).compute().eden.sentiment("review", providers="synthetic")
    report = again.attrs["edenframe"]
    assert report["cached"] == report["rows"] - report["skipped"] - report["deduplicated"] > 0
    assert len(emu.ledger) == charged
    pd.testing.assert_series_equal(
        again["sentiment_general_sentiment"], result["sentiment_general_sentiment"], check_names=True
    )


def test_job_limit_is_held_across_worker_processes(client: Client) -> None:
    # The server here accepts up to 100 running jobs, so only the client side can keep to Eden AI's 5.
    with EdenEmulator(job_seconds=0.3, max_running_jobs=100) as emu:
        connect(emu, batch_size=10)
        frame = pd.DataFrame({"review": [f"text number {i}" for i in range(240)]})
        ddf = dd.from_pandas(frame, npartitions=4, sort=False)  # 6 jobs of 10 requests per partition
        result = ddf.eden.sentiment("review", providers="synthetic").compute()
        assert result["sentiment_error"].isna().all()
        assert len({call.path for call in emu.calls if call.method == "POST"}) == 24
        assert 2 <= emu.max_running_seen <= 5


def test_without_the_semaphore_workers_exceed_the_job_limit(client: Client) -> None:
    """The control for the test above: plain map_partitions (no cluster-wide semaphore) lets each worker process
    run its own 5 jobs, so the server sees more than 5 at once."""
    with EdenEmulator(job_seconds=0.5, max_running_jobs=100) as emu:
        frame = pd.DataFrame({"review": [f"text number {i}" for i in range(6000)]})
        ddf = dd.from_pandas(frame, npartitions=2, sort=False)  # 6 jobs of 500 requests per partition
        key, url = emu.api_key, emu.base_url

        def naive(part: pd.DataFrame) -> pd.DataFrame:
            import edenframe

            edenframe.reset_configuration()  # a worker without the settings the accessor would have shipped
            out = part.eden.sentiment(
                "review", providers="synthetic", api_key=key, base_url=url, progress=False, cache=False
            )
            out.attrs = {}
            return out

        meta = ddf.eden.sentiment("review", providers="synthetic", api_key=key, base_url=url, cache=False)._meta
        ddf.map_partitions(naive, meta=meta).compute()
        assert emu.max_running_seen > 5


def test_v3_rate_budget_is_split_between_worker_processes(client: Client) -> None:
    # Two worker processes each at the account's full rate would start twice what it allows; the client gives each
    # half when it builds the graph, so the account's limit refuses (almost) nothing.
    with EdenEmulator(account_rate_limit=AccountRateLimit(rate=10.0)) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, cache=False, rate_limit=10)
        frame = pd.DataFrame({"review": [f"text number {i}" for i in range(60)]})
        ddf = dd.from_pandas(frame, npartitions=2, sort=False)
        result = ddf.eden.ner("review", providers="amazon").compute()
        statuses = [call.status for call in emu.calls if call.path == "/v3/universal-ai"]
    assert result["ner_error"].isna().all()
    assert statuses.count(200) == 60
    assert statuses.count(429) <= 1, statuses.count(429)


def test_threaded_scheduler_without_a_client(emu: EdenEmulator) -> None:
    connect(emu)
    before = current_settings()
    ddf = to_dask(reviews_frame())
    result = ddf.eden.keywords("review", providers="synthetic").compute(scheduler="threads")
    expected = ddf.compute().eden.keywords("review", providers="synthetic")
    pd.testing.assert_frame_equal(result, expected)
    assert current_settings() == before  # the user's configuration is left as it was


def test_threaded_scheduler_keeps_to_a_configured_semaphore() -> None:
    with EdenEmulator(job_seconds=0.2, max_running_jobs=100) as emu:
        connect(emu, batch_size=10, job_semaphore=threading.BoundedSemaphore(5))
        frame = pd.DataFrame({"review": [f"text number {i}" for i in range(240)]})
        ddf = dd.from_pandas(frame, npartitions=4, sort=False)  # 4 threads x 6 jobs would be up to 20 at once
        result = ddf.eden.sentiment("review", providers="synthetic").compute(scheduler="threads", num_workers=4)
        assert result["sentiment_error"].isna().all()
        assert emu.max_running_seen <= 5


def varied_reviews(rows: int = 400, seed: int = 11) -> pd.DataFrame:
    """Texts of one to six sample reviews each: sentence splitting differs from row to row."""
    rng = random.Random(seed)
    pool = [text for text in edenframe.datasets.reviews()["review"].dropna() if text.strip()]
    texts = [f"{i}. " + " ".join(rng.sample(pool, rng.randint(1, 6))) for i in range(rows)]
    return pd.DataFrame({"review": texts}, index=pd.Index([f"r{i:04d}" for i in range(rows)], name="key"))


@pytest.mark.parametrize(
    ("method", "options"), [("sentiment", {}), ("summarize", {"output_sentences": 2}), ("keywords", {})]
)
def test_local_results_under_the_threaded_scheduler_equal_pandas(method: str, options: dict) -> None:
    """Dask's default scheduler runs the partitions on threads at once; the local backends share nothing that
    would make a row's result depend on what the other threads are doing (a shared pysbd Segmenter did)."""
    pytest.importorskip("vaderSentiment")
    frame = varied_reviews()
    ddf = dd.from_pandas(frame, npartitions=4, sort=False)
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads interleave finely, as on a busy machine
    try:
        result = getattr(ddf.eden, method)("review", **options).compute(scheduler="threads", num_workers=4)
    finally:
        sys.setswitchinterval(before)
    expected = getattr(ddf.compute().eden, method)("review", **options)
    differing = [key for key in expected.index if repr(result.loc[key].tolist()) != repr(expected.loc[key].tolist())]
    assert differing == []
    pd.testing.assert_frame_equal(result, expected)


def test_bad_local_parameters_are_refused_when_the_graph_is_built() -> None:
    """The pandas call refuses them before any row runs; on Dask that is when the method is called, not at
    compute."""
    pytest.importorskip("vaderSentiment")
    ddf = to_dask(reviews_frame())
    with pytest.raises(ValidationError, match="English only, not language='xx'"):
        ddf.eden.sentiment("review", language="xx")
    with pytest.raises(ValidationError, match="no dictionary for language='ja'"):
        ddf.eden.spell_check("review", language="ja")
    with pytest.raises(ValidationError, match="output_sentences"):
        ddf.eden.summarize("review", output_sentences=0)
    # valid local calls still build (and compute) as before
    lazy = ddf.eden.spell_check("review", language="en")
    assert list(lazy.columns)[-1] == "spell_check_error"


def test_overwrite_replaces_columns_in_meta_as_in_pandas(emu: EdenEmulator) -> None:
    connect(emu)
    frame = reviews_frame().assign(sentiment_cost=1.0)
    lazy = to_dask(frame).eden.sentiment("review", providers="synthetic", overwrite=True)
    result = lazy.compute(scheduler="threads")
    expected = to_dask(frame).compute().eden.sentiment("review", providers="synthetic", overwrite=True)
    pd.testing.assert_frame_equal(result, expected)
    assert list(lazy.columns) == list(result.columns)
    assert dict(lazy._meta.dtypes) == dict(result.dtypes)


# -- ddf.eden.prompt: not a catalog method (its columns depend on the schema), meta typed from the schema ----------

LLM = "openai/gpt-4o-mini"
RATING = {"label": ["positive", "negative", "neutral"], "score": float, "stars": int, "tags": [str]}
TEMPLATE = "Rate this review ({stars} stars): {review}"


def chats(emu: EdenEmulator) -> int:
    return sum(1 for c in emu.calls if c.method == "POST" and c.path == "/v3/chat/completions")


@pytest.mark.parametrize("scheduler", ["distributed", "threads"])
def test_prompt_gives_the_pandas_result_with_meta_typed_from_the_schema(
    scheduler: str, emu: EdenEmulator, request: pytest.FixtureRequest
) -> None:
    pytest.importorskip("jsonschema")  # replies are checked with it (edenframe[prompt])
    if scheduler == "distributed":
        request.getfixturevalue("client")
    connect(emu, base_url=emu.base_url_v3)
    ddf = to_dask(reviews_frame())

    lazy = ddf.eden.prompt(TEMPLATE, schema=RATING, providers=LLM, prefix="rating")
    assert chats(emu) == 0  # nothing is sent before compute
    assert list(lazy.columns) == [
        "review",
        "stars",
        *(f"rating_{name}" for name in ("label", "score", "stars", "tags", "cost", "error")),
    ]
    assert lazy._meta["rating_label"].dtype == pd.CategoricalDtype(["positive", "negative", "neutral"])
    assert lazy._meta["rating_stars"].dtype == "Int64" and lazy._meta["rating_score"].dtype == "float64"
    result = lazy.compute(scheduler=None if scheduler == "distributed" else scheduler)

    expected = ddf.compute().eden.prompt(TEMPLATE, schema=RATING, providers=LLM, prefix="rating")
    pd.testing.assert_frame_equal(result, expected)
    assert dict(lazy._meta.dtypes) == dict(result.dtypes)
    assert result["rating_error"].isna().all() and result["rating_label"].notna().sum() > 0
    assert result.loc[["r004", "r011", "r040"], "rating_label"].isna().all()  # rows missing a value: not sent
    assert "edenframe" not in result.attrs


def test_prompt_without_a_schema_gives_one_text_column(emu: EdenEmulator) -> None:
    pytest.importorskip("jsonschema")
    connect(emu, base_url=emu.base_url_v3)
    ddf = to_dask(reviews_frame())
    lazy = ddf.eden.prompt("Summarize: {review}", providers=LLM, system="Answer in five words.")
    result = lazy.compute(scheduler="threads")
    expected = ddf.compute().eden.prompt("Summarize: {review}", providers=LLM, system="Answer in five words.")
    pd.testing.assert_frame_equal(result, expected)
    assert list(lazy.columns) == ["review", "stars", "prompt_text", "prompt_cost", "prompt_error"]
    assert dict(lazy._meta.dtypes) == dict(result.dtypes)


def test_prompt_errors_are_raised_before_compute(emu: EdenEmulator) -> None:
    pytest.importorskip("jsonschema")
    connect(emu, base_url=emu.base_url_v3)
    ddf = to_dask(reviews_frame())
    with pytest.raises(ValidationError, match="not in the DataFrame"):
        ddf.eden.prompt("Rate {reveiw}", providers=LLM)
    with pytest.raises(ValidationError, match="not an LLM model"):
        ddf.eden.prompt("Rate {review}", providers="synthetic")
    with pytest.raises(ValidationError, match="top level must be an object"):
        ddf.eden.prompt("Rate {review}", schema={"type": "string"}, providers=LLM)
    with pytest.raises(ValidationError, match="not supported on a Dask DataFrame"):
        ddf.eden.prompt("Rate {review}", providers=LLM, dry_run=True)
    with pytest.raises(ValidationError, match="already exist"):
        to_dask(reviews_frame().assign(prompt_cost=1.0)).eden.prompt("Rate {review}", providers=LLM)
    connect(emu)  # the v2 base URL: prompts need v3
    with pytest.raises(ValidationError, match="v3 API"):
        ddf.eden.prompt("Rate {review}", providers=LLM)
    assert [c for c in emu.calls if c.method == "POST"] == []


def _run_python(*parts: str) -> str:
    """The code `parts` (each dedented) in a fresh interpreter that imports this edenframe; its stdout."""
    code = "\n".join(textwrap.dedent(part) for part in parts)
    root = Path(edenframe.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


_USE_DDF_EDEN = """
    import pandas as pd
    frame = pd.DataFrame({"review": ["I love it. The screen is great!", "It broke.", None]})
    ddf = dd.from_pandas(frame, npartitions=2)
    lazy = ddf.eden.sentiment("review")
    out = lazy.compute(scheduler="sync")
    assert type(ddf.eden).__name__ == "EdenDaskAccessor"
    pd.testing.assert_frame_equal(out, ddf.compute().eden.sentiment("review"))
    print(list(out["sentiment_general_sentiment"].astype(object)))
"""


def test_import_edenframe_does_not_import_dask_dataframe() -> None:
    """`import edenframe` leaves dask.dataframe alone (it would double the import time); ddf.eden is there as
    soon as the user imports dask.dataframe."""
    pytest.importorskip("vaderSentiment")
    out = _run_python(
        """
        import sys
        import edenframe
        assert "dask.dataframe" not in sys.modules, "import edenframe imported dask.dataframe"
        import dask.dataframe as dd
        assert not any(type(f).__module__ == "edenframe._dask_registration" for f in sys.meta_path)
        assert dd.__spec__.loader is dd.__loader__ and type(dd.__loader__).__module__.startswith("_frozen")
        """,
        _USE_DDF_EDEN,
    )
    assert out.split() == ["['Positive',", "'Negative',", "nan]"]


def test_ddf_eden_works_when_dask_is_imported_first() -> None:
    pytest.importorskip("vaderSentiment")
    out = _run_python(
        """
        import dask.dataframe as dd
        import edenframe
        """,
        _USE_DDF_EDEN,
    )
    assert out.split() == ["['Positive',", "'Negative',", "nan]"]


def test_ddf_eden_works_when_a_submodule_of_dask_dataframe_is_imported_first() -> None:
    """Workers unpickle tasks that import edenframe._dask directly; importing a submodule runs dask.dataframe."""
    pytest.importorskip("vaderSentiment")
    out = _run_python(
        """
        import sys
        import edenframe._dask
        import dask.dataframe as dd
        """,
        _USE_DDF_EDEN,
    )
    assert out.split() == ["['Positive',", "'Negative',", "nan]"]
