"""The `edenframe` command: `demo` (the offline main job) and `serve` (the Eden AI emulator)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources

import pandas as pd

DEMO_STEPS = (
    ("sentiment", {}),
    ("detect_language", {}),
)


def demo_frame() -> pd.DataFrame:
    """The bundled sample of product reviews."""
    with resources.files("edenframe").joinpath("data/reviews.csv").open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values=[""])


def run_demo(rows: int | None, progress: bool | None) -> pd.DataFrame:
    """Enrich the sample offline with every demo step; returns the enriched frame."""
    import edenframe  # noqa: F401  (registers df.eden)

    frame = demo_frame()
    if rows is not None:
        frame = frame.head(rows)
    reports = []
    for method, options in DEMO_STEPS:
        frame = getattr(frame.eden, method)("review", providers="local", progress=progress, **options)
        reports.append(frame.attrs["edenframe"])
    frame.attrs["edenframe_reports"] = reports
    return frame


def _print_demo(frame: pd.DataFrame) -> None:
    shown = [
        c
        for c in frame.columns
        if c in ("review_id", "review")
        or (c.endswith(("_general_sentiment", "_general_sentiment_rate", "_items", "_error")) and "sentiment" in c)
        or c.startswith("detect_language_items")
    ]
    view = frame[shown].copy()
    view["review"] = view["review"].str.slice(0, 50)
    if "detect_language_items" in view:
        view["language"] = _first_item_field(frame["detect_language_items"], "language")
        view = view.drop(columns=["detect_language_items"])
    if "sentiment_items" in view:
        view = view.drop(columns=["sentiment_items"])
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 50):
        print(view.head(20).to_string())
        print()
        print(view.describe(include="all").loc[["count", "unique", "top"]].to_string())
    print()
    for report in frame.attrs["edenframe_reports"]:
        summary = ", ".join(f"{k}={v}" for k, v in report.items())
        print(f"report: {summary}")


def _first_item_field(items: pd.Series, field: str) -> pd.Series:
    """The `field` of each row's first list item (NA for empty or missing lists)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.chunked_array(items.array._pa_array).combine_chunks()  # type: ignore[attr-defined]
    heads = pc.list_slice(array, 0, 1)
    values = pc.list_flatten(heads).field(field)
    rows = pc.list_parent_indices(heads).to_numpy()
    out = pd.Series(pd.NA, index=items.index, dtype="string")
    out.iloc[rows] = values.to_pylist()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edenframe", description="Eden AI for pandas.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="enrich the bundled review sample offline and print it")
    demo.add_argument("--rows", type=int, default=None, help="only the first N rows")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    serve = commands.add_parser("serve", help="run the Eden AI v2 emulator (sync and batch endpoints)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--api-key", default="test-key", help="the Bearer token the emulator accepts")
    serve.add_argument("--job-seconds", type=float, default=0.0, help="how long each batch job stays processing")
    serve.add_argument("--page-size", type=int, default=100)

    args = parser.parse_args(argv)
    if args.command == "demo":
        frame = run_demo(args.rows, progress=False if args.no_progress else None)
        _print_demo(frame)
        return 0
    if args.command == "serve":
        from .testing import serve as serve_emulator

        serve_emulator(
            host=args.host, port=args.port, api_key=args.api_key, job_seconds=args.job_seconds, page_size=args.page_size
        )
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
