"""The application factory: config, logging, error handlers, blueprints. Nothing else."""

from __future__ import annotations

import logging

from flask import Flask

import config
import errors
import requestlog
from blueprints import dispatcher, docs
from blueprints.bedrock import operations as bedrock_operations
from jsonprovider import MsgspecProvider


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)  # no /static/<path> rule: the gateway has no static files
    app.json = MsgspecProvider(app)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    bedrock_operations.check_defaults(app.config)  # a Bedrock default location jobs cannot use: no start

    errors.register(app)
    requestlog.register(app)
    app.register_blueprint(dispatcher.bp, url_prefix="/openai/v1", name="openai_v1")
    app.register_blueprint(dispatcher.bp, url_prefix="/openai", name="openai")
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.register_blueprint(docs.bp)  # /openapi.json and /docs: the description of every route above
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
