"""Peer: scoring's latest stored score of an account, put into a Customer360 answer."""

from __future__ import annotations

from telco360.profile.v1 import profile_pb2 as pb
from telco360.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from telco360_runtime.clients import Token, open_channel
from telco360_runtime.tls import ChannelTls


class ScoringPeer:
    """A channel to scoring."""

    def __init__(self, addr: str, timeout: float, token: Token = "", tls: ChannelTls | None = None) -> None:
        self.timeout = timeout
        self.stub = scoring_pb2_grpc.ScoringServiceStub(open_channel(addr, token=token, tls=tls))

    async def add_score(self, out: pb.Customer360, customer_id: str) -> None:
        """Put the latest stored score into `out` unless the one there is newer."""
        score = await self.stub.GetStoredScore(
            scoring_pb2.GetStoredScoreRequest(customer_id=customer_id), timeout=self.timeout, wait_for_ready=False
        )
        if out.HasField("score") and out.score.scored_at.ToDatetime() >= score.scored_at.ToDatetime():
            return
        out.score.CopyFrom(
            pb.AccountScore(
                customer_id=customer_id,
                churn_probability=score.churn_probability,
                risk_band=score.risk_band,
                predicted_value_fen=score.predicted_value_fen,
                model_version=score.churn_model_id,
                scored_at=score.scored_at,
                reasons=[
                    pb.ScoreReason(feature=r.feature, description=r.phrase, contribution=r.contribution)
                    for r in score.churn_reasons
                ],
            )
        )
