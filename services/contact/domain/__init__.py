"""Contact domain: plain Python rules, ranking and replay (no gRPC, no SQL).

Modules:
    model       enums and value objects shared by the whole domain
    validation  validation of policies, offers, campaigns, opt-outs and consents
    windows     time windows, calendar boundaries, time zones and local hours
    rules       evaluation of each rule kind, with its trace entry
    decide      combination of all rules into a decision and the next allowed time
    bandit      Beta-Bernoulli propensities and Thompson sampling
    nbo         next-best-offer ranking and suppression
    campaigns   trigger matching, control groups and proposals
    simulation  replay of recorded history under a draft policy
    metrics     campaign metrics
"""
