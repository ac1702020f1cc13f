"""Draw benchmarks/results/latest.json as docs/img/benchmarks.png.

    python benchmarks/plot.py [results.json] [out.png]

Left: every figure with a target, as headroom against it (above 1 = target met, log scale). Right: the wall times
behind the batch figures, edenframe beside what it is compared with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results" / "latest.json"
DEFAULT_IMAGE = HERE.parent / "docs" / "img" / "benchmarks.png"
PASS, FAIL = "#2e7d32", "#c62828"


def headroom(figure: dict[str, Any]) -> float:
    """How far a figure is from its target, as a factor where 1 is exactly on target and above 1 is better."""
    if figure["op"] == "<=":
        return figure["target"] / figure["value"]
    return figure["value"] / figure["target"]


def label(figure: dict[str, Any]) -> str:
    unit = "x" if figure["unit"].startswith("x") else f" {figure['unit']}"
    return f"{figure['value']:,.3g}{unit} (target {figure['op']} {figure['target']:g}x)"


def wall_times(figures: dict[str, dict[str, Any]]) -> list[tuple[str, float, float, str]]:
    """(case, edenframe seconds, other seconds, what the other is)."""
    rows = []
    if "batch_vs_baseline" in figures:
        detail = figures["batch_vs_baseline"]["detail"]
        rows.append(
            (
                f"{detail['rows']:,} rows, no latency",
                detail["edenframe"]["best"],
                detail["baseline"]["best"],
                "hand-written client",
            )
        )
    if "batch_vs_naive_sync" in figures:
        detail = figures["batch_vs_naive_sync"]["detail"]
        rows.append(
            (
                f"{detail['rows']:,} rows, 200 ms latency",
                detail["edenframe_seconds"],
                detail["naive_seconds_extrapolated"],
                "naive sync loop (extrapolated)",
            )
        )
    if "job_time" in figures:
        detail = figures["job_time"]["detail"]
        rows.append(
            (f"{detail['rows']:,} rows, 1 s jobs", detail["seconds"], detail["minimum_seconds"], "theoretical minimum")
        )
    if "typed_columns" in figures:
        detail = figures["typed_columns"]["detail"]
        rows.append(
            (
                f"typed columns, {detail['rows']:,} results",
                detail["edenframe"]["best"],
                detail["json_normalize"]["best"],
                "pd.json_normalize",
            )
        )
    return rows


def plot(results: dict[str, Any], image: Path) -> None:
    figures = {f["key"]: f for f in results["figures"]}
    targeted = [f for f in results["figures"] if f["target"] is not None]
    times = wall_times(figures)

    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.55 * max(len(targeted), 2 * len(times)) + 2.2))
    names = [f["title"] for f in targeted][::-1]
    values = [headroom(f) for f in targeted][::-1]
    colors = [PASS if f["passed"] else FAIL for f in targeted][::-1]
    bars = left.barh(names, values, color=colors)
    left.axvline(1.0, color="black", linewidth=1)
    left.set_xscale("log")
    left.set_xlabel("headroom against the target (log; right of the line = met)")
    for bar, figure in zip(bars, [f for f in targeted][::-1], strict=True):
        left.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2, label(figure), va="center", fontsize=8)
    low, high = min([*values, 0.5]), max([*values, 2.0])
    left.set_xlim(low / 1.5, high * 8)
    left.tick_params(axis="y", labelsize=8)
    left.set_title("targets")

    if times:
        positions = range(len(times))
        ours = [t[1] for t in times]
        theirs = [t[2] for t in times]
        right.barh([p + 0.2 for p in positions], ours, height=0.4, color="#1565c0", label="edenframe")
        right.barh([p - 0.2 for p in positions], theirs, height=0.4, color="#9e9e9e", label="compared with")
        right.set_yticks(list(positions), [f"{t[0]}\nvs {t[3]}" for t in times], fontsize=8)
        right.set_xscale("log")
        right.set_xlabel("seconds (log)")
        for p, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            right.text(a * 1.05, p + 0.2, f"{a:,.2f} s", va="center", fontsize=8)
            right.text(b * 1.05, p - 0.2, f"{b:,.2f} s", va="center", fontsize=8)
        right.set_xlim(min([*ours, *theirs]) / 2, max([*ours, *theirs]) * 6)
        right.legend(loc="lower right", fontsize=8)
        right.set_title("wall times")
    else:
        right.axis("off")

    machine = results["machine"]
    fig.suptitle(
        f"edenframe benchmarks, {results['date'][:10]}: {machine['cpus']} x {machine['cpu_model']}, "
        f"{machine['ram_gib']:g} GiB" + (" (--quick)" if results.get("quick") else ""),
        fontsize=10,
    )
    fig.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(image, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_RESULTS
    image = Path(argv[1]) if len(argv) > 1 else DEFAULT_IMAGE
    plot(json.loads(source.read_text(encoding="utf-8")), image)
    print(f"wrote {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
