"""The layout of every service and the import directions of its layers (docs/ARCHITECTURE.md).

Every `import` statement is read with `ast`, including those inside functions, so a
deferred import cannot slip past. Rules:
- every service has the same top-level modules and the same folders (LAYOUT);
- no library under libs/ imports a service, and a service imports no other service
  (peers are reached over gRPC);
- domain/ is pure: no gRPC, protobuf, generated stubs, SQLAlchemy, Alembic, no runtime
  module doing I/O, and none of its own service's other layers;
- api/ (servicer, converters, request checks) imports no SQLAlchemy, no store and no
  peers, and opens no transaction: it translates and calls use cases;
- usecases/ speaks no gRPC and no protobuf (peers and api translate) and imports no api;
- store/ and peers/ import no api and no use cases; store/ speaks no gRPC;
- transactions (`session()` / `write_session()`) are opened in usecases/ or store/ only.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVICES = ("ingest", "profile", "scoring", "contact")
TOP_MODULES = {"__init__.py", "__main__.py", "app.py", "settings.py"}
LAYERS = {"api", "usecases", "domain", "store", "peers", "tests"}
GRPC = ("grpc", "google.protobuf", "google.rpc", "telco360.")
IO_RUNTIME = (
    "telco360_runtime.db",
    "telco360_runtime.server",
    "telco360_runtime.clients",
    "telco360_runtime.interceptors",
    "telco360_runtime.jobs",
)
SQL = ("sqlalchemy", "alembic")
TRANSACTION_CALLS = ("session", "write_session")


def own(service: str, *layers: str) -> tuple[str, ...]:
    return tuple(f"services.{service}.{layer}" for layer in layers)


# layer -> prefixes it must not import (own service's layers filled in per service)
FORBIDDEN = {
    "domain": lambda s: GRPC + SQL + IO_RUNTIME + own(s, "api", "usecases", "store", "peers", "app"),
    "api": lambda s: SQL + own(s, "store", "peers", "app"),
    "usecases": lambda s: GRPC + own(s, "api", "app"),
    "store": lambda s: GRPC + own(s, "api", "usecases", "peers", "app"),
    "peers": lambda s: SQL + own(s, "api", "usecases", "store", "app"),
}


def python_files(folder: pathlib.Path, *, with_tests: bool = False) -> list[pathlib.Path]:
    files = sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts and "__pycache__" not in p.parts)
    return files if with_tests else [p for p in files if "tests" not in p.relative_to(folder).parts]


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


def opened_transactions(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{rel(path)} line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TRANSACTION_CALLS
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_layout(service):
    folder = ROOT / "services" / service
    modules = {p.name for p in folder.glob("*.py")}
    packages = {p.name for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert (modules, packages) == (TOP_MODULES, LAYERS)
    missing_init = [layer for layer in LAYERS - {"tests"} if not (folder / layer / "__init__.py").exists()]
    assert missing_init == []
    assert (folder / "store" / "migrations" / "env.py").exists()


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


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
@pytest.mark.parametrize("service", SERVICES)
def test_each_layer_imports_only_what_it_may(service, layer):
    forbidden = FORBIDDEN[layer](service)
    found = [
        f"{rel(p)} imports {m}"
        for p in python_files(ROOT / "services" / service / layer)
        for m in imported_modules(p)
        if any(starts_with(m, prefix) for prefix in forbidden)
    ]
    assert found == []


@pytest.mark.parametrize("service", SERVICES)
def test_transactions_are_opened_by_use_cases_or_the_store_only(service):
    folder = ROOT / "services" / service
    found = [
        call
        for p in python_files(folder)
        if p.relative_to(folder).parts[0] not in ("usecases", "store")
        for call in opened_transactions(p)
    ]
    assert found == []
