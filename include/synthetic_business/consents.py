"""Consent history with provenance: email granted at sign-up for most people, SMS for a minority at
checkout or in the preference centre, then withdrawals (STOP replies, preference changes, requests to
support) and a few opt-backs, as an append-only log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lifecycle.landing.contract import CONSENT_SOURCES

from .arrow_out import id_strings, id_width, pick, timestamps
from .ids import Ids, lookup
from .people import ContactBook
from .timeline import US_PER_DAY, US_PER_SECOND, Window

_APP = "https://app.example.com"
_STOP_WORDS = ("STOP", "STOP", "Stop", "stop", "UNSUBSCRIBE", "STOPALL", "CANCEL", "QUIT", "END")
_START_WORDS = ("START", "UNSTOP", "YES")


@dataclass
class _Log:
    """Consent rows collected in batches of one kind (channel, status, source)."""

    contact: list[np.ndarray] = field(default_factory=list)
    at: list[np.ndarray] = field(default_factory=list)
    sms: list[np.ndarray] = field(default_factory=list)
    granted: list[np.ndarray] = field(default_factory=list)
    source: list[np.ndarray] = field(default_factory=list)
    evidence: list[pa.Array] = field(default_factory=list)

    def add(
        self,
        contact: np.ndarray,
        at: np.ndarray,
        *,
        sms: bool,
        granted: bool,
        source: str,
        evidence: pa.Array | str,
    ) -> None:
        if isinstance(evidence, str):
            evidence = pa.array(np.full(len(contact), evidence, dtype=object), pa.string())
        self.contact.append(contact)
        self.at.append(at)
        self.sms.append(np.full(len(contact), sms))
        self.granted.append(np.full(len(contact), granted))
        self.source.append(np.full(len(contact), CONSENT_SOURCES.index(source)))
        self.evidence.append(evidence)


def _later(rng: np.random.Generator, at: np.ndarray, mean_days: float) -> np.ndarray:
    """Some time after ``at``: an exponential wait of ``mean_days`` on average, at least a minute."""
    return at + (rng.exponential(mean_days, len(at)) * US_PER_DAY).astype(np.int64) + 60 * US_PER_SECOND


def _form_version(window: Window, at: np.ndarray) -> pa.Array:
    """The sign-up form was revised twice during the window; evidence names the version shown."""
    version = 1 + np.minimum(3 * (at - window.start_us) // (window.end_us - window.start_us + 1), 2)
    return pick([f"{_APP}/signup (form v{number})" for number in (1, 2, 3)], version - 1)


def _email_history(rng: np.random.Generator, log: _Log, book: ContactBook, window: Window) -> None:
    """Granted at creation (sign-up form, or the CRM import for colleagues) or later in preferences;
    7% withdraw later, most in the preference centre, some by asking support."""
    contacts, primary = np.arange(book.total), book.is_primary
    at_creation = rng.random(book.total) < np.where(primary, 0.92, 0.75)
    imported = ~primary & (rng.random(book.total) < 0.4)
    signup = contacts[at_creation & ~imported]
    signup_at = book.created_us[signup]
    log.add(
        signup,
        signup_at,
        sms=False,
        granted=True,
        source="signup_form",
        evidence=_form_version(window, signup_at),
    )
    batch = contacts[at_creation & imported]
    batch_at = book.created_us[batch]
    month = pc.strftime(pa.array(batch_at, pa.timestamp("us")), format="%Y-%m")
    log.add(
        batch,
        batch_at,
        sms=False,
        granted=True,
        source="import",
        evidence=pc.binary_join_element_wise("crm import", month, " "),
    )
    late = contacts[~at_creation & (rng.random(book.total) < 0.2)]
    late_at = _later(rng, book.created_us[late], 60)
    log.add(
        late, late_at, sms=False, granted=True, source="preference_center", evidence=f"{_APP}/preferences"
    )

    granted, granted_at = (
        np.concatenate([signup, batch, late]),
        np.concatenate([signup_at, batch_at, late_at]),
    )
    leaving = rng.random(len(granted)) < 0.07
    via_support = rng.random(len(granted)) < 0.2
    for rows, source, evidence in (
        (leaving & ~via_support, "preference_center", f"{_APP}/preferences"),
        (leaving & via_support, "support_request", "asked support by email to stop emails"),
    ):
        log.add(
            granted[rows],
            _later(rng, granted_at[rows], 200),
            sms=False,
            granted=False,
            source=source,
            evidence=evidence,
        )


def _sms_history(rng: np.random.Generator, log: _Log, book: ContactBook, paid_start_us: np.ndarray) -> None:
    """A minority with a phone opt in (primary contacts mostly at checkout); 18% reply STOP later and a
    few of those reply START."""
    contacts = np.arange(book.total)
    paid = paid_start_us[book.customer] >= 0
    checkout = contacts[book.has_phone & book.is_primary & paid & (rng.random(book.total) < 0.25)]
    checkout_at = paid_start_us[book.customer[checkout]]
    log.add(
        checkout,
        checkout_at,
        sms=True,
        granted=True,
        source="checkout",
        evidence=f"{_APP}/checkout (sms opt-in v2)",
    )
    chose = book.has_phone & (rng.random(book.total) < 0.08)
    chose[checkout] = False
    preferences = contacts[chose]
    preferences_at = _later(rng, book.created_us[preferences], 30)
    log.add(
        preferences,
        preferences_at,
        sms=True,
        granted=True,
        source="preference_center",
        evidence=f"{_APP}/preferences#sms",
    )

    opted_in = np.concatenate([checkout, preferences])
    opted_in_at = np.concatenate([checkout_at, preferences_at])
    stops = rng.random(len(opted_in)) < 0.18
    stopped, stop_at = opted_in[stops], _later(rng, opted_in_at[stops], 120)
    log.add(
        stopped,
        stop_at,
        sms=True,
        granted=False,
        source="sms_keyword",
        evidence=pick(_STOP_WORDS, rng.integers(len(_STOP_WORDS), size=len(stopped))),
    )
    restarts = rng.random(len(stopped)) < 0.12
    log.add(
        stopped[restarts],
        _later(rng, stop_at[restarts], 30),
        sms=True,
        granted=True,
        source="sms_keyword",
        evidence=pick(_START_WORDS, rng.integers(len(_START_WORDS), size=int(restarts.sum()))),
    )


def consents_columns(
    rng: np.random.Generator, book: ContactBook, ids: Ids, paid_start_us: np.ndarray, window: Window
) -> dict[str, pa.Array]:
    log = _Log()
    _email_history(rng, log, book, window)
    _sms_history(rng, log, book, paid_start_us)
    contact, at = np.concatenate(log.contact), np.concatenate(log.at)
    order = np.lexsort((at, contact))
    order = order[at[order] <= window.end_us]  # what has not happened yet is not recorded
    return {
        "consent_id": id_strings("cns_", np.arange(1, len(order) + 1), id_width(len(order))),
        "contact_id": lookup(ids.contact, contact[order]),
        "channel": pick(("email", "sms"), np.concatenate(log.sms)[order]),
        "status": pick(("revoked", "granted"), np.concatenate(log.granted)[order]),
        "recorded_at": timestamps(at[order]),
        "source": pick(CONSENT_SOURCES, np.concatenate(log.source)[order]),
        "evidence": pa.concat_arrays(log.evidence).take(order),
    }
