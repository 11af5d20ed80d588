"""Rate limits of gateway-run batches, per provider and model, shared by every worker.

`DEEPINTSHIELD_GATEWAY_RATE_LIMITS="openai=500rpm/200000tpm,anthropic:claude-3-5-haiku*=50rpm"`:
each item names a provider, optionally a model glob after `:`, and requests and/or tokens per
minute. The first item that matches a line's provider and model applies. Requests are taken from a
token bucket before each call; tokens are charged after it, from the reply's `usage`, so a bucket
driven below zero holds the next calls back until it has refilled. The buckets live in the job
store (`store.take`), so all workers on all machines share them.

Importing this needs no Flask: `config.py` reads the setting's parser.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from configfields import Invalid, Setting

_ITEM = re.compile(r"^(?P<provider>[a-z][a-z0-9]*)(?::(?P<model>[^=]+))?=(?P<rates>.+)$")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(rpm|tpm)$")


@dataclass(frozen=True)
class Limit:
    provider: str
    model: str  # a glob; "*" for every model
    rpm: float | None
    tpm: float | None

    def key(self, what: str) -> str:
        return f"{what}:{self.provider}:{self.model}"


def parse(text: str) -> list[Limit]:
    limits = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        match = _ITEM.match(item)
        if not match:
            raise Invalid(f"{item!r} is not provider[:model]=<n>rpm/<n>tpm")
        rates: dict[str, float] = {}
        for rate in match["rates"].split("/"):
            found = _RATE.match(rate.strip().lower())
            if not found or float(found[1]) <= 0:
                raise Invalid(f"{rate!r} (in {item!r}) is not a positive <n>rpm or <n>tpm")
            rates[found[2]] = float(found[1])
        limits.append(Limit(match["provider"], (match["model"] or "*").strip(), rates.get("rpm"), rates.get("tpm")))
    return limits


class RateLimits(Setting):
    form, noun = "comma list of provider[:model]=<n>rpm/<n>tpm", "a list of rate limits"
    expected = "openai=500rpm/200000tpm,anthropic:claude-3-5-haiku*=50rpm"

    @classmethod
    def parse(cls, text: str) -> list[Limit]:
        return parse(text)

    def show(self, value: object) -> str:
        return "none" if not value else str(value)


def matching(limits: list[Limit], provider: str, model: str) -> Limit | None:
    return next((limit for limit in limits
                 if limit.provider == provider and fnmatch.fnmatchcase(model, limit.model)), None)
