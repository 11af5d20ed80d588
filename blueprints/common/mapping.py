"""The one place that says what happens when a provider reply does not map onto an OpenAI object.

Translators raise `KeyError` (and sometimes `TypeError`/`ValueError`/`AttributeError`/`IndexError`) on
values they have no mapping for. That is the provider's doing, not the client's: a 502 naming the provider. After a
create, though, the upstream object exists and a 5xx would make the SDK create a second one, so
the client gets a minimal Batch for what was created instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from errors import UpstreamError
from schemas.requests import NewBatch
from translators import openai_shapes as shapes

log = logging.getLogger("deepintshield")

# What a translator raises on a value it cannot read (as `batch_output.CONVERSION_ERRORS`: a string where an
# object was expected is an AttributeError, an empty list an IndexError). Anything else is a bug.
UNMAPPABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError)
T = TypeVar("T")


def mapped(provider: str, what: str, convert: Callable[..., T], *args, **kwargs) -> T:
    """`convert(*args, **kwargs)`; a reply it cannot map is a 502 that names the provider."""
    try:
        return convert(*args, **kwargs)
    except UNMAPPABLE as error:
        log.warning("%s %s does not map: %r", provider, what, error)
        raise UpstreamError(provider, 502, f"the {what} does not map onto an OpenAI object ({error!r})",
                            code="unmappable_reply", type="upstream_error") from None


def created_batch(batch_id: str, new: NewBatch, status: str, *, model: str | None = None,
                  metadata: dict[str, str] | None = None) -> dict:
    """The Batch to answer a create with when the created object cannot be read back or mapped.

    Its `created_at` is the gateway's clock (the provider's is unknown); a retrieve gives the real one.
    """
    return shapes.batch(id=batch_id, status=status, created_at=int(time.time()), endpoint=new.endpoint, model=model,
                        input_file_id=new.input_file_id, completion_window=new.completion_window, metadata=metadata)
