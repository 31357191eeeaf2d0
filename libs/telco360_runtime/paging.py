"""One paging rule and one page-token format for every listing of the suite.

Limit rule: `page_size` 0 means the listing's default; a negative size or one above the
listing's maximum is rejected (OUT_OF_RANGE), never silently clamped, so a client learns
the limit instead of receiving fewer items than it asked for without knowing why.

Token format: URL-safe base64 of a small JSON object `{"s": scope, "k": key}` where `key`
is the last item's sort key (keyset paging: a page never skips or repeats an item when
others are inserted meanwhile) and `scope` a short digest of what was listed (the filter,
the expression) so that a token cannot be replayed against another listing. Tokens are
opaque to clients; a bad one answers INVALID_ARGUMENT on `page.page_token` (BAD_FORMAT,
or STALE when it belongs to another listing).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from telco360_runtime.errors import FieldViolation, InvalidArgument, ViolationCollector
from telco360_runtime.reasons import BAD_FORMAT, OUT_OF_RANGE, STALE

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
TOKEN_MAX = 512  # characters; a token carries one sort key and a 12-character digest


class PageMessage(Protocol):
    """What `telco360.common.v1.PageRequest` offers (any object with these fields)."""

    page_size: int
    page_token: str


@dataclass(frozen=True)
class Page:
    """A validated page request: how many items and the sort key to resume after ("" = start)."""

    size: int
    after: str
    scope: str

    def next_token(self, last_key: str | int) -> str:
        """The token of the page after the one ending at `last_key`."""
        return encode_token(self.scope, last_key)


def scope_of(*parts: object) -> str:
    """A short digest naming one listing (its filter values), stable across processes."""
    text = json.dumps([str(p) for p in parts], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_token(scope: str, last_key: str | int) -> str:
    """An opaque token resuming after `last_key` in the listing named by `scope`."""
    raw = json.dumps({"s": scope, "k": str(last_key)}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, scope: str) -> str:
    """The sort key a token resumes after; InvalidArgument when it is not one of ours."""
    out = ViolationCollector()
    key = _decode(out, token, scope, "page.page_token")
    out.raise_if_any()
    return key


def _decode(out: ViolationCollector, token: str, scope: str, field: str) -> str:
    if len(token) > TOKEN_MAX or not token.isascii():
        out.add(field, "is not a page token from this listing", BAD_FORMAT)
        return ""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        token_scope, key = data["s"], data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        out.add(field, "is not a page token from this listing", BAD_FORMAT)
        return ""
    if not isinstance(token_scope, str) or not isinstance(key, str):
        out.add(field, "is not a page token from this listing", BAD_FORMAT)
        return ""
    if token_scope != scope:
        out.add(field, "belongs to another listing (other filters); start again without a token", STALE)
        return ""
    return key


def check_page(
    out: ViolationCollector,
    page: PageMessage,
    *,
    scope: str = "",
    field: str = "page",
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = MAX_PAGE_SIZE,
) -> Page:
    """Validate a page request into `out` (collecting, for request validators)."""
    size = int(page.page_size)
    if size < 0 or size > maximum:
        out.add(f"{field}.page_size", f"must be between 0 (default {default}) and {maximum} (got {size})", OUT_OF_RANGE)
        size = default
    after = _decode(out, page.page_token, scope, f"{field}.page_token") if page.page_token else ""
    return Page(size or default, after, scope)


def read_page(
    page: PageMessage,
    *,
    scope: str = "",
    field: str = "page",
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = MAX_PAGE_SIZE,
) -> Page:
    """Validate a page request; InvalidArgument (every violation at once) when it is bad."""
    out = ViolationCollector()
    result = check_page(out, page, scope=scope, field=field, default=default, maximum=maximum)
    out.raise_if_any()
    return result


def page_violation(description: str) -> InvalidArgument:
    """An InvalidArgument on page.page_token (for a key that decodes but cannot be used)."""
    return InvalidArgument(FieldViolation("page.page_token", description, BAD_FORMAT))
