"""Profile's role table (see telco360_runtime.access): who may call each RPC, and its request bound.

Reads of one account are open to the front line (account managers only for their own
team's accounts, call centre with personal data masked except names and phones), analysts
and marketing read masked; tag rules are the analysts'; erasure (its status, listing and reactivation
included) and closing a billing period are admin operations; scores and account events travel between services.
"""

from __future__ import annotations

from telco360_runtime.access import allow

FRONT_LINE = ("account_manager", "call_center")
READERS = ("service", "analyst", "marketing", *FRONT_LINE)
#: RecordScores carries a scored base in pages of a few thousand accounts.
SCORES_KB = 16 * 1024

ACCESS = {
    "GetCustomer360": allow(*READERS),
    "GetFeatures": allow("service", "analyst", "account_manager"),
    "ExportFeatures": allow("service", "analyst"),
    "ExportOutcomes": allow("service", "analyst"),
    "GetFeatureSchema": allow(*READERS),
    "QuerySegment": allow("service", "analyst", "marketing", "account_manager"),
    "ListTagHistory": allow("service", "analyst", "account_manager"),
    "CreateTagDefinition": allow("analyst"),
    "UpdateTagDefinition": allow("analyst"),
    "DeleteTagDefinition": allow("analyst"),
    "DryRunTagDefinition": allow("analyst", "marketing"),
    "ValidateExpression": allow("service", "analyst", "marketing"),  # contact checks offers' eligibility rules
    "GetTagDefinition": allow(*READERS),
    "ListTagDefinitions": allow(*READERS),
    "RecordScores": allow("service", max_request_kb=SCORES_KB),
    "WatchAccountEvents": allow("service"),
    "GetSyncStatus": allow("service", "analyst"),
    "GetJob": allow("service", "analyst", "marketing"),
    "CloseBillingPeriod": allow(),
    "EraseCustomer": allow(),
    "GetErasureStatus": allow(),
    "ListErasures": allow(),
    "ReactivateCustomer": allow(),
}
