"""How the CLI reports failures: the server's status, message and failing fields, no traceback.

`CliError` is a failure the CLI itself detects (a missing file, a job that failed). gRPC
errors are rendered from the status code, the details message and the google.rpc
BadRequest field violations the server attached (telco360_runtime.status.field_violations).
"""

from __future__ import annotations

import grpc
from rich.console import Console

from telco360_runtime.status import field_violations


class CliError(Exception):
    """A failure to report to the user in words (exit status 1)."""


def describe_rpc_error(error: grpc.RpcError) -> list[str]:
    """Lines describing a failed call: status, message and each failing field."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    lines = [f"{code.name if code else 'ERROR'}: {details or '(no message)'}"]
    try:
        violations = field_violations(error)
    except Exception:  # noqa: BLE001 - a status without rich details must still print
        violations = []
    for violation in violations:
        reason = f" [{violation.reason}]" if violation.reason else ""
        lines.append(f"  field {violation.field}: {violation.description}{reason}")
    if code == grpc.StatusCode.UNAVAILABLE:
        lines.append("  hint: is the service running? `telco360 services status` shows the local suite")
    return lines


def print_error(console: Console, error: BaseException) -> None:
    """Print an error the way the user should see it."""
    if isinstance(error, grpc.RpcError):
        lines = describe_rpc_error(error)
        console.print(f"[bold red]error[/] {lines[0]}", highlight=False)
        for line in lines[1:]:
            console.print(line, highlight=False)
    else:
        console.print(f"[bold red]error[/] {error}", highlight=False)
