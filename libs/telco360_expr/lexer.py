"""Tokenizer of the expression language.

Tokens: numbers (12, 3.5, 1e6), strings in single or double quotes (backslash escapes the
quote), names (letters, digits, '_', dotted segments such as attr.industry_segment),
keywords (and, or, not, in, between, true, false, null), operators (= == != <> < <= > >=
+ - * /) and punctuation ( ) ,. Every token records its start position for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from telco360_expr.errors import EXPRESSION_TOO_LONG, ExpressionError

KEYWORDS = frozenset({"and", "or", "not", "in", "between", "true", "false", "null"})
_TWO_CHAR_OPS = {"==": "=", "!=": "!=", "<>": "!=", "<=": "<=", ">=": ">="}
_ONE_CHAR_OPS = {"=": "=", "<": "<", ">": ">", "+": "+", "-": "-", "*": "*", "/": "/", "(": "(", ")": ")", ",": ","}
MAX_LENGTH = 4000


@dataclass(frozen=True)
class Token:
    """One token: kind is NUMBER, STRING, NAME, KEYWORD, OP or END."""

    kind: str
    value: str | float
    pos: int


def _is_name_start(ch: str) -> bool:
    return ch.isascii() and (ch.isalpha() or ch == "_")


def _is_name_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _is_digit(ch: str) -> bool:
    # ASCII only: str.isdigit() accepts full-width and other scripts' digits, which
    # float() then reads as numbers ("１００" would silently be 100).
    return "0" <= ch <= "9"


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens, ending with an END token; raises ExpressionError."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            MAX_LENGTH, f"expression longer than {MAX_LENGTH} characters (got {len(text)})", EXPRESSION_TOO_LONG
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif _is_digit(ch) or (ch == "." and i + 1 < n and _is_digit(text[i + 1])):
            i = _number(text, i, tokens)
        elif ch in "'\"":
            i = _string(text, i, tokens)
        elif _is_name_start(ch):
            i = _name(text, i, tokens)
        elif text[i : i + 2] in _TWO_CHAR_OPS:
            tokens.append(Token("OP", _TWO_CHAR_OPS[text[i : i + 2]], i))
            i += 2
        elif ch in _ONE_CHAR_OPS:
            tokens.append(Token("OP", _ONE_CHAR_OPS[ch], i))
            i += 1
        else:
            raise ExpressionError(i, f"unexpected character {ch!r}")
    tokens.append(Token("END", "", n))
    return tokens


def _number(text: str, start: int, tokens: list[Token]) -> int:
    i, n = start, len(text)
    while i < n and (_is_digit(text[i]) or text[i] == "."):
        i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and _is_digit(text[j]):
            i = j
            while i < n and _is_digit(text[i]):
                i += 1
    raw = text[start:i]
    try:
        value = float(raw)
    except ValueError:
        raise ExpressionError(start, f"malformed number {raw!r}") from None
    if i < n and _is_name_start(text[i]):
        raise ExpressionError(i, f"unexpected character {text[i]!r} after number")
    tokens.append(Token("NUMBER", value, start))
    return i


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote, i, n = text[start], start + 1, len(text)
    chars: list[str] = []
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            chars.append(text[i + 1])
            i += 2
        elif ch == quote:
            tokens.append(Token("STRING", "".join(chars), start))
            return i + 1
        else:
            chars.append(ch)
            i += 1
    raise ExpressionError(start, "unterminated string")


def _name(text: str, start: int, tokens: list[Token]) -> int:
    i, n = start, len(text)
    while i < n and _is_name_char(text[i]):
        i += 1
    while i + 1 < n and text[i] == "." and _is_name_start(text[i + 1]):
        i += 1
        while i < n and _is_name_char(text[i]):
            i += 1
    word = text[start:i]
    if word.lower() in KEYWORDS:
        tokens.append(Token("KEYWORD", word.lower(), start))
    else:
        tokens.append(Token("NAME", word, start))
    return i
