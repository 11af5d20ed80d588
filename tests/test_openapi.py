"""The OpenAPI description (/openapi.json) and the docs page (/docs): a valid OpenAPI 3.1 document that
describes every route the app registers, served without a key, with nothing fetched from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from blueprints import registry
from blueprints.docs import openapi
from blueprints.docs.routes import SWAGGER_UI
from schemas.batch import BatchSchema
from schemas.file import FileObjectSchema

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def test_config(test_config):
    return {**test_config, "API_KEYS": ["sk-gateway"]}  # the description and docs need no key even so


@pytest.fixture
def description(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["x-request-id"]
    return response.json


def test_the_description_is_valid_openapi_3_1(description):
    assert description["openapi"] == "3.1.0"
    validate(description)


def _described_path(rule: str) -> str:
    """The description's path for a URL rule: `<path:file_id>` -> `{file_id}`, /openai -> /openai/v1."""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    if path.startswith(f"{openapi.ALIAS}/") and not path.startswith(f"{openapi.API}/"):
        path = openapi.API + path[len(openapi.ALIAS):]  # the alias serves the same operations
    return path


def test_every_route_the_app_registers_is_described_and_nothing_else(app, description):
    served = {(_described_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() for method in rule.methods if method.lower() in METHODS}
    described = {(path, method) for path, item in description["paths"].items() for method in item if method in METHODS}
    assert served - described == set(), "routes without a description: add them in blueprints/docs/openapi.py"
    assert described - served == set(), "described operations no route serves"


def test_every_api_operation_names_its_errors_and_the_request_id(description):
    for path, item in description["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            assert "200" in responses, (method, path)
            if path.startswith(openapi.API):
                assert {"400", "401", "403", "404", "429", "502", "504"} <= set(responses), (method, path)
                assert operation.get("security") is None  # the global bearer requirement holds
            elif path == "/metrics":  # its own key, a gateway key, or none (passthrough)
                assert operation["security"] == [{"bearer": []}, {}]
            else:
                assert operation["security"] == []
            for status, response in responses.items():
                if "$ref" in response:
                    name = response["$ref"].rsplit("/", 1)[1]
                    response = description["components"]["responses"][name]
                assert "x-request-id" in response["headers"], (method, path, status)


def test_objects_are_described_from_their_marshmallow_schemas(description):
    schemas = description["components"]["schemas"]
    for name, schema in (("FileObject", FileObjectSchema), ("Batch", BatchSchema)):
        assert list(schemas[name]["properties"]) == list(schema().fields)
        assert schemas[name]["required"] == list(schema().fields)  # the gateway answers with every field
    assert schemas["Batch"]["properties"]["status"]["enum"] == list(BatchSchema().fields["status"].validate.choices)
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}


def test_gateway_fields_are_described_the_way_the_sdk_sends_them(description):
    upload = description["paths"][f"{openapi.API}/files"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = upload["schema"]
    assert list(form["properties"])[-1] == "file"  # the fields come first
    assert {"provider", "purpose", "storage_config[s3][bucket]", "expires_after[seconds]"} <= set(form["properties"])
    assert form["dependentRequired"]["storage_config[s3][region]"] == ["storage_config[s3][bucket]"]
    assert set(upload["examples"]) == set(registry.BUILT_IN)  # one workflow per provider
    query = {p["name"]: p for p in description["paths"][f"{openapi.API}/batches"]["get"]["parameters"]}
    assert query["storage_config"]["style"] == "deepObject"
    assert query["storage_config"]["schema"]["properties"]["s3"]["required"] == ["bucket"]
    create = description["components"]["schemas"]["CreateBatchRequest"]["properties"]
    assert {"provider", "requests", "model", "output_s3_uri", "role_arn", "storage_config"} <= set(create)


def _patterns(node: object):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "pattern" else _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_patterns_are_ecma_regular_expressions(description):
    patterns = list(_patterns(description))
    assert patterns and not [pattern for pattern in patterns if "\\Z" in pattern]  # Python's end of string


def test_the_docs_page_needs_no_key_and_fetches_nothing_from_elsewhere(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html" and page.headers["x-request-id"]
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"(https?:)?//", html) and "validatorUrl: null" in html
    for asset in re.findall(r"(?:src|href)=\"(docs/[^\"]+)\"", html):
        served = client.get(f"/{asset}")
        assert served.status_code == 200 and served.headers["x-request-id"], asset
    assert client.get("/docs/../app.py").status_code == 404
    assert client.get("/docs/LICENSE").status_code == 404  # only the page's own files
    assert client.get("/openai/v1/files").status_code == 401  # while the API itself wants the key


def test_the_vendored_swagger_ui_understands_openapi_3_1():
    version = Path(SWAGGER_UI, "VERSION").read_text().strip()
    assert int(version.lstrip("v").split(".")[0]) >= 5  # Swagger UI renders OpenAPI 3.1 from v5 on


def test_only_the_lists_take_provider_all_and_its_key_headers(description):
    for path, item in description["paths"].items():
        for method, operation in item.items():
            if method not in METHODS or not path.startswith(openapi.API):
                continue
            params = {(p["in"], p["name"]): p for p in operation["parameters"]}
            listing = operation["operationId"] in ("listFiles", "listBatches")
            provider = params.get(("query", "provider"))
            assert provider is None or ("all" in provider["schema"]["enum"]) == listing, (method, path)
            headers = {name for where, name in params if where == "header"}
            assert headers == ({f"X-DeepintShield-Key-{name}" for name in registry.PROVIDERS} if listing else set())
    for name in ("FileList", "BatchList"):
        schema = description["components"]["schemas"][name]
        assert "provider_errors" in schema["properties"] and "provider_errors" not in schema.get("required", [])
    error = description["components"]["schemas"]["ProviderError"]
    assert set(error["required"]) == {"provider", "error"}
