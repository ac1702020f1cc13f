"""The offline `local` text backends: quality on small hand-labelled sets, exact behaviour, and catalog shapes.

All calls go through `edenframe._local.local_compute(path)(items)`, the function the provider layer calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import load_json, require_extra

from edenframe._local import IMPLEMENTATIONS, local_compute

require_extra("local")

MY_PATHS = (
    "text/sentiment_analysis",
    "translation/language_detection",
    "text/keyword_extraction",
    "text/summarize",
    "text/spell_check",
    "text/moderation",
    "text/anonymization",
)


def run(path: str, text: str, **params: object) -> dict:
    [out] = local_compute(path)([{"text": text, **params}])
    assert out["status"] == "success", out
    assert out["cost"] == 0.0
    return out


# ---------------------------------------------------------------------------------------------------------------
# sentiment: 60 hand-labelled sentences
# ---------------------------------------------------------------------------------------------------------------

# {label: [sentences]}, 20 sentences per label
SENTIMENT_LABELLED: dict[str, list[str]] = load_json("sentiment_labelled")


def test_sentiment_agreement_on_labelled_set() -> None:
    labelled = [(t, label) for label, texts in SENTIMENT_LABELLED.items() for t in texts]
    assert len(labelled) == 60
    outputs = local_compute("text/sentiment_analysis")([{"text": t, "language": "en"} for t, _ in labelled])
    predicted = [o["general_sentiment"] for o in outputs]
    agreement = sum(p == label for p, (_, label) in zip(predicted, labelled, strict=True)) / len(labelled)
    misses = [(t, label, p) for p, (t, label) in zip(predicted, labelled, strict=True) if p != label]
    assert agreement >= 0.90, misses


def test_sentiment_shape_and_sentences() -> None:
    text = "I love the screen. The battery is terrible. It ships in a box."
    out = run("text/sentiment_analysis", text, language="en")
    segments = [i["segment"] for i in out["items"]]
    assert segments == ["I love the screen.", "The battery is terrible.", "It ships in a box."]
    assert [i["sentiment"] for i in out["items"]] == ["Positive", "Negative", "Neutral"]
    assert out["items"][2]["sentiment_rate"] == 0.0
    assert all(0.0 <= i["sentiment_rate"] <= 1.0 for i in out["items"])
    assert 0.0 <= out["general_sentiment_rate"] <= 1.0


def test_sentiment_language_handling() -> None:
    compute = local_compute("text/sentiment_analysis")
    ok_none, ok_us, french, empty = compute(
        [
            {"text": "Great job!", "language": None},
            {"text": "Great job!", "language": "en-US"},
            {"text": "Très bon travail", "language": "fr"},
            {"text": "   "},
        ]
    )
    assert ok_none["status"] == ok_us["status"] == "success"
    assert french["status"] == "fail" and "English only" in french["error"]["message"]
    assert empty["status"] == "fail" and "empty" in empty["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------
# language detection: 60 sentences, 12 languages
# ---------------------------------------------------------------------------------------------------------------

# {ISO 639-1 code: [sentences]}
LANGUAGE_SENTENCES: dict[str, list[str]] = load_json("languages_labelled")


def test_language_detection_top1_accuracy() -> None:
    labelled = [(text, code) for code, texts in LANGUAGE_SENTENCES.items() for text in texts]
    assert len(labelled) == 60 and len(LANGUAGE_SENTENCES) == 12
    outputs = local_compute("translation/language_detection")([{"text": t} for t, _ in labelled])
    top1 = [o["items"][0]["language"] for o in outputs]
    misses = [(t, code, p) for p, (t, code) in zip(top1, labelled, strict=True) if p != code]
    assert 1 - len(misses) / len(labelled) >= 0.95, misses


def test_language_detection_items() -> None:
    out = run("translation/language_detection", "Bonjour à tous, merci d'être venus ce soir.")
    first = out["items"][0]
    assert first["language"] == "fr" and first["display_name"] == "French" and first["confidence"] > 0.9
    ambiguous = run("translation/language_detection", "hola")["items"]
    assert 1 <= len(ambiguous) <= 3
    assert all(i["confidence"] >= 0.01 for i in ambiguous)
    confidences = [i["confidence"] for i in ambiguous]
    assert confidences == sorted(confidences, reverse=True)


def test_language_detection_reads_shouted_and_multiline_text() -> None:
    # fastText learnt from mixed case: all-caps French scores as English unless lower-cased first
    shouted = run("translation/language_detection", "BONJOUR À TOUS, MERCI D'ÊTRE VENUS CE SOIR")["items"][0]
    assert shouted["language"] == "fr" and shouted["confidence"] > 0.9
    mostly = run("translation/language_detection", "DIE LIEFERUNG KAM VIEL ZU SPÄT an")["items"][0]
    assert mostly["language"] == "de"
    # line breaks would end fastText's input at the first line: the whole text is read
    lines = run("translation/language_detection", "Ok\nLa livraison est arrivée en retard et la boîte était abîmée")
    assert lines["items"][0]["language"] == "fr"


def test_language_detection_ignores_zero_width_characters() -> None:
    # zero-width spaces and byte-order marks (from web pages) would read as Khmer or Thai
    for text, language in [
        ("\u200bhello\u200b", "en"),
        ("good\u200b \u200bvalue\u200b", "en"),
        ("\ufeffLa livraison est arrivée en retard", "fr"),
        ("Die\u200bLieferung\u200d kam\u2060 viel zu spät", "de"),
    ]:
        assert run("translation/language_detection", text)["items"][0]["language"] == language, text


def test_language_detection_display_names_cover_the_model() -> None:
    from edenframe._local.language_detection import DISPLAY_NAMES

    assert len(DISPLAY_NAMES) == 176
    assert DISPLAY_NAMES["zh"] == "Chinese" and DISPLAY_NAMES["ja"] == "Japanese"


# ---------------------------------------------------------------------------------------------------------------
# keywords
# ---------------------------------------------------------------------------------------------------------------

SOLAR = (
    "Solar panels were installed on the roof of every public school in the city. The solar panels produce more "
    "electricity than the schools consume, and the surplus electricity is sold to the grid."
)


def test_keywords_top_and_importance() -> None:
    items = run("text/keyword_extraction", SOLAR, language="en")["items"]
    keywords = [i["keyword"] for i in items]
    assert "solar panels" in keywords[0].lower()
    assert "Solar panels" in keywords[:3]
    importances = [i["importance"] for i in items]
    assert importances == sorted(importances, reverse=True)
    assert all(0.0 < v <= 1.0 and round(v, 2) == v for v in importances)
    # English stopwords never start or end a keyword
    assert not any(k.split()[0].lower() in {"the", "of", "and"} or k.split()[-1].lower() == "the" for k in keywords)


def test_keywords_use_the_language_stopwords() -> None:
    text = (
        "La ville a installé des panneaux solaires sur le toit de chaque école. Les panneaux solaires "
        "produisent plus d'électricité que les écoles n'en consomment."
    )
    keywords = [i["keyword"] for i in run("text/keyword_extraction", text, language="fr")["items"]]
    assert "panneaux solaires" in keywords[:2]
    assert not any(k.split()[0].lower() in {"le", "la", "les", "des", "de"} for k in keywords)
    # a language YAKE has no list for still works (no stopwords)
    assert run("text/keyword_extraction", "Ekonomi kahawa bei sokoni leo.", language="sw")["items"]


def test_keywords_importance_mapping() -> None:
    from edenframe._local.keywords import importance

    assert importance(0.0) == 1.0
    assert importance(0.01) > importance(0.1) > importance(1.0) > 0.0


# ---------------------------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------------------------

SCHOOLS = (
    "Solar panels convert sunlight into electricity. "
    "Our town installed solar panels on every school roof last year. "
    "The school solar panels now produce more electricity than the schools use. "
    "The surplus electricity is sold to the local grid. "
    "Meanwhile, the football team won the regional cup."
)


def test_summarize_picks_the_central_sentence() -> None:
    assert run("text/summarize", SCHOOLS)["result"] == (
        "The school solar panels now produce more electricity than the schools use."
    )


def test_summarize_keeps_original_order_and_count() -> None:
    result = run("text/summarize", SCHOOLS, output_sentences=2)["result"]
    assert result == (
        "Solar panels convert sunlight into electricity. "
        "The school solar panels now produce more electricity than the schools use."
    )
    assert "football" not in run("text/summarize", SCHOOLS, output_sentences=4)["result"]


def test_summarize_short_and_invalid() -> None:
    assert run("text/summarize", "Only one sentence here.", output_sentences=3)["result"] == "Only one sentence here."
    # sentences with no shared word: the lead sentence wins
    assert run("text/summarize", "Cats sleep. Rain falls. Markets rose.")["result"] == "Cats sleep."
    [bad] = local_compute("text/summarize")([{"text": SCHOOLS, "output_sentences": 0}])
    assert bad["status"] == "fail" and "output_sentences" in bad["error"]["message"]


# ---------------------------------------------------------------------------------------------------------------
# spell check
# ---------------------------------------------------------------------------------------------------------------


def test_spell_check_offsets_and_suggestions() -> None:
    text = "I recieved the pakage yesterday and it was exellent."
    out = run("text/spell_check", text, language="en")
    assert out["text"] == text
    found = [(i["text"], i["offset"], i["length"], i["suggestions"][0]["suggestion"]) for i in out["items"]]
    assert found == [("recieved", 2, 8, "received"), ("pakage", 15, 6, "package"), ("exellent", 43, 8, "excellent")]
    for item in out["items"]:
        assert text[item["offset"] : item["offset"] + item["length"]] == item["text"]
        assert item["type"] == "misspelled"
        scores = [s["score"] for s in item["suggestions"]]
        assert 1 <= len(scores) <= 5 and scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_spell_check_case_and_skips() -> None:
    text = "Thiis is fine. Visit https://exmaple.com, mail jon@exmaple.com, tell Zelensky and NASA about the iPhone."
    items = run("text/spell_check", text)["items"]
    assert [i["text"] for i in items] == ["Thiis"]
    assert items[0]["offset"] == 0 and items[0]["suggestions"][0]["suggestion"] == "This"
    assert run("text/spell_check", "Everything here is spelled correctly.")["items"] == []
    # possessives and elisions are not in the dictionaries but are not misspellings
    assert run("text/spell_check", "The children's books and the students' essays.")["items"] == []
    assert run("text/spell_check", "Pouvez-vous m'envoyer l'adresse de l'hôtel ?", language="fr")["items"] == []


def test_spell_check_languages() -> None:
    french = run("text/spell_check", "Le chat est tres mignon.", language="fr")["items"]
    assert [(i["text"], i["offset"], i["suggestions"][0]["suggestion"]) for i in french] == [("tres", 12, "très")]
    [unsupported] = local_compute("text/spell_check")([{"text": "こんにちは", "language": "ja"}])
    assert unsupported["status"] == "fail" and "language='ja'" in unsupported["error"]["message"]


def test_spell_check_distance_two_fallback() -> None:
    # no dictionary word is one edit from "acommodaton"; the fallback finds "accommodation" two edits away
    [item] = run("text/spell_check", "The acommodaton was booked.")["items"]
    assert item["suggestions"][0]["suggestion"] == "accommodation"


# ---------------------------------------------------------------------------------------------------------------
# moderation
# ---------------------------------------------------------------------------------------------------------------


def test_moderation_offensive_words() -> None:
    out = run("text/moderation", "You are a stupid f*cking bastard.")
    labels = {(i["label"], i["subcategory"]) for i in out["items"]}
    assert labels == {("stupid", "Insult"), ("f*cking", "Profanity"), ("bastard", "Insult")}
    assert all(i["category"] == "Toxic" for i in out["items"])
    assert out["nsfw_likelihood"] == 5 and out["nsfw_likelihood_score"] >= 0.9
    for item in out["items"]:
        assert 1 <= item["likelihood"] <= 5 and 0.0 <= item["likelihood_score"] <= 1.0


def test_moderation_mild_and_look_alikes() -> None:
    mild = run("text/moderation", "This product is crap.")
    assert [(i["label"], i["likelihood"]) for i in mild["items"]] == [("crap", 2)]
    assert mild["nsfw_likelihood"] == 2
    spaced = run("text/moderation", "Go f u c k yourself, sh1t head")
    assert [i["label"] for i in spaced["items"]] == ["f u c k", "sh1t"]


def test_moderation_clean_text() -> None:
    clean = [
        "The organ recital was lovely and God bless the choir.",
        "I killed the process, then had a vodka to celebrate my stroke of luck at the strip mall.",
        "Summa cum laude graduate from Scunthorpe; her assessment of the class was a passion project.",
        "They sob quietly while Dickens is read aloud.",
        "Great phone, fast delivery.",
    ]
    for text in clean:
        out = run("text/moderation", text)
        assert (out["nsfw_likelihood"], out["items"]) == (1, []), text
        assert out["nsfw_likelihood_score"] < 0.2


def test_moderation_agrees_with_better_profanity_on_flagged_words() -> None:
    from better_profanity import profanity

    for text in ["what the fuck", "you bitch", "sh1t happens", "total asshole", "a nice day", "hello world"]:
        ours = bool(run("text/moderation", text)["items"])
        assert ours == profanity.contains_profanity(text), text


# ---------------------------------------------------------------------------------------------------------------
# anonymization: 30 records with planted PII, 30 clean records
# ---------------------------------------------------------------------------------------------------------------

PII_RECORDS: list[tuple[str, list[tuple[str, str]]]] = [
    (record["text"], [(p["content"], p["subcategory"]) for p in record["planted"]])
    for record in load_json("anonymization_pii")
]

CLEAN_RECORDS: list[str] = load_json("anonymization_clean")


@pytest.mark.parametrize(("text", "planted"), PII_RECORDS, ids=[str(i) for i in range(len(PII_RECORDS))])
def test_anonymization_finds_every_planted_item(text: str, planted: list[tuple[str, str]]) -> None:
    out = run("text/anonymization", text)
    expected = [(text.index(content), len(content), content, sub) for content, sub in planted]
    found = [(e["offset"], e["length"], e["content"], e["subcategory"]) for e in out["entities"]]
    assert found == sorted(expected)
    for entity in out["entities"]:
        assert text[entity["offset"] : entity["offset"] + entity["length"]] == entity["content"]
        assert 0.0 < entity["confidence_score"] <= 1.0
    masked = list(text)
    for offset, length, _, _ in expected:
        masked[offset : offset + length] = "*" * length
    assert out["result"] == "".join(masked)


def test_anonymization_counts() -> None:
    assert len(PII_RECORDS) == 30 and len(CLEAN_RECORDS) == 30
    assert sum(len(planted) for _, planted in PII_RECORDS) >= 40


def test_anonymization_no_false_positive_on_clean_records() -> None:
    outputs = local_compute("text/anonymization")([{"text": t} for t in CLEAN_RECORDS])
    flagged = [(t, o["entities"]) for t, o in zip(CLEAN_RECORDS, outputs, strict=True) if o["entities"]]
    assert flagged == []
    assert [o["result"] for o in outputs] == CLEAN_RECORDS


def test_anonymization_categories_and_checksums() -> None:
    from edenframe._local.anonymization import iban_valid, luhn_valid

    out = run("text/anonymization", "Mail a@b.io, card 4111111111111111, IBAN NL91ABNA0417164300, host 10.1.2.3")
    kinds = [(e["category"], e["subcategory"], e["original_label"]) for e in out["entities"]]
    assert kinds == [
        ("PersonalInformation", "Email", "EMAIL_ADDRESS"),
        ("FinancialInformation", "CreditCard", "CREDIT_CARD"),
        ("FinancialInformation", "BankAccountNumber", "IBAN_CODE"),
        ("Miscellaneous", "IP", "IP_ADDRESS"),
    ]
    # one digit off: the checksums reject them
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("NL91ABNA0417164300") and not iban_valid("NL92ABNA0417164300")
    assert run("text/anonymization", "card 4111 1111 1111 1112, iban NL92ABNA0417164300")["entities"] == []


# ---------------------------------------------------------------------------------------------------------------
# registry and no network (the contract every local backend keeps is in test_local_contract.py)
# ---------------------------------------------------------------------------------------------------------------

SAMPLE_INPUTS = {
    "text/sentiment_analysis": {"text": "I love it. The box was damaged.", "language": "en"},
    "translation/language_detection": {"text": "Guten Morgen, wie geht es dir?"},
    "text/keyword_extraction": {"text": SOLAR, "language": "en"},
    "text/summarize": {"text": SCHOOLS, "output_sentences": 2},
    "text/spell_check": {"text": "Thiis is a sentense.", "language": "en"},
    "text/moderation": {"text": "What the hell is this shit, you idiot?"},
    "text/anonymization": {"text": "Write to a@b.io or call +44 20 7946 0958 before 2024-01-31."},
}


def test_registered_as_local() -> None:
    for path in MY_PATHS:
        assert IMPLEMENTATIONS[path][1] == "local"


def test_modules_import_and_run_without_network() -> None:
    """Every backend imports and computes with sockets disabled (and an empty HOME): nothing is downloaded."""
    script = textwrap.dedent(
        f"""
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network disabled in this test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from edenframe._local import local_compute
        inputs = {SAMPLE_INPUTS!r}
        for path, item in inputs.items():
            [out] = local_compute(path)([item])
            assert out["status"] == "success", (path, out)
        print("ok")
        """
    )
    env = {**os.environ, "HOME": "/nonexistent-home-for-test", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_runs_leave_the_garbage_collector_as_they_found_it() -> None:
    """Hot loops pause the cyclic collector; concurrent runs in threads (one finishing while another still pauses it)
    must leave it on, and a user who turned it off keeps it off."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    import edenframe  # noqa: F401  (registers df.eden)

    frames = [pd.DataFrame({"t": [f"Merci beaucoup, c'est parfait {i} {j}" for j in range(600)]}) for i in range(4)]

    def detect(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.eden.detect_language("t", providers="local", progress=False)

    assert gc.isenabled()
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(detect, frames))
    assert gc.isenabled()
    assert all((out["detect_language_items"].list[0].struct.field("language") == "fr").all() for out in outputs)
    gc.disable()
    try:
        detect(frames[0])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_backend_crash_fails_only_the_rows_that_cause_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that raises on a whole chunk (as a batch library can) fails only the rows that make it raise, with
    the exception's message; every other row keeps its own result, on its own index label."""
    import pandas as pd

    import edenframe
    from edenframe._local import moderation

    texts = [f"row {i}: the delivery was fine" for i in range(3000)]
    texts[1500], texts[2500] = "boom once", "boom twice"
    frame = pd.DataFrame({"t": texts}, index=[f"k{i}" for i in reversed(range(3000))])
    clean = frame.eden.moderate("t", providers="local", progress=False)

    real = moderation.compute

    def crashing(items: list[dict]) -> list[dict]:
        if any(item["text"].startswith("boom") for item in items):
            raise RuntimeError("the word list exploded")
        return real(items)

    monkeypatch.setattr(moderation, "compute", crashing)
    with pytest.warns(edenframe.RowErrorWarning, match="2 of 3000 rows failed"):
        out = frame.eden.moderate("t", providers="local", progress=False)
    errors = out["moderate_error"]
    assert "RuntimeError: the word list exploded" in errors["k499"]
    failed = errors.notna()
    assert list(errors.index[failed]) == ["k1499", "k499"]
    kept = out.loc[~failed, "moderate_nsfw_likelihood"]
    pd.testing.assert_series_equal(kept, clean.loc[~failed, "moderate_nsfw_likelihood"])


def test_a_backend_failing_on_everything_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend that cannot work at all (a model that does not load) fails every row with its message after a few
    calls, not after one call per row."""
    import pandas as pd

    import edenframe
    from edenframe._local import moderation

    calls = []

    def broken(items: list[dict]) -> list[dict]:
        calls.append(len(items))
        raise OSError("model file is missing")

    monkeypatch.setattr(moderation, "compute", broken)
    frame = pd.DataFrame({"t": [f"text number {i}" for i in range(5000)]})
    with pytest.warns(edenframe.RowErrorWarning, match="5000 of 5000 rows failed"):
        out = frame.eden.moderate("t", providers="local", progress=False)
    assert out["moderate_error"].str.contains("OSError: model file is missing").all()
    assert len(calls) <= 16, calls


@pytest.mark.parametrize(
    ("method", "options", "reason"),
    [
        ("sentiment", {"language": "fr"}, "English only"),
        ("moderate", {"language": "fr"}, "word list"),
        ("spell_check", {"language": "ja"}, "no dictionary for language='ja'"),
        ("embed", {"dimensions": 1000}, "384-dimensional"),
        ("search", {"query": " "}, "query must be a non-empty string"),
        ("topics", {"language": "de"}, "English only"),
    ],
)
def test_local_call_that_would_fail_every_row_is_refused_before_it_runs(
    method: str, options: dict, reason: str
) -> None:
    import pandas as pd

    import edenframe

    frame = pd.DataFrame({"text": ["The screen is bright.", "Battery died in a day."]})
    with pytest.raises(edenframe.ValidationError, match=f"cannot do this {method}\\(\\) call: .*{reason}") as info:
        getattr(frame.eden, method)("text", providers="local", progress=False, **options)
    assert "remote provider" in str(info.value)
    if "language" in options:  # the same call in English runs, every row with a result
        out = getattr(frame.eden, method)("text", providers="local", progress=False, language="en")
        assert out.attrs["edenframe"]["failed"] == 0
