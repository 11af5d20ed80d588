"""Helpers every provider package shares: upstream HTTP, credentials, file store, streams."""
