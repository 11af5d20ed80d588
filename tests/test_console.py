"""The web console's routes through Flask's test client: the page and its files under a strict CSP with no
inline script, and `/console/config.json` (the providers, the endpoints each runs, the mode). The page's
behaviour in a real browser is tests/test_console_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from blueprints import registry
from blueprints.console import catalog
from blueprints.docs.openapi import CONSOLE_ASSETS
from schemas.requests import BATCH_ENDPOINTS

STATIC = Path(__file__).resolve().parent.parent / "blueprints" / "console" / "static"


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in policy.split(";"))}


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/config.json",
                                  *(f"/console/static/{name}" for name in CONSOLE_ASSETS)])
def test_every_console_response_has_a_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no 'unsafe-inline', no eval
    assert csp["connect-src"] == "'self'"  # the page talks to this gateway only
    assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'none'" and csp["base-uri"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


class _Markup(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, handlers, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.inline += [f"{tag}[{name}]" for name in attributes if name.startswith("on") or name == "style"]
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(f"<script>{data.strip()[:40]}")


def test_the_page_has_no_inline_script_or_style_and_loads_its_own_files(client):
    response = client.get("/console")
    assert response.mimetype == "text/html" and response.headers["Cache-Control"] == "no-store"
    page = _Markup()
    page.feed(response.get_data(as_text=True))
    assert page.inline == []
    assert [script["src"] for script in page.scripts] == ["/console/static/console.js"]
    assert 'data-api="/openai/v1"' in response.get_data(as_text=True)
    assert client.get("/console/static/console.js").mimetype == "text/javascript"
    assert client.get("/console/static/console.css").mimetype == "text/css"


def test_the_described_assets_are_the_static_folder():
    assert sorted(path.name for path in STATIC.iterdir()) == sorted(CONSOLE_ASSETS)


def test_the_script_writes_data_as_text_only():
    """The page's data (IDs, file names, error messages) goes in with textContent: no HTML parsing sinks."""
    script = (STATIC / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "sessionStorage" in script and "localStorage" not in script and "document.cookie" not in script


def test_config_lists_every_provider_with_the_endpoints_it_runs(client):
    config = client.get("/console/config.json").json
    assert config["mode"] == "passthrough" and config["default_provider"] == registry.DEFAULT
    listed = {provider["name"]: provider for provider in config["providers"]}
    assert list(listed) == list(registry.PROVIDERS)
    for name, provider in listed.items():
        spec = registry.get(name)
        assert provider["endpoints"] and set(provider["endpoints"]) <= set(BATCH_ENDPOINTS), name
        assert provider["model_option"] == ("model" in spec.options)
        assert provider["code"] == (spec.code or name)
    assert listed["openai"]["endpoints"] == list(BATCH_ENDPOINTS)
    assert "/v1/embeddings" not in listed["anthropic"]["endpoints"]  # Anthropic has no embeddings model
    assert "/v1/chat/completions" in listed["anthropic"]["endpoints"]


def test_config_in_gateway_key_mode_lists_only_the_providers_the_gateway_can_call(app, client):
    app.config.update(API_KEYS=["sk-gateway"], OPENAI_API_KEY="sk-operator", ANTHROPIC_API_KEY="")
    config = client.get("/console/config.json").json  # no key needed: it names providers, as /openapi.json
    assert config["mode"] == "gateway-key"
    names = [provider["name"] for provider in config["providers"]]
    assert "openai" in names and "anthropic" not in names  # no ANTHROPIC_API_KEY: every call would be a 400
    assert "bedrock" in names  # the server's own AWS credentials: no key setting
    assert "sk-operator" not in client.get("/console/config.json").get_data(as_text=True)


def test_model_suggestions_are_for_known_providers_only():
    assert set(catalog.MODELS) <= set(registry.BUILT_IN)
    assert all(re.fullmatch(r"[\w.:-]+", model) for models in catalog.MODELS.values() for model in models)


def test_the_console_api_calls_are_same_origin_and_a_foreign_page_is_refused(client, rsps):
    """The console is served by the gateway, so its fetches carry the gateway's own origin and pass
    `check_origin`; the same call from a page elsewhere is refused before anything runs."""
    headers = {"Authorization": "Bearer sk-test-key"}
    foreign = client.get("/openai/v1/batches?provider=openai", headers={**headers, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json["error"]["code"] == "origin_not_allowed"
    assert len(rsps.calls) == 0
