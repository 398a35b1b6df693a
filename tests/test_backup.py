"""Back-up and restore (`flask backup`, `flask restore`) on SQLite and on PostgreSQL: a
restored database holds every row it held, its contact details open with the kept key, a
database with responses is only overwritten on request, and a SQLite back-up taken while
respondents keep answering holds only complete responses."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from peiling import crypto
from peiling.backup import sqlite as sqlite_backup
from peiling.database import dispose_engines
from peiling.extensions import db
from peiling.surveys.definition import get_definition
from peiling.surveys.demo import add_synthetic_responses
from peiling.surveys.flow import check_questions
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import Survey
from peiling.surveys.services import ResponseMeta, answer_values, store_response
from tests.conftest import PG_URL, Respondent, make_app
from tests.surveys.test_form import ALL, complete

# Every row of these is compared before the back-up and after the restore.
TABLES = ("survey", "survey_page", "question", "question_option", "response", "answer",
          "volunteer")  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A database of this module's own (file or schema): these tests destroy it."""
    made, drop = make_app(tmp_path_factory.mktemp("backup"), "backup")
    yield made
    dispose_engines(made)
    drop()


def rows(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of TABLES, ordered by its key."""
    found = {}
    with app.app_context():
        for table in TABLES:
            key = "response_id, position" if table == "answer" else "id"
            sql = sa.text(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608 - fixed names
            found[table] = [tuple(r) for r in db.session.execute(sql)]
    return found


def destroy(app: Flask) -> None:
    """Lose the database: drop and recreate the schema, or delete the SQLite file."""
    with app.app_context():
        url = db.engine.url
        schema = db.session.scalar(sa.text("SELECT current_schema()")) if PG_URL else None
        db.session.remove()
    dispose_engines(app)
    if schema:
        engine = sa.create_engine(PG_URL)  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(str(url.database) + suffix).unlink(missing_ok=True)
    with app.app_context():
        assert not sa.inspect(db.engine).has_table("response")


def dump_text(path: Path) -> str:
    """Everything a backup file holds, as text: the SQLite file's bytes, or the SQL that
    pg_restore writes out of a custom-format dump."""
    if not PG_URL:
        return path.read_bytes().decode("utf-8", "replace")
    done = subprocess.run(  # noqa: S603
        [shutil.which("pg_restore") or "pg_restore", "--file=-", str(path)],
        capture_output=True,
        check=True,
    )
    return done.stdout.decode("utf-8", "replace")


def answer(app: Flask, survey: Survey, n: int = 1) -> None:
    """`n` respondents, each in a browser of her own, answer the demo poll completely."""
    for _ in range(n):
        assert complete(Respondent(app.test_client(), survey.slug)).status_code == 303


def test_restore_brings_back_every_row_and_the_contact_details(
    app, demo_survey, runner, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    answer(app, demo_survey, 2)  # through the form, each with "Daan Smit" as volunteer
    with app.app_context():
        add_synthetic_responses(db.session, db.session.get(Survey, demo_survey.id), 40, seed=6)
    before = rows(app)
    assert len(before["response"]) == 42 and len(before["volunteer"]) >= 3
    target = tmp_path / "kopie" / ("peiling.dump" if PG_URL else "peiling.sqlite")

    made = runner.invoke(args=["backup", str(target)])
    assert made.exit_code == 0, made.output
    assert f"Back-up geschreven: {target}" in made.output and "42 reacties" in made.output
    assert "Bewaar die sleutel" in made.output and "encryption_key" in made.output
    assert target.stat().st_mode & 0o077 == 0  # only the owner may read it
    # The raw dump holds the contact details only encrypted (a custom-format dump is
    # compressed, so read it as the SQL text pg_restore makes of it).
    raw = dump_text(target)
    assert "Meer te doen graag!" in raw  # an answer: the dump is readable here
    assert "Daan Smit" not in raw and "06 12345678" not in raw

    with app.app_context():
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    destroy(app)
    restored = runner.invoke(args=["restore", str(target)])
    assert restored.exit_code == 0, restored.output
    assert "42 reacties" in restored.output and f"Alembic-versie {version}" in restored.output
    assert "Bewaar die sleutel" in restored.output
    assert rows(app) == before
    with app.app_context():
        names = db.session.scalars(sa.text("SELECT name FROM volunteer ORDER BY id")).all()
        assert crypto.decrypt(names[0]) == "Daan Smit"
        assert None not in [crypto.decrypt(n) for n in names]


def test_restore_refuses_to_overwrite_responses_without_force(
    app, demo_survey, runner, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    answer(app, demo_survey)
    before = rows(app)
    target = tmp_path / "peiling.backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    answer(app, demo_survey)  # a response that came in after the back-up
    after = rows(app)

    refused = runner.invoke(args=["restore", str(target)])
    assert refused.exit_code != 0
    assert "2 reacties" in refused.output and "--force" in refused.output
    assert rows(app) == after  # nothing was touched

    forced = runner.invoke(args=["restore", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert "1 reacties" in forced.output
    assert rows(app) == before


def test_default_path_is_in_the_instance_folder(app, demo_survey, runner) -> None:  # type: ignore[no-untyped-def]
    made = runner.invoke(args=["backup"])
    assert made.exit_code == 0, made.output
    folder = Path(app.instance_path) / "backups"
    (written,) = folder.iterdir()
    try:
        assert written.name.startswith("peiling-20") and written.name.endswith(
            "Z" + (".dump" if PG_URL else ".sqlite")
        )
        assert str(written) in made.output and "0 reacties" in made.output
    finally:
        written.unlink()  # fmt: skip


SUFFIX = ".dump" if PG_URL else ".sqlite"  # the back-up command picks it


@pytest.mark.parametrize("folder", ["existing", "new/"])
def test_given_a_folder_the_backup_gets_a_dated_name_with_its_suffix(
    runner, tmp_path, folder
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "existing").mkdir()
    made = runner.invoke(args=["backup", f"{tmp_path}/{folder}"])  # "new/": made for it
    assert made.exit_code == 0, made.output
    (written,) = (tmp_path / folder.rstrip("/")).iterdir()
    assert re.fullmatch(r"peiling-\d{8}T\d{6}Z" + re.escape(SUFFIX), written.name)
    assert f"Back-up geschreven: {written} " in made.output
    assert oct(written.stat().st_mode & 0o777) == oct(0o600)


def test_old_backups_in_the_folder_are_deleted_and_nothing_else(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)

    def named(days: float, suffix: str = SUFFIX, prefix: str = "peiling-") -> str:
        return f"{prefix}{(now - timedelta(days=days)).strftime('%Y%m%dT%H%M%SZ')}{suffix}"

    old = [named(400, ".dump"), named(400, ".sqlite"), named(15), named(14.01)]
    recent = [named(13.9), named(2, ".dump"), named(2, ".sqlite")]
    others = [named(400, ".dump.tmp"), named(400, ".dump", "other-"), "peiling-oud.dump",
              "notities.txt", "." + named(400)]  # fmt: skip
    for name in old + recent + others:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / named(300, ".dump")).mkdir()  # not a back-up file: stays
    (tmp_path / "elders").mkdir()
    (tmp_path / "elders" / named(400)).write_bytes(b"x")  # another folder: stays

    made = runner.invoke(args=["backup", str(tmp_path)])  # PEILING_BACKUP_KEEP_DAYS: 14
    assert made.exit_code == 0, made.output
    assert "Oude back-ups verwijderd (ouder dan 14 dagen): 4" in made.output
    left = {p.name for p in tmp_path.iterdir()}
    assert not left & set(old)
    (new,) = left - set(recent) - set(others) - {named(300, ".dump"), "elders"}
    assert new.endswith(SUFFIX) and new in made.output
    assert (tmp_path / "elders" / named(400)).exists()

    again = runner.invoke(args=["backup", "--keep-days", "1", str(tmp_path / "nieuw.bak")])
    assert again.exit_code == 0, again.output
    assert "(ouder dan 1 dagen): 3" in again.output
    kept = {p.name for p in tmp_path.iterdir()}
    assert kept == {new, "nieuw.bak", *others, named(300, ".dump"), "elders"}  # recent gone


def test_keep_days_must_be_at_least_one(app, runner, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    old = tmp_path / "peiling-20200101T000000Z.dump"
    old.write_bytes(b"x")
    refused = runner.invoke(args=["backup", "--keep-days", "0", str(tmp_path)])
    assert refused.exit_code == 2 and old.exists()
    monkeypatch.setitem(app.config, "BACKUP_KEEP_DAYS", 0)
    made = runner.invoke(args=["backup", str(tmp_path)])
    assert made.exit_code == 1 and "minstens 1" in made.output and old.exists()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's online backup API")
def test_sqlite_backup_while_respondents_keep_answering(app, demo_survey, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    stored: list[int] = []
    expected: list[int] = []
    failures: list[BaseException] = []

    def keep_answering() -> None:
        try:
            with app.app_context():
                defn = get_definition(db.session, db.session.get(Survey, demo_survey.id))
                form = {k: v if isinstance(v, list) else [v] for k, v in ALL.items()}
                answers, problems = check_questions(defn, visible_pages(defn, form), form)
                assert not problems.errors
                expected.append(len(answer_values(defn, answers)))
                while not stop.is_set():
                    meta = ResponseMeta(secrets.token_urlsafe(16), source="test")
                    stored.append(store_response(db.session, defn, answers, meta))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 30
        while len(stored) < count and not failures and time.monotonic() < deadline:
            time.sleep(0.005)

    writer = threading.Thread(target=keep_answering)
    writer.start()
    taken: list[tuple[Path, int]] = []
    try:
        for n in range(3):
            wait_for(len(stored) + 15)
            target = tmp_path / f"tijdens-{n}.sqlite"
            result = runner.invoke(args=["backup", str(target)])
            assert result.exit_code == 0, result.output
            taken.append((target, len(stored)))
        wait_for(len(stored) + 15)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not failures, failures
    (per_response,) = expected
    for target, seen in taken:
        fresh = tmp_path / f"hersteld-{target.name}"
        sqlite_backup.restore(target, fresh)
        assert sqlite_backup.integrity(fresh) == "ok"
        engine = sa.create_engine(f"sqlite:///{fresh}")
        with engine.connect() as conn:
            answers_per_response = conn.execute(sa.text(
                "SELECT r.id, count(a.position) FROM response r "
                "LEFT JOIN answer a ON a.response_id = r.id GROUP BY r.id")).all()  # fmt: skip
            volunteers = conn.scalar(sa.text("SELECT count(*) FROM volunteer"))
        engine.dispose()
        assert 15 <= len(answers_per_response) <= seen + 1  # the one being stored, perhaps
        assert {count for _id, count in answers_per_response} == {per_response}
        assert volunteers == len(answers_per_response)
    assert len(stored) > taken[-1][1]  # the writer went on after the last back-up
