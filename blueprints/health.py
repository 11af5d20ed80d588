"""Liveness, readiness and version: what a platform or an operator polls. No key needed.

`/healthz` says the process serves requests. `/readyz` says it can do its work: the configuration
loaded (it did, or the app would not exist), the file store takes a write and gives it back, and
the queue of gateway-run batches answers (its SQLite file opens, or Redis answers a PING); a
failing check is a 503 that names it. `/version` is the release and, when the platform says, the commit.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Blueprint, Response, current_app, jsonify

from blueprints.common import filestore
from errors import APIError
from version import __version__

log = logging.getLogger("deepintshield")
bp = Blueprint("health", __name__)

READY_CACHE_SECONDS = 5.0  # platforms poll every few seconds; an S3 store probe is three calls
_last: dict[str, tuple[float, dict[str, str]]] = {}


@bp.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Response:
    checks = _checks()
    failing = {name: result for name, result in checks.items() if result != "ok"}
    if not failing:
        return jsonify({"status": "ready", "checks": checks})
    name, problem = next(iter(failing.items()))
    body = APIError(503, f"Not ready: {name}: {problem}", code="not_ready", type="server_error").to_dict()
    response = jsonify({**body, "checks": checks})  # the error shape, and every check's result beside it
    response.status_code = 503
    return response


@bp.get("/version")
def version() -> dict:
    return {"version": __version__, "commit": os.environ.get("SOURCE_VERSION") or os.environ.get("GIT_COMMIT")}


def _checks() -> dict[str, str]:
    location = current_app.config["FILE_STORE"] + "|" + current_app.config["QUEUE"]
    cached = _last.get(location)
    if cached and time.monotonic() - cached[0] < READY_CACHE_SECONDS:
        return cached[1]
    checks = {"config": "ok", "file_store": _file_store(), "queue": _queue()}
    _last[location] = (time.monotonic(), checks)
    return checks


def _queue() -> str:
    from blueprints.gateway.store import store_for

    try:
        store_for(current_app.config["QUEUE"]).active()
    except Exception as error:
        log.warning("readiness: the queue failed: %r", error)  # not the location: a Redis URL may hold a password
        return f"{type(error).__name__}"[:300]
    return "ok"


def _file_store() -> str:
    try:
        filestore.backend().probe()
    except Exception as error:  # any failure is "not ready", said in words
        log.warning("readiness: file store %s failed: %r", current_app.config["FILE_STORE"], error)
        return f"{type(error).__name__}: {error}"[:300]
    return "ok"
