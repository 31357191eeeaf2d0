"""Unified social credit codes (统一社会信用代码) per GB 32100-2015.

Layout of the 18 characters: registration authority (1) + organisation category (1) +
administrative division code (6) + organisation code per GB 11714 (8 body characters and
its own check character) + the check character of the whole code. Characters come from
the 31-character set ``0-9 A-H J-N P-R T U W X Y`` (no I, O, S, V, Z). The check
character is ``31 - (sum(value_i * 3**i mod 31) mod 31)``, with 31 written as ``0``.
"""

from __future__ import annotations

import random

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 organisation code: body weights and values (letters A=10 ... Z=35).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Whether the code has 18 allowed characters and a correct check character."""
    if len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return check_character(code[:17]) == code[17]


def _org_value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def organisation_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    c = 11 - sum(_org_value(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def make_code(rng: random.Random, prefix: str, division_code: str) -> str:
    """A valid code for an organisation registered under ``prefix`` in ``division_code``.

    Enterprises (prefix "91"/"92"/"93") mostly carry the newer "MA..." organisation codes,
    older bodies numeric ones.
    """
    if prefix[0] == "9" and rng.random() < 0.7:
        body = "MA" + "".join(CHARSET[rng.randrange(len(CHARSET))] for _ in range(6))
    else:
        body = f"{rng.randrange(10**8):08d}"
    first17 = prefix + division_code + body + organisation_check(body)
    return first17 + check_character(first17)
