"""Pure conversions between OpenAI's batch shapes and each provider's. No I/O, no clock, no config."""
