"""The worker process of gateway-run batches: `python -m worker` (Procfile `worker:`, `make run`).

It makes the same app as the web process (same settings, checked the same way at startup), binds the
queue's tasks to it, sweeps once (jobs whose work a killed worker held are queued again, and watched
batches whose webhook is due: blueprints/webhooks), and consumes the queue of `DEEPINTSHIELD_QUEUE` with
`DEEPINTSHIELD_WORKER_THREADS` threads, plus huey's scheduler for the minutely sweeps. SIGTERM (a PaaS
restarting the dyno) stops it at once, as does SIGKILL: every line already run is recorded, and a chunk
it had not finished is taken up again by another worker when its lease runs out (SIGINT waits for the
running tasks instead).
"""

from __future__ import annotations

import logging
import sys

import config
from app import create_app
from blueprints.gateway import queue as gateway_queue

log = logging.getLogger("deepintshield.worker")


def main() -> int:
    try:
        app = create_app()
    except config.ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    gateway_queue.bind(app)
    tasks = gateway_queue.queue_for(app.config["QUEUE"])
    with app.app_context():
        from blueprints.gateway import runner
        from blueprints.webhooks import watches

        runner.sweep()
        watches.sweep()
    consumer = tasks.huey.create_consumer(workers=int(app.config["WORKER_THREADS"]), worker_type="thread",
                                          periodic=True, initial_delay=0.05, backoff=1.5, max_delay=0.5,
                                          check_worker_health=True)
    log.info("worker consuming", extra={"queue": _shown(app.config["QUEUE"]),
                                        "threads": app.config["WORKER_THREADS"]})
    consumer.run()
    return 0


def _shown(location: str) -> str:
    """The queue's location without a password (`redis://:secret@host` -> `redis://***@host`)."""
    scheme, sep, rest = location.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}" if sep and "@" in rest else location


if __name__ == "__main__":
    sys.exit(main())
