"""Part of `make bench`: the results page and the Excel workbooks at 10,000 to 1,000,000
responses, on PostgreSQL and on SQLite.

For each size and database it generates that many responses to a 20-question survey
(written straight into the tables with the secondary indexes dropped and rebuilt after:
COPY on PostgreSQL, executemany on SQLite, with the answers a real submission would
store), then measures
  - the dashboard's server time (analysis.results and weighting for the whole survey, as
    the page runs them): the first view, which counts every answer and keeps the counts
    (analysis.tally), later views, and later views after 1% more responses came in,
  - the time and peak memory of one municipality's workbook and of the whole region's,
    each written in a fresh process (its own peak RSS, VmHWM), and
  - as the baseline, the same Excel writer (xlsxwriter, constant memory) filling every
    cell of a Data sheet of the same size (responses x columns) with no database involved;
and prints each target with "met" or "NOT met". A full run takes about half an hour.
Bounded: BENCH_ANALYSIS_SIZES (default 10000,100000,1000000), BENCH_ANALYSIS_DATABASES
(default postgresql,sqlite). Nothing it creates outlives it.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK = 20_000

SINGLE = 10
MULTI = 3
# Data sheet: 6 fixed columns, one per question but the multiple-choice ones, 6 per those.
DATA_COLUMNS = 6 + (20 - MULTI) + 6 * MULTI


def definition() -> dict[str, Any]:
    """A 20-question poll: age, municipality, 10 single and 3 multiple choice, 2 grades,
    yes/no, an agree scale and an open question."""
    options = [{"code": f"o{k}", "label": f"Antwoord {k}"} for k in range(1, 5)]
    many = [{"code": f"m{k}", "label": f"Keuze {k}"} for k in range(1, 7)]
    questions: list[dict[str, Any]] = [
        {"code": "leeftijd", "type": "age", "text": "Leeftijd?", "required": True},
        {"code": "gemeente", "type": "municipality", "text": "Gemeente?", "required": True},
    ]
    questions += [
        {"code": f"enkel{i}", "type": "single_choice", "text": f"Vraag {i}?", "options": options}
        for i in range(1, SINGLE + 1)
    ]
    questions += [
        {"code": f"meer{i}", "type": "multiple_choice", "text": f"Keuzes {i}?", "options": many}
        for i in range(1, MULTI + 1)
    ]
    questions += [
        {"code": "cijfer1", "type": "grade", "text": "Cijfer 1?"},
        {"code": "cijfer2", "type": "grade", "text": "Cijfer 2?"},
        {"code": "janee", "type": "yes_no", "text": "Ja of nee?"},
        {"code": "eens", "type": "agree_scale", "text": "Stelling?"},
        {"code": "opmerking", "type": "long_text", "text": "Nog iets?"},
    ]
    return {"slug": "bench-analyse", "title": "Analysebench", "status": "open",
            "region": "drenthe", "pages": [{"questions": questions}]}  # fmt: skip


def generate(
    app: Any, count: int, seed: int = 1, survey_id: int | None = None, when: datetime | None = None
) -> int:
    """Store `count` responses with their answers (to a new survey, or to `survey_id`,
    all submitted at `when`, else spread over June); return the survey id."""
    from peiling.extensions import db
    from peiling.surveys.cli import import_definition
    from peiling.surveys.models import Question, Survey

    with app.app_context():
        survey = db.session.get(Survey, survey_id) if survey_id else import_definition(definition())
        questions = {q.code: q for q in db.session.scalars(
            sa.select(Question).where(Question.survey_id == survey.id))}  # fmt: skip
        places = [m for m, in db.session.execute(sa.text(
            "SELECT code FROM municipality WHERE region_code = 'drenthe'"))]  # fmt: skip
        survey_id = survey.id
        engine = db.engine
        start = db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM response")) or 0
        option_ids = {code: [o.id for o in q.options] for code, q in questions.items()}
        ids = {code: q.id for code, q in questions.items()}
    rng = random.Random(seed)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    responses, answers = [], []
    for n in range(count):
        rid = start + n + 1
        place = rng.choice(places)
        age = rng.randint(12, 25)
        moment = when or now + timedelta(seconds=rng.randint(0, 30 * 86400))
        responses.append((rid, survey_id, secrets.token_hex(16), place, age, None, "nl",
                          moment))  # fmt: skip
        # (question, option, number, text) in the order a submission stores them; each
        # row is keyed by (response_id, position), numbered below as the store does.
        given: list[tuple[int, int | None, float | None, str | None]] = [
            (ids["leeftijd"], None, float(age), None),
            (ids["gemeente"], None, None, place),
        ]
        for i in range(1, SINGLE + 1):
            code = f"enkel{i}"
            given.append((ids[code], rng.choice(option_ids[code]), None, None))
        for i in range(1, MULTI + 1):
            code = f"meer{i}"
            # in the questionnaire's order, as a browser posts ticked boxes
            picks = sorted(
                rng.sample(option_ids[code], rng.randint(1, 3)), key=option_ids[code].index
            )
            for k, option in enumerate(picks):  # the first pick marks the respondent
                given.append((ids[code], option, 1.0 if k == 0 else None, None))
        for code in ("cijfer1", "cijfer2"):
            given.append((ids[code], None, float(rng.randint(1, 10)), None))
        for code in ("janee", "eens"):
            given.append((ids[code], rng.choice(option_ids[code]), None, None))
        if rng.random() < 0.2:
            given.append((ids["opmerking"], None, None,
                          "Meer te doen in de zomer, graag iets bij het meer."))  # fmt: skip
        for position, (question, option, number, text) in enumerate(given):
            answers.append((rid, position, survey_id, question, option, place, number, text))
        if len(answers) >= CHUNK * 20 or n == count - 1:
            _store(engine, responses, answers)
            responses, answers = [], []
    if engine.dialect.name == "postgresql":  # the ids were given: move the sequence past them
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('response', 'id'), "
                                 "(SELECT max(id) FROM response))"))  # fmt: skip
    return survey_id


@contextmanager
def without_indexes(engine: sa.Engine) -> Iterator[None]:
    """Load in bulk as pg_restore does: drop the secondary indexes of response and answer
    first and build them afterwards (keys and unique constraints stay)."""
    if engine.dialect.name == "postgresql":
        listed = """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname IN ('response', 'answer')
              AND t.relnamespace = current_schema()::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"""
    else:
        listed = """SELECT name, sql FROM sqlite_master WHERE type = 'index'
                    AND tbl_name IN ('response', 'answer') AND sql IS NOT NULL"""
    with engine.begin() as conn:
        indexes = conn.execute(sa.text(listed)).all()
        for name, _sql in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for _name, sql in indexes:
                conn.execute(sa.text(sql))


RESPONSE_COLUMNS = ("id", "survey_id", "submission_token", "municipality_code", "age", "source",
                    "language", "submitted_at")  # fmt: skip
ANSWER_COLUMNS = ("response_id", "position", "survey_id", "question_id", "option_id",
                  "municipality_code", "value_number", "value_text")  # fmt: skip


def _store(engine: sa.Engine, responses: list[tuple], answers: list[tuple]) -> None:  # type: ignore[type-arg]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            # No foreign-key trigger per row: the generator makes every key itself.
            cursor.execute("SET LOCAL session_replication_role = replica")
            for table, columns, rows in (("response", RESPONSE_COLUMNS, responses),
                                         ("answer", ANSWER_COLUMNS, answers)):  # fmt: skip
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            marks = lambda n: ", ".join("?" * n)  # noqa: E731
            raw = conn.connection.driver_connection
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO response ({', '.join(RESPONSE_COLUMNS)}) VALUES ({marks(8)})",  # noqa: S608 - fixed names
                [(*r[:7], r[7].isoformat(sep=" ")) for r in responses],
            )
            raw.executemany(  # type: ignore[union-attr]
                f"INSERT INTO answer ({', '.join(ANSWER_COLUMNS)}) VALUES ({marks(8)})",  # noqa: S608
                answers,
            )


@contextmanager
def database(kind: str) -> Iterator[dict[str, Any]]:
    """Settings for an app on a database of the bench's own, dropped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="peiling-analysis-"))
    try:
        if kind == "sqlite":
            yield {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                   "SECRET_KEY": "bench", "instance": folder}  # fmt: skip
            return
        schema = "peiling_bench_" + secrets.token_hex(4)
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            options = {"connect_args": {"options": f"-csearch_path={schema}"}}
            yield {"SQLALCHEMY_DATABASE_URI": PG_URL, "SQLALCHEMY_ENGINE_OPTIONS": options,
                   "SECRET_KEY": "bench", "instance": folder}  # fmt: skip
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    finally:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()


def make_app(settings: dict[str, Any]) -> Any:
    from flask_migrate import upgrade

    from peiling import create_app

    config = {k: v for k, v in settings.items() if k != "instance"}
    app = create_app(config)
    app.instance_path = str(settings["instance"])
    with app.app_context():
        upgrade()
        if app.extensions["sqlalchemy"].engines[None].dialect.name == "postgresql":
            app.extensions["sqlalchemy"].session().execute(sa.text("SELECT 1"))
    return app


def dashboard_times(app: Any, survey_id: int, size: int, repeat: int = 3) -> dict[str, float]:
    """Seconds for everything the dashboard computes for the whole survey: the first view
    (counts every answer and keeps the counts), later views (median), and later views
    once 1% more responses have come in, just now (counted on top of the kept counts)."""
    from peiling.analysis.filters import Filters
    from peiling.analysis.results import results
    from peiling.analysis.weighting import weighting
    from peiling.auth.access import Scope
    from peiling.extensions import db
    from peiling.surveys.definition import get_definition
    from peiling.surveys.models import Survey

    def view() -> float:
        with app.test_request_context("/"):
            defn = get_definition(db.session, db.session.get(Survey, survey_id))
            start = time.perf_counter()
            results(db.session, defn, Scope(None, True), Filters())
            weighting(db.session, defn, Scope(None, True), Filters())
            seconds = time.perf_counter() - start
            db.session.rollback()
            return seconds

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does after a bulk load: statistics, and the visibility map
            # that lets the counts be read from the index alone.
            autocommit = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with autocommit as conn:
                conn.execute(sa.text("VACUUM ANALYZE answer"))
                conn.execute(sa.text("VACUUM ANALYZE response"))
    times = {"first": view()}
    times["later"] = statistics.median(view() for _ in range(repeat))
    generate(app, max(size // 100, 1), seed=2, survey_id=survey_id, when=datetime.now(UTC))
    times["newer"] = statistics.median(view() for _ in range(repeat))
    return times


def workbook_run(
    settings: dict[str, Any], survey_id: int, municipality: str | None
) -> dict[str, float]:
    """Write one workbook in a fresh process; its seconds, peak RSS and the file's size."""
    child = {**{k: (str(v) if k == "instance" else v) for k, v in settings.items()},
             "survey_id": survey_id, "municipality": municipality}  # fmt: skip
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.analysis", "--write-workbook", json.dumps(child)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _write_workbook(raw: str) -> None:
    settings = json.loads(raw)
    settings["instance"] = Path(settings["instance"])
    survey_id, municipality = settings.pop("survey_id"), settings.pop("municipality")
    from peiling import create_app

    app = create_app({k: v for k, v in settings.items() if k != "instance"})
    from peiling.analysis import workbook
    from peiling.auth.access import Scope
    from peiling.extensions import db
    from peiling.surveys.definition import get_definition
    from peiling.surveys.models import Survey

    with app.test_request_context("/"), tempfile.TemporaryDirectory() as folder:
        defn = get_definition(db.session, db.session.get(Survey, survey_id))
        before = peak_rss_mb()
        start = time.perf_counter()
        path = Path(folder) / "out.xlsx"
        workbook.write(path, db.session, defn, workbook.Request(municipality, Scope(None, True)))
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
        size = path.stat().st_size / 1e6
        print(json.dumps({"seconds": seconds, "peak_mb": peak, "grew_mb": peak - before,
                          "size_mb": size}))  # fmt: skip


def peak_rss_mb() -> float:
    """The peak resident memory of this process alone, in MB.

    Not getrusage's ru_maxrss: Linux hands a parent's peak on to a child it starts (a
    parent at 513 MB, its `python -c` child reported 513 MB too), so a workbook child would
    report the bench's own peak whenever that was higher. /proc's VmHWM is the high-water
    mark of this process's own memory."""
    try:
        found = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    except OSError:  # not Linux
        found = None
    if found is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(found.group(1)) / 1024


def baseline(rows: int, columns: int) -> float:
    """Seconds for xlsxwriter (constant memory) to write rows × columns like the Data sheet."""
    import xlsxwriter

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        book = xlsxwriter.Workbook(f"{folder}/raw.xlsx", {"constant_memory": True})
        sheet = book.add_worksheet("Data")
        for r in range(rows):
            for c in range(columns):
                if c % 3:
                    sheet.write_number(r, c, r + c)
                else:
                    sheet.write_string(r, c, "Antwoord 3")
        book.close()
        return time.perf_counter() - start


DASHBOARD_TARGET = {"postgresql": 0.3, "sqlite": 1.0}  # seconds at 100,000 responses
WORKBOOK_RATIO_TARGET = 1.5


def main() -> int:
    sizes = [
        int(s) for s in os.environ.get("BENCH_ANALYSIS_SIZES", "10000,100000,1000000").split(",")
    ]
    kinds = os.environ.get("BENCH_ANALYSIS_DATABASES", "postgresql,sqlite").split(",")
    print("== The results page and the workbooks, by number of responses ==")
    print(f"   20 questions, about 23 answer rows per response; Data sheet: {DATA_COLUMNS} columns")
    print("   dashboard: first view (counts every answer, keeps the counts); later views;")
    print("   later views after 1% more responses came in just now (added to the kept counts)")
    print("   baseline: xlsxwriter (constant memory) filling responses x Data columns, no database")
    baselines: dict[int, float] = {}
    verdicts: list[str] = []
    for kind in kinds:
        peaks: dict[int, float] = {}
        for size in sizes:
            with database(kind) as settings:
                app = make_app(settings)
                from peiling.extensions import db

                with app.app_context():
                    engine = db.engine
                start = time.perf_counter()
                with without_indexes(engine):
                    survey_id = generate(app, size)
                made = time.perf_counter() - start
                dash = dashboard_times(app, survey_id, size)
                with app.app_context():
                    db.engine.dispose()
                one = workbook_run(settings, survey_id, "GM0114")
                region = workbook_run(settings, survey_id, None)
                if size not in baselines:
                    baselines[size] = baseline(size, DATA_COLUMNS)
                raw = baselines[size]
                ratio = region["seconds"] / raw
                peaks[size] = region["peak_mb"]
                print(f"   {kind:10s} {size:>9,} responses (generated and indexed in {made:.0f} s)")
                print(f"      dashboard first {dash['first']:.3f} s, later {dash['later']:.3f} s, "
                      f"with 1% newer {dash['newer']:.3f} s")  # fmt: skip
                print(
                    f"      workbook Emmen   {one['seconds']:.1f} s, peak {one['peak_mb']:.0f} MB"
                )
                print(f"      workbook region  {region['seconds']:.1f} s, peak "
                      f"{region['peak_mb']:.0f} MB, {region['size_mb']:.1f} MB file; "
                      f"raw writing {raw:.1f} s (ratio {ratio:.2f})")  # fmt: skip
                sys.stdout.flush()
                if size == 100_000:
                    target = DASHBOARD_TARGET[kind]
                    worst = max(dash["later"], dash["newer"])
                    verdicts.append(f"dashboard {kind} at 100,000 under {target} s: later views "
                                    f"{worst:.3f} s -- {_met(worst < target)} (first view "
                                    f"{dash['first']:.2f} s)")  # fmt: skip
                if size >= 100_000:
                    verdicts.append(f"region workbook {kind} at {size:,} within "
                                    f"{WORKBOOK_RATIO_TARGET}x raw writing: {ratio:.2f} -- "
                                    f"{_met(ratio <= WORKBOOK_RATIO_TARGET)}")  # fmt: skip
        if 100_000 in peaks and 1_000_000 in peaks:
            growth = peaks[1_000_000] / peaks[100_000]
            verdicts.append(f"peak memory {kind} flat from 100,000 to 1,000,000: "
                            f"{peaks[100_000]:.0f} -> {peaks[1_000_000]:.0f} MB ({growth:.2f}x) "
                            f"-- {_met(growth < 1.2)}")  # fmt: skip
    print("Targets:")
    for line in verdicts:
        print(f"   {line}")
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    # Stopped from outside (timeout, Ctrl-C): unwind, so the schema and folder are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(sys.argv) == 3 and sys.argv[1] == "--write-workbook":
        _write_workbook(sys.argv[2])
    else:
        raise SystemExit(main())
