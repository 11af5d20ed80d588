"""Hosts declared in `DEEPINTSHIELD_OPENAI_COMPATIBLE`, for tests: the OpenAI fake on each host's base URL.

Declared providers come from the environment at startup (`blueprints/registry.py`); a test declares
its own for its duration with `declare` (the registry gets exactly what `compatible.declared` makes
of the declaration, as at startup). `compatible_contract` is the provider contract test's view of a
declared host named `compatible` (tests/fakes/contract.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from blueprints import registry
from blueprints.dispatcher import ids
from blueprints.openai import compatible
from tests.fakes.contract import ContractFake
from tests.fakes.openai import FakeOpenAI

NAME = "compatible"
BASE = "https://compatible.fake/v1"


def declare(monkeypatch: pytest.MonkeyPatch, declaration: str) -> dict[str, compatible.Configured]:
    """Register the providers `declaration` (`name=URL,…`) makes, until the test ends."""
    declared = compatible.declared({compatible.VARIABLE: declaration}, taken=registry.BUILT_IN)
    for name, provider in declared.items():
        monkeypatch.setitem(registry.PROVIDERS, name, provider)
    return declared


class ScriptedOpenAI(FakeOpenAI):
    """The OpenAI fake, scripted for the contract test: a result line that is not OpenAI's shape on demand."""

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.unconvertible: set[str] = set()

    def _complete(self, batch: dict) -> None:
        super()._complete(batch)
        output = self.files[batch["output_file_id"]]
        lines = [json.loads(line) for line in output["_content"].decode().splitlines()]
        for line in lines:
            if line["custom_id"] in self.unconvertible:  # no status_code: no host answers like this
                self.unconvertible.discard(line["custom_id"])
                line["response"] = {"body": {"oops": True}}
        output["_content"] = "".join(json.dumps(line) + "\n" for line in lines).encode()

    def finish(self, batch_id: str) -> None:
        while self.get_batch(batch_id)["status"] not in ("completed", "failed", "cancelled"):
            self.poll_batch(batch_id)


class _Script:
    def __init__(self, fake: ScriptedOpenAI, name: str) -> None:
        self.fake, self.name = fake, name

    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        self.fake.unconvertible.add(custom_id)

    def finish(self, batch_id: str) -> None:
        self.fake.finish(ids.decode_batch(batch_id, self.name).native)


@pytest.fixture
def compatible_contract(rsps, monkeypatch) -> Iterator[ContractFake]:
    """A host declared as `compatible=https://compatible.fake/v1`, served by the OpenAI fake."""
    declare(monkeypatch, f"{NAME}={BASE}")
    fake = ScriptedOpenAI(BASE)
    fake.register(rsps)
    yield ContractFake(provider=NAME, script=_Script(fake, NAME), model="gpt-4o-mini")
    assert fake.violations == []
