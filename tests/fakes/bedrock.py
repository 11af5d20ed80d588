"""A stateful fake of Bedrock's batch-inference control plane, served on loopback.

moto has no model invocation jobs, so this fake speaks the `bedrock` REST-JSON protocol for the
calls the gateway makes (create / get / list / stop a job, list its tags) and is reached through
`AWS_ENDPOINT_URL_BEDROCK`. Its data plane is real S3 (a moto server): on validation it reads the
input `.jsonl`, and when a job finishes it writes `<output>/<jobId>/<input name>.out` and
`manifest.json.out` the way Bedrock does (§D.7).

Backend (`FakeBedrock`) first, then the thin HTTP layer (`make_app`). A job moves one step every
`polls_per_step` gets: Submitted -> InProgress -> Completed (or Failed when the input breaks the
rules Bedrock validates: record count, `.jsonl`, record shape). Stop: -> Stopping -> Stopped, with
results for the records processed so far. Per record, a `modelInput` that does not fit the job's
type, or whose text holds "FAIL", becomes an error record.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
from flask import Flask, Response, request
from werkzeug.serving import make_server

ACCOUNT = "123456789012"
JOB_NAME = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}$")
TOKEN = re.compile(r"^[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}$")
S3_URI = re.compile(r"^s3://([a-z0-9][-.a-z0-9]{1,61}[a-z0-9])(?:/([-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*))?/?$")
TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
RUNNING = ("Submitted", "Validating", "Scheduled", "InProgress")
CLAUDE_KEYS = {"anthropic_version", "anthropic_beta", "max_tokens", "system", "messages", "temperature", "top_p",
               "top_k", "stop_sequences", "tools", "tool_choice", "thinking", "output_config"}
CONVERSE_KEYS = {"messages", "system", "inferenceConfig", "toolConfig", "additionalModelRequestFields",
                 "guardrailConfig", "promptVariables", "additionalModelResponseFieldPaths", "performanceConfig"}


class AWSError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Job:
    arn: str
    job_id: str
    request: dict
    submit_time: datetime
    status: str = "Submitted"
    gets: int = 0
    message: str | None = None
    end_time: datetime | None = None
    last_modified: datetime | None = None
    counts: dict = field(default_factory=dict)
    records: list = field(default_factory=list)


class FakeBedrock:
    """The backend: jobs, their rules and lifecycle, and the S3 objects a job reads and writes."""

    def __init__(self, s3_endpoint: str, region: str = "us-west-2", *, polls_per_step: int = 2,
                 min_records: int = 100, report_counts: bool = True) -> None:
        self.region = region
        self.polls_per_step = polls_per_step
        self.min_records = min_records
        self.report_counts = report_counts  # False: Get leaves out the counters (read manifest.json.out)
        self.failing_gets = 0  # the next N gets answer InternalServerException
        self.s3 = boto3.client("s3", region_name=region, endpoint_url=s3_endpoint)
        self.jobs: dict[str, Job] = {}
        self.tokens: dict[str, str] = {}
        self.calls: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self._clock = datetime.now(UTC).replace(microsecond=0)

    def _now(self) -> datetime:
        # Strictly increasing, so list order and submitTime filters are deterministic.
        self._clock = max(self._clock + timedelta(milliseconds=1), datetime.now(UTC))
        return self._clock

    # rules

    def create(self, body: dict) -> dict:
        self.calls.append(("create", body))
        for name in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig"):
            if name not in body:
                raise AWSError(400, "ValidationException", f"{name} is required")
        if not JOB_NAME.fullmatch(body["jobName"]):
            raise AWSError(400, "ValidationException", f"jobName {body['jobName']!r} fails the pattern")
        token = body.get("clientRequestToken")
        if token is not None and not TOKEN.fullmatch(token):
            raise AWSError(400, "ValidationException", "clientRequestToken fails the pattern")
        if not ROLE_ARN.fullmatch(body["roleArn"]):
            raise AWSError(400, "ValidationException", "roleArn fails the pattern")
        for side, config in (("input", "s3InputDataConfig"), ("output", "s3OutputDataConfig")):
            uri = body[f"{side}DataConfig"][config]["s3Uri"]
            if not S3_URI.fullmatch(uri):
                raise AWSError(400, "ValidationException", f"{side} s3Uri {uri!r} fails the pattern")
        if body.get("modelInvocationType", "InvokeModel") not in ("InvokeModel", "Converse"):
            raise AWSError(400, "ValidationException", "modelInvocationType")
        hours = body.get("timeoutDurationInHours", 24)
        if not 24 <= hours <= 168:
            raise AWSError(400, "ValidationException", "timeoutDurationInHours must be 24-168")
        for tag in body.get("tags", []):
            if not (1 <= len(tag["key"]) <= 128 and len(tag["value"]) <= 256 and TAG_TEXT.fullmatch(tag["key"])
                    and TAG_TEXT.fullmatch(tag["value"])):
                raise AWSError(400, "ValidationException", f"tag {tag!r} fails the pattern")
        with self._lock:
            if token and token in self.tokens:
                return {"jobArn": self.tokens[token]}  # idempotent: same token, same job
            if any(job.request["jobName"] == body["jobName"] for job in self.jobs.values()):
                raise AWSError(400, "ConflictException", f"a job named {body['jobName']!r} already exists")
            job_id = secrets.token_hex(6)
            arn = f"arn:aws:bedrock:{self.region}:{ACCOUNT}:model-invocation-job/{job_id}"
            now = self._now()
            self.jobs[job_id] = Job(arn, job_id, body, now, last_modified=now)
            if token:
                self.tokens[token] = arn
        return {"jobArn": arn}

    def job(self, identifier: str) -> Job:
        job_id = identifier.rsplit("/", 1)[-1]
        if job_id not in self.jobs or (identifier.startswith("arn:") and self.jobs[job_id].arn != identifier):
            raise AWSError(404, "ResourceNotFoundException", f"job {identifier} not found")
        return self.jobs[job_id]

    def get(self, identifier: str) -> dict:
        with self._lock:
            if self.failing_gets > 0:
                self.failing_gets -= 1
                raise AWSError(500, "InternalServerException", "try again")
            job = self.job(identifier)
            job.gets += 1
            if job.gets % self.polls_per_step == 0:
                self._advance(job)
            return self._describe(job)

    def stop(self, identifier: str) -> dict:
        with self._lock:
            job = self.job(identifier)
            if job.status not in RUNNING:
                raise AWSError(400, "ValidationException", f"job in status {job.status} cannot be stopped")
            job.status, job.last_modified = "Stopping", self._now()
        return {}

    def list(self, params: dict) -> dict:
        jobs = sorted(self.jobs.values(), key=lambda j: j.submit_time,
                      reverse=params.get("sortOrder", "Descending") == "Descending")
        if "submitTimeBefore" in params:
            before = _parse_time(params["submitTimeBefore"])
            jobs = [j for j in jobs if j.submit_time < before]
        if "submitTimeAfter" in params:
            after = _parse_time(params["submitTimeAfter"])
            jobs = [j for j in jobs if j.submit_time > after]
        if "statusEquals" in params:
            jobs = [j for j in jobs if j.status == params["statusEquals"]]
        if "nameContains" in params:
            jobs = [j for j in jobs if params["nameContains"] in j.request["jobName"]]
        start = int(params.get("nextToken") or 0)
        size = int(params.get("maxResults") or 50)
        page = jobs[start:start + size]
        reply = {"invocationJobSummaries": [self._describe(j) for j in page]}
        if start + size < len(jobs):
            reply["nextToken"] = str(start + size)
        return reply

    def tags(self, arn: str) -> dict:
        return {"tags": list(self.job(arn).request.get("tags", []))}

    # lifecycle

    def _advance(self, job: Job) -> None:
        if job.status == "Submitted":
            self._validate(job)
        elif job.status == "InProgress":
            self._finish(job, "Completed", len(job.records))
        elif job.status == "Stopping":
            self._finish(job, "Stopped", len(job.records) // 2)

    def _validate(self, job: Job) -> None:
        bucket, key = S3_URI.fullmatch(job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]).groups()
        job.last_modified = self._now()
        if not key.endswith(".jsonl"):
            return self._fail(job, "Input files must have the .jsonl extension.")
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        except self.s3.exceptions.NoSuchKey:
            return self._fail(job, f"Unable to read s3://{bucket}/{key}.")
        records = []
        for number, raw in enumerate(body.iter_lines(), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                return self._fail(job, f"Line {number} is not valid JSON.")
            if not isinstance(record, dict) or not isinstance(record.get("modelInput"), dict):
                return self._fail(job, f"Line {number} has no modelInput object.")
            records.append(record)
        if len(records) < self.min_records:
            return self._fail(job, f"The job has {len(records)} records; the minimum is {self.min_records}.")
        job.records = records
        job.status = "InProgress"
        job.counts = {"totalRecordCount": len(records), "processedRecordCount": 0, "successRecordCount": 0,
                      "errorRecordCount": 0}

    def _fail(self, job: Job, message: str) -> None:
        job.status, job.message, job.end_time = "Failed", message, self._now()

    def _finish(self, job: Job, status: str, processed: int) -> None:
        """Write the results of the first `processed` records and the manifest; end the job."""
        output_uri = job.request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        out_bucket, out_prefix = S3_URI.fullmatch(output_uri).groups()
        folder = f"{out_prefix}/{job.job_id}" if out_prefix else job.job_id
        input_name = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].rsplit("/", 1)[-1]
        converse = job.request.get("modelInvocationType") == "Converse"
        lines, ok, failed, tokens_in, tokens_out = [], 0, 0, 0, 0
        for index, record in enumerate(job.records[:processed]):
            result = self._run(job, index, record, converse)
            lines.append(json.dumps(result))
            if "error" in result:
                failed += 1
            else:
                ok += 1
                usage = result["modelOutput"]["usage"]
                tokens_in += usage.get("input_tokens", usage.get("inputTokens", 0))
                tokens_out += usage.get("output_tokens", usage.get("outputTokens", 0))
        if processed:
            self.s3.put_object(Bucket=out_bucket, Key=f"{folder}/{input_name}.out",
                               Body=("\n".join(lines) + "\n").encode())
        job.counts = {"totalRecordCount": len(job.records), "processedRecordCount": processed,
                      "successRecordCount": ok, "errorRecordCount": failed}
        manifest = {**job.counts, "inputTokenCount": tokens_in, "outputTokenCount": tokens_out}
        self.s3.put_object(Bucket=out_bucket, Key=f"{folder}/manifest.json.out", Body=json.dumps(manifest).encode())
        job.status, job.end_time = status, self._now()
        job.last_modified = job.end_time

    def _run(self, job: Job, index: int, record: dict, converse: bool) -> dict:
        """One record's result line: a Claude Message, a Converse response, or an error."""
        model_input = record["modelInput"]
        record_id = record.get("recordId") or f"{index:011d}"
        base = {"recordId": record_id, "modelInput": model_input}
        problem = _converse_problem(model_input) if converse else _claude_problem(model_input)
        text = _last_user_text(model_input, converse)
        if problem is None and "FAIL" in text:
            problem = "The model refused this record (FAIL marker)."
        if problem:
            return {**base, "error": {"errorCode": 400, "errorMessage": problem}}
        reply = f"echo: {text}"
        usage_in, usage_out = len(text.split()) + 3, len(reply.split())
        if converse:
            output = {"output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                      "stopReason": "end_turn",
                      "usage": {"inputTokens": usage_in, "outputTokens": usage_out,
                                "totalTokens": usage_in + usage_out},
                      "metrics": {"latencyMs": 120}}
        else:
            digest = hashlib.sha256(f"{job.job_id}/{record_id}".encode()).hexdigest()[:24]
            output = {"id": f"msg_bdrk_{digest}", "type": "message", "role": "assistant",
                      "model": "claude-3-sonnet-20240229", "content": [{"type": "text", "text": reply}],
                      "stop_reason": "end_turn", "stop_sequence": None,
                      "usage": {"input_tokens": usage_in, "output_tokens": usage_out}}
        return {**base, "modelOutput": output}

    def _describe(self, job: Job) -> dict:
        request_ = job.request
        out = {
            "jobArn": job.arn, "jobName": request_["jobName"], "modelId": request_["modelId"],
            "roleArn": request_["roleArn"], "status": job.status, "submitTime": _iso(job.submit_time),
            "lastModifiedTime": _iso(job.last_modified), "inputDataConfig": request_["inputDataConfig"],
            "outputDataConfig": request_["outputDataConfig"],
            "timeoutDurationInHours": request_.get("timeoutDurationInHours", 24),
            "jobExpirationTime": _iso(job.submit_time + timedelta(hours=request_.get("timeoutDurationInHours", 24))),
            "modelInvocationType": request_.get("modelInvocationType", "InvokeModel"),
        }
        if request_.get("clientRequestToken"):
            out["clientRequestToken"] = request_["clientRequestToken"]
        if job.message:
            out["message"] = job.message
        if job.end_time:
            out["endTime"] = _iso(job.end_time)
        if self.report_counts:
            out.update(job.counts)
        return out


def _claude_problem(model_input: dict) -> str | None:
    if model_input.get("anthropic_version") != "bedrock-2023-05-31":
        return "anthropic_version must be bedrock-2023-05-31"
    extra = set(model_input) - CLAUDE_KEYS
    if extra:
        return f"extraneous key [{sorted(extra)[0]}] is not permitted"
    if not isinstance(model_input.get("max_tokens"), int) or not isinstance(model_input.get("messages"), list):
        return "max_tokens and messages are required"
    return None


def _converse_problem(model_input: dict) -> str | None:
    extra = set(model_input) - CONVERSE_KEYS
    if extra:
        return f"Malformed input request: extraneous key [{sorted(extra)[0]}]"
    messages = model_input.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages is required"
    for message in messages:
        if message.get("role") not in ("user", "assistant") or not isinstance(message.get("content"), list):
            return "each message needs a role and a content list"
        if any(not isinstance(block, dict) or len(block) != 1 for block in message["content"]):
            return "each content block holds exactly one member"
    return None


def _last_user_text(model_input: dict, converse: bool) -> str:
    for message in reversed(model_input.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for block in content or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return block["text"]
    return ""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))


# HTTP layer: thin


def make_app(backend: FakeBedrock) -> Flask:
    app = Flask("fake_bedrock")

    def answer(call, *args) -> Response:
        try:
            return Response(json.dumps(call(*args)), 200, content_type="application/json")
        except AWSError as error:
            return Response(json.dumps({"message": error.message}), error.status, content_type="application/json",
                            headers={"x-amzn-ErrorType": error.code})

    @app.post("/model-invocation-job")
    def create():
        return answer(backend.create, request.get_json())

    @app.get("/model-invocation-job/<path:identifier>")
    def get(identifier):
        return answer(backend.get, identifier)

    @app.post("/model-invocation-job/<path:identifier>/stop")
    def stop(identifier):
        return answer(backend.stop, identifier)

    @app.get("/model-invocation-jobs")
    def list_jobs():
        return answer(backend.list, request.args.to_dict())

    @app.post("/listTagsForResource")
    def list_tags():
        return answer(backend.tags, request.get_json()["resourceARN"])

    return app


class Server:
    """The fake served on 127.0.0.1 in a thread; `url` is what AWS_ENDPOINT_URL_BEDROCK points at."""

    def __init__(self, backend: FakeBedrock) -> None:
        self.server = make_server("127.0.0.1", 0, make_app(backend), threaded=True)
        # a short poll interval keeps shutdown (once per test) quick
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
