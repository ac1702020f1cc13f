"""The model-backed offline `local` implementations: embeddings, topics, search (MiniLM int8 ONNX), NER and syntax
(spaCy), translation (Apertium). Called through `edenframe._local.local_compute(path)(items)`.

Quality is checked on small hand-written sets; every output is validated against the catalog's output schema.
A test skips only when the optional extra (or the apt package, for Apertium) it needs is not installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from helpers import load_json

from edenframe._catalog import get_subfeature
from edenframe._errors import MissingDependencyError, ValidationError
from edenframe._local import IMPLEMENTATIONS, local_compute
from edenframe._schema import ListOf, Struct, Type

# belt and braces: nothing below may reach a model hub (conftest also refuses non-loopback connections)
os.environ["HF_HUB_OFFLINE"] = "1"


needs_minilm = pytest.mark.extra("local")
needs_spacy = pytest.mark.extra("local-nlp")


def needs_apertium(test: Callable[..., None]) -> Callable[..., None]:
    """The `local` extra (language detection) and the Debian package apertium."""
    missing = shutil.which("apertium") is None
    test = pytest.mark.skipif(missing, reason="apt package apertium not installed")(test)
    return pytest.mark.extra("local")(test)


def _check_keys(value: Any, t: Type, where: str) -> None:
    """pa.array ignores unknown keys and nulls missing ones: check the names too."""
    if isinstance(t, Struct):
        assert isinstance(value, dict), where
        assert set(value) == set(t.names), f"{where}: keys {sorted(value)} != schema {sorted(t.names)}"
        for name, ft in t.fields:
            if value[name] is not None:
                _check_keys(value[name], ft, f"{where}.{name}")
    elif isinstance(t, ListOf):
        assert isinstance(value, list), where
        for i, v in enumerate(value):
            _check_keys(v, t.item, f"{where}[{i}]")


def validate(path: str, result: dict) -> dict:
    """A success object: it validates against the catalog entry's output type; returns it without status/cost."""
    assert result.get("status") == "success", result
    assert result.get("cost") == 0.0
    obj = {k: v for k, v in result.items() if k not in ("status", "cost")}
    output = get_subfeature(path).output
    _check_keys(obj, output, path)
    pa.array([obj], type=output.arrow())
    return obj


def run(path: str, items: list[dict]) -> list[dict]:
    results = local_compute(path)(items)
    assert len(results) == len(items)
    return results


def failed(result: dict) -> str:
    assert result["status"] == "fail", result
    assert result["cost"] == 0.0
    return str(result["error"]["message"])


# --- registry -------------------------------------------------------------------------------------------------------

MODEL_PATHS = {
    "text/embeddings": "local",
    "text/topic_extraction": "local",
    "text/search": "local",
    "text/named_entity_recognition": "local-nlp",
    "text/syntax_analysis": "local-nlp",
    "translation/automatic_translation": "local",
}


@pytest.mark.parametrize("path", sorted(MODEL_PATHS))
def test_registered_with_its_extra(path: str) -> None:
    assert IMPLEMENTATIONS[path][1] == MODEL_PATHS[path]
    get_subfeature(path)  # the registry only names catalog subfeatures


NO_OFFLINE = [
    "text/chat",
    "text/generation",
    "text/code_generation",
    "text/custom_classification",
    "text/custom_named_entity_recognition",
    "text/question_answer",
    "image/generation",
    "image/object_detection",
    "ocr/invoice_parser",
    "translation/document_translation",
]


@pytest.mark.parametrize("path", NO_OFFLINE)
def test_subfeatures_without_an_honest_offline_model_name_remote_providers(path: str) -> None:
    assert path not in IMPLEMENTATIONS
    with pytest.raises(ValidationError) as info:
        local_compute(path)
    message = str(info.value)
    assert path in message
    assert "no offline implementation" in message
    assert "providers=" in message and "EDENAI_API_KEY" in message
    providers = get_subfeature(path).providers
    if providers:
        assert providers[0] in message


# --- embeddings -----------------------------------------------------------------------------------------------------

# [sentence, its paraphrase]
PARAPHRASES: list[tuple[str, str]] = [(a, b) for a, b in load_json("paraphrases")]


@needs_minilm
def test_embeddings_shape_norm_and_schema() -> None:
    texts = ["hello world", "A short review of a good product.", ""]
    (result,) = run("text/embeddings", [{"texts": texts}])
    obj = validate("text/embeddings", result)
    assert len(obj["items"]) == len(texts)
    for item in obj["items"]:
        vector = item["embedding"]
        assert len(vector) == 384
        assert all(isinstance(x, float) for x in vector)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


@needs_minilm
def test_embeddings_paraphrase_is_the_nearest_neighbour() -> None:
    texts = [t for pair in PARAPHRASES for t in pair]
    (result,) = run("text/embeddings", [{"texts": texts}])
    matrix = np.array([item["embedding"] for item in validate("text/embeddings", result)["items"]])
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    partner = np.arange(len(texts)) ^ 1  # 0<->1, 2<->3, ...
    hits_first = int((nearest[0::2] == partner[0::2]).sum())
    hits_all = int((nearest == partner).sum())
    assert hits_first >= 18, f"{hits_first}/20 (both directions: {hits_all}/40)"
    assert hits_all >= 36, f"{hits_all}/40"


@needs_minilm
def test_embeddings_are_deterministic_and_independent_of_batching() -> None:
    texts = [t for pair in PARAPHRASES[:6] for t in pair]
    first = run("text/embeddings", [{"texts": texts}])[0]["items"]
    again = run("text/embeddings", [{"texts": texts}])[0]["items"]
    assert first == again
    # one text per request item, in reverse order: same vectors
    singles = run("text/embeddings", [{"texts": [t]} for t in reversed(texts)])
    for k, result in enumerate(reversed(singles)):
        np.testing.assert_allclose(result["items"][0]["embedding"], first[k]["embedding"], atol=1e-6)


@needs_minilm
def test_embeddings_many_texts_cross_batches_in_order() -> None:
    texts = [f"Review number {i}: the product {'works' if i % 2 else 'broke'} after {i} days." for i in range(150)]
    texts[70] = PARAPHRASES[0][0]
    (result,) = run("text/embeddings", [{"texts": texts}])
    items = validate("text/embeddings", result)["items"]
    assert len(items) == 150
    (alone,) = run("text/embeddings", [{"texts": [texts[70]]}])
    np.testing.assert_allclose(items[70]["embedding"], alone["items"][0]["embedding"], atol=1e-6)


@needs_minilm
def test_embeddings_dimensions_truncate_and_renormalise_or_fail() -> None:
    text = "Dimensions are cut from the front."
    full, short, too_long, bad = run(
        "text/embeddings",
        [{"texts": [text]}, {"texts": [text], "dimensions": 64}, {"texts": [text], "dimensions": 1024},
         {"texts": [text], "dimensions": 0}],
    )  # fmt: skip
    vector = np.array(validate("text/embeddings", short)["items"][0]["embedding"])
    assert vector.shape == (64,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    prefix = np.array(full["items"][0]["embedding"][:64])
    np.testing.assert_allclose(vector, prefix / np.linalg.norm(prefix), atol=1e-6)
    assert "384" in failed(too_long) and "1024" in failed(too_long)
    assert "at least 1" in failed(bad)


@needs_minilm
def test_embeddings_bad_item_fails_alone() -> None:
    good, bad = run("text/embeddings", [{"texts": ["fine"]}, {"texts": "not a list"}])
    validate("text/embeddings", good)
    assert "list of strings" in failed(bad)


# --- topic extraction -----------------------------------------------------------------------------------------------

TOPICS: list[tuple[str, str]] = [(case["text"], case["topic"]) for case in load_json("topics_labelled")]


@needs_minilm
def test_topics_top_label_on_short_texts() -> None:
    results = run("text/topic_extraction", [{"text": text, "language": "en"} for text, _ in TOPICS])
    hits = 0
    misses = []
    for (text, expected), result in zip(TOPICS, results, strict=True):
        items = validate("text/topic_extraction", result)["items"]
        assert len(items) == 3
        importances = [item["importance"] for item in items]
        assert importances == sorted(importances, reverse=True)
        assert all(0.0 <= x <= 1.0 for x in importances)
        if items[0]["category"] == expected:
            hits += 1
        else:
            misses.append((expected, items[0]["category"], text))
    assert hits >= 8, misses


@needs_minilm
def test_topics_labels_come_from_the_taxonomy_and_empty_text_fails() -> None:
    from edenframe._local import topics

    assert 20 <= len(topics.labels()) <= 30
    ok, empty, german = run(
        "text/topic_extraction",
        [{"text": "I love hiking in the mountains."}, {"text": "  "}, {"text": "Der Rucksack", "language": "de"}],
    )
    assert {item["category"] for item in ok["items"]} <= set(topics.labels())
    assert "non-empty" in failed(empty)
    assert "English only" in failed(german)


# --- search ---------------------------------------------------------------------------------------------------------

SEARCH = load_json("search")
DOCUMENTS: list[str] = SEARCH["documents"]
# (query, position of the one relevant document)
QUERIES: list[tuple[str, int]] = [(q["query"], q["relevant_document"]) for q in SEARCH["queries"]]


@needs_minilm
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan"])
def test_search_ranks_the_relevant_document_first(metric: str) -> None:
    items = [{"texts": DOCUMENTS, "query": q, "similarity_metric": metric} for q, _ in QUERIES]
    for (query, expected), result in zip(QUERIES, run("text/search", items), strict=True):
        ranked = validate("text/search", result)["items"]
        assert sorted(r["document"] for r in ranked) == list(range(len(DOCUMENTS)))
        assert all(r["object"] == "search_result" for r in ranked)
        scores = [r["score"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert ranked[0]["document"] == expected, (query, ranked)
        if metric == "cosine":
            assert all(-1.0 <= s <= 1.0 for s in scores)
        else:
            assert all(s <= 0.0 for s in scores)  # negated distances


@needs_minilm
def test_search_default_metric_and_bad_input() -> None:
    ok, bad_metric, no_query = run(
        "text/search",
        [{"texts": DOCUMENTS, "query": "refund"}, {"texts": DOCUMENTS, "query": "x", "similarity_metric": "dot"},
         {"texts": DOCUMENTS, "query": ""}],
    )  # fmt: skip
    assert validate("text/search", ok)["items"][0]["document"] == 0
    assert "cosine" in failed(bad_metric)
    assert "query" in failed(no_query)


# --- named entity recognition and syntax (spaCy) ---------------------------------------------------------------------

NER_CASES: list[tuple[str, set[tuple[str, str]]]] = [
    (case["text"], {(e["content"], e["label"]) for e in case["entities"]}) for case in load_json("ner_labelled")
]


@needs_spacy
def test_ner_finds_people_organisations_places() -> None:
    results = run("text/named_entity_recognition", [{"text": text, "language": "en"} for text, _ in NER_CASES])
    found = 0
    expected_total = 0
    for (_text, expected), result in zip(NER_CASES, results, strict=True):
        items = validate("text/named_entity_recognition", result)["items"]
        got = {(item["entity"], item["category"]) for item in items}
        assert all(item["importance"] is None for item in items)
        expected_total += len(expected)
        found += len(expected & got)
    assert found >= expected_total - 1, f"{found}/{expected_total}"


@needs_spacy
def test_ner_english_only_and_empty_text() -> None:
    ok, french, empty = run(
        "text/named_entity_recognition",
        [{"text": "Google is in California.", "language": None}, {"text": "Bonjour Paris", "language": "fr"},
         {"text": "", "language": "en"}],
    )  # fmt: skip
    validate("text/named_entity_recognition", ok)
    message = failed(french)
    assert "English" in message and "'fr'" in message
    assert "non-empty" in failed(empty)


@needs_spacy
def test_syntax_tags_lemmas_and_features() -> None:
    text = "Barack Obama was born in Hawaii. She doesn't like the bigger dogs."
    (result,) = run("text/syntax_analysis", [{"text": text, "language": "en-US"}])
    items = validate("text/syntax_analysis", result)["items"]
    by_word = {item["word"]: item for item in items}
    assert [item["word"] for item in items][:4] == ["Barack", "Obama", "was", "born"]
    assert by_word["Barack"]["tag"] == "Proper_noun"
    assert by_word["Barack"]["others"] == {"number": "SINGULAR", "proper_name": "PROPER"}
    assert by_word["was"]["lemma"] == "be"
    assert by_word["was"]["others"]["tense"] == "PAST"
    assert by_word["was"]["others"]["person"] == "THIRD"
    assert by_word["born"]["tag"] == "Verb" and by_word["born"]["lemma"] == "bear"
    assert by_word["dogs"]["tag"] == "Noun" and by_word["dogs"]["lemma"] == "dog"
    assert by_word["dogs"]["others"]["number"] == "PLURAL"
    assert by_word["bigger"]["tag"] == "Adjactive"  # Eden AI's own spelling
    assert by_word["bigger"]["lemma"] == "big"
    assert by_word["the"]["tag"] == "Determiner"
    assert by_word["."]["tag"] == "Punctuation"
    assert all(item["importance"] is None for item in items)


@needs_spacy
def test_syntax_rejects_other_languages() -> None:
    (result,) = run("text/syntax_analysis", [{"text": "Hola mundo", "language": "es"}])
    assert "English" in failed(result)


# --- translation (Apertium) -----------------------------------------------------------------------------------------

# (English sentence, Spanish words its translation must contain)
TRANSLATIONS: list[tuple[str, set[str]]] = [
    (case["text"], set(case["expected_words"])) for case in load_json("translations_eng_spa")
]


def _pairs_or_skip() -> list[tuple[str, str]]:
    from edenframe._local import translation

    pairs = translation.available_pairs()
    if ("en", "es") not in pairs:
        pytest.skip("apt package apertium-eng-spa not installed")
    return pairs


@needs_apertium
def test_translation_eng_spa_contains_expected_words() -> None:
    _pairs_or_skip()
    items = [{"text": t, "source_language": "en", "target_language": "es"} for t, _ in TRANSLATIONS]
    for (text, words), result in zip(TRANSLATIONS, run("translation/automatic_translation", items), strict=True):
        translated = validate("translation/automatic_translation", result)["text"]
        lowered = translated.lower()
        assert all(w in lowered for w in words), (text, translated)
        assert "*" not in translated and "#" not in translated and "@" not in translated
        assert "  " not in translated


@needs_apertium
def test_translation_batch_keeps_order_newlines_and_markup_characters() -> None:
    _pairs_or_skip()
    texts = [f"The house number {i} is red." for i in range(40)]
    texts[5] = "First line.\nSecond line about the dog."
    texts[9] = 'Fish & chips <b>cost</b> 5 "euros" at bob@example.com #food'
    items = [{"text": t, "source_language": "en", "target_language": "es"} for t in texts]
    results = [
        validate("translation/automatic_translation", r)["text"]
        for r in run("translation/automatic_translation", items)
    ]
    for i in (0, 17, 39):
        assert str(i) in results[i] and "casa" in results[i].lower(), results[i]
    assert "\n" in results[5] and "perro" in results[5]
    assert "&" in results[9] and "<b>" in results[9] and "bob@example.com" in results[9] and "#" in results[9]


@needs_apertium
def test_translation_batch_falls_back_to_one_process_per_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from edenframe._local import translation

    _pairs_or_skip()
    real_run = translation._run
    calls: list[int] = []

    def lose_separators(binary: str, mode: str, payload: str) -> str:
        count = payload.count("<hr id=")
        calls.append(count)
        output = real_run(binary, mode, payload)
        return output.replace('<hr id="edenframe-1">', "") if count > 1 else output

    monkeypatch.setattr(translation, "_run", lose_separators)
    texts = ["The red house.", "The black cat.", "My sister."]
    results = run(
        "translation/automatic_translation",
        [{"text": t, "source_language": "en", "target_language": "es"} for t in texts],
    )
    assert calls == [3, 1, 1, 1]
    for word, result in zip(["casa", "gato", "hermana"], results, strict=True):
        assert word in validate("translation/automatic_translation", result)["text"]


@needs_apertium
def test_translation_detects_the_source_language() -> None:
    _pairs_or_skip()
    (result,) = run(
        "translation/automatic_translation",
        [{"text": "El gato negro duerme en la casa de mi hermana.", "source_language": None, "target_language": "en"}],
    )
    translated = validate("translation/automatic_translation", result)["text"].lower()
    assert "cat" in translated and "sister" in translated


@needs_apertium
def test_translation_unsupported_pair_names_the_installed_pairs() -> None:
    from edenframe._local import translation

    pairs = _pairs_or_skip()
    ok, unsupported = run(
        "translation/automatic_translation",
        [{"text": "Good morning", "source_language": "en", "target_language": "es"},
         {"text": "Good morning", "source_language": "en", "target_language": "ja"}],
    )  # fmt: skip
    validate("translation/automatic_translation", ok)
    message = failed(unsupported)
    assert "en->ja" in message
    assert "en->es" in message and "es->en" in message
    assert "apt-get install" in message
    assert all(isinstance(s, str) and isinstance(t, str) for s, t in pairs)
    assert translation.iso3("en-GB") == "eng" and translation.iso3("spa") == "spa"


@needs_apertium
def test_translation_same_language_and_missing_text() -> None:
    same, empty = run(
        "translation/automatic_translation",
        [{"text": "Hola", "source_language": "es", "target_language": "es"},
         {"text": "", "source_language": "en", "target_language": "es"}],
    )  # fmt: skip
    assert validate("translation/automatic_translation", same)["text"] == "Hola"
    assert "non-empty" in failed(empty)


@pytest.mark.extra("local")
def test_translation_without_apertium_names_the_apt_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    from edenframe._local import _objects, translation

    monkeypatch.setattr(_objects.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install apertium apertium-eng-spa"):
        translation.compute([{"text": "hello", "source_language": "en", "target_language": "es"}])
    with pytest.raises(MissingDependencyError, match="apt-get install apertium"):
        translation.available_pairs()
