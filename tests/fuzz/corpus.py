"""Known-good request templates per RPC, and the corpus of issue #12's cases (items 1-9).

`GOOD` gives a valid request for the RPCs whose requests the random strategies rarely get
right; the fuzz test mutates a few fields of it (see strategies.mutations). `CASES` are
the exact inputs issue #12 reported, each with the answer the contract demands (mostly
INVALID_ARGUMENT naming the field), run in addition to the generated examples. A case may
have steps before its final call (e.g. a huge rejected record, then ListQuarantine).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2 as c
from telco360.ingest.v1 import ingest_pb2 as i
from telco360.profile.v1 import profile_pb2 as p
from telco360.scoring.v1 import scoring_pb2 as s
from tests.fuzz.probes import GOOD_POLICY_ID, GOOD_TABLE, good_policy
from tests.fuzz.strategies import FLAT_EXPRESSION, HUGE_TEXT, INT64_MAX

#: Seconds of 0001-01-01, one second before it (year 0), 9999-12-31 and 10000-01-01 (UTC).
YEAR_1 = -62135596800
YEAR_0 = YEAR_1 - 1
YEAR_9999_END = 253402300799
YEAR_10000 = 253402300800


def now_s() -> int:
    """Now, in whole seconds."""
    return int(time.time())


def ts(seconds: int) -> Any:
    """A Timestamp-shaped dict for message constructors."""
    return {"seconds": seconds}


# --- valid templates ----------------------------------------------------------------------


def _apply(msg: Message, changes: dict[str, Any]) -> None:
    """Set fields of msg: scalars, repeated fields (lists) and maps (dicts) alike."""
    for key, value in changes.items():
        if isinstance(value, list):
            msg.ClearField(key)
            target = getattr(msg, key)
            for item in value:
                if isinstance(item, dict):
                    target.add(**item)
                else:
                    target.append(item)
        elif (
            isinstance(value, dict)
            and key in msg.DESCRIPTOR.fields_by_name
            and msg.DESCRIPTOR.fields_by_name[key].message_type is not None
            and not msg.DESCRIPTOR.fields_by_name[key].message_type.GetOptions().map_entry
        ):
            getattr(msg, key).CopyFrom(type(getattr(msg, key))(**value))
        elif isinstance(value, dict):
            getattr(msg, key).update(value)
        else:
            setattr(msg, key, value)


def billing(cid: str, **changes: Any) -> i.Record:
    """A valid monthly bill of a seeded account, with `changes` applied to the bill."""
    bill = i.MonthlyBilling(
        month="2026-10",
        product_line=common_pb2.PRODUCT_LINE_MOBILE_DATA,
        fee_fen=120_000,
        usage_quantity=300.0,
        usage_unit="GB",
        lines=10,
        payment_status=i.PAYMENT_STATUS_PAID,
    )
    _apply(bill, changes)
    return i.Record(
        source="billing",
        source_record_id=f"BILL-FUZZ-{cid}-{time.time_ns()}",
        customer_id=cid,
        occurred_at=ts(now_s() - 86400 * 30),
        billing=bill,
    )


def account(cid: str, **changes: Any) -> i.Record:
    """A valid account master record of a seeded account, with `changes` applied."""
    master = i.AccountMaster(
        name="深圳测试科技有限公司",
        industry="ICT",
        region="Guangdong/Shenzhen",
        tier=common_pb2.ACCOUNT_TIER_GOLD,
        time_zone="Asia/Shanghai",
        contract_start_month="2026-01",
        contract_end_month="2027-12",
    )
    _apply(master, changes)
    return i.Record(
        source="crm",
        source_record_id=f"ACC-FUZZ-{time.time_ns()}",
        customer_id=cid,
        occurred_at=ts(now_s() - 3600),
        account=master,
    )


def check(cid: str, **changes: Any) -> c.CheckContactRequest:
    """A valid contact check for a seeded account."""
    msg = c.CheckContactRequest(customer_id=cid, channel=c.CHANNEL_SMS, purpose=c.PURPOSE_MARKETING)
    _apply(msg, changes)
    return msg


def offer(**changes: Any) -> c.Offer:
    """A valid retention offer."""
    msg = c.Offer(
        offer_id="fuzz-offer",
        name="Loyalty discount",
        category=c.OFFER_CATEGORY_RETENTION,
        value_fen=100_000,
        cost_fen=10_000,
        channels=[c.CHANNEL_SMS],
        active=True,
    )
    _apply(msg, changes)
    return msg


def campaign(**changes: Any) -> c.Campaign:
    """A valid draft campaign carrying the fuzz offer."""
    msg = c.Campaign(
        campaign_id="fuzz-campaign",
        name="Retention",
        triggers=[
            c.CampaignTrigger(kind=c.ACCOUNT_EVENT_KIND_RISK_BAND_RAISED, min_risk_band=common_pb2.RISK_BAND_HIGH)
        ],
        touchpoints=[c.CHANNEL_SMS],
        offer_ids=["fuzz-offer"],
        purpose=c.PURPOSE_RETENTION,
        state=c.CAMPAIGN_STATE_DRAFT,
    )
    _apply(msg, changes)
    return msg


def train(**changes: Any) -> s.TrainModelRequest:
    """A valid churn training request on the seeded base."""
    msg = s.TrainModelRequest(
        kind=s.MODEL_KIND_CHURN,
        as_of=[ts(1_786_000_000)],
        horizon_months=1,
        holdout_as_of=ts(1_789_000_000),
        auto_promote=s.AUTO_PROMOTE_NEVER,
    )
    _apply(msg, changes)
    return msg


TABLE = GOOD_TABLE

Template = Callable[[Any], Message]

GOOD: dict[str, Template] = {
    "ingest.SubmitRecord": lambda cl: i.SubmitRecordRequest(record=billing(cl.customer_ids[0])),
    "ingest.IngestRecords": lambda cl: account(cl.customer_ids[1]),
    "ingest.IngestRecordBatches": lambda cl: i.RecordBatch(
        records=[billing(cl.customer_ids[2]), account(cl.customer_ids[2])]
    ),
    "ingest.ListQuarantine": lambda cl: i.ListQuarantineRequest(source="billing", received_after=ts(now_s() - 86400)),
    "ingest.ReadLog": lambda cl: i.ReadLogRequest(after_sequence=0, limit=10),
    "ingest.ReadLogBatches": lambda cl: i.ReadLogRequest(after_sequence=0, limit=10),
    "profile.GetCustomer360": lambda cl: p.GetCustomer360Request(
        customer_id=cl.customer_ids[0], level=p.VIEW_LEVEL_GROUP, trend_months=6
    ),
    "profile.GetFeatures": lambda cl: p.GetFeaturesRequest(customer_ids=cl.customer_ids[:3], as_of=ts(1_780_000_000)),
    "profile.ExportFeatures": lambda cl: p.ExportFeaturesRequest(as_of=ts(1_780_000_000), batch_size=2),
    "profile.ExportOutcomes": lambda cl: p.ExportOutcomesRequest(from_month="2026-06", to_month="2026-10"),
    "profile.CreateTagDefinition": lambda cl: p.CreateTagDefinitionRequest(
        definition=p.TagDefinition(
            tag_id="fuzz_big_fee",
            display_name="Big fee",
            category="value",
            expression="fee_total_last_month > 100000",
            enabled=True,
        )
    ),
    "profile.DryRunTagDefinition": lambda cl: p.DryRunTagDefinitionRequest(
        definition=p.TagDefinition(
            tag_id="fuzz_dry", display_name="Dry", category="value", expression="fee_total_last_month > 0"
        ),
        sample_size=5,
    ),
    "profile.ValidateExpression": lambda cl: p.ValidateExpressionRequest(expression="fee_total_last_month > 0"),
    "profile.QuerySegment": lambda cl: p.QuerySegmentRequest(
        expression="fee_total_last_month >= 0", page=common_pb2.PageRequest(page_size=5)
    ),
    "profile.RecordScores": lambda cl: p.RecordScoresRequest(
        scores=[
            p.AccountScore(
                customer_id=cl.customer_ids[0],
                churn_probability=0.2,
                risk_band=common_pb2.RISK_BAND_MEDIUM,
                predicted_value_fen=500_000,
                value_horizon_months=12,
                model_version="fuzz@1",
                scored_at=ts(now_s()),
            )
        ]
    ),
    "profile.WatchAccountEvents": lambda cl: p.WatchAccountEventsRequest(after_sequence=0, limit=20),
    "scoring.TrainModel": lambda cl: train(),
    "scoring.TrainFromTable": lambda cl: s.TrainFromTableRequest(
        content=TABLE,
        format=s.TABLE_FORMAT_CSV,
        id_column="id",
        label_column="label",
        kind=s.MODEL_KIND_CHURN,
        auto_promote=s.AUTO_PROMOTE_NEVER,
    ),
    "scoring.ScoreCustomers": lambda cl: s.ScoreCustomersRequest(customer_ids=cl.customer_ids, top_reasons=3),
    "scoring.ScoreFeatures": lambda cl: s.ScoreFeaturesRequest(
        kind=s.MODEL_KIND_CHURN,
        rows=[
            s.FeatureRow(row_id="r1", features={"fee_total_last_month": common_pb2.AttributeValue(number_value=1000.0)})
        ],
    ),
    "scoring.ScoreAll": lambda cl: s.ScoreAllRequest(as_of=ts(now_s()), skip_publish=True, batch_size=10),
    "contact.CreatePolicy": lambda cl: c.CreatePolicyRequest(policy=good_policy()),
    "contact.UpdatePolicy": lambda cl: c.UpdatePolicyRequest(policy=good_policy()),
    "contact.CreateOffer": lambda cl: c.CreateOfferRequest(offer=offer()),
    "contact.UpdateOffer": lambda cl: c.UpdateOfferRequest(offer=offer()),
    "contact.SetOptOut": lambda cl: c.SetOptOutRequest(
        opt_out=c.OptOut(
            customer_id=cl.customer_ids[1],
            kind=c.OPT_OUT_KIND_OPT_OUT,
            channels=[c.CHANNEL_SMS],
            reason="asked",
            source="call centre",
        )
    ),
    "contact.SetConsent": lambda cl: c.SetConsentRequest(
        consent=c.Consent(
            customer_id=cl.customer_ids[1],
            channel=c.CHANNEL_EMAIL,
            purpose=c.PURPOSE_MARKETING,
            granted=True,
            source="contract",
        )
    ),
    "contact.CheckContact": lambda cl: check(cl.customer_ids[0]),
    "contact.ReserveContact": lambda cl: c.ReserveContactRequest(
        idempotency_key=f"k-{time.time_ns()}", contact=check(cl.customer_ids[0]), hold_seconds=60
    ),
    "contact.RecordOutcome": lambda cl: c.RecordOutcomeRequest(
        outcome=c.Outcome(
            customer_id=cl.customer_ids[0],
            channel=c.CHANNEL_SMS,
            kind=c.OUTCOME_KIND_OFFERED,
            idempotency_key=f"o-{time.time_ns()}",
        )
    ),
    "contact.AdjustCounter": lambda cl: c.AdjustCounterRequest(
        scope=check(cl.customer_ids[0]), delta=1, reason="contact made outside the system"
    ),
    "contact.ListLedger": lambda cl: c.ListLedgerRequest(customer_id=cl.customer_ids[0], since=ts(now_s() - 86400)),
    "contact.GetNextBestOffer": lambda cl: c.GetNextBestOfferRequest(
        customer_id=cl.customer_ids[0], channel=c.CHANNEL_SMS, max_offers=3
    ),
    "contact.CreateCampaign": lambda cl: c.CreateCampaignRequest(campaign=campaign()),
    "contact.SubmitAccountEvent": lambda cl: c.SubmitAccountEventRequest(
        event=c.AccountEvent(
            event_id=f"e-{time.time_ns()}",
            source="callcenter",
            customer_id=cl.customer_ids[0],
            kind=c.ACCOUNT_EVENT_KIND_INBOUND_CALL,
            attributes={"reason": "billing question"},
        )
    ),
    "contact.ListProposals": lambda cl: c.ListProposalsRequest(customer_id=cl.customer_ids[0]),
    "contact.SimulatePolicy": lambda cl: c.SimulatePolicyRequest(
        draft=good_policy(), period_start=ts(now_s() - 86400 * 30), period_end=ts(now_s())
    ),
    "contact.GetPolicy": lambda cl: c.GetPolicyRequest(policy_id=GOOD_POLICY_ID),
}


# --- issue #12 corpus ---------------------------------------------------------------------

INVALID = frozenset({"INVALID_ARGUMENT"})


@dataclasses.dataclass(frozen=True)
class Case:
    """One input from issue #12: (method id, request builder) steps, the last one's expected codes."""

    name: str
    item: int
    steps: tuple[tuple[str, Callable[[Any], Any]], ...]
    expect: frozenset[str] | None = INVALID
    """Codes the last step must answer (None: any code the fuzz contract allows)."""
    check: Callable[[list[Any]], str | None] | None = None
    """A further check of the last step's replies: a problem, or None when they are right."""

    @property
    def method(self) -> str:
        """The method of the judged (last) step."""
        return self.steps[-1][0]


def case(
    name: str,
    item: int,
    method: str,
    build: Callable[[Any], Any],
    expect=INVALID,
    check: Callable[[list[Any]], str | None] | None = None,
) -> Case:
    """A one-step case."""
    return Case(name, item, ((method, build),), expect, check)


def _score_row_rejected(replies: list[Any]) -> str | None:
    """RecordScores is a batch of independent rows: a bad row is answered in `rejected`."""
    reply = replies[-1] if replies else None
    if reply is None or reply.accepted != 0 or [r.index for r in reply.rejected] != [0]:
        return f"expected row 0 rejected and nothing accepted, got {reply}"
    if not all(v.reason for v in reply.rejected[0].violations):
        return "a rejected row's violations must carry reason codes"
    return None


def score_row_case(name: str, item: int, build: Callable[[Any], Any]) -> Case:
    """A RecordScores row that breaks a bound: OK for the call, the row rejected with reasons."""
    return case(name, item, "profile.RecordScores", build, expect=frozenset({"OK"}), check=_score_row_rejected)


def c0(cl: Any) -> str:
    """The first seeded customer id."""
    return cl.customer_ids[0]


CASES: list[Case] = [
    # 2. One accepted record breaks the whole base: maxima must be refused up front.
    case(
        "billing fee_fen 2^63-1",
        2,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), fee_fen=INT64_MAX)),
    ),
    # The documented maxima are accepted, and must leave profile's base (the after-checks) intact.
    Case(
        "bills at the documented maxima on every product line",
        2,
        tuple(
            (
                "ingest.SubmitRecord",
                lambda cl, line=line, month=month: i.SubmitRecordRequest(
                    record=billing(
                        c0(cl), fee_fen=10**13, usage_quantity=1e15, lines=1_000_000, product_line=line, month=month
                    )
                ),
            )
            for line in (common_pb2.PRODUCT_LINE_MOBILE_DATA, common_pb2.PRODUCT_LINE_BROADBAND)
            for month in ("2026-09", "2026-10")
        ),
        expect=frozenset({"OK"}),
    ),
    case(
        "billing usage_quantity 1e308",
        2,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), usage_quantity=1e308)),
    ),
    case(
        "billing lines int32 max",
        2,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), lines=2**31 - 1)),
    ),
    case(
        "billing usage_quantity nan",
        2,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), usage_quantity=float("nan"))),
    ),
    case(
        "subscription monthly_fee_fen 2^63-1",
        2,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(
            record=i.Record(
                source="crm",
                source_record_id=f"SUB-FUZZ-{time.time_ns()}",
                customer_id=c0(cl),
                occurred_at=ts(now_s() - 3600),
                subscription=i.Subscription(
                    product_code="DL-100M",
                    product_line=common_pb2.PRODUCT_LINE_MOBILE_DATA,
                    action=i.SUBSCRIPTION_ACTION_ADDED,
                    quantity=1,
                    monthly_fee_fen=INT64_MAX,
                ),
            )
        ),
    ),
    score_row_case(
        "RecordScores predicted_value_fen 2^63-1",
        2,
        lambda cl: p.RecordScoresRequest(
            scores=[
                p.AccountScore(
                    customer_id=c0(cl),
                    churn_probability=0.1,
                    risk_band=common_pb2.RISK_BAND_LOW,
                    predicted_value_fen=INT64_MAX,
                    scored_at=ts(now_s()),
                )
            ]
        ),
    ),
    # 3. Times outside 0001-9999, and valid extremes where the suite documents 1900-2200.
    case(
        "record occurred_at year 10000",
        3,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(
            record=i.Record(
                source="field",
                source_record_id=f"INT-FUZZ-{time.time_ns()}",
                customer_id=c0(cl),
                occurred_at=ts(YEAR_10000),
                interaction=i.Interaction(channel=i.INTERACTION_CHANNEL_VISIT),
            )
        ),
    ),
    case(
        "record occurred_at year 0",
        3,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(
            record=i.Record(
                source="field",
                source_record_id=f"INT-FUZZ-{time.time_ns()}",
                customer_id=c0(cl),
                occurred_at=ts(YEAR_0),
                interaction=i.Interaction(channel=i.INTERACTION_CHANNEL_VISIT),
            )
        ),
    ),
    case(
        "ListQuarantine received_before 2^63-1",
        3,
        "ingest.ListQuarantine",
        lambda cl: i.ListQuarantineRequest(received_before=ts(INT64_MAX)),
    ),
    case(
        "ListQuarantine received_after year 0",
        3,
        "ingest.ListQuarantine",
        lambda cl: i.ListQuarantineRequest(received_after=ts(YEAR_0)),
    ),
    case(
        "GetFeatures as_of year 10000",
        3,
        "profile.GetFeatures",
        lambda cl: p.GetFeaturesRequest(customer_ids=[c0(cl)], as_of=ts(YEAR_10000)),
    ),
    case(
        "GetFeatures as_of year 0",
        3,
        "profile.GetFeatures",
        lambda cl: p.GetFeaturesRequest(customer_ids=[c0(cl)], as_of=ts(YEAR_0)),
    ),
    case(
        "ExportFeatures as_of 2^63-1",
        3,
        "profile.ExportFeatures",
        lambda cl: p.ExportFeaturesRequest(as_of=ts(INT64_MAX)),
    ),
    case(
        "ListTagHistory changed_before year 10000",
        3,
        "profile.ListTagHistory",
        lambda cl: p.ListTagHistoryRequest(customer_id=c0(cl), changed_before=ts(YEAR_10000)),
    ),
    case("ScoreAll as_of year 0", 3, "scoring.ScoreAll", lambda cl: s.ScoreAllRequest(as_of=ts(YEAR_0))),
    case("TrainModel as_of year 10000", 3, "scoring.TrainModel", lambda cl: train(as_of=[ts(YEAR_10000)])),
    case("CheckContact at 0001-01-01", 3, "contact.CheckContact", lambda cl: check(c0(cl), at={"seconds": YEAR_1})),
    case(
        "CheckContact at 0001-01-02",
        3,
        "contact.CheckContact",
        lambda cl: check(c0(cl), at={"seconds": YEAR_1 + 86400}),
    ),
    case(
        "CheckContact at 9999-12-31", 3, "contact.CheckContact", lambda cl: check(c0(cl), at={"seconds": YEAR_9999_END})
    ),
    case(
        "ReserveContact at 9999-12-31",
        3,
        "contact.ReserveContact",
        lambda cl: c.ReserveContactRequest(
            idempotency_key=f"far-{time.time_ns()}", contact=check(c0(cl), at={"seconds": YEAR_9999_END})
        ),
    ),
    case(
        "ListLedger since year 0",
        3,
        "contact.ListLedger",
        lambda cl: c.ListLedgerRequest(customer_id=c0(cl), since=ts(YEAR_0)),
    ),
    case(
        "GetCampaignMetrics period_end year 10000",
        3,
        "contact.GetCampaignMetrics",
        lambda cl: c.GetCampaignMetricsRequest(campaign_id="fuzz-campaign", period_end=ts(YEAR_10000)),
    ),
    case(
        "SetOptOut expires_at year 1",
        3,
        "contact.SetOptOut",
        lambda cl: c.SetOptOutRequest(
            opt_out=c.OptOut(
                customer_id=c0(cl), kind=c.OPT_OUT_KIND_OPT_OUT, reason="asked", source="call", expires_at=ts(YEAR_1)
            )
        ),
    ),
    # 4. Enum numbers outside the defined values.
    case("ListOffers category 999", 4, "contact.ListOffers", lambda cl: c.ListOffersRequest(category=999)),
    case("ListCampaigns state 999", 4, "contact.ListCampaigns", lambda cl: c.ListCampaignsRequest(state=999)),
    case("ListProposals state -7", 4, "contact.ListProposals", lambda cl: c.ListProposalsRequest(state=-7)),
    case(
        "CreateCampaign trigger min_risk_band 999",
        4,
        "contact.CreateCampaign",
        lambda cl: c.CreateCampaignRequest(
            campaign=campaign(
                campaign_id="fuzz-band",
                triggers=[c.CampaignTrigger(kind=c.ACCOUNT_EVENT_KIND_RISK_BAND_RAISED, min_risk_band=999)],
            )
        ),
    ),
    case("CheckContact channel 999", 4, "contact.CheckContact", lambda cl: check(c0(cl), channel=999)),
    case(
        "GetCustomer360 level 999",
        4,
        "profile.GetCustomer360",
        lambda cl: p.GetCustomer360Request(customer_id=c0(cl), level=999),
    ),
    case("ListModels kind 999", 4, "scoring.ListModels", lambda cl: s.ListModelsRequest(kind=999)),
    case(
        "ScoreFeatures kind 999",
        4,
        "scoring.ScoreFeatures",
        lambda cl: s.ScoreFeaturesRequest(kind=999, rows=[s.FeatureRow(row_id="r1")]),
    ),
    case(
        "TrainFromTable kind 999",
        4,
        "scoring.TrainFromTable",
        lambda cl: s.TrainFromTableRequest(
            content=TABLE, format=s.TABLE_FORMAT_CSV, id_column="id", label_column="label", kind=999
        ),
    ),
    case("TrainModel auto_promote 999", 4, "scoring.TrainModel", lambda cl: train(auto_promote=999)),
    score_row_case(
        "RecordScores risk_band 999",
        4,
        lambda cl: p.RecordScoresRequest(
            scores=[p.AccountScore(customer_id=c0(cl), churn_probability=0.1, risk_band=999, scored_at=ts(now_s()))]
        ),
    ),
    case(
        "billing product_line 999",
        4,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), product_line=999)),
    ),
    # 5. Long time zones and flat expressions under the length limit.
    case(
        "account time_zone of 5,000 chars",
        5,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=account(c0(cl), time_zone="Z" * 5000)),
    ),
    case(
        "policy fallback time zone of 5,000 chars",
        5,
        "contact.CreatePolicy",
        lambda cl: c.CreatePolicyRequest(policy=_policy_with(policy_id="fuzz-tz", fallback_time_zones=["Z" * 5000])),
    ),
    case(
        "ValidateExpression flat 1+1+...",
        5,
        "profile.ValidateExpression",
        lambda cl: p.ValidateExpressionRequest(expression=FLAT_EXPRESSION),
        expect=frozenset({"OK", "INVALID_ARGUMENT"}),
    ),
    case(
        "QuerySegment flat 1+1+...",
        5,
        "profile.QuerySegment",
        lambda cl: p.QuerySegmentRequest(expression=FLAT_EXPRESSION),
    ),
    case(
        "CreateTagDefinition flat 1+1+...",
        5,
        "profile.CreateTagDefinition",
        lambda cl: p.CreateTagDefinitionRequest(
            definition=p.TagDefinition(
                tag_id="fuzz_flat", display_name="Flat", category="value", expression=FLAT_EXPRESSION
            )
        ),
    ),
    case(
        "CreateOffer eligibility flat 1+1+...",
        5,
        "contact.CreateOffer",
        lambda cl: c.CreateOfferRequest(offer=offer(offer_id="fuzz-flat", eligibility=FLAT_EXPRESSION)),
    ),
    case(
        "CreateCampaign target flat 1+1+...",
        5,
        "contact.CreateCampaign",
        lambda cl: c.CreateCampaignRequest(campaign=campaign(campaign_id="fuzz-flat", target=FLAT_EXPRESSION)),
    ),
    case(
        "ExportFeatures filter nested 2,000 parentheses",
        5,
        "profile.ExportFeatures",
        lambda cl: p.ExportFeaturesRequest(filter_expression="(" * 1990 + "true" + ")" * 1990),
    ),
    # 6 (malformed, beyond undecodable): a NUL byte, which PostgreSQL text refuses (psycopg DataError).
    case(
        "record source with a NUL byte",
        6,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(
            record=i.Record(
                source="bill\x00ing",
                source_record_id="NUL-1",
                customer_id=c0(cl),
                occurred_at=ts(now_s() - 3600),
                interaction=i.Interaction(channel=i.INTERACTION_CHANNEL_VISIT),
            )
        ),
    ),
    case(
        "ListQuarantine source with a NUL byte",
        6,
        "ingest.ListQuarantine",
        lambda cl: i.ListQuarantineRequest(source="\x00"),
        expect=frozenset({"INVALID_ARGUMENT", "OK"}),
    ),
    case(
        "GetCustomer360 customer_id with a NUL byte",
        6,
        "profile.GetCustomer360",
        lambda cl: p.GetCustomer360Request(customer_id="KA\x00100001"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "GetTagDefinition tag_id with a NUL byte",
        6,
        "profile.GetTagDefinition",
        lambda cl: p.GetTagDefinitionRequest(tag_id="a\x00b"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "GetModel model_id with a NUL byte",
        6,
        "scoring.GetModel",
        lambda cl: s.GetModelRequest(model_id="a\x00b"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "GetOffer offer_id with a NUL byte",
        6,
        "contact.GetOffer",
        lambda cl: c.GetOfferRequest(offer_id="a\x00b"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "RemoveOptOut opt_out_id with a NUL byte",
        6,
        "contact.RemoveOptOut",
        lambda cl: c.RemoveOptOutRequest(opt_out_id="a\x00b", reason="asked"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "CancelContact reservation_id with a NUL byte",
        6,
        "contact.CancelContact",
        lambda cl: c.CancelContactRequest(reservation_id="a\x00b", reason="gateway error"),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "SetConsent source with a NUL byte",
        6,
        "contact.SetConsent",
        lambda cl: c.SetConsentRequest(
            consent=c.Consent(
                customer_id=c0(cl),
                channel=c.CHANNEL_EMAIL,
                purpose=c.PURPOSE_MARKETING,
                granted=True,
                source="con\x00tract",
            )
        ),
        expect=frozenset({"INVALID_ARGUMENT", "OK"}),
    ),
    # 7. A 100 KB value must not come back in the status details.
    case(
        "ExportOutcomes from_month of 100 KB",
        7,
        "profile.ExportOutcomes",
        lambda cl: p.ExportOutcomesRequest(from_month=HUGE_TEXT, to_month="2026-10"),
    ),
    case(
        "GetCustomer360 customer_id of 100 KB",
        7,
        "profile.GetCustomer360",
        lambda cl: p.GetCustomer360Request(customer_id=HUGE_TEXT),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "GetJob job_id of 100 KB",
        7,
        "scoring.GetJob",
        lambda cl: common_pb2.GetJobRequest(job_id=HUGE_TEXT),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    case(
        "billing month of 100 KB",
        7,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), month=HUGE_TEXT)),
    ),
    case(
        "GetPolicy policy_id of 100 KB",
        7,
        "contact.GetPolicy",
        lambda cl: c.GetPolicyRequest(policy_id=HUGE_TEXT),
        expect=frozenset({"INVALID_ARGUMENT", "NOT_FOUND"}),
    ),
    # 8. Free text without a limit, and answers that outgrow a default client's 4 MiB.
    case(
        "account name of 1 MB",
        8,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=account(c0(cl), name="名" * 1_000_000)),
    ),
    Case(
        "ListQuarantine after five rejected 1 MB records",
        8,
        tuple(
            [
                (
                    "ingest.SubmitRecord",
                    lambda cl, n=n: i.SubmitRecordRequest(
                        record=account(c0(cl), name="名" * 1_000_000, industry=f"NOPE{n}")
                    ),
                )
                for n in range(5)
            ]
            + [("ingest.ListQuarantine", lambda cl: i.ListQuarantineRequest())]
        ),
        expect=frozenset({"OK"}),
    ),
    Case(
        "ReplayQuarantine of five rejected 1 MB records",
        8,
        tuple(
            [
                (
                    "ingest.SubmitRecord",
                    lambda cl, n=n: i.SubmitRecordRequest(
                        record=account(c0(cl), name="名" * 1_000_000, industry=f"NOPE{n}")
                    ),
                )
                for n in range(5)
            ]
            + [("ingest.ReplayQuarantine", lambda cl: i.ReplayQuarantineRequest(filter=i.ListQuarantineRequest()))]
        ),
        expect=frozenset({"OK"}),
    ),
    case(
        "offer description of 100 KB",
        8,
        "contact.CreateOffer",
        lambda cl: c.CreateOfferRequest(offer=offer(offer_id="fuzz-long", description=HUGE_TEXT)),
    ),
    case(
        "consent source of 100 KB",
        8,
        "contact.SetConsent",
        lambda cl: c.SetConsentRequest(
            consent=c.Consent(
                customer_id=c0(cl), channel=c.CHANNEL_EMAIL, purpose=c.PURPOSE_MARKETING, granted=True, source=HUGE_TEXT
            )
        ),
    ),
    case("TrainModel description of 100 KB", 8, "scoring.TrainModel", lambda cl: train(description=HUGE_TEXT)),
    Case(
        "CancelContact reason of 100 KB",
        8,
        (
            (
                "contact.ReserveContact",
                lambda cl: c.ReserveContactRequest(
                    idempotency_key=f"cancel-{time.time_ns()}",
                    hold_seconds=60,
                    contact=check(c0(cl), channel=c.CHANNEL_EMAIL, purpose=c.PURPOSE_SERVICE),
                ),
            ),
            (
                "contact.CancelContact",
                lambda cl: c.CancelContactRequest(reservation_id=_reserved(cl), reason=HUGE_TEXT),
            ),
        ),
    ),
    case(
        "event attribute of 100 KB",
        8,
        "contact.SubmitAccountEvent",
        lambda cl: c.SubmitAccountEventRequest(
            event=c.AccountEvent(
                event_id=f"e-{time.time_ns()}",
                source="callcenter",
                customer_id=c0(cl),
                kind=c.ACCOUNT_EVENT_KIND_INBOUND_CALL,
                attributes={"reason": HUGE_TEXT},
            )
        ),
    ),
    case(
        "policy name of 100 KB",
        8,
        "contact.CreatePolicy",
        lambda cl: c.CreatePolicyRequest(policy=_policy_with(policy_id="fuzz-name", name=HUGE_TEXT)),
    ),
    # 9. Silent acceptance.
    score_row_case(
        "RecordScores negative predicted value",
        9,
        lambda cl: p.RecordScoresRequest(
            scores=[
                p.AccountScore(
                    customer_id=c0(cl),
                    churn_probability=0.1,
                    risk_band=common_pb2.RISK_BAND_LOW,
                    predicted_value_fen=-5,
                    scored_at=ts(now_s()),
                )
            ]
        ),
    ),
    score_row_case(
        "RecordScores negative horizon",
        9,
        lambda cl: p.RecordScoresRequest(
            scores=[
                p.AccountScore(
                    customer_id=c0(cl),
                    churn_probability=0.1,
                    risk_band=common_pb2.RISK_BAND_LOW,
                    value_horizon_months=-3,
                    scored_at=ts(now_s()),
                )
            ]
        ),
    ),
    score_row_case(
        "RecordScores churn probability 7",
        9,
        lambda cl: p.RecordScoresRequest(
            scores=[
                p.AccountScore(
                    customer_id=c0(cl), churn_probability=7.0, risk_band=common_pb2.RISK_BAND_LOW, scored_at=ts(now_s())
                )
            ]
        ),
    ),
    case(
        "TrainModel learning_rate inf", 9, "scoring.TrainModel", lambda cl: train(parameters={"learning_rate": "inf"})
    ),
    case("TrainModel num_leaves 1", 9, "scoring.TrainModel", lambda cl: train(parameters={"num_leaves": "1"})),
    case(
        "TrainModel num_leaves in full-width digits",
        9,
        "scoring.TrainModel",
        lambda cl: train(parameters={"num_leaves": "３１"}),
    ),
    case("TrainModel negative horizon", 9, "scoring.TrainModel", lambda cl: train(horizon_months=-3)),
    # Accepted or refused, but a job that fails must say why in a sentence (no exception text).
    case("TrainModel cut-off before any data", 9, "scoring.TrainModel", lambda cl: train(as_of=[ts(1)]), expect=None),
    case(
        "TrainFromTable unreadable CSV",
        9,
        "scoring.TrainFromTable",
        lambda cl: s.TrainFromTableRequest(
            content=b"\x00", format=s.TABLE_FORMAT_CSV, id_column="id", label_column="label", kind=s.MODEL_KIND_CHURN
        ),
        expect=None,
    ),
    case(
        "TrainFromTable label = id column",
        9,
        "scoring.TrainFromTable",
        lambda cl: s.TrainFromTableRequest(
            content=TABLE, format=s.TABLE_FORMAT_CSV, id_column="id", label_column="id", kind=s.MODEL_KIND_CHURN
        ),
    ),
    case(
        "ExportFeatures negative batch_size",
        9,
        "profile.ExportFeatures",
        lambda cl: p.ExportFeaturesRequest(as_of=ts(1_780_000_000), batch_size=-5),
    ),
    case(
        "ExportOutcomes negative batch_size",
        9,
        "profile.ExportOutcomes",
        lambda cl: p.ExportOutcomesRequest(from_month="2026-06", to_month="2026-10", batch_size=-5),
    ),
    case(
        "ScoreAll negative batch_size",
        9,
        "scoring.ScoreAll",
        lambda cl: s.ScoreAllRequest(as_of=ts(now_s()), skip_publish=True, batch_size=-5),
    ),
    case(
        "ReserveContact hold_seconds -5",
        9,
        "contact.ReserveContact",
        lambda cl: c.ReserveContactRequest(
            idempotency_key=f"hold-{time.time_ns()}", contact=check(c0(cl)), hold_seconds=-5
        ),
    ),
    case(
        "billing month in full-width digits",
        9,
        "ingest.SubmitRecord",
        lambda cl: i.SubmitRecordRequest(record=billing(c0(cl), month="２０２６-１０")),
    ),
    case(
        "AdjustCounter delta int32 min",
        9,
        "contact.AdjustCounter",
        lambda cl: c.AdjustCounterRequest(scope=check(c0(cl)), delta=-(2**31), reason="fuzz"),
    ),
    case(
        "ListPolicies page_size -1",
        9,
        "contact.ListPolicies",
        lambda cl: c.ListPoliciesRequest(page=common_pb2.PageRequest(page_size=-1)),
    ),
]


def _policy_with(**changes: Any) -> c.ContactPolicy:
    policy = good_policy()
    _apply(policy, changes)
    return policy


def _reserved(cl: Any) -> str:
    """The reservation id the previous step's ReserveContact answered."""
    replies = getattr(cl, "last_replies", [])
    return replies[0].reservation.reservation_id if replies else "r-unknown"
