"""OpenAI-compatible batch APIs declared by configuration: two declared hosts run the seed workflow
with the real SDK in strict mode (each an OpenAI fake on its own base URL), their IDs route back to
them, each gets its own key; declarations are checked, and startup reads them from the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest

import config
from blueprints import registry
from blueprints.dispatcher import ids
from blueprints.openai import compatible
from tests.conftest import server_env
from tests.fakes.compatible import ScriptedOpenAI, declare
from tests.fakes.openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {"alpha": "https://alpha.fake/v1", "beta": "https://api.beta.fake/openai/v1"}


@pytest.fixture
def hosts(rsps, monkeypatch) -> dict[str, FakeOpenAI]:
    """Two declared hosts, `alpha` and `beta`, each the OpenAI fake on its base URL."""
    declare(monkeypatch, ",".join(f"{name}={url}" for name, url in HOSTS.items()))
    fakes = {name: ScriptedOpenAI(url) for name, url in HOSTS.items()}
    for fake in fakes.values():
        fake.register(rsps)
    yield fakes
    for fake in fakes.values():
        assert fake.violations == []


def _seed(sdk, provider: str):
    """The seed workflow as the user document has it, on `provider`."""
    jsonl = "".join(json.dumps({"custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": q}], "max_tokens": 100}}) + "\n"
        for n, q in enumerate(["What is 2+2?", "What is the capital of France?"], start=1))
    uploaded = sdk.files.create(file=("batch_e2e.jsonl", jsonl.encode(), "application/jsonl"), purpose="batch",
                                extra_body={"provider": provider})
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h",
                               extra_body={"provider": provider})
    for _ in range(10):
        batch = sdk.batches.retrieve(batch.id, extra_query={"provider": provider})
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
    return uploaded, batch


def test_two_declared_hosts_run_the_seed_workflow(sdk, hosts):
    for name, fake in hosts.items():
        uploaded, batch = _seed(sdk, name)
        assert uploaded.id.startswith(f"file-dsc{name}f_") and batch.id.startswith(f"batch_dsc{name}_")
        assert batch.status == "completed" and batch.request_counts.completed == 2
        output = [json.loads(line) for line in sdk.files.content(batch.output_file_id).read().decode().splitlines()]
        assert sorted(line["custom_id"] for line in output) == ["req-1", "req-2"]
        assert all(line["response"]["body"]["choices"][0]["native_finish_reason"] == "stop" for line in output)
        assert sdk.files.content(batch.error_file_id).read() == b""
        # follow-up calls without `provider`: the IDs name the host
        assert sdk.batches.retrieve(batch.id).id == batch.id
        assert sdk.files.retrieve(uploaded.id).filename == "batch_e2e.jsonl"
        assert fake.keys_seen == {"sk-test-key"}
    alpha_paths = {path for _, path in hosts["alpha"].calls}
    beta_paths = {path for _, path in hosts["beta"].calls}
    assert all(p.startswith("/v1/") for p in alpha_paths) and all(p.startswith("/openai/v1/") for p in beta_paths)
    assert len(hosts["alpha"].batches) == len(hosts["beta"].batches) == 1  # each workflow reached its own host


def test_a_hosts_ids_are_its_own(sdk, hosts):
    uploaded, batch = _seed(sdk, "alpha")
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.batches.retrieve(batch.id, extra_query={"provider": "beta"})
    assert caught.value.code == "invalid_id" and "belongs to provider 'alpha'" in caught.value.message
    native = ids.decode_file(uploaded.id).native  # the host's own ID, accepted when the request names it
    assert sdk.files.retrieve(native, extra_query={"provider": "alpha"}).id == uploaded.id
    assert hosts["beta"].calls == []


def test_each_host_gets_its_own_key_in_gateway_key_mode(sdk, hosts, app):
    app.config.update(API_KEYS=["sk-test-key"], ALPHA_API_KEY="alpha-secret")
    _seed(sdk, "alpha")
    assert hosts["alpha"].keys_seen == {"alpha-secret"}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(extra_query={"provider": "beta"})
    assert caught.value.code == "provider_not_configured" and "BETA_API_KEY" in caught.value.message


def test_a_foreign_option_and_openais_line_rules(sdk, hosts):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.list(extra_query={"provider": "alpha", "model": "gpt-4o-mini"})
    assert caught.value.code == "unsupported_parameter" and caught.value.param == "model"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.jsonl", b'{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", '
                                          b'"body": {}}'), purpose="batch", extra_body={"provider": "alpha"})
    assert caught.value.param == "line 1: method"
    assert hosts["alpha"].files == {}


@pytest.mark.parametrize("declaration, problem", [
    ("groq", "'groq' is not name=URL"),
    ("Groq=https://api.groq.com/openai/v1", "'Groq' is not a name"),
    ("my_host=https://h/v1", "'my_host' is not a name"),
    ("a=https://a/v1,a=https://b/v1", "'a' is declared twice"),
    ("all=https://a/v1", "'all' is reserved"),  # provider=all lists every provider
    ("a=ftp://a/v1", "'ftp://a/v1' (for a) is not an http:// or https:// URL"),
])
def test_a_declaration_that_does_not_parse_stops_startup(declaration, problem):
    with pytest.raises(config.ConfigError) as caught:
        config.load({compatible.VARIABLE: declaration})
    (line,) = caught.value.lines
    assert line.startswith(f"{compatible.VARIABLE}: ") and problem in line
    assert compatible.declared({compatible.VARIABLE: declaration}, taken=registry.BUILT_IN) == {}


def test_a_built_in_name_is_not_registered_and_stops_startup():
    declaration = {compatible.VARIABLE: "azure=https://x.example/v1,groq=https://api.groq.com/openai/v1"}
    assert list(compatible.declared(declaration, taken=registry.BUILT_IN)) == ["groq"]
    settings = config.load(declaration)
    assert settings["OPENAI_COMPATIBLE"] == {"azure": "https://x.example/v1", "groq": "https://api.groq.com/openai/v1"}
    assert compatible.problems(settings) == [
        f"{compatible.VARIABLE}: 'azure' is a built-in provider; declare the host under another name"]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=server_env(**env), capture_output=True,
                          text=True, timeout=60)


def test_startup_reads_the_declaration_from_the_environment():
    """The real path: the registry built from the environment, the settings schema holding the key, the IDs."""
    code = ("import json, config; from blueprints import registry; from blueprints.dispatcher import ids;"
            "s = config.from_environment(); p = registry.get('groq');"
            "print(json.dumps([list(registry.PROVIDERS), p.code, p.url, s['GROQ_API_KEY'] == 'gk-1',"
            " ids.decode_batch(ids.encode_batch('groq', 'batch_abc')).provider]))")
    result = _python(code, DEEPINTSHIELD_OPENAI_COMPATIBLE="groq=https://api.groq.com/openai/v1/", GROQ_API_KEY="gk-1")
    assert result.returncode == 0, result.stderr
    providers, code_, url, key_loaded, routed = json.loads(result.stdout)
    assert providers == [*registry.BUILT_IN, "groq"] and code_ == "cgroq"
    assert url == "https://api.groq.com/openai/v1" and key_loaded and routed == "groq"

    clash = subprocess.run([sys.executable, "-m", "config", "--check"], cwd=ROOT, capture_output=True, text=True,
                           env=server_env(DEEPINTSHIELD_OPENAI_COMPATIBLE="openai=https://x.example/v1"), timeout=60)
    assert clash.returncode == 1
    assert clash.stderr.strip() == (f"{compatible.VARIABLE}: 'openai' is a built-in provider; declare the host "
                                    "under another name")
