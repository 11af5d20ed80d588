"""marshmallow schemas: OpenAI's objects (what we answer) and our request bodies (what we accept)."""
