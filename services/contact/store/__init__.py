"""Contact store: SQLAlchemy models, JSON codec of domain documents, repository functions
and the ledger's locking transaction."""
