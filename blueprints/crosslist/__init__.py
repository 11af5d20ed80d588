"""`GET /files?provider=all` and `GET /batches?provider=all`: one list over every provider in use.

Which providers: those this deployment uses (`Provider.in_use` over the settings) and that have a key:
in gateway-key mode the gateway's own (`<PROVIDER>_API_KEY`; a provider whose key is unset is not in
use and left out silently), in passthrough the one the client sends for it in
`X-DeepintShield-Key-<provider>` (the bearer key of a single-provider call; a provider without one
is named in `provider_errors`). Bedrock, which runs on the gateway's AWS credentials, needs no
header (its guard still applies); the header, if sent, names the owner of its gateway-run batches.
Batches come from each provider's own list and from the batches the gateway runs for it
(`blueprints/gateway`), as separate lists.

Each list is read from its start, newest first, in pages of `PAGE` (its own cursor), until it is read
far enough for this page (`translators/listmerge.Walk`), at most `DEEPINTSHIELD_LIST_ALL_MAX_PAGES`
pages; the lists are then merged (`listmerge.merge`). The cursor `after` is an item's ID (what the
SDK's auto-pagination sends): its provider comes from the ID (`blueprints/dispatcher/ids.py`) and its
place from its own list, read first. A provider that fails (its error, a timeout, no key, a list
deeper than the cap) is named in `provider_errors` and its items are left out of the page; the page
fails only when the cursor's own provider does (the page's place is then unknown) or the cursor is
no longer in its list (a 400).
"""

from blueprints.crosslist.listing import ALL, KEY_HEADER, list_batches, list_files

__all__ = ["ALL", "KEY_HEADER", "list_batches", "list_files"]
