"""The floor under Peiling's submission ratio: the least a complete submission can cost.

    gunicorn bench.floor:app      (started by `make bench`, under every gunicorn setting)

A plain Flask app that answers the same POST as Peiling, under the same gunicorn settings,
doing only what any implementation of it has to do on this machine: it reads the
urlencoded body, counts the client with Peiling's rate limiter (one Redis round trip), stores
the response and its answers with Peiling's own store statement (one PostgreSQL round trip,
committed), and answers 303. The statement's parameters are those of a real submission of
the demo poll, recorded in-process by `record_parameters()`; only the submission token, the
removal hash and the time are new for every request, so it stores the same rows as Peiling.

It skips everything else Peiling does: the CSRF check, the honeypot, parsing and validating
every answer against the questionnaire, conditions, the removal code and the cookies. So
hello world's throughput over the floor's is what the database and Redis cost, and the
floor's over Peiling's is what Peiling's own work costs. A ratio target above the floor's
is out of reach on the machine of that run for a Flask app that counts and stores each
response the way Peiling does, however little else it does.

Environment (set by bench/run.py): BENCH_FLOOR_PARAMETERS (the recorded parameters, a JSON
file), BENCH_FLOOR_SCHEMA (the bench's schema), PEILING_DATABASE_URL, BENCH_REDIS_URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from bench.respondent import FORM_PATH, THANKS_PATH

SUBMIT_LIMITS = "100000000 per minute;1000000000 per hour"  # as bench/database.py's


def record_parameters(app: Flask) -> dict[str, Any]:
    """The store statement's parameters of one complete submission, sent in-process."""
    from bench.page import Submitter
    from peiling import database
    from peiling.surveys.services import STORE_STATEMENT_PG

    seen: list[dict[str, Any]] = []

    def record(statement: str, parameters: Any) -> None:
        if statement == STORE_STATEMENT_PG:
            seen.append(dict(parameters))

    database.statement_listeners.append(record)
    try:
        Submitter(app)(app.test_client(use_cookies=False))
    finally:
        database.statement_listeners.remove(record)
    if len(seen) != 1:
        raise RuntimeError(f"expected one store statement, saw {len(seen)}")
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in seen[0].items()}


def _app() -> Flask:
    import sqlalchemy as sa

    from peiling.database import Writer
    from peiling.ratelimit import ClientLimiter
    from peiling.surveys.services import STORE_STATEMENT_PG
    from peiling.web import parse_urlencoded

    recorded = json.loads(Path(os.environ["BENCH_FLOOR_PARAMETERS"]).read_text())
    schema = os.environ["BENCH_FLOOR_SCHEMA"]
    engine = sa.create_engine(os.environ["PEILING_DATABASE_URL"])
    writer = Writer(engine, {"options": f"-csearch_path={schema}"})
    limiter = ClientLimiter(
        SUBMIT_LIMITS, secrets.token_hex(16), os.environ["BENCH_REDIS_URL"], f"{schema}-floor"
    )
    floor = Flask(__name__)

    @floor.post(FORM_PATH)
    def submit() -> Response:
        token = parse_urlencoded(request.get_data())["token"][0]
        if limiter.hit(request.remote_addr) is not None:
            return Response(status=429)
        parameters = {
            **recorded,
            "submission_token": token,
            "removal_hash": hashlib.sha256(token.encode()).hexdigest(),
            "submitted_at": datetime.now(UTC),
        }
        response_id, still_open = writer.execute(STORE_STATEMENT_PG, parameters)
        if response_id is None or still_open != "t":  # the bench counts only stored 303s
            return Response(status=409)
        return Response(status=303, headers={"Location": THANKS_PATH})

    @floor.get("/")
    def ready() -> str:
        return "ready"

    return floor


app = _app() if "BENCH_FLOOR_PARAMETERS" in os.environ else None
