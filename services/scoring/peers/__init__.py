"""Clients of other services (peers layer): profile, as scoring's feature source."""
