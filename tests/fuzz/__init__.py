"""Fuzz tests of every RPC of the four services against real in-process servers (issue #12)."""
