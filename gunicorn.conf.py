"""gunicorn settings: `gunicorn wsgi:app` picks this file up from the working directory.

Every value comes from config.py's schema, loaded and checked here in the master before any worker
starts: a bad setting (or an unusable file store) ends gunicorn with one line naming the variable.
Binds 127.0.0.1:8080 unless a platform sets `PORT` (then all interfaces, as Heroku and its kind
route to it) or `DEEPINTSHIELD_BIND` names an address.

Logs: every line, gunicorn's included, is one JSON object on stderr (`logformat.LOGCONFIG`).
Metrics: the workers share a fresh `PROMETHEUS_MULTIPROC_DIR` per server start (`on_starting`; made
inside the one given in the environment, if any), which `/metrics` sums over; it is removed when the
server exits.
"""

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile

from gunicorn import glogging

import config as _config  # underscored: gunicorn reads this file's public names as its settings ("config" is one)
import logformat

logformat.configure()  # the settings' own warnings are JSON lines too (gunicorn's logconfig comes later)


def _checked_settings() -> dict:
    """The settings, checked in a forked child so that this master never imports `ssl`.

    The startup checks may import botocore, werkzeug or requests, and each imports `ssl`. The gevent
    workers fork from this process and patch `ssl` only then: had it been imported before, every TLS
    context they made later recursed to a RecursionError (seen with DEEPINTSHIELD_BEDROCK_BUCKET set,
    whose check reads botocore's S3 rules). A bad setting still ends startup with its one line.
    """
    try:
        settings = _config.from_environment()  # reading the values imports nothing heavy
    except _config.ConfigError as error:
        raise SystemExit(str(error)) from None
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's outcome is its exit status
        try:
            _config.check(settings)
        except _config.ConfigError as error:
            print(error, file=sys.stderr, flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(1)
    return settings


_settings = _checked_settings()


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


class _Logger(glogging.Logger):
    """gunicorn's logger without its access lines: `logconfig_dict` would turn them on, and the app
    already writes one per request (when the body has gone out, which gunicorn's line cannot know)."""

    def access(self, resp, req, environ, request_time) -> None:
        pass


logger_class = _Logger
_METRICS_PREFIX = "deepintshield-metrics-"
_listening = ""  # the configured addresses, for the banner (set in on_starting)


def _address(address) -> str:
    if isinstance(address, tuple):
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        return f"http://{host}:{address[1]}"
    return f"unix:{address}"


class _ListeningBanner(logging.Filter):
    """Fills in gunicorn's "Listening at:  (pid)" banner: with `reuse_port`, gunicorn 27 opens the sockets in
    each worker, so the master has none to name when it prints it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Listening at: %s (%s)" and isinstance(record.args, tuple) and record.args[:1] == ("",):
            record.args = (_listening, *record.args[1:])
        return True


# Every line as JSON on stderr, gunicorn's own (with the banner filled in) included.
logconfig_dict = {
    **logformat.LOGCONFIG,
    "filters": {"listening": {"()": _ListeningBanner}},
    "loggers": {**logformat.LOGCONFIG["loggers"],
                "gunicorn.error": {**logformat.LOGCONFIG["loggers"]["gunicorn.error"], "filters": ["listening"]}},
}


def on_starting(server) -> None:
    """Refuse to start on a port another process already serves (SO_REUSEPORT would let two instances
    share it silently, each getting some of the connections); make this start's metrics directory."""
    global _listening
    _listening = ",".join(_address(address) for address in server.cfg.address)
    _check_ports_free(server)
    parent = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    if parent and os.path.basename(parent.rstrip("/")).startswith(_METRICS_PREFIX):
        parent = os.path.dirname(parent.rstrip("/"))  # inherited from the master that re-executed us (USR2)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_METRICS_PREFIX, dir=parent)


def post_fork(server, worker) -> None:
    # Each worker opens its own socket (reuse_port): say where it actually listens.
    server.log.info("Worker listening at: %s", ",".join(str(sock) for sock in worker.sockets))


def child_exit(server, worker) -> None:
    """A worker's live gauges must not be summed after it is gone (its counters stay: they happened)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)


def _check_ports_free(server) -> None:
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
                server.log.error("%s:%s is already in use by another process.", address[0], address[1])
                raise SystemExit(1) from None
            raise
        finally:
            probe.close()
