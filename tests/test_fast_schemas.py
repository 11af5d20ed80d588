"""The fast load path agrees with marshmallow's own load on every input: same result, or both refuse."""

from __future__ import annotations

import copy

import pytest
from marshmallow import ValidationError

from schemas.batch import BatchListSchema, BatchSchema
from schemas.fast import fast_loader
from schemas.file import FileDeletedSchema, FileListSchema, FileObjectSchema

BATCH = {
    "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "input_file_id": "file-1",
    "completion_window": "24h", "status": "completed", "created_at": 1700000000, "output_file_id": "file-2",
    "errors": {"object": "list", "data": [{"code": "c", "message": "m", "param": None, "line": 3}]},
    "request_counts": {"total": 2, "completed": 1, "failed": 1}, "metadata": {"k": "v"}, "model": "m",
    "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 3},
    "provider_extra": {"x": 1},
}
FILE = {"id": "file-1", "object": "file", "bytes": 5, "created_at": 1700000000, "filename": "a.jsonl",
        "purpose": "batch", "status": "processed", "expires_at": None}
# Values of every JSON kind (and a few edge cases) to put in each field.
PROBES = [None, "", "x", "ended", "batch", "list", 0, 1, -5, 1.5, True, False, [], [1], {}, {"k": 1},
          {"total": 1, "completed": 1, "failed": 0}, "2024-01-01T00:00:00Z", "12"]
MISSING = object()


def outcome(load, value):
    try:
        return "ok", load(value)
    except ValidationError as error:
        return "error", error.normalized_messages()


def variants(base: dict):
    yield base
    for key in base:
        without = dict(base)
        del without[key]
        yield without
        for probe in PROBES:
            changed = copy.deepcopy(base)
            changed[key] = probe
            yield changed


@pytest.mark.parametrize("schema_class, base", [
    (BatchSchema, BATCH), (FileObjectSchema, FILE),
    (FileDeletedSchema, {"id": "file-1", "object": "file", "deleted": True}),
])
def test_fast_path_matches_marshmallow_field_by_field(schema_class, base):
    schema = schema_class()
    fast = fast_loader(schema)
    for value in variants(base):
        assert outcome(fast, value) == outcome(schema.load, value), value


@pytest.mark.parametrize("schema_class, item", [(BatchListSchema, BATCH), (FileListSchema, FILE)])
def test_fast_path_matches_marshmallow_for_pages(schema_class, item):
    schema = schema_class()
    fast = fast_loader(schema)
    nested = [dict(item, **{"status": "ended"})] if schema_class is BatchListSchema else [dict(item, bytes="5")]
    for page in ({"object": "list", "data": [item, item], "has_more": True},
                 {"data": [item], "has_more": False, "first_id": "a", "last_id": "b"},
                 {"object": "list", "data": nested, "has_more": False},
                 {"object": "list", "data": None, "has_more": False},
                 {"object": "list", "data": [], "has_more": "false"},
                 {"object": "list", "data": []},
                 [item]):
        assert outcome(fast, page) == outcome(schema.load, page), page


def test_fast_path_is_taken_for_well_formed_input(monkeypatch):
    schema = BatchListSchema()
    fast = fast_loader(schema)
    monkeypatch.setattr(schema, "load", lambda value: pytest.fail("took the slow path"))
    assert fast({"object": "list", "data": [BATCH], "has_more": False})["data"][0]["id"] == "batch_1"
