"""What the provider contract test (tests/test_provider_contract.py) needs from each provider's fake.

Every fake module `tests/fakes/<provider>.py` defines a pytest fixture named `<provider>_contract`
that sets the fake up (and whatever it needs: S3, an emulator, settings on `app.config`) and returns
a `ContractFake`. `tests/conftest.py` loads every registered provider's fake module as a pytest
plugin, so a new provider's fixture is found without edits to the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Scripting(Protocol):
    def next_batch_has_an_unconvertible_line(self, custom_id: str) -> None:
        """Make the next batch's results hold, for `custom_id`, a line the gateway cannot convert
        (a shape the provider's own definitions would not produce is fine: the point is the fallback)."""

    def finish(self, batch_id: str) -> None:
        """Make the batch with this gateway ID end (successfully) on the fake; polling may also do it."""


@dataclass
class ContractFake:
    """A provider's fake as the contract test drives it, through the real OpenAI SDK."""

    provider: str
    script: Scripting
    model: str  # the model the batch lines and `create_body` name
    upload_body: dict = field(default_factory=dict)  # extra_body of files.create besides `provider`
    create_body: dict = field(default_factory=dict)  # extra_body of batches.create besides `provider`
    query: dict = field(default_factory=dict)  # extra_query of follow-up calls besides `provider`
    min_lines: int = 2  # lines a batch needs on this provider
    converts_results: bool = True  # False: the provider's result files are relayed as they are (OpenAI)
    # False: a listing cannot give a batch the ID its create gave it (Anthropic: a file-based batch's ID
    # carries its input file, which a Message Batch does not keep).
    lists_batches_by_their_ids: bool = True
    gives_back_uploads: bool = True  # files.content of an uploaded file returns its bytes
    can_delete_uploads: bool = True
