from datetime import date

import pytest

from lifecycle.dispatch.send_mode import SendMode, resolve_send_mode
from lifecycle.unsubscribe import unsubscribe_signature, unsubscribe_url, verify_unsubscribe_signature


def test_unsubscribe_links_are_signed_per_message():
    url = unsubscribe_url("https://hooks.example", "s3cret", "welcome:C1:2026-11-20:day_0")
    assert url.startswith("https://hooks.example/unsubscribe?m=welcome%3AC1%3A2026-11-20%3Aday_0&s=")
    signature = unsubscribe_signature("s3cret", "welcome:C1:2026-11-20:day_0")
    assert verify_unsubscribe_signature("s3cret", "welcome:C1:2026-11-20:day_0", signature)
    assert not verify_unsubscribe_signature("s3cret", "welcome:C2:2026-11-20:day_0", signature)
    assert not verify_unsubscribe_signature("other", "welcome:C1:2026-11-20:day_0", signature)


@pytest.mark.parametrize(
    ("requested", "as_of", "expected"),
    [
        ("auto", date(2026, 11, 20), SendMode.LIVE),
        ("auto", date(2026, 11, 19), SendMode.LIVE),
        ("auto", date(2026, 11, 1), SendMode.SIMULATE),  # a backfill never sends unless asked
        ("live", date(2026, 1, 1), SendMode.LIVE),
        ("simulate", date(2026, 11, 21), SendMode.SIMULATE),
    ],
)
def test_send_mode(requested, as_of, expected):
    assert resolve_send_mode(requested, as_of, today=date(2026, 11, 21)) is expected


def test_unknown_send_mode_is_refused():
    with pytest.raises(ValueError, match="auto, live or simulate"):
        resolve_send_mode("yolo", date(2026, 11, 21))
