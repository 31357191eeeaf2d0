"""Tests of the contact service (unit tests of the domain, store and server tests)."""
