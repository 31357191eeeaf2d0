"""Scoring's own store: SQLAlchemy models, repository and Alembic migrations."""
