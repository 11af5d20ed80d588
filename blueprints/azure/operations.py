"""Azure OpenAI files and batches: the OpenAI provider's operations over Azure's client description.

Uploads with `purpose=batch` are checked against Azure's batch-file rules as they stream up
(`lines.py`); batches are created with the endpoint spelling Azure's API form takes (`client.py`).
Replies are normalised into OpenAI's objects and results converted line by line, as for every
provider with encoded IDs (`blueprints/openai/operations.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import current_app

from blueprints.azure import NAME, client, lines
from blueprints.openai.operations import OpenAIShaped


def _checked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    config = current_app.config
    return lines.checked(chunks, client.batch_urls(), int(config["AZURE_OPENAI_MAX_BATCH_REQUESTS"]),
                         int(config["AZURE_OPENAI_MAX_BATCH_BYTES"]))


AZURE = OpenAIShaped(NAME, client.client, _checked, endpoints=client.endpoints)

create_file = AZURE.create_file
list_files = AZURE.list_files
retrieve_file = AZURE.retrieve_file
delete_file = AZURE.delete_file
file_content = AZURE.file_content
create_batch = AZURE.create_batch
retrieve_batch = AZURE.retrieve_batch
list_batches = AZURE.list_batches
cancel_batch = AZURE.cancel_batch
