"""Rebuild nested dicts and lists from the SDK's bracket-flattened query and form keys.

The OpenAI SDK flattens `extra_query` / multipart `extra_body` values: `storage_config[s3][bucket]=b`,
`tags[]=a&tags[]=b`. `unflatten` turns a MultiDict of those back into
`{"storage_config": {"s3": {"bucket": "b"}}, "tags": ["a", "b"]}`. Plain keys keep their (last) value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from errors import BadRequest

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def _path(key: str | None) -> list[str]:
    match = _KEY.fullmatch(key) if isinstance(key, str) else None  # None: a form part whose name did not parse
    if match is None:
        raise BadRequest(f"Malformed parameter name {key!r}.", param=key)
    return [match[1], *_PART.findall(match[2])]


def unflatten(items: Iterable[tuple[str, str]]) -> dict:
    """Nested dict from `(key, value)` pairs with bracket keys; `[]` appends to a list."""
    result: dict = {}
    for key, value in items:
        path = _path(key)
        node: dict | list = result
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if part == "":
                if not isinstance(node, list):
                    raise BadRequest(f"Parameter {key!r} mixes list and object forms.", param=key)
                if last:
                    node.append(value)
                    break
                raise BadRequest(f"Lists of objects are not supported in {key!r}.", param=key)
            if not isinstance(node, dict):
                raise BadRequest(f"Parameter {key!r} mixes list and object forms.", param=key)
            if last:
                if isinstance(node.get(part), (dict, list)):
                    raise BadRequest(f"Parameter {key!r} is given both as a value and nested.", param=key)
                node[part] = value
                break
            child_is_list = path[depth + 1] == ""
            child = node.setdefault(part, [] if child_is_list else {})
            if isinstance(child, str):
                raise BadRequest(f"Parameter {key!r} is given both as a value and nested.", param=key)
            node = child
    return result
