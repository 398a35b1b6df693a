"""Designer pages: the survey list, lifecycle, copies, new surveys, import and export."""

from __future__ import annotations

import json
from importlib import resources

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from peiling.auth.access import roles_required
from peiling.auth.models import Role
from peiling.auth.services import record
from peiling.database import flush_or_recheck
from peiling.designer import bp, services
from peiling.designer.problems import NEW_FIELDS, for_form
from peiling.extensions import db
from peiling.problems import FormProblems
from peiling.surveys.cli import read_definition
from peiling.surveys.exporter import export_definition
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Survey
from peiling.surveys.xlsform import MAX_UPLOAD
from peiling.surveys.xlsform_writer import write_xlsform

DESIGNERS = (Role.RESEARCHER,)


def survey_or_404(slug: str) -> Survey:
    return db.first_or_404(select(Survey).where(Survey.slug == slug))


@bp.get("/")
@roles_required(*DESIGNERS)
def index() -> ResponseReturnValue:
    return _index_page()


def _index_page(
    refused_copy: str | None = None, shown: FormProblems | None = None
) -> ResponseReturnValue:
    """The list; after a refused copy of survey `refused_copy`, again with the slug typed for
    it (422), the reasons (`shown`) above the list and beside that field."""
    surveys = db.session.scalars(select(Survey).order_by(Survey.created_at.desc())).all()
    counts = {s.id: services.response_count(db.session, s) for s in surveys}
    page = render_template("designer/index.html", surveys=surveys, counts=counts,
                           refused_copy=refused_copy, typed=request.form,
                           problems=shown or FormProblems())  # fmt: skip
    return page, 422 if refused_copy else 200


ACTIONS = {
    "publiceren": (
        "published",
        _l("‘%(title)s’ is open."),
        lambda s: services.publish(db.session, s),
    ),
    "sluiten": ("closed", _l("‘%(title)s’ is gesloten."), services.close),
    "heropenen": (
        "reopened",
        _l("‘%(title)s’ is weer open."),
        lambda s: services.reopen(db.session, s),
    ),
}


@bp.post("/<slug>/<action>")
@roles_required(*DESIGNERS)
def lifecycle(slug: str, action: str) -> ResponseReturnValue:
    """Publish, close or reopen a survey."""
    if action not in ACTIONS:
        return redirect(url_for(".index"))
    survey = survey_or_404(slug)
    event, outcome, change = ACTIONS[action]
    try:
        change(survey)
    except services.EditRefused as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for(".index"))
    record(db.session, current_user, event, survey.slug)
    db.session.commit()
    flash(str(outcome) % {"title": survey.title})
    return redirect(url_for(".index"))


@bp.post("/<slug>/kopie")
@roles_required(*DESIGNERS)
def duplicate(slug: str) -> ResponseReturnValue:
    survey = survey_or_404(slug)
    new_slug = (request.form.get("slug") or "").strip().lower()
    try:
        copy = services.duplicate(db.session, survey, new_slug, request.form.get("titel") or None)
    except DefinitionError as exc:
        db.session.rollback()
        field = {"slug": (f"kopie-{survey.id}", _l("Nieuwe slug voor een kopie van ‘%(title)s’",
                                                     title=survey.title))}  # fmt: skip
        return _index_page(refused_copy=slug, shown=for_form(exc.details, field, question=None))
    record(db.session, current_user, "duplicated", copy.slug, source=survey.slug)
    db.session.commit()
    flash(_("Kopie gemaakt als concept: %(slug)s.", slug=copy.slug))
    return redirect(url_for(".index"))


TEMPLATES = {
    "jongerenpeiling": ("jongerenpeiling-demo.json", _l("Jongerenpeiling (zomeractiviteiten)")),
    "panelgolf": ("panelgolf.json", _l("Panelgolf: vertrouwen in de lokale politiek")),
    "leeg": (None, _l("Leeg: één pagina met één vraag")),
}


def _template(name: str) -> dict:  # type: ignore[type-arg]
    filename = TEMPLATES[name][0]
    if filename is None:
        # A questionnaire text (Dutch, the questionnaire's own language), not an interface text.
        question = {"code": "vraag_1", "type": "short_text", "text": "Nieuwe vraag"}
        return {"kind": "flash_poll", "region": "drenthe", "pages": [{"questions": [question]}]}
    text = resources.files("peiling.surveys").joinpath("definitions", filename).read_text("utf-8")
    return dict(json.loads(text))


def _store_draft(data: object, action: str, **detail: str) -> Survey:
    """Validate and store a new questionnaire as a draft; raises DefinitionError."""
    if isinstance(data, dict):
        data = {**data, "status": "draft"}
    survey = build_survey(db.session, data)
    db.session.add(survey)
    # Two posts of one form at once (a double click) both find the slug free.
    flush_or_recheck(db.session, lambda: build_survey(db.session, data))
    record(db.session, current_user, action, survey.slug, **detail)
    db.session.commit()
    return survey


@bp.route("/nieuw", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def new() -> ResponseReturnValue:
    """Start a questionnaire from a template, as a draft."""
    form = request.form
    shown = FormProblems()
    if request.method == "POST":
        name = form.get("template", "leeg")
        data = _template(name if name in TEMPLATES else "leeg")
        data.update(slug=form.get("slug", "").strip().lower(), title=form.get("title", "").strip())
        if form.get("region") in ("drenthe", "groningen"):
            data["region"] = form["region"]
        try:
            survey = _store_draft(data, "created", template=name)
        except DefinitionError as exc:
            shown = for_form(exc.details, NEW_FIELDS, question=None)
        else:
            return redirect(url_for(".editor", slug=survey.slug))
    return render_template("designer/new.html", templates=TEMPLATES, form=form, problems=shown), (
        422 if shown else 200
    )


@bp.route("/importeren", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def upload() -> ResponseReturnValue:
    """Import a questionnaire from a JSON definition or an XLSForm workbook, as a draft."""
    problems: list[str] = []
    if request.method == "POST":
        file = request.files.get("bestand")
        if file is None or not file.filename:
            problems = [_("Kies een bestand (.xlsx of .json).")]
        else:
            try:
                data = read_definition(file.filename, file.read(MAX_UPLOAD + 1))
                survey = _store_draft(data, "imported", file=file.filename)
            except DefinitionError as exc:
                problems = exc.problems
            else:
                flash(_("Geïmporteerd als concept: %(title)s.", title=survey.title))
                return redirect(url_for(".editor", slug=survey.slug))
    return render_template("designer/upload.html", problems=problems), (422 if problems else 200)


EXPORTS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


@bp.get("/<slug>/vragenlijst.<kind>")
@roles_required(*DESIGNERS)
def export(slug: str, kind: str) -> ResponseReturnValue:
    """Download the questionnaire as XLSForm (.xlsx) or as Peiling JSON (audit-logged)."""
    if kind not in EXPORTS:
        abort(404)
    survey = survey_or_404(slug)
    definition = export_definition(survey)
    if kind == "xlsx":
        content = write_xlsform(definition)
    else:
        content = json.dumps(definition, ensure_ascii=False, indent=2).encode()
    record(db.session, current_user, "exported", survey.slug, format=kind)
    db.session.commit()
    return current_app.response_class(
        content,
        mimetype=EXPORTS[kind],
        headers={"Content-Disposition": f'attachment; filename="{survey.slug}.{kind}"'},
    )
