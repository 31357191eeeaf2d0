"""Command groups of the CLI, one module per service (plus the local suite and the demo)."""
