"""Subscriptions and every change to what customers pay, simulated month by month for all customers
at once: trials that convert or expire, direct purchases, renewals on the billing anchor day,
upgrades (tier or to annual), downgrades, add-ons bought when their need feature is used heavily,
failed payments with dunning, churn and reactivation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from lifecycle.landing.contract import SUBSCRIPTION_EVENT_TYPES

from .accounts import Accounts
from .arrow_out import ROW_GROUP_ROWS, dates, id_strings, id_width, pick, timestamps
from .catalog import (
    ADDON_MIN_TIER,
    ADDON_PRICE,
    ADDONS,
    PLAN_IDS,
    PLAN_MRR,
    PLAN_PRICE,
    PRODUCT_IDS,
    SEAT_QUOTA,
    STORAGE_QUOTA_GB,
    TRIAL_DAYS,
    TRIAL_PLAN,
    plan_index,
)
from .ids import Ids, lookup
from .timeline import US_PER_DAY, Window, join_months, split_months

EVENT = {name: code for code, name in enumerate(SUBSCRIPTION_EVENT_TYPES)}
_TRIAL_US = TRIAL_DAYS * US_PER_DAY
# Monthly churn hazard by engagement level (power .. dormant) and tier (starter .. enterprise).
_CHURN = np.array([0.012, 0.022, 0.04, 0.08])
_TIER_CHURN = np.array([1.3, 1.0, 0.8, 0.5])
_ANNUAL_RETENTION_BONUS = 0.6  # annual customers churn less than twelve monthly chances suggest
_SWITCH_TO_ANNUAL = np.array([0.03, 0.015, 0.006, 0.001])
_TIER_DOWN = np.array([0.002, 0.004, 0.01, 0.03])
_ADDON_HAZARD = 0.02
_ADDON_DROP = 0.006
_PAYMENT_FAILURE = 0.045
_DUNNING_RECOVERY = 0.7
_REACTIVATION = {True: 0.2, False: 0.35}  # after a voluntary / involuntary cancel


@dataclass(frozen=True)
class Spans:
    """Stretches of time a customer could use the product (trial or paid), ordered by customer."""

    customer: np.ndarray
    start_us: np.ndarray
    stop_us: np.ndarray
    churned: np.ndarray


@dataclass(frozen=True)
class Billing:
    """Subscription events ordered by customer then time, plus what other tables need to agree with them."""

    customer: np.ndarray
    occurred_us: np.ndarray
    kind: np.ndarray
    plan: np.ndarray
    product: np.ndarray
    amount: np.ndarray
    mrr: np.ndarray
    period_end_day: np.ndarray
    spans: Spans
    paid_start_us: np.ndarray
    trial_ends_us: np.ndarray


@dataclass
class _Columns:
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def append(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def concatenated(self, name: str, dtype: type) -> np.ndarray:
        return np.concatenate(self.parts.get(name, [np.empty(0, dtype)])).astype(dtype)


class _Simulation:
    """Per-customer billing state, advanced one billing month (a "tick" from the anchor) at a time."""

    def __init__(self, rng: np.random.Generator, accounts: Accounts, window: Window) -> None:
        n = accounts.count
        self.rng, self.accounts, self.end_us = rng, accounts, window.end_us
        self.anchor_month = np.zeros(n, np.int64)
        self.anchor_day_of_month = np.zeros(n, np.int64)
        self.anchor_time = np.zeros(n, np.int64)
        self.tick = np.zeros(n, np.int64)
        self.period_start = np.zeros(n, np.int64)
        self.tier = np.zeros(n, np.int64)
        self.annual = np.zeros(n, bool)
        self.addons = np.zeros(n, np.int64)
        self.span_start = accounts.created_us.copy()
        self.span_open = np.ones(n, bool)
        self.paid_start_us = np.full(n, -1, np.int64)
        self.addon_need = accounts.addon_need()
        self.events = _Columns()
        self.spans = _Columns()

    # -- bookkeeping -------------------------------------------------------------------------------
    def emit(
        self,
        kind: str,
        who: np.ndarray,
        at: np.ndarray,
        *,
        plan: np.ndarray | int = -1,
        product: np.ndarray | int = 0,
        amount: np.ndarray | float = 0.0,
        mrr: np.ndarray | float = 0.0,
        period_end: np.ndarray | int = -1,
    ) -> None:
        """Record events that happen inside the window; later ones have not happened yet."""
        shape = len(who)
        inside = at <= self.end_us
        self.events.append(
            customer=who[inside],
            occurred_us=at[inside],
            kind=np.full(shape, EVENT[kind])[inside],
            plan=np.broadcast_to(plan, shape)[inside],
            product=np.broadcast_to(product, shape)[inside],
            amount=np.broadcast_to(amount, shape)[inside],
            mrr=np.broadcast_to(mrr, shape)[inside],
            period_end_day=np.broadcast_to(period_end, shape)[inside],
        )

    def close_spans(self, who: np.ndarray, at: np.ndarray, *, churned: bool) -> None:
        self.spans.append(
            customer=who, start_us=self.span_start[who], stop_us=at, churned=np.full(len(who), churned)
        )
        self.span_open[who] = False

    def renewal_day(self, who: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """The day ``ticks`` billing months after the anchor day (clamped to the month's end)."""
        return join_months(self.anchor_month[who] + ticks, self.anchor_day_of_month[who])

    def boundary(self, who: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """The moment ``ticks`` billing months after the anchor (same time of day)."""
        return self.renewal_day(who, ticks) * US_PER_DAY + self.anchor_time[who]

    def plan(self, who: np.ndarray) -> np.ndarray:
        return plan_index(self.tier[who], self.annual[who])

    def months(self, who: np.ndarray) -> np.ndarray:
        return np.where(self.annual[who], 12, 1)

    def mrr(self, who: np.ndarray) -> np.ndarray:
        owned = (self.addons[who, None] >> np.arange(ADDONS)) & 1
        return PLAN_MRR[self.plan(who)] + owned @ ADDON_PRICE

    def charge(self, who: np.ndarray) -> np.ndarray:
        """What a new period costs: the plan's price plus the add-ons for the period's months."""
        owned = (self.addons[who, None] >> np.arange(ADDONS)) & 1
        return PLAN_PRICE[self.plan(who)] + (owned @ ADDON_PRICE) * self.months(who)

    def uniform(self, rows: int, *shape: int) -> np.ndarray:
        return self.rng.random((rows, *shape), dtype=np.float32)

    # -- lifecycle steps ---------------------------------------------------------------------------
    def start_paid(self, kind: str, who: np.ndarray, at: np.ndarray) -> None:
        """A paid period starts now (conversion, direct purchase or reactivation) on a plan that fits."""
        if kind == "reactivate":
            tier = np.maximum(self.tier[who] - (self.uniform(len(who)) < 0.3), 1)
            annual = self.uniform(len(who)) < 0.1
        else:
            # Some start one tier too small and grow into an upgrade.
            tier = np.maximum(self._fitting_tier(who, at) - (self.uniform(len(who)) < 0.2), 1)
            annual = (self.uniform(len(who)) < np.where(tier == 4, 0.55, 0.2)) | self.accounts.steady[who]
            self.paid_start_us[who] = at
        self.tier[who], self.annual[who], self.addons[who] = tier, annual, 0
        anchor_day, self.anchor_time[who] = np.divmod(at, US_PER_DAY)
        self.anchor_month[who], self.anchor_day_of_month[who] = split_months(anchor_day)
        self.tick[who], self.period_start[who] = 0, 0
        self.emit(
            kind,
            who,
            at,
            plan=self.plan(who),
            amount=self.charge(who),
            mrr=self.mrr(who),
            period_end=self.renewal_day(who, self.months(who)),
        )

    def _fitting_tier(self, who: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The smallest tier whose seat and storage quotas hold the team at ``at``."""
        seats = self.accounts.seats_at(who, at)
        storage = self.accounts.storage_at(who, at)
        too_small = np.maximum(
            (seats[:, None] > SEAT_QUOTA).sum(1), (storage[:, None] > STORAGE_QUOTA_GB).sum(1)
        )
        return np.minimum(1 + too_small, 4)

    def cancel(self, who: np.ndarray, at: np.ndarray, *, voluntary: bool) -> np.ndarray:
        """End the subscription; some customers come back months later. Returns who reactivated."""
        self.emit("cancel", who, at, plan=self.plan(who))
        happened = at <= self.end_us
        who, at = who[happened], at[happened]
        self.close_spans(who, at, churned=True)
        self.addons[who] = 0
        back_at = at + ((14 + self.rng.exponential(120, len(who))) * US_PER_DAY).astype(np.int64)
        back = (self.uniform(len(who)) < _REACTIVATION[voluntary]) & (back_at <= self.end_us)
        self.span_start[who[back]], self.span_open[who[back]] = back_at[back], True
        self.start_paid("reactivate", who[back], back_at[back])
        return who[back]

    def start(self) -> np.ndarray:
        """Trials and direct purchases at sign-up. Returns the customers now paying."""
        accounts = self.accounts
        trial = np.flatnonzero(accounts.trial)
        created = accounts.created_us[trial]
        self.emit("trial_started", trial, created, plan=TRIAL_PLAN)
        convert_rate = (
            np.where(accounts.onboards[trial], 0.5, 0.1)
            * np.array([1.1, 1.0, 0.85, 0.7])[accounts.engagement[trial]]
        )
        converts = self.uniform(len(trial)) < convert_rate
        convert_at = created + ((0.1 + 0.9 * np.sqrt(self.uniform(len(trial)))) * _TRIAL_US).astype(np.int64)
        converted = converts & (convert_at <= self.end_us)
        self.start_paid("trial_converted", trial[converted], convert_at[converted])
        expires_at = created + _TRIAL_US
        expired = ~converts & (expires_at <= self.end_us)
        self.emit("trial_expired", trial[expired], expires_at[expired], plan=TRIAL_PLAN)
        self.close_spans(trial[expired], expires_at[expired], churned=True)
        direct = np.flatnonzero(~accounts.trial)
        self.start_paid("new", direct, accounts.created_us[direct])
        return np.concatenate([trial[converted], direct])

    def advance(self, who: np.ndarray) -> np.ndarray:
        """One billing month for each customer in ``who``. Returns who is still paying inside the window."""
        accounts = self.accounts
        rows = len(who)
        tick = self.tick[who]
        self.tick[who] = tick + 1
        start, end = self.boundary(who, tick), self.boundary(who, tick + 1)
        last_change = self._addon_changes(who, start, end)

        period_ends = (tick + 1 - self.period_start[who]) % self.months(who) == 0
        steady = accounts.steady[who]
        level, tier = accounts.engagement[who], self.tier[who]
        hazard = _CHURN[level] * _TIER_CHURN[tier - 1] * np.where(accounts.onboards[who], 1.0, 1.4)
        churn_chance = np.where(self.annual[who], _ANNUAL_RETENTION_BONUS * (1 - (1 - hazard) ** 12), hazard)
        churns = period_ends & ~steady & (self.uniform(rows) < churn_chance)
        # Customers cancel during the last weeks of the period they paid for, after any add-on change.
        earliest = np.maximum(last_change, end - 25 * US_PER_DAY)
        cancel_at = earliest + (self.uniform(rows) * (end - earliest)).astype(np.int64)
        back = [self.cancel(who[churns], cancel_at[churns], voluntary=True)]

        fails = period_ends & ~churns & ~steady & (self.uniform(rows) < _PAYMENT_FAILURE)
        failed = who[fails]
        self.emit("payment_failed", failed, end[fails], plan=self.plan(failed), mrr=self.mrr(failed))
        recovers = self.uniform(len(failed)) < _DUNNING_RECOVERY
        paid_at = end[fails] + ((1 + 9 * self.uniform(len(failed))) * US_PER_DAY).astype(np.int64)
        self._new_period("renewal", failed[recovers], paid_at[recovers], tick[fails][recovers] + 1)
        lost_at = end[fails][~recovers] + 14 * US_PER_DAY
        back.append(self.cancel(failed[~recovers], lost_at, voluntary=False))

        pressure = np.maximum(
            accounts.seats_at(who, end) / SEAT_QUOTA[tier - 1],
            accounts.storage_at(who, end) / STORAGE_QUOTA_GB[tier - 1],
        )
        can_change = ~churns & ~fails & ~steady
        # Outgrowing a quota drives tier upgrades, at renewal or (annual plans) at any monthly boundary.
        outgrown = ((pressure > 0.9) & (self.uniform(rows) < 0.35)) | (self.uniform(rows) < 0.004)
        bursting = self.annual[who] & (pressure > 1) & (self.uniform(rows) < 0.12)
        up_tier = can_change & (tier < 4) & np.where(period_ends, outgrown, bursting)
        to_annual = (
            can_change
            & period_ends
            & ~up_tier
            & ~self.annual[who]
            & (tick + 1 >= 3)
            & (self.uniform(rows) < _SWITCH_TO_ANNUAL[level])
        )
        tier_down = (tier > 1) & (pressure < 0.5) & (self.uniform(rows) < _TIER_DOWN[level])
        to_monthly = self.annual[who] & (self.uniform(rows) < 0.07)
        down = can_change & period_ends & ~up_tier & ~to_annual & (tier_down | to_monthly)
        self.tier[who[up_tier]] += 1
        self.annual[who[to_annual]] = True
        self.tier[who[down & ~to_monthly]] -= 1
        self.annual[who[down & to_monthly]] = False
        self._new_period(
            "upgrade", who[up_tier | to_annual], end[up_tier | to_annual], tick[up_tier | to_annual] + 1
        )
        self._new_period("downgrade", who[down], end[down], tick[down] + 1)
        renews = period_ends & ~churns & ~fails & ~up_tier & ~to_annual & ~down
        self._new_period("renewal", who[renews], end[renews], tick[renews] + 1)

        # Customers still in dunning at the end of the window, or gone, leave the simulation.
        recovered, recovered_late = np.zeros(rows, bool), np.zeros(rows, bool)
        recovered[fails] = recovers
        recovered_late[fails] = recovers & (paid_at > self.end_us)
        stays = (end <= self.end_us) & ~churns & (~fails | recovered) & ~recovered_late
        return np.concatenate([who[stays], *back])

    def _addon_changes(self, who: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """At most one add-on purchase or removal per month. Returns when it happened (``start`` if none)."""
        rows = len(who)
        owned = ((self.addons[who, None] >> np.arange(ADDONS)) & 1).astype(bool)
        need = self.addon_need[who] * (self.tier[who, None] >= ADDON_MIN_TIER)
        wants = (self.uniform(rows, ADDONS) < _ADDON_HAZARD * (0.1 + 2.5 * need)) & (need > 0) & ~owned
        tired = owned & (self.uniform(rows, ADDONS) < _ADDON_DROP * (1.5 - need))
        buys, drops = wants.any(1), ~wants.any(1) & tired.any(1)
        addon = np.where(
            buys,
            np.argmax(wants * self.uniform(rows, ADDONS), 1),
            np.argmax(tired * self.uniform(rows, ADDONS), 1),
        )
        at = start + (self.uniform(rows) * (end - start)).astype(np.int64)
        for kind, rows_changing in (("addon_purchased", buys), ("addon_removed", drops)):
            changing, chosen = who[rows_changing], addon[rows_changing]
            self.addons[changing] ^= 1 << chosen
            self.emit(
                kind,
                changing,
                at[rows_changing],
                product=chosen + 1,
                amount=ADDON_PRICE[chosen] * (kind == "addon_purchased"),
                mrr=self.mrr(changing),
            )
        return np.where(buys | drops, at, start)

    def _new_period(self, kind: str, who: np.ndarray, at: np.ndarray, from_tick: np.ndarray) -> None:
        self.period_start[who] = from_tick
        self.emit(
            kind,
            who,
            at,
            plan=self.plan(who),
            amount=self.charge(who),
            mrr=self.mrr(who),
            period_end=self.renewal_day(who, from_tick + self.months(who)),
        )

    def run(self) -> Billing:
        paying = self.start()
        while len(paying):
            paying = self.advance(paying)
        still_open = np.flatnonzero(self.span_open)
        self.close_spans(still_open, np.full(len(still_open), self.end_us), churned=False)
        events, spans = self.events, self.spans
        customer = events.concatenated("customer", np.int64)
        order = np.argsort(customer, kind="stable")
        span_order = np.lexsort(
            (spans.concatenated("start_us", np.int64), spans.concatenated("customer", np.int64))
        )
        trial_ends = np.where(self.accounts.trial, self.accounts.created_us + _TRIAL_US, -1)
        return Billing(
            customer=customer[order],
            occurred_us=events.concatenated("occurred_us", np.int64)[order],
            kind=events.concatenated("kind", np.int8)[order],
            plan=events.concatenated("plan", np.int8)[order],
            product=events.concatenated("product", np.int8)[order],
            amount=events.concatenated("amount", np.float64)[order],
            mrr=events.concatenated("mrr", np.float64)[order],
            period_end_day=events.concatenated("period_end_day", np.int64)[order],
            spans=Spans(
                customer=spans.concatenated("customer", np.int64)[span_order],
                start_us=spans.concatenated("start_us", np.int64)[span_order],
                stop_us=spans.concatenated("stop_us", np.int64)[span_order],
                churned=spans.concatenated("churned", bool)[span_order],
            ),
            paid_start_us=self.paid_start_us,
            trial_ends_us=trial_ends,
        )


def simulate_billing(rng: np.random.Generator, accounts: Accounts, window: Window) -> Billing:
    return _Simulation(rng, accounts, window).run()


def subscriptions_columns(accounts: Accounts, billing: Billing, ids: Ids) -> dict[str, pa.Array]:
    return {
        "subscription_id": ids.subscription,
        "customer_id": ids.customer,
        "created_at": timestamps(accounts.created_us),
        "trial_ends_at": timestamps(billing.trial_ends_us, null=billing.trial_ends_us < 0),
    }


def subscription_event_batches(billing: Billing, ids: Ids) -> Iterator[dict[str, pa.Array]]:
    total = len(billing.customer)
    for lo in range(0, max(total, 1), ROW_GROUP_ROWS):
        rows = slice(lo, min(lo + ROW_GROUP_ROWS, total))
        customer = billing.customer[rows]
        plan, period_end = billing.plan[rows], billing.period_end_day[rows]
        yield {
            "event_id": id_strings("sev_", np.arange(rows.start, rows.stop) + 1, id_width(total)),
            "subscription_id": lookup(ids.subscription, customer),
            "customer_id": lookup(ids.customer, customer),
            "event_type": pick(SUBSCRIPTION_EVENT_TYPES, billing.kind[rows]),
            "occurred_at": timestamps(billing.occurred_us[rows]),
            "plan_id": pick(PLAN_IDS, np.maximum(plan, 0), null=plan < 0),
            "product_id": pick(PRODUCT_IDS, billing.product[rows]),
            "amount": pa.array(billing.amount[rows]),
            "mrr_after": pa.array(billing.mrr[rows]),
            "period_end": dates(np.maximum(period_end, 0), null=period_end < 0),
        }
