"""A stateful fake of Bedrock's batch-inference control plane, served on loopback, and the pytest
fixtures that run it.

moto has no model invocation jobs, so this fake speaks the `bedrock` REST-JSON protocol for the
calls the gateway makes (create / get / list / stop a job, list its tags) and is reached through
`AWS_ENDPOINT_URL_BEDROCK`. Its data plane is real S3 (a moto server): on validation it reads the
input `.jsonl`, and when a job finishes it writes `<output>/<jobId>/<input name>.out` and
`manifest.json.out` the way Bedrock does (§D.7).

Checked against the official definitions, not against the gateway (tests/contracts):
- every request is read into botocore's input shape of its operation and checked strictly
  (`botocore_shapes`: required, unknown keys, types, pattern, min/max, enum, unions); a violation is
  answered as Bedrock would (400 ValidationException) and recorded in `violations`;
- every reply is checked against the operation's output shape, and every error code against the
  errors the operation declares (with botocore's status), before it is sent;
- every record: `recordId` by the strictest reading (11 letters and digits; otherwise the job
  fails validation), a Converse `modelInput` against `ConverseRequest` (its `modelId` is the job's),
  a Claude `modelInput` against the anthropic SDK's Messages params (API 2023-06-01 rules, after
  taking out `anthropic_version`); a record that fails becomes an error record, as Bedrock's would;
- every result the fake writes: Converse `modelOutput` against `ConverseResponse`, Claude against
  the anthropic SDK's `Message`, Titan Text Embeddings V2 against the body AWS documents
  (`{embedding, inputTextTokenCount, embeddingsByType}`, the vector as long as `dimensions`).
- a Titan Text Embeddings V2 `modelInput` (an InvokeModel job on `amazon.titan-embed-text-v2:0`) against
  the request body AWS documents: only `inputText` (1-50,000 characters), `dimensions` (256/512/1024),
  `normalize` (bool) and `embeddingTypes` (float/binary), nothing else.
The fixture asserts `violations` is empty after each test, so a mistake fails loudly.

The same server speaks bedrock-runtime's `InvokeModel` (`POST /model/{modelId}/invoke`) and `Converse`
(`POST /model/{modelId}/converse`) for gateway-run batches, reached through
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`. A call is checked as a record is (the request against botocore's
input shape; an InvokeModel body as a Claude Messages body, the only kind it runs; a Converse request
against `ConverseRequest`) and answered with what the record would get (checked against
`InvokeModelResponse` with the anthropic SDK's `Message` as its body, or `ConverseResponse`), with an
`x-amzn-RequestId`. A last user text holding "FAIL" is a 400 ValidationException;
`runtime_errors[text]` lists errors (`AWSError`: 429 ThrottlingException, 500 InternalServerException,
...) answered in turn to the calls whose last user text is `text`, before they succeed; every error
code must be one the operation declares, with botocore's status.

Backend (`FakeBedrock`) first, then the thin HTTP layer (`make_app`), then the fixtures. A job moves
one step every `polls_per_step` gets: Submitted -> InProgress -> Completed (or Failed when the input
breaks the rules Bedrock validates: record count, `.jsonl`, record shape). Stop: -> Stopping ->
Stopped, with results for the records processed so far. Per record, a `modelInput` whose last user
text holds "FAIL" becomes an error record; `script[text]` replaces a record's result by a given
`modelOutput`, `error` or raw `line` (with `checked=False` for deliberately off-spec results, e.g.
values a newer API adds).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from flask import Flask, Response, request
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from tests.contracts import botocore_shapes as shapes
from tests.contracts.anthropic_types import check_message, check_params
from tests.fakes.anthropic import BLOCKS as ANTHROPIC_BLOCKS
from tests.fakes.contract import ContractFake

ACCOUNT = "123456789012"
REGION = "us-west-2"
S3_URI = re.compile(r"^s3://([a-z0-9][-.a-z0-9]{1,61}[a-z0-9])(?:/(.*?))?/?$")
RUNNING = ("Submitted", "Validating", "Scheduled", "InProgress")
# recordId, by the strictest reading of AWS's pages: "11 character alphanumeric string".
RECORD_ID = re.compile(r"[A-Za-z0-9]{11}")
CLAUDE_VERSION = "bedrock-2023-05-31"
CLAUDE_API_VERSION = "2023-06-01"  # the Messages API version Bedrock's Claude body follows
TITAN_EMBED = "amazon.titan-embed-text-v2:0"
# Titan Text Embeddings V2's InvokeModel body (AWS "Amazon Titan Embeddings G1 - Text", V2 tab).
TITAN_FIELDS = {"inputText", "dimensions", "normalize", "embeddingTypes"}
TITAN_DIMENSIONS = (256, 512, 1024)
TITAN_MAX_CHARS = 50_000


# One result content block of each kind the official definitions declare, each valid by them: botocore's
# bedrock-runtime ContentBlock members, and the anthropic SDK's ContentBlock types. Generated tests
# check these cover every declared kind; the end-to-end tests script them into results.
CONVERSE_BLOCK_SAMPLES = {
    "text": {"text": "hello"},
    "image": {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
    "document": {"document": {"format": "txt", "name": "notes", "source": {"text": "the notes"}}},
    "video": {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://media-bucket/clip.mp4"}}}},
    "audio": {"audio": {"format": "mp3", "source": {"bytes": "SUQz"}}},
    "toolUse": {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": "x"}}},
    "toolResult": {"toolResult": {"toolUseId": "tooluse_0", "content": [{"text": "42"}], "status": "success"}},
    "guardContent": {"guardContent": {"text": {"text": "guarded", "qualifiers": ["guard_content"]}}},
    "cachePoint": {"cachePoint": {"type": "default"}},
    "reasoningContent": {"reasoningContent": {"reasoningText": {"text": "thinking", "signature": "sig"}}},
    "citationsContent": {"citationsContent": {"content": [{"text": "cited"}], "citations": [{
        "title": "Doc", "sourceContent": [{"text": "source"}],
        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 6}}}]}},
    "searchResult": {"searchResult": {"source": "https://example.com", "title": "Example",
                                      "content": [{"text": "found"}]}},
    "toolAddition": {"toolAddition": {"tool": {"type": "mcp", "name": "search", "serverName": "srv"}}},
    "toolRemoval": {"toolRemoval": {"tool": {"type": "mcp", "name": "search", "serverName": "srv"}}},
}
# Claude on Bedrock answers with Anthropic's content blocks: one valid block of each, as the Anthropic fake has them.
CLAUDE_BLOCK_SAMPLES = ANTHROPIC_BLOCKS


def converse_output(content: list[dict], stop_reason: str = "end_turn") -> dict:
    """A Converse response (botocore ConverseResponse) holding `content`."""
    return {"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop_reason,
            "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12}, "metrics": {"latencyMs": 80}}


def claude_output(content: list[dict], stop_reason: str = "end_turn", message_id: str = "msg_bdrk_1") -> dict:
    """A Claude Message (the anthropic SDK's Message) holding `content`."""
    return {"id": message_id, "type": "message", "role": "assistant", "model": "claude-3-sonnet-20240229",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 7}}


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

    def __init__(self, s3_endpoint: str, region: str = REGION, *, polls_per_step: int = 2,
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
        self.violations: list[str] = []
        # last user text -> {"modelOutput" | "error" | "line": ..., "checked": bool}
        self.script: dict[str, dict] = {}
        # job ID -> a status from a newer API, put on replies after they were checked (off spec on purpose)
        self.future_status: dict[str, str] = {}
        # bedrock-runtime: last user text -> errors answered in turn; the request IDs handed out so far
        self.runtime_errors: dict[str, list[AWSError]] = {}
        self.runtime_calls = 0
        self._lock = threading.Lock()
        self._clock = datetime.now(UTC).replace(microsecond=0)

    def _now(self) -> datetime:
        # Strictly increasing, so list order and submitTime filters are deterministic.
        self._clock = max(self._clock + timedelta(milliseconds=1), datetime.now(UTC))
        return self._clock

    def violation(self, text: str) -> None:
        self.violations.append(text)

    # operations (params already checked against the input shape)

    def create(self, body: dict) -> dict:
        self.calls.append(("create", body))
        token = body.get("clientRequestToken")
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

    def get(self, params: dict) -> dict:
        with self._lock:
            if self.failing_gets > 0:
                self.failing_gets -= 1
                raise AWSError(500, "InternalServerException", "try again")
            job = self.job(params["jobIdentifier"])
            job.gets += 1
            if job.gets % self.polls_per_step == 0:
                self._advance(job)
            return self._describe(job)

    def stop(self, params: dict) -> dict:
        with self._lock:
            job = self.job(params["jobIdentifier"])
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

    def tags(self, params: dict) -> dict:
        return {"tags": list(self.job(params["resourceARN"]).request.get("tags", []))}

    # lifecycle

    def _advance(self, job: Job) -> None:
        if job.status == "Submitted":
            self._validate(job)
        elif job.status == "InProgress":
            self._finish(job, "Completed", len(job.records))
        elif job.status == "Stopping":
            self._finish(job, "Stopped", len(job.records) // 2)

    def _validate(self, job: Job) -> None:
        """What Bedrock checks before running (Validating): the file, its lines, the record count."""
        bucket, key = S3_URI.fullmatch(job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]).groups()
        job.last_modified = self._now()
        if not (key or "").endswith(".jsonl"):
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
            extra = set(record) - {"recordId", "modelInput"}
            if extra:
                self.violation(f"{job.job_id} line {number}: keys {sorted(extra)} besides recordId and modelInput")
                return self._fail(job, f"Line {number} has unexpected keys {sorted(extra)}.")
            record_id = record.get("recordId")
            if record_id is not None and not (isinstance(record_id, str) and RECORD_ID.fullmatch(record_id)):
                self.violation(f"{job.job_id} line {number}: recordId {record_id!r} is not 11 letters and digits")
                return self._fail(job, f"Line {number}: recordId must be an 11 character alphanumeric string.")
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
        lines, ok, failed, tokens_in, tokens_out = [], 0, 0, 0, 0
        for index, record in enumerate(job.records[:processed]):
            result = self._run(job, index, record)
            if isinstance(result, str):
                lines.append(result)  # a scripted raw line
                continue
            lines.append(json.dumps(result))
            if "error" in result:
                failed += 1
            else:
                ok += 1
                usage = result["modelOutput"].get("usage") or {}
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

    def _run(self, job: Job, index: int, record: dict) -> dict | str:
        """One record's result line: a Claude Message, a Converse response, an error, or a scripted line."""
        model_input = record["modelInput"]
        record_id = record.get("recordId") or f"{index + 1:011d}"  # Bedrock names records that have none
        base = {"recordId": record_id, "modelInput": model_input}
        family = _family(job.request.get("modelInvocationType", "InvokeModel"), job.request["modelId"])
        if family == "converse":
            problem = self._converse_problem(job, record_id, model_input)
        elif family == "claude":
            problem = self._claude_problem(job, record_id, model_input)
        elif family == "titan":
            problem = _titan_body_problem(model_input)
            if problem:
                self.violation(f"{job.job_id} record {record_id}: {problem}")
        else:
            problem = "This fake runs InvokeModel bodies of Claude and Titan Text Embeddings V2 only."
        if problem:
            return {**base, "error": {"errorCode": 400, "errorMessage": problem}}
        text = _last_user_text(model_input)
        scripted = self.script.get(text)
        if scripted is not None:
            return self._scripted(job, record_id, base, scripted, family)
        if "FAIL" in text:
            return {**base, "error": {"errorCode": 400, "errorMessage": "The model refused this record (FAIL marker)."}}
        output = _echo(family, model_input, f"{job.job_id}/{record_id}")
        self._check_output(job, record_id, output, family)
        return {**base, "modelOutput": output}

    def _scripted(self, job: Job, record_id: str, base: dict, scripted: dict, family: str) -> dict | str:
        if "line" in scripted:
            return scripted["line"]
        if "error" in scripted:
            return {**base, "error": scripted["error"]}
        output = scripted["modelOutput"]
        if scripted.get("checked", True):
            self._check_output(job, record_id, output, family)
        return {**base, "modelOutput": output}

    def _converse_problem(self, job: Job, record_id: str, model_input: dict) -> str | None:
        if "modelId" in model_input:
            found = ["$.modelId: a batch record's modelInput carries no modelId (the job's is used)"]
        else:
            found = shapes.violations("bedrock-runtime", "ConverseRequest",
                                      {**model_input, "modelId": job.request["modelId"]}, "modelInput")
        if not found:
            return None
        self.violation(f"{job.job_id} record {record_id}: " + "; ".join(found))
        return "Malformed input request: " + "; ".join(found)

    def _claude_problem(self, job: Job, record_id: str, model_input: dict) -> str | None:
        problem = _claude_body_problem(job.request["modelId"], model_input)
        if problem:
            self.violation(f"{job.job_id} record {record_id}: {problem}")
        return problem

    # bedrock-runtime (params already checked against the operation's input shape)

    def _runtime_call(self, model_input: dict) -> str:
        """Count the call, then answer a scripted error or the FAIL marker's ValidationException."""
        with self._lock:
            self.runtime_calls += 1
        text = _last_user_text(model_input)
        errors = self.runtime_errors.get(text)
        if errors:
            raise errors.pop(0)
        if "FAIL" in text:
            raise AWSError(400, "ValidationException", "The model refused this request (FAIL marker).")
        return text

    def invoke(self, params: dict) -> dict:
        """InvokeModel: a Claude Messages body in, an anthropic `Message` out; or Titan's embedding body in,
        its embedding out."""
        self.calls.append(("invoke", params))
        try:
            model_input = json.loads(base64.b64decode(params["body"]))
        except ValueError:
            model_input = None
        if not isinstance(model_input, dict):
            self.violation("InvokeModel: the body is not a JSON object")
            raise AWSError(400, "ValidationException", "Malformed input request: the body is not JSON.")
        if TITAN_EMBED in params["modelId"]:
            problem = _titan_body_problem(model_input)
            if problem:
                self.violation(f"InvokeModel body: {problem}")
                raise AWSError(400, "ValidationException", f"Malformed input request: {problem}")
            output = _echo_titan(self._runtime_call(model_input), model_input)
            _check_titan_output(output, model_input)
            return output
        if "anthropic.claude" not in params["modelId"]:
            raise AWSError(400, "ValidationException", "This fake runs InvokeModel bodies of Claude models only.")
        problem = _claude_body_problem(params["modelId"], model_input)
        if problem:
            self.violation(f"InvokeModel body: {problem}")
            raise AWSError(400, "ValidationException", f"Malformed input request: {problem}")
        text = self._runtime_call(model_input)
        output = _echo_claude(text, f"{params['modelId']}/{text}")
        check_message(output, "InvokeModel body")
        return output

    def converse(self, params: dict) -> dict:
        """Converse: a ConverseRequest in, a ConverseResponse out."""
        self.calls.append(("converse", params))
        return _echo_converse(self._runtime_call(params))

    def _check_output(self, job: Job, record_id: str, output: dict, family: str) -> None:
        try:
            if family == "converse":
                shapes.check("bedrock-runtime", "ConverseResponse", output, "modelOutput")
            elif family == "titan":
                record = next(r for r in job.records if r.get("recordId") == record_id)
                _check_titan_output(output, record["modelInput"])
            else:
                check_message(output, "modelOutput")
        except AssertionError as error:
            self.violation(f"{job.job_id} record {record_id}: the fake wrote an off-spec result: {error}")

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

    def off_spec(self, reply: dict) -> dict:
        """Apply the deliberately off-spec values (a newer API's job statuses) to a checked reply."""
        summaries = reply.get("invocationJobSummaries", [reply])
        for summary in summaries:
            job_id = str(summary.get("jobArn", "")).rsplit("/", 1)[-1]
            if job_id in self.future_status and "status" in summary:
                summary["status"] = self.future_status[job_id]
        return reply


def _family(invocation_type: str, model_id: str) -> str:
    """Which kind of model runs a job's records: converse, claude, titan (embeddings) or other."""
    if invocation_type == "Converse":
        return "converse"
    if "anthropic.claude" in model_id:
        return "claude"
    return "titan" if TITAN_EMBED in model_id else "other"


def _echo(family: str, model_input: dict, seed: str) -> dict:
    text = _last_user_text(model_input)
    if family == "titan":
        return _echo_titan(text, model_input)
    return _echo_converse(text) if family == "converse" else _echo_claude(text, seed)


def _echo_titan(text: str, model_input: dict) -> dict:
    """Titan V2's deterministic answer: a vector of `dimensions` values derived from the text."""
    size = model_input.get("dimensions", 1024)
    digest = hashlib.sha256(text.encode()).digest()
    vector = [round((digest[i % len(digest)] - 128) / 128, 6) for i in range(size)]
    return {"embedding": vector, "inputTextTokenCount": len(text.split()),
            "embeddingsByType": {"float": vector}}


def _titan_body_problem(model_input: dict) -> str | None:
    """Why a Titan Text Embeddings V2 body breaks AWS's documented request shape, or None."""
    extra = set(model_input) - TITAN_FIELDS
    if extra:
        return f"Titan Text Embeddings V2 takes no {sorted(extra)}"
    text = model_input.get("inputText")
    if not isinstance(text, str) or not 1 <= len(text) <= TITAN_MAX_CHARS:
        return f"inputText must be a string of 1-{TITAN_MAX_CHARS} characters"
    if "dimensions" in model_input and model_input["dimensions"] not in TITAN_DIMENSIONS:
        return f"dimensions must be one of {TITAN_DIMENSIONS}"
    if "normalize" in model_input and not isinstance(model_input["normalize"], bool):
        return "normalize must be a boolean"
    types = model_input.get("embeddingTypes", ["float"])
    if not isinstance(types, list) or not types or not set(types) <= {"float", "binary"}:
        return "embeddingTypes must be a non-empty list of float and binary"
    return None


def _check_titan_output(output: dict, model_input: dict) -> None:
    """A Titan V2 answer as AWS documents it: the vector as long as asked, the token count, by-type vectors."""
    assert set(output) == {"embedding", "inputTextTokenCount", "embeddingsByType"}, sorted(output)
    vector = output["embedding"]
    assert isinstance(vector, list) and len(vector) == model_input.get("dimensions", 1024), "embedding length"
    assert all(isinstance(v, float) for v in vector), "embedding values are floats"
    assert isinstance(output["inputTextTokenCount"], int), "inputTextTokenCount"
    assert isinstance(output["embeddingsByType"], dict) and "float" in output["embeddingsByType"], "embeddingsByType"


def _echo_converse(text: str) -> dict:
    """The deterministic ConverseResponse to a last user text."""
    reply = f"echo: {text}"
    usage_in, usage_out = len(text.split()) + 3, len(reply.split())
    return {"output": {"message": {"role": "assistant", "content": [{"text": reply}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": usage_in, "outputTokens": usage_out, "totalTokens": usage_in + usage_out},
            "metrics": {"latencyMs": 120}}


def _echo_claude(text: str, seed: str) -> dict:
    """The deterministic Claude Message to a last user text; its ID derives from `seed`."""
    reply = f"echo: {text}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:24]
    return {"id": f"msg_bdrk_{digest}", "type": "message", "role": "assistant",
            "model": "claude-3-sonnet-20240229", "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": len(text.split()) + 3, "output_tokens": len(reply.split())}}


def _claude_body_problem(model_id: str, model_input: dict) -> str | None:
    """Why a Claude InvokeModel body (a record's or a call's) breaks the rules, or None."""
    body = dict(model_input)
    if body.pop("anthropic_version", None) != CLAUDE_VERSION:
        return f"anthropic_version must be {CLAUDE_VERSION}"
    body.pop("anthropic_beta", None)
    try:
        check_params({**body, "model": model_id}, api_version=CLAUDE_API_VERSION, what="modelInput")
    except AssertionError as error:
        return str(error)
    return None


def _last_user_text(model_input: dict) -> str:
    if isinstance(model_input.get("inputText"), str):
        return model_input["inputText"]  # Titan's embedding body: the text itself
    for message in reversed(model_input.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        for block in reversed(content or []):
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


# HTTP layer: read the request into the operation's input shape, check it, answer, check the answer


def make_app(backend: FakeBedrock) -> Flask:
    app = Flask("fake_bedrock")

    def answer(operation: str, call, *, uri: dict | None = None) -> Response:
        body = request.get_json(silent=True) if request.data else None
        params, found = shapes.request_params("bedrock", operation, body=body, uri=uri,
                                              query=request.args.to_dict(flat=False))
        model = shapes.operation("bedrock", operation)
        if model.input_shape is not None:
            found += shapes.violations("bedrock", model.input_shape, params, f"{operation} request")
        if found:
            backend.violation(f"{operation} request: " + "; ".join(found))
            return _error(AWSError(400, "ValidationException", "; ".join(found)))
        try:
            reply = call(params)
        except AWSError as error:
            declared = shapes.error_codes("bedrock", operation)
            if declared.get(error.code) != error.status:
                backend.violation(f"{operation}: the fake answered {error.code} {error.status}; botocore "
                                  f"declares {declared}")
            return _error(error)
        reply_problems = shapes.violations("bedrock", model.output_shape, reply, f"{operation} reply")
        if reply_problems:
            backend.violation("; ".join(reply_problems))
            return _error(AWSError(500, "InternalServerException", "the fake's reply is off spec"))
        return Response(json.dumps(backend.off_spec(reply)), 200, content_type="application/json")

    def runtime(operation: str, call, model_id: str, params: dict) -> Response:
        """A bedrock-runtime call: `params` (the input shape's members) checked, the reply checked as its
        output shape; every answer carries an `x-amzn-RequestId`."""
        model = shapes.operation("bedrock-runtime", operation)
        found = shapes.violations("bedrock-runtime", model.input_shape, {**params, "modelId": model_id},
                                  f"{operation} request")
        request_id = f"fake-{backend.runtime_calls + 1:06d}-{hashlib.sha256(request.data).hexdigest()[:12]}"
        headers = {"x-amzn-RequestId": request_id}
        if found:
            backend.violation("; ".join(found))
            return _error(AWSError(400, "ValidationException", "; ".join(found)), headers)
        try:
            reply = call({**params, "modelId": model_id})
        except AWSError as error:
            declared = shapes.error_codes("bedrock-runtime", operation)
            if declared.get(error.code) != error.status:
                backend.violation(f"{operation}: the fake answered {error.code} {error.status}; botocore "
                                  f"declares {declared}")
            return _error(error, headers)
        if operation == "InvokeModel":  # the body is the model's own JSON, the output shape's blob
            data = json.dumps(reply).encode()
            wire = {"body": base64.b64encode(data).decode(), "contentType": "application/json"}
        else:
            data, wire = json.dumps(reply).encode(), reply
        problems = shapes.violations("bedrock-runtime", model.output_shape, wire, f"{operation} reply")
        if problems:
            backend.violation("; ".join(problems))
            return _error(AWSError(500, "InternalServerException", "the fake's reply is off spec"), headers)
        return Response(data, 200, content_type="application/json", headers=headers)

    @app.post("/model/<path:model_id>/invoke")
    def invoke_model(model_id):
        params = {"body": base64.b64encode(request.get_data()).decode()}
        for member, header in (("contentType", "Content-Type"), ("accept", "Accept")):
            if header in request.headers:
                params[member] = request.headers[header]
        return runtime("InvokeModel", backend.invoke, model_id, params)

    @app.post("/model/<path:model_id>/converse")
    def converse(model_id):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            backend.violation("Converse: the body is not a JSON object")
            return _error(AWSError(400, "ValidationException", "Malformed input request."))
        if "modelId" in body:
            backend.violation("Converse: modelId belongs in the URI, not the body")
        return runtime("Converse", backend.converse, model_id, body)

    @app.post("/model-invocation-job")
    def create():
        return answer("CreateModelInvocationJob", backend.create)

    @app.get("/model-invocation-job/<path:identifier>")
    def get(identifier):
        return answer("GetModelInvocationJob", backend.get, uri={"jobIdentifier": identifier})

    @app.post("/model-invocation-job/<path:identifier>/stop")
    def stop(identifier):
        return answer("StopModelInvocationJob", backend.stop, uri={"jobIdentifier": identifier})

    @app.get("/model-invocation-jobs")
    def list_jobs():
        return answer("ListModelInvocationJobs", backend.list)

    @app.post("/listTagsForResource")
    def list_tags():
        return answer("ListTagsForResource", backend.tags)

    return app


def _error(error: AWSError, headers: dict | None = None) -> Response:
    return Response(json.dumps({"message": error.message}), error.status, content_type="application/json",
                    headers={"x-amzn-ErrorType": error.code, **(headers or {})})


class Server:
    """The fake served on 127.0.0.1 in a thread; `url` is what AWS_ENDPOINT_URL_BEDROCK (and
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME) point at."""

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


# pytest fixtures: a test module takes them with `moto_url, s3, fake = bedrock.moto_url, bedrock.s3, bedrock.fake`

BUCKET = "your-s3-bucket"  # the seed snippet's bucket
OTHER_BUCKET = "other-bucket"


@pytest.fixture(scope="module")
def bedrock_moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bedrock_s3(bedrock_moto_url, monkeypatch, tmp_path):
    """Fake credentials, boto3 pointed at the moto server, an empty S3 with two buckets."""
    moto_url = bedrock_moto_url
    requests.post(f"{moto_url}/moto-api/reset", timeout=5)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK",
                 "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
    for bucket in (BUCKET, OTHER_BUCKET):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture
def bedrock_fake(bedrock_s3, bedrock_moto_url, monkeypatch):
    """The control-plane fake; after the test, nothing the gateway sent (or the fake wrote) broke the rules."""
    backend = FakeBedrock(bedrock_moto_url, REGION, polls_per_step=2, min_records=2)
    with Server(backend) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.url)
        yield backend
    assert backend.violations == [], "\n".join(backend.violations)


class _ContractScript:
    def __init__(self, fake: FakeBedrock) -> None:
        self.fake = fake

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        # Records are scripted by their prompt: the contract test asks "question for <custom_id>".
        self.fake.script[f"question for {custom_id}"] = {"modelOutput": {"no_known_shape": True}, "checked": False}

    def finish(self, batch_id: str) -> None:
        pass  # a job moves one step every `polls_per_step` gets


@pytest.fixture
def bedrock_contract(bedrock_fake, app):
    """The Bedrock fake (S3 in moto) for the provider contract test (tests/fakes/contract.py)."""
    app.config.update(BEDROCK_REGION=REGION, BEDROCK_MIN_RECORDS=2, BEDROCK_ALLOWED_BUCKETS=[],
                      BEDROCK_ROLE_ARN="arn:aws:iam::123456789012:role/BedrockBatch")
    model = "anthropic.claude-3-5-haiku-20241022-v1:0"
    storage = {"s3": {"bucket": BUCKET, "region": REGION, "prefix": "contract"}}
    return ContractFake("bedrock", _ContractScript(bedrock_fake), model=model, upload_body={"storage_config": storage},
                        create_body={"model": model, "output_s3_uri": f"s3://{BUCKET}/contract-output"},
                        query={"storage_config": storage})
