"""Anthropic provider: OpenAI Files and Batch calls served by Anthropic Message Batches.

Anthropic batches take no file input, so uploaded batch files live in the gateway's file store
(namespace "anthropic") and are inlined into `POST /v1/messages/batches` at batch-create time.
Results are converted to OpenAI output/error lines while they stream to the client.
"""

NAME = "anthropic"
