"""Every numeric feature profile exports reads as words in scoring's reasons.

Cross-service: the phrase table in scoring is keyed by profile's feature names, so a feature
added to profile without a phrase (or renamed) shows up here, not in front of an account manager.
"""

from __future__ import annotations

import pytest

from services.profile.domain import schema as profile_schema
from services.scoring.domain.reasons import phrase_for
from services.scoring.domain.schema import BOOLEAN, NUMERIC, FeatureSchema, FeatureSpec

NUMERIC_FEATURES = [f for f in profile_schema.BUILTIN_FEATURES if f.type in (profile_schema.NUMBER, profile_schema.BOOL)]


@pytest.mark.parametrize("feature", NUMERIC_FEATURES, ids=lambda f: f.name)
def test_each_numeric_profile_feature_has_a_readable_phrase(feature: profile_schema.FeatureSpec) -> None:
    kind = BOOLEAN if feature.type == profile_schema.BOOL else NUMERIC
    schema = FeatureSchema([FeatureSpec(feature.name, kind, description=feature.description)])
    phrase = phrase_for(feature.name, 12.0, schema)
    assert phrase and "_" not in phrase, phrase
