"""The I/O of the `?provider=all` lists (the package docstring says what they are): which providers and
with which key, reading each list's pages, and collecting what failed. The order and the merge are
`translators/listmerge.py`'s."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request

from blueprints import registry
from blueprints.common import auth
from blueprints.dispatcher import ids
from blueprints.gateway import operations as gateway
from errors import APIError, BadRequest
from schemas.requests import BatchQuery, FileQuery, Options
from translators import listmerge

log = logging.getLogger("deepintshield")

ALL = "all"  # the `provider` value that asks for every provider's items
KEY_HEADER = "X-DeepintShield-Key-{provider}"  # passthrough: the client's key for one provider
PAGE = 100  # items asked of a provider's list per call (OpenAI's batch list maximum)
DEFAULT_FILE_LIMIT = 100  # a file list's `limit` when none is given (OpenAI's 10,000 is too many to merge)

# (after: an ID this list gave, or None; limit) -> its `{"data", "has_more"}` page
Fetch = Callable[[str | None, int], dict]


@dataclass(frozen=True)
class Source:
    """One newest-first list: a provider's own, or the batches the gateway runs for it."""

    provider: str
    fetch: Fetch
    gateway_run: bool = False


class _TooDeep(Exception):
    """The list needs more than DEEPINTSHIELD_LIST_ALL_MAX_PAGES pages for this page."""


def list_batches(query: BatchQuery) -> dict:
    """A page of every provider's batches (and the gateway-run ones), newest first."""
    def locate(after: str) -> tuple[str, bool]:
        ref = ids.decode_batch(after)
        return ref.provider, ref.gateway_run
    return _listing(query.limit, query.after, _batch_sources, locate)


def list_files(query: FileQuery) -> dict:
    """A page of every provider's files (of `purpose`, if given), newest first."""
    if query.order != "desc":
        raise BadRequest("provider=all lists newest first only; order=asc is not supported.", param="order")

    def sources(provider: str) -> list[Source]:
        operations = registry.get(provider).operations
        return [Source(provider, lambda after, limit: operations.list_files(
            FileQuery(query.purpose, limit, "desc", after, Options())))]
    return _listing(query.limit or DEFAULT_FILE_LIMIT, query.after, sources, lambda after: (
        ids.decode_file(after).provider, False))


def _batch_sources(provider: str) -> list[Source]:
    spec = registry.get(provider)
    sources = []
    if not spec.gateway_only:
        operations = spec.operations
        sources.append(Source(provider, lambda after, limit: operations.list_batches(
            BatchQuery(limit, after, Options()))))
    if spec.realtime or spec.gateway_only:
        sources.append(Source(provider, lambda after, limit: gateway.list_batches(
            provider, BatchQuery(limit, after, Options())), gateway_run=True))
    return sources


def _providers() -> tuple[dict[str, str | None], dict[str, dict]]:
    """The providers to list, each with the key that stands for the bearer while it is called (None:
    the bearer itself), and the errors of those in use that cannot be listed (no key in passthrough)."""
    settings = current_app.config
    keyed = auth.gateway_keys_enabled()
    chosen: dict[str, str | None] = {}
    errors: dict[str, dict] = {}
    for name, spec in registry.PROVIDERS.items():
        if spec.in_use is not None and not spec.in_use(settings):
            continue
        if keyed:
            if spec.credential and not settings.get(spec.credential) and not spec.optional_key:
                continue  # no key of the gateway's: not in use here
            chosen[name] = None
            continue
        header = KEY_HEADER.format(provider=name)
        key = request.headers.get(header, "").strip() or None
        if key is None and spec.client_key:
            errors[name] = listmerge.provider_error(
                name, f"No key for {name}: in passthrough, send it in the {header} header to list {name}.",
                "invalid_request_error", "missing_provider_key")
            continue
        chosen[name] = key
    return chosen, errors


def _listing(limit: int, after: str | None, sources_of: Callable[[str], list[Source]],
             locate: Callable[[str], tuple[str, bool]]) -> dict:
    chosen, errors = _providers()
    sources = [source for provider in chosen for source in sources_of(provider)]
    max_pages = int(current_app.config["LIST_ALL_MAX_PAGES"])
    want = limit + 1  # one more than the page, for has_more
    walks: list[listmerge.Walk] = []
    cursor = None
    if after is not None:
        provider, gateway_run = locate(after)
        home = next((source for source in sources
                     if source.provider == provider and source.gateway_run == gateway_run), None)
        if home is None:
            raise BadRequest(f"after: {after!r} belongs to {provider}, which this list does not include"
                             + (" (no key sent for it)." if provider in errors else "."),
                             param="after", code="invalid_cursor")
        walk = listmerge.Walk(want, find=after)
        try:
            _read(home, chosen[provider], walk, max_pages)  # its failure fails the page: its place is unknown
        except _TooDeep:
            raise BadRequest(f"after: {after!r} is deeper in {provider}'s list than DEEPINTSHIELD_LIST_ALL_MAX_PAGES "
                             f"pages; list {provider} alone (provider={provider}).", param="after",
                             code="list_too_deep") from None
        if not walk.found:
            raise BadRequest(f"after: {after!r} is no longer listed by {provider} (deleted meanwhile?); list again "
                             "from the start.", param="after", code="invalid_cursor")
        cursor = walk.cursor
        walks.append(walk)
        sources.remove(home)
    for source in sources:
        if source.provider in errors:
            continue  # one error per provider; what its other list gave stays
        walk = listmerge.Walk(want, cursor=cursor)
        try:
            _read(source, chosen[source.provider], walk, max_pages)
        except _TooDeep:
            errors[source.provider] = listmerge.provider_error(
                source.provider, f"This page would need more than DEEPINTSHIELD_LIST_ALL_MAX_PAGES ({max_pages}) "
                f"pages of {source.provider}'s list; its items are left out. List it alone "
                f"(provider={source.provider}).", "invalid_request_error", "list_too_deep")
            continue
        except APIError as error:
            errors[source.provider] = listmerge.provider_error(source.provider, error.message, error.type, error.code,
                                                                      error.param)
            continue
        except Exception:  # whatever else broke, the other providers' items are still the page
            log.exception("listing %s for provider=all failed", source.provider)
            errors[source.provider] = listmerge.provider_error(
                source.provider, f"Listing {source.provider} failed inside the gateway (logged).", "server_error",
                "provider_failed")
            continue
        walks.append(walk)
    g.provider = ALL
    page = listmerge.merge((walk.items() for walk in walks), limit)
    return listmerge.list_object(page, [errors[name] for name in registry.PROVIDERS if name in errors])


def _read(source: Source, key: str | None, walk: listmerge.Walk, max_pages: int) -> None:
    """Read `source` page by page until `walk` has enough; `_TooDeep` past `max_pages` pages."""
    spec = registry.get(source.provider)
    with auth.acting_as(key):
        g.provider = source.provider
        spec.run_guard()
        after = None
        for _ in range(max_pages):
            page = source.fetch(after, PAGE)
            data = page.get("data") or []
            if walk.feed(data, bool(page.get("has_more")) and bool(data)):
                return
            after = data[-1]["id"]
    raise _TooDeep
