"""The set of custom_ids a batch file has used so far, in memory that stays small however many lines
the file has.

A Python set of strings costs about 100 bytes per ID: 4.7 million short lines (a 2 GB file) would be
470 MB in one request. Here the most recent `EXACT` IDs are kept as strings; older ones are kept as
8-byte BLAKE2b digests in sorted arrays (8 bytes each, merged once there are more than `RUNS`), so a
2 GB file costs a few tens of MB at most. A digest match for an older ID is taken as a repeat: two
different IDs share a 64-bit digest with a probability of about n²/2⁶⁵ (5·10⁻⁹ for 430,000 lines).
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
from array import array
from collections.abc import Iterable

EXACT = 65_536
RUNS = 8


def _digest(ident: str) -> int:
    return int.from_bytes(hashlib.blake2b(ident.encode(), digest_size=8).digest(), "little")


class SeenIds:
    def __init__(self) -> None:
        self._recent: set[str] = set()
        self._runs: list[array] = []  # sorted digests of older IDs

    def __contains__(self, ident: str) -> bool:
        if ident in self._recent:
            return True
        if not self._runs:
            return False
        digest = _digest(ident)
        for run in self._runs:
            at = bisect.bisect_left(run, digest)
            if at < len(run) and run[at] == digest:
                return True
        return False

    def add(self, ident: str) -> None:
        self._recent.add(ident)
        if len(self._recent) >= EXACT:
            self._spill()

    def add_new(self, ident: str) -> bool:
        """Add `ident` and say True when it was not seen before; False (and nothing added) when it was."""
        if ident in self._recent or (self._runs and ident in self):
            return False
        self._recent.add(ident)
        if len(self._recent) >= EXACT:
            self._spill()
        return True

    def update(self, idents: Iterable[str]) -> None:
        for ident in idents:
            self.add(ident)

    def isdisjoint(self, idents: Iterable[str]) -> bool:
        return not any(ident in self for ident in idents)

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run) for run in self._runs)

    def _spill(self) -> None:
        self._runs.append(array("Q", sorted(map(_digest, self._recent))))
        self._recent = set()
        if len(self._runs) > RUNS:
            self._runs = [array("Q", heapq.merge(*self._runs))]
