"""Every numeric feature profile exports reads as words in scoring's reasons.

Cross-service: the phrase table in scoring is keyed by profile's feature names, so a feature
added to profile without a phrase (or renamed) shows up here, not in front of an account manager.
Operator attributes (`attr.<name>`, all described alike by profile) are phrased with their own
name, and so is any feature without a description.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.profile.domain import schema as profile_schema
from services.scoring.domain.reasons import phrase_for
from services.scoring.domain.schema import BOOLEAN, CATEGORICAL, NUMERIC, FeatureSchema, FeatureSpec

NUMERIC_FEATURES = [
    f for f in profile_schema.BUILTIN_FEATURES if f.type in (profile_schema.NUMBER, profile_schema.BOOL)
]


@pytest.mark.parametrize("feature", NUMERIC_FEATURES, ids=lambda f: f.name)
def test_each_numeric_profile_feature_has_a_readable_phrase(feature: profile_schema.FeatureSpec) -> None:
    kind = BOOLEAN if feature.type == profile_schema.BOOL else NUMERIC
    schema = FeatureSchema([FeatureSpec(feature.name, kind, description=feature.description)])
    phrase = phrase_for(feature.name, 12.0, schema)
    assert phrase and "_" not in phrase, phrase


ATTRIBUTE_DESCRIPTION = "operator attribute"  # what profile's feature schema says of every attr.<name>


@settings(max_examples=60, deadline=None)
@given(
    name=st.from_regex(r"[a-z][a-z0-9]{0,10}(_[a-z0-9]{1,8}){0,3}", fullmatch=True),
    kind=st.sampled_from([NUMERIC, BOOLEAN, CATEGORICAL]),
    value=st.floats(0, 1e6),
)
def test_operator_attribute_reasons_name_the_attribute(name: str, kind: str, value: float) -> None:
    """A value reason read 'operator attribute: 555.3' without saying which attribute."""
    feature = f"attr.{name}"
    categories = ("RETAIL", "BANKING") if kind == CATEGORICAL else ()
    schema = FeatureSchema([FeatureSpec(feature, kind, categories=categories, description=ATTRIBUTE_DESCRIPTION)])
    phrase = phrase_for(feature, 1.0 if kind == CATEGORICAL else value, schema)
    assert name.replace("_", " ") in phrase and "attr." not in phrase and "_" not in phrase, phrase


@settings(max_examples=60, deadline=None)
@given(
    name=st.from_regex(r"[a-z][a-z0-9]{0,10}(_[a-z0-9]{1,8}){0,3}", fullmatch=True),
    description=st.sampled_from(["", None]),
    value=st.floats(-1e6, 1e6),
)
def test_features_without_a_description_are_named_in_words(name: str, description: str | None, value: float) -> None:
    schema = FeatureSchema([FeatureSpec(name, NUMERIC, description=description or "")])
    phrase = phrase_for(name, value, schema)
    assert phrase and "_" not in phrase, phrase
