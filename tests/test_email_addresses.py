"""The dispatcher's cached address check gives exactly what ``email_validator`` gives, address by address."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from lifecycle.dispatch.addresses import normalized_email

EDGE_CASES = [
    "user1@example.com",
    "First.Last+tag@Example.COM",
    "Postmaster@example.com",
    "abuse@EXAMPLE.com",
    "o'brien@example.co.uk",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@b@example.com",
    '"quoted"@example.com',
    "José@example.com",
    "user@bücher.de",
    "user@xn--bcher-kva.de",
    "user@localhost",
    "user@example",
    "user@example.local",
    "user@example.test",
    "user@123.456",
    "user@-example.com",
    "user@example-.com",
    "user@ab--cd.com",
    "user@example.com.",
    "user@[192.168.0.1]",
    "Name <user@example.com>",
    "user @example.com",
    "user@exa mple.com",
    "@example.com",
    "user@",
    "",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com",
    "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 57,
    "user@" + "a" * 64 + ".com",
    "<b>name</b>@example.com",
]


def _expected(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        return f"error: {exc}"


def _actual(address: str) -> str:
    try:
        return normalized_email(address)
    except EmailNotValidError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("address", EDGE_CASES)
def test_edge_cases_match_email_validator(address: str) -> None:
    assert _actual(address) == _expected(address)


def test_random_addresses_match_email_validator() -> None:
    rng = random.Random(20261120)
    local_chars = "abcXYZ019.+-_'!#~ @\"é"
    domains = [
        "example.com",
        "EXAMPLE.org",
        "mail.example.co.uk",
        "localhost",
        "x.test",
        "b-c.io",
        "ü.de",
        "a..b.com",
    ]
    for _ in range(3000):
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(0, 12)))
        address = f"{local}@{rng.choice(domains)}"
        assert _actual(address) == _expected(address), address
