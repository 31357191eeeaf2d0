"""Use cases of the contact service (usecases layer): they gather peer data (async, through
peers/, which speaks gRPC for them), then run the domain inside store transactions (in the
store's thread pool). The api/ servicer calls these; they import no grpc and no stubs; the
domain stays free of I/O and the store free of rules.

Modules:
    deps        the shared dependencies and the catalogue cache
    catalogue   policies, offers, campaigns
    ledger      check, reserve, confirm, cancel, adjust, outcomes, opt-outs, consent, decisions
    offers      next-best-offer and event-triggered campaign proposals
    analysis    policy simulation and campaign metrics
    journal     write-behind journal of next-best-offer answers
"""
