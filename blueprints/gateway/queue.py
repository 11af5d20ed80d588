"""The task queue of gateway-run batches: huey, on the job store's SQLite file or on Redis.

huey (a well-kept task queue with both engines) carries only *hints*: "drive job X" and a periodic
"sweep" (and, for webhooks, "look at watch X" and their own periodic sweep: blueprints/webhooks). What a
job has done is in the job store, never in a task: a task lost with a killed worker costs nothing but
time, because the sweep (every minute, and when a worker starts) queues a drive for every job that has
work nobody holds. huey's own retries are off for the same reason.

Tasks run in the worker process (`python -m worker`, or a test's consumer threads) inside the
Flask app that process made (`bind`), so they read the same settings as the web side.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING

from flask import Flask, current_app

from blueprints.gateway.store import is_redis

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger("deepintshield.gateway")
_app: Flask | None = None


def bind(app: Flask) -> None:
    """The app whose settings the tasks of this process run with (the worker's, a test's)."""
    global _app
    _app = app


class Queue:
    def __init__(self, huey: Huey) -> None:
        from huey import crontab

        self.huey = huey
        self.drive = huey.task(name="drive")(_drive)
        self.sweep = huey.periodic_task(crontab(minute="*"), name="sweep")(_sweep)
        self.watch = huey.task(name="watch")(_watch)
        self.webhooks = huey.periodic_task(crontab(minute="*"), name="webhooks")(_webhooks)


@cache
def queue_for(location: str) -> Queue:
    # huey (and the redis client it imports) only when a batch is queued: ~11 MB a web worker need not carry.
    from huey import RedisHuey, SqliteHuey

    if is_redis(location):
        return Queue(RedisHuey("deepintshield", url=location))
    return Queue(SqliteHuey("deepintshield", filename=location, timeout=30))


def queue() -> Queue:
    """The queue of the current app's settings."""
    return queue_for(current_app.config["QUEUE"])


def _drive(job_id: str) -> None:
    from blueprints.gateway import runner

    with _bound().app_context():
        runner.drive(job_id)


def _sweep() -> None:
    from blueprints.gateway import runner

    with _bound().app_context():
        runner.sweep()


def _watch(watch_id: str, token: float) -> None:
    from blueprints.webhooks import watches

    with _bound().app_context():
        watches.handle(watch_id, token)


def _webhooks() -> None:
    from blueprints.webhooks import watches

    with _bound().app_context():
        watches.sweep()


def _bound() -> Flask:
    if _app is None:
        raise RuntimeError("no app bound: the worker calls queue.bind(app) before consuming")
    return _app
