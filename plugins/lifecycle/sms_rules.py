"""SMS facts shared by the dispatcher, the webhook receiver and the local Twilio server: E.164, GSM-7 vs
UCS-2 segmenting, and the reply keywords that opt out, opt in or ask for help (DESIGN.md
invariant 3, Twilio's standard sets: a reply that is one of them, alone).

Segments follow the carriers' rules: a GSM-7 body fits 160 septets in one segment, otherwise 153 per
segment (extension characters such as ``€`` and ``{`` take two septets and are never split); a body
with any other character is UCS-2, 70 UTF-16 units in one segment, otherwise 67 (surrogate pairs
never split).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = set("\f^{}\\[~]|€")


def is_gsm7(body: str) -> bool:
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body)


def _pack(units: list[int], single: int, multi: int) -> int:
    """Segments needed for characters costing ``units`` each, never splitting one character."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for cost in units:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def num_segments(body: str) -> int:
    if not body:
        return 1
    if is_gsm7(body):
        return _pack([2 if ch in _GSM7_EXTENSION else 1 for ch in body], 160, 153)
    return _pack([2 if ord(ch) > 0xFFFF else 1 for ch in body], 70, 67)


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
_KEYWORDS = {
    **dict.fromkeys(OPT_OUT_WORDS, Keyword.OPT_OUT),
    **dict.fromkeys(("START", "UNSTOP", "YES"), Keyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


@dataclass(frozen=True)
class KeywordMatch:
    word: str  # upper case, as listed above
    kind: Keyword


def _is_padding(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def match_keyword(body: str) -> KeywordMatch | None:
    """The keyword a message consists of (``" Stop! "`` -> STOP), or None for any other text.

    Only surrounding whitespace and punctuation are tolerated: "stop sending me offers" is a
    conversation, not a keyword, as carriers and Twilio treat it.
    """
    start, end = 0, len(body)
    while start < end and _is_padding(body[start]):
        start += 1
    while end > start and _is_padding(body[end - 1]):
        end -= 1
    word = body[start:end].upper()
    kind = _KEYWORDS.get(word)
    return None if kind is None else KeywordMatch(word, kind)
