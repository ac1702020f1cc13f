"""Results through Parquet and back, explode/matrix on object columns, text UTF-8 cannot carry, shared categories."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import require_extra, required_params, sent

import edenframe
from edenframe import ValidationError
from edenframe._cli import main as cli_main
from edenframe._local import IMPLEMENTATIONS, has_local
from edenframe.testing import EdenEmulator

ALL = [e for e in edenframe.all_subfeatures() if not e.v3_only]  # on v2 (v3's own: tests/test_v3_subfeatures.py)
LOCAL_TEXT = [e for e in ALL if has_local(e.path) and e.input_kind != "file"]


def _inputs(entry: edenframe.Subfeature) -> list[Any]:
    """Distinct values, a duplicate and a missing one: the shapes a result frame has to keep."""
    if entry.input_kind == "file":
        urls = [f"https://files.example.com/doc-{i}.png" for i in range(3)]
    else:
        urls = ["the film was great", "the service was slow", "ok then"]
    return [urls[0], urls[1], None, urls[0], urls[2]]


def _run(entry: edenframe.Subfeature, provider: str) -> pd.DataFrame:
    df = pd.DataFrame({"input": _inputs(entry)}, index=pd.Index([7, 3, 9, 1, 5], name="row"))
    params = required_params(entry)
    if provider == "local" and "target_language" in params:
        params["target_language"] = "es"  # a pair the offline translator has
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return df.eden.run(entry.path, "input", providers=provider, **params)


def _nested(frame: pd.DataFrame) -> list[str]:
    return [
        name
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_nested(dtype.pyarrow_dtype)
    ]


def _items_columns(frame: pd.DataFrame) -> list[str]:
    return [
        name
        for name in _nested(frame)
        if pa.types.is_list(frame[name].dtype.pyarrow_dtype)
        and pa.types.is_struct(frame[name].dtype.pyarrow_dtype.value_type)
    ]


def _check_round_trip(out: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    out.eden.to_parquet(path)
    back = edenframe.read_parquet(path)
    pd.testing.assert_frame_equal(back, out)
    assert back.attrs["edenframe"] == out.attrs["edenframe"]

    # A file written by plain DataFrame.to_parquet, which pd.read_parquet cannot open when a column is nested.
    plain_path = tmp_path / "plain.parquet"
    out.to_parquet(plain_path)
    pd.testing.assert_frame_equal(edenframe.read_parquet(plain_path), out)

    # Plain pandas opens edenframe's file: nested cells as Python objects, or every column as an ArrowDtype.
    plain = pd.read_parquet(path)
    assert list(plain.columns) == list(out.columns) and plain.index.equals(out.index)
    for name in out.columns:
        if name not in _nested(out):
            assert plain[name].dtype == out[name].dtype, name
    arrow = pd.read_parquet(path, dtype_backend="pyarrow")
    assert all(isinstance(dtype, pd.ArrowDtype) for dtype in arrow.dtypes)
    for name in _nested(out):
        assert arrow[name].dtype == out[name].dtype, name

    # explode and matrix give the same answer on the object columns plain pandas reads back.
    for name in _items_columns(out):
        _same_explode(plain.eden.explode(name), out.eden.explode(name))
    for name in _nested(out):
        if out[name].dtype.pyarrow_dtype == pa.list_(pa.float32()):
            kept = out.dropna(subset=[name])
            np.testing.assert_array_equal(
                plain.dropna(subset=[name]).eden.matrix(name), kept.eden.matrix(name), strict=True
            )


def _same_explode(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """The same rows and values; a field no item holds cannot be inferred from object cells (all-NA when typed)."""
    absent = [name for name in want.columns if name not in got.columns]
    assert want[absent].isna().all().all()
    pd.testing.assert_frame_equal(got, want.drop(columns=absent), check_dtype=False)
    _same_types(got, want)


def _same_types(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Inferred from the values, a field's type equals the schema's wherever a value was there to infer it from
    (but for maps: pyarrow infers none from Python values, so a free-form object stays a list of key-value pairs)."""
    for name in got.columns:
        if got[name].notna().any() and not _has_map(want[name].dtype):
            assert got[name].dtype == want[name].dtype, name


def _has_map(dtype: Any) -> bool:
    if not isinstance(dtype, pd.ArrowDtype):
        return False
    t = dtype.pyarrow_dtype
    while pa.types.is_list(t):
        t = t.value_type
    return bool(pa.types.is_map(t) or (pa.types.is_struct(t) and any(pa.types.is_map(f.type) for f in t)))


@pytest.mark.parametrize("entry", ALL, ids=lambda e: e.path)
def test_parquet_round_trip_every_subfeature(
    emulator: EdenEmulator, entry: edenframe.Subfeature, tmp_path: Path
) -> None:
    out = _run(entry, "synthetic")
    assert out[f"{entry.subfeature}_error"].isna().all()
    _check_round_trip(out, tmp_path)


@pytest.mark.parametrize("entry", LOCAL_TEXT, ids=lambda e: e.path)
def test_parquet_round_trip_local(entry: edenframe.Subfeature, tmp_path: Path) -> None:
    require_extra(IMPLEMENTATIONS[entry.path][1])
    out = _run(entry, "local")
    _check_round_trip(out, tmp_path)


def test_parquet_round_trip_keeps_extra_categories_and_several_providers(tmp_path: Path) -> None:
    out = _mixed_labels_run()
    _check_round_trip(out, tmp_path)
    back = edenframe.read_parquet(tmp_path / "out.parquet")
    assert list(back["sentiment_google_general_sentiment"].cat.categories)[-2:] == ["Mixed", "Very positive"]


def test_plain_read_parquet_fails_on_nested_arrow_columns(tmp_path: Path) -> None:
    """The pandas limitation the functions above work around (if pandas fixes it, the docs can say so)."""
    frame = pd.DataFrame({"v": pd.array([[1.0, 2.0]], dtype=pd.ArrowDtype(pa.list_(pa.float32())))})
    frame.to_parquet(tmp_path / "v.parquet")
    with pytest.raises(TypeError, match=r"list<item: float>\[pyarrow\]"):
        pd.read_parquet(tmp_path / "v.parquet")
    pd.testing.assert_frame_equal(edenframe.read_parquet(tmp_path / "v.parquet"), frame)


@pytest.mark.extra("local")
def test_cli_parquet_output_works_with_explode_after_plain_read(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"review": ["great film", "awful service", "", "great film"]}).to_csv(source, index=False)
    output = tmp_path / "out.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (
            cli_main(["run", str(source), "-s", "sentiment", "-c", "review", "-o", str(output), "--no-progress"]) == 0
        )
    typed = edenframe.read_parquet(output)
    assert isinstance(typed["sentiment_items"].dtype, pd.ArrowDtype)
    plain = pd.read_parquet(output)
    assert plain["sentiment_items"].dtype == object
    pd.testing.assert_frame_equal(
        plain.eden.explode("sentiment_items"), typed.eden.explode("sentiment_items"), check_dtype=False
    )
    assert len(typed.eden.explode("sentiment_items")) >= 4


# ---------------------------------------------------------------------------------------------------------------
# explode and matrix on object columns


def test_explode_object_column_of_lists_tuples_arrays_and_missing() -> None:
    items = [
        [{"label": "a", "score": 0.5}, {"label": "b", "score": 0.25}],
        ({"label": "c", "score": 1.0},),
        np.array([{"label": "d", "score": 0.0}], dtype=object),
        None,
        np.nan,
        [],
    ]
    index = pd.Index(["p", "q", "r", "s", "t", "u"], name="id")
    arrow_type = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))
    as_python = [None if v is None or v is np.nan else list(v) for v in items]
    typed = pd.DataFrame({"items": pd.array(as_python, dtype=pd.ArrowDtype(arrow_type)), "n": range(6)}, index=index)
    loose = pd.DataFrame({"items": pd.Series(items, index=index, dtype=object), "n": range(6)}, index=index)
    assert loose["items"].dtype == object
    pd.testing.assert_frame_equal(loose.eden.explode("items"), typed.eden.explode("items"))
    pd.testing.assert_frame_equal(
        loose.eden.explode("items", keep_columns=True), typed.eden.explode("items", keep_columns=True)
    )
    long = loose.eden.explode("items")
    assert list(long.index) == ["p", "p", "q", "r", "s", "t", "u"]
    assert long["label"].tolist()[:4] == ["a", "b", "c", "d"] and long["label"].iloc[4:].isna().all()


def test_explode_object_column_without_any_item() -> None:
    frame = pd.DataFrame({"items": pd.Series([None, [], np.nan], dtype=object), "n": [1, 2, 3]})
    assert frame.eden.explode("items").shape == (3, 0)
    assert frame.eden.explode("items", keep_columns=True)["n"].tolist() == [1, 2, 3]


def test_explode_refuses_object_column_of_plain_values() -> None:
    with pytest.raises(ValidationError, match="not a list of objects"):
        pd.DataFrame({"x": pd.Series([[1, 2], [3]], dtype=object)}).eden.explode("x")
    with pytest.raises(ValidationError, match="not a list of objects"):
        pd.DataFrame({"x": pd.Series(["a", 2], dtype=object)}).eden.explode("x")


def test_matrix_object_column_of_lists_tuples_and_arrays() -> None:
    vectors = pd.Series([[1.0, 2.0], (3.0, 4.0), np.array([5.0, 6.0], dtype=np.float32)], dtype=object)
    got = pd.DataFrame({"v": vectors}).eden.matrix("v")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32))
    with pytest.raises(ValidationError, match="1 missing vector"):
        pd.DataFrame({"v": pd.Series([[1.0], None], dtype=object)}).eden.matrix("v")
    with pytest.raises(ValidationError, match="2 missing vector"):
        pd.DataFrame({"v": pd.Series([None, np.nan], dtype=object)}).eden.matrix("v")
    with pytest.raises(ValidationError, match="different lengths"):
        pd.DataFrame({"v": pd.Series([[1.0], [1.0, 2.0]], dtype=object)}).eden.matrix("v")
    with pytest.raises(ValidationError, match="not a list column"):
        pd.DataFrame({"v": pd.Series(["a", "b"], dtype=object)}).eden.matrix("v")
    with pytest.raises(ValidationError, match="not of numbers"):
        pd.DataFrame({"v": pd.Series([["a"], ["b"]], dtype=object)}).eden.matrix("v")


# ---------------------------------------------------------------------------------------------------------------
# Text that UTF-8 cannot encode


def _scraped() -> pd.DataFrame:
    # pandas 3's default `str` dtype cannot hold a lone surrogate at all: such text lives in object columns.
    texts = pd.Series(["fine", "good", "bad \ud800 film", "ok"], dtype=object, index=[3, 10, 11, 12])
    return pd.DataFrame({"review": texts})


def test_lone_surrogate_refused_before_any_request(emulator: EdenEmulator) -> None:
    with pytest.raises(ValidationError, match=r"row 11: '\\ud800' at character 4 is a lone surrogate") as caught:
        _scraped().eden.sentiment("review", providers="google")
    assert ".str.encode('utf-8', 'replace')" in str(caught.value)
    assert sent(emulator) == []
    with pytest.raises(ValidationError, match="row 11"):
        _scraped().eden.embed("review", providers="google")  # packed texts: the same check
    assert sent(emulator) == []


@pytest.mark.extra("local")
def test_lone_surrogate_refused_on_the_local_provider() -> None:
    with pytest.raises(ValidationError, match=r"row 11: '\\ud800'"):
        _scraped().eden.sentiment("review")


def test_the_suggested_fix_works(emulator: EdenEmulator) -> None:
    df = _scraped()
    df["review"] = df["review"].str.encode("utf-8", "replace").str.decode("utf-8")
    out = df.eden.sentiment("review", providers="google")
    assert out["sentiment_error"].isna().all() and out.loc[11, "review"] == "bad ? film"


def test_lone_surrogate_in_a_parameter_refused(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"review": ["fine"]})
    with pytest.raises(ValidationError, match="lone surrogate"):
        df.eden.search("review", query="why \udc80?", providers=edenframe.get_subfeature("text/search").providers[0])
    assert sent(emulator) == []


# ---------------------------------------------------------------------------------------------------------------
# Several providers share one category set


def _mixed_labels_run() -> pd.DataFrame:
    def answer(label: str) -> dict[str, Any]:
        return {
            "status": "success",
            "general_sentiment": label,
            "general_sentiment_rate": 0.5,
            "items": [],
            "cost": 0.1,
        }

    canned = {"text/sentiment_analysis": {"google": answer("Mixed"), "amazon": answer("Very positive")}}
    with EdenEmulator(responses=canned) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        df = pd.DataFrame({"review": ["one", "two"]})
        with pytest.warns(UserWarning, match="kept as extra categories"):
            return df.eden.sentiment("review", providers="google,amazon")


def test_providers_share_one_category_set() -> None:
    out = _mixed_labels_run()
    google, amazon = out["sentiment_google_general_sentiment"], out["sentiment_amazon_general_sentiment"]
    assert google.tolist() == ["Mixed", "Mixed"] and amazon.tolist() == ["Very positive", "Very positive"]
    want = ["Positive", "Negative", "Neutral", "Mixed", "Very positive"]
    assert list(google.cat.categories) == want and list(amazon.cat.categories) == want
    assert not (google == amazon).any()  # comparable: raised "Categoricals can only be compared..." before
