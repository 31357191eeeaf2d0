"""The v1 contracts: stubs are fresh, and every service, rpc, message, enum and field is documented."""

from __future__ import annotations

import filecmp
import pathlib
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = sorted((ROOT / "protos").rglob("*.proto"))
PACKAGES = ["common", "ingest", "profile", "scoring", "contact"]


def test_every_package_has_a_v1_contract() -> None:
    for package in PACKAGES:
        path = ROOT / "protos" / "telco360" / package / "v1" / f"{package}.proto"
        assert path.exists(), path
        assert f"package telco360.{package}.v1;" in path.read_text()


def test_generated_stubs_match_the_protos(tmp_path: pathlib.Path) -> None:
    """libs/gen must be exactly what the current .proto files generate (no drift)."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path / "gen")],
        check=True,
        capture_output=True,
    )
    compare = filecmp.dircmp(tmp_path / "gen", ROOT / "libs" / "gen", ignore=["__pycache__", ".stamp"])
    stale: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        stale.extend(prefix + name for name in cmp.diff_files + cmp.left_only)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(compare, "")
    assert not stale, f"stale generated stubs (run `make gen`): {stale}"


def _descriptor_set(tmp_path: pathlib.Path) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path / "set.pb"
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "protoc",
            f"-I{ROOT / 'protos'}",
            f"-I{include}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *map(str, PROTOS),
        ]
    )
    assert code == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _undocumented(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    commented = {
        tuple(loc.path)
        for loc in file.source_code_info.location
        if loc.leading_comments.strip() or loc.trailing_comments.strip()
    }
    missing: list[str] = []

    def message(msg: descriptor_pb2.DescriptorProto, path: tuple, name: str) -> None:
        if path not in commented:
            missing.append(f"message {name}")
        for i, field in enumerate(msg.field):
            if path + (2, i) not in commented:
                missing.append(f"field {name}.{field.name}")
        for i, nested in enumerate(msg.nested_type):
            if not nested.options.map_entry:
                message(nested, path + (3, i), f"{name}.{nested.name}")
        for i, enum in enumerate(msg.enum_type):
            if path + (4, i) not in commented:
                missing.append(f"enum {name}.{enum.name}")

    for i, msg in enumerate(file.message_type):
        message(msg, (4, i), msg.name)
    for i, enum in enumerate(file.enum_type):
        if (5, i) not in commented:
            missing.append(f"enum {enum.name}")
    for i, service in enumerate(file.service):
        if (6, i) not in commented:
            missing.append(f"service {service.name}")
        for j, method in enumerate(service.method):
            if (6, i, 2, j) not in commented:
                missing.append(f"rpc {service.name}.{method.name}")
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_contract_is_documented(package: str, tmp_path: pathlib.Path) -> None:
    files = {f.name: f for f in _descriptor_set(tmp_path).file}
    file = files[f"telco360/{package}/v1/{package}.proto"]
    assert _undocumented(file) == []


SERVICE_MODULES = {
    "ingest": ("telco360.ingest.v1.ingest_pb2_grpc", "IngestServiceServicer"),
    "profile": ("telco360.profile.v1.profile_pb2_grpc", "ProfileServiceServicer"),
    "scoring": ("telco360.scoring.v1.scoring_pb2_grpc", "ScoringServiceServicer"),
    "contact": ("telco360.contact.v1.contact_pb2_grpc", "ContactServiceServicer"),
}


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_every_rpc_is_implemented(service: str) -> None:
    """The service's servicer overrides every rpc of its generated base class."""
    import importlib
    import inspect

    grpc_module, base_name = SERVICE_MODULES[service]
    base = getattr(importlib.import_module(grpc_module), base_name)
    handlers = importlib.import_module(f"services.{service}.api.servicer")
    servicers = [
        cls for _, cls in inspect.getmembers(handlers, inspect.isclass) if issubclass(cls, base) and cls is not base
    ]
    assert servicers, f"no {base_name} subclass in services.{service}.api.servicer"
    rpcs = [name for name, _ in inspect.getmembers(base, inspect.isfunction) if not name.startswith("_")]
    missing = [rpc for rpc in rpcs if getattr(servicers[0], rpc) is getattr(base, rpc)]
    assert missing == [], f"rpcs left UNIMPLEMENTED in {service}: {missing}"
