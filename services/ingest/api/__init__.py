"""Ingest's interfaces (api layer): the gRPC servicer, protobuf <-> domain converters, request
checks, the request-stream inbox and the bulk importer CLI. Translates and calls use cases."""
