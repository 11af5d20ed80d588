"""The set of custom_ids a batch file has used so far, in memory that stays small however many lines
the file has.

A Python set of strings costs about 100 bytes per ID: 4.7 million short lines (a 2 GB file) would be
470 MB in one request. Here the most recent `EXACT` IDs are kept as strings; older ones are kept as
8-byte digests in sorted arrays (8 bytes each, merged once there are more than `RUNS`), so a 2 GB
file costs a few tens of MB at most. A digest match for an older ID is taken as a repeat: two
different IDs share a 64-bit digest with a probability of about n²/2⁶⁵ (5·10⁻⁹ for 430,000 lines).

The digest is the string's own `hash()`: a keyed 64-bit SipHash (its key random per process), which
a string computes once and keeps, so the IDs the set of a block was built from cost nothing more to
digest (BLAKE2b per ID was most of an upload's CPU time, issue 16). A set lives in one request, so
a digest never has to mean the same in another process. Blocks are checked and added in C where
possible: `isdisjoint`/`update` take a whole block of IDs, and a byte-per-slot filter (2 MB, made at
the first spill) rules most new IDs out before any search of the runs.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools
from array import array
from collections.abc import Iterable, Set

EXACT = 65_536
RUNS = 3  # each run is one more search per ID; a merge rewrites them all (fewer was faster in bench)
FILTER = 1 << 21  # slots (one byte each: 2 MB) of the filter in front of the runs, made at the first spill


class SeenIds:
    def __init__(self) -> None:
        self._recent: set[str] = set()
        self._runs: list[array] = []  # sorted digests (hash()) of older IDs
        # A byte per slot, set for every older digest's slot: most IDs that were never seen are told apart
        # here in C, and only the few whose slot is set are searched for in the runs.
        self._filter = bytearray()

    def __contains__(self, ident: str) -> bool:
        if ident in self._recent:
            return True
        digest = hash(ident)
        return bool(self._runs) and bool(self._filter[digest & (FILTER - 1)]) and self._in_runs(digest)

    def _in_runs(self, digest: int) -> bool:
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
        if not isinstance(idents, Set):  # perhaps long or endless: one at a time, spilling as it goes
            for ident in idents:
                self.add(ident)
            return
        self._recent.update(idents)  # a block already in memory: at once, in C
        if len(self._recent) >= EXACT:
            self._spill()

    def isdisjoint(self, idents: Iterable[str]) -> bool:
        if not isinstance(idents, Set):
            idents = set(idents)
        if not self._recent.isdisjoint(idents):
            return False
        if not self._runs:
            return True
        digests = [hash(ident) for ident in idents]
        maybe = itertools.compress(digests, map(self._filter.__getitem__, map((FILTER - 1).__and__, digests)))
        return not any(map(self._in_runs, maybe))

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run) for run in self._runs)

    def _spill(self) -> None:
        digests = array("q", sorted(map(hash, self._recent)))
        if not self._filter:
            self._filter = bytearray(FILTER)
        collections.deque(map(self._filter.__setitem__, map((FILTER - 1).__and__, digests), itertools.repeat(1)),
                          maxlen=0)  # every slot set, in C
        self._runs.append(digests)
        self._recent = set()
        if len(self._runs) > RUNS:
            self._runs = [array("q", heapq.merge(*self._runs))]  # streamed: no list of every digest
