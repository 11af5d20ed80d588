"""The custom_id set of the batch-file check: exact for recent IDs, compact for older ones."""

from __future__ import annotations

import tracemalloc

from translators import seen_ids
from translators.seen_ids import SeenIds


def test_repeats_are_found_before_and_after_spilling(monkeypatch):
    monkeypatch.setattr(seen_ids, "EXACT", 100)
    monkeypatch.setattr(seen_ids, "RUNS", 3)
    seen = SeenIds()
    for n in range(1_000):  # ten spills, runs merged several times
        assert f"req-{n}" not in seen
        seen.add(f"req-{n}")
    assert len(seen) == 1_000
    assert all(f"req-{n}" in seen for n in range(0, 1_000, 7))  # old (digests) and recent (strings)
    assert "req-1000" not in seen and "" not in seen
    assert not seen.isdisjoint(["new", "req-3"]) and seen.isdisjoint(["new", "other"])


def test_memory_per_id_is_a_few_bytes_past_the_exact_window():
    tracemalloc.start()
    seen = SeenIds()
    seen.update(f"request-{n:09d}" for n in range(400_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A set of these strings alone would be about 40 MB.
    assert peak < 16 * 1024 * 1024, peak
    assert "request-000000001" in seen and "request-000399999" in seen


def test_blocks_added_at_once_spill_and_are_found(monkeypatch):
    monkeypatch.setattr(seen_ids, "EXACT", 100)
    monkeypatch.setattr(seen_ids, "RUNS", 2)
    seen = SeenIds()
    for start in range(0, 2_000, 70):  # blocks (sets, as the batch-file check adds them) across many spills
        block = {f"id-{n}" for n in range(start, start + 70)}
        assert seen.isdisjoint(block)
        seen.update(block)
    assert len(seen) == 2_030 and len(seen._runs) <= 3
    assert not seen.isdisjoint({"fresh", "id-5"}) and not seen.isdisjoint({"id-2029"})
    assert seen.isdisjoint({"fresh", "id-2030"}) and "id-1234" in seen and "id-9999" not in seen
