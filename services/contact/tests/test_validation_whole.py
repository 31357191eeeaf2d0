"""Whole-request validation over real gRPC (SQLite and PostgreSQL): a request with several
kinds of fault learns every violation in one answer; policy sanity (holds, tiers, quiet
hours that never end, numbers); expressions bad before any peer is asked, with the suite's
reason codes said once."""

from __future__ import annotations

import grpc
import pytest

from services.contact.api.request_checks import MAX_HOLD_SECONDS
from services.contact.domain import validation
from services.contact.tests.harness import SCHEMA, AccountFacts, FakeProfile, FakeScoring, PeerServer, start_contact
from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as pb
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_expr import EXPRESSION_TOO_COMPLEX, EXPRESSION_UNKNOWN_NAME, ExpressionError, check
from telco360_runtime import bounds
from telco360_runtime.status import field_violations

_KINDS = {
    profile_pb2.FEATURE_TYPE_STRING: "string",
    profile_pb2.FEATURE_TYPE_NUMBER: "number",
    profile_pb2.FEATURE_TYPE_BOOL: "bool",
}


class CheckingProfile(FakeProfile):
    """Profile stand-in whose ValidateExpression is the real checker over the harness schema."""

    validations = 0

    async def ValidateExpression(self, request, context):
        CheckingProfile.validations += 1
        try:
            check(request.expression, {n: _KINDS[t] for n, t in SCHEMA.items()}, allow_tags=request.segment)
        except ExpressionError as error:
            return profile_pb2.ValidateExpressionResponse(
                valid=False, error_position=error.position, error_message=str(error), error_reason=error.reason
            )
        return profile_pb2.ValidateExpressionResponse(valid=True, error_position=-1)


@pytest.fixture
async def env(db_url):
    profile = CheckingProfile()
    profile.accounts["C1"] = AccountFacts()
    profile_server = PeerServer(profile_pb2_grpc.add_ProfileServiceServicer_to_server, profile)
    scoring_server = PeerServer(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, FakeScoring())
    await profile_server.start()
    await scoring_server.start()
    node = await start_contact(db_url, f"127.0.0.1:{profile_server.port}", f"127.0.0.1:{scoring_server.port}")
    yield node, profile_server
    await node.close()
    await profile_server.stop()
    await scoring_server.stop()


async def violations(call, request) -> set[tuple[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(request)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return {(v.field, v.reason) for v in field_violations(error.value)}


def window(size: int = 7, kind: int = pb.WINDOW_KIND_ROLLING) -> pb.Window:
    return pb.Window(kind=kind, unit=pb.WINDOW_UNIT_DAY, size=size)


async def test_create_policy_reports_every_kind_of_fault_at_once(env) -> None:
    node, _ = env
    bad = pb.ContactPolicy(
        policy_id="Bad Id!",
        name="",
        description="d" * (bounds.TEXT_MAX + 1),
        applies_to_tiers=[common_pb2.ACCOUNT_TIER_GOLD, 99],
        caps=[
            pb.FrequencyCap(cap_id="c1", scope=999, max_contacts=-1, window=window(-3)),
            pb.FrequencyCap(
                cap_id="c2",
                scope=pb.CAP_SCOPE_ACCOUNT,
                max_contacts=2,
                window=pb.Window(kind=pb.WINDOW_KIND_ROLLING, unit=0, size=7),
            ),
        ],
        quiet_hours=pb.QuietHours(quiet_weekdays=[1, 2, 3, 4, 5, 6, 7]),
        fallback_time_zones=["Nowhere/City"],
        cool_downs=[
            pb.CoolDown(
                cool_down_id="cd",
                triggers=[pb.OUTCOME_KIND_DECLINED],
                scope=pb.COOL_DOWN_SCOPE_SAME_OFFER,
                duration=window(30, pb.WINDOW_KIND_CALENDAR),
            )
        ],
    )
    found = await violations(node.stub.CreatePolicy, pb.CreatePolicyRequest(policy=bad))
    expected = {
        ("policy.policy_id", "BAD_ID"),
        ("policy.name", bounds.REQUIRED),
        ("policy.description", bounds.TOO_LONG),
        ("policy.applies_to_tiers[1]", bounds.UNKNOWN_ENUM),
        ("policy.caps[0].scope", bounds.UNKNOWN_ENUM),
        ("policy.caps[0].max_contacts", bounds.OUT_OF_RANGE),
        ("policy.caps[0].window.size", bounds.OUT_OF_RANGE),
        ("policy.caps[1].window.unit", bounds.REQUIRED),
        ("policy.quiet_hours", "NEVER_ALLOWS"),
        ("policy.fallback_time_zones[0]", "BAD_TIME_ZONE"),
        ("policy.cool_downs[0].duration.kind", "ROLLING_ONLY"),
    }
    assert expected <= found, expected - found
    # Each violation once, although bounds, conversion and rules all look at some fields.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await node.stub.CreatePolicy(pb.CreatePolicyRequest(policy=bad))
    listed = [(v.field, v.reason) for v in field_violations(error.value)]
    assert len(listed) == len(set(listed))
    # The same draft answers the same for UpdatePolicy and SimulatePolicy (prefix "draft").
    assert expected <= await violations(node.stub.UpdatePolicy, pb.UpdatePolicyRequest(policy=bad))
    simulated = await violations(node.stub.SimulatePolicy, pb.SimulatePolicyRequest(draft=bad))
    assert {(f.replace("policy.", "draft.", 1), r) for f, r in expected} <= simulated


@pytest.mark.parametrize(
    "quiet",
    [
        pb.QuietHours(quiet_weekdays=[1, 2, 3, 4, 5, 6, 7]),
        pb.QuietHours(start="00:00", end="24:00"),
        pb.QuietHours(start="00:00", end="24:00", quiet_weekdays=[6, 7], channels=[pb.CHANNEL_SMS]),
    ],
)
async def test_quiet_hours_that_never_end_are_refused(env, quiet: pb.QuietHours) -> None:
    node, _ = env
    found = await violations(
        node.stub.CreatePolicy,
        pb.CreatePolicyRequest(policy=pb.ContactPolicy(policy_id="q", name="q", quiet_hours=quiet)),
    )
    assert found == {("policy.quiet_hours", "NEVER_ALLOWS")}


async def test_quiet_hours_that_leave_time_are_accepted(env) -> None:
    node, _ = env
    policy = await node.stub.CreatePolicy(
        pb.CreatePolicyRequest(
            policy=pb.ContactPolicy(
                policy_id="q",
                name="q",
                applies_to_tiers=[common_pb2.ACCOUNT_TIER_DIAMOND, common_pb2.ACCOUNT_TIER_CRYSTAL],
                quiet_hours=pb.QuietHours(start="21:00", end="08:00", quiet_weekdays=[6, 7]),
            )
        )
    )
    assert policy.quiet_hours.start == "21:00" and list(policy.applies_to_tiers) == [1, 6]


def reserve(customer: str = "C1", hold: int = 0, **contact) -> pb.ReserveContactRequest:
    fields = {"customer_id": customer, "channel": pb.CHANNEL_SMS, "purpose": pb.PURPOSE_MARKETING, **contact}
    return pb.ReserveContactRequest(idempotency_key="k1", contact=pb.CheckContactRequest(**fields), hold_seconds=hold)


@pytest.mark.parametrize("hold", [-5, -1, MAX_HOLD_SECONDS + 1, 2**31 - 1])
async def test_hold_seconds_outside_the_documented_range_is_refused_not_clamped(env, hold: int) -> None:
    node, _ = env
    assert await violations(node.stub.ReserveContact, reserve(hold=hold)) == {("hold_seconds", bounds.OUT_OF_RANGE)}


async def test_reserve_contact_reports_every_kind_of_fault_at_once(env) -> None:
    node, _ = env
    request = reserve(customer="bad id with spaces", hold=-5, channel=999, purpose=0, category=77, person_id="p" * 100)
    request.idempotency_key = "k" * 1000
    found = await violations(node.stub.ReserveContact, request)
    assert {
        ("contact.customer_id", "BAD_CUSTOMER_ID"),
        ("contact.channel", bounds.UNKNOWN_ENUM),
        ("contact.purpose", bounds.REQUIRED),
        ("contact.category", bounds.UNKNOWN_ENUM),
        ("contact.person_id", bounds.TOO_LONG),
        ("idempotency_key", bounds.TOO_LONG),
        ("hold_seconds", bounds.OUT_OF_RANGE),
    } <= found
    check_found = await violations(node.stub.CheckContact, request.contact)
    assert {
        ("customer_id", "BAD_CUSTOMER_ID"),
        ("channel", bounds.UNKNOWN_ENUM),
        ("purpose", bounds.REQUIRED),
    } <= check_found
    # A good reservation afterwards is decided normally, with the documented default hold.
    good = await node.stub.ReserveContact(reserve(customer="C1"))
    assert good.decision.decision_id


async def test_numbers_are_bounded_everywhere(env) -> None:
    node, _ = env
    found = await violations(
        node.stub.CreateOffer,
        pb.CreateOfferRequest(
            offer=pb.Offer(
                offer_id="o",
                name="o",
                category=pb.OFFER_CATEGORY_UPSELL,
                channels=[pb.CHANNEL_SMS],
                value_fen=-1,
                cost_fen=bounds.MAX_MONEY_FEN + 1,
                prior_alpha=float("inf"),
                prior_beta=float("nan"),
                presentation_cool_down_hours=-2,
                control_group_bp=-1,
            )
        ),
    )
    assert {
        ("offer.value_fen", bounds.OUT_OF_RANGE),
        ("offer.cost_fen", bounds.OUT_OF_RANGE),
        ("offer.prior_alpha", bounds.NOT_FINITE),
        ("offer.prior_beta", bounds.NOT_FINITE),
        ("offer.presentation_cool_down_hours", bounds.OUT_OF_RANGE),
        ("offer.control_group_bp", bounds.OUT_OF_RANGE),
    } <= found
    campaign = await violations(
        node.stub.CreateCampaign,
        pb.CreateCampaignRequest(
            campaign=pb.Campaign(
                campaign_id="c",
                name="c",
                triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED, tag="t")],
                touchpoints=[pb.CHANNEL_SMS],
                offer_ids=["nope"],
                budget_fen=-5,
                proposal_ttl_seconds=-1,
            )
        ),
    )
    assert {
        ("campaign.budget_fen", bounds.OUT_OF_RANGE),
        ("campaign.proposal_ttl_seconds", bounds.OUT_OF_RANGE),
        ("campaign.offer_ids[0]", "UNKNOWN_OFFER"),
    } <= campaign
    page = await violations(node.stub.ListOffers, pb.ListOffersRequest(page={"page_size": -1}))
    assert ("page.page_size", bounds.OUT_OF_RANGE) in page
    for token in ("9" * 40, "١٢", "-1"):
        assert ("page.page_token", bounds.BAD_FORMAT) in await violations(
            node.stub.ListOffers, pb.ListOffersRequest(page={"page_token": token})
        )


def offer(eligibility: str, **fields) -> pb.CreateOfferRequest:
    values = {
        "offer_id": "o1",
        "name": "Offer",
        "category": pb.OFFER_CATEGORY_UPSELL,
        "channels": [pb.CHANNEL_SMS],
        "eligibility": eligibility,
        **fields,
    }
    return pb.CreateOfferRequest(offer=pb.Offer(**values))


async def test_create_offer_checks_the_expression_with_everything_else(env) -> None:
    node, _ = env
    # Names and types (profile's part) are reported together with enum and field faults.
    found = await violations(
        node.stub.CreateOffer,
        offer("nope > 1 and status = 'ACTIVE'", name="", category=999, channels=[pb.CHANNEL_SMS, 42]),
    )
    assert {
        ("offer.name", bounds.REQUIRED),
        ("offer.category", bounds.UNKNOWN_ENUM),
        ("offer.channels[1]", bounds.UNKNOWN_ENUM),
        ("offer.eligibility", EXPRESSION_UNKNOWN_NAME),
    } <= found
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await node.stub.CreateOffer(offer("fee_total_last_month > 1 and nope"))
    [violation] = field_violations(error.value)
    assert (violation.field, violation.reason) == ("offer.eligibility", EXPRESSION_UNKNOWN_NAME)
    assert violation.description.startswith("position 29: ") and violation.description.count("position") == 1


@pytest.mark.parametrize(
    "text",
    [
        "1+" * 1995 + "1 > 0",
        "(" * 500 + "status = 'ACTIVE'" + ")" * 500,
        "not " * 900 + "competitor_active_approach",
    ],
)
async def test_too_complex_expressions_are_invalid_before_profile_is_asked(env, text: str) -> None:
    node, profile_server = env
    before = CheckingProfile.validations
    found = await violations(node.stub.CreateOffer, offer(text))
    assert found == {("offer.eligibility", EXPRESSION_TOO_COMPLEX)}
    assert CheckingProfile.validations == before
    # Profile down: still INVALID_ARGUMENT (never "UNAVAILABLE: profile is needed"), with the rest.
    await profile_server.stop()
    found = await violations(node.stub.CreateOffer, offer(text, name=""))
    assert found == {("offer.eligibility", EXPRESSION_TOO_COMPLEX), ("offer.name", bounds.REQUIRED)}
    campaign = await violations(
        node.stub.CreateCampaign,
        pb.CreateCampaignRequest(
            campaign=pb.Campaign(
                campaign_id="c",
                name="c",
                target=text,
                touchpoints=[pb.CHANNEL_SMS],
                offer_ids=["o1"],
                triggers=[pb.CampaignTrigger(kind=pb.ACCOUNT_EVENT_KIND_TAG_ASSIGNED, tag="t")],
            )
        ),
    )
    assert ("campaign.target", EXPRESSION_TOO_COMPLEX) in campaign


async def test_a_good_expression_still_needs_profile(env) -> None:
    node, profile_server = env
    await profile_server.stop()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await node.stub.CreateOffer(offer("fee_total_last_month > 1"))
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    # ...but a request bad elsewhere is answered INVALID_ARGUMENT without waiting for it.
    assert await violations(node.stub.CreateOffer, offer("fee_total_last_month > 1", name="")) == {
        ("offer.name", bounds.REQUIRED)
    }


async def test_opt_out_consent_outcome_and_event_report_every_fault(env) -> None:
    node, _ = env
    opt_out = await violations(
        node.stub.SetOptOut,
        pb.SetOptOutRequest(
            opt_out=pb.OptOut(
                customer_id="", kind=999, purposes=[pb.PURPOSE_REGULATORY, 77], reason="", source="s" * 1000
            )
        ),
    )
    assert {
        ("opt_out.customer_id", "BAD_CUSTOMER_ID"),
        ("opt_out.kind", bounds.UNKNOWN_ENUM),
        ("opt_out.purposes[1]", bounds.UNKNOWN_ENUM),
        ("opt_out.purposes", "REGULATORY"),
        ("opt_out.reason", bounds.REQUIRED),
        ("opt_out.source", bounds.TOO_LONG),
    } <= opt_out
    consent = await violations(
        node.stub.SetConsent, pb.SetConsentRequest(consent=pb.Consent(customer_id="C 1", channel=555, source=""))
    )
    assert {
        ("consent.customer_id", "BAD_CUSTOMER_ID"),
        ("consent.channel", bounds.UNKNOWN_ENUM),
        ("consent.source", bounds.REQUIRED),
    } <= consent
    outcome = await violations(
        node.stub.RecordOutcome,
        pb.RecordOutcomeRequest(outcome=pb.Outcome(customer_id="C1", kind=0, channel=999, idempotency_key="i" * 500)),
    )
    assert {
        ("outcome.kind", bounds.REQUIRED),
        ("outcome.channel", bounds.UNKNOWN_ENUM),
        ("outcome.idempotency_key", bounds.TOO_LONG),
    } <= outcome
    event = await violations(
        node.stub.SubmitAccountEvent,
        pb.SubmitAccountEventRequest(
            event=pb.AccountEvent(kind=999, risk_band=999, attributes={f"k{i}": "v" for i in range(101)})
        ),
    )
    assert {
        ("event.event_id", bounds.REQUIRED),
        ("event.customer_id", bounds.REQUIRED),
        ("event.kind", bounds.UNKNOWN_ENUM),
        ("event.risk_band", bounds.UNKNOWN_ENUM),
        ("event.attributes", bounds.TOO_MANY),
    } <= event
    nbo = await violations(
        node.stub.GetNextBestOffer, pb.GetNextBestOfferRequest(customer_id="", channel=0, max_offers=21)
    )
    assert {
        ("customer_id", "BAD_CUSTOMER_ID"),
        ("channel", bounds.REQUIRED),
        ("max_offers", bounds.OUT_OF_RANGE),
    } <= nbo


async def test_many_faults_stay_one_bounded_answer(env) -> None:
    node, _ = env
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await node.stub.CreatePolicy(
            pb.CreatePolicyRequest(
                policy=pb.ContactPolicy(
                    policy_id="p",
                    name="p",
                    caps=[pb.FrequencyCap(cap_id=f"c{i}", scope=999, channels=[999] * 20) for i in range(100)],
                )
            )
        )
    listed = field_violations(error.value)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 1 <= len(listed) <= validation.MAX_VIOLATIONS
    assert (listed[0].field, listed[0].reason) == ("policy.caps[0].scope", bounds.UNKNOWN_ENUM)


def test_raise_all_lists_each_violation_once_and_caps_the_count() -> None:
    errors = validation.ViolationCollector()
    for i in range(200):
        errors.add(f"f{i}", "bad", "R")
        errors.add(f"f{i}", "bad again", "R")
    with pytest.raises(validation.InvalidArgument) as error:
        validation.raise_all(errors)
    listed = error.value.violations
    assert len(listed) == validation.MAX_VIOLATIONS
    assert [v.field for v in listed[:-1]] == [f"f{i}" for i in range(validation.MAX_VIOLATIONS - 1)]
    assert listed[-1].description == f"and {200 - validation.MAX_VIOLATIONS + 1} more violations"
