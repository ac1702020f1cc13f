"""mkdocs hook: replaces `<!-- edenframe:... -->` markers in the docs with tables generated from the code.

Markers:

* `<!-- edenframe:subfeatures FEATURE -->`: for every subfeature of FEATURE (text, translation, image, ocr, audio),
  the method, its parameters and its output columns with their dtypes, from `edenframe.all_subfeatures()`.
* `<!-- edenframe:methods -->`: one row per subfeature: feature, method, API path, offline or not.
* `<!-- edenframe:local -->`: the subfeatures the offline `local` provider implements, with the pip extra they need.
* `<!-- edenframe:settings -->`: the settings `edenframe.configure()` accepts, with defaults and the source comment.

Nothing here is written by hand: a subfeature, a parameter or a setting added to the code shows up in the docs at
the next build, and the build fails if a subfeature is on no page.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from typing import Any

import pandas as pd

import edenframe
from edenframe._catalog import MISSING, Param, Subfeature
from edenframe._schema import Embedding, Enum, ListOf, Mapping, Scalar, Struct

FEATURES = ("text", "translation", "image", "ocr", "audio")
_MARKER = re.compile(r"<!--\s*edenframe:(?P<name>[a-z-]+)(?:\s+(?P<arg>[a-z_]+))?\s*-->")
_rendered: set[str] = set()


# ---------------------------------------------------------------------------------------------------------------
# mkdocs events


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return _MARKER.sub(lambda match: render(match["name"], match["arg"], page.file.src_uri), markdown)


def on_post_build(config: Any) -> None:
    missing = [entry.path for entry in edenframe.all_subfeatures() if entry.path not in _rendered]
    _rendered.clear()
    if missing:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"gen_tables: these subfeatures are on no docs page: {missing}")


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def render(name: str, arg: str | None, where: str = "") -> str:
    """The Markdown for one marker."""
    if name == "subfeatures":
        if arg not in FEATURES:
            raise ValueError(f"{where}: <!-- edenframe:subfeatures {arg} -->: the feature must be one of {FEATURES}")
        entries = [entry for entry in edenframe.all_subfeatures() if entry.feature == arg]
        _rendered.update(entry.path for entry in entries)
        return "\n\n".join(subfeature_section(entry) for entry in entries)
    if name == "methods":
        return methods_table()
    if name == "local":
        return local_table()
    if name == "settings":
        return settings_table()
    raise ValueError(f"{where}: unknown marker <!-- edenframe:{name} -->")


def subfeature_section(entry: Subfeature) -> str:
    """A heading, the call, the parameters and the output columns of one subfeature."""
    lines = [f"### `{entry.method}`", "", f"{entry.summary} Eden AI subfeature `{entry.path}`.", ""]
    lines += ["```python", signature(entry), "```", ""]
    facts = [f"Input column: {_input_label(entry)}."]
    if entry.local:
        facts.append("Runs offline: `local` is the default provider (see [Local provider](../local.md)).")
    else:
        facts.append("No offline implementation: name the provider(s) with `providers=`.")
    if entry.providers:
        facts.append(f"Providers in Eden AI's schema: {', '.join(f'`{p}`' for p in entry.providers)}.")
    if entry.pack is not None and entry.pack.max_items > 1:
        facts.append(f"Up to {entry.pack.max_items} rows are packed into one request.")
    if entry.max_input_chars:
        facts.append(f"Inputs longer than {entry.max_input_chars} characters are rejected by the API.")
    media = getattr(entry, "media", None)
    if media is not None:
        facts.append(
            f"`save_to=DIR` writes each returned {media.kind} file as `DIR/<prefix>_<provider>/<row label>.<ext>` "
            "and adds a `_path` column; a file that cannot be saved is a row error."
        )
    if entry.notes:
        facts.append(entry.notes)
    lines += [" ".join(facts), ""]

    if entry.params:
        lines += ["| parameter | type | default | description |", "|---|---|---|---|"]
        lines += [_param_row(p) for p in entry.params]
    else:
        lines.append("No parameters of its own; the [common options](../getting-started.md#common-options) apply.")
    lines += ["", "Output columns with one provider (with several, `{provider}_` follows the prefix):", ""]
    lines += ["| column | dtype |", "|---|---|"]
    for field, t in entry.row_output.fields:
        lines.append(f"| `{entry.method}_{field}` | {_dtype_label(t.dtype())} |")
    lines.append(f"| `{entry.method}_cost` | `float64`: what the provider charged for the row's request |")
    lines.append(f"| `{entry.method}_error` | `string`: NA when the row succeeded |")
    return "\n".join(lines)


def signature(entry: Subfeature) -> str:
    parts = ["column", "*", "providers=None"]
    for p in entry.params:
        if p.required:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={None if p.default is MISSING else p.default!r}")
    parts.append("**options")
    return f"out = df.eden.{entry.method}({', '.join(parts)})"


def _input_label(entry: Subfeature) -> str:
    if entry.input_kind == "file":
        return f"file URLs (sent as `{entry.input_field}`), local paths or bytes (uploaded)"
    if entry.input_kind == "texts":
        return f"text, one row per item of the request's `{entry.input_field}` list"
    return f"text (sent as `{entry.input_field}`)"


def _param_row(p: Param) -> str:
    kind = _type_label(p.type)
    if p.minimum is not None or p.maximum is not None:
        low = "" if p.minimum is None else f"{p.minimum:g}"
        high = "" if p.maximum is None else f"{p.maximum:g}"
        kind += f", {low}..{high}"
    if p.required:
        default = "required"
    elif p.default is MISSING:
        default = "`None`"
    else:
        default = f"`{p.default!r}`"
    return f"| `{p.name}` | {kind} | {default} | {_cell(p.description)} |"


def _type_label(t: Any) -> str:
    if isinstance(t, Enum):
        return "one of " + ", ".join(f"`{v}`" if v else '`""`' for v in t.values)
    if isinstance(t, Scalar):
        return {"string": "string", "float": "number", "int": "integer", "bool": "boolean"}[t.kind]
    if isinstance(t, ListOf):
        return f"list of {_type_label(t.item)}"
    if isinstance(t, Struct):
        return "object with " + ", ".join(f"`{name}`" for name in t.names)
    if isinstance(t, Mapping):
        return "object"
    if isinstance(t, Embedding):
        return "list of numbers"
    return str(t)


def _dtype_label(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "`category`: " + ", ".join(f"`{c}`" for c in dtype.categories)
    if isinstance(dtype, pd.ArrowDtype):
        return f"`{dtype.pyarrow_dtype}`"
    return f"`{dtype}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def methods_table() -> str:
    lines = ["| feature | method | Eden AI subfeature | offline (`local`) |", "|---|---|---|---|"]
    for entry in edenframe.all_subfeatures():
        page = f"features/{entry.feature}.md#{entry.method}"
        lines.append(
            f"| {entry.feature} | [`{entry.method}`]({page}) | `{entry.path}` | {'yes' if entry.local else ''} |"
        )
    return "\n".join(lines)


def local_table() -> str:
    from edenframe._local import IMPLEMENTATIONS

    by_path = {entry.path: entry for entry in edenframe.all_subfeatures()}
    lines = ["| method | subfeature | extra to install |", "|---|---|---|"]
    for path, (_, extra) in IMPLEMENTATIONS.items():
        entry = by_path.get(path)
        method = f"`{entry.method}`" if entry is not None else ""
        lines.append(f'| {method} | `{path}` | `pip install "edenframe[{extra}]"` |')
    return "\n".join(lines)


# Meanings for settings whose line in the source carries no comment.
_SETTING_MEANINGS = {
    "api_key": "your Eden AI API key; never shown in a repr, a log line or an error message",
    "base_url": "the root of Eden AI's v2 API; point it at `EdenEmulator` in tests",
    "providers": "providers used when a call does not name any",
    "connect_timeout": "seconds to open a connection",
    "backoff_max": "longest delay between two retries, in seconds",
    "poll_max_interval": "longest wait between two polls of a running job, in seconds",
}


def settings_table() -> str:
    from edenframe._config import Settings

    comments = {**_SETTING_MEANINGS, **{k: v for k, v in _field_comments(Settings).items() if v}}
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for field in dataclasses.fields(Settings):
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        lines.append(f"| `{field.name}` | `{default!r}` | {_cell(comments.get(field.name, ''))} |")
    return "\n".join(lines)


def _field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in the class source: comment lines right above it, then the comment ending its line."""
    lines = inspect.getsource(cls).splitlines()
    tree = ast.parse("\n".join(lines))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    fields = {
        node.lineno: node.target.id
        for node in body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    comments: dict[str, str] = {}
    above: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        if number in fields:
            _, found, trailing = line.partition("  # ")
            comments[fields[number]] = " ".join([*above, trailing.strip() if found else ""]).strip()
        above = []
    return comments
