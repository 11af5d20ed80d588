"""The provider contract: one lifecycle and the same checks for every provider the registry lists.

Through the real OpenAI SDK (strict validation) against the gateway, with each provider's fake
behind it (its `<provider>_contract` fixture, tests/fakes/contract.py): every operation's reply is a
valid OpenAI object, a gateway option the provider does not take is refused the same way, a
result line the gateway cannot convert comes out in the error file with its custom_id, and a batch
created with `webhook_url` gets its end posted once. A provider
added to the registry is covered without edits here; so is the OpenAI-compatible host that
tests/fakes/compatible.py declares, standing for every host declared by configuration.
"""

from __future__ import annotations

import json
import time

import openai
import pytest

from blueprints import registry
from blueprints.common.provider import GATEWAY_FIELDS
from blueprints.gateway import queue as gateway_queue
from blueprints.webhooks import watches
from tests.fakes import compatible as compatible_fakes
from tests.fakes.compatible import compatible_contract  # noqa: F401 (the declared host's fixture)
from tests.fakes.contract import ContractFake
from tests.gateway.webhook_receiver import SECRET

MAX_POLLS = 20
TERMINAL = ("completed", "failed", "expired", "cancelled")
# A valid-looking value for each gateway-only field, so a refusal is about the field, not its value.
FOREIGN_VALUES = {
    "storage_config": {"s3": {"bucket": "some-bucket", "region": "us-west-2"}},
    "model": "some-model",
    "output_s3_uri": "s3://some-bucket/out/",
    "role_arn": "arn:aws:iam::123456789012:role/Batch",
    "requests": [{"custom_id": "a", "params": {"model": "m", "max_tokens": 1, "messages": []}}],
    "execution": "gateway",
}
CREATE_ONLY = {"requests", "execution"}


@pytest.fixture(params=[*sorted(registry.PROVIDERS), compatible_fakes.NAME])
def contract(request) -> ContractFake:
    """Each registered provider, and a host declared by configuration (declared by its fixture)."""
    return request.getfixturevalue(f"{request.param}_contract")


def _jsonl(contract: ContractFake, custom_ids: list[str]) -> bytes:
    return "".join(json.dumps({
        "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": contract.model, "max_tokens": 50,
                 "messages": [{"role": "user", "content": f"question for {custom_id}"}]},
    }) + "\n" for custom_id in custom_ids).encode()


def _upload(sdk, contract: ContractFake, custom_ids: list[str]):
    return sdk.files.create(file=("contract.jsonl", _jsonl(contract, custom_ids), "application/jsonl"),
                            purpose="batch", extra_body={"provider": contract.provider, **contract.upload_body})


def _create(sdk, contract: ContractFake, file_id: str):
    return sdk.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                              extra_body={"provider": contract.provider, **contract.create_body})


def _finished(sdk, contract: ContractFake, batch):
    query = {"provider": contract.provider, **contract.query}
    for _ in range(MAX_POLLS):
        if batch.status in TERMINAL:
            return batch
        contract.script.finish(batch.id)
        batch = sdk.batches.retrieve(batch.id, extra_query=query)
    pytest.fail(f"{contract.provider}: batch still {batch.status} after {MAX_POLLS} polls")


def _lines(sdk, contract: ContractFake, file_id: str | None) -> list[dict]:
    if not file_id:
        return []
    query = {"provider": contract.provider, **contract.query}
    return [json.loads(line) for line in sdk.files.content(file_id, extra_query=query).read().splitlines() if line]


def test_the_whole_lifecycle_answers_openai_objects(sdk, contract):
    custom_ids = [f"contract-{n}" for n in range(max(contract.min_lines, 2))]
    query = {"provider": contract.provider, **contract.query}
    uploaded = _upload(sdk, contract, custom_ids)  # the SDK (strict) validated each reply below
    assert uploaded.purpose == "batch" and uploaded.id
    assert uploaded.id in [f.id for f in sdk.files.list(extra_query=query).data]
    assert sdk.files.retrieve(uploaded.id, extra_query=query).id == uploaded.id
    if contract.gives_back_uploads:
        assert sdk.files.content(uploaded.id, extra_query=query).read() == _jsonl(contract, custom_ids)

    batch = _create(sdk, contract, uploaded.id)
    assert sdk.batches.retrieve(batch.id, extra_query=query).id == batch.id
    listed = [b.id for b in sdk.batches.list(extra_query=query).data]
    assert batch.id in listed if contract.lists_batches_by_their_ids else listed
    batch = _finished(sdk, contract, batch)
    assert batch.status == "completed"
    output = _lines(sdk, contract, batch.output_file_id)
    assert sorted(line["custom_id"] for line in output) == sorted(custom_ids)
    for line in output:
        assert line["response"]["status_code"] == 200 and line["error"] is None
        assert line["response"]["body"]["object"] == "chat.completion"

    if contract.can_delete_uploads:
        assert sdk.files.delete(uploaded.id, extra_query=query).deleted is True


def test_cancel_answers_a_batch(sdk, contract):
    batch = _create(sdk, contract, _upload(sdk, contract, ["cancel-1", "cancel-2"]).id)
    cancelled = sdk.batches.cancel(batch.id, extra_body={"provider": contract.provider, **contract.query})
    assert cancelled.id == batch.id and cancelled.status in ("cancelling", "cancelled")


def test_an_unconvertible_result_line_goes_to_the_error_file_with_its_custom_id(sdk, contract):
    if not contract.converts_results:
        pytest.skip(f"{contract.provider}'s result files are its own, relayed as they are")
    custom_ids = ["plain-1", "plain-2", "odd-one"]
    contract.script.next_batch_has_an_unconvertible_line("odd-one")
    batch = _finished(sdk, contract, _create(sdk, contract, _upload(sdk, contract, custom_ids).id))
    output, errors = _lines(sdk, contract, batch.output_file_id), _lines(sdk, contract, batch.error_file_id)
    assert sorted(line["custom_id"] for line in output + errors) == sorted(custom_ids)  # each exactly once
    (odd,) = [line for line in errors if line["custom_id"] == "odd-one"]
    assert odd["response"]["status_code"] == 502
    assert odd["response"]["body"]["error"]["code"] == "unconvertible_result"
    assert odd["response"]["body"]["provider_result"]


@pytest.mark.parametrize("field", sorted(GATEWAY_FIELDS))
def test_a_foreign_gateway_option_is_refused_the_same_way(sdk, contract, field):
    if field in registry.get(contract.provider).options:
        pytest.skip(f"{contract.provider} takes {field}")
    extra = {"provider": contract.provider, field: FOREIGN_VALUES[field]}
    refusals = []
    if field not in CREATE_ONLY:  # (`requests` is a list of objects, which no form can carry)
        with pytest.raises(openai.BadRequestError) as upload:
            sdk.files.create(file=("x.jsonl", _jsonl(contract, ["a", "b"])), purpose="batch", extra_body=extra)
        refusals.append(upload)
    with pytest.raises(openai.BadRequestError) as create:
        sdk.batches.create(input_file_id="file-x", endpoint="/v1/chat/completions", completion_window="24h",
                           extra_body=extra)
    refusals.append(create)
    for caught in refusals:
        error = caught.value
        assert (error.status_code, error.code, error.param) == (400, "unsupported_parameter", field)
        assert error.body["message"] == f"{field} is not used by provider {contract.provider}."


def test_a_webhook_is_posted_once_when_the_batch_ends(sdk, contract, app, rsps, receiver, monkeypatch):
    """Every provider takes `webhook_url`: the worker's sweep looks at the batch (with the client's key)
    until it has ended, then posts the event, which the SDK's `webhooks.unwrap` verifies."""
    app.config.update(WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_LOCAL=True)
    rsps.add_passthru("http://127.0.0.1")  # the receiver (webhooks are posted with requests)
    gateway_queue.bind(app)
    huey = gateway_queue.queue_for(app.config["QUEUE"]).huey
    monkeypatch.setattr(huey, "immediate", True)  # the sweep's tasks run as they are queued
    custom_ids = [f"hook-{n}" for n in range(max(contract.min_lines, 2))]
    batch = sdk.batches.create(input_file_id=_upload(sdk, contract, custom_ids).id, endpoint="/v1/chat/completions",
                               completion_window="24h", extra_body={"provider": contract.provider,
                                                                    **contract.create_body,
                                                                    "webhook_url": receiver.url})
    contract.script.finish(batch.id)
    t = time.time()
    for _ in range(MAX_POLLS):
        if receiver.posts:
            break
        t += 61
        monkeypatch.setattr(watches, "now", lambda t=t: t)
        with app.app_context():
            watches.sweep()
    ((event, raw),) = receiver.events()
    assert event.type == "batch.completed" and event.data.id == batch.id
    carried = openai.types.Batch.model_validate(raw["data"]["batch"])
    assert carried.id == batch.id and carried.status == "completed" and carried.output_file_id
    with app.app_context():  # once delivered, nothing more is sent
        monkeypatch.setattr(watches, "now", lambda: t + 86400)
        assert watches.sweep() == 0
    assert len(receiver.posts) == 1
