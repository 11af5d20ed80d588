"""The `deepintshield` command line: submit, watch, list, download and cancel batches through the gateway.

It talks to the gateway only through the official `openai` SDK, so it doubles as a reference client:
every call it makes is one a user's own code can make the same way. `python -m cli` runs it; `make`
installs a `deepintshield` launcher in the venv's bin. Modules: `main` (the commands), `client` (the SDK
client, the provider on each call, the gateway's own extensions), `transfer` (uploads and downloads
with byte progress), `watch` (polling a batch with a progress bar), `output` (tables and JSON).
"""
