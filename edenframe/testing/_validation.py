"""Request validation (DRF-style messages, like Eden AI's): one sync body or batch request item."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from .._catalog import Subfeature
from .._schema import Problem
from .._validate import param_problem
from ._synthetic import COMMON_OPTIONS
from ._wire import _type_name

_URL = re.compile(r"^https?://\S+$")
_BOOL_OPTIONS = ("response_as_dict", "attributes_as_list", "show_original_response", "show_base_64")


@dataclass(frozen=True)
class _Provider:
    spec: str  # as requested: "openai/gpt-4o"
    name: str  # "openai"
    key: str  # the response key


def _drf_message(problem: Problem) -> str:
    """A `Problem` worded as Eden AI's (Django REST framework's) validation messages."""
    value, code = problem.value, problem.code
    if code == "choice":
        message = f'"{value}" is not a valid choice.'
    elif code == "list":
        message = f'Expected a list of items but got type "{_type_name(value)}".'
    elif code == "object":
        message = f'Expected a dictionary of items but got type "{_type_name(value)}".'
    elif code == "unknown_keys":
        message = f"Unknown keys {list(problem.detail)}."
    elif code == "required":
        message = f"Missing keys {list(problem.detail)}: this field is required."
    elif code == "minimum":
        message = f"Ensure this value is greater than or equal to {problem.expected.rsplit(' ', 1)[-1]}."
    elif code == "maximum":
        message = f"Ensure this value is less than or equal to {problem.expected.rsplit(' ', 1)[-1]}."
    else:
        message = _DRF_MESSAGES.get(code, problem.expected)
    prefix = "".join(f"Item {step}: " if isinstance(step, int) else f"{step}: " for step in problem.path)
    return prefix + message


_DRF_MESSAGES = {
    "string": "Not a valid string.",
    "number": "A valid number is required.",
    "finite": "A valid number is required.",
    "integer": "A valid integer is required.",
    "boolean": "Must be a valid boolean.",
    "null": "This field may not be null.",
}


def _provider_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = [piece for v in value for piece in v.split(",")]
    else:
        return None
    return [p.strip() for p in parts if p.strip()]


def _known_providers(
    entry: Subfeature, extra: Collection[str] = (), listed: Collection[str] | None = None
) -> list[str]:
    """The providers served for `entry`: Eden AI's (`listed`, else the catalog's), `synthetic`, `extra`, `local`."""
    from .._local import has_local

    names = [*(entry.providers if listed is None else listed), "synthetic", *extra]
    names = list(dict.fromkeys(names))
    if has_local(entry.path):
        names.append("local")
    return names


def _parse_providers(
    entry: Subfeature,
    body: dict[str, Any],
    errors: dict[str, list[str]],
    extra: Collection[str] = (),
    listed: Collection[str] | None = None,
) -> list[_Provider]:
    if "providers" not in body:
        errors["providers"] = ["This field is required."]
        return []
    specs = _provider_list(body["providers"])
    if specs is None:
        errors["providers"] = ["Expected a comma-separated string or a list of strings."]
        return []
    if not specs:
        errors["providers"] = ["This field may not be blank."]
        return []
    known = _known_providers(entry, extra, listed)
    bad = [s for s in specs if s.split("/", 1)[0].strip() not in known]
    if bad:
        hint = ""
        if any(s.split("/", 1)[0].strip() == "local" for s in bad):
            hint = f" The 'local' provider has no offline implementation of {entry.path}."
        errors["providers"] = [
            f"Invalid provider(s) for {entry.path}: {', '.join(bad)}.{hint} Available providers: {', '.join(known)}."
        ]
        return []
    providers: list[_Provider] = []
    used: set[str] = set()
    for spec in specs:
        name = spec.split("/", 1)[0].strip()
        key = name if name not in used else spec  # two models of one provider: the second keyed by its full name
        used.add(key)
        providers.append(_Provider(spec=spec, name=name, key=key))
    return providers


def _check_input(entry: Subfeature, body: dict[str, Any], errors: dict[str, list[str]]) -> None:
    name = entry.input_field
    value = body.get(name)
    if entry.input_kind == "file":
        if value is None:
            if isinstance(body.get("file"), (bytes, bytearray)):
                return
            errors[name] = ["This field is required."]
        elif not isinstance(value, str) or not _URL.match(value):
            errors[name] = ["Enter a valid URL."]
        return
    if name not in body or value is None:
        errors[name] = ["This field is required." if name not in body else "This field may not be null."]
        return
    limit = entry.max_input_chars
    if entry.input_kind == "texts":
        if not isinstance(value, list):
            errors[name] = [f'Expected a list of items but got type "{_type_name(value)}".']
        elif not value:
            errors[name] = ["This list may not be empty."]
        elif entry.pack is not None and len(value) > entry.pack.max_items:
            errors[name] = [f"Ensure this field has no more than {entry.pack.max_items} elements."]
        elif not all(isinstance(v, str) for v in value):
            errors[name] = ["Each item must be a string."]
        elif any(not v.strip() for v in value):
            errors[name] = ["Items may not be blank."]
        elif limit is not None and any(len(v) > limit for v in value):
            errors[name] = [f"Ensure each item has no more than {limit} characters."]
        return
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
    elif not value.strip():
        errors[name] = ["This field may not be blank."]
    elif limit is not None and len(value) > limit:
        errors[name] = [f"Ensure this field has no more than {limit} characters."]


def validate_item(
    entry: Subfeature,
    body: Any,
    *,
    batch: bool = False,
    extra_providers: Collection[str] = (),
    listed_providers: Collection[str] | None = None,
) -> tuple[dict[str, list[str]], list[_Provider]]:
    """Validate one sync body or batch request item: (errors per field, the providers asked for).

    `extra_providers` are accepted besides the catalog's (the emulator's canned responses); `listed_providers`
    replaces the catalog's list (the emulator's `providers=` option)."""
    if not isinstance(body, dict):
        return {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_type_name(body)}."]}, []
    errors: dict[str, list[str]] = {}
    providers = _parse_providers(entry, body, errors, extra_providers, listed_providers)
    _check_input(entry, body, errors)

    if "fallback_providers" in body and body["fallback_providers"] not in (None, "", []):
        fallbacks = _provider_list(body["fallback_providers"])
        known = _known_providers(entry, extra_providers, listed_providers)
        if fallbacks is None:
            errors["fallback_providers"] = ["Expected a comma-separated string or a list of strings."]
        elif len(fallbacks) > 5:
            errors["fallback_providers"] = ["Ensure this field has no more than 5 elements."]
        elif any(f.split("/", 1)[0].strip() not in known for f in fallbacks):
            errors["fallback_providers"] = [f"Invalid provider(s). Available providers: {', '.join(known)}."]
        elif len(providers) > 1:
            errors["fallback_providers"] = ["Fallback providers can only be used with a single provider in providers."]
    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        parsed: Any = None
        if isinstance(settings, str):
            with contextlib.suppress(ValueError):
                parsed = json.loads(settings) if settings.strip() else {}
        if not isinstance(parsed, dict):
            errors["settings"] = ['Must be a JSON object such as {"google": "model"}.']
    for option in _BOOL_OPTIONS:
        if option in body and not isinstance(body[option], bool):
            errors[option] = ["Must be a valid boolean."]

    params = {p.name: p for p in entry.params}
    for p in entry.params:
        if p.name in body:
            problem = param_problem(p, body[p.name], formats=False)
            if problem is not None:
                errors[p.name] = [_drf_message(problem)]
        elif p.required:
            errors[p.name] = ["This field is required."]
    allowed = {*COMMON_OPTIONS, entry.input_field, *params}
    if entry.input_kind == "file":
        allowed.add("file")
    if batch:
        allowed.add("name")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 1023):
            errors["name"] = ["Ensure this field is a string of no more than 1023 characters."]
    for key in body:
        if key not in allowed:
            accepted = ", ".join([entry.input_field, *params]) or entry.input_field
            errors[key] = [f"Unknown parameter for {entry.path}. Accepted: {accepted} and the common options."]
    return errors, providers


def _coerce_form(entry: Subfeature, form: dict[str, Any]) -> dict[str, Any]:
    """Multipart fields arrive as strings: give options and parameters their types (each type parses its text)."""
    params = {p.name: p for p in entry.params}
    body: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, str) and key in _BOOL_OPTIONS and value.lower() in ("true", "false"):
            body[key] = value.lower() == "true"
        elif isinstance(value, str) and key == "settings":
            try:
                body[key] = json.loads(value) if value.strip() else None
            except ValueError:
                body[key] = value
        elif isinstance(value, str) and key in params:
            try:
                body[key] = params[key].type.parse(value)
            except ValueError:  # blank is no value; other text is left for the parameter's check to name
                body[key] = value if value.strip() else None
        else:
            body[key] = value
    return body
