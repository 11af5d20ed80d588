"""The web console at `/console`: one page (a template, a CSS and a JS file) that is a client of the
gateway's own API, and `/console/config.json`, the providers it may offer. Nothing here reads a key."""

from blueprints.console.routes import bp

__all__ = ["bp"]
