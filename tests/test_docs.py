"""The docs: the generated tables in the Markdown sources are current and cover the whole catalog, `mkdocs build
--strict` passes, the getting-started code runs as written, and the documented commands and costs are the real
ones."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pandas as pd
import pytest
from helpers import require_extra

import edenframe
from edenframe.testing import EdenEmulator

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


def test_each_feature_page_has_its_block() -> None:
    gen = _hook("gen_tables")
    for feature in gen.FEATURES:
        text = (DOCS / "features" / f"{feature}.md").read_text(encoding="utf-8")
        assert [block.label for block in gen.blocks(text)] == [f"subfeatures {feature}"]
        assert f"<!-- end generated: subfeatures {feature} -->" in text


def test_generated_tables_in_the_sources_are_current() -> None:
    """A reader of docs/features/text.md on GitHub sees the tables the build would generate."""
    gen = _hook("gen_tables")
    pages = gen.pages()
    assert {path.relative_to(DOCS).as_posix() for path in pages} >= {
        "index.md", "configuration.md", "local.md", *(f"features/{feature}.md" for feature in gen.FEATURES)
    }  # fmt: skip
    stale = [path.relative_to(ROOT).as_posix() for path in gen.stale(pages)]
    assert not stale, f"generated tables are stale in {stale}: run python docs/gen_tables.py"
    assert gen.uncovered(pages) == []
    text = (DOCS / "features" / "text.md").read_text(encoding="utf-8")
    assert "| `sentiment_general_sentiment` | `category`: `Positive`, `Negative`, `Neutral` |" in text


def test_the_regenerate_command_checks_and_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gen = _hook("gen_tables")
    page = tmp_path / "page.md"
    page.write_text(
        "# Settings\n\nBefore.\n\n<!-- generated: settings (old note) -->\n\n| setting |\n|---|\n| `gone` |\n\n"
        "<!-- end generated: settings -->\n\nAfter.\n\n<!-- generated: local -->\n\nThe end.\n",
        encoding="utf-8",
    )
    assert gen.main(["--check", str(page)]) == 1
    assert "generated tables are stale; run python docs/gen_tables.py" in capsys.readouterr().err
    assert "`gone`" in page.read_text(encoding="utf-8")  # --check changes nothing
    assert gen.main([str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Settings\n\nBefore.\n\n<!-- generated: settings (python docs/gen_tables.py rewrites")
    assert "`gone`" not in text
    assert gen.settings_table() in text
    assert "<!-- end generated: settings -->\n\nAfter.\n\n<!-- generated: local " in text
    assert text.endswith(f"{gen.local_table()}\n\n<!-- end generated: local -->\n\nThe end.\n")  # filled in
    assert gen.main(["--check", str(page)]) == 0
    assert gen.main([str(page)]) == 0 and page.read_text(encoding="utf-8") == text  # idempotent


def test_the_regenerate_command_runs_from_the_shell(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- generated: methods -->\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(DOCS / "gen_tables.py"), "--check", str(page)]
    assert subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120).returncode == 1
    assert subprocess.run([*command[:2], str(page)], cwd=ROOT, env=env, timeout=120).returncode == 0
    assert "| text | [`sentiment`](features/text.md#sentiment) |" in page.read_text(encoding="utf-8")
    assert subprocess.run(command, cwd=ROOT, env=env, timeout=120).returncode == 0


def test_bad_markers_are_refused() -> None:
    gen = _hook("gen_tables")
    with pytest.raises(ValueError, match="old-style marker"):
        gen.rewrite("<!-- edenframe:settings -->\n", "page.md")
    with pytest.raises(ValueError, match="without its opening marker"):
        gen.rewrite("text\n<!-- end generated: settings -->\n", "page.md")
    with pytest.raises(ValueError, match="the feature must be one of"):
        gen.rewrite("<!-- generated: subfeatures video -->\n", "page.md")


def test_the_build_renders_fresh_tables_and_warns_when_a_source_is_stale(caplog: pytest.LogCaptureFixture) -> None:
    gen = _hook("gen_tables")
    page = SimpleNamespace(file=SimpleNamespace(src_uri="configuration.md"))
    current = gen.rewrite("Intro.\n\n<!-- generated: settings -->\n\nOutro.\n")
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.gen_tables"):
        html_source = gen.on_page_markdown(current, page, None, None)
    assert not caplog.records
    assert "<!--" not in html_source and gen.settings_table() in html_source
    assert html_source.startswith("Intro.\n") and html_source.endswith("Outro.\n")
    stale = current.replace("| `batch_size` | `500` |", "| `batch_size` | `100` |")
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.gen_tables"):
        assert gen.on_page_markdown(stale, page, None, None) == html_source
    assert [r.getMessage() for r in caplog.records] == [
        "configuration.md: the generated block 'settings' is stale: run python docs/gen_tables.py"
    ]


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


@pytest.mark.extra("docs")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
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
    assert "<!-- generated" not in text_page and "<!-- end generated" not in text_page
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert "edenframe.testing.EdenEmulator" in reference
    assert "EdenFrameAccessor" in reference
    names = [name for name in edenframe.__all__ if name != "__version__"]
    missing = [name for name in names if f'id="edenframe.{name}"' not in reference]
    assert missing == [], "exported but not on the reference page"


# ---------------------------------------------------------------------------------------------------------------
# What the pages say


README_TEST_COMMAND = (
    'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev,local,local-nlp,local-vision,plots,docs,'
    'notebook,dask]" && ruff check . && ruff format --check . && python -m pytest -q'
)


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_every_dev_install_command_is_the_readme_s() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_TEST_COMMAND in readme
    found = {}
    for page in _pages():
        for line in page.read_text(encoding="utf-8").splitlines():
            if re.search(r"pip install .*\[dev\b", line):
                found[f"{page.relative_to(ROOT)}: {line.strip()}"] = line.strip() == README_TEST_COMMAND
    assert "docs/testing.md: " + README_TEST_COMMAND in found and "docs/index.md: " + README_TEST_COMMAND in found
    assert all(found.values()), [where for where, same in found.items() if not same]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = README_TEST_COMMAND.split(" && ")[2].replace("pip install -e", "pip install -q -e")
    assert install in ci


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_getting_started_runs_offline_as_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The page's offline code (every block that names no remote provider) runs top to bottom, keeps the English
    reviews before the English-only local sentiment, and its run report is the one the page shows."""
    monkeypatch.chdir(tmp_path)  # the page writes files (a Parquet example): not into the checkout
    require_extra("local")
    edenframe.configure(progress=False)
    page = DOCS / "getting-started.md"
    blocks = [b for b in _python_blocks(page) if "providers=" not in b and "api_key" not in b and "await " not in b]
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)  # our own docs
    english, out = namespace["english"], namespace["out"]
    assert len(english) == 221 and (english["language"] == "en").all()
    assert out.index.equals(english.index)
    assert out["sentiment_error"].isna().all()
    assert namespace["vectors"].shape == (221, 384)
    shown = re.search(r"^langs\.attrs\[\"edenframe\"\]\n((?:# .*\n)+)", page.read_text(encoding="utf-8"), re.M)
    assert shown is not None
    documented = dict(re.findall(r"'(\w+)': (\d+)(?=[,}])", shown.group(1)))
    report = namespace["langs"].attrs["edenframe"]
    assert {key: int(value) for key, value in documented.items()} == {key: report[key] for key in documented}
    assert {"rows", "sent", "cached", "deduplicated", "skipped", "failed", "jobs"} <= set(documented)


def _charge_table() -> list[tuple[str, str, list[float]]]:
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    section = text[text.index("## What it charges") : text.index("## In a test")]
    rows = []
    for line in section.splitlines():
        match = re.match(r"^\| `(\w+)`, `([\w/-]+)` \|[^|]*\|([^|]*)\|([^|]*)\|$", line)
        if match:
            costs = [float(re.findall(r"[0-9][0-9.]*", cell)[-1]) for cell in match.group(3, 4)]
            rows.append((match[1], match[2], costs))
    return rows


def test_the_emulator_charges_what_testing_md_says() -> None:
    rows = _charge_table()
    assert {provider for _, provider, _ in rows} == {"google", "amazon", "synthetic"}
    texts = ["Great sound.", "x" * 450]
    assert len(texts[0]) == 12
    frame = pd.DataFrame({"review": texts})
    with EdenEmulator() as emu:
        for method, provider, documented in rows:
            emu.reset()
            out = getattr(frame.eden, method)(
                "review", providers=provider, api_key=emu.api_key, base_url=emu.base_url, progress=False
            )
            charged = [charge.cost for charge in emu.ledger]
            assert sorted(charged) == pytest.approx(sorted(documented), rel=1e-9), provider
            assert out[f"{method}_cost"].tolist() == pytest.approx(documented, rel=1e-9)
            if provider != "synthetic":  # a listed price: the dry-run estimate is what the emulator charges
                plan = getattr(frame.eden, method)(
                    "review", providers=provider, base_url=emu.base_url, cache=False, dry_run=True
                )
                assert math.isclose(plan.attrs["edenframe"]["estimated_cost"], sum(documented), rel_tol=1e-9)
