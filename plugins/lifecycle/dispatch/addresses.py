"""Email address checks at send time, cheap for the common address and exact for every other.

``email_validator`` spends most of its time on the domain (IDNA and special-use checks), and a send
run sees a few thousand domains across a million addresses. So the domain is validated once per
distinct domain (by ``email_validator`` itself, on a probe address) and only the local part is
checked per address; any address the shortcut is not certain about (non-ASCII, quoted, a mailbox
name that ``email_validator`` lowercases, a non-ASCII domain, one that fails) goes through
``email_validator`` in full, so the result and the error message are always its own.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH

# RFC 5322 dot-atom of ASCII atext: a subset of what email_validator accepts unchanged.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LOWERCASED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def normalized_email(address: str) -> str:
    """The address as ``validate_email(address, check_deliverability=False).normalized`` gives it;
    raises its ``EmailNotValidError`` for an invalid one."""
    local, at, domain = address.rpartition("@")
    if at and address.isascii() and len(address) <= EMAIL_MAX_LENGTH and _DOT_ATOM.fullmatch(local):
        ascii_domain = _ascii_domain(domain)
        if ascii_domain is not None and local.lower() not in _LOWERCASED_MAILBOXES:
            return f"{local}@{ascii_domain}"
    return validate_email(address, check_deliverability=False).normalized


@lru_cache(maxsize=16_384)
def _ascii_domain(domain: str) -> str | None:
    """The normalized domain when it is valid and stays ASCII (so lengths do not change); else None."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain if checked.domain == checked.ascii_domain else None
