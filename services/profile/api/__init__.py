"""The profile service's gRPC interface: servicer, converters and request checks."""
