"""The gateway's description of itself: `/openapi.json` (OpenAPI 3.1, built from the marshmallow
schemas) and `/docs` (Swagger UI over it, served from a pinned package: no CDN)."""

from blueprints.docs.routes import bp

__all__ = ["bp"]
