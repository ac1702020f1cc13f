"""`Budget`: the spending cap of one call with `max_cost=`, shared by every transport of the run.

A request is launched only when the budget still covers it: what was spent, plus what the requests in flight are
expected to cost, plus this request's expected cost, must stay within `max_cost`. Expected costs come from the price
table, corrected by what Eden AI actually charged so far:

* priced requests: the table's estimate times the ratio of actual to estimated cost over the requests that
  succeeded so far (never below 1: a cheaper bill does not loosen the cap);
* unpriced requests (no price known, or a unit that cannot be counted before the call): the mean actual cost of the
  unpriced requests that succeeded so far.

Until a request of a kind has been charged, nothing tells how far its estimate is off, so the first one runs alone
(a probe of one request). As the remaining budget shrinks, launches shrink too (each takes at most half of what is
left, down to single requests), so every launch sees a fresh correction. With costs that keep their ratio to the
estimate, the run ends within `max_cost`, or at most one request above it (the probe itself).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .._report import usd
from .._transport import Outcome
from ._results import response_key

# Rows refused by the budget have an error starting with this (the report counts them by it).
NOT_SENT = "not sent: the budget"


class Budget:
    """The cap of one run: `admit` before launching, `settle` as outcomes arrive."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reached = False  # set once a request was refused
        self._estimates: dict[str, float] = {}  # request name -> table estimate (NaN: unpriced), until settled
        self._in_flight: dict[str, float] = {}  # launched, not settled: name -> table estimate (NaN: unpriced)
        self._probes: set[str] = set()  # in flight, of a kind no request of which was charged yet: runs alone
        self._priced = [0.0, 0.0]  # over charged priced requests: estimated, actual
        self._unpriced = [0, 0.0]  # over charged unpriced requests: count, actual
        self._changed = asyncio.Event()

    # -- what a request is expected to cost ------------------------------------------------------------------

    def expect(self, estimates: Mapping[str, float]) -> None:
        """Register the table estimates of requests about to be sent (NaN or 0 where no price is known)."""
        self._estimates.update(estimates)

    @property
    def ratio(self) -> float:
        """Actual / estimated cost over the priced requests charged so far, never below 1."""
        estimated, actual = self._priced
        return max(1.0, actual / estimated) if estimated > 0 else 1.0

    def _known(self, estimate: float) -> bool:
        """Has a request of this kind (priced / unpriced) been charged, so its cost can be predicted?"""
        return self._priced[0] > 0 if _priced(estimate) else self._unpriced[0] > 0

    def _expected(self, estimate: float) -> float:
        if _priced(estimate):
            return estimate * self.ratio
        count, actual = self._unpriced
        return actual / count if count else 0.0

    def _reserved(self) -> float:
        return sum(self._expected(e) for e in self._in_flight.values())

    # -- launching ---------------------------------------------------------------------------------------------

    async def admit(self, names: list[str]) -> int:
        """How many of `names` (from the front) may be launched now; they are reserved until settled. Waits while
        requests in flight may still free the budget; 0: the budget is reached, these are never to be sent."""
        while True:
            if self.reached:
                return 0
            count = self._fit(names)
            if count > 0:
                for name in names[:count]:
                    estimate = self._estimates.get(name, math.nan)
                    if not self._known(estimate):
                        self._probes.add(name)
                    self._in_flight[name] = estimate
                return count
            if not self._in_flight:
                self.reached = True  # nothing running can free the budget: stop for good
                self._changed.set()
                return 0
            changed = self._changed
            await changed.wait()

    def _fit(self, names: list[str]) -> int:
        if not names or self._probes:
            return 0  # a probe runs alone: its cost decides what the next launches may take
        headroom = self.limit - self.spent - self._reserved()
        first = self._estimates.get(names[0], math.nan)
        if not self._known(first):
            if self._in_flight:
                return 0
            # the probe: one request, if the table's estimate (when there is one) fits
            fits = self._expected(first) <= headroom if _priced(first) else headroom > 0
            return 1 if fits and headroom > 0 else 0
        # Cautious as the cap comes near: one launch takes at most half of what is left, but always one request
        # when it fits whole.
        allowance = headroom / 2
        total = 0.0
        count = 0
        for name in names:
            estimate = self._estimates.get(name, math.nan)
            if not self._known(estimate):
                break  # an unknown kind waits for its own probe
            total += self._expected(estimate)
            if total > allowance:
                break
            count += 1
        if count == 0 and self._expected(first) <= headroom and headroom > 0:
            count = 1
        return count

    def release(self, names: Iterable[str]) -> None:
        """Give back the reservations of admitted requests that were not launched after all (another run held their
        batch job, or it vanished): nothing was charged, and they are admitted again if they are sent later."""
        for name in names:
            if self._in_flight.pop(name, None) is not None:
                self._probes.discard(name)
        self._changed.set()
        self._changed = asyncio.Event()

    def refusal(self) -> str:
        """The error message of a request refused by the budget."""
        return (
            f"{NOT_SENT} max_cost={usd(self.limit)} was reached ({usd(self.spent)} spent when this request was due); "
            "rerun with a higher max_cost to send it"
        )

    # -- results -----------------------------------------------------------------------------------------------

    def settle(self, outcomes: Mapping[str, Outcome], providers: Iterable[str]) -> None:
        """Count what these outcomes were charged and release their reservations."""
        providers = tuple(providers)
        for name, outcome in outcomes.items():
            charged, complete = _charge(outcome, providers)
            self.spent += charged
            estimate = self._in_flight.pop(name, None)
            self._estimates.pop(name, None)
            if estimate is None:
                continue  # not launched by this run (a re-attached job): its cost counts, nothing to release
            self._probes.discard(name)
            if complete:  # only a whole answer tells how far the estimate is off
                if _priced(estimate):
                    self._priced[0] += estimate
                    self._priced[1] += charged
                else:
                    self._unpriced[0] += 1
                    self._unpriced[1] += charged
        self._changed.set()
        self._changed = asyncio.Event()


def _priced(estimate: float) -> bool:
    return not math.isnan(estimate) and estimate > 0


def _charge(outcome: Outcome, providers: tuple[str, ...]) -> tuple[float, bool]:
    """What an outcome was charged, and whether every provider answered with a success and a cost."""
    response = outcome.response
    if response is None:
        return 0.0, False
    total = 0.0
    complete = True
    for provider in providers:
        obj: Any = response.get(provider)
        if obj is None:
            obj = response.get(response_key(provider))
        if not isinstance(obj, dict):
            complete = False
            continue
        cost = obj.get("cost")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost == cost:
            total += cost
        else:  # no cost, or NaN (an LLM whose price is unknown): the actual charge is unknown
            complete = False
        if obj.get("status") not in (None, "success"):
            complete = False
    return total, complete
