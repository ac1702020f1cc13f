"""The catalog entries of v3's own subfeatures (speech to text, OCR tables, AI-text detection, ...), derived from
`_v3_models.V3_SUBFEATURES` so their fields are written down once.

A v3 subfeature becomes an entry when it is new in v3 (no v2 catalog path maps to it) and names its method: its
first required input is the row's value (`text`, or `file`: a URL sent as it is, a local path or bytes uploaded by
the transport), every other input is a parameter, its output type gives the columns, and its documented models
(`V3_MODELS`) the providers. The entry's path is its v3 path, so the v3 transport routes it as it is (`v3_route`).
"""

from __future__ import annotations

from .._schema import STR, Struct
from .._schema import Mapping as FreeForm
from .._v3_models import V3_SUBFEATURES, V3Field, V3Subfeature, models_of, v2_paths_of
from ._model import Media, Param, Subfeature

MEDIA_KINDS = ("image", "audio", "document")


def v3_entries() -> tuple[Subfeature, ...]:
    """An entry per subfeature new in v3 with a method, in `V3_SUBFEATURES` order."""
    return tuple(
        entry_of(sub) for sub in V3_SUBFEATURES.values() if sub.method is not None and not v2_paths_of(sub.path)
    )


def entry_of(sub: V3Subfeature) -> Subfeature:
    assert sub.output is not None and sub.method is not None, f"{sub.path}: an entry needs an output and a method"
    main = next(f for f in sub.inputs if f.required)
    if any(f.required for f in sub.inputs if f is not main):
        raise ValueError(f"{sub.path}: two required inputs (one row value per request only)")
    return Subfeature(
        path=sub.path,
        method=sub.method,
        summary=sub.summary,
        input_field=main.name,
        input_kind="file" if main.file else "text",
        output=sub.output,
        params=tuple(_param(f) for f in sub.inputs if f is not main),
        providers=tuple(dict.fromkeys(m.provider for m in models_of(sub.path))),
        media=media_of(sub.output),
        notes=_notes(sub),
        v3_only=True,
    )


def media_of(output: Struct) -> Media | None:
    """Where the output carries a file: `{kind}_resource_url` with its base64 beside it (`{kind}_b64` in v3's
    background removal, `{kind}` as on v2), so `save_to=` decodes it, or downloads the URL when no base64 came."""
    for kind in MEDIA_KINDS:
        url = f"{kind}_resource_url"
        if url in output.names:
            payload = next((p for p in (f"{kind}_b64", kind) if p in output.names), None)
            if payload is not None:
                return Media(payload=payload, url=url, kind=kind)  # type: ignore[arg-type]
    return None


def _param(f: V3Field) -> Param:
    return Param(
        f.name,
        f.type if f.type is not None else FreeForm(),
        required=f.required,
        nullable=not f.required,  # None: not sent
        description=f.description or f.name.replace("_", " "),
        # checked like the v2 language parameters: a code such as 'en' or 'pt-BR'
        format="language" if f.name.endswith("language") and f.type == STR else None,
    )


def _notes(sub: V3Subfeature) -> str:
    notes = "New in Eden AI's v3 API: needs a base URL ending /v3."
    if sub.mode == "async":
        notes += (
            " Runs as an async job on Eden AI: launched, journaled and polled, so a rerun after a crash collects "
            "the jobs already paid for."
        )
    return notes + (f" {sub.notes}" if sub.notes else "")
