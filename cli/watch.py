"""Follow a batch until it ends: poll `batches.retrieve` and show a progress bar (stderr) over its
`request_counts`, the status in the bar's label. The provider counts requests once it has read the
input, so the bar's length is set when the total is first known."""

from __future__ import annotations

import sys
import time

import click
from openai import OpenAI
from openai.types import Batch

from cli.client import named

ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


def follow(client: OpenAI, batch: Batch, provider: str | None, interval: float) -> Batch:
    """Poll `batch` every `interval` seconds until it ends; the last Batch seen."""
    # No count to show until the provider has counted the requests: `show_pos` is turned on then.
    with click.progressbar(length=1, label=f"{batch.id} {batch.status}", file=sys.stderr, show_eta=False,
                           show_percent=False) as bar:
        while True:
            counts = batch.request_counts
            if counts is not None and counts.total:
                bar.length, bar.show_pos = counts.total, True
                done = min(counts.completed + counts.failed, counts.total)
                if done != bar.pos:
                    bar.update(done - bar.pos)
            label = f"{batch.id} {batch.status}"
            if label != bar.label:
                bar.label = label
                bar.render_progress()
            if batch.status in ENDED:
                return batch
            time.sleep(interval)
            batch = client.batches.retrieve(batch.id, extra_query=named(provider))
