"""Build `edenframe/data/prices.json`, the shipped snapshot of Eden AI's price tables, from Eden AI's own specs.

Maintainer tool, not run by the tests:

    python tools/build_prices.py \\
        --full   ../shared/eden-api/specs/edenai-v2-openapi.full.no-examples.2026-05.json \\
        --text   ../shared/eden-api/specs/edenai-v2-text-features.openapi.with-examples.2024-09.json \\
        --wire-format ../shared/eden-api/wire-format.md \\
        [--output edenframe/data/prices.json]

For every catalog subfeature the price table comes from the first source that has it:

1. `--full`: the 2026-05 full v2 OpenAPI spec. Each sync path's `description` holds the complete markdown table
   "Available Providers" (`|Provider|Model|Version|[Resolution|]Price|Billing unit|`) and a "Default Models" table.
2. `--text`: the 2024-09 "Text Features" spec, same table format, for the six text subfeatures that the 2026
   schema no longer has (syntax_analysis, generation, custom_classification, custom_named_entity_recognition,
   question_answer, search).
3. `--wire-format`: the rows of wire-format.md section 6.1, for ocr/invoice_parser and ocr/receipt_parser, whose
   only price table is the 2025-01 OCR spec summarized there (a row cut short with "+N more rows" is refused).

Rows are copied verbatim (prices are Eden AI's numbers, typos included); nothing is invented. A subfeature found in
none of the sources is listed in the output's `unpriced`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "edenframe" / "data" / "prices.json"

# "1.0 (per 1000000 char)", "free"
_PRICE = re.compile(r"^(?P<price>[0-9.eE+-]+) \(per (?P<per>\d+) (?P<unit>[a-z_]+)\)$")
# "300 char", "None image", "-"
_BILLING = re.compile(r"^(?P<min>\d+|None) (?P<unit>[a-z_]+)$")
# wire-format 6.1 row item: "google: 0.01 (per 1 page) (10 page)", "openai 1024x1024: 0.034 (per 1 image)"
_WIRE_ITEM = re.compile(
    r"^(?P<key>[^\s:]+)(?: (?P<res>\d+x\d+))?: "
    r"(?:(?P<free>free) \(-\)|(?P<price>[0-9.eE+-]+) \(per (?P<per>\d+) (?P<unit>[a-z_]+)\)"
    r"(?: \((?P<min>\d+|None) (?P<unit2>[a-z_]+)\))?)$"
)

NOTES = [
    "Each price reads: `price` USD per `per` units of `unit` (Eden AI's price_unit_quantity / price_unit_type).",
    "`min_units` is Eden AI's 'Billing unit' column (min_price_quantity in /v2/info/provider_subfeatures/): "
    "edenframe reads it as the block in which one request's usage is billed. A request's quantity is rounded UP "
    "to a whole number of blocks, at least one: billed = max(1, ceil(quantity / min_units)) * min_units, "
    "cost = billed * price / per. So '(300 char)' bills a 120-char text as 300 chars and a 450-char text as 600, "
    "and '(1 char)' bills exactly. This is the providers' own rule for 1000-char units (Google NL, Microsoft "
    "text records), 10000-char units (IBM NLU) and 100-char units (Google moderation); for Amazon Comprehend "
    "(100-char units, 300-char minimum) it over-estimates by less than 200 chars. null min_units "
    "(Eden prints 'None') means no rounding.",
    "Currency: Eden AI bills in USD credits; the tables do not name a currency.",
    "Keys are 'provider' (Eden AI's model column '-', model_name 'default') or 'provider/model' exactly as Eden AI "
    "spells the model. `defaults` maps a provider to the model Eden AI uses when none is named ('Default Models' "
    "table); edenframe falls back to it when a provider has no model-less row.",
    "image/generation: when Eden AI prices a provider[/model] per resolution, its value is "
    "{'resolutions': {'1024x1024': {price...}, ...}} instead of one price; rows with resolution '-' are plain prices.",
    "A 'free' row is stored as price 0.0 per 1 'free'.",
    "Units edenframe cannot predict before a call (seconde, exec_time, minute, hour, size) are kept verbatim; "
    "estimate_cost returns None for them.",
]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _name(cell: str) -> str | None:
    """'**gpt-4o**' -> 'gpt-4o'; '`1024x1024`' -> '1024x1024'; '-' -> None."""
    value = cell.strip().strip("*`").strip()
    return None if value in ("", "-") else value


def _price(price_cell: str, billing_cell: str, where: str) -> dict[str, Any]:
    if price_cell == "free":
        return {"price": 0.0, "per": 1, "unit": "free", "min_units": None}
    m = _PRICE.match(price_cell)
    b = _BILLING.match(billing_cell)
    if m is None or b is None:
        raise ValueError(f"{where}: cannot read price {price_cell!r} / billing unit {billing_cell!r}")
    if b["unit"] != m["unit"]:
        raise ValueError(f"{where}: price unit {m['unit']!r} differs from billing unit {b['unit']!r}")
    return {
        "price": float(m["price"]),
        "per": int(m["per"]),
        "unit": m["unit"],
        "min_units": None if b["min"] == "None" else int(b["min"]),
    }


def _add(table: dict[str, Any], key: str, resolution: str | None, price: dict[str, Any], where: str) -> None:
    current = table.get(key)
    if resolution is None:
        if current is None:
            table[key] = price
        elif current != price:
            raise ValueError(f"{where}: {key} priced twice differently: {current} vs {price}")
        return
    if current is None:
        current = table[key] = {"resolutions": {}}
    if "resolutions" not in current:
        raise ValueError(f"{where}: {key} has both a resolution-free price and per-resolution prices")
    known = current["resolutions"].get(resolution)
    if known is not None and known != price:
        raise ValueError(f"{where}: {key} {resolution} priced twice differently: {known} vs {price}")
    current["resolutions"][resolution] = price


def parse_description(description: str, where: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """(prices by provider[/model], default model by provider) from an endpoint description, None without table."""
    block = re.search(r"Available Providers</strong></summary>(.*?)</details>", description, re.S)
    if block is None:
        return None
    lines = [line for line in block.group(1).splitlines() if line.strip().startswith("|")]
    header = [h.lower() for h in _cells(lines[0])]
    col = {name: header.index(name) for name in header}
    table: dict[str, Any] = {}
    for line in lines[2:]:
        cells = _cells(line)
        if len(cells) != len(header):
            raise ValueError(f"{where}: malformed row {line!r}")
        provider = _name(cells[col["provider"]])
        if provider is None:
            raise ValueError(f"{where}: row without provider {line!r}")
        model = _name(cells[col["model"]]) if "model" in col else None
        resolution = _name(cells[col["resolution"]]) if "resolution" in col else None
        key = provider if model is None else f"{provider}/{model}"
        price = _price(cells[col["price"]], cells[col["billing unit"]], f"{where} {key}")
        _add(table, key, resolution, price, where)
    defaults: dict[str, str] = {}
    block = re.search(r"Default Models</summary>(.*?)</details>", description, re.S)
    if block is not None:
        for line in block.group(1).splitlines():
            cells = _cells(line) if line.strip().startswith("|") else []
            if len(cells) == 2 and cells[0].startswith("**"):
                provider, model = _name(cells[0]), _name(cells[1])
                if provider and model:
                    defaults[provider] = model
    return table, defaults


def from_spec(spec: dict[str, Any], path: str, trailing_slash: bool) -> tuple[dict[str, Any], dict[str, str]] | None:
    operation = spec.get("paths", {}).get(f"/{path}/" if trailing_slash else f"/{path}", {}).get("post")
    if operation is None:
        return None
    return parse_description(operation.get("description", ""), path)


def from_wire_format(text: str, path: str) -> dict[str, Any] | None:
    """The priced rows of wire-format.md section 6.1 for `path` (a complete row only)."""
    for line in text.splitlines():
        cells = _cells(line) if line.startswith("|") else []
        if len(cells) != 3 or cells[0] != path:
            continue
        if re.search(r"\+\d+ more rows", cells[2]):
            raise ValueError(f"wire-format 6.1 row of {path} is truncated; take its prices from a spec")
        table: dict[str, Any] = {}
        for item in cells[2].split("; "):
            m = _WIRE_ITEM.match(item.strip())
            if m is None:
                raise ValueError(f"wire-format 6.1 {path}: cannot read {item!r}")
            if m["free"]:
                price = {"price": 0.0, "per": 1, "unit": "free", "min_units": None}
            else:
                billing = f"{m['min']} {m['unit2']}" if m["min"] else f"1 {m['unit']}"
                price = _price(f"{m['price']} (per {m['per']} {m['unit']})", billing, f"wire-format {path}")
            _add(table, m["key"], m["res"], price, f"wire-format {path}")
        return table
    return None


def _catalog_paths() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from edenframe import all_subfeatures  # the public name: the catalog module may move

    return [entry.path for entry in all_subfeatures()]


def build(full: dict[str, Any], text: dict[str, Any], wire_format: str, paths: list[str]) -> dict[str, Any]:
    prices: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    sources: dict[str, str] = {}
    unpriced: list[str] = []
    for path in paths:
        found = from_spec(full, path, trailing_slash=True)
        source = "2026-05 full v2 OpenAPI spec"
        if found is None:
            found = from_spec(text, path, trailing_slash=False)
            source = "2024-09 Text Features spec"
        if found is None:
            table = from_wire_format(wire_format, path)
            found = None if table is None else (table, {})
            source = "2025-01 OCR spec, as quoted in wire-format.md section 6.1"
        if found is None or not found[0]:
            unpriced.append(path)
            continue
        prices[path], path_defaults = found
        if path_defaults:
            defaults[path] = path_defaults
        sources[path] = source

    def subjects(source: str) -> str:
        return ", ".join(p for p in paths if sources.get(p) == source)

    snapshot = (
        "2026-05 (Eden AI v2 OpenAPI), "
        f"2024-09 text spec for {subjects('2024-09 Text Features spec')}, "
        f"2025-01 OCR spec for {subjects('2025-01 OCR spec, as quoted in wire-format.md section 6.1')}"
    )
    return {
        "snapshot": snapshot,
        "currency": "USD",
        "notes": NOTES,
        "sources": sources,
        "unpriced": unpriced,
        "defaults": defaults,
        "prices": prices,
    }


def dumps(document: dict[str, Any]) -> str:
    """Stable JSON with one price per line, so that a refresh diffs row by row."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    out = ["{"]
    keys = list(document)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = document[key]
        if key != "prices":
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            out.append(f"  {one(key)}: {text}{comma}")
            continue
        out.append(f"  {one(key)}: {{")
        paths = list(value)
        for j, path in enumerate(paths):
            out.append(f"    {one(path)}: {{")
            entries = list(value[path].items())
            for k, (name, price) in enumerate(entries):
                end = "," if k < len(entries) - 1 else ""
                out.append(f"      {one(name)}: {one(price)}{end}")
            out.append("    }" + ("," if j < len(paths) - 1 else ""))
        out.append("  }" + comma)
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", required=True, type=Path, help="edenai-v2-openapi.full.no-examples.2026-05.json")
    parser.add_argument("--text", required=True, type=Path, help="edenai-v2-text-features...2024-09.json")
    parser.add_argument("--wire-format", required=True, type=Path, help="wire-format.md (section 6.1 rows)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    document = build(
        json.loads(args.full.read_text(encoding="utf-8")),
        json.loads(args.text.read_text(encoding="utf-8")),
        args.wire_format.read_text(encoding="utf-8"),
        _catalog_paths(),
    )
    args.output.write_text(dumps(document), encoding="utf-8")
    count = sum(len(v) for v in document["prices"].values())
    print(f"wrote {args.output}: {len(document['prices'])} subfeatures, {count} priced keys", file=sys.stderr)
    if document["unpriced"]:
        print(f"no price table for: {', '.join(document['unpriced'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
