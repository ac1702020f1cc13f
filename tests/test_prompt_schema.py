"""edenframe._prompt_schema: the three schema forms of `df.eden.prompt` normalised to one strict JSON Schema, the
column types it gives, the reply check and the `response_format` body (issue 14, DESIGN.md section 7)."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from edenframe import MissingDependencyError, ValidationError
from edenframe._prompt_schema import (
    _checker,
    _normalized,
    check_reply,
    normalize_schema,
    output_type,
    reply_checker,
    response_format,
)
from edenframe._schema import BOOL, FLOAT, INT, STR, Enum, ListOf, Struct

pytestmark = pytest.mark.extra("prompt")

SHORTHAND: dict[str, Any] = {
    "label": ["positive", "negative"],
    "score": float,
    "count": int,
    "ok": bool,
    "tags": [str],
    "who": {"name": str},
}

JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Rating",
    "properties": {
        "label": {"type": "string", "enum": ["positive", "negative"]},
        "score": {"type": "number"},
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "who": {"$ref": "#/$defs/Who"},
    },
    "required": ["label", "score", "count", "ok", "tags", "who"],
    "$defs": {"Who": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
}

STRICT: dict[str, Any] = {
    "title": "Rating",
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["positive", "negative"]},
        "score": {"type": "number"},
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "who": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["label", "score", "count", "ok", "tags", "who"],
    "additionalProperties": False,
}

TYPE = Struct(
    (
        ("label", Enum(("positive", "negative"))),
        ("score", FLOAT),
        ("count", INT),
        ("ok", BOOL),
        ("tags", ListOf(STR)),
        ("who", Struct((("name", STR),))),
    )
)

GOOD = '{"label": "positive", "score": 0.5, "count": 3, "ok": true, "tags": ["a"], "who": {"name": "Ada"}}'


def pydantic_rating() -> type:
    pydantic = pytest.importorskip("pydantic")
    from typing import Literal

    class Who(pydantic.BaseModel):
        name: str

    class Rating(pydantic.BaseModel):
        label: Literal["positive", "negative"]
        score: float
        count: int
        ok: bool
        tags: list[str]
        who: Who

    return Rating


# ---------------------------------------------------------------------------------------------------------------
# the three forms


def test_json_schema_and_shorthand_give_the_same_strict_schema_and_type() -> None:
    assert normalize_schema(JSON_SCHEMA) == STRICT
    assert normalize_schema(SHORTHAND, name="Rating") == STRICT
    assert normalize_schema(SHORTHAND)["title"] == "output"  # the default name
    assert output_type(JSON_SCHEMA) == output_type(SHORTHAND) == TYPE


def test_a_pydantic_model_gives_the_same_strict_schema_and_type() -> None:
    rating = pydantic_rating()
    assert normalize_schema(rating) == STRICT  # $defs/$ref inlined, pydantic's titles dropped, name = class name
    assert output_type(rating) == TYPE
    assert response_format(rating) == response_format(SHORTHAND, name="Rating")


def test_a_pydantic_optional_field_and_a_field_description() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Who(pydantic.BaseModel):
        name: str

    class Review(pydantic.BaseModel):
        who: Who | None = pydantic.Field(None, description="the reviewer")
        stars: int | None = None

    strict = normalize_schema(Review)
    assert strict["properties"]["who"]["type"] == ["object", "null"]
    assert strict["properties"]["who"]["description"] == "the reviewer"
    assert strict["properties"]["stars"] == {"type": ["integer", "null"]}  # `default` dropped
    assert output_type(Review) == Struct((("who", Struct((("name", STR),))), ("stars", INT)))
    assert check_reply('{"who": null, "stars": null}', strict) == {"who": None, "stars": None}


def test_normalize_is_idempotent_and_checks_against_the_metaschema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    strict = normalize_schema(SHORTHAND)
    assert normalize_schema(strict) == strict
    jsonschema.Draft202012Validator.check_schema(strict)


def test_the_structured_output_pages_example_is_already_strict() -> None:
    # v3-pages/llms__structured-output.mdx, "JSON Schema Mode"
    example = {
        "type": "object",
        "properties": {
            "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
            "rating": {"type": "integer", "description": "Rating from 1 to 5"},
            "summary": {"type": "string", "description": "One-sentence summary of the review"},
            "keywords": {"type": "array", "items": {"type": "string"}, "description": "Key topics mentioned"},
        },
        "required": ["sentiment", "rating", "summary", "keywords"],
        "additionalProperties": False,
    }
    body = response_format(example, name="product_review")
    assert body == {
        "type": "json_schema",
        "json_schema": {"name": "product_review", "strict": True, "schema": {"title": "product_review", **example}},
    }


# ---------------------------------------------------------------------------------------------------------------
# column types


def test_each_json_type_maps_to_the_issues_dtype() -> None:
    fields = dict(output_type(SHORTHAND).fields)
    assert fields["label"].dtype() == pd.CategoricalDtype(["positive", "negative"])
    assert fields["score"].dtype() == "float64"
    assert fields["count"].dtype() == "Int64"
    assert fields["ok"].dtype() == "boolean"
    assert fields["tags"].dtype() == pd.ArrowDtype(pa.list_(pa.string()))
    assert fields["who"].dtype() == pd.ArrowDtype(pa.struct([("name", pa.string())]))
    assert pd.api.types.is_string_dtype(output_type({"s": str}).fields[0][1].dtype())


@pytest.mark.parametrize(
    "spelling",
    [
        {"type": ["number", "null"]},
        {"anyOf": [{"type": "number"}, {"type": "null"}]},
        {"oneOf": [{"type": "null"}, {"type": "number"}]},
    ],
    ids=["type-list", "anyOf", "oneOf"],
)
def test_nullable_spellings_normalise_to_one_form_and_keep_the_dtype(spelling: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"score": spelling}, "required": ["score"]}
    strict = normalize_schema(schema)
    assert strict["properties"]["score"] == {"type": ["number", "null"]}
    assert strict == normalize_schema({"score": float | None})  # the shorthand's `X | None`
    assert output_type(schema) == Struct((("score", FLOAT),))
    assert check_reply('{"score": null}', strict) == {"score": None}


def test_a_property_the_source_does_not_require_becomes_required_and_nullable() -> None:
    schema = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}, "n": {"type": "integer"}}}
    strict = normalize_schema(schema)
    assert strict["required"] == ["label", "n"]
    assert strict["properties"]["label"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert output_type(schema) == Struct((("label", Enum(("a", "b"))), ("n", INT)))
    assert "label: missing" in check_reply('{"n": 1}', strict)  # strict: present, though it may be null


def test_nested_arrays_of_objects_and_enums() -> None:
    t = output_type({"items": [{"name": str, "kind": ["person", "place"]}], "grid": [[int]]})
    assert t == Struct(
        (
            ("items", ListOf(Struct((("name", STR), ("kind", Enum(("person", "place"))))))),
            ("grid", ListOf(ListOf(INT))),
        )
    )
    assert t.fields[0][1].dtype() == pd.ArrowDtype(pa.list_(pa.struct([("name", pa.string()), ("kind", pa.string())])))


# ---------------------------------------------------------------------------------------------------------------
# replies


def test_a_valid_reply_comes_back_as_the_object_also_from_a_fenced_block() -> None:
    strict = normalize_schema(SHORTHAND)
    expected = {"label": "positive", "score": 0.5, "count": 3, "ok": True, "tags": ["a"], "who": {"name": "Ada"}}
    assert check_reply(GOOD, strict) == expected
    assert check_reply(f"```json\n{GOOD}\n```", strict) == expected
    assert check_reply(f"Here it is:\n```\n{GOOD}\n```\nAnything else?", strict) == expected


def _reply(**changes: Any) -> str:
    import json

    value = json.loads(GOOD)
    for key, new in changes.items():
        if new is _DROP:
            del value[key]
        else:
            value[key] = new
    return json.dumps(value)


_DROP = object()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("Sure! The review is positive.", "the reply is not valid JSON"),
        ('{"label": "positive", "score": 0.5', "the reply is not valid JSON"),
        ("", "the reply is empty"),
        ("[1, 2]", "not an object"),
        (_reply(score="high"), "score: 'high' is not of type 'number'"),
        (_reply(count=2.5), "count: 2.5 is not of type 'integer'"),
        (_reply(ok="yes"), "ok: 'yes' is not of type 'boolean'"),
        (_reply(score=_DROP), "score: missing (a required field)"),
        (_reply(extra=1), "extra: not a field of the schema"),
        (_reply(label="meh"), "label: 'meh' is not one of ['positive', 'negative']"),
        (_reply(tags=["a", 3]), "tags[1]: 3 is not of type 'string'"),
        (_reply(who={}), "who.name: missing (a required field)"),
        (_reply(who={"name": "Ada", "age": 3}), "who.age: not a field of the schema"),
        (GOOD.replace("0.5", "NaN"), "NaN is not a JSON number"),
    ],
    ids=[
        "prose", "truncated", "empty", "list", "wrong-type", "float-for-integer", "string-for-bool", "missing-key",
        "extra-key", "enum", "array-item", "nested-missing", "nested-extra", "nan",
    ],
)  # fmt: skip
def test_an_invalid_reply_gives_a_message_naming_the_field(reply: str, message: str) -> None:
    result = check_reply(reply, normalize_schema(SHORTHAND))
    assert isinstance(result, str), result
    assert message in result


def test_any_schema_form_checks_replies_like_its_strict_form() -> None:
    # JSON_SCHEMA does not say additionalProperties: false, the strict form does
    for schema in (JSON_SCHEMA, SHORTHAND, STRICT):
        assert check_reply(GOOD, schema) == check_reply(GOOD, STRICT)
        assert check_reply(_reply(extra=1), schema) == "the reply breaks the schema: extra: not a field of the schema"
    with pytest.raises(ValidationError, match="not a shorthand type"):
        check_reply(GOOD, {"tags": set})


def test_several_problems_are_all_named_in_a_stable_order() -> None:
    result = reply_checker(normalize_schema(SHORTHAND))(_reply(label="meh", score="high"))
    assert result == (
        "the reply breaks the schema: label: 'meh' is not one of ['positive', 'negative']; "
        "score: 'high' is not of type 'number'"
    )


def test_kept_constraints_are_checked_in_the_reply() -> None:
    schema = {"type": "object", "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5}}}
    strict = normalize_schema(schema)
    assert strict["properties"]["stars"] == {"type": ["integer", "null"], "minimum": 1, "maximum": 5}
    assert "stars: 9 is greater than the maximum of 5" in check_reply('{"stars": 9}', strict)


# ---------------------------------------------------------------------------------------------------------------
# bad schemas


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "string"}, "top level must be an object with properties"),
        ({"type": ["object", "null"], "properties": {"a": {"type": "string"}}}, "top level must be an object"),
        ([str], "schema must be a JSON Schema object, a pydantic model class or a shorthand dict"),
        ("label", "got str"),
        ({}, "empty dict"),
        ({"type": "object", "properties": {}}, "object without properties"),
        ({"tags": set}, "schema field tags: <class 'set'> is not a shorthand type"),
        ({"who": {"ids": {int}}}, "schema field who.ids"),
        ({"who": {}}, "schema field who is an empty dict"),
        ({"a": []}, "schema field a: [] is not a shorthand type"),
        ({"a": [str, int]}, "is not a shorthand type"),
        ({"a": str | int}, "is not a shorthand type"),
        ({1: str}, "field names must be non-empty strings"),
        ({"type": "object", "properties": {"w": {"$ref": "#/$defs/Missing"}}}, "cannot be resolved"),
        ({"type": "object", "properties": {"w": {"$ref": "https://example.com/s.json"}}}, "cannot be resolved"),
        (
            {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}},
             "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}},
            "recursive",
        ),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True}, "additional"),
        ({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}},
          "additionalProperties": {"type": "string"}}}}, "schema field a allows additional properties"),
        ({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "number"}]}}},
         "a column has one type"),
        ({"type": "object", "properties": {"a": {"type": ["string", "number"]}}}, "must have one JSON type"),
        ({"type": "object", "properties": {"a": {}}}, "give it a type"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "array without one `items` schema"),
        ({"type": "object", "properties": {"a": {"enum": [1, 2]}}}, "labels must be strings"),
        ({"type": "object", "properties": {"a": {"enum": []}}}, "empty or malformed enum"),
        ({"type": "object", "properties": {"a": {"type": "date"}}}, "unknown type 'date'"),
        ({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}},
          "patternProperties": {}}}}, "uses ['patternProperties']"),
        ({"type": "object", "properties": {"a": {"type": "number", "minimum": "3"}}}, "not valid JSON Schema at"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "requires ['b']"),
    ],
)  # fmt: skip
def test_a_bad_schema_raises_naming_the_problem(schema: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_schema(schema)
    assert message in str(caught.value)
    with pytest.raises(ValidationError):  # every entry point checks first
        response_format(schema)
    with pytest.raises(ValidationError):
        output_type(schema)


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, 3])
def test_a_bad_name_raises(name: Any) -> None:
    with pytest.raises(ValidationError, match="letters, digits, underscores or dashes"):
        response_format(SHORTHAND, name=name)


def test_titles_become_fitting_names() -> None:
    assert response_format({**JSON_SCHEMA, "title": "Product review!"})["json_schema"]["name"] == "Product_review"


def test_a_shorthand_field_called_type_is_not_mistaken_for_json_schema() -> None:
    assert output_type({"type": ["person", "org"], "name": str}) == Struct(
        (("type", Enum(("person", "org"))), ("name", STR))
    )
    assert output_type({"type": str}) == Struct((("type", STR),))


def test_without_jsonschema_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # `import jsonschema` now raises ImportError
    _checker.cache_clear()
    _normalized.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match=r"edenframe\[prompt\]"):
            normalize_schema(SHORTHAND)
        with pytest.raises(MissingDependencyError, match=r"edenframe\[prompt\]"):
            check_reply(GOOD, STRICT)
    finally:
        _checker.cache_clear()
        _normalized.cache_clear()
