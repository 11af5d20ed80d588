"""A web page cannot drive the gateway from a browser, and the operator's key never travels with a
client's organization or project headers."""

from __future__ import annotations

import responses

from tests.conftest import OPENAI_BASE

AUTH = {"Authorization": "Bearer sk-test-key"}


def test_a_cross_site_browser_request_is_refused_before_anything_runs(client, rsps):
    response = client.get("/openai/v1/files", headers={**AUTH, "Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json["error"]["code"] == "origin_not_allowed"
    response = client.post("/openai/v1/files", headers={**AUTH, "Origin": "http://attacker.test"},
                           data={"purpose": "batch", "provider": "bedrock"})
    assert response.status_code == 403
    assert len(rsps.calls) == 0


def test_same_origin_and_allowed_origins_pass(client, app, rsps):
    rsps.add(responses.GET, f"{OPENAI_BASE}/files", json={"object": "list", "data": [], "has_more": False})
    assert client.get("/openai/v1/files", headers={**AUTH, "Origin": "http://localhost"}).status_code == 200
    app.config["ALLOWED_ORIGINS"] = ["https://console.example"]
    assert client.get("/openai/v1/files", headers={**AUTH, "Origin": "https://console.example"}).status_code == 200


def test_organization_headers_pass_only_with_the_clients_own_key(client, app, rsps):
    rsps.add(responses.GET, f"{OPENAI_BASE}/files", json={"object": "list", "data": [], "has_more": False})
    headers = {**AUTH, "OpenAI-Organization": "org-client", "OpenAI-Project": "proj-client"}
    client.get("/openai/v1/files", headers=headers)
    assert rsps.calls[-1].request.headers["OpenAI-Organization"] == "org-client"
    app.config.update(API_KEYS=["sk-test-key"], OPENAI_API_KEY="sk-operator")
    client.get("/openai/v1/files", headers=headers)
    sent = rsps.calls[-1].request.headers
    assert sent["Authorization"] == "Bearer sk-operator"
    assert "OpenAI-Organization" not in sent and "OpenAI-Project" not in sent
