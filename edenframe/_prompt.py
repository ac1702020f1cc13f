"""`df.eden.prompt`: a `str.format` template over columns, sent to an LLM per distinct rendered prompt.

Everything is checked before a request is sent: the template (it names columns, and only columns), the schema
(`_prompt_schema`), the providers (LLM models, "provider/model") and the API (v3: prompts are chat completions,
which v2 has not). Then each row's prompt is rendered (a row missing any named value is skipped) and the rendered
prompts run through the ordinary pipeline as the input column of the dynamic "llm/prompt" entry
(`_prompt_task`): identical prompts are sent once and cached, and every run option works as for every method.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._config import api_of, current_settings, parse_providers
from ._errors import RowErrors, ValidationError
from ._pipeline import run_frame
from ._pipeline._plan import is_blank
from ._prompt_schema import normalize_schema
from ._prompt_task import PROMPT_METHOD, default_llm, llm_providers, prompt_entry
from ._transport.local import LOCAL
from ._transport.v3_universal import is_llm_model
from ._validate import FIX_ENCODING, close_matches, first_unencodable, utf8_guaranteed

V3_BASE_URL = "https://api.edenai.run/v3"
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class _Field:
    """One replacement field of the template: the column it names, and how its value is formatted."""

    column: Any
    conversion: str | None
    spec: str


@dataclass(frozen=True)
class Template:
    """A parsed prompt template: literal texts around replacement fields (`literals` has one more element)."""

    text: str
    literals: tuple[str, ...]
    fields: tuple[_Field, ...]

    @property
    def columns(self) -> list[Any]:
        return list(dict.fromkeys(f.column for f in self.fields))


_HOW = "name columns in braces, e.g. 'Rate this review of {product}: {review}' (write {{ and }} for literal braces)"


def parse_template(template: Any, columns: pd.Index) -> Template:
    """The template, checked against the frame's columns: a ValidationError naming the problem and the fix for an
    unknown column (with close matches), a positional field, attribute or index access, a nested field in a format
    spec, a malformed template, or a template that names no column."""
    if not isinstance(template, str):
        raise ValidationError(f"template must be a string; {_HOW}. Got {type(template).__name__}")
    try:
        template.encode("utf-8")
    except UnicodeEncodeError as exc:  # else the request would fail to encode, far from its cause
        raise ValidationError(
            f"the template holds {template[exc.start]!r} at character {exc.start}, a lone surrogate that UTF-8 "
            f"cannot encode: replace it first, e.g. template.encode('utf-8', 'replace').decode('utf-8')"
        ) from None
    labels = {str(c): c for c in columns}
    literals: list[str] = []
    fields: list[_Field] = []
    pending = ""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:  # "Single '}' encountered", "expected '}' before end of string"
        raise ValidationError(f"the template {template!r} is malformed ({exc}): {_HOW}") from None
    for literal, name, spec, conversion in parts:
        pending += literal
        if name is None:
            continue
        if name == "" or name.isdigit():
            shown = "{" + name + "}"
            raise ValidationError(
                f"the template uses the positional field {shown}: fields name columns, e.g. "
                f"{{{next(iter(labels), 'review')}}}"
                + (f" (to use a column labelled {name}, rename it first: df.rename(columns=str))" if name else "")
            )
        if name not in labels:
            if "." in name or "[" in name:
                raise ValidationError(
                    f"the template field {{{name}}} uses attribute or index access, which prompts do not take: "
                    "name a column alone (rename a column whose label holds '.' or '[' first)"
                )
            raise ValidationError(
                f"the template names the column {name!r}, which is not in the DataFrame."
                f"{close_matches(name, labels)} Columns: {list(labels)[:20]}"
            )
        if isinstance(columns.get_loc(labels[name]), (slice, np.ndarray)):
            raise ValidationError(f"column label {name!r} is duplicated in the DataFrame; make the labels unique first")
        if "{" in spec:
            raise ValidationError(
                f"the template field {{{name}:{spec}}} has a nested field in its format spec: write the spec out, "
                "e.g. {price:.2f}"
            )
        literals.append(pending)
        pending = ""
        fields.append(_Field(labels[name], conversion, spec))
    literals.append(pending)
    if not fields:
        raise ValidationError(
            f"the template {template!r} names no column, so every row would get the same prompt: {_HOW}"
        )
    return Template(template, tuple(literals), tuple(fields))


def render(template: Template, frame: pd.DataFrame) -> np.ndarray:
    """Each row's prompt (an object array; None for a row missing a named value: NA, empty or blank). Values
    appear verbatim: strings as they are, other values as `format` gives them (with the field's spec)."""
    rows = len(frame)
    present = np.ones(rows, dtype=bool)
    for column in template.columns:
        values = frame[column]
        raw = values.to_numpy(dtype=object)
        keep = ~values.isna().to_numpy(dtype=bool)
        keep[keep] = [not (isinstance(v, str) and is_blank(v)) for v in raw[keep]]
        present &= keep
        if not utf8_guaranteed(values.dtype):
            _check_encodable(raw[keep], values.index[keep], column)
    texts: list[list[str]] = []
    for field in template.fields:
        raw = frame[field.column].to_numpy(dtype=object)[present]
        if field.conversion is None and not field.spec:
            texts.append([v if isinstance(v, str) else format(v) for v in raw])
            continue
        try:
            texts.append(
                [_FORMATTER.format_field(_FORMATTER.convert_field(v, field.conversion), field.spec) for v in raw]
            )
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"the template field {{{field.column}{'!' + field.conversion if field.conversion else ''}:"
                f"{field.spec}}} cannot format the values of column {field.column!r}: {exc}"
            ) from None
    literals = template.literals
    rendered = np.full(rows, None, dtype=object)
    pieces = [None] * (2 * len(literals) - 1)
    out = []
    for values in zip(*texts, strict=True):
        pieces[0::2], pieces[1::2] = literals, values
        out.append("".join(pieces))  # type: ignore[arg-type]
    rendered[present] = out
    return rendered


def _check_encodable(values: np.ndarray, index: pd.Index, column: Any) -> None:
    found = first_unencodable(values)
    if found is None:
        return
    position, offset, char = found
    raise ValidationError(
        f"column {column!r} holds text that cannot be sent at row {index[position]!r}: {char!r} at character "
        f"{offset} is a lone surrogate, which UTF-8 cannot encode. Nothing was sent. Replace such characters first, "
        f"e.g. df[{column!r}] = df[{column!r}]{FIX_ENCODING}"
    )


def _check_llms(option: str, given: Any) -> tuple[str, ...]:
    """`providers` / `fallback_providers` as LLM models "provider/model", or a ValidationError naming the form."""
    models = parse_providers(given)
    for model in models:
        if model != LOCAL and is_llm_model(model):
            continue
        name, slash, _ = model.partition("/")
        if model == LOCAL:
            what = "'local' has no LLM (prompts run on Eden AI only)"
        elif not slash and default_llm(name):
            what = f"{model!r} is a provider, not a model: name one of its models, e.g. '{name}/{default_llm(name)}'"
        else:
            what = f"{model!r} is not an LLM model"
        hint = close_matches(name, llm_providers()) if not slash and model != LOCAL and not default_llm(name) else ""
        raise ValidationError(
            f"{option}: {what}. Prompts take LLM models as 'provider/model', e.g. {option}='openai/gpt-4o-mini' "
            f"(several give side-by-side columns: 'openai/gpt-4o-mini,google/gemini-2.5-flash').{hint}"
        )
    return models


def _check_v3(options: dict[str, Any]) -> None:
    settings = current_settings(api_key=options.get("api_key"), base_url=options.get("base_url"))
    if api_of(settings.base_url) != "v3":
        raise ValidationError(
            f"prompts run on Eden AI's v3 API (POST /v3/chat/completions), and the base URL {settings.base_url!r} is "
            f'its {api_of(settings.base_url)} API: call edenframe.configure(base_url="{V3_BASE_URL}") '
            f'(or pass base_url="{V3_BASE_URL}" to this call)'
        )


def prepare_prompt(
    frame: pd.DataFrame,
    template: Any,
    schema: Any,
    providers: Any,
    system: Any,
    options: dict[str, Any],
) -> tuple[pd.DataFrame, Any, Any, dict[str, Any]]:
    """Every prompt-specific check, then the frame with the rendered prompts as a new column (its label), the
    entry and the options for `run_frame`."""
    parsed = parse_template(template, frame.columns)
    normalized = normalize_schema(schema) if schema is not None else None
    entry = prompt_entry(normalized)
    if "column" in options:
        raise ValidationError("prompt() takes no column: the template names the columns it reads")
    if providers is None:
        providers = current_settings().providers
    if providers is None:
        raise ValidationError(
            "prompt() needs an LLM model: providers='openai/gpt-4o-mini' (any 'provider/model' Eden AI serves)"
        )
    run_options = {**options, "providers": _check_llms("providers", providers)}
    if options.get("fallback_providers") is not None:
        run_options["fallback_providers"] = _check_llms("fallback_providers", options["fallback_providers"])
    _check_v3(options)
    if system is not None:
        if not isinstance(system, str) or not system.strip():
            raise ValidationError(f"system must be a non-empty string (the system message), not {system!r}")
        run_options["system"] = system
    if normalized is not None:
        run_options["schema"] = normalized
    label = _free_label(frame.columns)
    rendered = render(parsed, frame)
    work = frame.copy(deep=False)
    work[label] = rendered
    return work, label, entry, run_options


def _free_label(columns: pd.Index) -> str:
    label = "rendered prompt"
    while label in columns:
        label = f"_{label}"
    return label


async def prompt_frame(
    frame: pd.DataFrame, template: Any, schema: Any, providers: Any, system: Any, options: dict[str, Any]
) -> pd.DataFrame:
    """The async body of `df.eden.prompt`: the frame's columns, then the new ones (no rendered-prompt column)."""
    work, label, entry, run_options = prepare_prompt(frame, template, schema, providers, system, options)
    try:
        out = await run_frame(work, entry, label, run_options, PROMPT_METHOD)
    except RowErrors as exc:
        exc.result = _without(exc.result, label)
        raise
    if label not in out.columns:
        return out  # dry_run: the planned requests, not the frame
    return _without(out, label)


def _without(out: pd.DataFrame, label: str) -> pd.DataFrame:
    attrs = out.attrs
    out = out.drop(columns=[label])
    out.attrs = attrs
    return out
