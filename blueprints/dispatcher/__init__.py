"""The OpenAI-compatible surface: `/openai/v1/...` and `/openai/...` routes that pick a provider,
validate the request with schemas, call the provider's operations and serialize the answer."""

from blueprints.dispatcher.routes import bp

__all__ = ["bp"]
