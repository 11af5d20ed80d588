"""Stateful fakes of the providers' APIs, moto-style: a backend with the rules, thin HTTP callbacks."""


def fake_base(provider: str) -> str:
    """Where a provider's fake answers: `https://<name>.fake` plus the path of its real base URL.

    Here, not in conftest, so a fake module imports without loading every other fake (`make demo`
    and the benchmarks import them one at a time)."""
    from urllib.parse import urlsplit

    from blueprints import registry

    spec = registry.get(provider)
    return f"https://{provider}.fake{urlsplit(spec.settings[spec.base_url].load_default).path}".rstrip("/")
