"""`?provider=all` lists end to end: the real `openai` SDK (strict validation) against the gateway with
the fakes of OpenAI, Anthropic, Gemini and Bedrock behind it (their provider-contract fixtures).

Auto-pagination with a small limit visits every provider's items (and the gateway-run batches)
exactly once, newest first; a provider that fails is named in `provider_errors` while the others
page on; in passthrough each provider's key comes from its own header, never from the bearer.
"""

from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest
from openai import OpenAI

from blueprints.crosslist import listing
from errors import UpstreamError
from tests.fakes import bedrock as bedrock_fakes
from tests.fakes.contract import ContractFake
from translators import listmerge

ALL = {"provider": "all"}
KEY = "sk-test-key"  # what each fake takes (and, in passthrough, the SDK's bearer for single-provider calls)
MAIN = ("openai", "anthropic", "gemini", "bedrock")


@pytest.fixture
def test_config(test_config):
    # Azure OpenAI and Vertex AI are not in use here: their fakes are not behind this gateway.
    return {**test_config, "AZURE_OPENAI_ENDPOINT": "", "VERTEX_PROJECT": ""}


@pytest.fixture
def fakes(bedrock_contract, openai_contract, anthropic_contract, gemini_contract, app) -> dict[str, ContractFake]:
    """The four fakes (Bedrock's first: its moto reset must come before `responses` is on)."""
    app.config.update(BEDROCK_DEFAULT_BUCKET=bedrock_fakes.BUCKET, BEDROCK_DEFAULT_PREFIX="contract")
    return {fake.provider: fake for fake in (openai_contract, anthropic_contract, gemini_contract, bedrock_contract)}


def _sdk(gateway: str, api_key: str = KEY, headers: dict | None = None) -> OpenAI:
    return OpenAI(base_url=f"{gateway}/openai", api_key=api_key, max_retries=0, timeout=30,
                  http_client=httpx.Client(), default_headers=headers, _strict_response_validation=True)


def _upload(sdk, fake: ContractFake, name: str):
    content = "".join(json.dumps({
        "custom_id": f"{name}-{n}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": fake.model, "max_tokens": 20, "messages": [{"role": "user", "content": f"q {n}"}]},
    }) + "\n" for n in range(2)).encode()
    return sdk.files.create(file=(f"{name}.jsonl", content, "application/jsonl"), purpose="batch",
                            extra_body={"provider": fake.provider, **fake.upload_body})


def _create(sdk, fake: ContractFake, file_id: str, **extra):
    return sdk.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h",
                              extra_body={"provider": fake.provider, **fake.create_body, **extra})


def _make(sdk, fakes: dict[str, ContractFake], per_provider: int = 2) -> None:
    for number in range(per_provider):
        for fake in fakes.values():
            _create(sdk, fake, _upload(sdk, fake, f"{fake.provider}-{number}").id)
    if "openai" not in fakes:
        return
    gateway_run = _upload(sdk, fakes["openai"], "gateway-run")
    _create(sdk, fakes["openai"], gateway_run.id, execution="gateway")  # run by the gateway: listed too


def _alone(sdk, resource, fakes: dict[str, ContractFake]) -> list:
    """Every provider's items as its own list gives them (the single-provider list the gateway had)."""
    return [item for fake in fakes.values()
            for item in resource.list(extra_query={"provider": fake.provider, **fake.query})]


def _newest_first(items: list) -> list[str]:
    return [item.id for item in sorted(items, key=lambda item: listmerge.place(item.to_dict()))]


def _paged(resource, limit: int) -> tuple[list, list]:
    """Every page of the all-providers list (the SDK's auto-pagination), and each page's provider_errors."""
    pages = [resource.list(limit=limit, extra_query=ALL)]
    while pages[-1].has_next_page():
        pages.append(pages[-1].get_next_page())
    return pages, [page.provider_errors for page in pages]


def test_batches_of_every_provider_page_once_newest_first(gateway, fakes, app):
    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY)
    sdk = _sdk(gateway)
    _make(sdk, fakes)
    expected = _alone(sdk, sdk.batches, fakes)
    assert len(expected) == 9  # two a provider, and the gateway-run one

    visited = [batch.id for batch in sdk.batches.list(limit=2, extra_query=ALL)]  # auto-pagination
    assert visited == _newest_first(expected)  # each once, newest first, ties by ID

    pages, errors = _paged(sdk.batches, 2)
    assert [len(page.data) for page in pages] == [2, 2, 2, 2, 1]
    assert all(found == [] for found in errors)
    assert pages[0].first_id == pages[0].data[0].id and pages[0].last_id == pages[0].data[-1].id
    assert {batch.id for page in pages for batch in page.data} == {b.id for b in expected}
    for batch in pages[0].data:  # each keeps its own ID, retrievable as before
        assert sdk.batches.retrieve(batch.id).id == batch.id
    assert len(sdk.batches.list(limit=100, extra_query=ALL).data) == 9


def test_a_failing_provider_is_named_while_the_others_page_on(gateway, fakes, app):
    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY)
    sdk = _sdk(gateway)
    _make(sdk, fakes, per_provider=1)
    working = {name: fake for name, fake in fakes.items() if name != "gemini"}
    expected = _alone(sdk, sdk.batches, working)

    app.config.update(GEMINI_API_KEY="sk-not-gemini's")  # Gemini now refuses the gateway's key
    pages, errors = _paged(sdk.batches, 2)
    assert [batch.id for page in pages for batch in page.data] == _newest_first(expected)
    for found in errors:
        (error,) = found
        assert error["provider"] == "gemini" and error["error"]["code"] and error["error"]["message"]
        assert set(error["error"]) == {"message", "type", "param", "code"}
        assert KEY not in json.dumps(found) and "sk-not-gemini's" not in json.dumps(found)


def test_a_provider_that_times_out_is_named_not_a_5xx(gateway, fakes, app, monkeypatch):
    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY)
    sdk = _sdk(gateway)
    _make(sdk, {"anthropic": fakes["anthropic"]}, per_provider=2)

    def timed_out(query):
        raise UpstreamError("gemini", 504, "the call timed out", code="upstream_timeout")
    monkeypatch.setattr("blueprints.gemini.operations.list_batches", timed_out)
    page = sdk.batches.list(extra_query=ALL)
    assert [error["provider"] for error in page.provider_errors] == ["gemini"]
    assert page.provider_errors[0]["error"]["code"] == "upstream_timeout"
    assert len(page.data) == 2  # Anthropic's two (OpenAI and Bedrock have none)


def test_passthrough_takes_each_providers_key_from_its_header(gateway, fakes, app):
    sdk = _sdk(gateway)  # passthrough: the bearer is the provider key of each single-provider call
    _make(sdk, fakes, per_provider=1)
    expected = _alone(sdk, sdk.batches, fakes)

    headers = {f"X-DeepintShield-Key-{name}": KEY for name in ("openai", "anthropic", "gemini")}
    lister = _sdk(gateway, api_key="sk-some-other-key", headers=headers)  # the bearer reaches no provider
    pages, errors = _paged(lister.batches, 2)
    assert [batch.id for page in pages for batch in page.data] == _newest_first(expected)
    assert all(found == [] for found in errors)

    # No header for Anthropic: skipped and named; the rest (and Bedrock, on the gateway's AWS) listed.
    partial = _sdk(gateway, api_key="sk-some-other-key",
                   headers={name: key for name, key in headers.items() if not name.endswith("anthropic")})
    page = partial.batches.list(limit=100, extra_query=ALL)
    assert page.provider_errors == [{"provider": "anthropic", "error": {
        "message": "No key for anthropic: in passthrough, send it in the X-DeepintShield-Key-anthropic header to "
                   "list anthropic.", "type": "invalid_request_error", "param": None, "code": "missing_provider_key"}}]
    providers = {b.id for b in expected if b.id not in {b.id for b in _alone(sdk, sdk.batches,
                                                                                {"anthropic": fakes["anthropic"]})}}
    assert {batch.id for batch in page.data} == providers


def test_a_cursor_of_a_provider_left_out_is_a_400(gateway, fakes, app):
    sdk = _sdk(gateway)
    _make(sdk, {"anthropic": fakes["anthropic"]}, per_provider=1)
    (batch,) = sdk.batches.list(extra_query={"provider": "anthropic"}).data
    lister = _sdk(gateway, headers={"X-DeepintShield-Key-openai": KEY})
    with pytest.raises(openai.BadRequestError) as caught:
        lister.batches.list(after=batch.id, extra_query=ALL)
    assert (caught.value.code, caught.value.param) == ("invalid_cursor", "after")


def test_files_of_every_provider_page_once_newest_first(gateway, fakes, app):
    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY)
    sdk = _sdk(gateway)
    for number in range(2):
        for fake in fakes.values():
            _upload(sdk, fake, f"{fake.provider}-{number}")
    expected = _alone(sdk, sdk.files, fakes)
    assert len(expected) >= 8

    visited = [file.id for file in sdk.files.list(limit=3, extra_query=ALL)]
    assert visited == _newest_first(expected)
    pages, errors = _paged(sdk.files, 3)
    assert all(found == [] for found in errors) and all(len(page.data) == 3 for page in pages[:-1])
    assert sdk.files.retrieve(pages[0].data[0].id).id == pages[0].data[0].id


def test_passthrough_files_are_those_of_each_providers_key(gateway, fakes, app):
    sdk = _sdk(gateway)  # passthrough: Anthropic's files are kept for the key that stored them
    for fake in fakes.values():
        _upload(sdk, fake, f"{fake.provider}-1")
    expected = _alone(sdk, sdk.files, fakes)
    headers = {f"X-DeepintShield-Key-{name}": KEY for name in ("openai", "anthropic", "gemini")}
    lister = _sdk(gateway, api_key="sk-some-other-key", headers=headers)
    assert [file.id for file in lister.files.list(limit=2, extra_query=ALL)] == _newest_first(expected)

    # Another Anthropic key owns none of them: its list is empty, not an error.
    other = _sdk(gateway, api_key="sk-some-other-key", headers={**headers, "X-DeepintShield-Key-anthropic": "sk-b"})
    page = other.files.list(extra_query=ALL)
    anthropic = {file.id for file in _alone(sdk, sdk.files, {"anthropic": fakes["anthropic"]})}
    assert anthropic and page.provider_errors == []
    assert {file.id for file in page.data} == {file.id for file in expected} - anthropic


def test_a_small_page_cap_names_the_provider_too_deep_to_read(gateway, fakes, app, monkeypatch):
    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY,
                      LIST_ALL_MAX_PAGES=1)
    monkeypatch.setattr(listing, "PAGE", 1)  # one item per upstream page, so two OpenAI files need two pages
    sdk = _sdk(gateway)
    for number in range(2):
        _upload(sdk, fakes["openai"], f"openai-{number}")
    page = sdk.files.list(limit=1, extra_query=ALL)
    assert [error["provider"] for error in page.provider_errors] == ["openai"]
    assert page.provider_errors[0]["error"]["code"] == "list_too_deep"


@pytest.mark.parametrize(("query", "param"), [({"order": "asc"}, "order"),
                                              ({"storage_config[s3][bucket]": "some-bucket"}, "storage_config")])
def test_what_provider_all_does_not_take_is_a_400(client, query, param):
    reply = client.get("/openai/v1/files", query_string={"provider": "all", **query},
                       headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 400 and reply.json["error"]["param"] == param
