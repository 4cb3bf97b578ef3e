"""Who the customers are: sign-ups across the window with growth, firmographics, and the latent traits
(engagement, team growth, feature habits) that billing, usage, support and surveys all read, so the
tables tell one consistent story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lifecycle.landing.contract import ACQUISITION_CHANNELS, EMPLOYEE_BANDS

from .arrow_out import pick, timestamps
from .catalog import FEATURES, TRIAL_DAYS
from .geography import COUNTRIES, COUNTRY_CODES, COUNTRY_SHARES, UTC_OFFSET_HOURS
from .ids import Ids
from .names import COMPANY_ADJECTIVES, COMPANY_NOUNS
from .timeline import US_PER_DAY, US_PER_HOUR, US_PER_MONTH, US_PER_SECOND, Window

ENGAGEMENT_LEVELS = ("power", "regular", "light", "dormant")
_ENGAGEMENT_SHARE = [0.15, 0.40, 0.30, 0.15]
INDUSTRIES = (
    "software",
    "retail",
    "healthcare",
    "financial_services",
    "education",
    "manufacturing",
    "media",
    "nonprofit",
    "professional_services",
    "hospitality",
    "logistics",
)
_INDUSTRY_SHARE = [0.22, 0.12, 0.08, 0.08, 0.07, 0.08, 0.07, 0.05, 0.12, 0.05, 0.06]
_BAND_SHARE = [0.42, 0.30, 0.16, 0.08, 0.04]
_BAND_MEDIAN_SEATS = np.array([2.0, 9.0, 30.0, 110.0, 400.0])
_CHANNEL_SHARE_SMALL = [0.40, 0.25, 0.15, 0.10, 0.10]
_CHANNEL_SHARE_LARGE = [0.20, 0.15, 0.15, 0.15, 0.35]
_TRIAL_SHARE_BY_CHANNEL = np.array([0.80, 0.80, 0.70, 0.50, 0.20])
_ONBOARDING_RATE = np.array([0.95, 0.85, 0.55, 0.15])
# Feature habits: share of accounts adopting each feature and median weekly uses per active seat.
_ADOPTION = np.array([0.92, 0.60, 0.35, 0.40, 0.15, 0.08])
_MEDIAN_WEEKLY_USES = np.array([4.0, 2.0, 3.0, 2.0, 20.0, 1.0])
_LEVEL_ADOPTION = np.array([1.0, 0.85, 0.6, 0.3])
_LEVEL_INTENSITY = np.array([2.0, 1.0, 0.5, 0.2])
# Weekly volume at which a need is half-way to "heavy" (need 0.5).
_NEED_SCALE = _MEDIAN_WEEKLY_USES * 6
_SIGNUP_GROWTH = 3.0  # daily sign-ups at the end of the window relative to its start
_WEEKEND_FACTOR = 0.55
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Accounts:
    """Per-customer arrays, indexed by customer number - 1 and ordered by sign-up time."""

    created_us: np.ndarray
    country: np.ndarray
    band: np.ndarray
    industry: np.ndarray
    channel: np.ndarray
    engagement: np.ndarray
    trial: np.ndarray
    onboards: np.ndarray
    onboarding_us: np.ndarray
    seats0: np.ndarray
    seat_growth: np.ndarray
    storage0: np.ndarray
    storage_growth: np.ndarray
    feature_rate: np.ndarray
    steady: np.ndarray
    company_words: np.ndarray
    email_domain: np.ndarray

    @property
    def count(self) -> int:
        return len(self.created_us)

    def months_since_signup(self, customer: np.ndarray, us: np.ndarray) -> np.ndarray:
        return np.maximum(us - self.created_us[customer], 0) / US_PER_MONTH

    def seats_at(self, customer: np.ndarray, us: np.ndarray) -> np.ndarray:
        """Seats in use: the team grows (or shrinks) exponentially from its size at sign-up."""
        months = self.months_since_signup(customer, us)
        return np.maximum(1.0, np.round(self.seats0[customer] * np.exp(self.seat_growth[customer] * months)))

    def storage_at(self, customer: np.ndarray, us: np.ndarray) -> np.ndarray:
        """GB stored: grows linearly with the team's habits, so some accounts outgrow their quota."""
        months = self.months_since_signup(customer, us)
        return np.round(self.storage0[customer] + self.storage_growth[customer] * months, 2)

    def weekly_feature_volume(self, customer: np.ndarray) -> np.ndarray:
        """Typical uses per active week of each feature (rows: customers, columns: ``FEATURES``)."""
        return self.feature_rate[customer] * self.seats0[customer, None] ** 0.7

    def addon_need(self) -> np.ndarray:
        """0..1 need for each add-on (columns), from how heavily its signal feature is used."""
        volume = self.weekly_feature_volume(np.arange(self.count))[:, 1:]
        return (volume / (volume + _NEED_SCALE[1:])).astype(np.float32)


def _signup_days(rng: np.random.Generator, window: Window, customers: int) -> np.ndarray:
    """Day number of each sign-up: growing demand, quieter weekends, and at least one sign-up on each
    recent day (and every Feb 29) so a daily welcome sequence always has entrants."""
    offsets = np.arange(window.days)
    day_numbers = window.first_day + offsets
    weight = _SIGNUP_GROWTH ** (offsets / max(window.days - 1, 1))
    weight[(day_numbers + 3) % 7 >= 5] *= _WEEKEND_FACTOR
    leap = [day - window.first_day for day in window.leap_days()]
    recent = [offset for offset in offsets[::-1] if offset not in leap]
    guaranteed = np.array((leap + recent)[: customers // 4], dtype=np.int64)
    counts = np.zeros(window.days, dtype=np.int64)
    counts[guaranteed] = 1
    counts += rng.multinomial(customers - len(guaranteed), weight / weight.sum())
    return np.repeat(day_numbers, counts)


def _local_daytime_us(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """A time of day (UTC, microseconds) that falls in working hours for the customer's country."""
    local_hours = np.clip(rng.normal(13.5, 3.0, len(country)), 6.0, 23.5)
    night_owls = rng.random(len(country)) < 0.08
    local_hours[night_owls] = rng.uniform(0.0, 24.0, np.count_nonzero(night_owls))
    utc_hours = (local_hours - UTC_OFFSET_HOURS[country]) % 24.0
    return (utc_hours * US_PER_HOUR).astype(np.int64) // US_PER_SECOND * US_PER_SECOND


def build_accounts(rng: np.random.Generator, window: Window, customers: int) -> Accounts:
    day = _signup_days(rng, window, customers)
    country = rng.choice(len(COUNTRIES), size=customers, p=COUNTRY_SHARES)
    created_us = day * US_PER_DAY + _local_daytime_us(rng, country)
    order = np.argsort(created_us, kind="stable")
    created_us, country = created_us[order], country[order]

    band = rng.choice(len(EMPLOYEE_BANDS), size=customers, p=_BAND_SHARE)
    channel = np.where(
        band >= 3,
        rng.choice(len(ACQUISITION_CHANNELS), size=customers, p=_CHANNEL_SHARE_LARGE),
        rng.choice(len(ACQUISITION_CHANNELS), size=customers, p=_CHANNEL_SHARE_SMALL),
    )
    engagement = rng.choice(len(ENGAGEMENT_LEVELS), size=customers, p=_ENGAGEMENT_SHARE)
    trial = rng.random(customers) < _TRIAL_SHARE_BY_CHANNEL[channel]

    # Leap-day edge case: the first sign-up on each Feb 29 buys an annual plan directly and stays,
    # so every generated business exercises renewals anchored on Feb 29.
    steady = np.zeros(customers, dtype=bool)
    leap_customers = np.searchsorted(created_us // US_PER_DAY, window.leap_days())
    leap_customers = leap_customers[leap_customers < customers]
    leap_customers = leap_customers[np.isin(created_us[leap_customers] // US_PER_DAY, window.leap_days())]
    steady[leap_customers] = True
    trial[steady] = False
    engagement[steady] = 0

    onboards = rng.random(customers) < _ONBOARDING_RATE[engagement]
    onboarding_delay = np.minimum(
        (0.3 + rng.exponential(1.2, customers) * (1 + engagement)) * US_PER_DAY, (TRIAL_DAYS - 1) * US_PER_DAY
    ).astype(np.int64)
    onboarding_us = np.where(onboards, created_us + onboarding_delay, -1)

    seats0 = np.maximum(1.0, np.round(_BAND_MEDIAN_SEATS[band] * rng.lognormal(0.0, 0.35, customers)))
    seat_growth = np.maximum(rng.normal(0.012, 0.02, customers) + 0.01 * (engagement == 0), -0.01)
    storage0 = np.round(seats0 * rng.lognormal(np.log(0.3), 0.6, customers), 2)
    storage_growth = seats0 * rng.lognormal(np.log(0.35), 0.9, customers)

    adopted = rng.random((customers, len(FEATURES))) < _ADOPTION * _LEVEL_ADOPTION[engagement, None]
    adopted[:, 5] &= band >= 2  # single sign-on is for larger teams
    feature_rate = (
        adopted
        * _MEDIAN_WEEKLY_USES
        * _LEVEL_INTENSITY[engagement, None]
        * rng.lognormal(0.0, 0.8, (customers, len(FEATURES)))
    )

    company_words = np.column_stack(
        [
            rng.integers(len(COMPANY_ADJECTIVES), size=customers),
            rng.integers(len(COMPANY_NOUNS), size=customers),
            rng.integers(1 << 16, size=customers),
        ]
    )
    email_domain = rng.choice(len(_EMAIL_DOMAINS), size=customers, p=[0.6, 0.25, 0.15])
    return Accounts(
        created_us=created_us,
        country=country,
        band=band,
        industry=rng.choice(len(INDUSTRIES), size=customers, p=_INDUSTRY_SHARE),
        channel=channel,
        engagement=engagement,
        trial=trial,
        onboards=onboards,
        onboarding_us=onboarding_us,
        seats0=seats0,
        seat_growth=seat_growth,
        storage0=storage0,
        storage_growth=storage_growth,
        feature_rate=feature_rate.astype(np.float32),
        steady=steady,
        company_words=company_words,
        email_domain=email_domain,
    )


def company_domains(accounts: Accounts, customer: np.ndarray) -> pa.Array:
    """A distinct domain per company under the reserved example domains, e.g. ``blueharbor42.example.com``."""
    adjective = pa.array([slug for _, slug in COMPANY_ADJECTIVES]).take(accounts.company_words[customer, 0])
    noun = pa.array([slug for _, slug in COMPANY_NOUNS]).take(accounts.company_words[customer, 1])
    number = pc.cast(pa.array(customer + 1), pa.string())
    domain = pick(_EMAIL_DOMAINS, accounts.email_domain[customer])
    return pc.binary_join_element_wise(adjective, noun, number, ".", domain, "")


def customers_columns(accounts: Accounts, ids: Ids) -> dict[str, pa.Array]:
    suffixes = [suffix for country in COUNTRIES for suffix in country.company_suffixes]
    first_suffix = np.cumsum([0] + [len(country.company_suffixes) for country in COUNTRIES])
    suffix_count = np.diff(first_suffix)
    suffix = first_suffix[accounts.country] + accounts.company_words[:, 2] % suffix_count[accounts.country]
    company_name = pc.binary_join_element_wise(
        pa.array([name for name, _ in COMPANY_ADJECTIVES]).take(accounts.company_words[:, 0]),
        pa.array([name for name, _ in COMPANY_NOUNS]).take(accounts.company_words[:, 1]),
        pick(suffixes, suffix),
        " ",
    )
    return {
        "customer_id": ids.customer,
        "company_name": company_name,
        "industry": pick(INDUSTRIES, accounts.industry),
        "employee_band": pick(EMPLOYEE_BANDS, accounts.band),
        "country_code": pick(COUNTRY_CODES, accounts.country),
        "created_at": timestamps(accounts.created_us),
        "acquisition_channel": pick(ACQUISITION_CHANNELS, accounts.channel),
    }
