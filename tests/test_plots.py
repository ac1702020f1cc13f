"""Plots (agreement heatmap, cost bars) rendered with the Agg backend, and the run report's notebook display."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import edenframe
from edenframe import EdenFrameAccessor, ValidationError
from edenframe._plots import agreement_matrix, cost_by_provider, plot_agreement, plot_cost
from edenframe._report import RunReport, format_report
from edenframe.testing import EdenEmulator, expected_row

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = ["Positive", "Negative", "Neutral"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _labels(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.Categorical(values, categories=LABELS))


@pytest.fixture
def known() -> pd.DataFrame:
    """Three providers whose agreement is known: a~b 3/4, a~c 2/3, b~c 1/3 (c has no label on the last row)."""
    labels = {
        "a": ["Positive", "Negative", "Positive", "Neutral"],
        "b": ["Positive", "Negative", "Negative", "Neutral"],
        "openai/gpt-4o": ["Positive", "Positive", "Positive", None],
    }
    costs = {"a": [0.1, 0.2, 0.0, np.nan], "b": [0.05, 0.05, 0.05, 0.05], "openai/gpt-4o": [1.0, 0.0, 0.0, 0.5]}
    data: dict[str, object] = {"review": ["w", "x", "y", "z"]}
    for provider, values in labels.items():
        slug = provider.replace("/", "_").replace("-", "_")
        data[f"sentiment_{slug}_general_sentiment"] = _labels(values)
        data[f"sentiment_{slug}_general_sentiment_rate"] = [0.5, 0.5, 0.5, 0.5]
        data[f"sentiment_{slug}_cost"] = costs[provider]
        data[f"sentiment_{slug}_error"] = pd.array([None] * 4, dtype="string")
    return pd.DataFrame(data)


EXPECTED = np.array(
    [
        [1.0, 3 / 4, 2 / 3],
        [3 / 4, 1.0, 1 / 3],
        [2 / 3, 1 / 3, 1.0],
    ]
)
PROVIDERS = ["a", "b", "openai_gpt_4o"]


def _tick_labels(labels: list) -> list[str]:
    return [label.get_text() for label in labels]


def _save(ax: plt.Axes, path: Path) -> None:
    ax.figure.savefig(path, format="png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000


# ---------------------------------------------------------------------------------------------------------------
# agreement


def test_agreement_matrix_on_known_labels(known: pd.DataFrame) -> None:
    matrix = agreement_matrix(known, "sentiment")
    assert list(matrix.index) == PROVIDERS
    assert list(matrix.columns) == PROVIDERS
    np.testing.assert_allclose(matrix.to_numpy(), EXPECTED)
    assert matrix.attrs["field"] == "general_sentiment"


def test_plot_agreement_heatmap(known: pd.DataFrame, tmp_path: Path) -> None:
    ax = plot_agreement(known, "sentiment")
    assert ax.get_title() == "Agreement on sentiment general_sentiment"
    assert ax.get_xlabel() == "provider"
    assert ax.get_ylabel() == "provider"
    assert _tick_labels(ax.get_xticklabels()) == PROVIDERS
    assert _tick_labels(ax.get_yticklabels()) == PROVIDERS
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), EXPECTED)
    cells = [text.get_text() for text in ax.texts]
    assert cells == ["100%", "75%", "67%", "75%", "100%", "33%", "67%", "33%", "100%"]
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert colorbar_axes[0].get_ylabel() == "share of rows with the same label"
    _save(ax, tmp_path / "agreement.png")


def test_plot_agreement_draws_on_the_given_axes(known: pd.DataFrame) -> None:
    _, ax = plt.subplots()
    assert plot_agreement(known, "sentiment", field="general_sentiment", ax=ax) is ax


def test_pairs_without_common_rows_show_na() -> None:
    frame = pd.DataFrame(
        {
            "s_a_label": _labels(["Positive", None]),
            "s_a_cost": [0.0, 0.0],
            "s_b_label": _labels([None, "Negative"]),
            "s_b_cost": [0.0, 0.0],
        }
    )
    ax = plot_agreement(frame, "s")
    assert [t.get_text() for t in ax.texts] == ["100%", "n/a", "n/a", "100%"]


def test_agreement_needs_a_several_provider_call(known: pd.DataFrame) -> None:
    single = pd.DataFrame({"sentiment_general_sentiment": _labels(["Positive"]), "sentiment_cost": [0.0]})
    with pytest.raises(ValidationError, match="agreement needs the columns of one call with several providers"):
        plot_agreement(single, "sentiment")


def test_several_label_fields_need_field(known: pd.DataFrame) -> None:
    frame = known.copy()
    for slug in PROVIDERS:
        frame[f"sentiment_{slug}_mood"] = _labels(["Neutral"] * 4)
    with pytest.raises(ValidationError, match=r"several label fields .*\['general_sentiment', 'mood'\]"):
        plot_agreement(frame, "sentiment")
    ax = plot_agreement(frame, "sentiment", field="mood")
    assert ax.get_title() == "Agreement on sentiment mood"
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), np.ones((3, 3)))


def test_agreement_of_an_emulated_run(tmp_path: Path) -> None:
    texts = [f"Review number {i}: it works, mostly." for i in range(30)]
    df = pd.DataFrame({"review": texts})
    with EdenEmulator() as emu:
        out = df.eden.sentiment("review", providers="google,amazon", api_key=emu.api_key, base_url=emu.base_url)
    google = [expected_row("sentiment", "google", t)["general_sentiment"] for t in texts]
    amazon = [expected_row("sentiment", "amazon", t)["general_sentiment"] for t in texts]
    share = float(np.mean([g == a for g, a in zip(google, amazon, strict=True)]))
    ax = plot_agreement(out, "sentiment")
    assert _tick_labels(ax.get_xticklabels()) == ["google", "amazon"]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), [[1.0, share], [share, 1.0]])
    _save(ax, tmp_path / "emulated.png")


# ---------------------------------------------------------------------------------------------------------------
# cost


def test_plot_cost_by_provider(known: pd.DataFrame, tmp_path: Path) -> None:
    ax = plot_cost(known, "sentiment")
    assert ax.get_title() == "Cost of sentiment by provider"
    assert ax.get_xlabel() == "provider"
    assert ax.get_ylabel() == "cost (USD)"
    assert _tick_labels(ax.get_xticklabels()) == PROVIDERS
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [0.3, 0.2, 1.5])
    assert [t.get_text() for t in ax.texts] == ["0.3", "0.2", "1.5"]
    _save(ax, tmp_path / "cost.png")


def test_plot_cost_without_prefix_has_one_bar_per_cost_column(known: pd.DataFrame) -> None:
    frame = known.assign(keywords_cost=[0.01, 0.01, 0.0, 0.0])
    ax = plot_cost(frame)
    assert ax.get_title() == "Cost by provider"
    assert _tick_labels(ax.get_xticklabels()) == [f"sentiment_{p}" for p in PROVIDERS] + ["keywords"]
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], [0.3, 0.2, 1.5, 0.02])


def test_cost_of_a_one_provider_call() -> None:
    frame = pd.DataFrame({"keywords_items": [None, None], "keywords_cost": [0.25, 0.5]})
    totals = cost_by_provider(frame, "keywords")
    assert totals.to_dict() == {"keywords": 0.75}
    with pytest.raises(ValidationError, match="no cost column for prefix 'topics'"):
        cost_by_provider(frame, "topics")
    with pytest.raises(ValidationError, match="no cost column"):
        plot_cost(pd.DataFrame({"a": [1]}))


def test_plot_cost_of_an_emulated_run_matches_the_ledger() -> None:
    df = pd.DataFrame({"review": ["Good value.", "Too loud.", "Good value."]})
    with EdenEmulator() as emu:
        out = df.eden.keywords("review", providers="amazon,microsoft", api_key=emu.api_key, base_url=emu.base_url)
        ledger = emu.ledger
    ax = plot_cost(out, "keywords")
    charged = [sum(c.cost for c in ledger if c.provider == p) for p in ("amazon", "microsoft")]
    assert min(charged) > 0
    np.testing.assert_allclose([bar.get_height() for bar in ax.patches], charged)


# ---------------------------------------------------------------------------------------------------------------
# accessor wiring (after `plot_agreement = _plots.plot_agreement` etc. are added to EdenFrameAccessor)


@pytest.mark.skipif(
    not hasattr(EdenFrameAccessor, "plot_agreement"), reason="df.eden.plot_* not wired into _accessor.py yet"
)
def test_accessor_methods(known: pd.DataFrame) -> None:
    ax = known.eden.plot_agreement("sentiment")
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), EXPECTED)
    ax = known.eden.plot_cost("sentiment")
    assert _tick_labels(ax.get_xticklabels()) == PROVIDERS


# ---------------------------------------------------------------------------------------------------------------
# run report


REPORT = {
    "subfeature": "text/sentiment_analysis",
    "providers": ["google", "openai/gpt-4o"],
    "rows": 300,
    "sent": 293,
    "cached": 0,
    "deduplicated": 2,
    "skipped": 5,
    "failed": 1,
    "cost": 0.0123,
    "jobs": 1,
    "seconds": 1.23456,
}


def test_run_report_is_a_dict_with_an_html_table() -> None:
    report = RunReport(REPORT)
    assert report == REPORT
    html = report._repr_html_()
    assert html.startswith('<table class="edenframe-report">')
    assert html.count("<tr>") == len(REPORT) + 1
    assert "<th" in html and "providers" in html
    assert "google, openai/gpt-4o" in html
    assert "1.23 s" in html
    assert "0.0123" in html


def test_run_report_escapes_html() -> None:
    html = RunReport({"subfeature": "<script>x</script>"})._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_run_report_summary() -> None:
    line = RunReport({**REPORT, "estimated_cost": 0.02}).summary()
    assert line == (
        "text/sentiment_analysis [google, openai/gpt-4o]: 300 rows, 293 sent, 0 cached, 2 deduplicated, "
        "5 skipped, 1 failed, 1 jobs, cost 0.0123, estimated_cost 0.02, 1.23 s"
    )
    assert format_report(REPORT) == RunReport(REPORT).summary()


def test_run_report_survives_copies_pickles_and_pandas() -> None:
    report = RunReport(REPORT)
    assert type(copy.deepcopy(report)) is RunReport
    assert type(pickle.loads(pickle.dumps(report))) is RunReport
    assert json.loads(json.dumps(report)) == REPORT
    frame = pd.DataFrame({"a": [1, 2, 3]})
    frame.attrs["edenframe"] = report
    assert type(frame.head(2).attrs["edenframe"]) is RunReport
    assert type(frame.copy().attrs["edenframe"]) is RunReport


@pytest.mark.extra("local")
def test_runs_carry_a_run_report_once_wired() -> None:
    out = pd.DataFrame({"review": ["Nice."]}).eden.sentiment("review", progress=False)
    if not isinstance(out.attrs["edenframe"], RunReport):
        pytest.skip("the runner does not build a RunReport yet (see the wiring note for _runner._report)")
    assert "<table" in out.attrs["edenframe"]._repr_html_()
    assert edenframe.__version__
