"""The web console in a real browser: Debian's Chromium, headless, driven by selenium through Debian's
chromedriver, against the gateway on a loopback port with the OpenAI and Anthropic fakes behind it.

Against the gateway as it is (its `?provider=all` lists), one session does what a user does: types a
key per provider (passthrough mode), uploads a JSONL and creates a batch on each provider, watches the
OpenAI one's progress bar fill to completed, downloads its output file (the blob the page fetched with
the key, saved by the browser), cancels the Anthropic one, and sees both providers' batches and files
in one table. Screenshots of each step are saved under `$CONSOLE_SCREENSHOTS` (else the test's tmp
dir) and the path is printed. Two more sessions: the merged-list and cost contracts answered by a
canned layer (checking the headers the page sends), and gateway-key mode on a gateway that refuses
`?provider=all` (the page then lists provider by provider).

Without Chromium, chromedriver or selenium the test is skipped, except under CI (`CI_REQUIRE_BROWSER=1`,
set by .ci/run, which installs Debian's chromium and chromium-driver), where that is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.fakes.anthropic import anthropic_fakes
from tests.fakes.openai import FakeOpenAI

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless, and nothing that reaches out: the machine (and CI) has no internet, and a browser waiting on
# its update or sync services slows every page down.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1500,1000")
WAIT = 30.0  # seconds for anything the page does (a batch needs three refreshes, 2 s apart, to complete)
OPENAI_KEY, ANTHROPIC_KEY = "sk-openai-console", "sk-ant-console"
MARKUP = "<img src=x onerror=alert(1)>"  # a file name that would run script if parsed as HTML


def _missing() -> str | None:
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (requirements-test.txt)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
            return f"{path} is missing (Debian's {package} package)"
    return None


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {folder}")
    return folder


@pytest.fixture
def browser(tmp_path, screenshots, request):
    reason = _missing()
    if reason:
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}; CI installs it (.ci/run)")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER if os.path.exists(CHROMEDRIVER)
                                              else shutil.which("chromedriver")), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    try:  # the page as the test left it, passed or failed: the first thing to look at when one fails
        driver.save_screenshot(str(screenshots / f"last-{request.node.name}.png"))
    finally:
        driver.quit()


@pytest.fixture
def fakes(rsps):
    openai = FakeOpenAI()
    openai.register(rsps)
    with anthropic_fakes(rsps) as make:
        # Ends only when cancelled: the test cancels it while it runs.
        anthropic = make(api_key=ANTHROPIC_KEY, polls_until_ended=10**6)
        yield openai, anthropic
    assert openai.violations == []


def _jsonl(model: str, ids: list[str]) -> str:
    return "".join(json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                               "body": {"model": model, "max_tokens": 50,
                                        "messages": [{"role": "user", "content": f"question {custom_id}"}]}}) + "\n"
                   for custom_id in ids)


def _until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _rows(driver, table: str) -> list[dict]:
    """The rows of a table as the page shows them (read in the page: no stale elements mid-refresh)."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr')).map((tr) => ({
          id: tr.dataset.id, provider: tr.dataset.provider, status: tr.dataset.status || null,
          cells: Array.from(tr.cells).map((td) => td.textContent),
          progress: tr.querySelector('progress') && [tr.querySelector('progress').value,
                                                      tr.querySelector('progress').max],
          buttons: Array.from(tr.querySelectorAll('button')).map((b) => b.className)}));""", table)


def _click(driver, table: str, row_id: str, button: str) -> None:
    driver.execute_script("""
        const row = document.querySelector('#' + arguments[0] + ' tr[data-id="' + CSS.escape(arguments[1]) + '"]');
        row.querySelector('button.' + arguments[2]).click();""", table, row_id, button)


def _create(driver, provider: str, upload: Path, model: str | None = None) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "create-provider")).select_by_value(provider)
    Select(driver.find_element(By.ID, "create-endpoint")).select_by_value("/v1/chat/completions")
    if model:
        driver.find_element(By.ID, "create-model").send_keys(model)
    driver.find_element(By.ID, "create-file").send_keys(str(upload))
    driver.find_element(By.ID, "create-submit").click()
    text = _until(lambda: (t := driver.find_element(By.ID, "notice").text).startswith(("Created", "Failed")) and t,
                  f"the {provider} batch to be created")
    assert text.startswith("Created batch "), text
    return text.removeprefix("Created batch ").split(" ")[0]


def test_console_runs_batches_on_two_providers_in_a_real_browser(gateway, fakes, browser, screenshots, tmp_path):
    from selenium.webdriver.common.by import By

    openai, anthropic = fakes
    driver = browser
    driver.get(f"{gateway}/console")
    _until(lambda: driver.execute_script("return document.body.dataset.ready"), "the page to start")
    assert "passthrough" in driver.find_element(By.ID, "mode").text

    # Keys: one per provider, kept in this tab's sessionStorage only.
    driver.find_element(By.ID, "key-openai").send_keys(OPENAI_KEY)
    driver.find_element(By.ID, "key-anthropic").send_keys(ANTHROPIC_KEY)
    driver.find_element(By.ID, "keys-save").click()
    stored = json.loads(driver.execute_script("return sessionStorage.getItem('deepintshield.console.keys')"))
    assert stored["providers"] == {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY}
    assert driver.execute_script("return localStorage.length") == 0 and driver.get_cookies() == []

    # An OpenAI batch, from a file whose name is markup (shown as text, never parsed).
    openai_upload = tmp_path / f"{MARKUP}.jsonl"
    openai_upload.write_text(_jsonl("gpt-4o-mini", ["o-1", "o-2"]))
    openai_batch = _create(driver, "openai", openai_upload)
    native = openai.batches[openai_batch]
    native["usage"] = {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                       "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 30}

    # The progress bar fills as the page's auto-refresh re-reads the running batch, with no click.
    seen: list[tuple[str, list]] = []

    def completed():
        row = next((r for r in _rows(driver, "batches") if r["id"] == openai_batch), None)
        if row and (not seen or seen[-1] != (row["status"], row["progress"])):
            seen.append((row["status"], row["progress"]))
            if len(seen) == 1:
                driver.save_screenshot(str(screenshots / "1-created.png"))
        return row if row and row["status"] == "completed" else None

    done = _until(completed, "the OpenAI batch to complete")
    assert seen[0][0] in ("validating", "in_progress", "finalizing") and seen[0][1][0] < seen[0][1][1], seen
    assert done["progress"] == [2, 2] and "2/2" in done["cells"][3]
    assert done["cells"][4] == "30"  # tokens, from `usage`
    assert done["buttons"] == ["download-output"]  # no error file, and no cancel on an ended batch
    _until(lambda: next(r for r in _rows(driver, "batches") if r["id"] == openai_batch)["cells"][5] != "…",
           "the cost cell to settle")  # a number, or n/a where the gateway has no cost endpoint

    # An Anthropic batch beside it (its own key; the model chosen in the form).
    anthropic_upload = tmp_path / "anthropic.jsonl"
    anthropic_upload.write_text(_jsonl("claude-3-5-haiku-20241022", ["a-1", "a-2", "a-3"]))
    _create(driver, "anthropic", anthropic_upload, model="claude-3-5-haiku-20241022")
    rows = _until(lambda: (rows := _rows(driver, "batches")) and len(rows) == 2 and rows, "both batches in the table")
    assert {row["provider"] for row in rows} == {"openai", "anthropic"}  # both providers in one table
    (running,) = [row for row in rows if row["provider"] == "anthropic"]
    assert running["status"] == "in_progress" and running["progress"] == [0, 3] and "cancel" in running["buttons"]
    driver.save_screenshot(str(screenshots / "2-completed-and-running.png"))

    # Download the output file: the page fetches it with the key and the browser saves the blob.
    _click(driver, "batches", openai_batch, "download-output")
    saved = driver.downloads / f"{openai_batch}-output.jsonl"
    _until(lambda: saved.exists() and not list(driver.downloads.glob("*.crdownload")), "the download")
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["o-1", "o-2"]
    assert all(line["response"]["body"]["object"] == "chat.completion" for line in lines)

    # Cancel the Anthropic batch: cancelling, then cancelled on the next read.
    _click(driver, "batches", running["id"], "cancel")
    cancelled = _until(lambda: next((r for r in _rows(driver, "batches")
                                     if r["provider"] == "anthropic" and r["status"] == "cancelled"), None),
                       "the Anthropic batch to be cancelled")
    assert "cancel" not in cancelled["buttons"]
    assert next(iter(anthropic.batches.values()))["cancel_initiated_at"] is not None

    # Files of both providers, with size and purpose; the markup file name is text.
    files = _until(lambda: (rows := _rows(driver, "files")) and {r["provider"] for r in rows} >= {"openai", "anthropic"}
                   and rows, "both providers' files")
    by_name = {row["cells"][2]: row for row in files}
    assert by_name[f"{MARKUP}.jsonl"]["cells"][3] == "batch"
    assert by_name[f"{MARKUP}.jsonl"]["cells"][4] == f"{len(openai_upload.read_bytes())} B"
    assert by_name["anthropic.jsonl"]["provider"] == "anthropic"
    assert driver.find_elements(By.CSS_SELECTOR, "#files img, #batches img") == []
    driver.save_screenshot(str(screenshots / "3-cancelled-and-files.png"))

    # Each key went only to its own provider; the page broke no CSP rule and threw nothing.
    assert openai.keys_seen == {OPENAI_KEY}
    logs = [entry["message"] for entry in driver.get_log("browser")]
    assert not [message for message in logs if "Content Security Policy" in message or "Uncaught" in message], logs


@contextmanager
def _served(wsgi):
    """`wsgi` on a loopback port in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class OlderGateway:
    """In front of the app: a gateway without `?provider=all`, refusing it as one does (a 400 naming
    `provider`); records each list call's provider."""

    def __init__(self, app) -> None:
        self.app, self.lists = app, []

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        if request.method == "GET" and request.path in ("/openai/v1/batches", "/openai/v1/files"):
            self.lists.append(request.args.get("provider"))
            if request.args.get("provider") == "all":
                body = {"error": {"message": "Unknown provider 'all'.", "type": "invalid_request_error",
                                  "param": "provider", "code": "unknown_provider"}}
                return Response(json.dumps(body), status=400, mimetype="application/json")(environ, start_response)
        return self.app(environ, start_response)


class MergedLists:
    """In front of the app: the all-providers lists and the cost endpoint as their contracts say (other
    branches build them), answered from canned data, recording what the page sent. Everything else
    goes to the app."""

    BATCHES = [
        {"id": "batch_merged_openai", "object": "batch", "status": "completed", "created_at": 1_700_000_200,
         "completed_at": 1_700_000_300, "output_file_id": "file-merged-out", "error_file_id": None,
         "request_counts": {"total": 4, "completed": 3, "failed": 1},
         "usage": {"input_tokens": 100, "output_tokens": 23, "total_tokens": 123}},
        {"id": "msgbatch_01merged", "object": "batch", "status": "failed", "created_at": 1_700_000_100,
         "failed_at": 1_700_000_150, "request_counts": {"total": 2, "completed": 0, "failed": 2}},
        # A Gemini batch (its code in the ID): no Gemini key in this tab, so not shown.
        {"id": "batch_dsg_YmF0Y2hlcy94", "object": "batch", "status": "completed", "created_at": 1_700_000_050},
    ]
    ERRORS = [{"provider": "anthropic", "error": {"message": "anthropic answered 429: slow down"}},
              {"provider": "gemini", "error": {"message": "no key for gemini"}}]  # not in view: not shown

    def __init__(self, app) -> None:
        self.app, self.seen, self.urls = app, [], []

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.seen.append((request.path, request.args.get("provider"), dict(request.headers)))
        self.urls.append(request.url)
        if request.path in ("/openai/v1/batches", "/openai/v1/files") and request.args.get("provider") == "all":
            data = self.BATCHES if request.path.endswith("batches") else [
                {"id": "file-merged-out", "object": "file", "bytes": 5 * 1024 * 1024, "created_at": 1_700_000_300,
                 "filename": "out.jsonl", "purpose": "batch_output"}]
            body = {"object": "list", "data": data, "has_more": False, "provider_errors": self.ERRORS}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        if request.path == "/openai/v1/batches/batch_merged_openai/cost":
            body = {"total_cost": 0.0123, "currency": "usd"}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        return self.app(environ, start_response)


def test_console_uses_the_merged_list_and_cost_endpoint_as_their_contracts_say(app, rsps, browser):
    merged = MergedLists(app)
    with _served(merged) as base:
        driver = browser
        driver.get(f"{base}/console")
        _until(lambda: driver.execute_script("return document.body.dataset.ready"), "the page to start")
        driver.find_element("id", "key-openai").send_keys(OPENAI_KEY)
        driver.find_element("id", "key-anthropic").send_keys(ANTHROPIC_KEY)
        driver.find_element("id", "keys-save").click()
        rows = _until(lambda: (rows := _rows(driver, "batches")) and "…" not in [row["cells"][5] for row in rows]
                      and rows, "the merged list and the costs")
        assert rows[0]["cells"][5] == "0.0123 usd"
        assert [(row["provider"], row["id"], row["status"]) for row in rows] == [
            ("openai", "batch_merged_openai", "completed"), ("anthropic", "msgbatch_01merged", "failed")]
        assert rows[0]["progress"] == [4, 4] and "(1 failed)" in rows[0]["cells"][3] and rows[0]["cells"][4] == "123"
        errors = driver.execute_script(
            "return Array.from(document.querySelectorAll('#batch-provider-errors li')).map((li) => li.textContent)")
        assert errors == ["anthropic: anthropic answered 429: slow down"]
        files = _until(lambda: _rows(driver, "files"), "the merged file list")
        assert files[0]["cells"][4] == "5.0 MB" and files[0]["cells"][3] == "batch_output"

        lists = [(path, headers) for path, provider, headers in merged.seen if provider == "all"]
        assert {path for path, _ in lists} == {"/openai/v1/batches", "/openai/v1/files"}
        for _, headers in lists:
            assert headers["Authorization"] == f"Bearer {OPENAI_KEY}"
            assert headers["X-Deepintshield-Key-Openai"] == OPENAI_KEY
            assert headers["X-Deepintshield-Key-Anthropic"] == ANTHROPIC_KEY
        assert not [seen for seen in merged.seen if seen[1] in registry_names()]  # never provider by provider
        costs = {path: headers["Authorization"] for path, _, headers in merged.seen if path.endswith("/cost")}
        assert costs == {"/openai/v1/batches/batch_merged_openai/cost": f"Bearer {OPENAI_KEY}",  # each its key
                         "/openai/v1/batches/msgbatch_01merged/cost": f"Bearer {ANTHROPIC_KEY}"}
        assert rows[1]["cells"][5] == "n/a"  # no cost for it here: the page says so and goes on
        # Keys travel in those headers only: not in a URL, not with the page's own files or config.
        assert not [url for url in merged.urls if OPENAI_KEY in url or ANTHROPIC_KEY in url]
        assert not [path for path, _, headers in merged.seen if path.startswith("/console")
                    and ("Authorization" in headers or any(h.startswith("X-Deepintshield") for h in headers))]


def registry_names() -> set[str]:
    from blueprints import registry
    return set(registry.PROVIDERS)


def test_console_in_gateway_key_mode_on_a_gateway_without_merged_lists(app, rsps, browser, screenshots, tmp_path):
    """One gateway key, the gateway's own key upstream; the lists asked provider by provider."""
    openai = FakeOpenAI()
    openai.register(rsps)
    app.config.update(API_KEYS=["sk-gateway-console"], OPENAI_API_KEY="sk-operator")
    older = OlderGateway(app)
    with _served(older) as base:
        _gateway_key_session(browser, base, screenshots, tmp_path)
    assert "all" in older.lists and set(older.lists) == {"all", "openai"}  # refused once, then OpenAI's own
    assert older.lists.count("all") == 2  # batches and files once each: not asked again on each refresh
    assert openai.keys_seen == {"sk-operator"}  # the gateway's own key upstream, never the client's
    assert openai.violations == []


def _gateway_key_session(driver, base: str, screenshots: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/console")
    _until(lambda: driver.execute_script("return document.body.dataset.ready"), "the page to start")
    assert "gateway-key" in driver.find_element(By.ID, "mode").text
    assert driver.find_elements(By.CSS_SELECTOR, "#provider-keys input[type=password]") == []  # no per-provider keys
    shown = [box.get_attribute("name") for box in driver.find_elements(By.CSS_SELECTOR, "input.show")]
    assert "openai" in shown and "anthropic" not in shown  # no ANTHROPIC_API_KEY: not offered
    for box in driver.find_elements(By.CSS_SELECTOR, "input.show"):
        if box.get_attribute("name") != "openai":
            box.click()  # list OpenAI only (Bedrock and Vertex AI would look for cloud credentials)
    driver.find_element(By.ID, "key-gateway").send_keys("sk-gateway-console")
    driver.find_element(By.ID, "keys-save").click()

    upload = tmp_path / "gateway.jsonl"
    upload.write_text(_jsonl("gpt-4o-mini", ["g-1", "g-2", "g-3"]))
    batch_id = _create(driver, "openai", upload)
    done = _until(lambda: next((r for r in _rows(driver, "batches")
                                if r["id"] == batch_id and r["status"] == "completed"), None), "the batch to complete")
    assert done["progress"] == [3, 3]
    assert driver.execute_script("return document.querySelectorAll('#batch-provider-errors li').length") == 0
    files = _until(lambda: (rows := _rows(driver, "files")) and len(rows) == 2 and rows, "the output file listed")
    assert sorted(row["cells"][3] for row in files) == ["batch", "batch_output"]  # listed with no click
    driver.save_screenshot(str(screenshots / "4-gateway-key-mode.png"))


def test_console_shows_batches_of_all_four_providers_at_once(gateway, app, bedrock_contract, openai_contract,
                                                             anthropic_contract, gemini_contract, browser,
                                                             screenshots):
    """Batches made with the SDK on OpenAI, Anthropic, Gemini and Bedrock (gateway-key mode, the real
    merged list) show in one table, each with its provider, progress and times."""
    from selenium.webdriver.common.by import By

    from tests.fakes import bedrock as bedrock_fakes
    from tests.test_list_all_e2e import KEY, _create, _sdk, _upload

    app.config.update(API_KEYS=[KEY], OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY,
                      AZURE_OPENAI_ENDPOINT="", VERTEX_PROJECT="",
                      BEDROCK_DEFAULT_BUCKET=bedrock_fakes.BUCKET, BEDROCK_DEFAULT_PREFIX="contract")
    sdk = _sdk(gateway)
    fakes = (openai_contract, anthropic_contract, gemini_contract, bedrock_contract)
    made = {fake.provider: _create(sdk, fake, _upload(sdk, fake, f"console-{fake.provider}").id).id for fake in fakes}

    driver = browser
    driver.get(f"{gateway}/console")
    _until(lambda: driver.execute_script("return document.body.dataset.ready"), "the page to start")
    for box in driver.find_elements(By.CSS_SELECTOR, "input.show"):
        if box.get_attribute("name") not in made and box.is_selected():
            box.click()
    driver.find_element(By.ID, "key-gateway").send_keys(KEY)
    driver.find_element(By.ID, "keys-save").click()
    rows = _until(lambda: (rows := _rows(driver, "batches")) and {r["provider"] for r in rows} >= set(made) and rows,
                  "batches of all four providers")
    shown = {row["provider"]: row for row in rows}
    assert set(shown) == {"openai", "anthropic", "gemini", "bedrock"}
    for provider, row in shown.items():
        assert row["status"] and row["progress"] is not None, (provider, row)
    assert shown["openai"]["id"] == made["openai"] and shown["gemini"]["id"] == made["gemini"]
    assert driver.execute_script("return document.querySelectorAll('#batch-provider-errors li').length") == 0
    driver.save_screenshot(str(screenshots / "5-four-providers.png"))
