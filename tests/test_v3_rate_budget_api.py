"""The account's rate budget through the public API: a v3 run whose client `rate_limit` is far above the account's
adapts to the server's 429s and loses no row, and two threads calling at once share one budget per account."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator
from edenframe.testing._v3 import AccountRateLimit

ACCOUNT_RATE = 20.0  # requests per second the emulator's account allows
CLIENT_RATE = 150.0  # the client's budget, 7.5x too high


def universal_statuses(emu: EdenEmulator) -> list[int | None]:
    return [call.status for call in emu.calls if call.path == "/v3/universal-ai"]


def ner(frame: pd.DataFrame, emu: EdenEmulator) -> pd.DataFrame:
    return frame.eden.ner("x", providers="amazon", api_key=emu.api_key, base_url=emu.base_url_v3, cache=False)


@pytest.mark.parametrize("retry_after", ["header", "none"])
def test_a_client_budget_far_too_high_adapts_without_failing_a_row(retry_after: str) -> None:
    frame = pd.DataFrame({"x": [f"review number {i} about Paris" for i in range(100)]})
    limit = AccountRateLimit(rate=ACCOUNT_RATE, retry_after=retry_after)  # type: ignore[arg-type]
    with EdenEmulator(account_rate_limit=limit) as emu:
        edenframe.configure(rate_limit=CLIENT_RATE, progress=False)
        out = ner(frame, emu)
        statuses = universal_statuses(emu)
    assert out["ner_error"].isna().all() and out["ner_items"].notna().all()
    assert statuses.count(200) == 100  # every distinct row answered once
    # a few 429s while the budget finds the account's rate, not a refusal per request
    assert 0 < statuses.count(429) <= 0.15 * len(statuses), (statuses.count(429), len(statuses))


def test_two_threads_share_one_budget_per_account() -> None:
    frames = [pd.DataFrame({"x": [f"thread {t} review {i}" for i in range(60)]}) for t in range(2)]
    limit = AccountRateLimit(rate=ACCOUNT_RATE)
    outs: dict[int, pd.DataFrame] = {}
    errors: list[BaseException] = []
    with EdenEmulator(account_rate_limit=limit) as emu:
        edenframe.configure(rate_limit=CLIENT_RATE, progress=False)

        def work(t: int) -> None:
            try:
                outs[t] = ner(frames[t], emu)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = universal_statuses(emu)
    assert not errors, errors
    for out in outs.values():
        assert out["ner_error"].isna().all() and out["ner_items"].notna().all()
    assert statuses.count(200) == 120
    # two per-run limiters would each probe the account on their own: one budget keeps the share small
    assert statuses.count(429) <= 0.15 * len(statuses), (statuses.count(429), len(statuses))
