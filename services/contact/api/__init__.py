"""gRPC interfaces of the contact service (api layer): the servicer, protobuf <-> domain converters
and the request bounds. It translates and calls the use cases; it opens no transaction and imports
no store or peers."""
