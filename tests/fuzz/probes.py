"""Calling any RPC by its descriptor, judging the answer, and the known-good checks.

`invoke()` sends a request (a message, raw bytes, or a list of either for client streams)
to any method of the cluster with a real deadline and returns an `Outcome`. `judge()`
applies the fuzz contract of issue #12 to it: no INTERNAL, no UNKNOWN, no hang past the
deadline (unless the method is a follow stream by contract), every INVALID_ARGUMENT with a
google.rpc BadRequest, no answer a default client cannot receive, no bad value echoed in
full, no raw exception text in a job's error. `after_checks()` then asks whether the
service is still SERVING and still answers a known-good request correctly.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from telco360.common.v1 import common_pb2
from telco360.contact.v1 import contact_pb2
from telco360.ingest.v1 import ingest_pb2
from telco360.profile.v1 import profile_pb2
from telco360.scoring.v1 import scoring_pb2
from telco360_runtime.status import field_violations, rich_status
from tests.fuzz.cluster import Cluster

MODULES = {"ingest": ingest_pb2, "profile": profile_pb2, "scoring": scoring_pb2, "contact": contact_pb2}

#: Every call gets this deadline; running past it is a hang (issue #12: "no hang past a short deadline").
DEADLINE_S = 5.0
#: Follow streams are open-ended by contract: they are read for this long, then cut by the deadline.
FOLLOW_DEADLINE_S = 1.0
#: Server streams are read up to this many messages (enough to see an error mid-stream).
MAX_STREAM_MESSAGES = 200
#: A status message or detail above this is echoing a bad value rather than naming it.
MAX_ERROR_BYTES = 8 * 1024
#: Runs of the long edge strings' characters: an error containing one echoes far more than
#: a short prefix of the bad value (the runtime's preview() shows 40 characters).
ECHO_RUNS = tuple(ch * 200 for ch in "xZC长名a9")
#: Job errors that read like a raw exception, not a sentence.
RAW_ERROR = re.compile(r"Traceback|AioRpcError|StatusCode\.|<_\w+|\b[A-Z]\w*(Error|Exception)\b|^[A-Z]\w+: ")
#: A job error blaming a peer: every peer is up in the cluster, so the job broke it or misread it.
PEER_BLAMED = re.compile(r"unavailable|did not answer|deadline", re.I)
#: How long a job an RPC started is followed to see how it ends.
JOB_WAIT_S = 3.0

_unique = itertools.count()


def methods() -> list[tuple[str, MethodDescriptor]]:
    """Every (service, method) of the four services, from their descriptors."""
    found = []
    for name, module in MODULES.items():
        for service in module.DESCRIPTOR.services_by_name.values():
            found.extend((name, method) for method in service.methods)
    return found


def method_id(service: str, method: MethodDescriptor) -> str:
    """A short id for reports and test ids, e.g. "contact.ReserveContact"."""
    return f"{service}.{method.name}"


def is_follow_stream(method: MethodDescriptor, request: Any) -> bool:
    """Whether a call is an open-ended stream by contract (ReadLog / WatchAccountEvents with follow)."""
    return (
        method.server_streaming
        and isinstance(request, Message)
        and "follow" in request.DESCRIPTOR.fields_by_name
        and bool(request.follow)
    )


@dataclasses.dataclass
class Outcome:
    """What one call answered."""

    code: str
    message: str = ""
    has_bad_request: bool = False
    detail_bytes: int = 0
    detail_text: str = ""
    """The status message and its rich details as text (to look for echoed values)."""
    responses: list[Message] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def short(self) -> str:
        """The code and the start of its message."""
        text = self.message if len(self.message) <= 160 else self.message[:160] + f"… ({len(self.message)} chars)"
        return f"{self.code}: {text}" if text else self.code


def _serialize(item: Any) -> bytes:
    return item if isinstance(item, (bytes, bytearray)) else item.SerializeToString()


def invoke(
    cluster: Cluster, service: str, method: MethodDescriptor, request: Any, timeout: float | None = None
) -> Outcome:
    """Call `method` on the cluster with `request` (message, raw bytes or list for client streams)."""
    channel = cluster.channels[service]
    path = f"/{method.containing_service.full_name}/{method.name}"
    out_class = message_factory.GetMessageClass(method.output_type)
    follow = is_follow_stream(method, request)
    deadline = timeout if timeout is not None else (FOLLOW_DEADLINE_S if follow else DEADLINE_S)
    started = time.monotonic()
    responses: list[Message] = []
    try:
        if method.client_streaming:
            items = request if isinstance(request, list) else [request]
            call = channel.stream_stream(
                path, request_serializer=_serialize, response_deserializer=out_class.FromString
            )
            for reply in call(iter(items), timeout=deadline):
                responses.append(reply)
        elif method.server_streaming:
            call = channel.unary_stream(path, request_serializer=_serialize, response_deserializer=out_class.FromString)
            stream = call(request, timeout=deadline)
            for reply in stream:
                responses.append(reply)
                if len(responses) >= MAX_STREAM_MESSAGES:
                    stream.cancel()
                    break
        else:
            call = channel.unary_unary(path, request_serializer=_serialize, response_deserializer=out_class.FromString)
            responses.append(call(request, timeout=deadline))
    except grpc.RpcError as error:
        code = error.code()
        if code == grpc.StatusCode.CANCELLED and len(responses) >= MAX_STREAM_MESSAGES:
            return Outcome("OK", responses=responses, seconds=time.monotonic() - started)
        status = rich_status(error.trailing_metadata()) if hasattr(error, "trailing_metadata") else None
        return Outcome(
            code.name,
            error.details() or "",
            has_bad_request=bool(field_violations(error))
            or (status is not None and any("BadRequest" in d.type_url for d in status.details)),
            detail_bytes=len(error.details() or "") + (status.ByteSize() if status else 0),
            detail_text=(error.details() or "")
            + (status.SerializeToString().decode("utf-8", "replace") if status else ""),
            responses=responses,
            seconds=time.monotonic() - started,
        )
    return Outcome("OK", responses=responses, seconds=time.monotonic() - started)


def _jobs_of(outcome: Outcome) -> list[common_pb2.Job]:
    found: list[common_pb2.Job] = []
    for reply in outcome.responses:
        if isinstance(reply, common_pb2.Job):
            found.append(reply)
        elif "job" in reply.DESCRIPTOR.fields_by_name and reply.HasField("job"):
            found.append(reply.job)
    return found


def follow_job(cluster: Cluster, service: str, job: common_pb2.Job, wait: float = JOB_WAIT_S) -> common_pb2.Job:
    """Poll a job for a few seconds; the last state seen."""
    stub_method = (
        MODULES[service]
        .DESCRIPTOR.services_by_name[next(iter(MODULES[service].DESCRIPTOR.services_by_name))]
        .methods_by_name["GetJob"]
    )
    deadline = time.monotonic() + wait
    last = job
    while last.state in (common_pb2.JOB_STATE_PENDING, common_pb2.JOB_STATE_RUNNING, common_pb2.JOB_STATE_UNSPECIFIED):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
        seen = invoke(cluster, service, stub_method, common_pb2.GetJobRequest(job_id=job.job_id))
        if seen.code != "OK":
            break
        last = seen.responses[0]
    return last


def judge(
    cluster: Cluster,
    service: str,
    method: MethodDescriptor,
    request: Any,
    outcome: Outcome,
    job_wait: float = JOB_WAIT_S,
) -> list[str]:
    """What is wrong with an answer under the fuzz contract (empty: nothing).

    A job the call started is followed for `job_wait` seconds: if it fails, its error must be
    a sentence, not exception text, and must not blame a peer that is up.
    """
    problems: list[str] = []
    code = outcome.code
    if code in ("INTERNAL", "UNKNOWN"):
        problems.append(outcome.short())
    elif code == "DEADLINE_EXCEEDED" and not is_follow_stream(method, request):
        problems.append(f"hang: no answer within {DEADLINE_S:g} s")
    elif code == "INVALID_ARGUMENT" and not outcome.has_bad_request:
        problems.append(f"INVALID_ARGUMENT without google.rpc.BadRequest ({outcome.short()})")
    elif code == "RESOURCE_EXHAUSTED" and re.search(r"metadata|larger than max|message length", outcome.message, re.I):
        problems.append(f"answer a default client cannot receive ({outcome.short()})")
    elif code == "UNAVAILABLE":
        problems.append(f"UNAVAILABLE while every peer is up ({outcome.short()})")
    if method.client_streaming and method.server_streaming and isinstance(request, list):
        problems += _stream_answers(request, outcome)
    if outcome.detail_bytes > MAX_ERROR_BYTES:
        problems.append(f"error echoes the bad value: {outcome.detail_bytes} bytes of status details")
    elif any(run in outcome.detail_text for run in ECHO_RUNS):
        problems.append("error echoes more than a short prefix of a long bad value")
    if code == "OK" and not method.name.startswith("Get"):  # GetJob shows a job another RPC started
        for job in _jobs_of(outcome):
            final = follow_job(cluster, service, job, job_wait)
            if final.state != common_pb2.JOB_STATE_FAILED:
                continue
            if RAW_ERROR.search(final.error_message):
                problems.append(f"job {final.kind} failed with raw error text: {final.error_message[:160]!r}")
            elif PEER_BLAMED.search(final.error_message):
                problems.append(f"job {final.kind} blames a peer that is up: {final.error_message[:160]!r}")
    return problems


def _stream_answers(items: list, outcome: Outcome) -> list[str]:
    """A mixed stream loses no good message: one answer per message (batches: per record).

    A stream may end with INVALID_ARGUMENT at an undecodable message, but only after it
    answered every message before it.
    """
    first_bad = next((n for n, item in enumerate(items) if isinstance(item, (bytes, bytearray))), None)
    got = len(outcome.responses)
    if outcome.code == "OK" and got != len(items):
        return [f"stream of {len(items)} messages answered {got} times"]
    if outcome.code == "INVALID_ARGUMENT" and first_bad is not None and got < first_bad:
        return [f"stream ended at message {first_bad} having answered only {got} messages before it"]
    problems = []
    for n, (item, reply) in enumerate(zip(items, outcome.responses, strict=False)):
        if (
            isinstance(item, Message)
            and "records" in item.DESCRIPTOR.fields_by_name
            and len(reply.results) != len(item.records)
        ):
            problems.append(f"batch {n} of {len(item.records)} records answered with {len(reply.results)} results")
    return problems


# --- known-good requests, answered correctly --------------------------------------------


def _ok(cluster: Cluster, service: str, name: str, request: Message) -> Outcome:
    method = (
        MODULES[service]
        .DESCRIPTOR.services_by_name[next(iter(MODULES[service].DESCRIPTOR.services_by_name))]
        .methods_by_name[name]
    )
    return invoke(cluster, service, method, request)


def good_record(customer_id: str) -> ingest_pb2.Record:
    """A valid new record (an interaction) about a seeded account."""
    return ingest_pb2.Record(
        source="field",
        source_record_id=f"FUZZ-GOOD-{next(_unique)}-{time.time_ns()}",
        customer_id=customer_id,
        occurred_at={"seconds": int(time.time()) - 3600},
        interaction=ingest_pb2.Interaction(
            channel=ingest_pb2.INTERACTION_CHANNEL_VISIT,
            recorded_by="AM1001",
            notes="quarterly review",
            duration_minutes=30,
        ),
    )


def known_good(cluster: Cluster, service: str) -> list[str]:
    """Problems with the service's known-good requests (empty: answered correctly)."""
    cid = cluster.customer_ids[0]
    problems: list[str] = []

    def expect(name: str, request: Message, check, codes: tuple[str, ...] = ("OK",)) -> None:
        outcome = _ok(cluster, service, name, request)
        if outcome.code not in codes:
            problems.append(f"known-good {name} answered {outcome.short()}")
            return
        if outcome.code != "OK":
            return
        verdict = check(outcome.responses[0])
        if verdict:
            problems.append(f"known-good {name} answered wrongly: {verdict}")

    if service == "ingest":
        expect(
            "SubmitRecord",
            ingest_pb2.SubmitRecordRequest(record=good_record(cid)),
            lambda r: None if r.status == ingest_pb2.RECORD_STATUS_ACCEPTED else f"status {r.status}",
        )
        expect(
            "GetIngestStats",
            ingest_pb2.GetIngestStatsRequest(),
            lambda r: None if r.customers >= len(cluster.customer_ids) else f"{r.customers} customers",
        )
    elif service == "profile":
        expect(
            "GetCustomer360",
            profile_pb2.GetCustomer360Request(customer_id=cid),
            lambda r: None if r.account.customer_id == cid else f"account {r.account.customer_id!r}",
        )
        expect(
            "GetFeatures",
            profile_pb2.GetFeaturesRequest(customer_ids=[cid]),
            lambda r: None if len(r.vectors) == 1 and r.vectors[0].features else f"{len(r.vectors)} vectors",
        )
        # The whole base: one bad record of any account must not break it (issue #12 item 2).
        export = _ok(
            cluster, "profile", "ExportFeatures", profile_pb2.ExportFeaturesRequest(as_of={"seconds": int(time.time())})
        )
        rows = sum(len(batch.vectors) for batch in export.responses) if export.code == "OK" else 0
        if export.code != "OK" or rows < 1:
            problems.append(f"known-good ExportFeatures answered {export.short()} with {rows} rows")
    elif service == "scoring":
        expect(
            "ListModels",
            scoring_pb2.ListModelsRequest(),
            lambda r: None if any(m.model_id == cluster.model_id for m in r.models) else "seeded model missing",
        )
        expect(
            "ScoreFeatures",
            scoring_pb2.ScoreFeaturesRequest(
                model_id=cluster.model_id,
                rows=[
                    scoring_pb2.FeatureRow(
                        row_id="good",
                        features={
                            "tenure": common_pb2.AttributeValue(number_value=5),
                            "fee": common_pb2.AttributeValue(number_value=1200),
                        },
                    )
                ],
            ),
            lambda r: None if len(r.scores) == 1 and 0 <= r.scores[0].score <= 1 else f"{len(r.scores)} scores",
        )
        # No model is trained on the seeded base: NOT_FOUND ("no stored score") is the right answer.
        expect(
            "GetStoredScore",
            scoring_pb2.GetStoredScoreRequest(customer_id=cid),
            lambda r: None if r.customer_id in ("", cid) else f"customer {r.customer_id!r}",
            ("OK", "NOT_FOUND"),
        )
    elif service == "contact":
        expect(
            "GetPolicy",
            contact_pb2.GetPolicyRequest(policy_id=GOOD_POLICY_ID),
            lambda r: None if r.policy_id == GOOD_POLICY_ID else f"policy {r.policy_id!r}",
        )
        key = f"fuzz-good-{next(_unique)}-{time.time_ns()}"
        expect(
            "ReserveContact",
            contact_pb2.ReserveContactRequest(
                idempotency_key=key,
                hold_seconds=60,
                contact=contact_pb2.CheckContactRequest(
                    customer_id=cid, channel=contact_pb2.CHANNEL_EMAIL, purpose=contact_pb2.PURPOSE_SERVICE
                ),
            ),
            lambda r: None if r.decision.decision_id else "no decision",
        )
    return problems


def after_checks(cluster: Cluster, service: str) -> list[str]:
    """The service still SERVING and answering its known-good requests correctly."""
    health = cluster.serving(service)
    problems = [] if health == "SERVING" else [f"health {health} afterwards"]
    return problems + known_good(cluster, service)


# --- seeding ------------------------------------------------------------------------------

GOOD_POLICY_ID = "fuzz-base"


def good_policy() -> contact_pb2.ContactPolicy:
    """A valid policy: 3 SMS marketing contacts per rolling 7 days, no consent needed."""
    return contact_pb2.ContactPolicy(
        policy_id=GOOD_POLICY_ID,
        name="Fuzz base policy",
        active=True,
        caps=[
            contact_pb2.FrequencyCap(
                cap_id="sms-7d",
                scope=contact_pb2.CAP_SCOPE_ACCOUNT,
                channels=[contact_pb2.CHANNEL_SMS],
                max_contacts=3,
                window=contact_pb2.Window(
                    kind=contact_pb2.WINDOW_KIND_ROLLING, unit=contact_pb2.WINDOW_UNIT_DAY, size=7
                ),
            )
        ],
        purpose_classes=[
            contact_pb2.PurposeClass(purpose=contact_pb2.PURPOSE_MARKETING, requires_consent=False),
            contact_pb2.PurposeClass(purpose=contact_pb2.PURPOSE_SERVICE, requires_consent=False),
        ],
    )


def applied(cluster: Cluster) -> bool:
    """Whether profile has applied everything ingest has logged."""
    stats = _ok(cluster, "ingest", "GetIngestStats", ingest_pb2.GetIngestStatsRequest())
    sync = _ok(cluster, "profile", "GetSyncStatus", profile_pb2.GetSyncStatusRequest())
    if stats.code != "OK" or sync.code != "OK":
        return False
    return sync.responses[0].applied_sequence >= stats.responses[0].last_sequence


def seed(cluster: Cluster, records: Iterable[ingest_pb2.Record]) -> None:
    """Load the seeded base, wait for profile to apply it, create the known-good policy."""
    records = list(records)
    cluster.customer_ids = sorted({r.customer_id for r in records})
    batch = _ok(cluster, "ingest", "IngestRecordBatches", ingest_pb2.RecordBatch(records=records))
    assert batch.code == "OK", f"seeding ingest failed: {batch.short()}"
    assert cluster.wait_until(lambda: applied(cluster), timeout=120), "profile did not apply the seeded base"
    created = _ok(cluster, "contact", "CreatePolicy", contact_pb2.CreatePolicyRequest(policy=good_policy()))
    assert created.code == "OK", f"seeding contact failed: {created.short()}"
    # A small churn model from a table gives scoring's known-good check a model to score with.
    started = _ok(
        cluster,
        "scoring",
        "TrainFromTable",
        scoring_pb2.TrainFromTableRequest(
            content=GOOD_TABLE,
            format=scoring_pb2.TABLE_FORMAT_CSV,
            id_column="id",
            label_column="label",
            kind=scoring_pb2.MODEL_KIND_CHURN,
            auto_promote=scoring_pb2.AUTO_PROMOTE_NEVER,
        ),
    )
    assert started.code == "OK", f"seeding scoring failed: {started.short()}"
    job = follow_job(cluster, "scoring", started.responses[0], wait=120)
    assert job.state == common_pb2.JOB_STATE_SUCCEEDED and job.result_ref, f"seed training failed: {job}"
    cluster.model_id = job.result_ref


#: A 60-row churn table (id, two features, a label every third row).
GOOD_TABLE = b"id,tenure,fee,label\n" + b"".join(
    b"a%d,%d,%d,%d\n" % (n, n % 24, 1000 + n * 7, n % 3 == 0) for n in range(60)
)
