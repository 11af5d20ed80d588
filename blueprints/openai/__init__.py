"""The OpenAI provider: files and batches passed through to OpenAI's own API."""

NAME = "openai"
