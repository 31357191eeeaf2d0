"""Generate Python message and gRPC stubs from protos/ into libs/gen/ (or another folder).

The generated tree is never edited or committed: `make gen` rebuilds it whenever a .proto
changes, so the stubs cannot drift from the contracts. Imports resolve as written by protoc
(`from telco360.common.v1 import common_pb2`) because libs/gen is on the import path.
"""

from __future__ import annotations

import pathlib
import shutil
import sys

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"


def generate(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Compile every .proto under protos/ into out_dir; return the proto files compiled."""
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Regular packages (not namespace packages) so tools and type checkers find them.
    for directory in [out_dir, *[d for d in out_dir.rglob("*") if d.is_dir()]]:
        if directory != out_dir:
            (directory / "__init__.py").touch()
    return protos


if __name__ == "__main__":
    target = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "libs" / "gen"
    compiled = generate(target)
    print(f"generated stubs for {len(compiled)} proto files into {target}")
