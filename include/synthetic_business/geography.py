"""Countries the business sells to: their time zones, locales, mobile number plans and company suffixes.

Mobile prefixes are ranges that ``phonenumbers`` accepts as mobile numbers for the country, so
every generated phone number is valid E.164 for its contact's country.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Country:
    code: str
    share: float
    zones: tuple[tuple[str, float], ...]
    locales: tuple[tuple[str, float], ...]
    # Standard-time UTC offset of the main zone; only used to put activity in local working hours.
    utc_offset_hours: float
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    national_digits: int  # digits after the calling code
    subscriber_floor: int  # lowest digits after the prefix (US exchanges cannot start with 0 or 1)
    company_suffixes: tuple[str, ...]


COUNTRIES = (
    Country(
        "US",
        0.40,
        (
            ("America/New_York", 0.42),
            ("America/Chicago", 0.24),
            ("America/Denver", 0.07),
            ("America/Phoenix", 0.03),
            ("America/Los_Angeles", 0.22),
            ("America/Anchorage", 0.01),
            ("Pacific/Honolulu", 0.01),
        ),
        (("en-US", 0.94), ("es-US", 0.06)),
        -5,
        "1",
        ("212", "213", "312", "415", "512", "617", "646", "702", "206", "303", "404", "305", "503", "602"),
        10,
        2_000_000,
        ("Inc.", "LLC", "Co.", "Corp."),
    ),
    Country(
        "CA",
        0.05,
        (
            ("America/Toronto", 0.55),
            ("America/Vancouver", 0.25),
            ("America/Edmonton", 0.1),
            ("America/Halifax", 0.05),
            ("America/St_Johns", 0.05),
        ),
        (("en-CA", 0.8), ("fr-CA", 0.2)),
        -5,
        "1",
        ("416", "604", "514", "403", "613", "647", "778"),
        10,
        2_000_000,
        ("Inc.", "Ltd."),
    ),
    Country(
        "GB",
        0.10,
        (("Europe/London", 1.0),),
        (("en-GB", 1.0),),
        0,
        "44",
        ("73", "740", "741", "742", "743", "744", "771", "772", "773", "780", "784", "785"),
        10,
        0,
        ("Ltd", "plc", "LLP"),
    ),
    Country(
        "DE",
        0.08,
        (("Europe/Berlin", 1.0),),
        (("de-DE", 1.0),),
        1,
        "49",
        ("151", "152", "157", "172", "173", "174", "176"),
        11,
        0,
        ("GmbH", "AG", "UG"),
    ),
    Country(
        "FR",
        0.05,
        (("Europe/Paris", 1.0),),
        (("fr-FR", 1.0),),
        1,
        "33",
        ("61", "62", "64", "65", "66", "67", "68"),
        9,
        0,
        ("SAS", "SARL"),
    ),
    Country(
        "NL",
        0.03,
        (("Europe/Amsterdam", 1.0),),
        (("nl-NL", 0.9), ("en-NL", 0.1)),
        1,
        "31",
        ("61", "62", "63", "64", "65"),
        9,
        0,
        ("B.V.",),
    ),
    Country(
        "ES",
        0.03,
        (("Europe/Madrid", 0.95), ("Atlantic/Canary", 0.05)),
        (("es-ES", 1.0),),
        1,
        "34",
        ("6",),
        9,
        0,
        ("S.L.", "S.A."),
    ),
    Country(
        "AU",
        0.06,
        (
            ("Australia/Sydney", 0.4),
            ("Australia/Melbourne", 0.3),
            ("Australia/Brisbane", 0.15),
            ("Australia/Perth", 0.1),
            ("Australia/Adelaide", 0.05),
        ),
        (("en-AU", 1.0),),
        10,
        "61",
        ("40", "41", "42", "43"),
        9,
        0,
        ("Pty Ltd",),
    ),
    Country(
        "NZ",
        0.01,
        (("Pacific/Auckland", 1.0),),
        (("en-NZ", 1.0),),
        12,
        "64",
        ("21", "22", "27"),
        9,
        0,
        ("Ltd",),
    ),
    Country(
        "JP",
        0.04,
        (("Asia/Tokyo", 1.0),),
        (("ja-JP", 1.0),),
        9,
        "81",
        ("70", "80", "90"),
        10,
        10_000_000,
        ("K.K.", "G.K."),
    ),
    Country(
        "BR",
        0.05,
        (("America/Sao_Paulo", 0.85), ("America/Manaus", 0.1), ("America/Recife", 0.05)),
        (("pt-BR", 1.0),),
        -3,
        "55",
        ("119", "219", "319", "419", "519", "619", "719", "819"),
        11,
        0,
        ("Ltda.", "S.A."),
    ),
    Country(
        "IN",
        0.06,
        (("Asia/Kolkata", 1.0),),
        (("en-IN", 0.85), ("hi-IN", 0.15)),
        5.5,
        "91",
        ("98", "99", "97", "96", "70", "90", "91", "93", "94", "95"),
        10,
        0,
        ("Pvt Ltd", "LLP"),
    ),
    Country(
        "MX",
        0.02,
        (("America/Mexico_City", 0.8), ("America/Tijuana", 0.1), ("America/Monterrey", 0.1)),
        (("es-MX", 1.0),),
        -6,
        "52",
        ("55", "33", "81"),
        10,
        0,
        ("S.A. de C.V.",),
    ),
    Country(
        "SG",
        0.01,
        (("Asia/Singapore", 1.0),),
        (("en-SG", 1.0),),
        8,
        "65",
        ("81", "82", "83", "84", "85", "86", "87", "88", "90", "91", "92", "93", "94", "96", "97", "98"),
        8,
        0,
        ("Pte Ltd",),
    ),
    Country(
        "ZA",
        0.01,
        (("Africa/Johannesburg", 1.0),),
        (("en-ZA", 1.0),),
        2,
        "27",
        ("60", "61", "62", "71", "72", "73", "74", "76", "78", "79", "82", "83", "84"),
        9,
        0,
        ("(Pty) Ltd",),
    ),
)

COUNTRY_CODES = tuple(country.code for country in COUNTRIES)
COUNTRY_SHARES = np.array([country.share for country in COUNTRIES]) / sum(c.share for c in COUNTRIES)
UTC_OFFSET_HOURS = np.array([country.utc_offset_hours for country in COUNTRIES])

# Every zone and locale in one list, so contacts carry a single code for each.
ZONES = tuple(dict.fromkeys(zone for country in COUNTRIES for zone, _ in country.zones))
LOCALES = tuple(dict.fromkeys(locale for country in COUNTRIES for locale, _ in country.locales))


def draw_by_country(
    rng: np.random.Generator, country: np.ndarray, options: str, names: tuple[str, ...]
) -> np.ndarray:
    """For each row's country, draw one of its ``options`` (``zones`` or ``locales``) as a code into ``names``."""
    codes = np.empty(len(country), dtype=np.int32)
    uniform = rng.random(len(country))
    for number, spec in enumerate(COUNTRIES):
        rows = country == number
        choices = getattr(spec, options)
        weights = np.array([weight for _, weight in choices])
        bins = np.cumsum(weights / weights.sum())
        chosen = np.minimum(np.searchsorted(bins, uniform[rows], side="right"), len(choices) - 1)
        codes[rows] = np.array([names.index(name) for name, _ in choices])[chosen]
    return codes
