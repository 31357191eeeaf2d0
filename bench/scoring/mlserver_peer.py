"""MLServer (with mlserver-lightgbm) as a benchmark peer serving the same LightGBM file.

MLServer is installed in its own virtualenv (bench/requirements-mlserver.txt) so the
project's environment is never touched. Its V2 inference gRPC messages are rebuilt here
from the descriptor embedded in MLServer's generated module, so this process (with its own
protobuf version) can call it through the same grpc.aio load generator as scoring.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import re
import subprocess
import time
from typing import Any

import grpc
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

VENV = pathlib.Path(os.environ.get("TELCO360_MLSERVER_VENV", "/tmp/telco360-mlserver"))
REQUIREMENTS = pathlib.Path(__file__).resolve().parents[1] / "requirements-mlserver.txt"


def ensure_installed() -> pathlib.Path:
    """The MLServer virtualenv's python, installing it on first use."""
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "mlserver").exists():
        subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    return python


def _dataplane_module() -> pathlib.Path:
    found = list(VENV.glob("lib/python*/site-packages/mlserver/grpc/dataplane_pb2.py"))
    if not found:
        raise FileNotFoundError("mlserver/grpc/dataplane_pb2.py not found in the MLServer virtualenv")
    return found[0]


class V2Messages:
    """ModelInferRequest/Response classes built from MLServer's embedded descriptor."""

    def __init__(self) -> None:
        text = _dataplane_module().read_text()
        match = re.search(r"AddSerializedFile\(\s*(b'.*?')\s*\)", text, re.S)
        if match is None:
            raise ValueError("no serialized descriptor in MLServer's dataplane module")
        file_proto = descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(match.group(1)))
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file_proto)
        self.package = file_proto.package
        self.service = file_proto.service[0].name
        self.request = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{self.package}.ModelInferRequest"))
        self.response = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{self.package}.ModelInferResponse")
        )

    def infer_method(self, channel: grpc.aio.Channel) -> Any:
        """A unary-unary callable for ModelInfer on a channel."""
        return channel.unary_unary(
            f"/{self.package}.{self.service}/ModelInfer",
            request_serializer=self.request.SerializeToString,
            response_deserializer=self.response.FromString,
        )

    def infer_request(self, model: str, X: np.ndarray, raw: bool = False) -> Any:
        """A request carrying an FP64 matrix, in `fp64_contents` or as `raw_input_contents`."""
        req = self.request(model_name=model)
        tensor = req.inputs.add(name="input-0", datatype="FP64", shape=list(X.shape))
        if raw:
            req.raw_input_contents.append(np.ascontiguousarray(X, dtype="<f8").tobytes())
        else:
            tensor.contents.fp64_contents.extend(X.ravel().tolist())
        return req


def start(model_file: pathlib.Path, workdir: pathlib.Path, grpc_port: int, http_port: int) -> subprocess.Popen:
    """Start `mlserver start` serving one LightGBM model file; returns the process."""
    python = ensure_installed()
    model_dir = workdir / "churn"
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.txt").write_text(model_file.read_text())
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {"name": "churn", "implementation": "mlserver_lightgbm.LightGBMModel", "parameters": {"uri": "./model.txt"}}
        )
    )
    (workdir / "settings.json").write_text(
        json.dumps(
            {
                "grpc_port": grpc_port,
                "http_port": http_port,
                "metrics_port": http_port + 1,
                "host": "127.0.0.1",
                "parallel_workers": 0,
                "debug": False,
            }
        )
    )
    log = open(workdir / "mlserver.log", "w")
    return subprocess.Popen(
        [str(python.parent / "mlserver"), "start", str(workdir)], stdout=log, stderr=subprocess.STDOUT, cwd=workdir
    )


def wait_ready(channel_target: str, messages: V2Messages, X: np.ndarray, timeout: float = 120.0) -> None:
    """Block until MLServer answers an inference."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(channel_target) as channel:
        call = channel.unary_unary(
            f"/{messages.package}.{messages.service}/ModelInfer",
            request_serializer=messages.request.SerializeToString,
            response_deserializer=messages.response.FromString,
        )
        while True:
            try:
                call(messages.infer_request("churn", X[:1]), timeout=2)
                return
            except grpc.RpcError as error:
                if time.monotonic() > deadline:
                    raise TimeoutError("MLServer did not become ready") from error
                time.sleep(0.5)
