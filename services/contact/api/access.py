"""Contact's role table (see telco360_runtime.access): who may call each RPC, and its request bound.

The front line (call centre, account managers on their own accounts) asks for the next best
offer and reserves, confirms and cancels contacts; marketing owns policies, offers and
campaigns; analysts read decisions and results; opt-outs are taken by the front line on
the customer's word but lifted only by an administrator, as are counter adjustments.
"""

from __future__ import annotations

from telco360_runtime.access import allow

FRONT_LINE = ("service", "call_center", "account_manager")
READERS = ("service", "analyst", "marketing", "call_center", "account_manager")
PLANNERS = ("service", "analyst", "marketing")

ACCESS = {
    "GetNextBestOffer": allow(*FRONT_LINE),
    "CheckContact": allow(*FRONT_LINE),
    "ReserveContact": allow(*FRONT_LINE),
    "ConfirmContact": allow(*FRONT_LINE),
    "CancelContact": allow(*FRONT_LINE),
    "RecordOutcome": allow(*FRONT_LINE),
    "GetDecisionTrace": allow(*READERS),
    "ListDecisions": allow(*READERS),
    "ListLedger": allow(*READERS),
    "AdjustCounter": allow(),
    "CreatePolicy": allow("marketing"),
    "UpdatePolicy": allow("marketing"),
    "GetPolicy": allow(*READERS),
    "ListPolicies": allow(*READERS),
    "SimulatePolicy": allow("marketing", "analyst"),
    "GetSimulationResult": allow("marketing", "analyst"),
    "CreateOffer": allow("marketing"),
    "UpdateOffer": allow("marketing"),
    "GetOffer": allow(*READERS),
    "ListOffers": allow(*READERS),
    "ListProposals": allow(*READERS),
    "CreateCampaign": allow("marketing"),
    "UpdateCampaign": allow("marketing"),
    "PauseCampaign": allow("marketing"),
    "ResumeCampaign": allow("marketing"),
    "GetCampaign": allow(*PLANNERS),
    "ListCampaigns": allow(*PLANNERS),
    "GetCampaignMetrics": allow(*PLANNERS),
    "SetOptOut": allow(*FRONT_LINE),
    "RemoveOptOut": allow(),
    "ListOptOuts": allow(*READERS),
    "SetConsent": allow(*FRONT_LINE),
    "ListConsents": allow(*READERS),
    "SubmitAccountEvent": allow("service"),
    "GetJob": allow(*PLANNERS),
    "ApplyErasure": allow("service"),
    "LiftErasure": allow("service"),
}
