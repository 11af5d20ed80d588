"""OpenAI batch shapes <-> Vertex AI batch prediction for Gemini (providers-next.md §1) and Cloud Storage objects.

Pure: dicts in, dicts out. No HTTP, no Flask, no config, no clock. Gateway IDs are made by the caller.
The chat conversions are translators/gemini.py's: a Vertex input line's `request` is Gemini's
GenerateContentRequest (`gemini.generate_content_request`), and a result row's `response` is
converted by `gemini.output_line` (finish reasons, blocked prompts, per-request errors).

`custom_id` (providers-next.md §1.9): Vertex has no request ID for Gemini, so each input line carries
the client's custom_id twice, and results find it in either:
- a top-level `custom_id` sibling of `request`, `"cid-" + custom_id` (the prefix keeps a numeric-looking
  ID from being re-typed by Vertex's importer); Google documents for BigQuery input that columns other
  than `request` come back in the output, a Google sample (python-docs-samples) shows JSONL input with
  an `id` column there, and a peer saw the JSONL echo (providers-next.md §1.7, §1.9);
- `request.labels` (an official GenerateContentRequest field; that rows echo it in `request` is not
  documented, LiteLLM and Bifrost rely on it): the
  custom_id's UTF-8 bytes in lowercase hex, in pieces of LABEL_PIECE characters after an `h` (a label
  value that cannot read as a number), under `deepintshield_cid`, `deepintshield_cid_1`, ... (label
  values: lowercase letters, digits, `_` and `-`, at most 63 characters). Hex rather than LiteLLM's
  base32: `bytes.hex` takes 0.08 µs for a short ID where `base64.b32encode` takes 3.4 µs (a tenth of a
  line's conversion), for 17 labels instead of 14 at the longest.
A row whose custom_id neither gives back cannot be converted: it goes to the error file as
`line-<n>` with Vertex's own row (`batch_output.converted_lines`).

Embeddings (providers-next.md §1.13): a text embedding job takes bare instances (`{"content": "..."}`)
and its rows carry no request ID, only the echoed `instance`. So each input text becomes its own
instance carrying `custom_id: "cid-<custom_id>#<i>/<N>"` (Gemini's embedding keys, `<i>` of the line's
`N` texts), and a row finds it in its `instance` (or `instances[0]`, or a top-level column, should
Vertex echo it there). Rows are read tolerantly (whether an extra instance key survives is [U]): the
vector from `predictions[0]` or `prediction`, as `embeddings.values`, `embeddings[0].values`,
`embedding.values` or `values`; tokens from `embeddings.statistics.token_count` (else
`tokenCount`/`usageMetadata.promptTokenCount`, else 0). Each row becomes a Gemini-style result
(`{key, response | error}`) and `gemini_endpoints.group_embeddings` / `embedding_line` gather a line's
texts back into one OpenAI embedding list. `dimensions` is refused: Vertex sets it per job
(`outputDimensionality` parameter), not per instance.

Tolerant of what Vertex sends: a `JOB_STATE_*` not in JOB_STATES is `completed` once the job has an
`endTime`, else `in_progress`; counters are int64 JSON strings, absent when zero; a failed row's
`status` string that does not embed Google's error JSON is a 500 error line with the text as message.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from errors import BadRequest
from translators import gemini, jsonl
from translators import gemini_endpoints as endpoints
from translators import openai_shapes as shapes
from translators.typed_lines import ChatLine

CHAT_COMPLETIONS = "/v1/chat/completions"
CUSTOM_ID_FIELD = "custom_id"
CUSTOM_ID_PREFIX = "cid-"
LABEL = "deepintshield_cid"
LABEL_VALUE_PREFIX = "h"
LABEL_PIECE = 62  # + the prefix: 63, the longest label value
MAX_CUSTOM_ID_BYTES = 512  # 17 labels of the 64 a request may have
# Job labels (filterable in list): the number of requests submitted, whether metadata was kept, and the
# endpoint of the lines (absent: chat, as jobs made before the label).
JOB_LABEL_REQUESTS = "deepintshield_requests"
JOB_LABEL_METADATA = "deepintshield_metadata"
JOB_LABEL_ENDPOINT = "deepintshield_endpoint"
# Batch endpoint -> its label value (label values: lowercase letters, digits, `_`, `-`).
ENDPOINT_LABELS = {endpoints.CHAT_COMPLETIONS: "chat_completions", endpoints.RESPONSES: "responses",
                   endpoints.COMPLETIONS: "completions", endpoints.EMBEDDINGS: "embeddings"}
GOOGLE_MODELS = "publishers/google/models/"
WORK_DIR = "_vertex"  # beside an uploaded file: <dir>/_vertex/<token>/{<file name>, metadata.json, output/...}
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}(@[A-Za-z0-9._-]{1,64})?")
_TUNED = re.compile(r"projects/[a-z0-9-]{1,30}/locations/[a-z0-9-]{1,63}/(models|endpoints)/[A-Za-z0-9_-]{1,128}"
                    r"(@[A-Za-z0-9._-]{1,64})?")
_ROW_STATUS = re.compile(r"^([^:{]*): (\{.*\})\s*$", re.DOTALL)  # "Bad Request: {\"error\": {...}}"
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{24}-(.+)$")  # filestore.new_key() + "-" + filename

# providers-next.md §1.5: JobState (prefix JOB_STATE_ stripped) -> OpenAI status; every value of
# google.genai.types.JobState is here.
JOB_STATES = {
    "UNSPECIFIED": "validating",
    "QUEUED": "validating",
    "PENDING": "validating",  # for Gemini: queued for capacity, up to 72 hours
    "RUNNING": "in_progress",
    "UPDATING": "in_progress",
    "PAUSED": "in_progress",  # stopped but resumable: not ended
    "SUCCEEDED": "completed",
    "PARTIALLY_SUCCEEDED": "completed",  # what there is is offered; missing rows are error lines
    "FAILED": "failed",  # also: not done within 24 hours of starting
    "CANCELLING": "cancelling",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}
STATE_PREFIX = "JOB_STATE_"
IN_FLIGHT = ("validating", "in_progress")
ENDED = ("completed", "failed", "cancelled", "expired")
END_TIME_FIELDS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at",
                   "expired": "expired_at"}
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


# Locations


def split_gs_uri(uri: str) -> tuple[str, str]:
    """`gs://bucket/name` -> (bucket, name)."""
    if not uri.startswith("gs://"):
        raise ValueError(f"{uri!r} is not a gs:// URI")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def work_dir(name: str, token: str) -> str:
    """The folder of a batch's converted input, metadata and output, beside the uploaded file `name`."""
    folder = name.rpartition("/")[0]
    return f"{folder}/{WORK_DIR}/{token}" if folder else f"{WORK_DIR}/{token}"


def converted_name(name: str, token: str) -> str:
    return f"{work_dir(name, token)}/{name.rpartition('/')[2]}"


def original_name(converted: str) -> str:
    """The uploaded file a converted input was made from (`converted` itself if it is not one)."""
    parts = converted.split("/")
    if len(parts) >= 3 and parts[-3] == WORK_DIR:
        return "/".join(parts[:-3] + parts[-1:])
    return converted


def metadata_name(converted: str) -> str:
    return f"{converted.rpartition('/')[0]}/metadata.json"


def upload_filename(name: str) -> str:
    base = name.rpartition("/")[2]
    match = _UPLOAD_NAME.fullmatch(base)
    return match[1] if match else base


# Models


def model_path(model: str) -> str:
    """A model as a job names it: a bare Gemini name gets `publishers/google/models/` (as google-genai's
    `t_model` does); a publisher path must be Google's (the lines are Gemini requests); a tuned model's
    resource name is kept. ValueError otherwise."""
    if model.startswith("publishers/"):
        if not model.startswith(GOOGLE_MODELS):
            raise ValueError("only Gemini models (publishers/google) take Gemini requests")
        model = model[len(GOOGLE_MODELS):]
    elif model.startswith("projects/"):
        if not _TUNED.fullmatch(model):
            raise ValueError("not a model resource name")
        return model
    model = model.removeprefix("models/")
    if not _MODEL.fullmatch(model):
        raise ValueError("not a model name")
    return GOOGLE_MODELS + model


def model_name(path: str) -> str:
    return path.removeprefix(GOOGLE_MODELS)


# custom_id <-> input line, result row


def custom_id_problem(custom_id: str) -> str | None:
    size = len(custom_id.encode())
    if size > MAX_CUSTOM_ID_BYTES:
        return f"is {size} bytes long; Vertex AI carries custom_ids of at most {MAX_CUSTOM_ID_BYTES} bytes"
    return None


def custom_id_labels(custom_id: str) -> dict[str, str]:
    """`request.labels` that hold `custom_id` losslessly."""
    encoded = custom_id.encode().hex()
    pieces = [encoded[i:i + LABEL_PIECE] for i in range(0, len(encoded), LABEL_PIECE)] or [""]
    return {(LABEL if n == 0 else f"{LABEL}_{n}"): LABEL_VALUE_PREFIX + piece for n, piece in enumerate(pieces)}


def labels_custom_id(labels: dict) -> str:
    """The custom_id `custom_id_labels` wrote (ValueError if the labels do not hold one)."""
    pieces = []
    n = 0
    while (key := LABEL if n == 0 else f"{LABEL}_{n}") in labels:
        value = labels[key]
        if not isinstance(value, str) or not value.startswith(LABEL_VALUE_PREFIX):
            raise ValueError(f"label {key} does not hold a custom_id piece")
        pieces.append(value[len(LABEL_VALUE_PREFIX):])
        n += 1
    try:
        return bytes.fromhex("".join(pieces)).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"the custom_id labels do not decode: {error}") from None


def _without_empty_objects(value: object) -> object:
    """`value` with every `{}` member dropped (Vertex's importer fails a whole job on empty objects, §1.7);
    an empty object says nothing a proto field would not, so the request means the same."""
    if isinstance(value, dict):
        kept = {key: _without_empty_objects(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {}}
    if isinstance(value, list):
        return [_without_empty_objects(item) for item in value]
    return value


def input_line(obj: dict) -> dict | list[dict]:
    """One OpenAI batch input line (already checked) as Vertex input: for chat, Responses or completions
    one line whose `request` is Gemini's GenerateContentRequest (`gemini_endpoints.generate_request`; no
    model: the job has it), with the custom_id labels; for embeddings one instance per text
    (`embedding_instances`)."""
    custom_id = obj["custom_id"]
    problem = custom_id_problem(custom_id)
    if problem:
        raise BadRequest(f"custom_id {problem}.", param="custom_id")
    if obj["url"] == endpoints.EMBEDDINGS:
        return embedding_instances(obj)
    request = endpoints.generate_request(obj["url"], obj["body"])
    if b"{}" in jsonl.dumps(request):  # rare (tool schemas, call arguments): walk only then
        request = {key: kept for key, value in request.items() if (kept := _without_empty_objects(value)) != {}}
    request["labels"] = custom_id_labels(custom_id)
    return {CUSTOM_ID_FIELD: CUSTOM_ID_PREFIX + custom_id, "request": request}


# The typed fast path (translators/typed_lines.py, `jsonl.translated_lines(fast=)`): blocks of usual
# chat-completions lines, same bytes as `input_line`. The request is Gemini's fast one
# (`gemini.fast_content_request`) with the labels added last; Structs not tracked by the cyclic GC, as
# there. The `{}` walk of `input_line` never changes such a request: its objects are contents, parts
# (`{"text"}`), a system instruction with at least one part and a generation config made only when
# one of its fields is set, so none is empty (a text "{}" makes the walk run, and it keeps all).


class _Request(msgspec.Struct, omit_defaults=True, gc=False):
    contents: list
    systemInstruction: object = UNSET  # noqa: N815 (Gemini's field names)
    generationConfig: object = UNSET  # noqa: N815
    labels: dict[str, str] | UnsetType = UNSET


class _Line(msgspec.Struct, gc=False):
    custom_id: str
    request: _Request


def vertex_fast_lines(lines: list[ChatLine]) -> list[_Line] | None:
    """`input_line` for a block of typed chat-completions lines (Structs that encode the same), or None when
    any line needs the general way (another endpoint, a custom_id the labels cannot carry, a body the Gemini
    fast path declines)."""
    out = []
    chat = endpoints.CHAT_COMPLETIONS
    fast_request = gemini.fast_content_request
    for line in lines:
        if line.url != chat:
            return None
        custom_id = line.custom_id
        encoded = custom_id.encode()
        if len(encoded) > MAX_CUSTOM_ID_BYTES:
            return None  # `input_line` raises for it
        gemini_request = fast_request(line.body)
        if gemini_request is None:
            return None
        hexed = encoded.hex()
        # `custom_id_labels`, inlined for the one-label case (IDs of up to 31 bytes; never empty here).
        labels = {LABEL: LABEL_VALUE_PREFIX + hexed} if len(hexed) <= LABEL_PIECE else custom_id_labels(custom_id)
        request = _Request(gemini_request.contents, gemini_request.systemInstruction,
                           gemini_request.generationConfig, labels)
        out.append(_Line(CUSTOM_ID_PREFIX + custom_id, request))
    return out


def line_custom_id(row: dict) -> str:
    """The custom_id of an input line or a result row: the sibling, else the labels (KeyError: neither)."""
    value = row.get(CUSTOM_ID_FIELD)
    if isinstance(value, str) and value.startswith(CUSTOM_ID_PREFIX):
        return value[len(CUSTOM_ID_PREFIX):]
    request = row.get("request")
    labels = request.get("labels") if isinstance(request, dict) else None
    if isinstance(labels, dict) and LABEL in labels:
        return labels_custom_id(labels)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)  # a sibling without the prefix: a file written outside the gateway
    raise KeyError("custom_id")


# Embeddings (see the module docstring)


def embedding_instances(obj: dict) -> list[dict]:
    """One OpenAI embeddings line (already checked) as text embedding instances, one per text, each
    carrying `cid-<custom_id>#<i>/<N>`."""
    body = obj["body"]
    if body.get("dimensions") is not None:
        raise BadRequest("body.dimensions is not supported for Vertex AI embedding batches (a job sets it for all "
                         "its lines); leave it out.", param="body.dimensions")
    texts = endpoints.embed_texts(body)
    return [{"content": text, CUSTOM_ID_FIELD: CUSTOM_ID_PREFIX + endpoints.embed_key(obj["custom_id"], i, len(texts))}
            for i, text in enumerate(texts)]


def _embedding_key(row: dict) -> str:
    """The `<custom_id>#<i>/<N>` an embedding row carries: in its echoed instance, else beside it."""
    instance = row.get("instance")
    if not isinstance(instance, dict):
        instances = row.get("instances")
        instance = instances[0] if isinstance(instances, list) and instances else None
    for place in (instance, row):
        value = place.get(CUSTOM_ID_FIELD) if isinstance(place, dict) else None
        if isinstance(value, str) and value.startswith(CUSTOM_ID_PREFIX):
            return value[len(CUSTOM_ID_PREFIX):]
    raise KeyError("custom_id")


def _prediction(row: dict) -> dict:
    predictions = row.get("predictions")
    if isinstance(predictions, list) and predictions:
        predictions = predictions[0]
    prediction = predictions if isinstance(predictions, dict) else row.get("prediction")
    if not isinstance(prediction, dict):
        raise KeyError("predictions")
    return prediction


def _embedding(prediction: dict) -> tuple[list, int]:
    """(values, tokens) of one prediction, in any of the shapes the module docstring lists."""
    embedding = prediction.get("embeddings", prediction.get("embedding", prediction))
    if isinstance(embedding, list):
        embedding = embedding[0] if embedding else {}
    if not isinstance(embedding, dict):
        raise TypeError("the prediction holds no embedding")
    values = shapes.embedding_vector(embedding["values"])
    statistics = embedding.get("statistics") or {}
    tokens = statistics.get("token_count", statistics.get("tokenCount")) if isinstance(statistics, dict) else None
    if tokens is None:
        tokens = prediction.get("tokenCount", (prediction.get("usageMetadata") or {}).get("promptTokenCount"))
    return values, int(tokens or 0)


def embedding_result(row: dict) -> dict:
    """One embedding row as the Gemini-style result `gemini_endpoints.group_embeddings` gathers:
    `{key, response: {embedding: {values}, tokenCount}}`, or `{key, error}` for a failed row
    (a non-empty `status`). KeyError/TypeError/ValueError: a row that cannot be read."""
    key = _embedding_key(row)
    status = row.get("status")
    if status:
        if not isinstance(status, str):
            raise TypeError(f"status {status!r} is not a string")
        return {"key": key, "error": row_error(status)}
    values, tokens = _embedding(_prediction(row))
    return {"key": key, "response": {"embedding": {"values": values}, "tokenCount": tokens}}


def request_custom_id(line: dict) -> str:
    """The client's custom_id of a converted input line (an embedding instance's without its `#<i>/<N>`)."""
    return endpoints.split_embed_key(line_custom_id(line))[0] if "content" in line else line_custom_id(line)


def _request_id(row: dict, number: int, job: str) -> str:
    response = row.get("response")
    response_id = response.get("responseId") if isinstance(response, dict) else None
    return response_id if isinstance(response_id, str) and response_id else f"{job.rpartition('/')[2]}-{number}"


def identify(row: dict | None, number: int, *, job: str) -> tuple[str, str]:
    """(custom_id, request id) of result `number`, for a row `output_line` could not convert."""
    if row is None:
        return f"line-{number}", f"{job.rpartition('/')[2]}-{number}"
    return line_custom_id(row), _request_id(row, number, job)


def row_error(status: str) -> dict:
    """A failed row's `status` (`"Bad Request: {\\"error\\": {code, message, status}}"`) as an error object
    `gemini.output_line` reads; text without Google's error JSON is kept as the message."""
    match = _ROW_STATUS.match(status)
    if match:
        try:
            body = json.loads(match[2])
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and (error.get("message") or error.get("status") or error.get("code")):
            return error
    return {"message": status}


def job_endpoint(job: dict) -> str:
    """The endpoint of a job's lines: its label, else chat (jobs made before the label, or elsewhere)."""
    label = (job.get("labels") or {}).get(JOB_LABEL_ENDPOINT)
    return next((url for url, value in ENDPOINT_LABELS.items() if value == label), endpoints.CHAT_COMPLETIONS)


def output_line(row: dict, number: int, *, job: str, model: str, created: int,
                url: str = endpoints.CHAT_COMPLETIONS) -> dict:
    """One result row (`{status, processed_time, request, response?, custom_id}`) as an OpenAI output or
    error line: `status` "" (or absent) with a `response` is a success (its body in the shape of `url`);
    a non-empty `status` an error."""
    custom_id = line_custom_id(row)
    status = row.get("status")
    if status:
        if not isinstance(status, str):
            raise TypeError(f"status {status!r} is not a string")
        line: dict = {"key": custom_id, "error": row_error(status)}
    elif isinstance(row.get("response"), dict):
        line = {"key": custom_id, "response": row["response"]}
    else:
        raise KeyError("response")
    return endpoints.output_line(line, number, url=url, batch=job, model=model, created=created)


# Jobs -> Batch


def timestamp(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp()) if value else None


def native_state(job: dict) -> str | None:
    state = job.get("state")
    return state.removeprefix(STATE_PREFIX) if isinstance(state, str) else None


def known_state(job: dict) -> bool:
    return native_state(job) in JOB_STATES


def status(job: dict) -> str:
    """The OpenAI status of a job; a state JOB_STATES lacks is `completed` once the job ended, else in_progress."""
    state = native_state(job)
    if state in JOB_STATES:
        return JOB_STATES[state]
    return "completed" if job.get("endTime") else "in_progress"


def output_directory(job: dict) -> str | None:
    """The job's own output folder (`outputInfo.gcsOutputDirectory`), once it ended with one."""
    directory = (job.get("outputInfo") or {}).get("gcsOutputDirectory")
    return directory if isinstance(directory, str) and directory and status(job) in ENDED else None


def request_counts(job: dict) -> dict:
    """§1.6: `completionStats` (int64 strings, zeros omitted, `incompleteCount` -1 when unknown) and the
    number of requests the gateway submitted (job label)."""
    stats = job.get("completionStats") or {}
    completed, failed = int(stats.get("successfulCount") or 0), int(stats.get("failedCount") or 0)
    submitted = str((job.get("labels") or {}).get(JOB_LABEL_REQUESTS, ""))
    incomplete = max(int(stats.get("incompleteCount") or 0), 0)
    total = int(submitted) if submitted.isdigit() else completed + failed + incomplete
    # An embeddings job counts texts, several per request at times: never more than the requests (a request
    # with a failed text failed; the rest, up to the total, completed).
    failed = min(failed, total)
    completed = min(completed, total - failed)
    return {"total": total, "completed": completed, "failed": failed}


def job_to_batch(job: dict, *, batch_id: str, input_file_id: str, output_file_id: str, error_file_id: str,
                 metadata: dict | None = None, cancelling_at: int | None = None) -> dict:
    """A BatchPredictionJob as an OpenAI Batch. Its output and error files exist once it ended with an output
    folder (both: only reading the rows tells whether any is an error). `cancelling_at` is set right after a
    cancel: a job still in flight is then `cancelling`."""
    state = status(job)
    if cancelling_at is not None and state in IN_FLIGHT:
        state = "cancelling"
    created = timestamp(job["createTime"])
    ended = timestamp(job.get("endTime") or job.get("updateTime"))
    batch = {
        "id": batch_id,
        "object": "batch",
        "endpoint": job_endpoint(job),
        "model": model_name(job["model"]) if job.get("model") else None,
        "errors": None,
        "input_file_id": input_file_id,
        "completion_window": "24h",
        "status": state,
        "output_file_id": None,
        "error_file_id": None,
        "created_at": created,
        "in_progress_at": timestamp(job.get("startTime")),
        "expires_at": None,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": (cancelling_at or timestamp(job.get("updateTime"))) if state == "cancelling" else None,
        "cancelled_at": None,
        "request_counts": request_counts(job),
        "usage": None,
        "metadata": metadata,
    }
    if state in END_TIME_FIELDS:
        batch[END_TIME_FIELDS[state]] = ended
    if output_directory(job):
        batch["output_file_id"], batch["error_file_id"] = output_file_id, error_file_id
    error = job.get("error")
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        code = error.get("code")
        name = gemini.RPC_CODE_NAMES.get(code, str(code)) if isinstance(code, int) else None
        batch["errors"] = {"object": "list", "data": [
            {"code": name, "message": error.get("message"), "param": None, "line": None}]}
    return batch


def job_id(name: str) -> str:
    return name.rpartition("/")[2]


# Objects -> FileObject


def file_object(obj: dict, *, file_id: str) -> dict:
    """A Cloud Storage object as an OpenAI FileObject (its custom metadata keeps the upload's filename and
    purpose; an object made elsewhere is `batch` when it is JSONL)."""
    meta = obj.get("metadata") or {}
    name = obj["name"]
    purpose = meta.get("purpose")
    if purpose not in PURPOSES:
        purpose = "batch" if name.endswith(".jsonl") else "user_data"
    return {
        "id": file_id,
        "object": "file",
        "bytes": int(obj.get("size") or 0),
        "created_at": timestamp(obj["timeCreated"]),
        "filename": meta.get("filename") or upload_filename(name),
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def results_file_object(job: dict, *, file_id: str, kind: str, size: int) -> dict:
    """The FileObject of a job's output (`kind` "output") or error ("errors") file; `size` is the size of
    Vertex's own rows (the converted file's is not known without converting it)."""
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": timestamp(job.get("endTime") or job.get("updateTime") or job["createTime"]),
        "filename": f"batch_{job_id(job['name'])}_{kind}.jsonl",
        "purpose": "batch_output",
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
