"""The v3 mapping (`edenframe._v3_models`) against the catalog and against Eden AI's v3 documents.

The document checks read `../shared/eden-api/` (or `$EDENFRAME_SHARED_API`) and skip when it is absent.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edenframe import _v3_models as v3
from edenframe._catalog import all_subfeatures, get_subfeature
from edenframe._schema import Embedding, Enum, ListOf, Mapping, Scalar, Struct, Type


@pytest.fixture(scope="module")
def docs() -> Path:
    root = Path(os.environ.get("EDENFRAME_SHARED_API", Path(__file__).resolve().parents[2] / "shared" / "eden-api"))
    if not (root / "v3-features").is_dir():
        pytest.skip("../shared/eden-api is absent (a fresh clone): v3 document checks skipped")
    return root


# -- against the catalog ------------------------------------------------------------------------------------------


def test_every_catalog_entry_has_a_v3_record() -> None:
    assert set(v3.V3_MAPPINGS) == {e.path for e in all_subfeatures() if not e.v3_only}
    # v3's own subfeatures are catalog entries under their v3 path and the method their record suggests
    own = {s.path: s.method for s in v3.V3_SUBFEATURES.values() if s.method is not None and not v3.v2_paths_of(s.path)}
    assert {e.path: e.method for e in all_subfeatures() if e.v3_only} == own


def test_universal_ai_mappings_account_for_every_v2_field() -> None:
    for mapping in v3.V3_MAPPINGS.values():
        entry = get_subfeature(mapping.v2_path)
        if mapping.endpoint is None:
            assert mapping.v3_path is None and mapping.model_prefix is None
            continue
        if mapping.endpoint != "universal-ai":
            assert mapping.v3_path is None and mapping.model_prefix == ""
            continue
        sub = mapping.subfeature
        assert sub is not None, mapping.v2_path
        assert mapping.model_prefix == f"{sub.path}/"
        assert mapping.fallbacks == sub.fallbacks
        sent = {}
        for name in (entry.input_field, *(p.name for p in entry.params)):
            if mapping.rank and name in ("query", "similarity_metric"):
                continue  # semantic search: the query is embedded with the texts, the ranking is the client's
            new = mapping.v3_name(name)
            if new is None:
                assert name in mapping.v2_only
                continue
            assert sub.input(new) is not None, f"{mapping.v2_path}: {name} -> {new} is no v3 input of {sub.path}"
            sent[new] = name
        for name, _ in mapping.fixed:
            assert sub.input(name) is not None
        # every field v3 requires comes from the row, a v2 parameter or a fixed value
        assert set(sub.required) <= set(sent) | {n for n, _ in mapping.fixed}, mapping.v2_path
        assert mapping.mode == "sync"  # every v2 subfeature is a sync one on v3


def test_lookups() -> None:
    tts = v3.v3_mapping("audio/text_to_speech")
    assert (tts.model_prefix, tts.fallbacks, tts.v3_name("pitch"), tts.v3_name("option")) == (
        "audio/tts/",
        False,
        "speaking_pitch",
        None,
    )
    assert tts.v2_name("speaking_volume") == "volume" and tts.v3_name("providers") is None
    invoice = v3.v3_mapping("ocr/invoice_parser")
    assert invoice.v3_path == "ocr/financial_parser" and dict(invoice.fixed) == {"document_type": "invoice"}
    assert invoice.v3_required == ("file", "language")
    assert v3.v2_paths_of("ocr/financial_parser") == ("ocr/invoice_parser", "ocr/receipt_parser")
    assert v3.v3_mapping("text/embeddings").endpoint == "embeddings"
    search = v3.v3_mapping("text/search")  # embeddings, then the similarity in the client
    assert search.endpoint == "embeddings" and search.rank and not v3.v3_mapping("text/embeddings").rank
    no_expert = [p for p, m in v3.V3_MAPPINGS.items() if m.endpoint is None]
    assert sorted(no_expert) == sorted(
        [
            "text/sentiment_analysis",
            "text/keyword_extraction",
            "text/summarize",
            "text/syntax_analysis",
            "text/custom_classification",
            "text/custom_named_entity_recognition",
            "text/question_answer",
            "translation/language_detection",
            "image/landmark_detection",
        ]
    )
    assert v3.split_model("image/generation/leonardo/Leonardo Phoenix") == (
        "image/generation",
        "leonardo",
        "Leonardo Phoenix",
    )
    assert v3.split_model("ocr/ocr/amazon") == ("ocr/ocr", "amazon", "")
    assert v3.split_model("ocr/ocr") is None and v3.split_model("ocr//amazon") is None
    async_paths = {s.path for s in v3.V3_SUBFEATURES.values() if s.mode == "async"}
    assert async_paths == {"ocr/ocr_async", "ocr/ocr_tables_async", "audio/speech_to_text_async"}


def test_every_subfeature_has_an_output() -> None:
    """A v3 subfeature either declares its output or serves a v2 catalog entry whose output it shares."""
    for sub in v3.V3_SUBFEATURES.values():
        assert sub.output is not None or v3.v2_paths_of(sub.path), sub.path
        if sub.output is None or v3.v2_paths_of(sub.path):
            continue
        assert (sub.method and sub.summary) or sub.path in ("image/face_compare", "image/face_recognition")


# -- against the feature pages -------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    type: str
    required: bool
    children: list[Row] = field(default_factory=list)


def _table(text: str, heading: str) -> list[Row]:
    """A page's Input or Output table as a tree (nesting is written as 4 `&nbsp;` per level)."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    roots: list[Row] = []
    stack: list[tuple[int, Row]] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 5 or cells[1] in ("Field", "") or set(cells[1]) <= {"-"}:
            continue
        raw = cells[1]
        depth = raw.count("&nbsp;") // 4
        row = Row(raw.replace("&nbsp;", "").strip("* "), cells[2].replace("\\|", "|"), cells[3] == "Yes")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(row)
        stack.append((depth, row))
    return roots


def _pages(docs: Path) -> dict[str, str]:
    out = {}
    for page in sorted((docs / "v3-features").glob("*.mdx")):
        text = page.read_text()
        match = re.search(r"Model string pattern: `([^`{]+)/\{provider\}", text)
        assert match, page.name
        out[match[1]] = text
    return out


def _same_type(doc: Row, t: Type | None, where: str) -> list[str]:
    """Differences between a documented field and a catalog type (order of fields ignored)."""
    kind = doc.type
    if isinstance(t, ListOf):
        if not kind.startswith("array["):
            return [f"{where}: documented {kind}, typed a list"]
        inner = kind[len("array[") : -1]
        return _same_type(Row(doc.name, inner, doc.required, doc.children), t.item, where)
    if isinstance(t, Struct):
        if kind != "object":
            return [f"{where}: documented {kind}, typed an object"]
        return _same_fields(doc.children, t, where)
    if isinstance(t, Mapping):
        return [] if kind == "object" else [f"{where}: documented {kind}, typed a mapping"]
    if isinstance(t, Embedding):
        return [] if kind == "array[float]" else [f"{where}: documented {kind}, typed an embedding"]
    if isinstance(t, Enum):
        return [] if kind in ("enum", "string") else [f"{where}: documented {kind}, typed an enum"]
    assert isinstance(t, Scalar)
    expected = {"string": ("string", "enum"), "float": ("float",), "int": ("int",), "bool": ("bool",)}[t.kind]
    return [] if kind in expected else [f"{where}: documented {kind}, typed {t.kind}"]


def _same_fields(rows: list[Row], t: Struct, where: str) -> list[str]:
    documented = {r.name: r for r in rows}
    problems = []
    if set(documented) != set(t.names):
        problems.append(
            f"{where}: documented-only {sorted(set(documented) - set(t.names))}, "
            f"typed-only {sorted(set(t.names) - set(documented))}"
        )
    for name, ft in t.fields:
        if name in documented:
            problems += _same_type(documented[name], ft, f"{where}.{name}")
    return problems


# Where a page and the v2 catalog's output (shared by v3, wire-format-v3 4.3) disagree, and why that is kept.
KNOWN_OUTPUT_DIFFERENCES = {
    # GEN's flat {image, image_resource_url} against items[] elsewhere: both are accepted (issue 13)
    "image/generation",
}

# Page "Type" column -> V3Field type kind.
_INPUT_KINDS = {"string": "string", "int": "int", "float": "float", "bool": "bool", "uuid": "string"}


def test_every_feature_page_is_covered(docs: Path) -> None:
    pages = _pages(docs)
    assert set(pages) <= set(v3.V3_SUBFEATURES), sorted(set(pages) - set(v3.V3_SUBFEATURES))
    undocumented = set(v3.V3_SUBFEATURES) - set(pages)
    assert undocumented == {"text/anonymization"}  # SKILL-09 only (wire-format-v3 5.1)


@pytest.mark.parametrize("path", sorted(p for p in v3.V3_SUBFEATURES if p != "text/anonymization"))
def test_subfeature_matches_its_page(docs: Path, path: str) -> None:
    text = _pages(docs)[path]
    sub = v3.V3_SUBFEATURES[path]
    assert sub.source == f"v3-features/{sub.feature}__{sub.subfeature.replace('_', '-')}.mdx"
    assert (docs / sub.source).is_file()
    endpoint = re.search(r"`POST (/v3/[^`]+)` \((sync|async)\)", text)
    assert endpoint and (endpoint[1], endpoint[2]) == (sub.endpoint, sub.mode)

    inputs = _table(text, "Input")
    assert [(r.name, r.required) for r in inputs] == [(f.name, f.required) for f in sub.inputs]
    for row, f in zip(inputs, sub.inputs, strict=True):
        if row.type == "file_input":
            assert f.file and f.type == Scalar("string"), f.name
        elif row.type == "enum":
            assert isinstance(f.type, Enum), f.name
        elif row.type.startswith("array[file_input"):
            assert f.type is None, f.name
        elif row.type.startswith("array["):
            assert isinstance(f.type, ListOf) and f.type.item == Scalar(_INPUT_KINDS[row.type[6:-1]]), f.name
        else:
            assert f.type == Scalar(_INPUT_KINDS[row.type]) and not f.file, f.name

    output = sub.output
    if output is None:
        [v2_path, *_] = v3.v2_paths_of(path)
        output = get_subfeature(v2_path).output
    problems = _same_fields(_table(text, "Output"), output, path)
    if path in KNOWN_OUTPUT_DIFFERENCES:
        assert problems, f"{path} now matches its page: drop it from KNOWN_OUTPUT_DIFFERENCES"
    else:
        assert problems == []

    section = text.split("## Available Providers", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|") for line in section.splitlines()]
    documented = [c[2].strip().strip("`") for c in cells if len(c) > 3 and "`" in c[2]]
    assert [f"{path}/{m.model}" for m in v3.models_of(path)] == documented


def test_top_level_v2_options_are_not_in_the_v3_body(docs: Path) -> None:
    spec = json.loads((docs / "specs" / "edenai-v3-openapi.2026-06.json").read_text())
    body = spec["components"]["schemas"]["UniversalAIBody"]
    assert not set(v3.V2_ONLY_OPTIONS) & set(body["properties"])
    assert body["properties"]["fallbacks"]["maxItems"] == v3.MAX_FALLBACKS
    embeddings = set(spec["components"]["schemas"]["EmbeddingsBody"]["properties"])
    chat = set(spec["components"]["schemas"]["LlmCompletionBody"]["properties"])
    for mapping in v3.V3_MAPPINGS.values():
        if mapping.endpoint not in ("embeddings", "chat"):
            continue
        known = embeddings if mapping.endpoint == "embeddings" else chat
        entry = get_subfeature(mapping.v2_path)
        for name in (entry.input_field, *(p.name for p in entry.params)):
            if mapping.rank and name in ("query", "similarity_metric"):
                continue  # semantic search: the query is embedded with the texts, the ranking is the client's
            new = mapping.v3_name(name)
            assert new is None or new in known, f"{mapping.v2_path}: {name} -> {new}"
