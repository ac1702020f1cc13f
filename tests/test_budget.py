"""`max_cost=` is a cap: over the emulator, with Eden AI charging more than its price table says, with many jobs at
once and over the sync endpoint, a run never spends more than `max_cost` plus one request, and says so."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from helpers import sent

import edenframe
from edenframe.testing import EdenEmulator, expected_row

TRANSLATE = "translation/automatic_translation"


@pytest.fixture
def pricey(make_emulator: Callable[..., EdenEmulator]) -> EdenEmulator:
    """An emulator billing three times the listed price (the user's estimate was low)."""
    return make_emulator(cost_factor=3.0)


def texts(n: int, tag: str = "") -> pd.DataFrame:
    # lengths vary, so requests differ in cost (deepl bills per character)
    return pd.DataFrame({"review": [f"{tag}review {i}: " + "the product was fine. " * (1 + i % 7) for i in range(n)]})


def estimate(df: pd.DataFrame, **options: object) -> float:
    plan = df.eden.translate("review", target_language="fr", providers="deepl", dry_run=True, **options)
    return float(plan.attrs["edenframe"]["estimated_cost"])


def items_received(emu: EdenEmulator) -> int:
    """Request items Eden AI received: the items of every batch launch, plus every sync POST."""
    total = 0
    for call in emu.calls:
        if call.method != "POST":
            continue
        body = call.json
        total += len(body["requests"]) if isinstance(body, dict) and "requests" in body else 1
    return total


def assert_capped(out: pd.DataFrame, emu: EdenEmulator, max_cost: float) -> None:
    """Spent within max_cost plus one request; every row has its translation or says the budget stopped it."""
    report = out.attrs["edenframe"]
    spent = emu.total_cost
    largest = max(charge.cost for charge in emu.ledger)
    assert spent <= max_cost + largest + 1e-12, (spent, max_cost, largest)
    assert report["cost"] == pytest.approx(spent)
    errors = out["translate_error"]
    refused = errors.dropna()
    assert len(refused) > 0 and refused.str.startswith("not sent: the budget").all()
    assert refused.str.contains(f"max_cost=\\${max_cost:.4f}", regex=True).all()
    assert report["budget_reached"] is True
    assert report["not_sent"] == len(refused)
    assert report["max_cost"] == max_cost
    assert report["sent"] == items_received(emu) == len(out) - len(refused)
    assert (out["translate_cost"][errors.notna()].fillna(0.0) == 0.0).all()  # a row never sent cost nothing
    for text, translated in zip(out["review"][errors.isna()], out["translate_text"][errors.isna()], strict=True):
        assert translated == expected_row(TRANSLATE, "deepl", text, target_language="fr")["text"]


def test_costs_above_the_estimate_stay_capped_with_many_jobs_at_once(pricey: EdenEmulator) -> None:
    edenframe.configure(batch_size=10)  # 40 jobs of 10, 5 running at once
    pricey.job_seconds = 0.05  # jobs take a while, so several run side by side
    df = texts(400)
    max_cost = estimate(df)  # passes the check before the run: the actual bill would be three times that
    with pytest.warns(edenframe.RowErrorWarning) as caught:
        out = df.eden.translate("review", target_language="fr", providers="deepl", max_cost=max_cost)
    assert_capped(out, pricey, max_cost)
    not_sent = out.attrs["edenframe"]["not_sent"]
    assert 200 <= not_sent <= 300  # about a third of the rows fit in a third of the bill
    message = str(caught[0].message)
    assert f"max_cost=${max_cost:.4f} was reached" in message and f"{not_sent} of 400 rows were not sent" in message
    assert pricey.max_running_seen > 1  # jobs still ran side by side


def test_the_sync_transport_is_capped_too(pricey: EdenEmulator) -> None:
    edenframe.configure(sync_concurrency=6)
    df = texts(90)
    max_cost = estimate(df, transport="sync")
    with pytest.warns(edenframe.RowErrorWarning, match="rows were not sent"):
        out = df.eden.translate("review", target_language="fr", providers="deepl", transport="sync", max_cost=max_cost)
    assert_capped(out, pricey, max_cost)
    assert all("/batch/" not in call.path for call in pricey.calls)


def test_unpriced_providers_are_capped_by_their_observed_cost(make_emulator: Callable[..., EdenEmulator]) -> None:
    # synthetic has no price: the mean charge seen so far stands in for the estimate, after a first request alone
    emu = make_emulator(settings={"batch_size": 50})
    df = texts(600)
    entry = edenframe.get_subfeature(TRANSLATE)
    full = sum(
        edenframe.testing.synthetic_cost(entry, "synthetic", {"text": t, "target_language": "fr"}) for t in df["review"]
    )
    max_cost = full / 4
    with pytest.warns(edenframe.RowErrorWarning), pytest.warns(RuntimeWarning, match="no price is known"):
        out = df.eden.translate("review", target_language="fr", providers="synthetic", max_cost=max_cost)
    spent, largest = emu.total_cost, max(c.cost for c in emu.ledger)
    assert spent <= max_cost + largest
    assert spent > max_cost * 0.8  # the cap is used, not left idle
    launches = [c for c in emu.calls if c.method == "POST"]
    assert len(launches[0].json["requests"]) == 1  # the cost of a request was unknown: one went alone first
    report = out.attrs["edenframe"]
    assert report["budget_reached"] and report["not_sent"] == out["translate_error"].notna().sum() > 300
    assert report["sent"] == items_received(emu)


def test_a_budget_that_is_not_reached_changes_nothing(pricey: EdenEmulator) -> None:
    df = texts(50)
    max_cost = estimate(df) * 4  # room for the triple bill
    out = df.eden.translate("review", target_language="fr", providers="deepl", max_cost=max_cost)
    report = out.attrs["edenframe"]
    assert out["translate_error"].isna().all()
    assert report["budget_reached"] is False and report["not_sent"] == 0
    assert report["sent"] == 50 == items_received(pricey)
    assert report["cost"] == pytest.approx(pricey.total_cost) and pricey.total_cost <= max_cost


def test_max_cost_below_the_estimate_still_refuses_before_any_request(pricey: EdenEmulator) -> None:
    df = texts(30)
    with pytest.raises(edenframe.BudgetExceededError, match="nothing was sent"):
        df.eden.translate("review", target_language="fr", providers="deepl", max_cost=estimate(df) * 0.99)
    assert sent(pricey) == []


def test_a_rerun_with_a_higher_budget_sends_only_the_rows_not_sent(pricey: EdenEmulator) -> None:
    df = texts(120)
    max_cost = estimate(df)
    with pytest.warns(edenframe.RowErrorWarning):
        first = df.eden.translate("review", target_language="fr", providers="deepl", max_cost=max_cost)
    not_sent = first.attrs["edenframe"]["not_sent"]
    pricey.reset()
    again = df.eden.translate("review", target_language="fr", providers="deepl", max_cost=max_cost * 4)
    assert again["translate_error"].isna().all()
    assert again.attrs["edenframe"]["sent"] == not_sent == items_received(pricey)
    assert again.attrs["edenframe"]["cached"] == 120 - not_sent


def test_the_emulator_cost_factor_scales_every_charge(make_emulator: Callable[..., EdenEmulator]) -> None:
    emu = make_emulator(cost_factor=2.5)
    df = texts(5)
    planned = estimate(df)
    out = df.eden.translate("review", target_language="fr", providers="deepl")
    assert emu.total_cost == pytest.approx(2.5 * planned)
    assert out["translate_cost"].sum() == pytest.approx(2.5 * planned)
    with pytest.raises(ValueError, match="cost_factor"):
        EdenEmulator(cost_factor=-1)
