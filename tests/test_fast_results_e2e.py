"""The result fast paths at the gateway: a results download through the real `openai` SDK (strict)
takes the typed fast path for plain text replies, and gives the same output and error files, byte
for byte, as the same download with every block declined (the per-line path)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from tests import test_anthropic_results as anthropic_e2e
from tests import test_bedrock_e2e as bedrock_e2e
from tests import test_gemini_e2e as gemini_e2e
from tests.fakes import gemini as gemini_fakes
from tests.fakes.anthropic import anthropic_fakes
from translators import fast_results


@pytest.fixture
def test_config(test_config):
    return bedrock_e2e.test_config.__wrapped__(test_config)


ORIGINAL = {name: getattr(fast_results, name) for name in ("anthropic_chat", "bedrock_chat", "gemini_chat")}


def _spy(monkeypatch, name: str) -> list[bool]:
    """Wrap the fast converter `fast_results.<name>` makes: returns the list of its accept/decline outcomes."""
    outcomes: list[bool] = []
    real: Callable = ORIGINAL[name]

    def make(*args, **kwargs):
        convert = real(*args, **kwargs)

        def spied(lines: list[bytes]) -> bytes | None:
            out = convert(lines)
            outcomes.append(out is not None)
            return out

        return spied

    monkeypatch.setattr(fast_results, name, make)
    return outcomes


def _declining(monkeypatch, name: str) -> None:
    monkeypatch.setattr(fast_results, name, lambda *args, **kwargs: lambda lines: None)


def _files(sdk, batch) -> tuple[bytes, bytes]:
    return sdk.files.content(batch.output_file_id).content, sdk.files.content(batch.error_file_id).content


def test_an_anthropic_download_takes_the_fast_path_and_matches_the_per_line_one(sdk, rsps, monkeypatch):
    with anthropic_fakes(rsps) as make:
        make(polls_until_ended=2, api_key="sk-test-key")
        custom_ids = [f"plain-{n}" for n in range(40)] + ["an-error", "overload-1", "expire-1", "tool-1"]
        batch = anthropic_e2e.run_batch(sdk, custom_ids)
        outcomes = _spy(monkeypatch, "anthropic_chat")
        fast = _files(sdk, batch)
        _declining(monkeypatch, "anthropic_chat")
        slow = _files(sdk, batch)
    assert fast == slow
    assert fast[0].count(b"\n") == 41 and fast[1].count(b"\n") == 3  # the tool call is an output line
    assert outcomes == [False, False]  # one block each download, declined: it holds errors and a tool call

    with anthropic_fakes(rsps) as make:
        make(polls_until_ended=2, api_key="sk-test-key")
        batch = anthropic_e2e.run_batch(sdk, [f"plain-{n}" for n in range(40)])
        outcomes = _spy(monkeypatch, "anthropic_chat")
        fast = _files(sdk, batch)
        _declining(monkeypatch, "anthropic_chat")
        slow = _files(sdk, batch)
    assert fast == slow and fast[0].count(b"\n") == 40 and fast[1] == b""
    assert outcomes and all(outcomes)


@pytest.mark.parametrize("model", [bedrock_e2e.NOVA, bedrock_e2e.CLAUDE])
def test_a_bedrock_download_takes_the_fast_path_and_matches_the_per_line_one(sdk, bedrock_fake, bedrock_s3,
                                                                             monkeypatch, model):
    lines = [bedrock_e2e.chat_line(f"plain/{n} ü", f"plain question {n}", model) for n in range(5)]
    batch = bedrock_e2e.run_batch(sdk, lines)
    outcomes = _spy(monkeypatch, "bedrock_chat")
    fast = _files(sdk, batch)
    _declining(monkeypatch, "bedrock_chat")
    slow = _files(sdk, batch)
    assert fast == slow and fast[0].count(b"\n") == 5 and fast[1] == b""
    assert b'"custom_id":"plain/0 \xc3\xbc"' in fast[0]  # the sidecar's custom_ids, as on the per-line path
    assert outcomes and all(outcomes)


def test_a_gemini_results_file_takes_the_fast_path_and_matches_the_per_line_one(sdk, rsps, monkeypatch):
    for extra in ({}, {**gemini_fakes.declared_results(), **gemini_fakes.off_spec_results()}):
        with contextlib.ExitStack() as stack:
            fake = next(stack.enter_context(contextlib.closing(gemini_fakes.checked_fakes(rsps))))()
            fake.scripted.update(extra)
            fake.unchecked.update(gemini_fakes.off_spec_results())
            requests = [gemini_e2e._request(key) for key in [*(f"plain-{i}" for i in range(30)), *extra]]
            batch = gemini_e2e._run(sdk, fake, requests, inline=False)
            outcomes = _spy(monkeypatch, "gemini_chat")
            fast = _files(sdk, batch)
            _declining(monkeypatch, "gemini_chat")
            slow = _files(sdk, batch)
        assert fast == slow and fast[0].count(b"\n") >= 30
        if extra:
            assert fast[1] and outcomes and not any(outcomes)  # one block, holding the odd results
        else:
            assert fast[1] == b"" and outcomes and all(outcomes)
