"""The application factory: config, logging, error handlers, request log, blueprints, `/metrics`. Nothing else."""

from __future__ import annotations

import logging

from flask import Flask

import config
import errors
import logformat
import metrics
import requestlog
from blueprints import dispatcher
from blueprints.bedrock import operations as bedrock_operations
from jsonprovider import MsgspecProvider


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json = MsgspecProvider(app)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    logformat.configure()  # JSON lines; under gunicorn, gunicorn.conf.py has configured them already
    bedrock_operations.check_defaults(app.config)  # a Bedrock default location jobs cannot use: no start

    errors.register(app)
    requestlog.register(app)
    app.register_blueprint(dispatcher.bp, url_prefix="/openai/v1", name="openai_v1")
    app.register_blueprint(dispatcher.bp, url_prefix="/openai", name="openai")
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    metrics.register(app)
    _log_mode(app)
    return app


def _log_mode(app: Flask) -> None:
    log = logging.getLogger("deepintshield")
    if app.config["API_KEYS"]:
        log.info("gateway-key mode: clients must present one of DEEPINTSHIELD_API_KEYS")
    else:
        log.warning(
            "passthrough mode (no DEEPINTSHIELD_API_KEYS): each client's bearer key is used as its provider key; "
            "Bedrock requests, which spend this server's own AWS credentials, are served to loopback clients only"
        )
