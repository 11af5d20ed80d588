"""The provider contract's lifecycle (tests/fakes/contract.py) through the `<name>_contract` fixtures of
Azure and of a declared OpenAI-compatible host, with the real SDK in strict mode: what
tests/test_provider_contract.py runs over every provider, checked here for these two fixtures."""

from __future__ import annotations

import json

import openai
import pytest

from blueprints import registry
from blueprints.common.provider import GATEWAY_FIELDS
from tests.fakes import azure as azure_fakes
from tests.fakes import compatible as compatible_fakes
from tests.fakes.contract import ContractFake

azure_fake, azure_contract = azure_fakes.azure_fake, azure_fakes.azure_contract
compatible_contract = compatible_fakes.compatible_contract


@pytest.fixture(params=["azure", "compatible"])
def contract(request) -> ContractFake:
    return request.getfixturevalue(f"{request.param}_contract")


def _jsonl(fake: ContractFake) -> bytes:
    return "".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": fake.model, "messages": [{"role": "user", "content": f"question {n}"}], "max_tokens": 10}}) + "\n"
        for n in range(1, max(fake.min_lines, 2) + 1)).encode()


def _lines(sdk, file_id: str, query: dict) -> list[dict]:
    return [json.loads(line) for line in sdk.files.content(file_id, extra_query=query).read().decode().splitlines()]


def test_the_contract_lifecycle(sdk, contract):
    named = {"provider": contract.provider}
    query = {**named, **contract.query}
    content = _jsonl(contract)
    uploaded = sdk.files.create(file=("contract.jsonl", content, "application/jsonl"), purpose="batch",
                                extra_body={**named, **contract.upload_body})
    assert uploaded.id in [f.id for f in sdk.files.list(extra_query=query)]
    assert sdk.files.retrieve(uploaded.id, extra_query=query).id == uploaded.id
    if contract.gives_back_uploads:
        assert sdk.files.content(uploaded.id, extra_query=query).read() == content

    contract.script.next_batch_has_an_unconvertible_line("req-2")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**named, **contract.create_body})
    contract.script.finish(batch.id)
    batch = sdk.batches.retrieve(batch.id, extra_query=query)
    assert batch.status == "completed" and batch.output_file_id and batch.error_file_id
    assert [line["custom_id"] for line in _lines(sdk, batch.output_file_id, query)] == ["req-1"]
    (error,) = _lines(sdk, batch.error_file_id, query)
    assert error["custom_id"] == "req-2"
    assert error["response"]["body"]["error"]["code"] == "unconvertible_result"

    foreign = sorted(GATEWAY_FIELDS - registry.get(contract.provider).options - {"requests"})[0]
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.retrieve(batch.id, extra_query={**query, foreign: "x"})
    assert caught.value.status_code == 400 and caught.value.code == "unsupported_parameter"

    other = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={**named, **contract.create_body})
    assert sdk.batches.cancel(other.id, extra_body=query).status in ("cancelling", "cancelled")
    if contract.can_delete_uploads:
        assert sdk.files.delete(uploaded.id, extra_query=query).deleted is True
