"""Stand-in profile and scoring servers for the contact benchmark, in their own process.

    .venv/bin/python -m bench.contact.peers <accounts> <profile_port> <scoring_port>

They answer GetCustomer360 (with features and tags), GetFeatureSchema, ValidateExpression
and ScoreCustomers from
memory (services/contact/tests/harness.py), so the benchmark measures contact and its
calls over real gRPC, not profile's or scoring's own work.
"""

from __future__ import annotations

import asyncio
import random
import sys

from services.contact.tests.harness import AccountFacts, start_peers


async def serve(accounts: int, profile_port: int, scoring_port: int) -> None:
    """Populate the stand-ins and serve until killed."""
    profile, profile_server, scoring, scoring_server = await start_peers()
    await profile_server.stop()
    await scoring_server.stop()
    await profile_server.start(profile_port)
    await scoring_server.start(scoring_port)
    rng = random.Random(11)
    ids = [f"B{n:05d}" for n in range(accounts)]
    cloud_fit = set(rng.sample(ids, accounts // 3))
    fee_drop = set(rng.sample(ids, accounts // 5))
    for customer in ids:
        tags = {t for t, holders in (("cloud_fit", cloud_fit), ("fee_drop_warning", fee_drop)) if customer in holders}
        # A realistic feature map (profile has about 60 built-in features per account).
        features: dict[str, float | str | bool] = {f"feature_{n}": rng.random() * 1000 for n in range(60)}
        features.update(status="ACTIVE", fee_total_last_month=rng.randint(10**4, 10**7) * 1.0)
        profile.accounts[customer] = AccountFacts(
            tier=rng.randint(1, 6), persons={"p1": "09:00-18:00"}, tags=tags, features=features
        )
        scoring.scores[customer] = (rng.random() * 0.6, rng.choice([1, 2, 3]), rng.randint(10**5, 10**8))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
