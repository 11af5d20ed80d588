"""gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let one worker relay a long upload while answering polls; gthread also keeps a busy
# worker's heartbeat going, so `timeout` only kills truly stuck workers.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A 200 MB upload at a slow client's pace must finish: generous request timeouts.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 5
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections over the
# workers. With one shared socket, one worker could take every keep-alive connection of a burst and
# leave the others idle (measured: all 16 of wrk's connections on one worker in half the runs).
reuse_port = True
accesslog = None  # the app logs one structured line per request
