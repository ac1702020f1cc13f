"""The `edenframe` command: `demo` (an offline tour), `run` and `estimate` (files in, files out), `serve` (emulator).

Exit codes: 0 when the command did its job (a run whose failed rows were collected still exits 0, with a summary on
stderr); 1 when the run itself failed (`--errors raise` with failed rows, an error from Eden AI that stopped the
run); 2 for bad input found before anything was sent (missing file, unknown column or subfeature, bad parameter);
130 on Ctrl-C. `run` writes its result to the output file and `estimate` its summary to stdout; progress bars,
warnings and run reports go to stderr. `main(argv)` returns the exit code (argparse's own exits included), so it
can be called in process.

This module parses arguments and dispatches; files are read and written by `_tables` (public as
`edenframe.read_table` / `write_table`) and the demo lives in `_demo`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from . import __version__
from ._demo import print_demo, run_demo
from ._errors import ValidationError
from ._tables import file_format, read_table, write_table

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A problem with the command's input, reported as one line on stderr with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------------------------
# Files


def check_output(path: Path) -> str:
    """Check the output path before anything runs (no paid run may end in an unwritable file)."""
    try:
        kind = file_format(path)
    except ValidationError as exc:
        raise CommandError(str(exc)) from None
    if path.is_dir():
        raise CommandError(f"{path}: is a directory; give a file name such as {path / 'out.parquet'}")
    if not path.parent.exists():
        raise CommandError(f"{path.parent}: the output folder does not exist")
    return kind


def check_paths(input_path: Path, output: Path, *, force: bool) -> None:
    """Refuse an output that is the input (the run would replace its own data) or, without --force, any file that
    already exists (a finished run must not silently replace an earlier one)."""
    same = output.resolve() == input_path.resolve()
    if not same and output.exists() and input_path.exists():
        same = os.path.samefile(output, input_path)  # hard links, case-insensitive file systems
    if same:
        raise CommandError(f"{output}: is the input file; write the result to another file, e.g. -o out.parquet")
    if output.exists() and not force:
        raise CommandError(f"{output}: already exists; pass --force to replace it, or choose another -o")


def read_input(path: Path) -> pd.DataFrame:
    """The input file as a frame; a missing, unknown or unreadable file is a one-line command error (exit 2)."""
    try:
        return read_table(path)
    except (ValidationError, FileNotFoundError, IsADirectoryError) as exc:
        raise CommandError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------------------------
# Parameters


def parse_params(entry: Any, pairs: Sequence[str]) -> dict[str, Any]:
    """`["language=en", "output_sentences=3"]` -> typed values, using the catalog's parameter types."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--param {pair!r}: expected key=value, e.g. --param language=en")
        if key in params:
            raise CommandError(f"--param {key} is given twice")
        param = entry.param(key)
        params[key] = _typed(key, raw, param.type if param is not None else None)
    return params


def _typed(key: str, raw: str, t: Any) -> Any:
    if t is None:
        return raw  # unknown keys are passed through and checked by the library, with close matches
    try:
        return t.parse(raw)  # the type reads its own text: "3" for an integer, "true", JSON or "a,b" for a list
    except ValueError as exc:
        raise CommandError(f"--param {key}={raw}: {exc}") from None


def _settings(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise CommandError(f'--settings {raw!r}: expected a JSON object such as \'{{"openai": "gpt-4o"}}\'')
    return value


# JSON has no Python types: in --schema's shorthand a field's type is one of these names (`"score": "float"`,
# `"tags": ["str"]`), turned into the type `df.eden.prompt`'s shorthand takes. Lists of other strings stay labels.
_SHORTHAND_TYPES: dict[str, type] = {
    "str": str, "string": str, "float": float, "number": float, "int": int, "integer": int, "bool": bool,
    "boolean": bool,
}  # fmt: skip


def parse_schema(raw: str | None) -> Any:
    """--schema: a JSON Schema or the JSON shorthand, as text or the path of a .json file; None without it."""
    if raw is None:
        return None
    text = raw
    if raw.lower().endswith(".json") and not raw.lstrip().startswith("{"):
        try:
            text = Path(raw).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--schema {raw}: cannot read it ({exc.strerror or exc})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"--schema: not valid JSON ({exc.msg} at character {exc.pos}); give a JSON object such as "
            '\'{"label": ["pos", "neg"], "score": "float"}\' or the path of a .json file'
        ) from None
    if not isinstance(value, dict):
        raise CommandError(f"--schema: expected a JSON object, got {type(value).__name__}")
    from ._prompt_schema import _looks_like_json_schema

    return value if _looks_like_json_schema(value) else _shorthand_types(value)


def _shorthand_types(value: Any) -> Any:
    if isinstance(value, str) and value in _SHORTHAND_TYPES:
        return _SHORTHAND_TYPES[value]
    if isinstance(value, dict):
        return {key: _shorthand_types(field) for key, field in value.items()}
    if (
        isinstance(value, list)
        and len(value) == 1
        and not (isinstance(value[0], str) and value[0] not in _SHORTHAND_TYPES)
    ):
        return [_shorthand_types(value[0])]  # ["str"]: a list of strings, [{"name": "str"}]: a list of objects
    return value  # labels (["pos", "neg"]), or something the library refuses with its own message


# ---------------------------------------------------------------------------------------------------------------
# run and estimate


def _call_options(args: argparse.Namespace, entry: Any, *, for_run: bool) -> dict[str, Any]:
    options: dict[str, Any] = parse_params(entry, args.param)
    if args.providers is not None:
        options["providers"] = args.providers
    if args.fallback_providers is not None:
        options["fallback_providers"] = args.fallback_providers
    settings = _settings(args.settings)
    if settings is not None:
        options["settings"] = settings
    if args.no_cache:
        options["cache"] = False
    if for_run:
        if args.max_cost is not None:
            options["max_cost"] = args.max_cost
        if args.prefix is not None:
            options["prefix"] = args.prefix
        options["errors"] = args.errors
        if args.overwrite:
            options["overwrite"] = True
        options["progress"] = args.progress
    return options


def _prepare_call(args: argparse.Namespace, *, for_run: bool) -> tuple[pd.DataFrame, Any, dict[str, Any]]:
    from ._catalog import get_subfeature

    _check_mode(args)
    output = Path(args.output) if args.output else None
    if output is not None:
        check_output(output)
        check_paths(Path(args.input), output, force=args.force)
    entry = _prompt_entry() if args.prompt is not None else get_subfeature(args.subfeature)
    options = _call_options(args, entry, for_run=for_run)
    if args.prompt is not None:
        options.update(schema=parse_schema(args.schema), system=args.system)
    frame = read_input(Path(args.input))
    return frame, entry, options


def _check_mode(args: argparse.Namespace) -> None:
    """A subfeature reads one --column; a --prompt template names its own columns, and only it takes --schema and
    --system (and its --param keys are the chat options, the schema and system message having their own flags)."""
    if args.prompt is None:
        if args.column is None:
            raise CommandError("--column is required with --subfeature, e.g. -c review")
        for flag, value in (("--schema", args.schema), ("--system", args.system)):
            if value is not None:
                raise CommandError(f"{flag} goes with --prompt, not --subfeature")
        return
    if args.column is not None:
        raise CommandError("--prompt takes no --column: the template names the columns it reads, e.g. 'Rate {review}'")
    for pair in args.param:
        key = pair.partition("=")[0].strip()
        if key in ("schema", "system"):
            raise CommandError(f"--param {key}: use --{key} instead")


def _prompt_entry() -> Any:
    from ._prompt_task import prompt_entry

    return prompt_entry(None)  # its params type the --param values (temperature, max_tokens, ...)


def _call(args: argparse.Namespace, frame: pd.DataFrame, entry: Any, options: dict[str, Any]) -> Callable[[], Any]:
    """The library call the command makes: the prompt, the named method, or `run` with the subfeature path."""
    if args.prompt is not None:
        return lambda: frame.eden.prompt(args.prompt, **options)
    # A method name given as --subfeature calls that method, so the default column prefix is the same as in
    # Python (`sentiment_...` for `-s sentiment`, `sentiment_analysis_...` for `-s text/sentiment_analysis`).
    if args.subfeature == entry.method:
        return lambda: getattr(frame.eden, entry.method)(args.column, **options)
    return lambda: frame.eden.run(entry.path, args.column, **options)


def _run_captured(call: Callable[[], pd.DataFrame], stderr: TextIO) -> pd.DataFrame:
    """Run the call, turning its warnings (failed rows, ...) into plain `warning:` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return call()
        finally:
            for warning in caught:
                print(f"edenframe: warning: {cli_advice(str(warning.message))}", file=stderr)


def command_run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import edenframe  # noqa: F401  (registers df.eden)

    from ._errors import RowErrors

    frame, entry, options = _prepare_call(args, for_run=True)
    try:
        out = _run_captured(_call(args, frame, entry, options), stderr)
    except RowErrors as exc:
        report = exc.result.attrs.get("edenframe", {})
        print(f"edenframe: error: {cli_advice(str(exc))}", file=stderr)
        _print_report(report, stderr)
        print("edenframe: no output written (rerun with --errors collect to keep the partial result)", file=stderr)
        return EXIT_FAILED
    write_table(out, Path(args.output))
    _print_report(out.attrs.get("edenframe", {}), stderr)
    print(f"edenframe: wrote {len(out)} rows to {args.output}", file=stderr)
    return EXIT_OK


def command_estimate(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import edenframe  # noqa: F401  (registers df.eden)

    frame, entry, options = _prepare_call(args, for_run=False)
    options.update(progress=False, dry_run=True)
    planned = _run_captured(_call(args, frame, entry, options), stderr)
    report = planned.attrs.get("edenframe", {})
    total = report.get("estimated_cost")
    if total is None and "estimated_cost" in planned.columns:
        total = float(planned["estimated_cost"].sum())
    rows = report.get("rows", len(frame))
    print(
        f"{entry.path} [{', '.join(report.get('providers', []))}]: {rows} rows, {len(planned)} request(s) to send, "
        f"estimated cost {_money(total)}",
        file=stdout,
    )
    for key, label in (
        ("cached", "answered from the cache"),
        ("deduplicated", "answered by another row's request (same input)"),
        ("skipped", "skipped (missing or blank input)"),
    ):
        count = report.get(key)
        if count:
            print(f"  {count} row{'' if count == 1 else 's'} {label}", file=stdout)
    unpriced = report.get("unpriced_providers") or []
    if unpriced:
        print(f"  no price known for {', '.join(unpriced)}: not included in the estimate", file=stdout)
    if args.output:
        write_table(planned, Path(args.output))
        print(f"edenframe: wrote the {len(planned)} planned request(s) to {args.output}", file=stderr)
    return EXIT_OK


def _money(value: Any) -> str:
    return "unknown" if value is None or pd.isna(value) else f"{float(value):.6g}"


def _print_report(report: Any, stream: TextIO) -> None:
    from ._report import format_report

    if report:
        print(f"report: {format_report(report)}", file=stream)


# ---------------------------------------------------------------------------------------------------------------
# Entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edenframe",
        description="Eden AI for pandas, from the command line.",
        epilog="Remote providers need EDENAI_API_KEY; EDENAI_BASE_URL points edenframe at another server "
        "(such as `edenframe serve`).",
    )
    parser.add_argument("--version", action="version", version=f"edenframe {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="enrich the bundled reviews offline and print the result")
    demo.add_argument("--rows", type=positive_int, default=None, metavar="N", help="only the first N rows")
    _progress_flags(demo)

    for name, help_text in (
        ("run", "enrich a CSV, Parquet or JSON lines file with one subfeature or a prompt"),
        ("estimate", "plan the same call as run without sending anything: request count and estimated cost"),
    ):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("input", metavar="INPUT", help="a .csv, .parquet or .jsonl file (.csv.gz, .jsonl.gz too)")
        what = sub.add_mutually_exclusive_group(required=True)
        what.add_argument("--subfeature", "-s", help="feature/subfeature (text/sentiment_analysis) or a method name")
        what.add_argument(
            "--prompt",
            metavar="TEMPLATE",
            help="a prompt over the columns for an LLM (Eden AI v3), e.g. 'Rate this review: {review}'",
        )
        sub.add_argument("--column", "-c", default=None, help="the input column (with --subfeature)")
        sub.add_argument(
            "--schema",
            default=None,
            help='with --prompt: the reply\'s fields as JSON, \'{"label": ["pos", "neg"], "score": "float"}\', '
            "a JSON Schema, or a .json file holding either (default: one text column)",
        )
        sub.add_argument("--system", default=None, help="with --prompt: the system message sent before each prompt")
        sub.add_argument("--providers", "-p", default=None, help="e.g. google,amazon (default: local when offline)")
        sub.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a parameter of the subfeature, e.g. --param language=en (repeat for more)",
        )
        sub.add_argument("--fallback-providers", default=None, help="provider(s) to try when the provider fails")
        sub.add_argument("--settings", default=None, help='models per provider as JSON: \'{"openai": "gpt-4o"}\'')
        sub.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
        sub.add_argument("--force", action="store_true", help="replace the output file if it exists")
        if name == "run":
            sub.add_argument("--output", "-o", required=True, help="the output file; its extension sets the format")
            sub.add_argument("--prefix", default=None, help="start of the new column names")
            sub.add_argument(
                "--max-cost",
                type=float,
                default=None,
                metavar="USD",
                help="refuse to start above this estimated cost, and stop sending once it is spent",
            )
            sub.add_argument(
                "--errors",
                choices=("collect", "raise"),
                default="collect",
                help="collect (default): failed rows get NA results and an error message, exit 0; "
                "raise: exit 1 and write nothing when any row failed",
            )
            sub.add_argument("--overwrite", action="store_true", help="replace existing columns of the same name")
            _progress_flags(sub)
        else:
            sub.add_argument("--output", "-o", default=None, help="also write the planned requests to this file")

    serve = commands.add_parser("serve", help="run the Eden AI emulator (v3 and v2, on one port)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed at start)")
    serve.add_argument("--api-key", default="test-key", help="the Bearer token the emulator accepts")
    serve.add_argument("--job-seconds", type=float, default=0.0, help="how long each batch job stays processing")
    serve.add_argument("--page-size", type=int, default=100, help="results per page of a batch job")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    serve.add_argument(
        "--fail-input",
        action="append",
        default=[],
        metavar="TEXT",
        help="an input whose provider result fails (repeat for more)",
    )
    return parser


def positive_int(raw: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number such as 100, got {raw!r}")
    return value


def _progress_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress", dest="progress", action="store_const", const=True, default=None, help="always show progress"
    )
    group.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="hide progress")


def main(argv: Sequence[str] | None = None) -> int:
    from ._errors import APIError, EdenFrameError, MissingDependencyError, ValidationError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed: an exit code, as below
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    stdout, stderr = sys.stdout, sys.stderr
    try:
        if args.command == "demo":
            frame, reports = run_demo(args.rows, progress=args.progress)
            print_demo(frame, reports, stdout, stderr)
            return EXIT_OK
        if args.command == "run":
            return command_run(args, stdout, stderr)
        if args.command == "estimate":
            return command_estimate(args, stdout, stderr)
        if args.command == "serve":
            from .testing import serve as serve_emulator

            serve_emulator(
                host=args.host,
                port=args.port,
                api_key=args.api_key,
                job_seconds=args.job_seconds,
                page_size=args.page_size,
                latency=args.latency,
                provider_fail_inputs=tuple(args.fail_input),
            )
            return EXIT_OK
    except CommandError as exc:
        print(f"edenframe: error: {exc}", file=stderr)
        return exc.code
    except (ValidationError, MissingDependencyError) as exc:
        print(f"edenframe: error: {cli_advice(str(exc))}", file=stderr)
        return EXIT_USAGE
    except (APIError, EdenFrameError) as exc:
        print(f"edenframe: error: {cli_advice(str(exc))}", file=stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("edenframe: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    raise AssertionError(f"unhandled command {args.command}")


# The library words its advice for Python (`prefix='...'`, `providers='local'`); on the command line the same
# advice names the flag or environment variable. Every library message printed by the command goes through here.
_CLI_WORDING = [
    (r",? or call (?:edenframe\.)?configure\(api_key=[^)]*\)", ""),  # already says "set EDENAI_API_KEY"
    (r"(?:edenframe\.)?configure\(api_key=[^)]*\)", "the EDENAI_API_KEY environment variable"),
    (r"\bpass api_key=(?:\.\.\.)?", "set EDENAI_API_KEY"),
    (r"(?:edenframe\.)?configure\(base_url=(['\"])([^'\"]*)\1\)", r"EDENAI_BASE_URL=\2"),
    (r"^base_url\b", "EDENAI_BASE_URL"),
    (r"\bfallback_providers=(['\"])([^'\"]*)\1", r"--fallback-providers \2"),
    (r"\bfallback_providers\b", "--fallback-providers"),
    (r"\bproviders=(['\"])([^'\"]*)\1", r"-p \2"),
    (r"\bproviders=", "--providers"),
    (r"^providers\b", "--providers"),
    (r"\bprefix=(['\"])\.\.\.\1", "--prefix NAME"),
    (r"\bprefix=(['\"])([^'\"]*)\1", r"--prefix \2"),
    (r"\bprefix= values\b", "--prefix values"),
    (r"^prefix\b", "--prefix"),
    (r"\boverwrite=True\b", "--overwrite"),
    (r"\bmax_cost=", "--max-cost "),
    (r"\bmax_cost\b", "--max-cost"),
    (r"\bwith dry_run=True\b", "with `edenframe estimate`"),
    (r"\berrors=(['\"])(\w+)\1", r"--errors \2"),
    (r"\bcache=False\b", "--no-cache"),
    (r"\b\w+\(\) parameter '(\w+)'", r"--param \1"),
    (r"\bneeds the parameter '(\w+)'", r"needs --param \1=VALUE"),
    (r"It takes: ([^;]*); and the common options [^.]*\.", r"It takes (as --param KEY=VALUE): \1."),
]
_CLI_PATTERNS = [(re.compile(pattern), replacement) for pattern, replacement in _CLI_WORDING]


def cli_advice(message: str) -> str:
    """A library message with its Python advice reworded for the command line."""
    for pattern, replacement in _CLI_PATTERNS:
        message = pattern.sub(replacement, message)
    return message


if __name__ == "__main__":
    sys.exit(main())
