"""`/console` (the page), `/console/static/...` (its JS and CSS) and `/console/config.json`.

The page holds no data and no key: the browser keeps the keys (sessionStorage) and calls
`/openai/v1/...` itself, same-origin, with them in `Authorization` (or the per-provider key headers of
the all-providers list). So nothing here authenticates; `config.json` says only what `/openapi.json`
already does (the providers and what they take) and whether the gateway wants its own key.

Every console response carries a strict Content-Security-Policy: scripts, styles and requests from
this origin only, no inline script or style, no frames, no plugins, no form posts. With the page's
JS writing data only through `textContent`, a batch's metadata or a file name cannot run as script.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from blueprints import registry
from blueprints.common import auth
from blueprints.console import catalog

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # the progress bars and icons are CSS; data: for the favicon placeholder
    "connect-src 'self'",  # the gateway's own API only
    "form-action 'none'",  # the page's forms are handled by its script, never posted
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
))


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype != "text/css" and response.mimetype != "text/javascript":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("", strict_slashes=False)
def page() -> str:
    # The page finds the API and its config through these absolute paths (under a proxy's prefix too).
    return render_template("console/index.html", api=f"{request.script_root}/openai/v1",
                           config_url=url_for("console.config_json"))


@bp.get("/config.json")
def config_json() -> Response:
    gateway_keys = auth.gateway_keys_enabled()
    return jsonify({
        "mode": "gateway-key" if gateway_keys else "passthrough",
        "default_provider": registry.DEFAULT,
        "providers": catalog.providers(gateway_keys, current_app.config),
    })
