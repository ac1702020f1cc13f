"""Contract tests: Eden AI's own response samples (../shared/eden-api/samples) parse into typed columns, unchanged.

The emulator replays each sample verbatim (its `responses=` option), and the client parses it as it would parse the
real API. Skipped when ../shared is absent (a fresh clone).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import required_params

import edenframe
from edenframe._schema import Embedding, Enum, ListOf, Mapping, Scalar, Struct, Type
from edenframe.testing import EdenEmulator

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "eden-api" / "samples"


def sample_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*__*.json")) if folder.is_dir() else []


def entry_of(path: Path) -> edenframe.Subfeature:
    return edenframe.get_subfeature(path.stem.replace("__", "/"))


def expected_rows(entry: edenframe.Subfeature, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The row-level results a provider object stands for (one per input text for packed subfeatures)."""
    pack = entry.pack
    if pack is None or pack.items_field is None:
        return [obj]
    items = obj[pack.items_field]
    if pack.index_field is not None:
        by_index = {item[pack.index_field]: item for item in items}
        return [by_index.get(i) for i in range(max(by_index) + 1)]
    return items


def inputs_for(entry: edenframe.Subfeature, count: int) -> list[str]:
    if entry.input_kind == "file":
        return [f"https://files.example.com/sample-{i}.pdf" for i in range(count)]
    return [f"sample input {i}" for i in range(count)]


def same(got: Any, want: Any, t: Type) -> bool:
    """Does the parsed value carry exactly what the sample says, under the schema type `t`?"""
    if want is None:
        return got is None or got is pd.NA or (isinstance(got, float) and math.isnan(got))
    if isinstance(t, Embedding):
        return np.allclose(np.asarray(got, dtype=np.float32), np.asarray(want, dtype=np.float32))
    if isinstance(t, Mapping):
        pairs = dict(got) if not isinstance(got, dict) else got
        return set(pairs) == {str(k) for k in want}
    if isinstance(t, Struct):
        return all(same(got.get(name) if got is not None else None, want.get(name), ft) for name, ft in t.fields)
    if isinstance(t, ListOf):
        got_list = list(got) if got is not None else []
        return len(got_list) == len(want) and all(same(g, w, t.item) for g, w in zip(got_list, want, strict=True))
    if isinstance(t, Scalar) and t.kind == "float":
        return float(got) == float(want)
    if isinstance(t, (Scalar, Enum)):
        return got == want
    raise AssertionError(f"unhandled type {t}")


def check_parsed(path: Path, objects: dict[str, dict[str, Any]]) -> None:
    entry = entry_of(path)
    providers = [p for p in objects if p != "eden-ai"]
    assert providers
    with EdenEmulator(responses={entry.path: objects}) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, poll_interval=0.01)
        for provider in providers:
            rows = expected_rows(entry, objects[provider])
            frame = pd.DataFrame({"input": inputs_for(entry, len(rows))})
            out = frame.eden.run(entry.path, "input", providers=provider, prefix="r", **required_params(entry))
            assert out["r_error"].isna().all(), (provider, out["r_error"].dropna().tolist())
            for position, want in enumerate(rows):
                if want is None:
                    continue
                for name, t in entry.row_output.fields:
                    got = out[f"r_{name}"].iloc[position]
                    assert same(got, want.get(name), t), (provider, position, name, got, want.get(name))
                    if isinstance(t, Enum) and want.get(name) is not None:
                        assert out[f"r_{name}"].dtype == t.dtype()
            cost = objects[provider].get("cost")
            if isinstance(cost, (int, float)):
                assert out["r_cost"].sum() == pytest.approx(float(cost))


@pytest.mark.parametrize("path", sample_files(SAMPLES), ids=lambda p: p.stem)
def test_wire_samples_parse(path: Path) -> None:
    check_parsed(path, json.loads(path.read_text()))


@pytest.mark.parametrize("path", sample_files(SAMPLES / "standardized"), ids=lambda p: p.stem)
def test_standardized_samples_parse(path: Path) -> None:
    standardized = json.loads(path.read_text())
    check_parsed(path, {"acme": {**standardized, "status": "success", "cost": 0.25}})


def test_samples_present_or_skipped() -> None:
    if not SAMPLES.is_dir():
        pytest.skip("../shared/eden-api is absent (a fresh clone): contract tests skipped")
    assert len(sample_files(SAMPLES)) == 20 and len(sample_files(SAMPLES / "standardized")) == 33
