"""HTTP layer: the dispatcher blueprint and one package per provider."""
