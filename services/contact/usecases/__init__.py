"""Use cases of the contact service: they gather peer data (async), then run the domain
inside store transactions (in the store's thread pool). Handlers call these; the domain
stays free of I/O and the store free of rules.

Modules:
    deps        the shared dependencies and the catalogue cache
    catalogue   policies, offers, campaigns
    ledger      check, reserve, confirm, cancel, adjust, outcomes, opt-outs, consent, decisions
    offers      next-best-offer and event-triggered campaign proposals
    analysis    policy simulation and campaign metrics
"""
