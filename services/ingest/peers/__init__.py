"""Clients of other services (peers layer): ingest calls no other service."""
