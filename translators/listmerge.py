"""One list out of several newest-first lists (`?provider=all`): pure functions, pages in, page out.

The order is newest first: `created_at` descending, ties by `id` ascending, so every item has one
place whatever list it came from. The cursor is an item's ID (what the SDK's auto-pagination sends as
`after`); its place is found by walking its own list (`Walk` with `find`), and every list is then
read from its start, keeping only the items placed after the cursor. A list is read far enough once
it holds `want` items after the cursor and the last item read is strictly older than the `want`-th
of them: every item it has not given yet is then older still (each provider lists newest first), so
none of them can be in the page. `merge` takes the first `limit` of all the lists' kept items.

`blueprints/crosslist` does the I/O (which providers, their keys, the upstream pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def place(item: Mapping) -> tuple[int, str]:
    """An item's place in the merged list: smaller is earlier (newer; the same second: the smaller ID)."""
    return -int(item.get("created_at") or 0), str(item["id"])


@dataclass
class Walk:
    """What has been read of one list, page by page, and whether enough has been.

    `find`: the cursor's ID, when the cursor is in this list and its place is not known yet;
    `cursor`: its place once known (or given). Without either, the list is read from its start.
    """

    want: int
    cursor: tuple[int, str] | None = None
    find: str | None = None
    kept: list[dict] = field(default_factory=list)  # items after the cursor (all read so far, if it is unknown)
    last: tuple[int, str] | None = None  # the last item read
    ended: bool = False  # the list has no more items

    def feed(self, items: Iterable[dict], has_more: bool) -> bool:
        """Take one page of the list; True when no more pages are needed."""
        for item in items:
            self.last = place(item)
            if self.find is not None and item["id"] == self.find:
                self.cursor, self.find = self.last, None
                self.kept = [kept for kept in self.kept if place(kept) > self.cursor]
                continue
            if self.cursor is None or self.last > self.cursor:
                self.kept.append(item)
        self.ended = not has_more
        return self.done

    @property
    def found(self) -> bool:
        return self.find is None

    @property
    def done(self) -> bool:
        if self.ended:
            return True
        if self.find is not None or len(self.kept) < self.want:
            return False
        wanted = sorted(place(item) for item in self.kept)[self.want - 1]
        return self.last is not None and self.last[0] > wanted[0]  # strictly older than the want-th kept

    def items(self) -> list[dict]:
        """The kept items in order, at most `want` (more cannot be in a page of `want - 1` and its has_more)."""
        return sorted(self.kept, key=place)[:self.want]


def merge(lists: Iterable[list[dict]], limit: int) -> dict:
    """The first `limit` items of all the lists (each holding its items after the cursor), in order,
    as a `{"data", "has_more"}` page; an ID in two lists is given once."""
    seen: set[str] = set()
    merged = []
    for item in sorted((item for items in lists for item in items), key=place):
        if item["id"] not in seen:
            seen.add(item["id"])
            merged.append(item)
    return {"data": merged[:limit], "has_more": len(merged) > limit}


def list_object(page: dict, errors: list[dict]) -> dict:
    """OpenAI's list object of a merged page, with the providers that could not be listed beside it."""
    data = page["data"]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": bool(page["has_more"]),
        "provider_errors": errors,
    }


def provider_error(provider: str, message: str, type: str, code: str | None, param: str | None = None) -> dict:
    """One entry of `provider_errors`: which provider, and its error in OpenAI's four error fields."""
    return {"provider": provider, "error": {"message": message, "type": type, "param": param, "code": code}}
