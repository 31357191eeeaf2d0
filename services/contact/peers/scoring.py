"""Contact's client of scoring (peers layer): the live churn risk and value of an account.

Failures raise PeerUnavailable (peers.errors); the caller falls back to profile's
recorded score.
"""

from __future__ import annotations

import dataclasses

import grpc

from services.contact.peers.errors import unavailable
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc

PEER = "scoring"


@dataclasses.dataclass(frozen=True)
class ScoreFacts:
    """What scoring tells contact about an account."""

    churn_probability: float
    risk_band: int
    predicted_value_fen: int
    value_tier: int


class ScoringClient:
    """Scoring's ScoreCustomers, with the peer deadline `timeout`."""

    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = scoring_pb2_grpc.ScoringServiceStub(channel)
        self.timeout = timeout

    async def score(self, customer_id: str) -> ScoreFacts | None:
        """The account's live score (None when scoring has none for it)."""
        try:
            reply = await self._stub.ScoreCustomers(
                scoring_pb2.ScoreCustomersRequest(customer_ids=[customer_id], top_reasons=1), timeout=self.timeout
            )
        except grpc.RpcError as error:
            raise unavailable(PEER, error) from error
        for score in reply.scores:
            if score.status == scoring_pb2.SCORE_STATUS_OK:
                return ScoreFacts(
                    score.churn_probability, int(score.risk_band), score.predicted_value_fen, int(score.value_tier)
                )
        return None
