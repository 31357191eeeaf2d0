"""What the fuzz tests found, per service and RPC, and how to show an input briefly.

A finding is one RPC, one origin (generated example, issue #12 corpus case, undecodable
payload, deadline storm), the input in short form and what was wrong. Findings with the
same RPC and the same problem (numbers stripped) are grouped, keeping a few inputs each.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

#: Inputs kept per (RPC, problem): enough to see the pattern.
EXAMPLES_PER_PROBLEM = 3


def _value(field: FieldDescriptor, value: Any) -> str:
    if isinstance(value, Message):
        return describe(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:20]!r}…({len(value)} chars)"
    if isinstance(value, bytes):
        return repr(value) if len(value) <= 24 else f"{value[:12]!r}…({len(value)} bytes)"
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known else f"{value} (undefined)"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value)


def describe(request: Any, limit: int = 600) -> str:
    """A one-line rendering of a request with long values shortened."""
    if isinstance(request, str):
        return request
    if isinstance(request, (bytes, bytearray)):
        return f"raw bytes {bytes(request)[:24]!r}" + (f"…({len(request)} bytes)" if len(request) > 24 else "")
    if isinstance(request, list):
        return (
            "stream["
            + ", ".join(describe(item, limit // max(len(request), 1)) for item in request[:5])
            + (f", …{len(request)} messages" if len(request) > 5 else "")
            + "]"
        )
    parts = []
    for field, value in request.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            items = list(value.items())
            shown = ", ".join(
                f"{k[:20]!r}: {_value(field.message_type.fields_by_name['value'], v)}" for k, v in items[:3]
            )
            parts.append(
                f"{field.name}={{{shown}{', …' if len(items) > 3 else ''}}}"
                + (f"({len(items)} entries)" if len(items) > 3 else "")
            )
        elif field.is_repeated:
            items = list(value)
            shown = ", ".join(_value(field, v) for v in items[:3])
            parts.append(
                f"{field.name}=[{shown}{', …' if len(items) > 3 else ''}]"
                + (f"({len(items)} items)" if len(items) > 3 else "")
            )
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            parts.append(f"{field.name}=ts({value.seconds}{', nanos=' + str(value.nanos) if value.nanos else ''})")
        else:
            parts.append(f"{field.name}={_value(field, value)}")
    text = f"{request.DESCRIPTOR.name}(" + ", ".join(parts) + ")"
    return text if len(text) <= limit else text[:limit] + "…"


@dataclasses.dataclass
class Finding:
    """One failed expectation."""

    service: str
    method: str
    origin: str
    request: str
    problems: list[str]


def _signature(problem: str) -> str:
    return re.sub(r"\d+", "N", problem)[:120]


class Findings:
    """Findings of a session, grouped for the report."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.ran: dict[str, set[str]] = defaultdict(set)

    def ran_method(self, service: str, method: str, origin: str) -> None:
        """Record that an RPC was exercised (so the report can say which passed)."""
        self.ran[f"{service}.{method}"].add(origin)

    def add(self, service: str, method: str, origin: str, request: Any, problems: list[str]) -> Finding:
        """Record a finding."""
        finding = Finding(service, method, origin, describe(request), problems)
        self.items.append(finding)
        return finding

    def for_method(self, service: str, method: str) -> list[Finding]:
        """Findings of one RPC."""
        return [f for f in self.items if f.service == service and f.method == method]

    def grouped(self, items: list[Finding]) -> dict[str, list[Finding]]:
        """Findings by problem signature (first problem, numbers stripped)."""
        groups: dict[str, list[Finding]] = defaultdict(list)
        for finding in items:
            groups[_signature(finding.problems[0])].append(finding)
        return groups

    def summary(self, items: list[Finding]) -> str:
        """A short text of grouped findings, for an assertion message."""
        lines = []
        for _, group in self.grouped(items).items():
            lines.append(f"- {group[0].problems[0]}  [{len(group)} input(s)]")
            for finding in group[:EXAMPLES_PER_PROBLEM]:
                extra = f" (+ {'; '.join(finding.problems[1:])})" if len(finding.problems) > 1 else ""
                lines.append(f"    {finding.origin}: {finding.request}{extra}")
        return "\n".join(lines)

    def markdown(self, stamp: str, examples: int, backend: str = "sqlite") -> str:
        """The whole report, per service and RPC."""
        out = [
            f"# Fuzz findings on {backend} ({stamp})",
            "",
            f"tests/fuzz, {examples} generated examples per RPC plus the issue #12 corpus; "
            f"{len(self.items)} failing inputs in {len({(f.service, f.method) for f in self.items})} RPCs "
            f"of {len(self.ran)} exercised.",
            "",
        ]
        for service in ("ingest", "profile", "scoring", "contact"):
            methods = sorted(
                {m.split(".", 1)[1] for m in self.ran if m.startswith(service + ".")}
                | {f.method for f in self.items if f.service == service}
            )
            failing = [m for m in methods if self.for_method(service, m)]
            out.append(f"## {service} ({len(failing)} of {len(methods)} RPCs failing)")
            out.append("")
            for method in failing:
                out.append(f"### {service}.{method}")
                out.append(self.summary(self.for_method(service, method)))
                out.append("")
            passing = [m for m in methods if m not in failing]
            if passing:
                out.append("Passing: " + ", ".join(passing))
                out.append("")
        return "\n".join(out)
