"""The demo's offer catalogue and contact policies (as an operator would configure them)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from telco360.contact.v1 import contact_pb2 as c


def _window(size: int, unit: c.WindowUnit) -> c.Window:
    return c.Window(kind=c.WINDOW_KIND_ROLLING, unit=unit, size=size)


#: Retention is for accounts scoring puts in its high or medium band (bands are relative to
#: each model's holdout, so they follow the base rate) or that a competitor is approaching.
RETENTION_ELIGIBILITY = "risk_band in ('HIGH', 'MEDIUM') or competitor_active_approach"


def offers() -> list[c.Offer]:
    """Four offers: retention, upsell, cross-sell and service care."""
    everywhere = [c.CHANNEL_INBOUND_OFFER, c.CHANNEL_OUTBOUND_CALL, c.CHANNEL_SMS, c.CHANNEL_VISIT]
    return [
        c.Offer(
            offer_id="retention_renewal",
            name="Contract renewal with 8 % discount",
            active=True,
            category=c.OFFER_CATEGORY_RETENTION,
            eligibility=RETENTION_ELIGIBILITY,
            value_fen=1_200_000_00,
            cost_fen=60_000_00,
            channels=everywhere,
            prior_alpha=3,
            prior_beta=7,
            description="Offer to renew the framework contract early with a loyalty discount.",
        ),
        c.Offer(
            offer_id="dedicated_line_upgrade",
            name="Dedicated line bandwidth upgrade",
            active=True,
            category=c.OFFER_CATEGORY_UPSELL,
            eligibility="coalesce(fee_dedicated_line_last_month, 0) > 0",
            value_fen=240_000_00,
            cost_fen=5_000_00,
            channels=everywhere,
            description="Double the bandwidth of the dedicated line for 15 % more.",
        ),
        c.Offer(
            offer_id="cloud_desktop_trial",
            name="Cloud desktop 3-month trial",
            active=True,
            category=c.OFFER_CATEGORY_CROSS_SELL,
            eligibility="coalesce(fee_cloud_last_month, 0) = 0",
            value_fen=180_000_00,
            cost_fen=8_000_00,
            channels=everywhere,
            description="Cloud desktops for the office, free for three months.",
        ),
        c.Offer(
            offer_id="network_health_check",
            name="Free network health check",
            active=True,
            category=c.OFFER_CATEGORY_SERVICE_CARE,
            value_fen=60_000_00,
            cost_fen=2_000_00,
            channels=everywhere,
            description="An engineer checks the account's lines and equipment.",
        ),
    ]


def _no_consent_classes() -> list[c.PurposeClass]:
    # Key accounts' framework contracts carry the consent to be contacted about offers.
    return [
        c.PurposeClass(purpose=c.PURPOSE_MARKETING, requires_consent=False),
        c.PurposeClass(purpose=c.PURPOSE_RETENTION, requires_consent=False),
    ]


def standard_policy() -> c.ContactPolicy:
    """The policy in force: generous caps (the SMS-blast era), cool-downs after a refusal."""
    return c.ContactPolicy(
        policy_id="standard",
        name="Standard contact policy",
        active=True,
        description="Caps marketing at 12 contacts per account per 30 days; cool-down after a refusal.",
        caps=[
            c.FrequencyCap(
                cap_id="marketing-30d",
                scope=c.CAP_SCOPE_ACCOUNT,
                purposes=[c.PURPOSE_MARKETING],
                max_contacts=12,
                window=_window(30, c.WINDOW_UNIT_DAY),
            ),
            c.FrequencyCap(
                cap_id="retention-30d",
                scope=c.CAP_SCOPE_ACCOUNT,
                purposes=[c.PURPOSE_RETENTION],
                max_contacts=6,
                window=_window(30, c.WINDOW_UNIT_DAY),
            ),
        ],
        quiet_hours=c.QuietHours(start="21:00", end="08:00"),
        fallback_time_zones=["Asia/Shanghai"],
        cool_downs=[
            c.CoolDown(
                cool_down_id="declined-offer-30d",
                triggers=[c.OUTCOME_KIND_DECLINED],
                scope=c.COOL_DOWN_SCOPE_SAME_OFFER,
                duration=_window(30, c.WINDOW_UNIT_DAY),
            ),
            c.CoolDown(
                cool_down_id="complaint-60d",
                triggers=[c.OUTCOME_KIND_COMPLAINED],
                scope=c.COOL_DOWN_SCOPE_ALL_COMMERCIAL,
                duration=_window(60, c.WINDOW_UNIT_DAY),
            ),
        ],
        purpose_classes=_no_consent_classes(),
        change_note="demo set-up",
    )


def strict_policy() -> c.ContactPolicy:
    """The stricter draft: at most 4 marketing contacts a month, one SMS a week."""
    draft = standard_policy()
    draft.name = "Strict contact policy (draft)"
    draft.description = "At most 4 marketing contacts per account per 30 days, and one SMS per 7 days."
    del draft.caps[:]
    draft.caps.extend(
        [
            c.FrequencyCap(
                cap_id="marketing-30d",
                scope=c.CAP_SCOPE_ACCOUNT,
                purposes=[c.PURPOSE_MARKETING],
                max_contacts=4,
                window=_window(30, c.WINDOW_UNIT_DAY),
            ),
            c.FrequencyCap(
                cap_id="sms-7d",
                scope=c.CAP_SCOPE_ACCOUNT,
                channels=[c.CHANNEL_SMS],
                purposes=[c.PURPOSE_MARKETING],
                max_contacts=1,
                window=_window(7, c.WINDOW_UNIT_DAY),
            ),
            c.FrequencyCap(
                cap_id="retention-30d",
                scope=c.CAP_SCOPE_ACCOUNT,
                purposes=[c.PURPOSE_RETENTION],
                max_contacts=3,
                window=_window(30, c.WINDOW_UNIT_DAY),
            ),
        ]
    )
    draft.change_note = "stricter caps after complaints about too many SMS"
    return draft


def retention_campaign(starts_at: Timestamp, control_group_bp: int) -> c.Campaign:
    """The retention campaign: an offer on the customer's own inbound call, with a control group."""
    return c.Campaign(
        campaign_id="inbound_retention",
        name="Retention offers on inbound calls",
        description="When a key account calls in, the agent offers an early renewal or a network health check.",
        # No target expression: every caller qualifies, and the campaign does not depend on
        # profile answering within contact's peer deadline (offer eligibility degrades instead).
        target="",
        triggers=[c.CampaignTrigger(kind=c.ACCOUNT_EVENT_KIND_INBOUND_CALL)],
        touchpoints=[c.CHANNEL_INBOUND_OFFER],
        offer_ids=["retention_renewal", "network_health_check"],
        purpose=c.PURPOSE_RETENTION,
        starts_at=starts_at,
        contact_cost_fen=300,
        control_group_bp=control_group_bp,
        state=c.CAMPAIGN_STATE_ACTIVE,
    )
