"""Ingest's own input limits, beside the suite's shared ones (telco360_runtime.bounds).

The shared module fixes money, quantities, counts, times and page bytes for every service;
the figures here are the ones only ingest's records have (how many attributes an account
carries, how many answers a survey has). Every field's bound is documented in ingest.proto
and services/ingest/README.md; these names are what validation and the quarantine use.
"""

from __future__ import annotations

from telco360_runtime import bounds

MAX_MONEY_FEN = bounds.MAX_MONEY_FEN
"""Largest amount of any money field (fee, monthly fee, budget), in fen."""
MAX_QUANTITY = bounds.MAX_QUANTITY
"""Largest usage quantity and largest absolute numeric attribute value."""
MAX_COUNT = bounds.MAX_COUNT
"""Largest count (billed lines, subscription quantity)."""
MAX_RESOLUTION_HOURS = 87_600.0
"""service_event.resolution_hours: ten years; a ticket open longer is a data error."""

ATTRIBUTES_MAX = 64
"""Entries of account.attributes."""
ATTRIBUTE_NAME_MAX = 64
"""Characters of an attribute name (lower_snake_case)."""
ATTRIBUTE_TEXT_MAX = 1000
"""Characters of a string attribute value."""
SURVEY_ANSWERS_MAX = 50
"""Entries of service_event.survey_answers."""
DECISION_MAKERS_MAX = 50
"""Entries of opportunity.decision_maker_ids."""
PRODUCT_LINES_MAX = 16
"""Entries of competitor / opportunity product_lines (the contract defines 12 lines)."""
COST_NOTE_MAX = 500
"""Characters of cost.note (how a cost was allocated: a sentence, not a document)."""
COST_REFERENCE_MAX = 64
"""Characters of cost.reference (a cost-centre, project or contract number)."""
NOTES_MAX = 10_000
"""Characters of interaction.notes, the longest text a record may carry."""

KEY_SHOWN = 64
"""Characters of a map key shown in a violation's field path (keys longer are cut)."""

# What the quarantine keeps of a rejected record. A record is kept "as received" so it can
# be listed and replayed, but a 3.9 MB name must not make every listing that contains it
# fail: values over their limit are cut to one character (or entry) over the largest limit
# of their kind, so the entry stays small and a replay as stored still fails the same check.
QUARANTINE_TEXT_KEEP = NOTES_MAX + 1
"""Characters kept of a top-level or payload text field."""
QUARANTINE_ITEM_TEXT_KEEP = ATTRIBUTE_TEXT_MAX + 1
"""Characters kept of a text inside a list or map (ids, keys, attribute values)."""
QUARANTINE_ITEMS_KEEP = ATTRIBUTES_MAX + 1
"""Entries kept of a list or map."""
