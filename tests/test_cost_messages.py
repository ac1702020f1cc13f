"""The amounts in max_cost messages show their digits: requests on v3 (per-character expert models, LLM tokens)
cost fractions of a cent, and "$0.0000 is above max_cost=$0.0000" tells the user nothing. Through the public API
against the emulator's v3 URL over loopback."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review number {i}: works fine" for i in range(n)]})


def test_refusal_before_start_shows_the_estimate_and_the_limit() -> None:
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3)
        plan = frame(3).eden.ner("review", providers="amazon", dry_run=True)
        estimate = plan.attrs["edenframe"]["estimated_cost"]
        assert 0 < estimate < 1e-3  # amazon bills NER per character: fractions of a cent here
        with pytest.raises(edenframe.BudgetExceededError) as caught:
            frame(3).eden.ner("review", providers="amazon", max_cost=1e-9)
        assert not [c for c in emu.calls if c.method == "POST"]
    message = str(caught.value)
    assert "$0.0000 " not in message
    assert "max_cost=$0.0000000010" in message
    shown = float(re.search(r"estimated cost \$([0-9.]+)", message).group(1))
    assert shown == pytest.approx(estimate, rel=0.05)


def test_budget_reached_during_the_run_shows_what_was_spent() -> None:
    # two-character texts billed 10 times the listed price: the estimate (millionths of a dollar) passes, then the
    # first answers use up max_cost
    short = pd.DataFrame({"review": [f"a{i}" for i in range(10)]})
    with EdenEmulator(cost_factor=10) as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3, rate_limit=1000)
        estimate = short.eden.ner("review", providers="amazon", dry_run=True).attrs["edenframe"]["estimated_cost"]
        assert estimate < 5e-5
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = short.eden.ner("review", providers="amazon", max_cost=estimate * 2)
    refused = out["ner_error"].dropna()
    assert len(refused) > 0 and refused.str.contains("max_cost").all()
    assert not refused.str.contains(r"\$0\.0000 ", regex=True).any()
    summary = " ".join(str(w.message) for w in caught if "max_cost" in str(w.message))
    assert "was reached" in summary and "$0.0000 " not in summary
    spent = float(re.search(r"\(\$([0-9.]+) spent\)", summary).group(1))
    assert spent == pytest.approx(out["ner_cost"].sum(), rel=0.05)
