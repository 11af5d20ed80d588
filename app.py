"""The application factory: config, logging, error handlers, request log, blueprints, `/metrics`. Nothing else."""

from __future__ import annotations

import logging
import os

from flask import Flask

import config
import errors
import logformat
import metrics
import requestlog
from blueprints import console, dispatcher, docs, health
from jsonprovider import MsgspecProvider


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)  # no /static/<path> rule: the gateway has no static files
    app.json = MsgspecProvider(app)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    logformat.configure()  # JSON lines; under gunicorn, gunicorn.conf.py has configured them already
    config.check(app.config)  # a file store or Bedrock location the gateway cannot use: no start

    errors.register(app)
    requestlog.register(app)
    app.register_blueprint(dispatcher.bp, url_prefix="/openai/v1", name="openai_v1")
    app.register_blueprint(dispatcher.bp, url_prefix="/openai", name="openai")
    app.register_blueprint(health.bp)
    metrics.register(app)
    app.register_blueprint(docs.bp)  # /openapi.json and /docs: the description of every route above
    app.register_blueprint(console.bp, url_prefix="/console")  # the web console, a client of the API above
    _log_mode(app)
    _warn_ephemeral_store(app)
    return app


# Environment variables by which platforms with an ephemeral, per-instance disk announce themselves.
EPHEMERAL_DISK_PLATFORMS = {"DYNO": "Heroku", "RENDER": "Render", "FLY_APP_NAME": "Fly.io",
                            "RAILWAY_ENVIRONMENT": "Railway", "K_SERVICE": "Cloud Run"}


def _warn_ephemeral_store(app: Flask) -> None:
    """A local file store on a platform whose disk is lost on restart and not shared: say so at startup."""
    if str(app.config["FILE_STORE"]).startswith("s3://"):
        return
    platform = next((name for variable, name in EPHEMERAL_DISK_PLATFORMS.items() if os.environ.get(variable)), None)
    if platform:
        logging.getLogger("deepintshield").warning(
            "the file store %s is a local directory on %s, whose disk is lost on restart and not shared between "
            "instances: stored Anthropic files and Gemini copies will vanish; set DEEPINTSHIELD_FILE_STORE to "
            "s3://bucket/prefix", app.config["FILE_STORE"], platform)


def _log_mode(app: Flask) -> None:
    log = logging.getLogger("deepintshield")
    if app.config["API_KEYS"]:
        log.info("gateway-key mode: clients must present one of DEEPINTSHIELD_API_KEYS")
    else:
        log.warning(
            "passthrough mode (no DEEPINTSHIELD_API_KEYS): each client's bearer key is used as its provider key; "
            "Bedrock requests, which spend this server's own AWS credentials, are served to loopback clients only"
        )
