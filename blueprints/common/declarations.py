"""Providers declared by configuration: the `name=URL,name=URL` variables and their names' rules.

Two kinds of host are declared this way, each in its own variable: OpenAI-compatible batch APIs
(`DEEPINTSHIELD_OPENAI_COMPATIBLE`, `blueprints/openai/compatible.py`) and OpenAI-compatible servers
with no batch API (`DEEPINTSHIELD_CHAT_ENDPOINTS`, `blueprints/chat`). Both read their variable, name
their hosts and their keys the same way, here. Importing this needs no Flask (gunicorn's master).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from configfields import Invalid, Setting, Url

NAME = re.compile(r"[a-z][a-z0-9]{0,31}")
RESERVED = frozenset({"all"})  # `provider=all` (the cross-provider lists) is no provider's name


def parse(text: str) -> dict[str, str]:
    """name -> base URL from `name=URL,name=URL`; `Invalid` saying what is wrong with an item."""
    declared: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, equals, url = (part.strip() for part in item.partition("="))
        if not equals:
            raise Invalid(f"{item.strip()!r} is not name=URL")
        if not NAME.fullmatch(name):
            raise Invalid(f"{name!r} is not a name: lower-case letters and digits, 1-32, starting with a letter")
        if name in RESERVED:
            raise Invalid(f"{name!r} is reserved: provider={name} lists every provider (`blueprints/crosslist`)")
        if name in declared:
            raise Invalid(f"{name!r} is declared twice")
        try:
            declared[name] = Url.parse(url)
        except ValueError:
            raise Invalid(f"{url!r} (for {name}) is not an http:// or https:// URL") from None
    return declared


def from_environment(environ: Mapping[str, str], variable: str) -> dict[str, str]:
    """What `variable` declares; none when it does not parse (loading the settings reports why)."""
    try:
        return parse(environ.get(variable, ""))
    except ValueError:
        return {}


class Declarations(Setting):
    """A declaring variable's value: name -> base URL."""

    form, noun = "comma list of name=URL", "a list of declarations"
    expected = "name=https://host/v1,other=https://host2/v1 (names: a-z and 0-9, starting with a letter)"

    @classmethod
    def parse(cls, text: str) -> dict[str, str]:
        return parse(text)

    def show(self, value: Any) -> str:
        return ",".join(f"{name}={url}" for name, url in value.items())


def key_setting(name: str) -> str:
    """The setting (and environment variable) holding a declared provider's key: `GROQ_API_KEY`."""
    return f"{name.upper()}_API_KEY"
