"""The one paging rule and token format: round trips, limits, hostile tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telco360_runtime.errors import InvalidArgument
from telco360_runtime.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, encode_token, read_page, scope_of


@dataclass
class PageRequest:
    page_size: int = 0
    page_token: str = ""


def reasons(error: InvalidArgument) -> dict[str, str]:
    return {v.field: v.reason for v in error.violations}


@given(
    key=st.one_of(st.text(max_size=60), st.integers(min_value=0, max_value=2**62)),
    filters=st.lists(st.text(max_size=10), max_size=3),
)
def test_a_token_resumes_after_its_key_in_its_own_listing(key, filters):
    scope = scope_of(*filters)
    first = read_page(PageRequest(), scope=scope)
    token = first.next_token(key)
    assert token.isascii()
    assert read_page(PageRequest(page_token=token), scope=scope).after == str(key)


def test_a_token_from_another_listing_is_stale():
    token = encode_token(scope_of("segment", "a"), "ACC-1")
    with pytest.raises(InvalidArgument) as caught:
        read_page(PageRequest(page_token=token), scope=scope_of("segment", "b"))
    assert reasons(caught.value) == {"page.page_token": "STALE"}


@given(token=st.text(min_size=1, max_size=700))
def test_any_other_string_is_a_bad_format_never_a_crash(token):
    scope = scope_of("x")
    try:
        page = read_page(PageRequest(page_token=token), scope=scope)
    except InvalidArgument as error:
        assert set(reasons(error).values()) <= {"BAD_FORMAT", "STALE"}
    else:  # only a genuine token of this listing decodes
        assert encode_token(scope, page.after).rstrip("=") == token.rstrip("=")


@pytest.mark.parametrize(("size", "expected"), [(0, DEFAULT_PAGE_SIZE), (1, 1), (MAX_PAGE_SIZE, MAX_PAGE_SIZE)])
def test_zero_is_the_default_and_the_maximum_is_allowed(size, expected):
    assert read_page(PageRequest(page_size=size)).size == expected


@pytest.mark.parametrize("size", [-1, MAX_PAGE_SIZE + 1, 2**31 - 1])
def test_sizes_outside_the_range_are_rejected_not_clamped(size):
    with pytest.raises(InvalidArgument) as caught:
        read_page(PageRequest(page_size=size, page_token="%%%"))
    assert reasons(caught.value) == {"page.page_size": "OUT_OF_RANGE", "page.page_token": "BAD_FORMAT"}
