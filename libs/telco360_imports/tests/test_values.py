"""The payload kinds and the ASCII number rule shared by ingest's domain and the mapping."""

from __future__ import annotations

import pytest

from telco360.ingest.v1 import ingest_pb2
from telco360_imports.values import KINDS, ascii_decimal


def test_kinds_are_the_payload_oneof_of_the_contract() -> None:
    assert [f.name for f in ingest_pb2.Record.DESCRIPTOR.oneofs_by_name["payload"].fields] == list(KINDS)


@pytest.mark.parametrize("text", ["１２３", "1_000", "nan", "inf", " ", "1e", "--1", "٣", "9" * 65])
def test_ascii_decimal_refuses_what_int_and_float_would_take(text: str) -> None:
    assert ascii_decimal(text) is None


def test_ascii_decimal_reads_plain_numbers() -> None:
    assert [ascii_decimal(t) for t in ("12", "-3.5", " 1e6 ", ".5", "5.", "+7")] == [12, -3.5, 1_000_000, 0.5, 5, 7]
