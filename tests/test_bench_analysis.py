"""bench/analysis.py (part of `make bench`): its generator writes the rows a real submission
stores, and the whole bench runs, small, on the suite's database and leaves nothing behind.

The generator writes straight into the tables (COPY, executemany), past the models: without
these tests a change of the answer table's keys breaks `make bench` and nothing else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench import analysis
from peiling.database import dispose_engines
from peiling.extensions import db
from peiling.surveys.definition import QuestionType, get_definition
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, store_response
from tests.conftest import PG_URL, make_app

ROOT = Path(__file__).resolve().parent.parent
ROWS = (
    "SELECT position, question_id, option_id, municipality_code, value_number, value_text "
    "FROM answer WHERE response_id = :id ORDER BY position"
)
NUMBERS = {QuestionType.AGE, QuestionType.GRADE}


def _form_of(defn: Any, rows: list[Any]) -> dict[str, list[str]]:
    """What a browser would post to give the answers of `rows`."""
    questions = {q.id: q for q in defn.by_code.values()}
    form: dict[str, list[str]] = {}
    for _position, question_id, option_id, _place, number, text in rows:
        q = questions[question_id]
        if q.type in NUMBERS:
            value = str(int(number))
        elif option_id is not None:
            value = next(o.code for o in q.options if o.id == option_id)
        else:
            value = text
        form.setdefault(q.field, []).append(value)
    for q in questions.values():  # ticked boxes are posted in the questionnaire's order
        if q.field in form and q.options:
            form[q.field].sort(key=[o.code for o in q.options].index)
    return form


def test_generated_answers_are_what_a_submission_stores(tmp_path: Path) -> None:
    app, drop = make_app(tmp_path, "benchgen")
    try:
        survey_id = analysis.generate(app, 40, seed=3)
        with app.app_context():
            generated = db.session.execute(
                sa.text("SELECT id, municipality_code, age FROM response ORDER BY id")
            ).all()
            assert len(generated) == 40
            defn = get_definition(db.session, db.session.get(Survey, survey_id))
            markers = 0
            for n, (rid, place, age) in enumerate(generated):
                rows = db.session.execute(sa.text(ROWS), {"id": rid}).all()
                assert [r.position for r in rows] == list(range(len(rows)))
                form = _form_of(defn, rows)
                answers, problems = check_questions(defn, visible_pages(defn, form), form)
                assert not problems.errors, problems.errors
                real = store_response(db.session, defn, answers, ResponseMeta(f"real-{n}"))
                db.session.commit()
                assert db.session.execute(sa.text(ROWS), {"id": real}).all() == rows
                stored = db.session.execute(
                    sa.text("SELECT municipality_code, age FROM response WHERE id = :id"),
                    {"id": real},
                ).one()
                assert tuple(stored) == (place, age)
                markers += sum(1 for r in rows if r.option_id is not None and r.value_number)
            # every respondent marks one first pick in each of the 3 multiple-choice questions
            assert markers == 40 * analysis.MULTI
    finally:
        dispose_engines(app)
        drop()


def _bench_schemas() -> int:
    engine = sa.create_engine(PG_URL)  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'peiling_bench_%'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_the_analysis_bench_runs_and_leaves_nothing_behind() -> None:
    kind = "postgresql" if PG_URL else "sqlite"
    env = {**os.environ, "BENCH_ANALYSIS_SIZES": "200", "BENCH_ANALYSIS_DATABASES": kind}
    if PG_URL:
        env["BENCH_DATABASE_URL"] = PG_URL
        before = _bench_schemas()
    done = subprocess.run(  # noqa: S603 - the project's own bench
        [sys.executable, "-m", "bench.analysis"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert re.search(rf"^\s+{kind}\s+200 responses", out, re.M), out
    assert "dashboard first" in out
    assert "workbook Emmen" in out
    assert "workbook region" in out
    assert "Traceback" not in done.stderr
    if PG_URL:
        assert _bench_schemas() == before


CHILD = """
import resource, sys
from bench.analysis import peak_rss_mb
held = bytearray(int(sys.argv[1]) * 2**20)
held[::4096] = b"x" * len(held[::4096])  # touch every page: resident, not just reserved
print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _child_peaks(megabytes: int) -> tuple[float, float]:
    """A child that holds `megabytes`: its peak by peak_rss_mb() and by ru_maxrss."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", CHILD, str(megabytes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    own, inherited = done.stdout.split()
    return float(own), float(inherited)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's /proc only")
def test_a_workbook_childs_peak_memory_is_its_own() -> None:
    # The parent (this test) holds 400 MB while it starts the child: ru_maxrss reports
    # that as the child's peak, which would hide how much a workbook itself needs.
    held = bytearray(400 * 2**20)
    held[::4096] = b"x" * len(held[::4096])
    own, inherited = _child_peaks(0)
    assert inherited >= 400
    assert own < 200
    # And a child's own use shows in full. Two children's baselines (imports, allocator)
    # differ by a few pages from run to run, so allow 10 MB of the 250 for that: an
    # inherited or missed peak is off by hundreds.
    own_with_more, _ = _child_peaks(250)
    assert own_with_more >= own + 240
    del held
