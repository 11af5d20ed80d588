"""Where gateway-run batches keep their state: jobs, their chunks' leases, their result lines, rate limits.

Two engines, one interface, chosen by `DEEPINTSHIELD_QUEUE` like the task queue itself:
- an SQLite file (the default, `./data/queue.db`): no extra service, shared by every web and
  worker process of one machine (WAL mode, each write a short transaction);
- Redis (`redis://…`): shared by processes on several machines (each compound step one Lua
  script, so it is atomic).

Nothing about a batch lives only in a worker's memory. A job's input is cut into chunks of lines;
a worker *leases* a chunk (until a time), runs its lines, renews the lease while it works, and marks
the chunk done. A worker killed mid-chunk leaves a lease that runs out, and the next worker takes the
chunk again. Result lines are recorded per line number, first write wins: a line that ran twice
(its worker died after the call, before the chunk was done) is kept once, and lines already recorded
are skipped on the rerun. The finalizer leases the pseudo-chunk `FINALIZE` the same way.

Webhook *watches* (blueprints/webhooks) live here too: one per batch created with a `webhook_url`,
due at a time; whoever claims a due one moves its due time past a lease first, so two workers never
handle it at once, and one that dies leaves it due again when the lease runs out.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

FINALIZE = -1  # the chunk index the finalizer leases
ENDED = ("completed", "failed", "expired", "cancelled")


@dataclass
class Job:
    """One gateway-run batch. `record` holds everything the Batch object and the worker need."""

    id: str
    provider: str
    owner: str
    status: str
    record: dict
    completed: int = 0  # lines with an output line
    failed: int = 0  # lines with an error line
    chunks: int = 0


@dataclass
class Progress:
    done: int  # chunks finished
    live: int  # chunks leased by a worker now
    claimable: int  # chunks neither finished nor leased
    chunks: int = 0
    extra: dict = field(default_factory=dict)


@dataclass
class Watch:
    """A batch whose end is to be posted to a webhook. `record` holds what the worker needs."""

    id: str  # the batch's ID as the client has it
    owner: str
    due: float  # when it is next to be looked at (polled, or its event posted)
    record: dict


class JobStore(Protocol):
    def create(self, job: Job) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def update(self, job_id: str, expect: Iterable[str] | None = None, status: str | None = None,
               **record: object) -> bool: ...
    def list(self, provider: str, owner: str, after: str | None, limit: int) -> list[Job]: ...
    def active(self) -> list[str]: ...
    def claim(self, job_id: str, provider: str, until: float, max_live: int, now: float) -> int | None: ...
    def claim_chunk(self, job_id: str, index: int, until: float, now: float) -> bool: ...
    def renew(self, job_id: str, index: int, until: float) -> None: ...
    def release(self, job_id: str, index: int, done: bool) -> None: ...
    def progress(self, job_id: str, now: float) -> Progress: ...
    def record(self, job_id: str, line: int, ok: bool, data: bytes) -> bool: ...
    def results(self, job_id: str, first: int, last: int) -> dict[int, tuple[bool, bytes]]: ...
    def forget(self, job_id: str) -> None: ...
    def take(self, key: str, per_minute: float, cost: float, now: float) -> float: ...
    def add_watch(self, watch: Watch) -> bool: ...
    def get_watch(self, watch_id: str) -> Watch | None: ...
    def due_watches(self, now: float, limit: int) -> list[str]: ...
    def claim_watch(self, watch_id: str, until: float, now: float) -> Watch | None: ...
    def set_watch(self, watch_id: str, due: float, **record: object) -> None: ...
    def drop_watch(self, watch_id: str) -> None: ...
    def nudge_watch(self, watch_id: str, now: float) -> bool: ...


# SQLite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gw_jobs (
    id TEXT PRIMARY KEY, provider TEXT NOT NULL, owner TEXT NOT NULL, status TEXT NOT NULL,
    record TEXT NOT NULL, completed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS gw_jobs_list ON gw_jobs (provider, owner, id);
CREATE INDEX IF NOT EXISTS gw_jobs_status ON gw_jobs (status);
CREATE TABLE IF NOT EXISTS gw_chunks (
    job TEXT NOT NULL, idx INTEGER NOT NULL, provider TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0,
    lease REAL NOT NULL DEFAULT 0, PRIMARY KEY (job, idx));
CREATE INDEX IF NOT EXISTS gw_chunks_live ON gw_chunks (provider, done, lease);
CREATE TABLE IF NOT EXISTS gw_results (
    job TEXT NOT NULL, line INTEGER NOT NULL, ok INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (job, line)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gw_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS gw_watches (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, due REAL NOT NULL, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS gw_watches_due ON gw_watches (due);
"""


class SqliteJobStore:
    """The embedded engine: one SQLite file, one connection per thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._db().executescript(_SCHEMA)  # its own transaction (executescript commits)

    def _db(self) -> sqlite3.Connection:
        # Under gevent (the web workers) `threading.local` is per greenlet, i.e. per request: share one
        # connection instead. That is safe there: no store call yields between its statements.
        holder = self if _greenlets() else self._local
        db = getattr(holder, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash loses no committed transaction's consistency
            holder.db = db
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
            self.db, self.lock = db, lock

        def __enter__(self) -> sqlite3.Connection:
            # Threads of one process queue on a lock rather than on SQLite's busy handler, which
            # sleeps (up to 100 ms a time) while another connection writes.
            self.lock.acquire()
            try:
                self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks
            except BaseException:
                self.lock.release()
                raise
            return self.db

        def __exit__(self, kind, *rest) -> None:
            try:
                self.db.execute("ROLLBACK" if kind else "COMMIT")
            finally:
                self.lock.release()

    def _tx(self) -> SqliteJobStore._Tx:
        return self._Tx(self._db(), self._write_lock)

    @staticmethod
    def _job(row: tuple) -> Job:
        return Job(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6], row[7])

    _COLUMNS = "id, provider, owner, status, record, completed, failed, chunks"

    def create(self, job: Job) -> None:
        with self._tx() as db:
            db.execute(f"INSERT INTO gw_jobs ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, 0, ?)",
                       (job.id, job.provider, job.owner, job.status, json.dumps(job.record), job.chunks))
            db.executemany("INSERT INTO gw_chunks (job, idx, provider) VALUES (?, ?, ?)",
                           ((job.id, index, job.provider) for index in [*range(job.chunks), FINALIZE]))

    def get(self, job_id: str) -> Job | None:
        row = self._db().execute(f"SELECT {self._COLUMNS} FROM gw_jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def update(self, job_id: str, expect: Iterable[str] | None = None, status: str | None = None,
               **record: object) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT status, record FROM gw_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or (expect is not None and row[0] not in tuple(expect)):
                return False
            merged = {**json.loads(row[1]), **record}
            db.execute("UPDATE gw_jobs SET status = ?, record = ? WHERE id = ?",
                       (status or row[0], json.dumps(merged), job_id))
            return True

    def list(self, provider: str, owner: str, after: str | None, limit: int) -> list[Job]:
        rows = self._db().execute(
            f"SELECT {self._COLUMNS} FROM gw_jobs WHERE provider = ? AND owner = ? AND id > ? ORDER BY id LIMIT ?",
            (provider, owner, after or "", limit)).fetchall()
        return [self._job(row) for row in rows]

    def active(self) -> list[str]:
        placeholders = ",".join("?" * len(ENDED))
        return [row[0] for row in self._db().execute(
            f"SELECT id FROM gw_jobs WHERE status NOT IN ({placeholders})", ENDED)]

    def claim(self, job_id: str, provider: str, until: float, max_live: int, now: float) -> int | None:
        with self._tx() as db:
            (live,) = db.execute("SELECT COUNT(*) FROM gw_chunks WHERE provider = ? AND idx >= 0 AND done = 0 "
                                 "AND lease > ?", (provider, now)).fetchone()
            if max_live and live >= max_live:
                return None
            row = db.execute("SELECT idx FROM gw_chunks WHERE job = ? AND idx >= 0 AND done = 0 AND lease <= ? "
                             "ORDER BY idx LIMIT 1", (job_id, now)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE gw_chunks SET lease = ? WHERE job = ? AND idx = ?", (until, job_id, row[0]))
            return int(row[0])

    def claim_chunk(self, job_id: str, index: int, until: float, now: float) -> bool:
        with self._tx() as db:
            changed = db.execute("UPDATE gw_chunks SET lease = ? WHERE job = ? AND idx = ? AND done = 0 AND lease <= ?",
                                 (until, job_id, index, now)).rowcount
            return changed == 1

    def renew(self, job_id: str, index: int, until: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE gw_chunks SET lease = ? WHERE job = ? AND idx = ? AND done = 0", (until, job_id, index))

    def release(self, job_id: str, index: int, done: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE gw_chunks SET lease = 0, done = ? WHERE job = ? AND idx = ?",
                       (1 if done else 0, job_id, index))

    def progress(self, job_id: str, now: float) -> Progress:
        done = live = claimable = chunks = 0
        for is_done, lease in self._db().execute(
                "SELECT done, lease FROM gw_chunks WHERE job = ? AND idx >= 0", (job_id,)):
            chunks += 1
            if is_done:
                done += 1
            elif lease > now:
                live += 1
            else:
                claimable += 1
        return Progress(done, live, claimable, chunks)

    def record(self, job_id: str, line: int, ok: bool, data: bytes) -> bool:
        with self._tx() as db:
            inserted = db.execute("INSERT OR IGNORE INTO gw_results (job, line, ok, data) VALUES (?, ?, ?, ?)",
                                  (job_id, line, int(ok), data)).rowcount == 1
            if inserted:
                column = "completed" if ok else "failed"
                db.execute(f"UPDATE gw_jobs SET {column} = {column} + 1 WHERE id = ?", (job_id,))
            return inserted

    def results(self, job_id: str, first: int, last: int) -> dict[int, tuple[bool, bytes]]:
        rows = self._db().execute("SELECT line, ok, data FROM gw_results WHERE job = ? AND line BETWEEN ? AND ?",
                                  (job_id, first, last))
        return {line: (bool(ok), bytes(data)) for line, ok, data in rows}

    def forget(self, job_id: str) -> None:
        """Drop what only the run needed (results are in the result files by now, chunks are done)."""
        with self._tx() as db:
            db.execute("DELETE FROM gw_results WHERE job = ?", (job_id,))
            db.execute("DELETE FROM gw_chunks WHERE job = ?", (job_id,))

    def take(self, key: str, per_minute: float, cost: float, now: float) -> float:
        """A token bucket shared by every process: 0 when `cost` tokens were taken, else seconds to wait.

        The bucket holds up to a minute's worth and refills continuously. A cost above what the
        bucket can ever hold is let through when the bucket is full (and drives it negative), so one
        big request is slowed, never stuck.
        """
        with self._tx() as db:
            row = db.execute("SELECT tokens, at FROM gw_buckets WHERE key = ?", (key,)).fetchone()
            tokens, at = row if row else (per_minute, now)
            tokens = min(per_minute, tokens + (now - at) * per_minute / 60)
            wait = _wait(tokens, per_minute, cost)
            if wait == 0:
                tokens -= cost
            db.execute("INSERT OR REPLACE INTO gw_buckets (key, tokens, at) VALUES (?, ?, ?)", (key, tokens, now))
            return wait

    def add_watch(self, watch: Watch) -> bool:
        """Record `watch` unless one of its ID exists (a repeated create): whether it was added."""
        with self._tx() as db:
            return db.execute("INSERT OR IGNORE INTO gw_watches (id, owner, due, record) VALUES (?, ?, ?, ?)",
                              (watch.id, watch.owner, watch.due, json.dumps(watch.record))).rowcount == 1

    def get_watch(self, watch_id: str) -> Watch | None:
        row = self._db().execute("SELECT id, owner, due, record FROM gw_watches WHERE id = ?", (watch_id,)).fetchone()
        return Watch(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def due_watches(self, now: float, limit: int) -> list[str]:
        return [row[0] for row in self._db().execute(
            "SELECT id FROM gw_watches WHERE due <= ? ORDER BY due LIMIT ?", (now, limit))]

    def claim_watch(self, watch_id: str, until: float, now: float) -> Watch | None:
        with self._tx() as db:
            if db.execute("UPDATE gw_watches SET due = ? WHERE id = ? AND due <= ?", (until, watch_id, now)).rowcount:
                row = db.execute("SELECT id, owner, due, record FROM gw_watches WHERE id = ?", (watch_id,)).fetchone()
                return Watch(row[0], row[1], row[2], json.loads(row[3]))
            return None

    def set_watch(self, watch_id: str, due: float, **record: object) -> None:
        with self._tx() as db:
            row = db.execute("SELECT record FROM gw_watches WHERE id = ?", (watch_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE gw_watches SET due = ?, record = ? WHERE id = ?",
                           (due, json.dumps({**json.loads(row[0]), **record}), watch_id))

    def drop_watch(self, watch_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM gw_watches WHERE id = ?", (watch_id,))

    def nudge_watch(self, watch_id: str, now: float) -> bool:
        """Make the watch due now (its batch just ended); whether there is one."""
        with self._tx() as db:
            return db.execute("UPDATE gw_watches SET due = MIN(due, ?) WHERE id = ?", (now, watch_id)).rowcount == 1


def _greenlets() -> bool:
    """Whether gevent has patched `threading` in this process (gunicorn's gevent web workers)."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    return bool(gevent_monkey and gevent_monkey.is_module_patched("threading"))


def _wait(tokens: float, per_minute: float, cost: float) -> float:
    needed = min(cost, per_minute)
    if tokens >= needed:
        return 0.0
    return (needed - tokens) * 60 / per_minute


# Redis

_CLAIM = """
local live = redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[3], '+inf')
if tonumber(ARGV[4]) > 0 and live >= tonumber(ARGV[4]) then return -2 end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, 1)
local index
if #expired > 0 then index = tonumber(expired[1]) else
  local nxt = tonumber(redis.call('HGET', KEYS[1], 'next'))
  if nxt >= tonumber(redis.call('HGET', KEYS[1], 'chunks')) then return -1 end
  redis.call('HINCRBY', KEYS[1], 'next', 1)
  index = nxt
end
redis.call('ZADD', KEYS[2], ARGV[2], index)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1] .. ':' .. index)
return index
"""
_CLAIM_ONE = """
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return 0 end
local lease = redis.call('ZSCORE', KEYS[1], ARGV[2])
if lease and tonumber(lease) > tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
return 1
"""
_RECORD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  return 1
end
return 0
"""
_TAKE = """
local per_minute, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or per_minute, tonumber(state[2]) or now
tokens = math.min(per_minute, tokens + (now - at) * per_minute / 60)
local needed = math.min(cost, per_minute)
local wait = 0
if tokens >= needed then tokens = tokens - cost else wait = (needed - tokens) * 60 / per_minute end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""
_CLAIM_WATCH = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
_NUDGE_WATCH = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due then return 0 end
if tonumber(due) > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
return 1
"""
_ADD_WATCH = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'owner', ARGV[3], 'record', ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
_SET_WATCH = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'record', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""


class RedisJobStore:
    """The distributed engine: every key under `deepintshield:gw:`."""

    P = "deepintshield:gw:"

    def __init__(self, url: str) -> None:
        import redis  # only this engine needs it

        self.redis = redis.Redis.from_url(url)
        self._claim = self.redis.register_script(_CLAIM)
        self._claim_one = self.redis.register_script(_CLAIM_ONE)
        self._record = self.redis.register_script(_RECORD)
        self._take = self.redis.register_script(_TAKE)
        self._claim_watch = self.redis.register_script(_CLAIM_WATCH)
        self._add_watch = self.redis.register_script(_ADD_WATCH)
        self._set_watch = self.redis.register_script(_SET_WATCH)
        self._nudge_watch = self.redis.register_script(_NUDGE_WATCH)

    def _k(self, kind: str, *parts: str) -> str:
        return self.P + kind + ":" + ":".join(parts)

    def _lease(self, job_id: str, index: int) -> str:
        """The chunks' leases; the finalizer's apart, so no claim of a chunk can take it."""
        return self._k("lease" if index >= 0 else "finalize", job_id)

    def create(self, job: Job) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._k("job", job.id), mapping={
            "provider": job.provider, "owner": job.owner, "status": job.status, "record": json.dumps(job.record),
            "completed": 0, "failed": 0, "chunks": job.chunks, "next": 0})
        pipe.zadd(self._k("list", job.provider, job.owner), {job.id: 0})
        pipe.sadd(self._k("active"), job.id)
        pipe.execute()

    def get(self, job_id: str) -> Job | None:
        values = self.redis.hgetall(self._k("job", job_id))
        if not values:
            return None
        text = {key.decode(): value.decode() for key, value in values.items()}
        return Job(job_id, text["provider"], text["owner"], text["status"], json.loads(text["record"]),
                   int(text["completed"]), int(text["failed"]), int(text["chunks"]))

    def update(self, job_id: str, expect: Iterable[str] | None = None, status: str | None = None,
               **record: object) -> bool:
        key, allowed = self._k("job", job_id), tuple(expect) if expect is not None else None
        changed = False

        def change(pipe) -> None:  # runs again if another process changed the job meanwhile (WATCH)
            nonlocal changed
            current, text = pipe.hmget(key, "status", "record")
            if current is None or (allowed is not None and current.decode() not in allowed):
                changed = False
                return
            pipe.multi()
            pipe.hset(key, "record", json.dumps({**json.loads(text), **record}))
            if status:
                pipe.hset(key, "status", status)
                if status in ENDED:
                    pipe.srem(self._k("active"), job_id)
            changed = True

        self.redis.transaction(change, key)
        return changed

    def list(self, provider: str, owner: str, after: str | None, limit: int) -> list[Job]:
        ids = self.redis.zrangebylex(self._k("list", provider, owner), f"({after}" if after else "-", "+",
                                     start=0, num=limit)
        jobs = (self.get(job_id.decode()) for job_id in ids)
        return [job for job in jobs if job is not None]

    def active(self) -> list[str]:
        return sorted(member.decode() for member in self.redis.smembers(self._k("active")))

    def claim(self, job_id: str, provider: str, until: float, max_live: int, now: float) -> int | None:
        index = int(self._claim(keys=[self._k("job", job_id), self._k("lease", job_id), self._k("live", provider)],
                                args=[job_id, until, now, max_live]))
        return index if index >= 0 else None

    def claim_chunk(self, job_id: str, index: int, until: float, now: float) -> bool:
        return bool(self._claim_one(keys=[self._lease(job_id, index), self._k("done", job_id)],
                                    args=[job_id, index, until, now]))

    def renew(self, job_id: str, index: int, until: float) -> None:
        provider = self.redis.hget(self._k("job", job_id), "provider")
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self._lease(job_id, index), {str(index): until}, xx=True)
        if provider and index >= 0:
            pipe.zadd(self._k("live", provider.decode()), {f"{job_id}:{index}": until}, xx=True)
        pipe.execute()

    def release(self, job_id: str, index: int, done: bool) -> None:
        provider = self.redis.hget(self._k("job", job_id), "provider")
        pipe = self.redis.pipeline(transaction=True)
        if done:
            pipe.sadd(self._k("done", job_id), index)
            pipe.zrem(self._lease(job_id, index), str(index))
        else:
            pipe.zadd(self._lease(job_id, index), {str(index): 0})
        if provider:
            pipe.zrem(self._k("live", provider.decode()), f"{job_id}:{index}")
        pipe.execute()

    def progress(self, job_id: str, now: float) -> Progress:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(self._k("job", job_id), "chunks", "next")
        pipe.smembers(self._k("done", job_id))
        pipe.zrange(self._k("lease", job_id), 0, -1, withscores=True)
        (chunks, nxt), done_members, leases = pipe.execute()
        chunks, nxt = int(chunks or 0), int(nxt or 0)
        done = {int(member) for member in done_members if int(member) >= 0}
        live = sum(1 for member, lease in leases if int(member) >= 0 and int(member) not in done and lease > now)
        expired = sum(1 for member, lease in leases if int(member) >= 0 and int(member) not in done and lease <= now)
        return Progress(len(done), live, expired + max(0, chunks - nxt), chunks)

    def record(self, job_id: str, line: int, ok: bool, data: bytes) -> bool:
        return bool(self._record(keys=[self._k("results", job_id), self._k("job", job_id)],
                                 args=[line, (b"1" if ok else b"0") + data, "completed" if ok else "failed"]))

    def results(self, job_id: str, first: int, last: int) -> dict[int, tuple[bool, bytes]]:
        lines = list(range(first, last + 1))
        if not lines:
            return {}
        values = self.redis.hmget(self._k("results", job_id), lines)
        return {line: (value[:1] == b"1", value[1:]) for line, value in zip(lines, values, strict=True)
                if value is not None}

    def forget(self, job_id: str) -> None:
        self.redis.delete(self._k("results", job_id), self._k("lease", job_id), self._k("finalize", job_id),
                          self._k("done", job_id))

    def take(self, key: str, per_minute: float, cost: float, now: float) -> float:
        return float(self._take(keys=[self._k("bucket", key)], args=[per_minute, cost, now]))

    def add_watch(self, watch: Watch) -> bool:
        return bool(self._add_watch(keys=[self.P + "watches", self._k("watch", watch.id)],
                                    args=[watch.id, watch.due, watch.owner, json.dumps(watch.record)]))

    def get_watch(self, watch_id: str) -> Watch | None:
        owner, record = self.redis.hmget(self._k("watch", watch_id), "owner", "record")
        due = self.redis.zscore(self.P + "watches", watch_id)
        if owner is None or record is None or due is None:
            return None
        return Watch(watch_id, owner.decode(), float(due), json.loads(record))

    def due_watches(self, now: float, limit: int) -> list[str]:
        return [member.decode() for member in self.redis.zrangebyscore(self.P + "watches", "-inf", now,
                                                                       start=0, num=limit)]

    def claim_watch(self, watch_id: str, until: float, now: float) -> Watch | None:
        if not self._claim_watch(keys=[self.P + "watches"], args=[watch_id, until, now]):
            return None
        return self.get_watch(watch_id)

    def set_watch(self, watch_id: str, due: float, **record: object) -> None:
        # Read, merge, write: only the worker holding the watch's claim writes it, so nothing races here.
        current = self.redis.hget(self._k("watch", watch_id), "record")
        if current is not None:
            self._set_watch(keys=[self.P + "watches", self._k("watch", watch_id)],
                            args=[watch_id, due, json.dumps({**json.loads(current), **record})])

    def drop_watch(self, watch_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.P + "watches", watch_id)
        pipe.delete(self._k("watch", watch_id))
        pipe.execute()

    def nudge_watch(self, watch_id: str, now: float) -> bool:
        return bool(self._nudge_watch(keys=[self.P + "watches"], args=[watch_id, now]))


def is_redis(location: str) -> bool:
    return location.startswith(("redis://", "rediss://", "unix://"))


@cache
def store_for(location: str) -> JobStore:
    """The job store at `location` (`DEEPINTSHIELD_QUEUE`), one per process."""
    return RedisJobStore(location) if is_redis(location) else SqliteJobStore(location)


def now() -> float:
    return time.time()
