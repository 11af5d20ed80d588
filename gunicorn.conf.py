"""gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory.

Every value comes from config.py's schema, loaded and checked here in the master before any worker
starts: a bad setting (or an unusable file store) ends gunicorn with one line naming the variable.
Binds 127.0.0.1:8080 unless a platform sets `PORT` (then all interfaces, as Heroku and its kind
route to it) or `DEEPINTSHIELD_BIND` names an address.
"""

import errno
import socket

import config as _config  # underscored: gunicorn reads this file's public names as its settings ("config" is one)

_settings = _config.startup()


def _bind() -> str:
    if _settings["BIND"]:
        return _settings["BIND"]
    if _settings["PORT"]:
        return f"0.0.0.0:{_settings['PORT']}"
    return "127.0.0.1:8080"


bind = _bind()
workers = _settings["WEB_CONCURRENCY"]
# One greenlet per connection (gunicorn_worker.py): a slow client costs a few KB, not a thread, and
# clients that stop moving their bytes are cut off.
worker_class = "gunicorn_worker.Worker"
worker_connections = _settings["WORKER_CONNECTIONS"]
# A 200 MB upload at a slow client's pace must finish: generous request timeouts.
timeout = _settings["GUNICORN_TIMEOUT"]
graceful_timeout = 30
# With async workers this is also the deadline for each request's headers.
keepalive = _settings["HEADER_TIMEOUT"]
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections over the
# workers. With one shared socket, one worker could take every keep-alive connection of a burst and
# leave the others idle (measured: all 16 of wrk's connections on one worker in half the runs).
reuse_port = True
accesslog = None  # the app logs one structured line per request


def on_starting(server) -> None:
    """Refuse to start on a port another process already serves: SO_REUSEPORT would let two instances
    share it silently, each getting some of the connections."""
    for address in server.cfg.address:
        if not isinstance(address, tuple):
            continue  # a unix socket
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        probe = socket.socket(family, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does: TIME_WAIT is no owner
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise SystemExit(f"{address[0]}:{address[1]} is already in use by another process.") from None
            raise
        finally:
            probe.close()
