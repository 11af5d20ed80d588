"""The merge of several newest-first lists (`translators/listmerge.py`), without any I/O: pages in, page out."""

from __future__ import annotations

import random

import pytest

from translators import listmerge


def _item(item_id: str, created_at: int) -> dict:
    return {"id": item_id, "created_at": created_at}


def _pages(items: list[dict], size: int) -> list[tuple[list[dict], bool]]:
    """A list as its provider gives it: newest first, in pages of `size`."""
    ordered = sorted(items, key=lambda item: -item["created_at"])  # the provider's own order within a second
    return [(ordered[start:start + size], start + size < len(ordered)) for start in range(0, len(ordered), size)] \
        or [([], False)]


def _read(pages: list[tuple[list[dict], bool]], walk: listmerge.Walk) -> int:
    """Feed pages until the walk has enough; the number of pages read."""
    for number, (items, has_more) in enumerate(pages, 1):
        if walk.feed(items, has_more):
            return number
    raise AssertionError("the walk never had enough")


def _all_pages(lists: dict[str, list[dict]], limit: int, size: int) -> list[list[str]]:
    """Page through the merged lists as the SDK does (after = the last ID), the cursor found in its list."""
    home = {item["id"]: name for name, items in lists.items() for item in items}
    pages, after = [], None
    while True:
        cursor, walks = None, {}
        if after is not None:
            walk = listmerge.Walk(limit + 1, find=after)
            _read(_pages(lists[home[after]], size), walk)
            assert walk.found
            cursor, walks[home[after]] = walk.cursor, walk
        for name, items in lists.items():
            if name not in walks:
                walks[name] = listmerge.Walk(limit + 1, cursor=cursor)
                _read(_pages(items, size), walks[name])
        page = listmerge.merge([walk.items() for walk in walks.values()], limit)
        pages.append([item["id"] for item in page["data"]])
        if not page["has_more"]:
            return pages
        after = page["data"][-1]["id"]


def test_the_order_is_newest_first_then_by_id():
    items = [_item("b", 5), _item("a", 5), _item("c", 7), _item("d", 1)]
    assert [item["id"] for item in sorted(items, key=listmerge.place)] == ["c", "a", "b", "d"]


def test_merge_takes_the_first_limit_of_all_lists():
    page = listmerge.merge([[_item("x", 9), _item("y", 3)], [_item("z", 5)]], 2)
    assert [item["id"] for item in page["data"]] == ["x", "z"] and page["has_more"] is True
    page = listmerge.merge([[_item("x", 9)], []], 2)
    assert [item["id"] for item in page["data"]] == ["x"] and page["has_more"] is False


def test_an_id_in_two_lists_is_given_once():
    page = listmerge.merge([[_item("x", 9)], [_item("x", 9), _item("y", 1)]], 5)
    assert [item["id"] for item in page["data"]] == ["x", "y"]


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize(("limit", "size"), [(1, 1), (2, 3), (3, 2), (5, 100)])
def test_paging_visits_every_item_exactly_once_in_order(seed, limit, size):
    chance = random.Random(seed)
    lists = {name: [_item(f"{name}-{n}", chance.randint(1, 6)) for n in range(chance.randint(0, 9))]
             for name in ("openai", "anthropic", "gemini", "bedrock")}
    for items in lists.values():
        chance.shuffle(items)  # a provider's order within one second is its own, not by ID
    pages = _all_pages(lists, limit, size)
    visited = [item_id for page in pages for item_id in page]
    everything = sorted((item for items in lists.values() for item in items), key=listmerge.place)
    assert visited == [item["id"] for item in everything]  # each once, newest first, ties by ID
    assert all(len(page) == limit for page in pages[:-1])


def test_a_walk_stops_once_what_is_left_is_older_than_the_page():
    walk = listmerge.Walk(2)
    assert walk.feed([_item("a", 9), _item("b", 8)], True) is False  # a third at 8 would tie with the second
    assert walk.feed([_item("c", 8), _item("d", 7)], True) is True
    assert [item["id"] for item in walk.items()] == ["a", "b"]


def test_a_walk_reads_on_until_the_cursor_is_found_and_keeps_only_what_follows_it():
    walk = listmerge.Walk(2, find="c")
    assert walk.feed([_item("b", 5), _item("a", 6)], True) is False
    assert walk.feed([_item("d", 5), _item("c", 5)], True) is False  # d (same second, larger ID) follows c
    assert walk.cursor == (-5, "c")
    assert walk.feed([_item("e", 4)], False) is True
    assert [item["id"] for item in walk.items()] == ["d", "e"]


def test_a_cursor_that_is_not_in_the_list_is_never_found():
    walk = listmerge.Walk(2, find="gone")
    walk.feed([_item("a", 3)], False)
    assert walk.done and not walk.found


def test_the_list_object_has_openai_fields_and_the_provider_errors():
    error = listmerge.provider_error("gemini", "down", "api_error", "upstream_error")
    listed = listmerge.list_object({"data": [_item("x", 2), _item("y", 1)], "has_more": True}, [error])
    assert listed == {"object": "list", "data": [_item("x", 2), _item("y", 1)], "first_id": "x", "last_id": "y",
                      "has_more": True, "provider_errors": [{"provider": "gemini", "error": {
                          "message": "down", "type": "api_error", "param": None, "code": "upstream_error"}}]}
    empty = listmerge.list_object({"data": [], "has_more": False}, [])
    assert (empty["first_id"], empty["last_id"], empty["provider_errors"]) == (None, None, [])
