"""Local evaluation of offer eligibility and campaign targets (domain/eligibility.py), and
next-best-offer ranking over its answers, without gRPC."""

from __future__ import annotations

import datetime as dt
import random

from services.contact.domain import nbo
from services.contact.domain.eligibility import (
    AccountFacts,
    ExpressionCache,
    compile_expression,
    evaluate_all,
    matches,
    with_live_score,
)
from services.contact.domain.model import (
    AccountContext,
    AccountHistory,
    Channel,
    Offer,
    OfferCategory,
    RiskBand,
    SuppressionReason,
)

SCHEMA = {
    "status": "string",
    "fee_total_last_month": "number",
    "churn_probability": "number",
    "risk_band": "string",
    "competitor_active_approach": "bool",
    "attr.industry": "string",
}


def facts(tags: set[str] | None = None, **features) -> AccountFacts:
    return AccountFacts({"status": "ACTIVE", **features}, frozenset(tags or ()))


def test_features_tags_and_three_valued_logic() -> None:
    rich = facts({"cloud_fit"}, fee_total_last_month=120_000.0, **{"attr.industry": "GOV"})
    cases = {
        "tag(cloud_fit)": True,
        "tag(fee_drop_warning)": False,
        "fee_total_last_month >= 100000 and tag(cloud_fit)": True,
        "attr.industry in ('GOV', 'EDU') and not tag(fee_drop_warning)": True,
        "fee_total_last_month between 1 and 1000": False,
        # Unknown (no churn probability yet): never a match, whichever way it is asked.
        "churn_probability > 0.5": False,
        "not (churn_probability > 0.5)": False,
        # ...but `true or unknown` is true and coalesce/is_null see the null.
        "tag(cloud_fit) or churn_probability > 0.5": True,
        "coalesce(churn_probability, 0) < 0.1": True,
        "is_null(churn_probability)": True,
    }
    for text, expected in cases.items():
        assert matches(compile_expression(text, SCHEMA), rich) is expected, text
        # Without the schema (profile could not give it) the answer is the same.
        assert matches(compile_expression(text, None), rich) is expected, text


def test_only_active_accounts_match_as_in_query_segment() -> None:
    terminated = facts({"cloud_fit"}, status="TERMINATED")
    assert matches(compile_expression("tag(cloud_fit)", SCHEMA), terminated) is False


def test_an_expression_that_no_longer_checks_is_unknown_never_true() -> None:
    compiled = compile_expression("attr.removed = 'x' or tag(cloud_fit)", SCHEMA)
    assert compiled.tree is None and "unknown name" in compiled.error
    assert matches(compiled, facts({"cloud_fit"})) is None
    assert matches(compile_expression("tag(", SCHEMA), facts()) is None


def test_unknown_facts_give_unknown_answers() -> None:
    compiled = {"tag(a)": compile_expression("tag(a)", SCHEMA)}
    assert evaluate_all(compiled, ["tag(a)", ""], None) == {"tag(a)": None}


def test_live_score_is_laid_over_profiles_recorded_score() -> None:
    recorded = facts(churn_probability=0.1, risk_band="LOW")
    live = with_live_score(recorded, 0.7, "HIGH", 9_000_000)
    expression = compile_expression("churn_probability > 0.5 and risk_band = 'HIGH'", SCHEMA)
    assert matches(expression, recorded) is False
    assert matches(expression, live) is True
    assert with_live_score(recorded, None, "", None) is recorded


def test_expressions_are_compiled_once_per_generation_and_schema() -> None:
    cache = ExpressionCache()
    first = cache.compiled(1, 7, ["tag(a)", ""], SCHEMA)["tag(a)"]
    assert cache.compiled(1, 7, ["tag(a)"], SCHEMA)["tag(a)"] is first
    assert cache.compiled(2, 7, ["tag(a)"], SCHEMA)["tag(a)"] is not first
    assert cache.compiled(2, 8, ["tag(a)"], SCHEMA)["tag(a)"] is not first


def _offer(
    offer_id: str, eligibility: str = "", value: int = 100_000, category: OfferCategory = OfferCategory.UPSELL
) -> Offer:
    return Offer(
        offer_id=offer_id,
        name=offer_id,
        category=category,
        value_fen=value,
        channels=frozenset({Channel.INBOUND_OFFER}),
        active=True,
        eligibility=eligibility,
    )


def _rank(offers: list[Offer], account: AccountFacts | None, context: AccountContext) -> nbo.NboResult:
    texts = [o.eligibility for o in offers]
    compiled = ExpressionCache().compiled(1, 1, texts, SCHEMA)
    now = dt.datetime(2025, 3, 3, 10, tzinfo=dt.UTC)
    return nbo.rank(
        nbo.NboInputs(
            customer_id="ELIG-1",
            channel=Channel.INBOUND_OFFER,
            at=now,
            now=now,
            policies=[],
            offers=offers,
            campaigns=[],
            history=AccountHistory(),
            context=context,
            eligibility=evaluate_all(compiled, texts, account, SCHEMA),
            stats={},
            exploit_only=True,
        ),
        random.Random(1),
    )


def test_ranking_and_suppression_reasons_over_local_eligibility() -> None:
    offers = [
        _offer("open", value=50_000),
        _offer("cloud", "tag(cloud_fit)", value=200_000),
        _offer("big", "fee_total_last_month > 1000000", value=300_000),
        _offer("risky", "churn_probability > 0.5", value=400_000, category=OfferCategory.RETENTION),
    ]
    account = with_live_score(facts({"cloud_fit"}, fee_total_last_month=20_000.0), 0.8, "HIGH", 10**8)
    context = AccountContext(
        "ELIG-1", "Asia/Shanghai", 1, churn_probability=0.8, risk_band=RiskBand.HIGH, predicted_value_fen=10**8
    )
    result = _rank(offers, account, context)
    assert [r.offer.offer_id for r in result.ranked] == ["risky", "cloud", "open"]
    assert result.ranked[0].retention_boost > 1
    assert {s.offer_id: s.reason for s in result.suppressed} == {"big": SuppressionReason.NOT_ELIGIBLE}
    assert not result.degraded_reasons


def test_ranking_with_profile_down_keeps_open_offers_and_marks_the_rest_unknown() -> None:
    offers = [_offer("open"), _offer("cloud", "tag(cloud_fit)")]
    context = AccountContext("ELIG-1", degraded_reasons=("profile unavailable (UNAVAILABLE): no cached data",))
    result = _rank(offers, None, context)
    assert [r.offer.offer_id for r in result.ranked] == ["open"]
    assert {s.offer_id: s.reason for s in result.suppressed} == {"cloud": SuppressionReason.UNKNOWN_ELIGIBILITY}
    assert result.degraded_reasons == context.degraded_reasons


def test_membership_is_profiles_rule_only_active_accounts_and_unknown_status_never_matches():
    from hypothesis import given
    from hypothesis import strategies as st

    from telco360_expr.segments import account_matches

    compiled = compile_expression("fee_total_last_month >= 0", SCHEMA)

    @given(
        status=st.one_of(st.none(), st.sampled_from(["ACTIVE", "SUSPENDED", "TERMINATED", ""])),
        fee=st.integers(min_value=0, max_value=10**9),
    )
    def same_answer_as_the_shared_rule(status, fee):
        features = {"fee_total_last_month": fee} | ({} if status is None else {"status": status})
        ours = matches(compiled, AccountFacts(features), SCHEMA)
        assert ours == account_matches(compiled.tree, features, frozenset(), status, SCHEMA)
        assert ours is (status == "ACTIVE")

    same_answer_as_the_shared_rule()
