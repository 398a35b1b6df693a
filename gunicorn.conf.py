"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every setting can be overridden with the usual GUNICORN_CMD_ARGS or PEILING_* variables.
"""

import multiprocessing
import os

bind = os.environ.get("PEILING_BIND", "127.0.0.1:8000")
# Requests wait on the database part of the time, so two threads per process pay off; more
# threads only contend for the GIL (make bench: 2 x cores workers x 2 threads served the most
# submissions per second on a 2-core machine).
workers = int(os.environ.get("PEILING_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("PEILING_THREADS", 2))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Restart workers now and then so a slow leak can never take a poll down.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
# No query strings and no client address in the access log: respondents stay anonymous.
# No time either: the one-line format below starts every line with the UTC time.
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Some paths hold a personal key (the panel's links, a wave's personal link): this logger
# masks them ("/panel/w/[token]") in every path atom, with the same rule as the dev server.
logger_class = "peiling.logs.AccessLogger"
errorlog = "-"
loglevel = os.environ.get("PEILING_LOG_LEVEL", "info").lower()
# One line per event, in the app's own format (peiling/logs.py), so that a log shipper keeps
# a traceback together: errors to stderr, the access log to stdout. The app's records go
# through the root handler that create_app() installs; gunicorn's loggers do not propagate
# to it, or every line of theirs would be written twice.
_ONE_LINE = {"()": "peiling.logs.OneLineFormatter"}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"one_line": _ONE_LINE},
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "one_line",
                  "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "one_line",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": loglevel.upper(), "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}  # fmt: skip
# gunicorn 23+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl):
# two instances on one host would fight over it, and Peiling has no use for it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("PEILING_FORWARDED_ALLOW_IPS", "127.0.0.1")
