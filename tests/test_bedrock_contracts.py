"""The contracts the Bedrock provider is held to: AWS error statuses as botocore declares them, the
botocore shape validator itself, and the fake refusing what the official definitions refuse."""

from __future__ import annotations

import json
import os

import pytest
import requests
from botocore.exceptions import ClientError

from blueprints.common import aws
from tests.contracts import botocore_shapes as shapes
from tests.fakes.bedrock import BUCKET


@pytest.fixture
def s3(bedrock_s3):
    return bedrock_s3


@pytest.fixture
def fake(bedrock_fake):
    return bedrock_fake

ROLE = "arn:aws:iam::123456789012:role/r"
SERVICES = ("bedrock", "bedrock-runtime", "s3")
# Where AWS_STATUS deliberately differs from botocore's httpStatusCode, and why.
DELIBERATE = {
    # The provider failed: the gateway answers 502 for any upstream 5xx (README "Errors").
    "InternalServerException": 502,
    "ServiceUnavailableException": 502,
}
# Codes AWS sends that botocore's models do not declare, with the status AWS documents for them.
NOT_MODELLED = {
    "InvalidArgument": 400,  # S3 error-code list: 400 Bad Request
    "InvalidBucketName": 400,  # S3 error-code list: 400 Bad Request
    "404": 404,  # HEAD of a missing object: no body, botocore names the error by its status
    "NotFound": 404,  # HEAD of a missing bucket
    "SlowDown": 429,  # S3 error-code list: 503 "Please reduce your request rate"; a rate limit, so 429
}


def declared_statuses() -> dict[str, set[int]]:
    declared: dict[str, set[int]] = {}
    for service in SERVICES:
        for code, status in shapes.exception_statuses(service).items():
            declared.setdefault(code, set()).add(status)
    return declared


@pytest.mark.parametrize("code", sorted(aws.AWS_STATUS))
def test_aws_status_agrees_with_botocore(code):
    declared = declared_statuses()
    status = aws.AWS_STATUS[code]
    if code in DELIBERATE:
        assert status == DELIBERATE[code] and declared[code] and all(s >= 500 for s in declared[code])
    elif code in declared:
        assert declared[code] == {status}, f"{code}: botocore declares {declared[code]}, AWS_STATUS has {status}"
    else:
        assert NOT_MODELLED.get(code) == status, f"{code} is in no botocore model; list it in NOT_MODELLED"


def test_every_error_bedrock_job_calls_declare_is_a_final_status():
    """No error of the calls the gateway makes leads the SDK to retry a create that cannot succeed."""
    for operation in ("CreateModelInvocationJob", "GetModelInvocationJob", "ListModelInvocationJobs",
                      "StopModelInvocationJob", "ListTagsForResource"):
        for code, declared in shapes.error_codes("bedrock", operation).items():
            ours = aws.aws_error(ClientError({"Error": {"Code": code, "Message": "m"},
                                              "ResponseMetadata": {"HTTPStatusCode": declared}}, operation),
                                 creates=operation.startswith("Create"))
            if declared == 429:
                assert ours.status == 429
            elif declared >= 500:
                assert ours.status == 502
            else:
                assert ours.status == declared and ours.status not in (409, 429)


def test_service_quota_exceeded_is_400_not_retried():
    error = aws.aws_error(ClientError({"Error": {"Code": "ServiceQuotaExceededException", "Message": "quota"},
                                       "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateModelInvocationJob"),
                          creates=True)
    assert error.status == 400 and error.code == "ServiceQuotaExceededException"


# The validator


TAG_OK = {"key": "ds-meta:k", "value": "v"}


@pytest.mark.parametrize("value, fragment", [
    ({"jobName": "ok"}, "required"),
    ({"jobName": "bad_name", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}}, "pattern"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/a+b.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}}, "S3Uri pattern"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}, "timeoutDurationInHours": 12},
     "minimum 24"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}, "modelInvocationType": "Chat"},
     "not one of"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}, "tags": [TAG_OK] * 201},
     "at most 200"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {}, "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}},
     "exactly one member"),
    ({"jobName": "ok", "roleArn": "arn:aws:iam::123456789012:role/r", "modelId": "amazon.nova-lite-v1:0",
      "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
      "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}, "extra": 1}, "not a member"),
])
def test_validator_finds_what_bedrock_refuses(value, fragment):
    found = shapes.violations("bedrock", "CreateModelInvocationJobRequest", value)
    assert any(fragment in problem for problem in found), found


@pytest.mark.parametrize("value, fragment", [
    ({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": "!!"}}}]}]},
     "not base64"),
    ({"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": ""}}}]}]},
     "at least 1"),
    ({"messages": [{"role": "user", "content": [{"text": "a", "image": {}}]}]}, "exactly one member"),
    ({"messages": [{"role": "user", "content": [{"text": None}]}]}, "null"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"temperature": 1.5}},
     "maximum 1"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}], "inferenceConfig": {"maxTokens": True}},
     "not an integer"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}], "system": [{"text": ""}]}, "at least 1"),
])
def test_validator_on_converse_requests(value, fragment):
    found = shapes.violations("bedrock-runtime", "ConverseRequest", {**value, "modelId": "amazon.nova-lite-v1:0"})
    assert any(fragment in problem for problem in found), found


def test_validator_accepts_documents_and_timestamps():
    assert shapes.violations("bedrock-runtime", "ToolInputSchema", {"json": {"a": [1, None, {"b": 2.5}]}}) == []
    summary = {"jobArn": "arn:aws:bedrock:us-west-2:123456789012:model-invocation-job/abc123def456",
               "jobName": "ds-x", "modelId": "amazon.nova-lite-v1:0", "roleArn": "arn:aws:iam::123456789012:role/r",
               "submitTime": "2026-01-01T00:00:00.000Z",
               "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://bkt/in.jsonl"}},
               "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bkt/out/"}}}
    assert shapes.violations("bedrock", "ModelInvocationJobSummary", summary) == []
    assert shapes.violations("bedrock", "ModelInvocationJobSummary", {**summary, "submitTime": "yesterday"})


def test_query_params_are_typed_from_their_shapes():
    params, found = shapes.request_params("bedrock", "ListModelInvocationJobs",
                                          query={"maxResults": ["10"], "sortOrder": ["Descending"]})
    assert params == {"maxResults": 10, "sortOrder": "Descending"} and found == []
    _, found = shapes.request_params("bedrock", "ListModelInvocationJobs", query={"pageSize": ["10"]})
    assert found == ["query parameter 'pageSize' is not in ListModelInvocationJobsRequest"]


# The fake refuses what the official definitions refuse, as Bedrock would, and says so


def test_fake_answers_a_bad_request_with_validation_exception(fake):
    url = os.environ["AWS_ENDPOINT_URL_BEDROCK"]
    reply = requests.post(f"{url}/model-invocation-job", json={"jobName": "bad_name"}, timeout=5)
    assert reply.status_code == 400 and reply.headers["x-amzn-ErrorType"] == "ValidationException"
    assert fake.violations and "required" in fake.violations[0]
    fake.violations.clear()  # provoked on purpose
    reply = requests.get(f"{url}/model-invocation-jobs", params={"maxResults": "5000"}, timeout=5)
    assert reply.status_code == 400 and "maximum 1000" in reply.json()["message"]
    fake.violations.clear()


def test_fake_fails_records_the_types_refuse(fake, s3):
    records = [
        {"recordId": "R0000000001", "modelInput": {"messages": [{"role": "user", "content": [{"text": "ok"}]}]}},
        {"recordId": "R0000000002", "modelInput": {"messages": [{"role": "user", "content": [{"txt": "typo"}]}]}},
        {"recordId": "R0000000003", "modelInput": {"modelId": "x", "messages": []}},
    ]
    s3.put_object(Bucket=BUCKET, Key="in/records.jsonl", Body="".join(json.dumps(r) + "\n" for r in records))
    job = fake.create({"jobName": "j1", "roleArn": ROLE, "modelId": "amazon.nova-lite-v1:0",
                       "modelInvocationType": "Converse",
                       "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/records.jsonl"}},
                       "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}}})
    while fake.get({"jobIdentifier": job["jobArn"]})["status"] != "Completed":
        pass
    out = [json.loads(line) for line in s3.get_object(
        Bucket=BUCKET, Key=f"out/{job['jobArn'][-12:]}/records.jsonl.out")["Body"].iter_lines()]
    assert ["modelOutput" in r for r in out] == [True, False, False]
    assert "txt" in out[1]["error"]["errorMessage"] and "modelId" in out[2]["error"]["errorMessage"]
    assert len(fake.violations) == 2
    fake.violations.clear()


@pytest.mark.parametrize("record_id", ["r1", "R-000000001", "R00000000001"])
def test_fake_fails_a_job_whose_record_ids_break_the_strictest_reading(fake, s3, record_id):
    record = {"recordId": record_id, "modelInput": {"messages": [{"role": "user", "content": [{"text": "x"}]}]}}
    s3.put_object(Bucket=BUCKET, Key="in/r.jsonl", Body=(json.dumps(record) + "\n") * 2)
    job = fake.create({"jobName": "j2", "roleArn": ROLE, "modelId": "amazon.nova-lite-v1:0",
                       "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/r.jsonl"}},
                       "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}}})
    fake.get({"jobIdentifier": job["jobArn"]})
    described = fake.get({"jobIdentifier": job["jobArn"]})
    assert described["status"] == "Failed" and "11 character" in described["message"]
    assert fake.violations
    fake.violations.clear()
