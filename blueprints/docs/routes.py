"""`/openapi.json` and `/docs`. Neither needs a key; both get the normal headers (request id).

Swagger UI's files come from the pinned flask-swagger-ui package (its `dist/`, Swagger UI itself),
served from here by name: nothing is fetched from a CDN, and the page asks no outside validator.
"""

from __future__ import annotations

import functools
from importlib.resources import files

import msgspec
from flask import Blueprint, Response, send_from_directory

from blueprints.docs.openapi import DOCS_ASSETS, description
from errors import NotFound

bp = Blueprint("docs", __name__)

SWAGGER_UI = str(files("flask_swagger_ui") / "dist")
# Relative URLs, so the page also works behind a proxy that mounts the gateway under a path.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>DeepintShield API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="stylesheet" href="docs/index.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
    });
  </script>
</body>
</html>
"""


@functools.cache
def _description_json() -> bytes:
    return msgspec.json.encode(description())


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(_description_json(), mimetype="application/json")


@bp.get("/docs")
def docs() -> Response:
    return Response(PAGE, mimetype="text/html")


@bp.get("/docs/<asset>")
def docs_asset(asset: str) -> Response:
    if asset not in DOCS_ASSETS:
        raise NotFound(f"No docs file {asset!r}.", param="asset")
    return send_from_directory(SWAGGER_UI, asset)
