"""The catalog: 33 v2 entries and v3's own subfeatures with their method names, and their schemas checked against
Eden AI's own samples and specs.

The contract tests read `../shared/eden-api/` (next to the repository, present in CI) and skip when it is absent.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from edenframe._catalog import MISSING, Subfeature, all_subfeatures, get_subfeature
from edenframe._errors import ValidationError
from edenframe._local import has_local
from edenframe._schema import Embedding, Enum, ListOf, Mapping, Scalar, Struct, Type

EDEN_API = Path(__file__).resolve().parents[1].parent / "shared" / "eden-api"
SAMPLES = EDEN_API / "samples"
SPECS = EDEN_API / "specs"

METHODS = {
    "text/sentiment_analysis": "sentiment",
    "text/named_entity_recognition": "ner",
    "text/keyword_extraction": "keywords",
    "text/summarize": "summarize",
    "text/moderation": "moderate",
    "text/spell_check": "spell_check",
    "text/anonymization": "anonymize",
    "text/syntax_analysis": "syntax",
    "text/topic_extraction": "topics",
    "text/embeddings": "embed",
    "text/generation": "generate",
    "text/chat": "chat",
    "text/code_generation": "generate_code",
    "text/custom_classification": "classify",
    "text/custom_named_entity_recognition": "extract_entities",
    "text/question_answer": "answer",
    "text/search": "search",
    "translation/automatic_translation": "translate",
    "translation/language_detection": "detect_language",
    "translation/document_translation": "translate_document",
    "image/object_detection": "detect_objects",
    "image/face_detection": "detect_faces",
    "image/logo_detection": "detect_logos",
    "image/landmark_detection": "detect_landmarks",
    "image/explicit_content": "explicit_content",
    "image/anonymization": "anonymize_image",
    "image/generation": "generate_image",
    "ocr/ocr": "ocr",
    "ocr/invoice_parser": "parse_invoice",
    "ocr/receipt_parser": "parse_receipt",
    "ocr/resume_parser": "parse_resume",
    "ocr/identity_parser": "parse_identity",
    "audio/text_to_speech": "text_to_speech",
}
# v3's own subfeatures (DESIGN section 7), after the v2 ones, with the methods `_v3_models` names.
V3_METHODS = {
    "text/ai_detection": "detect_ai_text",
    "text/plagia_detection": "detect_plagiarism",
    "ocr/ocr_async": "ocr_async",
    "ocr/ocr_tables_async": "ocr_tables",
    "image/ai_detection": "detect_ai_image",
    "image/background_removal": "remove_background",
    "image/deepfake_detection": "detect_deepfake",
    "audio/speech_to_text_async": "speech_to_text",
}

# Request options every subfeature takes (wire-format 1.2); never catalog params.
COMMON_OPTIONS = frozenset(
    {
        "providers",
        "fallback_providers",
        "settings",
        "response_as_dict",
        "attributes_as_list",
        "show_original_response",
        "show_base_64",
    }
)
# Keys the API adds around the standardized output of each provider (wire-format 2.1).
ENVELOPE = frozenset({"status", "cost", "usage", "original_response", "provider", "error"})

ENTRIES = all_subfeatures()
V2_ENTRIES = [e for e in ENTRIES if not e.v3_only]  # what the v2 specs and samples describe


def entry_id(entry: Subfeature) -> str:
    return entry.method


def sample_files(folder: Path, pattern: str) -> list[Any]:
    """One test parameter per sample file, or a single skipped parameter when the reference folder is absent."""
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no {pattern} under {folder}"))]
    return [pytest.param(path, id=path.name.split(".")[0]) for path in found]


def entry_for(path: Path) -> Subfeature:
    feature, subfeature = path.name.split(".")[0].split("__")
    return get_subfeature(f"{feature}/{subfeature}")


# --- the catalog itself ---------------------------------------------------------------------------------------------


def test_33_entries_with_the_documented_names_in_order() -> None:
    assert [(e.path, e.method) for e in V2_ENTRIES] == list(METHODS.items())
    assert [(e.path, e.method) for e in ENTRIES] == [*METHODS.items(), *V3_METHODS.items()]
    assert {e.path for e in ENTRIES if e.v3_only} == set(V3_METHODS)


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_lookup_by_path_and_by_method(entry: Subfeature) -> None:
    assert get_subfeature(entry.path) is entry
    assert get_subfeature(entry.method) is entry
    assert entry.feature + "/" + entry.subfeature == entry.path


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("sentimen", "'sentiment'"),
        ("text/sentiment_analisys", "'text/sentiment_analysis'"),
        ("detect_face", "'detect_faces'"),
        ("text/summarise", "'text/summarize'"),
    ],
)
def test_unknown_names_are_rejected_with_close_matches(name: str, suggestion: str) -> None:
    with pytest.raises(ValidationError, match="Did you mean") as caught:
        get_subfeature(name)
    assert suggestion in str(caught.value)
    assert repr(name) in str(caught.value)


def test_unknown_name_without_close_match_still_explains() -> None:
    with pytest.raises(ValidationError) as caught:
        get_subfeature("zzzz")
    assert "Did you mean" not in str(caught.value)
    assert "feature/subfeature" in str(caught.value)


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_output_types_build_in_arrow_and_pandas(entry: Subfeature) -> None:
    assert isinstance(entry.output.arrow(), pa.StructType)
    for _, t in entry.output.fields:
        t.arrow()
        t.dtype()
    row = entry.row_output
    assert row.names, "a row gets at least one column"
    for _, t in row.fields:
        pd.api.types.pandas_dtype(t.dtype())


@pytest.mark.parametrize(
    ("method", "max_items", "row_fields"),
    [
        ("embed", 96, ("embedding",)),
        ("classify", 96, ("label", "confidence")),
        ("search", 96, ("score",)),
        ("answer", 1, ("answers",)),
    ],
)
def test_packed_subfeatures(method: str, max_items: int, row_fields: tuple[str, ...]) -> None:
    entry = get_subfeature(method)
    assert entry.input_kind == "texts"
    assert entry.input_field == "texts"
    assert entry.pack is not None
    assert entry.pack.max_items == max_items
    assert entry.row_output.names == row_fields
    entry.row_output.arrow()


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_input_kind_matches_input_field(entry: Subfeature) -> None:
    # v3's own file subfeatures take v3's `file` (a URL, or a file_id once the transport uploaded it)
    expected = {"texts": "texts", "file": "file" if entry.v3_only else "file_url"}.get(entry.input_kind)
    if expected:
        assert entry.input_field == expected
    else:
        assert entry.input_field == ("instruction" if entry.method == "generate_code" else "text")
    assert (entry.pack is not None) == (entry.input_kind == "texts")
    assert entry.max_input_chars is None  # no spec states a maxLength for an input


def test_local_implementations() -> None:
    offline = {
        "text/sentiment_analysis",
        "translation/language_detection",
        "text/keyword_extraction",
        "text/summarize",
        "text/spell_check",
        "text/moderation",
        "text/anonymization",
        "text/embeddings",
        "text/topic_extraction",
        "text/search",
        "text/named_entity_recognition",
        "text/syntax_analysis",
        "translation/automatic_translation",
        "ocr/ocr",
        "image/face_detection",
        "audio/text_to_speech",
    }
    assert {e.path for e in ENTRIES if has_local(e.path)} == offline


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_params_are_well_formed(entry: Subfeature) -> None:
    names = [p.name for p in entry.params]
    assert len(names) == len(set(names))
    assert entry.input_field not in names
    assert not set(names) & COMMON_OPTIONS
    for p in entry.params:
        if p.required:
            assert p.default is MISSING, p.name
        if p.default is not MISSING and p.default is not None:
            assert value_problem(p.type, p.default) == "", f"{p.name} default {p.default!r}"
            if isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
                assert p.minimum is None or p.default >= p.minimum
                assert p.maximum is None or p.default <= p.maximum
        assert p.description and "\n" not in p.description


@pytest.mark.parametrize("entry", ENTRIES, ids=entry_id)
def test_documentation_fields(entry: Subfeature) -> None:
    assert entry.summary and "\n" not in entry.summary and entry.summary.endswith(".")
    assert entry.providers and all(p == p.strip().lower() and p for p in entry.providers)


@pytest.mark.parametrize(
    ("method", "required"),
    [
        ("translate", {"target_language"}),
        ("translate_document", {"target_language"}),
        ("search", {"query"}),
        ("classify", {"labels", "examples"}),
        ("answer", {"question", "examples_context", "examples"}),
        ("generate_image", {"resolution"}),
        ("extract_entities", {"entities"}),
        ("sentiment", set()),
        ("chat", set()),
    ],
)
def test_required_params(method: str, required: set[str]) -> None:
    assert {p.name for p in get_subfeature(method).params if p.required} == required


# --- a sample against a schema --------------------------------------------------------------------------------------


def as_string(value: Any) -> str | None:
    """A free-form value as a Mapping stores it: strings unchanged, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def fit(t: Type, value: Any) -> Any:
    """The sample as it is handed to pyarrow: only the values of free-form Mappings are turned into strings."""
    if isinstance(t, Mapping) and isinstance(value, dict):
        return {str(k): as_string(v) for k, v in value.items()}
    if isinstance(t, ListOf) and isinstance(value, list):
        return [fit(t.item, v) for v in value]
    if isinstance(t, Struct) and isinstance(value, dict):
        return {k: fit(t.field(k), v) if k in t.names else v for k, v in value.items()}
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare(t: Type, original: Any, back: Any, where: str, problems: list[str], undeclared: set[str]) -> None:
    """Walk the schema and the sample together: every declared value must come back from arrow unchanged.

    `undeclared` collects sample fields the schema does not declare (pyarrow drops them without a word).
    """
    here = where or "<root>"
    if original is None:
        if back is not None:
            problems.append(f"{here}: null came back as {back!r}")
        return
    if isinstance(t, Struct):
        if not isinstance(original, dict):
            problems.append(f"{here}: expected an object, got {original!r:.60}")
            return
        for name, field_type in t.fields:
            inner = back.get(name) if isinstance(back, dict) else None
            compare(field_type, original.get(name), inner, f"{where}.{name}".lstrip("."), problems, undeclared)
        undeclared.update(f"{where}.{key}".lstrip(".") for key in original if key not in t.names)
    elif isinstance(t, ListOf):
        if not isinstance(original, list) or not isinstance(back, list) or len(back) != len(original):
            problems.append(f"{here}: expected a list, got {original!r:.60} back as {back!r:.60}")
            return
        for o, b in zip(original, back, strict=True):
            compare(t.item, o, b, f"{where}[]", problems, undeclared)
    elif isinstance(t, Mapping):
        if not isinstance(original, dict):
            problems.append(f"{here}: expected an object, got {original!r:.60}")
            return
        if dict(back or []) != {str(k): as_string(v) for k, v in original.items()}:
            problems.append(f"{here}: mapping came back as {back!r:.80}")
    elif isinstance(t, Embedding):
        if not isinstance(original, list) or not all(is_number(x) for x in original):
            problems.append(f"{here}: expected a list of numbers, got {original!r:.60}")
        elif len(back) != len(original) or not all(
            math.isclose(float(o), b, rel_tol=1e-6, abs_tol=1e-12) for o, b in zip(original, back, strict=True)
        ):
            problems.append(f"{here}: vector changed beyond float32 precision")
    elif isinstance(t, Enum):
        if original not in t.values:
            problems.append(f"{here}: {original!r} is not one of {list(t.values)}")
        elif back != original:
            problems.append(f"{here}: {original!r} came back as {back!r}")
    elif isinstance(t, Scalar):
        kind_ok = {
            "float": is_number(original),
            # a float in an INT field would be truncated silently by pyarrow (1.5 -> 1): the schema must say FLOAT
            "int": isinstance(original, int) and not isinstance(original, bool),
            "bool": isinstance(original, bool),
            "string": isinstance(original, str),
        }[t.kind]
        if not kind_ok:
            problems.append(f"{here}: {original!r:.60} ({type(original).__name__}) in a {t.kind} field")
        elif t.kind == "float" and float(back) != float(original):
            problems.append(f"{here}: {original!r} came back as {back!r}")
        elif t.kind != "float" and back != original:
            problems.append(f"{here}: {original!r:.60} came back as {back!r:.60}")


def round_trip(entry: Subfeature, sample: dict[str, Any]) -> tuple[list[str], set[str]]:
    """Convert one provider's standardized output with the entry's arrow type; what was lost or not declared."""
    array = pa.array([fit(entry.output, sample)], type=entry.output.arrow())
    problems: list[str] = []
    undeclared: set[str] = set()
    compare(entry.output, sample, array.to_pylist()[0], "", problems, undeclared)
    return problems, undeclared


def test_round_trip_catches_truncation_and_undeclared_fields() -> None:
    entry = get_subfeature("detect_landmarks")  # bounding_box vertices are INT
    item = {"description": "x", "confidence": 0.5, "bounding_box": [{"x": 1.5, "y": 2}], "locations": [], "extra": 1}
    problems, undeclared = round_trip(entry, {"items": [item]})
    assert problems == ["items[].bounding_box[].x: 1.5 (float) in a int field"]
    assert undeclared == {"items[].extra"}
    entry = get_subfeature("sentiment")
    problems, _ = round_trip(entry, {"general_sentiment": "Happy", "general_sentiment_rate": 0.5, "items": []})
    assert problems == ["general_sentiment: 'Happy' is not one of ['Positive', 'Negative', 'Neutral']"]


# --- contract tests against ../shared/eden-api ------------------------------------------------------------------------


def test_every_subfeature_has_a_standardized_sample() -> None:
    folder = SAMPLES / "standardized"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    assert {p.name.removesuffix(".json").replace("__", "/") for p in folder.glob("*.json")} == set(METHODS)


@pytest.mark.parametrize("path", sample_files(SAMPLES / "standardized", "*__*.json"))
def test_standardized_sample_fits_the_schema(path: Path) -> None:
    entry = entry_for(path)
    problems, undeclared = round_trip(entry, json.loads(path.read_text(encoding="utf-8")))
    assert problems == []
    assert undeclared == set(), f"sample fields missing from the {entry.path} schema"


@pytest.mark.parametrize("path", sample_files(SAMPLES, "*__*.json"))
def test_wire_sample_fits_the_schema_for_every_provider(path: Path) -> None:
    entry = entry_for(path)
    response = json.loads(path.read_text(encoding="utf-8"))
    assert response, "a wire sample holds at least one provider"
    problems: list[str] = []
    undeclared: set[str] = set()
    for provider, result in response.items():
        standardized = {k: v for k, v in result.items() if k not in ENVELOPE}
        found, extra = round_trip(entry, standardized)
        problems += [f"{provider}: {p}" for p in found]
        undeclared |= {f"{provider}: {field}" for field in extra}
    assert problems == []
    assert undeclared == set(), f"sample fields missing from the {entry.path} schema"


def value_problem(t: Type, value: Any) -> str:
    """Why `value` is not a valid request value of type `t` ('' when it is): the type's own check."""
    problem = t.check(t.coerce(value))
    return "" if problem is None else f"{problem} (got {problem.value!r:.40})"


@pytest.mark.parametrize("path", sample_files(SAMPLES / "requests", "*.request.json"))
def test_request_sample_uses_only_known_fields(path: Path) -> None:
    entry = entry_for(path)
    body = json.loads(path.read_text(encoding="utf-8"))
    params = {p.name: p for p in entry.params}
    assert set(body) - COMMON_OPTIONS - {entry.input_field} - set(params) == set()
    assert entry.input_field in body
    assert {name for name, p in params.items() if p.required} <= set(body)
    for name, value in body.items():
        if name in params and value is not None:
            assert value_problem(params[name].type, value) == "", name


def load_specs() -> list[tuple[str, dict[str, Any]]]:
    if not SPECS.is_dir():
        pytest.skip(f"{SPECS} is absent")
    return [(p.name, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(SPECS.glob("*.json"))]


def resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if isinstance(node, dict) and "allOf" in node and "properties" not in node and "items" not in node:
        for part in node["allOf"]:
            part = resolve(spec, part)
            if isinstance(part, dict) and ("properties" in part or "items" in part):
                return part
    return node


def spec_operation(spec: dict[str, Any], entry: Subfeature) -> dict[str, Any] | None:
    for path in (f"/{entry.path}/", f"/{entry.path}"):
        if path in spec["paths"]:
            return spec["paths"][path]["post"]
    return None


def spec_field_names(spec: dict[str, Any], node: Any, where: str = "") -> set[str]:
    node = resolve(spec, node)
    if not isinstance(node, dict):
        return set()
    if node.get("type") == "array" or "items" in node:
        return spec_field_names(spec, node.get("items", {}), where + "[]")
    names: set[str] = set()
    for key, child in node.get("properties", {}).items():
        path = f"{where}.{key}".lstrip(".")
        names |= {path} | spec_field_names(spec, child, path)
    return names


def schema_field_names(t: Type, where: str = "") -> set[str]:
    if isinstance(t, ListOf):
        return schema_field_names(t.item, where + "[]")
    if isinstance(t, Struct):
        names: set[str] = set()
        for key, child in t.fields:
            path = f"{where}.{key}".lstrip(".")
            names |= {path} | schema_field_names(child, path)
        return names
    return set()


# The 2026 schema describes chat `message` items as {role, content: [...]}, unlike the 2024 schema, edenai-apis and
# every chat sample ({role, message, tools, tool_calls}); the catalog follows the latter.
SPEC_OUTPUT_EXCEPTIONS = {("edenai-v2-openapi.full.no-examples.2026-05.json", "text/chat")}


@pytest.mark.parametrize("entry", V2_ENTRIES, ids=entry_id)
def test_request_fields_match_the_specs(entry: Subfeature) -> None:
    spec_fields: set[str] = set()
    for _, spec in load_specs():
        operation = spec_operation(spec, entry)
        if operation is None:
            continue
        for content in operation["requestBody"]["content"].values():
            spec_fields |= set(resolve(spec, content["schema"]).get("properties", {}))
    if not spec_fields:
        pytest.skip(f"{entry.path} is in neither spec (wire-format 5.5 describes it)")
    # `file` is the multipart twin of `file_url`; transports choose between them.
    assert spec_fields - COMMON_OPTIONS - {"file"} == {entry.input_field} | {p.name for p in entry.params}


@pytest.mark.parametrize("entry", V2_ENTRIES, ids=entry_id)
def test_output_field_names_match_the_specs(entry: Subfeature) -> None:
    checked = 0
    for name, spec in load_specs():
        operation = spec_operation(spec, entry)
        if operation is None or (name, entry.path) in SPEC_OUTPUT_EXCEPTIONS:
            continue
        response = resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
        provider = next(iter(response["properties"].values()))
        names = spec_field_names(spec, provider) - {"original_response", "status"}
        assert schema_field_names(entry.output) == names, name
        checked += 1
    if not checked:
        pytest.skip(f"{entry.path} is in neither spec (wire-format 5.5 describes it)")
