"""`make bench`: how heavy, how chatty with the database and how fast Peiling is.

Run with `make bench` (or `.venv/bin/python -m bench.run`). It prints, for the demo poll's
first page, the bytes of the HTML and every same-origin asset (raw and gzipped), the number
of requests, the third-party references and the SQL queries and server time of a page view;
then the throughput of complete form submissions under gunicorn on PostgreSQL, next to a
hello-world Flask app under identical gunicorn settings.

Modules: `run` (entry point and report), `database` (a PostgreSQL schema and instance folder
of the bench's own), `page` (in-process measurements with the Flask test client), `load`
(gunicorn and wrk), `hello` (the hello-world app) and `load.lua` (the wrk script).

Nothing here asserts timings; it prints figures, ratios and whether each target is met.
"""
