"""Offer propensities learned from outcomes: Beta-Bernoulli posteriors, Thompson sampling,
and deterministic control groups.

Method (documented for analysts):

- Each (offer, segment) pair is a Bernoulli arm whose success is "the customer accepted
  when offered". The segment is "<value tier>/<churn risk band>" (e.g. "gold/high"), known
  from profile and scoring; when they are unavailable the segment is "unknown/unspecified".
- Prior: Beta(alpha0, beta0) from the offer (default Beta(1, 9), a 10 % prior mean worth
  ten observations, so a new offer is neither ignored nor trusted blindly).
- Evidence: only customer answers count. ACCEPTED adds to alpha; DECLINED and COMPLAINED
  add to beta. SHOWN_TO_AGENT, OFFERED and NO_ANSWER carry no information on whether the
  customer wants the offer and are ignored.
- Posterior: Beta(alpha0 + accepted, beta0 + declined). Ranking uses a Thompson sample
  from it (exploration: offers with little evidence sometimes rank high and get the
  chance to prove themselves) or, with exploit_only, the posterior mean.
- Control groups: an account is in the control group of an offer (or campaign) for a
  month when hash(customer, key, month) mapped to [0, 1) is below the control share.
  SHA-256 makes it deterministic across replicas and restarts, independent between keys,
  and refreshed each month so nobody is held out for ever.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random


@dataclasses.dataclass(frozen=True, slots=True)
class ArmStats:
    """Customer answers observed for one (offer, segment)."""

    accepted: int = 0
    declined: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Posterior:
    """Beta posterior of an arm's acceptance rate."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        """Posterior mean acceptance rate."""
        return self.alpha / (self.alpha + self.beta)

    def sample(self, rng: random.Random) -> float:
        """A Thompson sample of the acceptance rate."""
        return rng.betavariate(self.alpha, self.beta)


def posterior(prior: tuple[float, float], stats: ArmStats) -> Posterior:
    """The posterior of an arm from its prior and observed answers."""
    return Posterior(prior[0] + stats.accepted, prior[1] + stats.declined)


def hash_unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the given strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_control_group(customer_id: str, key: str, period: str, share: float) -> bool:
    """Whether the account is held out for `key` (offer or campaign) in `period` (YYYY-MM)."""
    return hash_unit(customer_id, key, period) < share
