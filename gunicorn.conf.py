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
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("PEILING_FORWARDED_ALLOW_IPS", "127.0.0.1")
