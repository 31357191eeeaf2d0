"""Scoring's role table (see telco360_runtime.access): who may call each RPC, and its request bound.

Models are the analysts' (training, promotion, reports); scores are read by services and
analysts (the front line sees an account's scores through profile's Customer360, which
scopes and masks). An uploaded training table may be as large as a message can be.
"""

from __future__ import annotations

from telco360_runtime.access import allow

MODEL_READERS = ("service", "analyst", "marketing")
#: Uploaded tables (TrainFromTable and ScoreTable content): the server's message limit is the bound.
TABLE_KB = 32 * 1024
#: ScoreFeatures takes rows of features: a few thousand rows per call.
ROWS_KB = 4 * 1024

ACCESS = {
    "TrainModel": allow("analyst"),
    "TrainFromTable": allow("analyst", max_request_kb=TABLE_KB),
    "PromoteModel": allow("analyst"),
    "GetModel": allow(*MODEL_READERS),
    "ListModels": allow(*MODEL_READERS),
    "GetReport": allow(*MODEL_READERS),
    "ScoreFeatures": allow("service", "analyst", max_request_kb=ROWS_KB),
    "ScoreTable": allow("service", "analyst", max_request_kb=TABLE_KB),
    "ScoreCustomers": allow("service", "analyst"),
    "ScoreAll": allow("service", "analyst"),
    "GetStoredScore": allow("service", "analyst"),
    "GetJob": allow("service", "analyst"),
    "ApplyErasure": allow("service"),
    "LiftErasure": allow("service"),
    # Base analytics (issue #19): analysts run and review; the summary is for model readers.
    "RunBaseAnalytics": allow("analyst"),
    "GetBaseAnalytics": allow(*MODEL_READERS),
    "ListOutliers": allow("analyst"),
    "ReviewOutlier": allow("analyst"),
}
