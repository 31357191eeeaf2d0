"""Checks and normalisation of formatted values (domain layer): phones, e-mails, credit codes, months.

Each function returns the canonical form of a good value or None for a bad one, so the
validators can name the field and reason themselves. No I/O, no clock: callers pass "now".

Every pattern is ASCII-only (`re.ASCII`): Python's `\\d`, `int()` and `float()` accept any
Unicode digit, so without it '２０２４-０５' would pass as a month and full-width digits
would be stored in phone numbers. (Numbers typed in text: telco360_imports.values.ascii_decimal.)
"""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PHONE_JUNK = re.compile(r"[\s\-().\u3000/]")
_E164 = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
# Mainland numbers after the +86 country code: mobiles, Beijing/2x two-digit area codes
# with 8-digit subscribers, three-digit area codes with 7-8 digits, and 400/800 numbers.
_CN_NATIONAL = re.compile(r"1[3-9]\d{9}|(?:10|2\d)\d{8}|[3-9]\d{2}\d{7,8}", re.ASCII)


def normalise_phone(raw: str, default_country: str = "86") -> str | None:
    """E.164 form of a phone number, or None when it is not a plausible number.

    Numbers without a country code are taken as mainland China numbers (+86): 11-digit
    mobiles, landlines with a trunk '0' and area code, and 400/800 service numbers.
    '00' and '+' introduce an international number.
    """
    text = _PHONE_JUNK.sub("", raw.strip())
    if text.startswith("＋"):  # full-width plus from Chinese input methods
        text = "+" + text[1:]
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        if not _E164.fullmatch(text):
            return None
        if text.startswith("+86") and not _CN_NATIONAL.fullmatch(text[3:]):
            return None
        return text
    if not text.isdigit() or not text.isascii():
        return None
    if text.startswith("0"):
        text = text[1:]  # trunk prefix of a mainland landline
    elif text.startswith(default_country) and len(text) == 13:
        text = text[len(default_country) :]
    if _CN_NATIONAL.fullmatch(text):
        return "+" + default_country + text
    return None


_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def normalise_email(raw: str) -> str | None:
    """Lower-case e-mail address, or None when it is not a plausible address."""
    text = raw.strip().lower()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        return None
    return text


# GB 32100-2015: 18 characters from this 31-character alphabet (no I, O, Z, S, V); the
# last one is a check character over the first 17 with weights 3^i mod 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a code."""
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=False))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(code: str) -> str | None:
    """None when the code is valid; otherwise "format" or "checksum"."""
    if len(code) != 18 or any(c not in _CREDIT_VALUE for c in code):
        return "format"
    if credit_code_check_char(code[:17]) != code[17]:
        return "checksum"
    return None


_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def parse_month(text: str) -> int | None:
    """A "YYYY-MM" month as a month index (year*12 + month-1), None when malformed."""
    match = _MONTH.fullmatch(text)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1:
        return None
    return year * 12 + month - 1


def month_index(year: int, month: int) -> int:
    """Month index of a calendar month, comparable with parse_month's result."""
    return year * 12 + month - 1


_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)", re.ASCII)


def check_hours(text: str) -> bool:
    """True for "HH:MM-HH:MM" ranges (comma-separated), each start before its end."""
    for part in text.split(","):
        match = _HOURS.fullmatch(part.strip())
        if not match:
            return False
        start = int(match.group(1)) * 60 + int(match.group(2))
        end = int(match.group(3)) * 60 + int(match.group(4))
        if end <= start or end > 24 * 60:
            return False
    return True


IDENTIFIER = re.compile(r"[A-Za-z0-9_\-]{1,64}")
SOURCE = re.compile(r"[a-z0-9_\-]{1,64}")
ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@lru_cache(maxsize=1024)
def is_time_zone(name: str) -> bool:
    """True when name is a known IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a directory of the zone database ("Asia") or a name the file system
        # refuses; neither is a zone.
        return False
    return True
