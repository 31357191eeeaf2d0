"""Interfaces of the scoring service (api layer): gRPC servicer, converters, request bounds, report CLI."""
