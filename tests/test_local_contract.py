"""The contract every offline `local` backend keeps, one parametrised test per backend in the registry:

- the backend returns, per item, an object with exactly the catalog's output fields, in plain JSON types, that
  converts to the catalog's Arrow type without loss;
- through `df.eden.run(path, column, providers="local")` the result has the catalog's columns, in order, with the
  catalog's dtypes; a missing or blank input stays NA everywhere (error included); a row that succeeded has NA in
  its error column and the values `expected_row(path, "local", input)` gives (`assert_rows_match`);
- a bad item fails alone, the items around it keep their results.

A backend is skipped when its extra (or the Debian binary it runs) is missing; quality is tested per backend in
test_local_text.py, test_local_models.py and test_local_media.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import require_extra

import edenframe
from edenframe._local import IMPLEMENTATIONS, local_compute
from edenframe.testing import assert_rows_match

SCHOOLS = (
    "The city council approved a plan to renovate three schools. The renovation of the schools will start in "
    "June. Parents welcomed the plan for the schools. The mayor thanked the teachers."
)

Make = Callable[[Path], list[Any]]


def _texts(*texts: str) -> Make:
    return lambda _folder: list(texts)


def _image_with_text(folder: Path) -> list[Any]:
    from PIL import Image, ImageDraw, ImageFont

    paths = []
    for i, line in enumerate(["Invoice 4711 total 1234", "The quick brown fox"]):
        image = Image.new("RGB", (520, 90), "white")
        ImageDraw.Draw(image).text((20, 25), line, fill="black", font=ImageFont.load_default(size=30))
        paths.append(str(folder / f"text{i}.png"))
        image.save(paths[-1])
    return paths


def _portrait(folder: Path) -> list[Any]:
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        portrait = Image.open(f).convert("RGB")
    paths = [str(folder / "face.png"), str(folder / "noise.png")]
    portrait.resize((256, 300)).save(paths[0])
    Image.effect_noise((200, 160), 40).convert("RGB").save(paths[1])
    return paths


# subfeature -> (two distinct inputs, the call's parameters, Debian binary the backend runs or None)
CASES: dict[str, tuple[Make, dict[str, Any], str | None]] = {
    "text/sentiment_analysis": (_texts("I love it. The box was damaged.", "Great screen."), {"language": "en"}, None),
    "translation/language_detection": (_texts("Guten Morgen, wie geht es dir?", "Merci beaucoup !"), {}, None),
    "text/keyword_extraction": (_texts(SCHOOLS, "Solar panels cut the energy bill."), {"language": "en"}, None),
    "text/summarize": (_texts(SCHOOLS, "One sentence only."), {"output_sentences": 2}, None),
    "text/spell_check": (_texts("Thiis is a sentense.", "All fine here."), {"language": "en"}, None),
    "text/moderation": (_texts("What the hell is this shit, you idiot?", "Have a nice day."), {}, None),
    "text/anonymization": (_texts("Write to a@b.io before 2024-01-31.", "Call +44 20 7946 0958."), {}, None),
    "text/embeddings": (_texts("hello world", "A short review of a good product."), {}, None),
    "text/topic_extraction": (_texts("The goalkeeper saved a penalty.", "Simmer the onions in butter."), {}, None),
    "text/search": (_texts("Refunds within 30 days.", "Free shipping over 50 euros."), {"query": "money back"}, None),
    "text/named_entity_recognition": (_texts("Angela Merkel met Emmanuel Macron in Paris.", "Hi."), {}, None),
    "text/syntax_analysis": (_texts("The cat sat on the mat.", "Dogs bark."), {"language": "en"}, None),
    "translation/automatic_translation": (
        _texts("The black cat is in the house.", "My sister has two children."),
        {"source_language": "en", "target_language": "es"},
        "apertium",
    ),
    "ocr/ocr": (_image_with_text, {}, "tesseract"),
    "image/face_detection": (_portrait, {}, None),
    "audio/text_to_speech": (_texts("Hello there.", "The train leaves at nine."), {"language": "en"}, "espeak-ng"),
}


def test_every_local_backend_has_a_case() -> None:
    assert set(CASES) == set(IMPLEMENTATIONS)


@pytest.fixture(params=sorted(CASES))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[edenframe.Subfeature, list[Any], dict[str, Any]]:
    """(catalog entry, two distinct inputs, parameters) of one backend whose extra and binary are installed."""
    path = request.param
    make, params, binary = CASES[path]
    require_extra(IMPLEMENTATIONS[path][1])
    if binary is not None and shutil.which(binary) is None:
        pytest.skip(f"the Debian package that provides {binary} is not installed (see docs/local.md)")
    return edenframe.get_subfeature(path), make(tmp_path), params


def _maps_as_dicts(value: Any, t: pa.DataType) -> Any:
    """Arrow gives a map back as (key, value) pairs: make it a dict again, to compare with what went in."""
    if value is None:
        return None
    if pa.types.is_map(t):
        return {k: _maps_as_dicts(v, t.item_type) for k, v in value}
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return [_maps_as_dicts(v, t.value_type) for v in value]
    if pa.types.is_struct(t):
        return {t.field(i).name: _maps_as_dicts(value[t.field(i).name], t.field(i).type) for i in range(t.num_fields)}
    return value


def _assert_plain_json(value: object, where: str) -> None:
    """Only built-in JSON types (no numpy scalars leaking out of a library)."""
    if isinstance(value, dict):
        assert all(type(k) is str for k in value), where
        for k, v in value.items():
            _assert_plain_json(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _assert_plain_json(v, f"{where}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool), (where, type(value), value)


def test_backend_objects_have_the_catalog_fields_in_plain_json(
    backend: tuple[edenframe.Subfeature, list[Any], dict[str, Any]],
) -> None:
    entry, inputs, params = backend
    value = [inputs[0]] if entry.pack is not None and entry.pack.items_field is not None else inputs[0]
    [out] = local_compute(entry.path)([{entry.input_field: value, **params}])
    assert out["status"] == "success" and out["cost"] == 0.0, out
    fields = {k: v for k, v in out.items() if k not in ("status", "cost")}
    assert set(fields) == set(entry.output.names)
    _assert_plain_json(fields, entry.path)
    stored = pa.array([fields], type=entry.output.arrow()).to_pylist()[0]
    assert _maps_as_dicts(stored, entry.output.arrow()) == fields  # nothing dropped or truncated (ints stay ints)


def test_result_columns_dtypes_and_missing_inputs(
    backend: tuple[edenframe.Subfeature, list[Any], dict[str, Any]],
) -> None:
    entry, inputs, params = backend
    first, second = inputs
    frame = pd.DataFrame({"x": [first, None, second, "   ", first]}, index=["a", "b", "c", "d", "e"])
    out = frame.eden.run(entry.path, "x", providers="local", progress=False, **params)

    prefix = entry.subfeature
    fields = [f"{prefix}_{name}" for name in entry.row_output.names]
    assert list(out.columns) == ["x", *fields, f"{prefix}_cost", f"{prefix}_error"]
    for (_, t), column in zip(entry.row_output.fields, fields, strict=True):
        assert out[column].dtype == t.dtype(), (column, out[column].dtype, t.dtype())
    assert out[f"{prefix}_cost"].dtype == "float64"
    assert out[f"{prefix}_error"].dtype == pd.StringDtype()

    assert out.loc[["a", "c", "e"], f"{prefix}_error"].isna().all(), out[f"{prefix}_error"].dropna()
    assert out.loc[["b", "d"]].drop(columns=["x", f"{prefix}_cost"]).isna().all().all()
    report = out.attrs["edenframe"]
    assert (report["skipped"], report["failed"], report["deduplicated"]) == (2, 0, 1)
    assert_rows_match(out, frame, "x", entry.path, providers="local", **params)


def test_a_bad_item_fails_alone(backend: tuple[edenframe.Subfeature, list[Any], dict[str, Any]]) -> None:
    entry, inputs, params = backend
    packed = entry.pack is not None and entry.pack.items_field is not None
    good = {entry.input_field: [inputs[0]] if packed else inputs[0], **params}
    bad = {entry.input_field: "not a list" if packed else "", **params}
    outputs = local_compute(entry.path)([good, bad, {**bad, entry.input_field: None}, good])
    assert [o["status"] for o in outputs] == ["success", "fail", "fail", "success"]
    assert outputs[0] == outputs[3]
    for failed in outputs[1:3]:
        assert failed["cost"] == 0.0 and failed["error"]["message"]
