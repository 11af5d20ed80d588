"""Checks against the official `google-genai` SDK (test-only) for the Vertex AI fake, in its Vertex AI paths.

- Input lines: `request` is a Vertex GenerateContentRequest. The SDK has no wire model of one, so
  `GenerateContentRequest` composes it from the SDK's own field types (genai_types' model plus
  `labels`, which `models._GenerateContentConfig_to_vertex` writes at the request's top level), and
  `check_generate_content_request` also runs the SDK's Vertex writer
  (`models._GenerateContentParameters_to_vertex`) over it. Label keys and values follow the rule the
  GenerateContentRequest definition states (providers-next.md §1.7 [V:S1]).
- Jobs: a create body may hold only the BatchPredictionJob fields a client sets (§1.3 [V:S1]); jobs the
  fake answers with are read by the SDK's own reader (`batches._BatchJob_from_vertex`) into
  `types.BatchJob`, every `JOB_STATE_*` a declared `types.JobState`, counters int64 JSON strings.
- Result rows: `response` as `types.GenerateContentResponse` (genai_types' check), `status` a string.
- Text embedding jobs (providers-next.md §1.13 [V:S6]; no SDK model of batch instances or rows, so the
  documented shapes): an instance is `{"content": str}` with the optional `task_type` and `title` of
  the text embedding API, plus the one pass-through key the gateway adds (`custom_id`, whether Vertex
  keeps it is [U]); a row is `{"instance", "predictions": [{"embeddings": {"statistics": {"token_count",
  "truncated"}, "values"}}], "status"}`.

Every check raises `ContractViolation` naming the path of the first problem.
"""

from __future__ import annotations

import functools
import json
import re

from google.auth.credentials import AnonymousCredentials
from google.genai import _api_client, batches, models, types

from tests.contracts import genai_types
from tests.contracts.genai_types import ContractViolation, _fail, _keys, _validated_sdk_dict, strict

__all__ = ["ContractViolation", "check_create_job", "check_embedding_instance", "check_embedding_row",
           "check_input_line", "check_job", "check_job_list", "check_result_row"]

# BatchPredictionJob fields a client may set on create (google.cloud.aiplatform_v1 batch_prediction_job.py).
CREATE_FIELDS = ("displayName", "model", "inputConfig", "outputConfig", "labels", "modelParameters",
                 "instanceConfig", "dedicatedResources", "serviceAccount", "manualBatchTuningParameters",
                 "generateExplanation", "explanationSpec", "encryptionSpec", "disableContainerLogging",
                 "unmanagedContainerModel")
COMPLETION_STATS = ("successfulCount", "failedCount", "incompleteCount", "successfulForecastPointCount")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
RESERVED_COLUMNS = ("response", "status")  # BigQuery output columns Vertex writes (§1.7)
# A text embedding instance (TextEmbeddingInput: content, task_type, title) and the gateway's carrier key.
EMBEDDING_INSTANCE_FIELDS = ("content", "task_type", "title", "custom_id")
TASK_TYPES = ("RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
              "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY")


class GenerateContentRequest(genai_types.GenerateContentRequest):
    """A Vertex AI GenerateContentRequest without `model` (the job has it)."""

    labels: dict[str, str] | None = None


@functools.cache
def _client() -> _api_client.BaseApiClient:
    """A Vertex AI client for the SDK's converters; it never sends anything."""
    return _api_client.BaseApiClient(vertexai=True, project="contract-check", location="us-central1",
                                     credentials=AnonymousCredentials())


def check_labels(labels: object, what: str) -> None:
    if not isinstance(labels, dict) or len(labels) > 64:
        raise _fail(what, "must map at most 64 keys to values")
    for key, value in labels.items():
        if not LABEL_KEY.fullmatch(key):
            raise _fail(f"{what}.{key}", "a label key is 1-63 lowercase letters, digits, _ or -, from a letter")
        if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
            raise _fail(f"{what}.{key}", f"{value!r} is not a label value (0-63 lowercase letters, digits, _ or -)")


def check_generate_content_request(request: object, what: str = "request") -> None:
    model = strict(GenerateContentRequest, request, what)
    if model.labels is not None:
        check_labels(request["labels"], f"{what}.labels")  # type: ignore[index]
    config = model.generation_config.model_dump(exclude_none=True) if model.generation_config else {}
    for name in ("system_instruction", "tools", "tool_config", "safety_settings", "cached_content", "labels"):
        if getattr(model, name) is not None:
            config[name] = getattr(model, name)
    try:  # the SDK's own Vertex AI writer
        sdk = models._GenerateContentParameters_to_vertex(_client(), {"contents": model.contents, "config": config})
    except ValueError as error:
        raise _fail(what, f"the SDK would not send this to Vertex AI: {error}") from None
    sent = set(request.get("generationConfig") or {})  # type: ignore[union-attr]
    if dropped := sent - set(sdk.get("generationConfig") or {}):
        raise _fail(f"{what}.generationConfig", f"keys {sorted(dropped)} are never sent by the SDK to Vertex AI")


def check_input_line(line: object, what: str = "line") -> None:
    """One line of a JSONL batch input: `request`, plus columns Vertex passes through (not its own)."""
    if not isinstance(line, dict) or "request" not in line:
        raise _fail(what, "must be an object with a request")
    if reserved := [key for key in RESERVED_COLUMNS if key in line]:
        raise _fail(what, f"keys {reserved} are the output's own columns")
    check_generate_content_request(line["request"], f"{what}.request")


def check_create_job(body: object) -> None:
    job = _keys(body, CREATE_FIELDS, "BatchPredictionJob", required=("displayName", "model", "inputConfig",
                                                                     "outputConfig"))
    _keys(job["inputConfig"], ("instancesFormat", "gcsSource", "bigquerySource"), "inputConfig",
          required=("instancesFormat",))
    uris = _keys(job["inputConfig"].get("gcsSource", {}), ("uris",), "inputConfig.gcsSource").get("uris")
    if not (isinstance(uris, list) and uris and all(isinstance(u, str) and u.startswith("gs://") for u in uris)):
        raise _fail("inputConfig.gcsSource.uris", "must list gs:// URIs")
    _keys(job["outputConfig"], ("predictionsFormat", "gcsDestination", "bigqueryDestination"), "outputConfig",
          required=("predictionsFormat",))
    prefix = _keys(job["outputConfig"].get("gcsDestination", {}), ("outputUriPrefix",),
                   "outputConfig.gcsDestination").get("outputUriPrefix")
    if not (isinstance(prefix, str) and prefix.startswith("gs://")):
        raise _fail("outputConfig.gcsDestination.outputUriPrefix", "must be a gs:// prefix")
    if "labels" in job:
        check_labels(job["labels"], "labels")
    _validated_sdk_dict(types.BatchJob, batches._BatchJob_from_vertex(json.loads(json.dumps(job))),
                        "BatchPredictionJob")


def check_job(job: object, what: str = "BatchPredictionJob") -> None:
    """A job as Vertex answers with it, read the way the SDK reads it."""
    if not isinstance(job, dict):
        raise _fail(what, "must be an object")
    states = {state.value for state in types.JobState}
    if job.get("state") not in states:
        raise _fail(f"{what}.state", f"{job.get('state')!r} is not a declared JobState")
    stats = _keys(job.get("completionStats", {}), COMPLETION_STATS, f"{what}.completionStats")
    for key, value in stats.items():
        if not (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
            raise _fail(f"{what}.completionStats.{key}", f"{value!r} is not an int64 JSON string")
    if "error" in job:
        genai_types.check_status(job["error"], f"{what}.error")
    _validated_sdk_dict(types.BatchJob, batches._BatchJob_from_vertex(json.loads(json.dumps(job))), what)


def check_job_list(body: object) -> None:
    _keys(body, ("batchPredictionJobs", "nextPageToken"), "ListBatchPredictionJobsResponse")
    for index, job in enumerate(body.get("batchPredictionJobs") or []):  # type: ignore[union-attr]
        check_job(job, f"batchPredictionJobs[{index}]")
    _validated_sdk_dict(types.ListBatchJobsResponse, batches._ListBatchJobsResponse_from_vertex(
        json.loads(json.dumps(body))), "ListBatchPredictionJobsResponse")


def check_result_row(row: object, what: str = "row") -> None:
    """A row of `predictions.jsonl`: `status` ("" on success), the echoed `request`, `response` on success."""
    if not isinstance(row, dict) or not isinstance(row.get("status"), str):
        raise _fail(what, "must be an object with a string status")
    if row["status"] == "":
        genai_types.check_generate_content_response(row.get("response"), f"{what}.response")
    elif "response" in row:
        raise _fail(what, "a failed row has no response")


def check_embedding_instance(line: object, what: str = "line") -> None:
    """One line of a text embedding job's JSONL input."""
    instance = _keys(line, EMBEDDING_INSTANCE_FIELDS, what, required=("content",))
    for key in ("content", "title", "custom_id"):
        if key in instance and not (isinstance(instance[key], str) and instance[key]):
            raise _fail(f"{what}.{key}", "must be a non-empty string")
    if "task_type" in instance and instance["task_type"] not in TASK_TYPES:
        raise _fail(f"{what}.task_type", f"must be one of {', '.join(TASK_TYPES)}")


def check_embedding_row(row: object, what: str = "row") -> None:
    """A row of a text embedding job's `predictions.jsonl`."""
    row = _keys(row, ("instance", "predictions", "status"), what, required=("instance", "status"))
    check_embedding_instance(row["instance"], f"{what}.instance")
    if not isinstance(row["status"], str):
        raise _fail(f"{what}.status", "must be a string")
    if row["status"]:
        if "predictions" in row:
            raise _fail(what, "a failed row has no predictions")
        return
    predictions = row.get("predictions")
    if not (isinstance(predictions, list) and len(predictions) == 1):
        raise _fail(f"{what}.predictions", "must hold one prediction")
    embeddings = _keys(_keys(predictions[0], ("embeddings",), f"{what}.predictions[0]",
                             required=("embeddings",))["embeddings"],
                       ("statistics", "values"), f"{what}.predictions[0].embeddings", required=("values",))
    values = embeddings["values"]
    if not (isinstance(values, list) and values and all(isinstance(v, float) for v in values)):
        raise _fail(f"{what}.predictions[0].embeddings.values", "must be a non-empty list of floats")
    statistics = _keys(embeddings.get("statistics", {}), ("token_count", "truncated"),
                       f"{what}.predictions[0].embeddings.statistics")
    tokens, truncated = statistics.get("token_count", 0), statistics.get("truncated", False)
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not isinstance(truncated, bool):
        raise _fail(f"{what}.predictions[0].embeddings.statistics", "token_count is an integer, truncated a boolean")
