"""Import directions of the layers (docs/ARCHITECTURE.md), checked on the source.

Every `import` statement is read with `ast`, including those inside functions, so a
deferred import cannot slip past. Rules:
- no library under libs/ imports a service;
- a service imports no other service (peers are reached over gRPC);
- a service's domain/ imports no gRPC, protobuf, generated stubs, SQLAlchemy or Alembic,
  no runtime module doing I/O, and none of its own service's outer layers;
- a service's gRPC layer (handlers, converters) imports no SQLAlchemy and opens no
  transaction; the modules that still do are listed in API_DEBTS, and the list may only
  shrink (a module that no longer needs its entry fails the test until it is removed).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "profile", "scoring", "contact")
DOMAIN_FORBIDDEN = (
    "grpc",
    "google.protobuf",
    "telco360.",
    "sqlalchemy",
    "alembic",
    "telco360_runtime.db",
    "telco360_runtime.server",
    "telco360_runtime.clients",
    "telco360_runtime.interceptors",
    "telco360_runtime.jobs",
)
OUTER_LAYERS = ("store", "handlers", "api", "converters", "app", "peers", "consumer", "scheduler", "usecases")
API_MODULES = {
    "ingest": ["handlers.py", "converters.py"],
    "profile": ["handlers/*.py", "converters.py"],
    "scoring": ["handlers.py", "converters.py"],
    "contact": ["handlers.py", "converters.py"],
}
TRANSACTION_CALLS = ("session", "write_session")
# The gRPC layer of profile still opens read sessions for its queries (issue #13 follow-up:
# move them into use cases). Listed so that no new module joins them.
API_DEBTS = {
    "services/profile/handlers/accounts.py",
    "services/profile/handlers/common.py",
    "services/profile/handlers/features.py",
    "services/profile/handlers/segments.py",
    "services/profile/handlers/sync.py",
    "services/profile/handlers/tags.py",
}


def python_files(folder: pathlib.Path, *, with_tests: bool = False) -> list[pathlib.Path]:
    files = sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)
    return files if with_tests else [p for p in files if "tests" not in p.parts]


def imported_modules(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
            names.append(".".join(package + ((node.module,) if node.module else ())))
    return names


def starts_with(module: str, prefix: str) -> bool:
    return module == prefix.rstrip(".") or module.startswith(prefix if prefix.endswith(".") else prefix + ".")


def rel(path: pathlib.Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_library_imports_a_service():
    found = [
        f"{rel(p)} imports {m}"
        for p in python_files(ROOT / "libs", with_tests=True)
        if "gen" not in p.relative_to(ROOT / "libs").parts[:1]
        for m in imported_modules(p)
        if starts_with(m, "services")
    ]
    assert found == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service):
    others = [s for s in SERVICES if s != service]
    found = [
        f"{rel(p)} imports {m}"
        for p in python_files(ROOT / "services" / service)
        for m in imported_modules(p)
        if any(starts_with(m, f"services.{other}") for other in others)
    ]
    assert found == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_is_pure(service):
    own_outer = [f"services.{service}.{layer}" for layer in OUTER_LAYERS]
    found = [
        f"{rel(p)} imports {m}"
        for p in python_files(ROOT / "services" / service / "domain")
        for m in imported_modules(p)
        if any(starts_with(m, prefix) for prefix in DOMAIN_FORBIDDEN + tuple(own_outer))
    ]
    assert found == []


def opens_transaction(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        f"line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TRANSACTION_CALLS
    ]
    calls += [f"imports {m}" for m in imported_modules(path) if starts_with(m, "sqlalchemy")]
    return calls


def api_files() -> list[pathlib.Path]:
    return [p for service, globs in API_MODULES.items() for g in globs for p in (ROOT / "services" / service).glob(g)]


def test_the_grpc_layer_opens_no_transaction():
    found = {rel(p): opens_transaction(p) for p in api_files()}
    offending = {path: calls for path, calls in found.items() if calls and path not in API_DEBTS}
    assert offending == {}


def test_the_list_of_known_debts_only_shrinks():
    still_needed = {rel(p) for p in api_files() if opens_transaction(p)}
    assert API_DEBTS - still_needed == set(), "remove these from API_DEBTS: they no longer open transactions"
