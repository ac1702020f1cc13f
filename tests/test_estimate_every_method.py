"""`dry_run=True` and `max_cost=` for every catalog method, on the emulator's v2 and v3 URLs over loopback.

A dry run gives the dry-run frame (one row per planned request, the rows and distinct inputs each carries) and
sends no POST; a max_cost below the estimate raises BudgetExceededError before any POST. Packed methods (embed,
search, classify: several inputs per request) once crashed the dry run with an IndexError.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from helpers import required_params

import edenframe
from edenframe import Subfeature
from edenframe._transport.v3_universal import EXAMPLE_LLM
from edenframe._v3_models import V3_MAPPINGS, models_of
from edenframe.testing import EdenEmulator

ENTRIES = edenframe.all_subfeatures()
FILES = ["https://files.test/a.pdf", "https://files.test/b.pdf", None, "https://files.test/a.pdf", ""]
TEXTS = ["the screen is great", "battery died in a day", None, "the screen is great", ""]
SENT_ROWS, DISTINCT = 3, 2  # the None and the empty row are skipped, the duplicate is sent once


def v3_call(entry: Subfeature) -> tuple[str, dict[str, Any]] | None:
    """A provider v3 serves `entry` with (an LLM model where v3 runs it as chat) and the parameters v3 needs
    besides the catalog's required ones; None where v3 has no way to run it."""
    mapping = V3_MAPPINGS.get(entry.path)
    if mapping is not None and mapping.llm:
        return EXAMPLE_LLM, {}
    if mapping is not None and mapping.endpoint is None:
        return None  # no expert model and no LLM path (landmark detection)
    if mapping is not None and mapping.endpoint == "embeddings":
        return "openai", {}  # /v3/embeddings: 'provider[/model]', openai has a documented default model
    v3_path = entry.path if entry.v3_only else mapping.v3_path  # type: ignore[union-attr]
    served = {price.provider for price in models_of(v3_path)}  # empty where no feature page lists models
    provider = next((p for p in entry.providers if p in served), entry.providers[0])
    needs = mapping.v3_required if mapping is not None else ()
    return provider, ({"language": "en"} if "language" in needs else {})


def call_for(entry: Subfeature, api: str) -> tuple[str, dict[str, Any]] | None:
    if api == "v2":
        return None if entry.v3_only else (entry.providers[0], required_params(entry))
    found = v3_call(entry)
    return None if found is None else (found[0], {**required_params(entry), **found[1]})


def frame(entry: Subfeature) -> pd.DataFrame:
    return pd.DataFrame({"x": FILES if entry.input_kind == "file" else TEXTS}, index=[40, 30, 20, 10, 0])


def posts(emu: EdenEmulator) -> list[str]:
    return [c.path for c in emu.calls if c.method == "POST"]


def expected_requests(entry: Subfeature) -> int:
    """Requests for the DISTINCT inputs: one for a packed method, else one each."""
    return 1 if entry.pack is not None and entry.pack.max_items > 1 else DISTINCT


CASES = [pytest.param(entry, api, id=f"{api}-{entry.method}") for api in ("v2", "v3") for entry in ENTRIES]


@pytest.fixture
def connect(make_emulator: Callable[..., EdenEmulator]) -> Callable[[str], EdenEmulator]:
    def start(api: str) -> EdenEmulator:
        emu = make_emulator(connect=False)
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url if api == "v2" else emu.base_url_v3)
        return emu

    return start


@pytest.mark.parametrize(("entry", "api"), CASES)
def test_dry_run_gives_the_plan_without_any_post(
    entry: Subfeature, api: str, connect: Callable[[str], EdenEmulator]
) -> None:
    emu = connect(api)
    call = call_for(entry, api)
    if call is None:  # the method has no way to run on this API: refused, still before any request
        with pytest.raises(edenframe.ValidationError):
            getattr(frame(entry).eden, entry.method)("x", providers=entry.providers[0], dry_run=True)
        assert posts(emu) == []
        return
    provider, params = call
    plan = getattr(frame(entry).eden, entry.method)("x", providers=provider, dry_run=True, **params)

    assert posts(emu) == []
    assert list(plan.columns) == ["name", "transport", "providers", "inputs", "rows", "chars", "estimated_cost"]
    assert plan.dtypes.astype(str).tolist() == ["string"] * 3 + ["int64"] * 3 + ["float64"]
    # every distinct input is planned once, and every sent row is counted once, packed or not
    assert (int(plan["inputs"].sum()), int(plan["rows"].sum())) == (DISTINCT, SENT_ROWS)
    assert len(plan) == expected_requests(entry)
    report = plan.attrs["edenframe"]
    assert report["dry_run"] and report["requests"] == len(plan) and report["skipped"] == 2


@pytest.mark.parametrize(("entry", "api"), CASES)
def test_max_cost_below_the_estimate_is_refused_before_any_post(
    entry: Subfeature, api: str, connect: Callable[[str], EdenEmulator]
) -> None:
    emu = connect(api)
    call = call_for(entry, api)
    if call is None:
        pytest.skip("refused on this API (see the dry-run test)")
    provider, params = call
    run = getattr(frame(entry).eden, entry.method)
    estimate = run("x", providers=provider, dry_run=True, **params).attrs["edenframe"]
    if estimate["unpriced_providers"]:
        # no price known: the run goes ahead, warning that the estimate max_cost was checked against lacks it; the
        # first request is sent alone, its cost then stops the rest (named not sent, on their rows)
        with pytest.warns(RuntimeWarning, match="no price is known"), warnings.catch_warnings():
            warnings.simplefilter("ignore", edenframe.RowErrorWarning)
            out = run("x", providers=provider, max_cost=1e-12, **params)
        report = out.attrs["edenframe"]
        assert out.index.equals(frame(entry).index) and report["sent"] == 1
        return
    assert estimate["estimated_cost"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a priced estimate warns about nothing
        with pytest.raises(edenframe.BudgetExceededError, match="nothing was sent"):
            run("x", providers=provider, max_cost=estimate["estimated_cost"] / 2, **params)
    assert posts(emu) == []
