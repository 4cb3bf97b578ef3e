"""The people at each customer: a primary contact plus 0-3 colleagues, with names in their language,
addresses on reserved example domains, mobile numbers, time zones and locales that match the country.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .accounts import Accounts, company_domains
from .arrow_out import pick, timestamps
from .geography import LOCALES, ZONES, draw_by_country
from .ids import Ids, lookup
from .names import FIRST_NAMES, LANGUAGES, LAST_NAMES, language_of
from .phones import mobile_numbers
from .timeline import US_PER_DAY, Window

# Probability of 0, 1, 2 or 3 colleagues besides the primary contact, by employee band.
_COLLEAGUES = np.array(
    [
        [0.55, 0.30, 0.10, 0.05],
        [0.35, 0.35, 0.20, 0.10],
        [0.20, 0.35, 0.25, 0.20],
        [0.10, 0.30, 0.30, 0.30],
        [0.10, 0.30, 0.30, 0.30],
    ]
)
_PHONE_SHARE = 0.70
_UNKNOWN_ZONE_SHARE = 0.02
_SAME_AS_PRIMARY = 0.85
_PLUS_TAGS = ("news", "saas", "billing", "work", "lifecycle")
_LOCALE_LANGUAGE = np.array([LANGUAGES.index(language_of(locale)) for locale in LOCALES])


@dataclass(frozen=True)
class ContactBook:
    """Contacts grouped by customer: contact ``first[c] + j`` (j < ``count[c]``) belongs to customer ``c``."""

    customer: np.ndarray
    first: np.ndarray
    count: np.ndarray
    created_us: np.ndarray
    has_phone: np.ndarray

    @property
    def total(self) -> int:
        return len(self.customer)

    @property
    def is_primary(self) -> np.ndarray:
        return np.arange(self.total) == self.first[self.customer]

    def actor(
        self, rng: np.random.Generator, customer: np.ndarray, at_us: np.ndarray, primary_share: float
    ) -> np.ndarray:
        """Who did something at ``at_us``: the primary contact or a colleague who existed by then."""
        colleague = self.first[customer] + (rng.random(len(customer)) * self.count[customer]).astype(np.int64)
        chosen = np.where(rng.random(len(customer)) < primary_share, self.first[customer], colleague)
        return np.where(self.created_us[chosen] <= at_us, chosen, self.first[customer])


def build_contacts(rng: np.random.Generator, accounts: Accounts, window: Window) -> ContactBook:
    bins = np.cumsum(_COLLEAGUES, axis=1)[accounts.band]
    count = 1 + (rng.random(accounts.count)[:, None] >= bins[:, :-1]).sum(axis=1)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    customer = np.repeat(np.arange(accounts.count), count)
    signup = accounts.created_us[customer]
    # Colleagues join weeks after sign-up, never after the end of the window.
    joined = np.minimum(
        rng.exponential(45 * US_PER_DAY, len(customer)), rng.random(len(customer)) * (window.end_us - signup)
    )
    created_us = np.where(
        np.arange(len(customer)) == first[customer], signup, signup + joined.astype(np.int64)
    )
    return ContactBook(
        customer=customer,
        first=first,
        count=count,
        created_us=created_us,
        has_phone=rng.random(len(customer)) < _PHONE_SHARE,
    )


def _like_primary(rng: np.random.Generator, book: ContactBook, codes: np.ndarray) -> np.ndarray:
    """Colleagues mostly share the primary contact's value (same office, same language)."""
    same = book.is_primary | (rng.random(book.total) < _SAME_AS_PRIMARY)
    return np.where(same, codes[book.first[book.customer]], codes)


def _email_addresses(
    rng: np.random.Generator, accounts: Accounts, book: ContactBook, first: pa.Array, last: pa.Array
) -> pa.Array:
    """Addresses as people type them: several local-part styles, some plus-addressing, a few capitals."""
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    style = rng.choice(5, size=book.total, p=[0.5, 0.1, 0.2, 0.1, 0.1])
    local = pc.choose(
        pa.array(style, pa.int8()),
        pc.binary_join_element_wise(first, last, "."),
        pc.binary_join_element_wise(first, last, ""),
        pc.binary_join_element_wise(initial, last, "."),
        first,
        pc.binary_join_element_wise(first, last, "_"),
    )
    tagged = rng.random(book.total) < 0.06
    tag = pick(
        [f"+{tag}" for tag in _PLUS_TAGS], rng.integers(len(_PLUS_TAGS), size=book.total), null=~tagged
    )
    local = pc.binary_join_element_wise(local, tag, "", null_handling="replace")
    capitalised = pa.array(rng.random(book.total) < 0.02)
    local = pc.if_else(capitalised, pc.utf8_capitalize(local), local)
    return pc.binary_join_element_wise(local, company_domains(accounts, book.customer), "@")


def contacts_columns(
    rng: np.random.Generator, accounts: Accounts, book: ContactBook, ids: Ids
) -> dict[str, pa.Array]:
    country = accounts.country[book.customer]
    locale = _like_primary(rng, book, draw_by_country(rng, country, "locales", LOCALES))
    zone = _like_primary(rng, book, draw_by_country(rng, country, "zones", ZONES))
    language = _LOCALE_LANGUAGE[locale]
    # Distinct first-name positions within a customer keep colleagues' addresses apart.
    position = rng.integers(1 << 20, size=accounts.count)[book.customer]
    step = 1 + rng.integers(3, size=accounts.count)[book.customer]
    rank = np.arange(book.total) - book.first[book.customer]
    first_code = FIRST_NAMES.codes(language, position + rank * step)
    last_code = LAST_NAMES.codes(language, rng.integers(1 << 20, size=book.total))

    phone_rows = np.flatnonzero(book.has_phone)
    phones = mobile_numbers(rng, country[phone_rows])
    phone_slot = np.full(book.total, 0, dtype=np.int64)
    phone_slot[phone_rows] = np.arange(len(phone_rows))
    return {
        "contact_id": ids.contact,
        "customer_id": lookup(ids.customer, book.customer),
        "first_name": FIRST_NAMES.display.take(first_code),
        "last_name": LAST_NAMES.display.take(last_code),
        "email": _email_addresses(
            rng, accounts, book, FIRST_NAMES.slug.take(first_code), LAST_NAMES.slug.take(last_code)
        ),
        "phone": phones.take(pa.array(phone_slot, mask=~book.has_phone)),
        "time_zone": pick(ZONES, zone, null=rng.random(book.total) < _UNKNOWN_ZONE_SHARE),
        "locale": pick(LOCALES, locale),
        "is_primary": pa.array(book.is_primary),
        "created_at": timestamps(book.created_us),
    }
