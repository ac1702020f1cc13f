"""Schemas for prompts over columns: one strict JSON Schema from any of three forms, its column types, reply checks.

`df.eden.prompt(..., schema=...)` (DESIGN.md section 7) accepts a JSON Schema object, a pydantic model class or the
shorthand `{"label": ["positive", "negative"], "score": float, "tags": [str], "who": {"name": str}}`. All three
become ONE strict JSON Schema, the form OpenAI-style strict structured output demands and Eden's
`/v3/chat/completions` forwards as `response_format` (v3-pages/llms__structured-output.mdx):

- every object has `additionalProperties: false` and lists every property in `required`; a property the source
  did not require becomes nullable (`"type": [..., "null"]`), which is how strict mode spells "optional";
- `$ref`s are resolved inline (the schema must also type the result columns, so a recursive `$ref` is refused);
- nullability has one spelling, `"type": [t, "null"]` (plus `null` in an `enum`), whatever the source wrote
  (`anyOf` with `{"type": "null"}`, pydantic's `Optional`), so the three forms give equal schemas;
- annotations the model does not need (`title` below the top, `default`, `examples`) are dropped; keywords that
  would make the columns untypeable (`oneOf` of two types, `not`, `if`, `patternProperties`...) are refused.

The top-level `title` carries the schema's name (the `name` of `response_format.json_schema`): the pydantic class
name, the JSON Schema's own title, or `name=`. Bad schemas raise `ValidationError` before anything is sent.
"""

from __future__ import annotations

import functools
import json
import re
import types
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin

from ._errors import MissingDependencyError, ValidationError
from ._schema import BOOL, FLOAT, INT, STR, Enum, ListOf, Struct, Type

DEFAULT_NAME = "output"

# response_format.json_schema.name: OpenAI's rule (letters, digits, underscores, dashes; at most 64)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_SHORTHAND_SCALARS: dict[Any, str] = {str: "string", float: "number", int: "integer", bool: "boolean"}
# Validation keywords kept as written: the reply check enforces them whatever the provider does with them.
_KEPT = {
    "string": ("pattern", "format", "minLength", "maxLength"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "integer": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    "array": ("minItems", "maxItems"),
}
# Annotations that change nothing the model must produce: dropped (strict mode refuses `default` on some providers).
_DROPPED = {"title", "default", "examples", "$schema", "$id", "$comment", "readOnly", "writeOnly", "deprecated"}
_STRUCTURAL = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "oneOf"}
_STRUCTURAL |= {"allOf", "$ref", "$defs", "definitions", "description"}


# ---------------------------------------------------------------------------------------------------------------
# normalize_schema


def normalize_schema(schema: Any, name: str | None = None) -> dict[str, Any]:
    """The strict JSON Schema for a JSON Schema object, a pydantic model class or the shorthand (see the module).

    Its top-level `title` is the schema's name: `name` when given, else the pydantic class name or the JSON
    Schema's title (made fit for `response_format`), else "output". Idempotent: a normalized schema comes back equal.
    Raises `ValidationError` naming the problem and the fix.
    """
    if name is not None and not (isinstance(name, str) and _NAME.match(name)):
        raise ValidationError(
            f"schema name {name!r} is not allowed: use 1 to 64 letters, digits, underscores or dashes, e.g. 'rating'"
        )
    source, default_name = _as_json_schema(schema)
    defs = {**_mapping(source.get("definitions")), **_mapping(source.get("$defs"))}
    strict = _strict(source, defs, path="", resolving=())
    if _types(strict) != ["object"]:  # not nullable either: the row's columns come from it
        raise ValidationError(
            "the schema's top level must be an object with properties (one output column each), e.g. "
            '{"type": "object", "properties": {"label": {"type": "string"}}}; '
            f"got {_short(source)}"
        )
    title = name or _fit_name(source.get("title")) or default_name
    result = {"title": title, **strict}
    _check_metaschema(result)
    return result


def _as_json_schema(schema: Any) -> tuple[dict[str, Any], str]:
    """The JSON Schema a user's schema stands for, and its default name."""
    if isinstance(schema, type) and callable(getattr(schema, "model_json_schema", None)):
        # a pydantic model class, recognised without importing pydantic (an optional dependency)
        try:
            return schema.model_json_schema(), _fit_name(schema.__name__) or DEFAULT_NAME
        except Exception as exc:  # pydantic's PydanticInvalidForJsonSchema and friends
            raise ValidationError(f"the pydantic model {schema.__name__} has no JSON Schema: {exc}") from exc
    if isinstance(schema, Mapping):
        if _looks_like_json_schema(schema):
            return dict(schema), DEFAULT_NAME
        return _shorthand_object(schema, path=""), DEFAULT_NAME
    if callable(getattr(type(schema), "model_json_schema", None)):  # an instance where its class was meant
        raise ValidationError(
            f"schema is an instance of the pydantic model {type(schema).__name__}: pass the class itself, "
            f"schema={type(schema).__name__}"
        )
    raise ValidationError(
        f"schema must be a JSON Schema object, a pydantic model class or a shorthand dict such as "
        f'{{"label": ["positive", "negative"], "score": float}}; got {type(schema).__name__}'
    )


def _looks_like_json_schema(schema: Mapping[str, Any]) -> bool:
    """A JSON Schema has `properties`, `$ref`, `anyOf` or a `type` naming JSON types; a shorthand maps field names
    to Python types, lists and dicts (a shorthand field called "type" holds a Python type or a list of labels)."""
    if any(k in schema for k in ("properties", "$ref", "anyOf", "oneOf", "allOf", "$defs", "$schema")):
        return True
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind in _JSON_TYPES
    return isinstance(kind, list) and bool(kind) and all(k in _JSON_TYPES for k in kind)


# shorthand -----------------------------------------------------------------------------------------------------


def _shorthand(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, type) and value in _SHORTHAND_SCALARS:
        return {"type": _SHORTHAND_SCALARS[value]}
    if isinstance(value, Mapping):
        return _shorthand_object(value, path)
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return {"type": "string", "enum": list(dict.fromkeys(value))}
        if len(value) == 1:
            return {"type": "array", "items": _shorthand(value[0], f"{path}[]")}
    nullable = _optional_of(value)
    if nullable is not None:
        inner = _shorthand(nullable, path)
        return _with_null(inner)
    raise ValidationError(
        f"schema field {path or '(top level)'}: {_short(value)} is not a shorthand type; use str, float, int or "
        'bool, a list of labels (["positive", "negative"]), [type] for a list (e.g. [str]), a dict for an object, '
        "or `type | None` for a value that may be missing"
    )


def _shorthand_object(value: Mapping[Any, Any], path: str) -> dict[str, Any]:
    if not value:
        raise ValidationError(
            f"schema {'field ' + path if path else 'shorthand'} is an empty dict: give at least one field, "
            'e.g. {"label": str}'
        )
    properties = {}
    for key, field_value in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(f"schema field names must be non-empty strings; got {key!r} in {path or 'the top'}")
        properties[key] = _shorthand(field_value, f"{path}.{key}" if path else key)
    return {"type": "object", "properties": properties, "required": list(properties)}


def _optional_of(value: Any) -> Any:
    """X for `X | None` / `Optional[X]`, else None."""
    if get_origin(value) not in (Union, types.UnionType):
        return None
    args = [a for a in get_args(value) if a is not type(None)]
    return args[0] if len(args) == 1 and len(get_args(value)) == 2 else None


# strict form ---------------------------------------------------------------------------------------------------


def _strict(node: Any, defs: dict[str, Any], path: str, resolving: tuple[str, ...]) -> dict[str, Any]:
    """The strict form of one (sub)schema; `path` names it in errors ("" is the top), `resolving` the $refs being
    inlined (to refuse recursion)."""
    where = f"schema field {path}" if path else "the schema"
    if not isinstance(node, Mapping):
        raise ValidationError(f"{where} must be a JSON Schema object, got {_short(node)}")
    node = dict(node)
    if "$ref" in node:
        ref = node.pop("$ref")
        target, key = _resolve(ref, defs, where)
        if key in resolving:
            raise ValidationError(
                f"{where} refers to {ref} inside itself: a recursive schema cannot give typed columns; "
                "flatten it to a fixed depth"
            )
        # siblings of a $ref (pydantic puts `description` there) apply on top of the target
        merged = {**target, **{k: v for k, v in node.items() if k not in _DROPPED}}
        return _strict(merged, defs, path, (*resolving, key))
    if "allOf" in node:
        parts = node.pop("allOf")
        if not (isinstance(parts, list) and len(parts) == 1):
            raise ValidationError(f"{where} uses allOf with several schemas: write the combined object instead")
        return _strict({**parts[0], **node}, defs, path, resolving)
    for union in ("anyOf", "oneOf"):
        if union in node:
            return _strict_union(node, union, defs, path, resolving)
    unknown = sorted(set(node) - _STRUCTURAL - _DROPPED - {k for kept in _KEPT.values() for k in kept})
    if unknown:
        raise ValidationError(
            f"{where} uses {unknown}, which strict structured output cannot express as typed columns: remove them"
        )
    if "const" in node:
        node.setdefault("enum", [node.pop("const")])
    kinds = _types(node)
    nullable = "null" in kinds
    kinds = [k for k in kinds if k != "null"]
    if "enum" in node:
        return _strict_enum(node, kinds, nullable, where)
    if len(kinds) != 1:
        hint = "give it a type" if not kinds else f"pick one of {kinds} (plus null if it may be missing)"
        raise ValidationError(f"{where} must have one JSON type to become one column: {hint}")
    kind = kinds[0]
    if kind not in _JSON_TYPES:
        raise ValidationError(f"{where} has the unknown type {kind!r}; use one of {list(_JSON_TYPES[:-1])}")
    out: dict[str, Any] = {"type": [kind, "null"] if nullable else kind}
    if isinstance(node.get("description"), str):
        out["description"] = node["description"]
    out.update({k: node[k] for k in _KEPT.get(kind, ()) if k in node})
    if kind == "object":
        out.update(_strict_object(node, defs, path, resolving, where))
    elif kind == "array":
        if "items" not in node or not isinstance(node["items"], Mapping):
            raise ValidationError(
                f'{where} is an array without one `items` schema: add e.g. "items": {{"type": "string"}}'
            )
        out["items"] = _strict(node["items"], defs, f"{path}[]" if path else "[]", resolving)
    return out


def _strict_object(
    node: dict[str, Any], defs: dict[str, Any], path: str, resolving: tuple[str, ...], where: str
) -> dict[str, Any]:
    properties = node.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        raise ValidationError(
            f"{where} is an object without properties: list its fields in `properties` (strict structured output "
            "allows no free-form objects)"
        )
    extra = node.get("additionalProperties", False)
    if extra not in (False, None) and extra != {}:
        raise ValidationError(
            f"{where} allows additional properties, which strict structured output forbids: "
            "set additionalProperties to false and name every field in `properties`"
        )
    required = node.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        raise ValidationError(f"{where} requires {required!r}, which is not a list of its properties")
    strict_properties = {}
    for key, sub in properties.items():
        strict_sub = _strict(sub, defs, f"{path}.{key}" if path else key, resolving)
        # strict mode requires every key; one the source let the model omit may be null instead
        strict_properties[key] = strict_sub if key in required else _with_null(strict_sub)
    return {"properties": strict_properties, "required": list(strict_properties), "additionalProperties": False}


def _strict_enum(node: dict[str, Any], kinds: list[str], nullable: bool, where: str) -> dict[str, Any]:
    values = node["enum"]
    if not isinstance(values, list) or not values:
        raise ValidationError(f"{where} has an empty or malformed enum: list its labels, e.g. ['positive', 'negative']")
    nullable = nullable or None in values
    labels = [v for v in values if v is not None]
    if not labels or not all(isinstance(v, str) for v in labels) or kinds not in ([], ["string"]):
        raise ValidationError(
            f"{where} has the enum {values!r}: labels must be strings (they become a category column); "
            "for numbers use a number or integer type with minimum and maximum"
        )
    labels = list(dict.fromkeys(labels))
    out: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    if isinstance(node.get("description"), str):
        out["description"] = node["description"]
    out["enum"] = [*labels, None] if nullable else labels
    return out


def _strict_union(
    node: dict[str, Any], union: str, defs: dict[str, Any], path: str, resolving: tuple[str, ...]
) -> dict[str, Any]:
    """`anyOf`/`oneOf` of one schema and null (pydantic's Optional): that schema, nullable. Anything wider has no
    single column type."""
    where = f"schema field {path}" if path else "the schema"
    options = node.pop(union)
    if not isinstance(options, list):
        raise ValidationError(f"{where}: {union} must be a list of schemas")
    non_null = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
    if len(non_null) != 1:
        raise ValidationError(
            f"{where} is one of {len(non_null)} schemas ({union}); a column has one type: keep one schema "
            "(plus {'type': 'null'} if it may be missing), or use a string enum for alternatives"
        )
    rest = {k: v for k, v in node.items() if k not in _DROPPED}
    inner = _strict({**non_null[0], **rest}, defs, path, resolving)
    return _with_null(inner) if len(non_null) < len(options) else inner


def _resolve(ref: Any, defs: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    match = re.fullmatch(r"#/(?:\$defs|definitions)/(.+)", ref) if isinstance(ref, str) else None
    if match is None or match.group(1) not in defs:
        known = ", ".join(sorted(defs)) or "none"
        raise ValidationError(
            f"{where} refers to {ref!r}, which cannot be resolved: only '#/$defs/<name>' within the schema is "
            f"supported (definitions here: {known}); add the definition or write the schema inline"
        )
    return defs[match.group(1)], match.group(1)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _types(node: Mapping[str, Any]) -> list[str]:
    kind = node.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def _with_null(node: dict[str, Any]) -> dict[str, Any]:
    kinds = _types(node)
    if "null" in kinds:
        return node
    out = {**node, "type": [*kinds, "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _fit_name(title: Any) -> str | None:
    """A title made fit for response_format's `name`, or None when nothing is left."""
    if not isinstance(title, str):
        return None
    fitted = re.sub(r"[^A-Za-z0-9_-]+", "_", title.strip()).strip("_")[:64]
    return fitted or None


def _jsonschema() -> Any:
    try:
        import jsonschema
    except ImportError as exc:
        raise MissingDependencyError(
            "LLM answers with a schema (df.eden.prompt with schema=, and the text methods Eden AI's v3 runs through an "
            "LLM, such as sentiment or classify) are checked with jsonschema, which is not installed. "
            "Install it with: pip install 'edenframe[prompt]'"
        ) from exc
    return jsonschema


def _check_metaschema(schema: dict[str, Any]) -> None:
    """The result must be valid JSON Schema (catches e.g. "minimum": "3" kept from the source)."""
    jsonschema = _jsonschema()
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = _path(exc.absolute_path) or "the top level"
        raise ValidationError(
            f"the schema is not valid JSON Schema at {where}: {exc.message}; fix that value"
        ) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------------------------------------
# output_type


def output_type(schema: Any) -> Struct:
    """The result columns' types: one field per top-level property, in order (enum -> Enum, i.e. a category
    column; number -> float64; integer -> Int64; boolean -> boolean; string -> string; arrays and objects ->
    ListOf/Struct, i.e. ArrowDtype list/struct). Nullability changes no dtype: every one of these holds NA."""
    top = _type_of(normalize_schema(schema))  # idempotent: a normalized schema comes back equal
    assert isinstance(top, Struct)
    return top


def _type_of(node: Mapping[str, Any]) -> Type:
    if "enum" in node:
        return Enum(tuple(v for v in node["enum"] if v is not None))
    kind = next(k for k in _types(node) if k != "null")
    if kind == "object":
        return Struct(tuple((key, _type_of(sub)) for key, sub in node["properties"].items()))
    if kind == "array":
        return ListOf(_type_of(node["items"]))
    return {"string": STR, "number": FLOAT, "integer": INT, "boolean": BOOL}[kind]


# ---------------------------------------------------------------------------------------------------------------
# replies


def check_reply(text: str, schema: Any) -> dict[str, Any] | str:
    """The object a model's reply holds, checked against the strict form of `schema` (any of the three forms); or,
    when the reply is not JSON or breaks the schema, a message naming the field and the problem ("score: 'high' is
    not of type 'number'"). Never a default value. A reply wrapped in a ```json fenced block is accepted."""
    return reply_checker(schema)(text)


def reply_checker(schema: Any) -> Callable[[str], dict[str, Any] | str]:
    """`check_reply` with the schema normalized and the validator built once, for many replies to one schema."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except TypeError:  # a shorthand (Python types) or a pydantic class: not JSON, not cached
        return _checker(json.dumps(normalize_schema(schema), sort_keys=True))
    return _checker(_normalized(key))


@functools.lru_cache(maxsize=32)
def _normalized(schema_text: str) -> str:
    # normalizing checks against the metaschema (milliseconds): once per distinct schema, not once per reply
    return json.dumps(normalize_schema(json.loads(schema_text)), sort_keys=True)


@functools.lru_cache(maxsize=32)
def _checker(schema_text: str) -> Callable[[str], dict[str, Any] | str]:
    jsonschema = _jsonschema()
    schema = json.loads(schema_text)
    validator = jsonschema.Draft202012Validator(schema)

    def check(text: str) -> dict[str, Any] | str:
        parsed = _parse_reply(text)
        if isinstance(parsed, str):
            return parsed
        problems = sorted(validator.iter_errors(parsed), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        if not problems:
            wide = _beyond_int64(parsed, schema, "")
            return parsed if wide is None else f"the reply breaks the schema: {wide}"
        messages = list(dict.fromkeys(_describe(p) for p in problems))
        more = f" (and {len(messages) - 3} more)" if len(messages) > 3 else ""
        return "the reply breaks the schema: " + "; ".join(messages[:3]) + more

    return check


_INT64 = (-(2**63), 2**63 - 1)


def _beyond_int64(value: Any, node: Mapping[str, Any], path: str) -> str | None:
    """The first integer of a (valid) reply that an Int64 column cannot hold: JSON Schema's "integer" has no bound,
    the column has (so it is the reply's error, asked again next run, not a record that fails once typed)."""
    kinds = _types(node)
    if "integer" in kinds and isinstance(value, int) and not isinstance(value, bool):
        if not _INT64[0] <= value <= _INT64[1]:
            return f"{path or '(the reply)'}: {value} is beyond a 64-bit integer"
    elif isinstance(value, dict) and isinstance(node.get("properties"), Mapping):
        for key, sub in node["properties"].items():
            found = _beyond_int64(value.get(key), sub, _join(path, key))
            if found:
                return found
    elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
        for position, item in enumerate(value):
            found = _beyond_int64(item, node["items"], f"{path}[{position}]")
            if found:
                return found
    return None


_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)


def _parse_reply(text: Any) -> dict[str, Any] | str:
    if not isinstance(text, str) or not text.strip():
        return "the reply is empty, not a JSON object"
    body = text.strip()
    fenced = _FENCE.search(body)
    if not body.startswith(("{", "[")) and fenced is not None:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        return f"the reply is not valid JSON ({exc}): {_short(text)}"
    if not isinstance(value, dict):
        return f"the reply is JSON but not an object: {_short(value)}"
    return value


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; json.loads accepts them, and NaN would read as a missing value
    raise ValueError(f"{name} is not a JSON number")


def _describe(error: Any) -> str:
    """One jsonschema error as "field.path: problem", with missing and unexpected keys named as fields."""
    path = _path(error.absolute_path)
    if error.validator == "required":
        missing = re.match(r"'(.*)' is a required property", error.message)
        key = missing.group(1) if missing else "?"
        return f"{_join(path, key)}: missing (a required field)"
    if error.validator == "additionalProperties":
        found = re.findall(r"'([^']*)'", error.message.split("(", 1)[-1])
        return "; ".join(f"{_join(path, key)}: not a field of the schema" for key in found) or error.message
    return f"{path or '(the reply)'}: {error.message}"


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------------------------------------------
# response_format


def response_format(schema: Any, name: str | None = None) -> dict[str, Any]:
    """The `response_format` body of `POST /v3/chat/completions` for this schema (any of the three forms):
    `{"type": "json_schema", "json_schema": {"name": ..., "strict": true, "schema": {...}}}`."""
    strict = normalize_schema(schema, name=name)
    return {"type": "json_schema", "json_schema": {"name": strict["title"], "strict": True, "schema": strict}}
