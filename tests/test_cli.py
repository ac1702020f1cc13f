"""The `edenframe` command end to end: real files, the emulator over loopback HTTP, `main(argv)` in process (it
returns the exit code and writes to sys.stdout/sys.stderr); a real subprocess only where one adds something: the
installed console script, and `serve` running until it is interrupted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import edenframe
from edenframe import get_subfeature
from edenframe._cli import main
from edenframe.datasets import reviews
from edenframe.testing import EdenEmulator, expected_row, synthetic_cost

FAILING = "This review makes the provider fail."
TEXTS = [
    "Great sound and a tiny case. I love it.",
    "Broke after two days. Terrible support.",
    "Great sound and a tiny case. I love it.",  # a duplicate: sent once
    None,  # missing: never sent
    "   ",  # blank: never sent
    "The delivery was on time.",
    "Das Zelt ist leicht und schnell aufgebaut.",
    FAILING,
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDENAI_")}
    env.update(extra)
    return env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`cli(*argv, cwd=..., env=...)`: the command in process, from `cwd`, with EDENAI_* variables from `env`."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
        monkeypatch.chdir(cwd)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()  # drop anything printed before
        code = main(list(args))
        captured = capsys.readouterr()
        for name in env or {}:
            monkeypatch.delenv(name)
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(TEXTS))], "stars": range(len(TEXTS)), "review": TEXTS})


@pytest.fixture
def files(tmp_path: Path, frame: pd.DataFrame) -> dict[str, Path]:
    paths = {"csv": tmp_path / "in.csv", "parquet": tmp_path / "in.parquet", "jsonl": tmp_path / "in.jsonl"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"], index=False)
    frame.to_json(paths["jsonl"], orient="records", lines=True)
    return paths


@pytest.fixture
def emulator(make_emulator: Callable[..., EdenEmulator]) -> EdenEmulator:
    """Not configured: the command finds it through EDENAI_API_KEY and EDENAI_BASE_URL."""
    return make_emulator(provider_fail_inputs=[FAILING], connect=False)


def emulator_env(emu: EdenEmulator) -> dict[str, str]:
    return {"EDENAI_API_KEY": emu.api_key, "EDENAI_BASE_URL": emu.base_url}


def present(frame: pd.DataFrame) -> pd.Series:
    return frame["review"].notna() & frame["review"].astype("string").str.strip().ne("")


# ---------------------------------------------------------------------------------------------------------------
# demo


@pytest.mark.extra("local")
def test_demo_enriches_the_bundled_reviews_offline(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("demo", "--rows", "40", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "40 reviews from edenframe.datasets.reviews()" in out
    for heading in ("Languages:", "Sentiment of the", "Top keywords of the English reviews:", "Embeddings: a"):
        assert heading in out
    assert "x 384 float32 matrix" in out
    for path in ("translation/language_detection", "text/sentiment_analysis", "text/keyword_extraction"):
        assert f"report: {path} [local]: " in result.stderr
    assert "report: text/embeddings [local]: " in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_dataset_is_the_documented_one() -> None:
    df = reviews()
    assert df.shape == (300, 7)
    assert list(df.columns) == ["review_id", "product", "category", "rating", "date", "country", "review"]
    assert df["review"].isna().sum() == 2
    assert (df["review"].dropna().str.strip() == "").sum() == 3  # whitespace kept, not read as missing
    assert df.drop(columns="review_id").duplicated().sum() == 2


# ---------------------------------------------------------------------------------------------------------------
# run


@pytest.mark.extra("local")
def test_run_csv_to_parquet_offline(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], frame: pd.DataFrame
) -> None:
    output = tmp_path / "out.parquet"
    result = cli("run", str(files["csv"]), "--subfeature", "text/sentiment_analysis", "--column", "review",
                 "-o", str(output), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "report: text/sentiment_analysis [local]: 8 rows, 5 sent" in result.stderr
    assert f"wrote 8 rows to {output}" in result.stderr

    out = pd.read_parquet(output)  # plain pandas reads it back, nested columns included
    assert list(out.columns[:3]) == ["id", "stars", "review"]
    assert out["id"].tolist() == frame["id"].tolist()
    assert isinstance(out["sentiment_analysis_general_sentiment"].dtype, pd.CategoricalDtype)
    label = out["sentiment_analysis_general_sentiment"]
    for i, text in enumerate(TEXTS):
        if text is None or not text.strip():
            assert pd.isna(label.iloc[i])
        else:
            assert label.iloc[i] == expected_row("sentiment", "local", text)["general_sentiment"]
    assert out.attrs["edenframe"]["skipped"] == 2


def test_run_several_providers_on_the_emulator_jsonl(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    output = tmp_path / "out.jsonl"
    result = cli("run", str(files["jsonl"]), "-s", "sentiment", "-c", "review", "--providers", "google,amazon",
                 "-o", str(output), cwd=tmp_path, env=emulator_env(emulator))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "report: text/sentiment_analysis [google, amazon]: 8 rows, 5 sent" in result.stderr
    assert "1 jobs" in result.stderr
    # collected failure: exit 0, one plain summary line on stderr, the message in the error column
    assert "edenframe: warning: 1 of 8 rows failed in text/sentiment_analysis" in result.stderr
    assert "sentiment_google_error" in result.stderr

    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8
    for row in rows:
        text = row["review"]
        for provider in ("google", "amazon"):
            if text == FAILING:
                assert row[f"sentiment_{provider}_general_sentiment"] is None
                assert "Provider has returned an Error" in row[f"sentiment_{provider}_error"]
            elif text is None or not text.strip():
                assert row[f"sentiment_{provider}_general_sentiment"] is None
                assert row[f"sentiment_{provider}_error"] is None
            else:
                expected = expected_row("sentiment", provider, text)
                assert row[f"sentiment_{provider}_general_sentiment"] == expected["general_sentiment"]
                assert row[f"sentiment_{provider}_items"] == expected["items"]  # nested JSON, not a repr
    charged = sum(c.cost for c in emulator.ledger if c.provider == "google")
    assert sum(row["sentiment_google_cost"] or 0.0 for row in rows) == pytest.approx(charged)
    first_cost = synthetic_cost(get_subfeature("sentiment"), "google", {"text": TEXTS[0]})
    assert rows[0]["sentiment_google_cost"] == pytest.approx(first_cost)  # the duplicate row pays nothing
    assert rows[2]["sentiment_google_cost"] == 0.0


@pytest.mark.extra("local")
def test_run_parquet_to_csv_with_params(cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]) -> None:
    output = tmp_path / "out.csv"
    result = cli("run", str(files["parquet"]), "-s", "keywords", "-c", "review", "--param", "language=en",
                 "--prefix", "kw", "-o", str(output), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(output, keep_default_na=False, na_values=[""])
    assert list(out.columns) == ["id", "stars", "review", "kw_items", "kw_cost", "kw_error"]
    items = json.loads(out.loc[0, "kw_items"])  # a nested column is JSON text in CSV
    assert items == expected_row("keywords", "local", TEXTS[0], language="en")["items"]
    assert pd.isna(out.loc[3, "kw_items"])


@pytest.mark.extra("local")
def test_run_typed_param_and_compressed_output(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]
) -> None:
    output = tmp_path / "out.jsonl.gz"
    result = cli("run", str(files["csv"]), "-s", "text/summarize", "-c", "review",
                 "--param", "output_sentences=1", "-o", str(output), cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = pd.read_json(output, lines=True)
    assert out.loc[1, "summarize_result"] == expected_row("summarize", "local", TEXTS[1], output_sentences=1)["result"]


@pytest.mark.extra("local")
def test_run_shows_a_progress_bar_on_request(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]
) -> None:
    output = tmp_path / "out.parquet"
    result = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "--progress", "-o", str(output),
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "eden sentiment" in result.stderr and "6/6" in result.stderr  # rows with text (one is a duplicate)
    quiet = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "--no-progress", "-o", str(output),
                "--force", cwd=tmp_path)  # fmt: skip
    assert "eden sentiment" not in quiet.stderr


def test_errors_raise_exits_1_and_writes_nothing(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    output = tmp_path / "out.csv"
    result = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "-p", "google", "--errors", "raise",
                 "-o", str(output), cwd=tmp_path, env=emulator_env(emulator))  # fmt: skip
    assert result.returncode == 1
    assert "edenframe: error: 1 row result(s) failed" in result.stderr
    assert "no output written" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.csv", "-s", "sentiment", "-c", "review"], "missing.csv: no such file"),
        (["run", "{csv}", "-s", "sentiment", "-c", "reviw"], "column 'reviw' is not in the DataFrame"),
        (["run", "{csv}", "-s", "text/sentiment", "-c", "review"], "unknown subfeature 'text/sentiment'"),
        (["run", "{csv}", "-s", "summarize", "-c", "review", "--param", "output_sentences=two"], "expected an integer"),
        (["run", "{csv}", "-s", "summarize", "-c", "review", "--param", "sentences=2"], "unexpected parameter"),
        (["run", "{csv}", "-s", "summarize", "-c", "review", "--param", "language"], "expected key=value"),
        (["run", "{csv}", "-s", "sentiment", "-c", "review", "-p", "google"], "need an API key"),
        (["run", "{txt}", "-s", "sentiment", "-c", "review"], "unknown file type"),
    ],
    ids=["missing-file", "bad-column", "unknown-subfeature", "bad-int", "unknown-param", "no-equals", "no-key", "txt"],
)
def test_bad_input_exits_2_before_anything_runs(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], args: list[str], message: str
) -> None:
    (tmp_path / "in.txt").write_text("review\nhello\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    filled = [a.format(csv=files["csv"], txt=tmp_path / "in.txt") for a in args]
    result = cli(*filled, "-o", str(output), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("edenframe: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("output", ["out.xlsx", "no-such-folder/out.csv"])
def test_bad_output_is_refused_before_the_run(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], output: str
) -> None:
    result = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "-o", output, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("edenframe: error: ")
    assert "report:" not in result.stderr  # nothing ran


def test_unreadable_input_exits_2(cli: Callable[..., Result], tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file")
    result = cli("run", str(broken), "-s", "sentiment", "-c", "review", "-o", "out.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read it as parquet" in result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("folder.csv", "folder.csv: is a directory, not a file"),  # IsADirectoryError from edenframe.read_table
        ("missing.jsonl", "missing.jsonl: no such file"),  # FileNotFoundError
        ("in.xlsx", "in.xlsx: unknown file type; use .csv, .parquet or .jsonl (JSON lines)"),  # ValidationError
    ],
)
def test_input_file_errors_are_one_line_exit_2_in_process(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "in.xlsx").write_bytes(b"PK")
    for command in (["run", "-o", str(tmp_path / "out.csv")], ["estimate"]):
        code = main([command[0], str(tmp_path / name), "-s", "sentiment", "-c", "review", *command[1:]])
        captured = capsys.readouterr()
        assert code == 2
        assert captured.err == f"edenframe: error: {tmp_path / message}" + (
            ", optionally compressed as .csv.gz or .jsonl.gz\n" if name == "in.xlsx" else "\n"
        )
        assert captured.out == ""
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------------------------------------------------------
# output paths, arguments and messages (in process: `main(argv)` returns the exit code)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", ["run", "estimate"])
@pytest.mark.parametrize("force", [False, True])
def test_output_equal_to_input_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], command: str, force: bool
) -> None:
    before = files["csv"].read_bytes()
    same = tmp_path / "sub" / ".." / "in.csv"  # the input under another spelling
    (tmp_path / "sub").mkdir()
    code, _, err = run_main(capsys, command, str(files["csv"]), "-s", "sentiment", "-c", "review", "-o", str(same),
                            *(["--force"] if force else []))  # fmt: skip
    assert code == 2
    assert (
        err == f"edenframe: error: {same}: is the input file; write the result to another file, e.g. -o out.parquet\n"
    )
    assert files["csv"].read_bytes() == before


@pytest.mark.extra("local")
def test_existing_output_needs_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    output = tmp_path / "out.csv"
    output.write_text("an earlier result\n", encoding="utf-8")
    args = ("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "-o", str(output), "--no-progress")
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert "out.csv: already exists; pass --force to replace it" in err
    assert "report:" not in err  # refused before the run
    assert output.read_text(encoding="utf-8") == "an earlier result\n"

    code, _, err = run_main(capsys, *args, "--force")
    assert code == 0, err
    assert list(pd.read_csv(output).columns[:3]) == ["id", "stars", "review"]

    plan = tmp_path / "plan.csv"
    plan.write_text("old plan\n", encoding="utf-8")
    estimate = ("estimate", str(files["csv"]), "-s", "sentiment", "-c", "review", "-o", str(plan))
    assert run_main(capsys, *estimate)[0] == 2
    assert run_main(capsys, *estimate, "--force")[0] == 0
    assert "estimated_cost" in plan.read_text(encoding="utf-8")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "--version")
    assert code == 0
    assert out == f"edenframe {edenframe.__version__}\n"


@pytest.mark.parametrize("rows", ["0", "-3", "abc", "2.5"])
def test_rows_must_be_a_positive_whole_number(capsys: pytest.CaptureFixture[str], rows: str) -> None:
    code, out, err = run_main(capsys, "demo", "--rows", rows)
    assert code == 2
    assert f"argument --rows: expected a positive whole number such as 100, got '{rows}'" in err
    assert out == ""


@pytest.mark.parametrize(
    ("extra", "columns", "says", "not_says"),
    [
        (["-p", "google"], {}, ["set the EDENAI_API_KEY environment variable; or use -p local to run offline"],
         ["configure(", "api_key=", "providers="]),
        pytest.param([], {"sentiment_cost": [1.0]}, ["pass --prefix NAME to name them differently, or --overwrite to "
         "replace"], ["prefix=", "overwrite=True"], marks=pytest.mark.extra("local")),
        pytest.param(["--max-cost", "-1"], {}, ["--max-cost must be a non-negative number"], ["max_cost"],
         marks=pytest.mark.extra("local")),
        (["-s", "summarize", "--param", "sentences=2"], {},
         ["It takes (as --param KEY=VALUE): language, output_sentences."], ["common options", "api_key"]),
        pytest.param(["-p", "local", "--fallback-providers", "amazon"], {}, ["Drop it, or name a remote provider, e.g. "
         "-p google, --fallback-providers amazon"], ["providers="], marks=pytest.mark.extra("local")),
    ],
    ids=["no-key", "column-clash", "max-cost", "unknown-param", "local-fallback"],
)  # fmt: skip
def test_library_errors_give_command_line_advice(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[str],
    columns: dict[str, list[float]],
    says: list[str],
    not_says: list[str],
) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"review": ["Great sound."], **columns}).to_csv(source, index=False)
    subfeature = [] if "-s" in extra else ["-s", "sentiment"]
    code, _, err = run_main(capsys, "run", str(source), *subfeature, "-c", "review", *extra, "-o",
                            str(tmp_path / "out.csv"))  # fmt: skip
    assert code == 2
    assert err.startswith("edenframe: error: ") and err.count("\n") == 1
    for text in says:
        assert text in err
    for text in not_says:
        assert text not in err
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------------------------------------------------------
# estimate


def test_estimate_sends_nothing(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    plan = tmp_path / "plan.csv"
    result = cli("estimate", str(files["csv"]), "-s", "sentiment", "-c", "review", "-p", "google,amazon",
                 "-o", str(plan), cwd=tmp_path, env=emulator_env(emulator))  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("text/sentiment_analysis [google, amazon]: 8 rows, 5 request(s) to send, estimated cost ")
    assert "2 rows skipped (missing or blank input)" in result.stdout
    assert "1 row answered by another row's request" in result.stdout
    planned = pd.read_csv(plan)
    assert len(planned) == 5
    assert float(first.rsplit(" ", 1)[1]) == pytest.approx(planned["estimated_cost"].sum(), rel=1e-4)
    assert not [c for c in emulator.calls if c.method == "POST"]  # no job launched, no request sent


# ---------------------------------------------------------------------------------------------------------------
# prompts: --prompt TEMPLATE instead of --subfeature/--column, --schema as JSON, on Eden AI's v3 API

LLM = "openai/gpt-4o-mini"


def v3_env(emu: EdenEmulator) -> dict[str, str]:
    return {"EDENAI_API_KEY": emu.api_key, "EDENAI_BASE_URL": emu.base_url_v3}


def chat_posts(emu: EdenEmulator) -> list[dict[str, object]]:
    return [c.json for c in emu.calls if c.method == "POST" and c.path == "/v3/chat/completions"]


@pytest.mark.extra("prompt")
def test_run_prompt_with_a_json_shorthand_schema_gives_the_python_result(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    output = tmp_path / "out.parquet"
    template = "Rate this review ({stars} stars): {review}"
    schema = '{"label": ["pos", "neg"], "score": "float", "stars": "int", "tags": ["str"]}'
    result = cli("run", str(files["csv"]), "--prompt", template, "--schema", schema, "-p", LLM, "--system",
                 "You rate reviews.", "--param", "temperature=0.2", "--no-cache", "-o", str(output), cwd=tmp_path,
                 env=v3_env(emulator))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "report: llm/prompt [openai/gpt-4o-mini]: 8 rows" in result.stderr

    out = edenframe.read_parquet(output)
    assert list(out.columns) == ["id", "stars", "review", *(f"prompt_{c}" for c in
                                 ("label", "score", "stars", "tags", "cost", "error"))]  # fmt: skip
    assert out["prompt_label"].dtype == pd.CategoricalDtype(["pos", "neg"])
    assert (out["prompt_score"].dtype, out["prompt_stars"].dtype) == ("float64", "Int64")
    # the same call in Python gives the same answers (the emulator's replies depend on the prompt only)
    python = edenframe.read_table(files["csv"]).eden.prompt(
        template,
        schema={"label": ["pos", "neg"], "score": float, "stars": int, "tags": [str]},
        providers=LLM,
        system="You rate reviews.",
        temperature=0.2,
        api_key=emulator.api_key,
        base_url=emulator.base_url_v3,
        cache=False,
    )
    values = [f"prompt_{c}" for c in ("label", "score", "stars", "tags")]
    pd.testing.assert_frame_equal(out[values], python[values])
    sent = chat_posts(emulator)
    assert {body["model"] for body in sent} == {LLM} and all(body["temperature"] == 0.2 for body in sent)
    assert all(body["messages"][0] == {"role": "system", "content": "You rate reviews."} for body in sent)
    assert "response_format" in sent[0]


@pytest.mark.extra("prompt")
def test_prompt_schema_from_a_json_schema_file_and_estimate(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    schema = tmp_path / "rating.json"
    schema.write_text(
        json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}), encoding="utf-8"
    )
    result = cli("estimate", str(files["csv"]), "--prompt", "Is this fine? {review}", "--schema", str(schema),
                 "-p", LLM, cwd=tmp_path, env=v3_env(emulator))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("llm/prompt [openai/gpt-4o-mini]: 8 rows, 5 request(s) to send, estimated cost ")
    assert chat_posts(emulator) == []

    output = tmp_path / "out.jsonl"
    result = cli("run", str(files["csv"]), "--prompt", "Is this fine? {review}", "--schema", str(schema), "-p", LLM,
                 "--prefix", "check", "-o", str(output), cwd=tmp_path, env=v3_env(emulator))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [isinstance(row["check_ok"], bool) for row in rows] == [
        text is not None and bool(text.strip()) for text in TEXTS
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt", "Rate {review}", "-c", "review"], "--prompt takes no --column"),
        (["-s", "sentiment"], "--column is required with --subfeature"),
        (["-s", "sentiment", "-c", "review", "--schema", "{}"], "--schema goes with --prompt"),
        (["--prompt", "Rate {review}", "--schema", "{label: 1}"], "--schema: not valid JSON"),
        (["--prompt", "Rate {review}", "--schema", "[1]"], "--schema: expected a JSON object"),
        (["--prompt", "Rate {review}", "--schema", "missing.json"], "--schema missing.json: cannot read it"),
        (["--prompt", "Rate {review}", "--schema", '{"n": "long"}'], "schema field n"),
        (["--prompt", "Rate {reviw}"], "Did you mean 'review'"),
        (["--prompt", "Rate {review}", "-p", "openai"], "is a provider, not a model"),
        (["--prompt", "Rate {review}", "--param", "system=hi"], "--param system: use --system instead"),
        (["--prompt", "Rate {review}", "--param", "temperature=hot"], "--param temperature=hot"),
    ],
    ids=["column", "no-column", "schema-alone", "bad-json", "not-object", "no-file", "bad-type", "bad-field",
         "bare-provider", "system-param", "bad-temperature"],
)  # fmt: skip
def test_bad_prompt_input_exits_2_before_anything_is_sent(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator, args: list[str],
    message: str,
) -> None:  # fmt: skip
    pytest.importorskip("jsonschema")
    output = tmp_path / "out.csv"
    provider = [] if "-p" in args or "-s" in args else ["-p", LLM]
    result = cli("run", str(files["csv"]), *args, *provider, "-o", str(output), cwd=tmp_path, env=v3_env(emulator))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("edenframe: error: ") and message in result.stderr, result.stderr
    assert "providers=" not in result.stderr  # the advice names the flags
    assert not output.exists() and chat_posts(emulator) == []


def test_prompt_on_a_v2_base_url_names_the_v3_url(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path], emulator: EdenEmulator
) -> None:
    result = cli("run", str(files["csv"]), "--prompt", "Rate {review}", "-p", LLM, "-o", "out.csv", cwd=tmp_path,
                 env=emulator_env(emulator))  # fmt: skip
    assert result.returncode == 2
    assert "EDENAI_BASE_URL=https://api.edenai.run/v3" in result.stderr and "configure(" not in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# serve


def test_serve_runs_the_emulator_until_interrupted(
    cli: Callable[..., Result], tmp_path: Path, files: dict[str, Path]
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "edenframe", "serve", "--port", "0", "--api-key", "cli-key"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first, second = server.stdout.readline(), server.stdout.readline()
        # v3 first (edenframe's default API), then v2, on the same port
        assert first.startswith("Eden AI v3 emulator listening on http://127.0.0.1:"), first
        base_url_v3 = first.rsplit(" ", 1)[1].strip()
        assert base_url_v3.endswith("/v3")
        assert second.startswith(f"and Eden AI v2 on {base_url_v3[:-3]}/v2 "), second
        base_url = f"{base_url_v3[:-3]}/v2"

        v3_output = tmp_path / "ner.parquet"
        result = cli("run", str(files["csv"]), "-s", "ner", "-c", "review", "-p", "amazon", "-o", str(v3_output),
                     cwd=tmp_path, env={"EDENAI_API_KEY": "cli-key", "EDENAI_BASE_URL": base_url_v3})  # fmt: skip
        assert result.returncode == 0, result.stderr
        entities = pd.read_parquet(v3_output)
        assert entities["ner_error"].isna().all()
        assert entities["ner_items"].notna().tolist() == [True, True, True, False, False, True, True, True]

        output = tmp_path / "out.parquet"
        result = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "-p", "microsoft",
                     "-o", str(output), cwd=tmp_path,
                     env={"EDENAI_API_KEY": "cli-key", "EDENAI_BASE_URL": base_url})  # fmt: skip
        assert result.returncode == 0, result.stderr
        out = pd.read_parquet(output)
        assert (
            out.loc[1, "sentiment_general_sentiment"]
            == expected_row("sentiment", "microsoft", TEXTS[1])["general_sentiment"]
        )

        wrong_key = cli("run", str(files["csv"]), "-s", "sentiment", "-c", "review", "-p", "microsoft",
                        "--no-cache", "-o", str(output), "--force", cwd=tmp_path,
                        env={"EDENAI_API_KEY": "wrong", "EDENAI_BASE_URL": base_url})  # fmt: skip
        assert wrong_key.returncode == 1, wrong_key.stderr
        assert wrong_key.stderr.startswith("edenframe: error: ")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            rest, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise
    assert server.returncode == 0
    assert "emulator stopped" in rest


def test_console_script_prints_the_version(tmp_path: Path) -> None:
    """The installed `edenframe` command (pyproject's [project.scripts]) and `python -m edenframe` both run main."""
    script = shutil.which("edenframe", path=str(Path(sys.executable).parent))
    commands = [[sys.executable, "-m", "edenframe"]] + ([[script]] if script else [])
    for command in commands:
        result = subprocess.run(
            [*command, "--version"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"edenframe {edenframe.__version__}"


def test_help_lists_the_commands(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("demo", "run", "estimate", "serve"):
        assert command in result.stdout
