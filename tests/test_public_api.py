"""The public surface: what `edenframe` exports, that each export is documented, that the docs point into no private
module, and the file and price functions that the command line and the dry runs use, through their public names."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pyarrow as pa
import pytest

import edenframe
import edenframe.datasets
import edenframe.testing
from edenframe.testing import EdenEmulator

ROOT = Path(__file__).resolve().parents[1]

# A private module named in prose: `edenframe._prices`, `from edenframe._config import ...`, `edenframe/_cli.py`.
PRIVATE = re.compile(r"\bedenframe(?:\.|/)_[a-z]\w*")

# Pages for edenframe's own developers, which are about the private modules.
DEVELOPER_PAGES = {"docs/contributing.md"}


def _user_pages() -> list[Path]:
    """What users read: the README, the documentation pages and the notebooks (not the docs' build hooks)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "notebooks").glob("*.ipynb"))]
    return [page for page in pages if page.is_file() and page.relative_to(ROOT).as_posix() not in DEVELOPER_PAGES]


def _public_docstrings() -> Iterator[tuple[str, str]]:
    """(qualified name, docstring) of each public module, exported name and public member of an exported class."""
    modules: list[ModuleType] = [edenframe, edenframe.datasets, edenframe.testing]
    for module in modules:
        yield module.__name__, inspect.getdoc(module) or ""
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if isinstance(obj, str | ModuleType):
                continue
            yield f"{module.__name__}.{name}", inspect.getdoc(obj) or ""
            if inspect.isclass(obj):
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                    if callable(target):
                        yield f"{module.__name__}.{name}.{member}", inspect.getdoc(target) or ""


def test_docs_name_no_private_module() -> None:
    found = []
    for page in _user_pages():
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{page.relative_to(ROOT)}:{number}: {m.group()}" for m in PRIVATE.finditer(line)]
    assert not found, f"user docs point into private modules (export the name or stop mentioning it): {found}"


def test_public_docstrings_name_no_private_module() -> None:
    found = [f"{where}: {match.group()}" for where, doc in _public_docstrings() for match in PRIVATE.finditer(doc)]
    assert not found, found


def test_all_lists_every_public_name_and_each_has_a_docstring() -> None:
    assert edenframe.__all__ == sorted(edenframe.__all__)
    exported = set(edenframe.__all__)
    public = {
        name
        for name, value in vars(edenframe).items()
        if not name.startswith("_") and not isinstance(value, ModuleType) and name != "annotations"  # __future__
    }
    assert public - exported == set(), "public names missing from edenframe.__all__ (the reference page)"
    assert all(hasattr(edenframe, name) for name in exported)
    undocumented = [name for name in exported - {"__version__"} if not inspect.getdoc(getattr(edenframe, name))]
    assert undocumented == []


def test_the_reference_page_renders_edenframe_from_all() -> None:
    """docs/reference.md renders `::: edenframe`, which mkdocstrings fills from `__all__` (the mkdocs build test in
    test_docs.py checks the built page); it names the file and price functions in its introduction."""
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert re.search(r"^::: edenframe$", text, re.M)
    for name in ("read_table", "write_table", "load_prices", "refresh_prices", "PriceTable"):
        assert f"`{name}`" in text, name


# ---------------------------------------------------------------------------------------------------------------
# read_table / write_table


def _nested_frame() -> pd.DataFrame:
    keyword = pa.struct([("keyword", pa.string()), ("importance", pa.float64())])
    return pd.DataFrame(
        {
            "review": pd.array(["Great sound", "NA", None], dtype="string"),
            "keywords_items": pd.array(
                [[{"keyword": "sound", "importance": 0.9}], [], None], dtype=pd.ArrowDtype(pa.list_(keyword))
            ),
            "rate": [0.5, float("nan"), 1.0],
        },
        index=pd.Index([10, 20, 30], name="id"),
    )


def test_write_then_read_parquet_keeps_dtypes(tmp_path: Path) -> None:
    frame = _nested_frame()
    path = tmp_path / "out.parquet"
    edenframe.write_table(frame, str(path))  # str paths as well as Path
    back = edenframe.read_table(path)
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True))  # the index is not written


def test_a_blank_line_in_a_hand_written_csv_is_a_row_with_a_missing_value(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("review\ngood\n\nbad\n", encoding="utf-8")  # as a spreadsheet or an editor writes it
    back = edenframe.read_table(path)
    assert len(back) == 3 and back["review"].iloc[2] == "bad" and pd.isna(back["review"].iloc[1])


@pytest.mark.parametrize("name", ["one.csv", "one.jsonl", "one.parquet"])
def test_a_missing_value_in_a_one_column_table_is_a_row_not_a_blank_line_skipped(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"review": pd.array(["good", None, "bad", None], dtype="string")})
    edenframe.write_table(frame, tmp_path / name)
    back = edenframe.read_table(tmp_path / name)
    assert len(back) == 4 and back["review"].iloc[2] == "bad"  # no row dropped, none shifted
    assert back["review"].isna().tolist() == [False, True, False, True]


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.ndjson"])
def test_json_lines_write_nested_columns_as_nested_json(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    edenframe.write_table(_nested_frame(), path)
    back = edenframe.read_table(path)
    assert back["keywords_items"].tolist()[:2] == [[{"keyword": "sound", "importance": 0.9}], []]
    assert pd.isna(back["keywords_items"][2])
    assert back["review"].tolist()[:2] == ["Great sound", "NA"] and pd.isna(back["review"][2])
    if name == "out.jsonl":
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert first == {
            "review": "Great sound",
            "keywords_items": [{"keyword": "sound", "importance": 0.9}],
            "rate": 0.5,
        }


@pytest.mark.filterwarnings("error")  # no deprecation warning from pandas' read_json either
def test_json_lines_keep_date_like_columns_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"created_at": "2024-01-01", "date": 1700000000000, "review": "ok"}\n', encoding="utf-8")
    back = edenframe.read_table(path)
    assert back.loc[0].tolist() == ["2024-01-01", 1700000000000, "ok"]


def test_csv_writes_nested_cells_as_json_text_and_reads_na_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    edenframe.write_table(_nested_frame(), path)
    back = edenframe.read_table(path)
    assert back["review"].tolist()[:2] == ["Great sound", "NA"]  # only empty fields are missing
    assert pd.isna(back["review"][2])
    assert json.loads(back["keywords_items"][0]) == [{"keyword": "sound", "importance": 0.9}]
    assert back["keywords_items"][1] == "[]" and pd.isna(back["keywords_items"][2])


def test_table_errors_are_python_s_and_edenframe_s(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.csv: no such file"):
        edenframe.read_table(tmp_path / "missing.csv")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory, not a file"):
        edenframe.read_table(tmp_path / "folder.csv")
    (tmp_path / "notes.txt").write_text("x\n", encoding="utf-8")
    with pytest.raises(edenframe.ValidationError, match=r"notes\.txt: unknown file type; use \.csv, \.parquet"):
        edenframe.read_table(tmp_path / "notes.txt")
    (tmp_path / "broken.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(edenframe.ValidationError, match=r"broken\.parquet: cannot read it as parquet"):
        edenframe.read_table(tmp_path / "broken.parquet")
    with pytest.raises(edenframe.ValidationError, match="unknown file type"):
        edenframe.write_table(_nested_frame(), tmp_path / "out.parquet.gz")
    with pytest.raises(TypeError, match=r"takes a DataFrame, not Series \(a Series: series\.to_frame\(\)\)"):
        edenframe.write_table(_nested_frame()["review"], tmp_path / "out.csv")  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet", "folder.csv", "notes.txt"]


# ---------------------------------------------------------------------------------------------------------------
# prices


def test_shipped_and_refreshed_prices_through_the_public_names() -> None:
    shipped = edenframe.load_prices()
    assert isinstance(shipped, edenframe.PriceTable) and edenframe.load_prices() is shipped
    amazon = shipped.price("text/sentiment_analysis", "amazon")
    assert amazon == edenframe.Price(1.0, 1_000_000, "char", 300)
    assert amazon.cost(450) == pytest.approx(0.0006)  # billed in blocks of 300 characters
    with EdenEmulator() as emu:
        live = edenframe.refresh_prices(emu.base_url, emu.api_key, subfeature="sentiment_analysis")
    assert live.paths() == ["text/sentiment_analysis"]
    assert live.price("text/sentiment_analysis", "amazon") == amazon


async def test_arefresh_prices_is_public() -> None:
    async with EdenEmulator() as emu:
        live = await edenframe.arefresh_prices(emu.base_url, emu.api_key, feature="translation")
    assert {path.split("/")[0] for path in live.paths()} == {"translation"}
