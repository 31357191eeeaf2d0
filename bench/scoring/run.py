"""Scoring benchmarks: serving throughput and latency, MLServer beside it, training, ScoreAll.

    .venv/bin/python -m bench.scoring.run [--accounts 20000] [--duration 4] [--train-accounts 100000]

1. ScoreCustomers (features from a profile peer, churn + value, 3 reasons) at 1 and 100
   accounts per call and concurrency 1, 8, 32, beside raw in-process Booster.predict of
   the same rows (churn + value) in the same run, with the ratio.
2. ScoreFeatures (rows sent by the caller, no reasons) beside MLServer + mlserver-lightgbm
   serving the same LightGBM model file, from the same grpc.aio load generator, at 1 and 100
   rows per call.
3. Training time for N accounts x 12 cut-offs (synthetic frame, local LightGBM).
4. ScoreAll rate over the whole base.

The scoring server and MLServer each run as their own process; the profile peer
(services/scoring/tests/profile_peer.py, the ProfileService contract over a synthetic base)
and the load generator share this process. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import pathlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import numpy as np
import pandas as pd

from bench.scoring import mlserver_peer
from services.scoring.domain import synthetic
from services.scoring.domain.labels import build_training_set, stack_training_sets
from services.scoring.domain.modelling import fit_and_evaluate, make_record, new_model_id
from services.scoring.domain.params import parse_params
from services.scoring.domain.training import train_churn
from services.scoring.store import MIGRATIONS_DIR, ScoringStore
from services.scoring.tests.profile_peer import SyntheticProfile
from telco360.common.v1 import common_pb2
from telco360.profile.v1 import profile_pb2, profile_pb2_grpc
from telco360.scoring.v1 import scoring_pb2 as pb
from telco360.scoring.v1 import scoring_pb2_grpc
from telco360_runtime.db import Database, migrate
from telco360_runtime.logs import configure_logging
from telco360_runtime.server import GrpcService, Registration
from telco360_runtime.settings import ServiceSettings
from telco360_runtime.testing import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")


async def load(
    call: Callable[[int], Awaitable[Any]], concurrency: int, duration: float
) -> tuple[int, list[float], float]:
    """Run `call` from `concurrency` tasks for `duration` s: (calls, latencies, elapsed)."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration

    async def worker(w: int) -> None:
        i = w
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - t)
            i += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return len(latencies), latencies, time.perf_counter() - started


def raw_predict(pairs: list[tuple[Any, list[np.ndarray]]], duration: float) -> tuple[int, list[float], float]:
    """Sequential in-process Booster.predict of the same rows (each model on its own matrix)."""
    latencies: list[float] = []
    started = time.perf_counter()
    i = 0
    n = len(pairs[0][1])
    while time.perf_counter() - started < duration:
        t = time.perf_counter()
        for model, mats in pairs:
            model.booster.predict(mats[i % n], num_iteration=model.best_iteration, num_threads=1)
        latencies.append(time.perf_counter() - t)
        i += 1
    return len(latencies), latencies, time.perf_counter() - started


def line(label: str, rows: int, calls: int, lat: list[float], elapsed: float) -> dict[str, float]:
    rate = calls * rows / elapsed
    print(
        f"  {label:<44} {calls / elapsed:9.0f} calls/s {rate:10.0f} rows/s"
        f"  p50 {pct(lat, 50):7.2f} ms  p99 {pct(lat, 99):7.2f} ms"
    )
    return {"rows_per_s": rate, "p99_ms": pct(lat, 99), "p50_ms": pct(lat, 50)}


def train_and_register(base: synthetic.SyntheticBase, db_url: str) -> tuple[Any, Any, str]:
    """Churn and value champions trained on the base and stored as the service stores them."""
    oc = synthetic.outcomes(base)
    params = parse_params({"num_boost_round": "300", "learning_rate": "0.08"})
    sets = {}
    for kind, horizon, months, hold in (("churn", 3, (12, 15, 18, 21), 24), ("value", 6, (12, 15), 18)):
        train = stack_training_sets(
            [build_training_set(synthetic.features_as_of(base, m), oc, base.cutoff(m), horizon, kind) for m in months]
        )
        holdout = build_training_set(synthetic.features_as_of(base, hold), oc, base.cutoff(hold), horizon, kind)
        sets[kind] = (fit_and_evaluate(kind, train, holdout, params, horizon_months=horizon), horizon)
    migrate(db_url, MIGRATIONS_DIR)
    db = Database(db_url, workers=1)
    store = ScoringStore(db)
    now = dt.datetime.now(dt.UTC)
    ids = {}
    for kind, (fitted, horizon) in sets.items():
        rec = make_record(
            new_model_id(kind, now),
            fitted,
            {"source": "profile", "horizon_months": horizon},
            description="bench",
            job_id="",
            now=now,
        )
        store.add_model(rec)
        store.promote(rec.model_id, now)
        ids[kind] = rec.model_id
    churn_text = store.get_model(ids["churn"]).model_text
    db.dispose()
    return sets["churn"][0].model, sets["value"][0].model, churn_text


def start_scoring(db_url: str, profile_addr: str, port: int, workdir: pathlib.Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "TELCO360_SCORING_PORT": str(port),
        "TELCO360_SCORING_DATABASE_URL": db_url,
        "TELCO360_SCORING_PROFILE_ADDR": profile_addr,
        "TELCO360_SCORING_LOG_LEVEL": "WARNING",
        "TELCO360_SCORING_CHAMPION_REFRESH_SECONDS": "0",
        "TELCO360_SCORING_REPORT_DIR": str(workdir / "reports"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.scoring"],
        cwd=ROOT,
        env=env,
        stdout=open(workdir / "scoring.log", "w"),
        stderr=subprocess.STDOUT,
    )


async def wait_scoring(stub: scoring_pb2_grpc.ScoringServiceStub, some_id: str) -> None:
    for _ in range(300):
        try:
            await stub.ScoreCustomers(pb.ScoreCustomersRequest(customer_ids=[some_id]), timeout=2)
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.2)
    raise TimeoutError("scoring did not start")


def load_note() -> str:
    """The 1-minute load average, printed beside figures taken on a shared machine."""
    return f"load {os.getloadavg()[0]:.2f}"


def feature_columns(frame: pd.DataFrame) -> pb.FeatureColumns:
    """Rows of a frame as FeatureColumns: numbers as raw float64 bytes, categories as text."""
    columns = []
    for name in frame.columns:
        if name in ("customer_id", "as_of", "status"):
            continue
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            columns.append(
                pb.FeatureColumn(name=name, raw_numbers=col.to_numpy(dtype="<f8", na_value=np.nan).tobytes())
            )
        else:
            columns.append(pb.FeatureColumn(name=name, categories=["" if pd.isna(v) else str(v) for v in col]))
    return pb.FeatureColumns(row_ids=frame["customer_id"].astype(str).tolist(), columns=columns)


def feature_row(row: dict[str, Any]) -> pb.FeatureRow:
    feats = {}
    for k, v in row.items():
        if k in ("customer_id", "as_of", "status") or v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)):
            feats[k] = common_pb2.AttributeValue(bool_value=bool(v))
        elif isinstance(v, str):
            feats[k] = common_pb2.AttributeValue(string_value=v)
        else:
            feats[k] = common_pb2.AttributeValue(number_value=float(v))
    return pb.FeatureRow(row_id=row["customer_id"], features=feats)


async def serving(args: argparse.Namespace, workdir: pathlib.Path) -> None:
    base = synthetic.generate(args.accounts, months=33, seed=3)
    db_url = f"sqlite:///{workdir / 'scoring.db'}"
    t = time.perf_counter()
    churn, value, churn_text = train_and_register(base, db_url)
    print(f"setup: {args.accounts} accounts, champions trained and registered in {time.perf_counter() - t:.1f} s")
    profile = SyntheticProfile(base)
    peer = GrpcService(
        ServiceSettings(service_name="profile", port=0, log_level="WARNING"),
        [
            Registration(
                profile_pb2_grpc.add_ProfileServiceServicer_to_server,
                profile,
                profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
            )
        ],
    )
    await peer.start()
    now_frame = profile.frame(base.months)
    active = now_frame[now_frame["status"] == "ACTIVE"]
    ids = active["customer_id"].tolist()
    port = free_port()
    proc = start_scoring(db_url, peer.address, port, workdir)
    results: dict[str, Any] = {}
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = scoring_pb2_grpc.ScoringServiceStub(channel)
            await wait_scoring(stub, ids[0])
            rng = random.Random(1)
            print(
                f"\nScoreCustomers (profile GetFeatures + churn + value + 3 reasons each) vs raw Booster.predict "
                f"(churn + value); {load_note()}"
            )
            for size in (1, 100):
                batches = [rng.sample(ids, size) for _ in range(200)]
                mats_c = [
                    churn.schema.encode_frame(active.set_index("customer_id").loc[b].reset_index())
                    for b in batches[:50]
                ]
                mats_v = [
                    value.schema.encode_frame(active.set_index("customer_id").loc[b].reset_index())
                    for b in batches[:50]
                ]
                raw = raw_predict([(churn, mats_c), (value, mats_v)], args.duration / 2)
                raw_stats = line(f"raw predict, {size} rows/call", size, *raw)
                for conc in (1, 8, 32):
                    reqs = [pb.ScoreCustomersRequest(customer_ids=b, top_reasons=3) for b in batches]
                    stats = line(
                        f"ScoreCustomers {size}/call, concurrency {conc}",
                        size,
                        *await load(lambda i, reqs=reqs: stub.ScoreCustomers(reqs[i % len(reqs)]), conc, args.duration),
                    )
                    print(
                        f"    -> {stats['rows_per_s'] / raw_stats['rows_per_s']:.3f} of raw predict throughput"
                        f" ({load_note()})"
                    )
                    results[f"sc_{size}_{conc}"] = stats

            print(
                "\nScoreFeatures (churn champion, no reasons; 1 row as a FeatureRow map, "
                "100 rows as FeatureColumns with "
                "raw float64 bytes) vs MLServer + mlserver-lightgbm (FP64 tensor; at 100 rows the faster of "
                f"fp64_contents and raw_input_contents); {load_note()}"
            )
            model_file = workdir / "churn.txt"
            model_file.write_text(churn_text)
            ml_port, ml_http = free_port(), free_port()
            ml_proc = None
            messages = None
            try:
                messages = mlserver_peer.V2Messages()
                ml_proc = mlserver_peer.start(model_file, workdir / "mlserver", ml_port, ml_http)
                X_all = churn.schema.encode_frame(active)
                mlserver_peer.wait_ready(f"127.0.0.1:{ml_port}", messages, X_all)
            except (OSError, subprocess.CalledProcessError, TimeoutError, FileNotFoundError, ValueError) as err:
                print(f"  MLServer unavailable: {type(err).__name__}: {err}")
                messages = None
            records = active.to_dict("records")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{ml_port}") as ml_channel:
                infer = messages.infer_method(ml_channel) if messages else None
                for size in (1, 100):
                    starts = [rng.randrange(0, len(records) - size) for _ in range(100)]
                    if size == 1:
                        sf_reqs = [
                            pb.ScoreFeaturesRequest(rows=[feature_row(r) for r in records[s : s + size]])
                            for s in starts
                        ]
                    else:
                        sf_reqs = [
                            pb.ScoreFeaturesRequest(columns=feature_columns(active.iloc[s : s + size])) for s in starts
                        ]
                    encodings = [False] if size == 1 else [False, True]
                    if infer is not None and size > 1:
                        try:
                            await infer(messages.infer_request("churn", X_all[:size], raw=True), timeout=10)
                        except grpc.aio.AioRpcError as err:
                            print(f"  MLServer refused raw_input_contents ({err.code().name}); fp64_contents only")
                            encodings = [False]
                    ml_reqs = (
                        {
                            raw: [messages.infer_request("churn", X_all[s : s + size], raw=raw) for s in starts]
                            for raw in encodings
                        }
                        if messages
                        else {}
                    )
                    for conc in (1, 8, 32):
                        ours = line(
                            f"ScoreFeatures {size}/call, concurrency {conc}",
                            size,
                            *await load(
                                lambda i, sf_reqs=sf_reqs: stub.ScoreFeatures(sf_reqs[i % len(sf_reqs)]),
                                conc,
                                args.duration,
                            ),
                        )
                        if infer is not None:
                            best: dict[str, float] | None = None
                            for raw in encodings:
                                reqs_ml = ml_reqs[raw]
                                theirs = line(
                                    f"MLServer ModelInfer {size}/call{' raw' if raw else ''}, concurrency {conc}",
                                    size,
                                    *await load(
                                        lambda i, reqs_ml=reqs_ml: infer(reqs_ml[i % len(reqs_ml)]),
                                        conc,
                                        args.duration,
                                    ),
                                )
                                if best is None or theirs["rows_per_s"] > best["rows_per_s"]:
                                    best = theirs
                            assert best is not None
                            print(
                                f"    -> scoring/MLServer throughput {ours['rows_per_s'] / best['rows_per_s']:.2f}x, "
                                f"p99 {ours['p99_ms']:.2f} vs {best['p99_ms']:.2f} ms ({load_note()})"
                            )
            if ml_proc is not None:
                ml_proc.terminate()
                ml_proc.wait(30)

            print(f"\nScoreAll ({load_note()})")
            t = time.perf_counter()
            job = await stub.ScoreAll(pb.ScoreAllRequest(batch_size=1000))
            while job.state not in (common_pb2.JOB_STATE_SUCCEEDED, common_pb2.JOB_STATE_FAILED):
                await asyncio.sleep(0.2)
                job = await stub.GetJob(common_pb2.GetJobRequest(job_id=job.job_id))
            took = time.perf_counter() - t
            print(
                f"  {job.done} accounts in {took:.1f} s = {job.done / took:.0f} accounts/s "
                f"(export from profile, churn + value, 3 reasons, stored; state {common_pb2.JobState.Name(job.state)}; "
                f"{len(profile.recorded)} band changes published)"
            )
    finally:
        proc.terminate()
        proc.wait(30)
        await peer.stop(0.5)


def training(args: argparse.Namespace) -> None:
    print(
        f"\nTraining: {args.train_accounts} accounts x 12 cut-offs (synthetic, local LightGBM, {os.cpu_count()} CPUs; "
        f"{load_note()})"
    )
    t = time.perf_counter()
    base = synthetic.generate(args.train_accounts, months=30, seed=9)
    oc = synthetic.outcomes(base)
    frames = [build_training_set(synthetic.features_as_of(base, m), oc, base.cutoff(m), 3) for m in range(13, 25)]
    df = stack_training_sets(frames)
    built = time.perf_counter() - t
    model = train_churn(df, parse_params({}))
    print(
        f"  {len(df)} rows x {len(model.schema.features)} features; building the frame {built:.1f} s; "
        f"fit {model.training_seconds:.1f} s ({model.best_iteration} rounds kept after early stopping, "
        f"{model.train_rows} train / {model.validation_rows} validation rows)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per configuration")
    parser.add_argument("--train-accounts", type=int, default=100_000)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    print(
        f"bench/scoring on {os.cpu_count()} CPUs, LightGBM {__import__('lightgbm').__version__}, "
        f"pandas {pd.__version__}; "
        f"{load_note()} at start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(serving(args, pathlib.Path(tmp)))
    if not args.skip_training:
        training(args)


if __name__ == "__main__":
    main()
