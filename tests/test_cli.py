"""The `deepintshield` command line (cli/), run with click's CliRunner against the gateway served on a
loopback port with the provider fakes behind it, the command's SDK client in strict mode. The
gateway's later extensions (costs, estimates, the list across providers) are checked against a
gateway that does not serve them (a 404/405 in front of the app) and, for the estimate, one that does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from blueprints.common.streams import RELAY_CHUNK
from cli.client import provider_of
from cli.main import cli
from cli.output import flatten
from tests.fakes.anthropic import anthropic_fakes, message, succeeded
from tests.fakes.azure import DEPLOYMENT
from tests.fakes.gemini import checked_fakes
from tests.fakes.openai import FakeOpenAI

REPO = Path(__file__).resolve().parent.parent
GEMINI_MODEL = "gemini-2.5-flash"
CLAUDE = "claude-3-5-haiku-20241022"


def _lines(count: int, model: str = "gpt-4o-mini", fail: frozenset[int] = frozenset()) -> bytes:
    return b"".join(json.dumps({
        "custom_id": f"req-{n}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "fail" if n in fail else model, "messages": [{"role": "user", "content": f"q{n}"}],
                 "max_tokens": 20}}).encode() + b"\n" for n in range(1, count + 1))


@pytest.fixture
def fake_openai(rsps):
    fake = FakeOpenAI()
    fake.register(rsps)
    yield fake
    assert fake.violations == []


def _inputs(fake: FakeOpenAI) -> list[dict]:
    return [file for file in fake.files.values() if file["purpose"] == "batch"]


@pytest.fixture
def make_gemini(rsps):
    yield from checked_fakes(rsps)


@pytest.fixture
def batch_file(tmp_path) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(_lines(3))
    return path


Run = Callable[..., Result]


def _runner(base: str) -> Run:
    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--base-url", f"{base}/openai", "--api-key", "sk-test-key", "--strict",
                                          *args])
        assert result.exit_code == code, (result.output, result.exception)
        return result
    return run


@pytest.fixture
def run(gateway) -> Run:
    return _runner(gateway)


def _batch_id(result: Result) -> str:
    (batch_id,) = result.stdout.split()  # stdout holds the ID alone, for scripts
    return batch_id


# submit, watch, status


def test_submit_watch_runs_an_openai_batch_to_completion(run, batch_file, fake_openai, sdk):
    result = run("submit", str(batch_file), "--provider", "openai", "--option", 'metadata={"team": "cli"}', "--watch",
                 "--interval", "0")
    batch_id = _batch_id(result)
    assert batch_id in fake_openai.batches
    assert f"{batch_id} completed 3/3" in result.stderr
    assert "Uploading batch.jsonl" in result.stderr  # the byte bar's label (stderr is no terminal here)
    batch = sdk.batches.retrieve(batch_id)
    assert batch.status == "completed" and batch.endpoint == "/v1/chat/completions"  # read from the first line
    assert batch.metadata == {"team": "cli"}
    (uploaded,) = _inputs(fake_openai)
    assert uploaded["_content"] == batch_file.read_bytes()


def test_submit_watch_runs_a_gemini_batch_to_completion(run, batch_file, make_gemini, sdk):
    make_gemini()
    batch_file.write_bytes(_lines(2, GEMINI_MODEL))
    result = run("submit", str(batch_file), "-p", "gemini", "-m", GEMINI_MODEL, "--watch", "--interval", "0")
    batch_id = _batch_id(result)
    assert batch_id.startswith("batch_dsg_")  # names its provider: no --provider from here on
    assert f"{batch_id} completed 2/2" in result.stderr
    shown = json.loads(run("status", batch_id, "--json").stdout)
    assert shown == sdk.batches.retrieve(batch_id).model_dump(mode="json")
    assert shown["status"] == "completed" and shown["request_counts"]["completed"] == 2


def test_status_table_and_watch_of_a_cancelled_batch_exits_1(run, batch_file, fake_openai, sdk):
    uploaded = sdk.files.create(file=("in.jsonl", batch_file.read_bytes(), "application/jsonl"), purpose="batch")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    table = run("status", batch.id).stdout
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in table.splitlines())
    assert rows["id"] == batch.id and rows["status"] == "in_progress"  # the fake moves on at each read
    assert rows["input_file_id"] == uploaded.id and rows["request_counts.total"] == "0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows["created_at"])
    run("cancel", batch.id)
    watched = run("watch", batch.id, "--interval", "0", code=1)  # ended cancelled, not completed
    assert f"{batch.id} cancelled" in watched.stderr


def test_a_gateway_run_batch_and_its_usage(run, batch_file, fake_openai, gateway_worker, sdk):
    """`--option` carries a gateway field (execution: the gateway runs the lines itself, summing usage)."""
    result = run("submit", str(batch_file), "-p", "openai", "--option", "execution=gateway", "--watch",
                 "--interval", "0.05")
    batch_id = _batch_id(result)
    assert batch_id.startswith("batch_dsopenai_") and f"{batch_id} completed 3/3" in result.stderr
    usage = sdk.batches.retrieve(batch_id).usage
    assert usage is not None and usage.total_tokens > 0
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in run("status", batch_id).stdout.splitlines())
    assert rows["usage.total_tokens"] == str(usage.total_tokens)
    assert rows["usage.input_tokens"] == str(usage.input_tokens)


def test_upload_options_reach_the_upload(run, batch_file, fake_openai):
    storage = 'storage_config={"s3": {"bucket": "b", "region": "us-east-1"}}'
    result = run("submit", str(batch_file), "-p", "openai", "--upload-option", storage, code=1)
    assert result.stderr.splitlines()[-1] == ("Error: 400 unsupported_parameter: storage_config is not used by "
                                              "provider openai.")
    assert _inputs(fake_openai) == []
    result = run("submit", str(batch_file), "-p", "openai", "--upload-option", "storage_config", code=2)
    assert "'storage_config' is not KEY=VALUE" in result.stderr


def test_an_unknown_id_is_one_error_line(run, fake_openai):
    result = run("status", "batches/nope", code=1)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: 404 invalid_id: ")
    assert "needs --provider" in result.stderr


def test_no_gateway_and_no_key_are_one_line_each(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(cli, ["--base-url", "http://127.0.0.1:9/openai", "--api-key", "k", "status", "b"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Cannot reach the gateway at http://127.0.0.1:9/openai: ")
    result = CliRunner().invoke(cli, ["status", "batch_abc"])
    assert result.exit_code == 2 and "No API key: set OPENAI_API_KEY or pass --api-key." in result.stderr


# list, cancel, download


def test_list_shows_the_providers_batches(run, batch_file, fake_openai, sdk):
    uploaded = sdk.files.create(file=("in.jsonl", batch_file.read_bytes(), "application/jsonl"), purpose="batch")
    created = [sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h").id for _ in range(3)]
    shown = run("list", "--provider", "openai", "--limit", "2")
    assert shown.stderr.endswith(f"(more: --after {shown.stdout.splitlines()[-1].split()[0]})\n")
    table = run("list", "--provider", "openai", "--limit", "10").stdout.splitlines()
    assert table[0].split() == ["id", "provider", "status", "endpoint", "requests", "created"]
    assert sorted(line.split()[0] for line in table[1:]) == sorted(created)
    assert all(line.split()[1:3] == ["openai", "validating"] for line in table[1:])

    page = json.loads(run("list", "-p", "openai", "--limit", "2", "--json").stdout)
    expected = sdk.batches.list(limit=2, extra_query={"provider": "openai"})
    assert [b["id"] for b in page["data"]] == [b.id for b in expected.data]
    assert page["has_more"] is True and "provider_errors" not in page
    rest = json.loads(run("list", "-p", "openai", "--after", page["data"][-1]["id"], "--json").stdout)
    assert [b["id"] for b in page["data"] + rest["data"]] == [b.id for b in sdk.batches.list(limit=10)]


def test_cancel(run, batch_file, fake_openai, sdk):
    batch_id = _batch_id(run("submit", str(batch_file), "--provider", "openai"))
    assert run("cancel", batch_id, "--provider", "openai").stdout == f"{batch_id} cancelling\n"
    assert sdk.batches.retrieve(batch_id).status == "cancelled"


def test_download_writes_what_the_sdk_reads(run, tmp_path, fake_openai, sdk):
    source = tmp_path / "in.jsonl"
    source.write_bytes(_lines(4, fail=frozenset({2})))
    batch_id = _batch_id(run("submit", str(source), "-p", "openai", "--watch", "--interval", "0"))
    batch = sdk.batches.retrieve(batch_id)
    assert batch.output_file_id and batch.error_file_id

    result = run("download", batch_id, "-o", str(tmp_path / "results.jsonl"))
    output, errors = tmp_path / "results.jsonl", tmp_path / "results.errors.jsonl"
    assert output.read_bytes() == sdk.files.content(batch.output_file_id).read()
    assert errors.read_bytes() == sdk.files.content(batch.error_file_id).read()
    assert len(output.read_bytes().splitlines()) == 3 and json.loads(errors.read_bytes())["custom_id"] == "req-2"
    assert result.stdout == f"{output}\t{output.stat().st_size}\n{errors}\t{errors.stat().st_size}\n"
    assert "Downloading results.jsonl" in result.stderr
    assert not list(tmp_path.glob("*.part"))

    result = run("download", batch.output_file_id, "-o", str(tmp_path / "nowhere" / "x.jsonl"), code=1)
    assert result.stderr.splitlines()[-1].startswith(f"Error: Cannot write {tmp_path / 'nowhere' / 'x.jsonl'}: ")

    single = tmp_path / "one.jsonl"
    run("download", batch.output_file_id, "-o", str(single))
    assert single.read_bytes() == output.read_bytes()


def test_download_of_a_batch_still_running_says_so(run, batch_file, fake_openai, tmp_path):
    batch_id = _batch_id(run("submit", str(batch_file), "-p", "openai"))
    result = run("download", batch_id, "-o", str(tmp_path / "x.jsonl"), code=1)
    assert "has no output or error file yet" in result.stderr and not list(tmp_path.glob("x*"))


# the Uploads API for files past --part-size


def test_a_large_file_goes_up_in_parts_to_openai(run, tmp_path, fake_openai, sdk):
    source = tmp_path / "big.jsonl"
    source.write_bytes(_lines(60))
    size = source.stat().st_size
    batch_id = _batch_id(run("submit", str(source), "-p", "openai", "--part-size", "1000"))
    parts = [path for method, path in fake_openai.calls if path.endswith("/parts")]
    assert len(parts) == -(-size // 1000) and size > 3000
    (stored,) = _inputs(fake_openai)
    assert stored["_content"] == source.read_bytes()
    assert sdk.batches.retrieve(batch_id).input_file_id == stored["id"]


def test_a_large_file_goes_up_in_parts_to_anthropic_and_runs(run, tmp_path, rsps, sdk):
    with anthropic_fakes(rsps) as make:
        fake = make(api_key="sk-test-key")
        source = tmp_path / "big.jsonl"
        source.write_bytes(_lines(30, CLAUDE))
        result = run("submit", str(source), "-p", "anthropic", "--part-size", "700", "--watch", "--interval", "0")
        batch_id = _batch_id(result)
        assert f"{batch_id} completed 30/30" in result.stderr
        (body,) = fake.created_bodies
        assert [r["custom_id"] for r in body["requests"]] == [f"req-{n}" for n in range(1, 31)]
        batch = sdk.batches.retrieve(batch_id)
        assert len(sdk.files.content(batch.output_file_id).read().splitlines()) == 30

        fake.break_results_after = 10  # before the first byte: the gateway's own error
        result = run("download", batch_id, "-o", str(tmp_path / "out.jsonl"), code=1)
        assert result.stderr.startswith("Error: 502 upstream_error: ")


def test_a_download_that_breaks_off_leaves_no_file(run, tmp_path, rsps, sdk):
    """Past the first byte a broken stream can only break the connection: one line, no file that looks
    whole (the gateway relays Anthropic's results 1 MiB at a time, so they must be longer than that)."""
    with anthropic_fakes(rsps) as make:
        fake = make(api_key="sk-test-key")
        for n in range(1, 241):
            fake.answer(f"req-{n}", succeeded(message([{"type": "text", "text": "x" * 6000}], message_id=f"msg_{n}")))
        source = tmp_path / "in.jsonl"
        source.write_bytes(_lines(240, CLAUDE))
        batch_id = _batch_id(run("submit", str(source), "-p", "anthropic", "--watch", "--interval", "0"))
        output_file_id = sdk.batches.retrieve(batch_id).output_file_id
        assert len(sdk.files.content(output_file_id).read()) > 1.25 * RELAY_CHUNK

        fake.break_results_after = RELAY_CHUNK + RELAY_CHUNK // 4
        result = run("download", batch_id, "-o", str(tmp_path / "out.jsonl"), code=1)
        assert f"Error: The download of {output_file_id} broke off after " in result.stderr
        assert not (tmp_path / "out.jsonl").exists() and not list(tmp_path.glob("*.part"))


def test_a_provider_without_uploads_gets_the_one_request_upload(run, batch_file, azure_fake, sdk):
    batch_file.write_bytes(_lines(5, DEPLOYMENT))  # Azure: no Uploads API is known to exist there
    result = run("submit", str(batch_file), "-p", "azure", "--part-size", "100")
    assert "takes no Uploads API" in result.stderr
    batch = sdk.batches.retrieve(_batch_id(result))
    assert sdk.files.content(batch.input_file_id).read() == batch_file.read_bytes()


# the gateway's later extensions: a clear message where the gateway does not serve them


def _serve(wsgi) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _error(status: int, message: str, code: str | None = None, param: str | None = None) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return Response(json.dumps(body), status=status, content_type="application/json")


ROUTING_404 = "The requested URL was not found on the server."


# What a gateway without them answers: a routing 404 for each; or what this gateway answered before they
# landed (recorded): POST /batches/estimate matches GET /batches/<id> (405), /batches/batch_abc/cost is
# read as the ID "batch_abc/cost" (404 invalid_id), provider=all is an unknown provider (400).
ROUTING = {"estimate": _error(404, ROUTING_404), "cost": _error(404, ROUTING_404), "all": _error(404, ROUTING_404)}
RECORDED = {
    "estimate": _error(405, "The method is not allowed for the requested URL."),
    "cost": _error(404, "'batch_abc/cost' is not a valid openai batch ID.", "invalid_id", "id"),
    "all": _error(400, "Unknown provider 'all'; use one of openai, anthropic, gemini, bedrock, vertex, azure.",
                  "unknown_provider", "provider"),
}


def _front(app, answers: dict[str, Response | Callable[[Request], Response]]):
    """The app behind a front that answers the extensions' routes itself."""

    def front(environ, start_response):
        request = Request(environ)
        route = ("estimate" if request.path.endswith("/batches/estimate") else
                 "cost" if request.path.endswith("/cost") else
                 "all" if request.args.get("provider") == "all" else None)
        answer = answers.get(route) if route else None
        if answer is None:
            return app(environ, start_response)
        return (answer if isinstance(answer, Response) else answer(request))(environ, start_response)

    return front


@pytest.mark.parametrize("answers", [ROUTING, RECORDED], ids=["routing-404", "recorded"])
def test_extensions_a_gateway_does_not_serve_are_one_clear_message(app, answers, batch_file, fake_openai):
    for base in _serve(_front(app, answers)):
        run = _runner(base)
        result = run("estimate", str(batch_file), "-p", "openai", "-m", "gpt-4o-mini", code=1)
        assert "does not serve estimates (POST /batches/estimate)" in result.stderr
        assert "update the gateway" in result.stderr
        assert fake_openai.files == {}  # found out before uploading anything

        result = run("cost", "batch_abc", code=1)
        assert "does not serve batch costs (GET /batches/{id}/cost)" in result.stderr

        result = run("list", "--provider", "all", code=1)
        assert "does not serve lists across providers" in result.stderr
        assert "Traceback" not in result.output


def test_estimate_and_cost_where_the_gateway_serves_them(app, batch_file, fake_openai):
    """Against stand-ins for the endpoints: the command uploads the file, sends what the estimate needs,
    and shows whatever object comes back; a batch that is not found is the gateway's own error."""
    seen: list[dict] = []

    def estimate(request: Request) -> Response:
        seen.append(request.get_json())
        if "input_file_id" not in seen[-1]:
            return _error(400, "Missing input_file_id.", "missing_required_parameter", "input_file_id")
        body = {"object": "batch.estimate", "input_tokens": 42, "cost": {"currency": "USD", "amount": 0.01}}
        return Response(json.dumps(body), content_type="application/json")

    def cost(request: Request) -> Response:
        if "nope" in request.path:
            return _error(404, "No batch found with id 'batch_nope'.", "not_found", "id")
        return Response(json.dumps({"object": "batch.cost", "total_tokens": 7}), content_type="application/json")

    for base in _serve(_front(app, {"estimate": estimate, "cost": cost})):
        run = _runner(base)
        table = run("estimate", str(batch_file), "-p", "openai", "-m", "gpt-4o-mini").stdout
        (uploaded,) = _inputs(fake_openai)
        assert seen[-1] == {"provider": "openai", "input_file_id": uploaded["id"], "model": "gpt-4o-mini",
                            "endpoint": "/v1/chat/completions"}
        rows = dict(line.split(None, 1) for line in table.splitlines())
        assert rows == {"object": "batch.estimate", "input_tokens": "42", "cost.currency": "USD",
                        "cost.amount": "0.01"}

        shown = json.loads(run("estimate", uploaded["id"], "-p", "openai", "--option", "execution=gateway",
                               "--json").stdout)
        assert shown["input_tokens"] == 42  # the endpoint read from the stored file's first line:
        assert seen[-1] == {"provider": "openai", "input_file_id": uploaded["id"], "execution": "gateway",
                            "endpoint": "/v1/chat/completions"}
        assert len(_inputs(fake_openai)) == 1  # a file ID is used as it is

        assert json.loads(run("cost", "batch_abc", "--json").stdout) == {"object": "batch.cost", "total_tokens": 7}
        result = run("cost", "batch_nope", code=1)
        assert result.stderr == "Error: 404 not_found: No batch found with id 'batch_nope'.\n"


def test_list_across_providers_where_the_gateway_serves_it(app, batch_file, fake_openai, sdk):
    """Against a stand-in for `?provider=all` (the shape its README gives): each row's provider read
    from its ID, the providers that could not be listed as warnings, `--key` as the per-provider header."""
    uploaded = sdk.files.create(file=("in.jsonl", batch_file.read_bytes(), "application/jsonl"), purpose="batch")
    openai_batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                      completion_window="24h").model_dump(mode="json")
    anthropic_batch = {**openai_batch, "id": "msgbatch_01abc", "status": "in_progress"}
    gemini_batch = {**openai_batch, "id": "batch_dsg_YmF0Y2hlcy94", "status": "completed"}
    failed = [{"provider": "bedrock", "error": {"message": "Access denied.", "type": "permission_error",
                                                "param": None, "code": "AccessDeniedException"}}]
    headers: list[dict] = []

    def listing(request: Request) -> Response:
        headers.append(dict(request.headers))
        page = {"object": "list", "data": [gemini_batch, anthropic_batch, openai_batch], "first_id": gemini_batch["id"],
                "last_id": openai_batch["id"], "has_more": False, "provider_errors": failed}
        return Response(json.dumps(page), content_type="application/json")

    for base in _serve(_front(app, {"all": listing})):
        run = _runner(base)
        result = run("list", "--provider", "all", "--key", "anthropic=sk-ant-1")
        rows = [line.split()[:3] for line in result.stdout.splitlines()[1:]]
        assert rows == [[gemini_batch["id"], "gemini", "completed"], ["msgbatch_01abc", "anthropic", "in_progress"],
                        [openai_batch["id"], "openai", openai_batch["status"]]]
        assert result.stderr == "warning: bedrock not listed (AccessDeniedException): Access denied.\n"
        assert headers[-1]["X-Deepintshield-Key-Anthropic"] == "sk-ant-1"
        page = json.loads(run("list", "-p", "all", "--json").stdout)
        assert page["provider_errors"] == failed and [b["id"] for b in page["data"]][1] == "msgbatch_01abc"


# the pieces


@pytest.mark.parametrize("resource_id, provider", [
    ("batch_dsg_YmF0Y2hlcy94", "gemini"), ("file-dsao_bXNnYmF0Y2g", "anthropic"),
    ("msgbatch_01abc~responses", "anthropic"),
    ("batch_dsb_YXJu", "bedrock"), ("file-dsvf_eA", "vertex"), ("batch_dsz_eA", "azure"),
    ("batch_dscgroq_eA", "groq"), ("file-dscgroqe_eA", "groq"), ("upload_dsevllm_eA", "vllm"),
    ("batch_dsopenai_Z3ct", "openai"), ("batch_abc123", None), ("file-abc", None), ("batches/x", None),
])
def test_which_provider_an_id_names(resource_id, provider):
    """As blueprints/dispatcher/ids.py encodes them (README "IDs")."""
    assert provider_of(resource_id) == provider


def test_ids_the_gateway_encodes_read_back_to_their_provider(app):
    from blueprints.dispatcher import ids
    with app.app_context():
        assert provider_of(ids.encode_batch("gemini", "batches/abc")) == "gemini"
        assert provider_of(ids.encode_file("anthropic", "msgbatch_01x", "errors")) == "anthropic"
        assert provider_of(ids.encode_file("gemini", "files/abc")) == "gemini"


def test_flatten_spells_out_nested_objects():
    value = {"a": 1, "b": {"c": None, "d": [1, 2]}, "models": [{"model": "m", "cost": 0.5}], "s": "text"}
    assert flatten(value) == [("a", "1"), ("b.c", ""), ("b.d", "[1, 2]"), ("models[0].model", "m"),
                              ("models[0].cost", "0.5"), ("s", "text")]


# the installed command


def test_the_installed_command_runs_from_anywhere(tmp_path):
    """`make` writes the launcher into the venv's bin (Makefile target `command`)."""
    launcher = Path(sys.prefix) / "bin" / "deepintshield"
    assert launcher.is_file(), "run `make` (or `make command`) to install the deepintshield command"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([str(launcher), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: deepintshield [OPTIONS] COMMAND [ARGS]...")
    for command in ("submit", "status", "watch", "list", "download", "cancel", "estimate", "cost"):
        assert re.search(rf"^  {command}\s", result.stdout, re.M), command
    module = subprocess.run([sys.executable, "-m", "cli", "submit", "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "--provider" in module.stdout and "--part-size" in module.stdout
