"""Profile's store: SQLAlchemy 2.0 models, repository functions and Alembic migrations."""
