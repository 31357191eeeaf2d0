"""Column mappings: what a broken mapping file is refused for."""

from __future__ import annotations

import pytest

from telco360_imports.mapping import MappingError, parse_mapping


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "billing"}, "fields"),
        ({"kind": "nope", "fields": {}}, "unknown kind"),
        ({"kind": "billing", "fields": {"source": "a", "source_record_id": "b"}}, "customer_id"),
        (
            {
                "kind": "billing",
                "fields": {"source": "a", "source_record_id": "b", "customer_id": "c", "billing.fees": "f"},
            },
            "unknown field",
        ),
    ],
)
def test_bad_mappings_are_refused_up_front(data: dict, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(data)
