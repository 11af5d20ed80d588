"""Schemathesis fuzzes the app in-process (WSGI) against its own /openapi.json, with every built-in
provider's fake behind it: OpenAI, Anthropic, Gemini, Azure OpenAI and Vertex AI's jobs on `responses`,
Bedrock's control plane on loopback over a moto S3, Vertex AI's Cloud Storage on its emulator. Every
answer must match the description (status, content type, headers, body) and none may be a 5xx; what
the description calls invalid must be refused, what it calls valid accepted.

Bounded and deterministic (the same cases every run): `test_coverage` walks each operation's
parameters once (schemathesis' coverage phase: boundaries, missing and wrong-typed values, every enum
value, undocumented methods), then one run per provider takes the description's examples (real
uploads and batches) and `MAX_EXAMPLES` generated cases per operation, with the IDs of a file, a batch
and its result files made on that provider beforehand among the IDs it tries. It runs as its own step
(`make fuzz`, part of `make test`); `pytest -m fuzz` runs it alone.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from blueprints import registry
from blueprints.common.provider import GATEWAY_FIELDS
from blueprints.docs.openapi import BATCH_EXAMPLES, UPLOAD_EXAMPLES
from tests.fakes import bedrock as bedrock_fake
from tests.fakes import vertex as vertex_fakes
from tests.fakes.anthropic import anthropic_fakes
from tests.fakes.azure import FakeAzure
from tests.fakes.gemini import checked_fakes
from tests.fakes.openai import FakeOpenAI

pytestmark = pytest.mark.fuzz


GATEWAY_KEY = "sk-gateway-fuzz"
PROVIDER_KEY = "sk-test-key"
AUTH = {"Authorization": f"Bearer {GATEWAY_KEY}"}
MAX_EXAMPLES = 15  # generated cases per operation and provider, beside the examples and the coverage walk


@pytest.fixture
def test_config(test_config):
    """Gateway-key mode, so the description's `bearer` requirement holds for every provider."""
    return {**test_config, "API_KEYS": [GATEWAY_KEY], "OPENAI_API_KEY": PROVIDER_KEY,
            "ANTHROPIC_API_KEY": PROVIDER_KEY, "GEMINI_API_KEY": PROVIDER_KEY,
            "BEDROCK_REGION": bedrock_fake.REGION, "BEDROCK_MIN_RECORDS": 2,
            "BEDROCK_ROLE_ARN": "arn:aws:iam::123456789012:role/BedrockBatch",
            "BEDROCK_DEFAULT_BUCKET": bedrock_fake.BUCKET, "AZURE_OPENAI_API_KEY": PROVIDER_KEY,
            "UPSTREAM_RETRIES": 0}  # the fakes answer at once; a retried failure would only cost time


@pytest.fixture
def providers(vertex_app, gcs, bedrock_fake, rsps, monkeypatch, tmp_path):  # the emulator before `rsps`
    """Every provider's fake; each fails the test at teardown if the gateway sent it something off spec.
    Vertex AI gets its token from Application Default Credentials (a service account file), as in
    gateway-key mode in production."""
    openai = FakeOpenAI()
    openai.register(rsps)
    azure = FakeAzure().register(rsps)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", vertex_fakes.service_account_file(tmp_path))
    vertex = vertex_fakes.FakeVertex(gcs, token=vertex_fakes.ADC_TOKEN, polls_until_done=1).register(rsps)
    gcs.create_bucket(UPLOAD_EXAMPLES["vertex"]["value"]["storage_config[gcs][bucket]"])  # the examples' bucket
    with anthropic_fakes(rsps) as make_anthropic:
        make_anthropic(api_key=PROVIDER_KEY, polls_until_ended=1)
        gemini = checked_fakes(rsps)
        next(gemini)(api_key=PROVIDER_KEY, polls_until_done=1)
        yield
        next(gemini, None)
    assert [v for v in openai.violations if not _sdk_inconsistency(v)] == []
    assert azure.violations == []
    vertex.assert_no_violations()


def _sdk_inconsistency(violation: str) -> bool:
    """openai's FileCreateParams takes purpose `evals` but its FileObject does not list it: the fake,
    answering with the purpose it was given as OpenAI does, then flags its own reply."""
    return "validation error for FileObject" in violation and "input_value='evals'" in violation


# What the checks may not hold the description to, and why
OPERATIONS = [
    # A valid upload or create can still be refused with a 400: a batch file's lines and inline
    # `requests` are checked against each provider's own request rules, which no schema states.
    {"include-operation-id": ["createFile", "createBatch"],
     "checks": {"positive_data_acceptance": {"enabled": False}}},
    # An `after` cursor the provider does not know is the provider's 400; what an object's state
    # forbids (cancelling an ended batch, deleting a batch's result file) is a 400 too, not a 409
    # (the SDK would retry a 409).
    {"include-operation-id": ["listFiles", "listBatches", "deleteFile", "cancelBatch"],
     "checks": {"positive_data_acceptance": {"expected-statuses": [
         "2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]}}},
    # IDs are `<path:>` (a native ID may hold `/`), so `/batches/{id}/cancel` is also
    # `/batches/{id}` with the ID `{id}/cancel`: OPTIONS there lists GET as well.
    {"include-operation-id": ["downloadFile", "cancelBatch"],
     "checks": {"allow_header_conformance": {"enabled": False}}},
]


def _config(phases: dict) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "auth": {"openapi": {"bearer": {"bearer": GATEWAY_KEY}}},
        "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES, "database": "none"},
        "phases": phases,
        "operations": OPERATIONS,
    })


COVERAGE = _config({"examples": {"enabled": False}, "fuzzing": {"enabled": False}})
FUZZING = _config({"coverage": {"enabled": False}})


@pytest.fixture
def described(app, providers):
    """The app as its description says it is, for the coverage walk."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=COVERAGE)


@pytest.fixture
def described_on(request, app, providers):
    """The app for one provider's run: the IDs of objects made there are among the IDs generated."""
    provider = request.function.provider
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=FUZZING)
    made = _made_on(app.test_client(), provider)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        for name in ("file_id", "batch_id"):
            if name in (path_parameters or {}):
                return st.sampled_from([path_parameters, *({**path_parameters, name: value} for value in made[name])])
        return st.just(path_parameters)

    return schema


def _made_on(client, provider: str) -> dict[str, list[str]]:
    """A file and a batch on `provider`, the batch run to its end: their IDs, and its result files'."""
    form = dict(UPLOAD_EXAMPLES[provider]["value"])
    form["file"] = (io.BytesIO(form.pop("file").encode()), "batch.jsonl")
    uploaded = client.post("/openai/v1/files", data=form, headers=AUTH)
    assert uploaded.status_code == 200, uploaded.json
    body = dict(BATCH_EXAMPLES[provider]["value"])
    if body["input_file_id"]:  # a file-based batch (else inline requests)
        body["input_file_id"] = uploaded.json["id"]
    batch = client.post("/openai/v1/batches", json=body, headers=AUTH)
    assert batch.status_code == 200, batch.json
    for _ in range(10):
        batch = client.get(f"/openai/v1/batches/{batch.json['id']}", headers=AUTH)
        if batch.json["status"] == "completed":
            break
    results = [batch.json[name] for name in ("output_file_id", "error_file_id") if batch.json[name]]
    return {"file_id": [uploaded.json["id"], *results], "batch_id": [batch.json["id"]]}


def _on(case, provider: str) -> None:
    """Send a case to `provider` unless it names one itself (in the body for creates, as the SDK does).

    A valid case keeps a field in one place only, and only the gateway fields its provider takes: the
    description says a field given in the query and the body must agree, and which provider takes
    which gateway field, neither of which JSON Schema can express, so the generator does not know them.
    """
    if not case.operation.path.startswith("/openai/"):
        return
    if case.meta.generation.mode.is_positive and isinstance(case.body, dict):
        in_query = {key.partition("[")[0] for key in case.query or {}}  # deepObject keys may come flattened
        for name in in_query & case.body.keys():
            del case.body[name]
    named = _named(case)
    if named is _UNNAMED:
        creates = case.operation.definition.raw.get("operationId") in ("createFile", "createBatch")
        if creates and isinstance(case.body, dict):
            case.body["provider"] = provider
        else:
            case.query = {**(case.query or {}), "provider": provider}
        named = provider
    if case.meta.generation.mode.is_positive and isinstance(named, str) and named in registry.PROVIDERS:
        _keep_to(case, registry.get(named))
        _served_by(case, registry.get(named))


_UNNAMED = object()


def _named(case) -> object:
    """The provider a case names (a `null` or empty one is the default), or `_UNNAMED`."""
    for place in (case.query, case.body):
        if isinstance(place, dict) and "provider" in place:
            return place["provider"] if place["provider"] not in (None, "") else registry.DEFAULT
    return _UNNAMED


def _keep_to(case, provider) -> None:
    """Skip a valid case that gives `provider` a gateway field it does not take (a 400 by design).

    Skipped, not edited: schemathesis re-judges an edited case against the description, and cannot
    judge a multipart body holding a file, so an edited upload would count as invalid data.
    """
    foreign = GATEWAY_FIELDS - provider.options
    storage = STORAGE_KINDS.get(provider.name)  # the one storage_config kind it takes (the other: a 400)
    for values in (case.query, case.body):
        if isinstance(values, dict):
            assume(not any(key.partition("[")[0] in foreign for key in values))
            if storage:
                kinds = {key.split("[")[1].rstrip("]") for key in values if key.startswith("storage_config[")}
                if isinstance(values.get("storage_config"), dict):
                    kinds |= set(values["storage_config"])
                assume(kinds <= {storage})


STORAGE_KINDS = {"bedrock": "s3", "vertex": "gcs"}


def _served_by(case, provider) -> None:
    """Skip a valid Uploads case for a provider without an Uploads API, or for a purpose or file expiry its
    files never have (a 400 by design, which the description says but JSON Schema cannot)."""
    if not case.operation.path.startswith(("/openai/v1/uploads", "/openai/uploads")):
        return
    operations = provider.upload_operations
    assume(operations is not None)
    purposes = getattr(operations, "purposes", None)  # those the gateway assembles: what their files take
    if provider.name == "bedrock":
        purposes = ("batch",)
    if purposes is not None and isinstance(case.body, dict) and "purpose" in case.body:
        assume(case.body["purpose"] in purposes)  # Anthropic, Bedrock, chat servers: batch only; Gemini, Vertex: all
    if provider.name in ("vertex", "bedrock") and isinstance(case.body, dict):
        assume(case.body.get("expires_after") is None)  # S3/GCS objects do not expire (a 400, as for files)


BOUNDS = settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)

coverage_schema = schemathesis.pytest.from_fixture("described")
provider_schema = schemathesis.pytest.from_fixture("described_on")


@coverage_schema.parametrize()
@BOUNDS
def test_coverage(case):
    _on(case, "openai")  # the walk itself tries every provider value where a case names one
    case.call_and_validate()


def _fuzz_on(provider: str):
    @provider_schema.parametrize()
    @BOUNDS
    def test(case):
        _on(case, provider)
        case.call_and_validate()

    test.provider = provider
    return test


test_openai = _fuzz_on("openai")
test_anthropic = _fuzz_on("anthropic")
test_gemini = _fuzz_on("gemini")
test_bedrock = _fuzz_on("bedrock")
test_vertex = _fuzz_on("vertex")
test_azure = _fuzz_on("azure")
