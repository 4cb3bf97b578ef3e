"""Masking of email addresses and phone numbers, so logs never carry a recipient in clear."""

from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-])[A-Za-z0-9.\-]*(\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+(\d)(\d{2,10})(\d{4})\b")


def mask_email(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@e***.com``."""
    return _EMAIL.sub(r"\1***@\2***\3", address)


def mask_phone(number: str) -> str:
    """``+14155550123`` -> ``+1******0123`` (first and last four digits stay, enough for support)."""
    return _PHONE.sub(lambda m: f"+{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", number)


def mask_pii(text: str) -> str:
    return mask_phone(mask_email(text))


def install_pii_masking() -> None:
    """Mask every log record this process creates, from now on.

    Masking happens where records are made (the log record factory), not in handlers: Airflow and
    uvicorn replace the root handlers when they are imported, which would silently drop a handler
    filter. Idempotent.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_pii", False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    masking_factory.masks_pii = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
