"""The docs: `mkdocs build --strict` passes, and the generated tables cover the whole catalog."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import edenframe

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_subfeature_has_a_generated_section() -> None:
    gen = _hook("gen_tables")
    pages = {feature: gen.render("subfeatures", feature) for feature in gen.FEATURES}
    for entry in edenframe.all_subfeatures():
        page = pages[entry.feature]
        assert page.count(f"### `{entry.method}`\n") == 1, entry.method
        assert f"`{entry.path}`" in page
        for field in entry.row_output.names:
            assert f"| `{entry.method}_{field}` |" in page
        for param in entry.params:
            assert f"| `{param.name}` |" in page
    assert "| `sentiment_general_sentiment` | `category`: `Positive`, `Negative`, `Neutral` |" in pages["text"]
    assert "| `embed_embedding` | `list<item: float>` |" in pages["text"]


def test_each_feature_page_has_its_marker() -> None:
    gen = _hook("gen_tables")
    for feature in gen.FEATURES:
        text = (DOCS / "features" / f"{feature}.md").read_text(encoding="utf-8")
        assert f"<!-- edenframe:subfeatures {feature} -->" in text


def test_unknown_markers_fail() -> None:
    gen = _hook("gen_tables")
    with pytest.raises(ValueError, match="the feature must be one of"):
        gen.render("subfeatures", "video")
    with pytest.raises(ValueError, match="unknown marker"):
        gen.render("nonsense", None)


def test_settings_table_lists_every_setting() -> None:
    import dataclasses

    from edenframe._config import Settings

    table = _hook("gen_tables").settings_table()
    for field in dataclasses.fields(Settings):
        assert f"| `{field.name}` |" in table
    assert "| `batch_size` | `500` | requests per batch job (Eden AI's maximum) |" in table


def test_optional_pages_leave_the_nav_only_while_missing(tmp_path: Path) -> None:
    hook = _hook("optional_pages")
    (tmp_path / "dask.md").write_text("# Dask\n", encoding="utf-8")
    nav = [
        {"Home": "index.md"},
        {"Caching and cost": "caching-and-cost.md"},
        {"Scale": [{"Dask": "dask.md"}, {"Benchmarks": "benchmarks.md"}]},
        {"Typo": "benchmark.md"},
    ]
    pruned = hook._prune(nav, tmp_path)
    assert pruned == [{"Home": "index.md"}, {"Scale": [{"Dask": "dask.md"}]}, {"Typo": "benchmark.md"}]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason="the docs extra is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text_page = (site / "features" / "text" / "index.html").read_text(encoding="utf-8")
    assert "sentiment_general_sentiment" in text_page
    assert "<!-- edenframe:" not in text_page
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert "edenframe.testing.EdenEmulator" in reference
    assert "EdenFrameAccessor" in reference
