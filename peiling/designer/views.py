"""Designer pages: the survey list with lifecycle actions and duplication."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from peiling.auth.access import roles_required
from peiling.auth.models import Role
from peiling.auth.services import record
from peiling.designer import bp, edits, services, sharing
from peiling.extensions import db
from peiling.surveys.answers import Cleaned, Problems
from peiling.surveys.cli import read_definition
from peiling.surveys.definition import SurveyDef, compile_survey
from peiling.surveys.exporter import export_definition
from peiling.surveys.flow import Outcome, advance, first_page
from peiling.surveys.importer import DefinitionError, build_survey
from peiling.surveys.models import Survey
from peiling.surveys.render import page_context
from peiling.surveys.views import HONEYPOT, extract_raw
from peiling.surveys.xlsform import MAX_UPLOAD, write_xlsform

DESIGNERS = (Role.RESEARCHER,)


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local_moment(value: str) -> str:
    """A datetime-local field (Dutch time) as ISO 8601 with its offset; as typed if invalid."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # the importer names the field and says what is wrong
    return (moment if moment.tzinfo else moment.replace(tzinfo=AMSTERDAM)).isoformat()


def as_local(moment: datetime | None) -> str:
    """A stored moment for a datetime-local field, in Dutch time."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M")


def _survey(slug: str) -> Survey:
    return db.first_or_404(select(Survey).where(Survey.slug == slug))


@bp.get("/")
@roles_required(*DESIGNERS)
def index() -> ResponseReturnValue:
    surveys = db.session.scalars(select(Survey).order_by(Survey.created_at.desc())).all()
    counts = {s.id: services.response_count(db.session, s) for s in surveys}
    return render_template("designer/index.html", surveys=surveys, counts=counts)


ACTIONS = {
    "publiceren": ("published", "is open", lambda s: services.publish(db.session, s)),
    "sluiten": ("closed", "is gesloten", services.close),
    "heropenen": ("reopened", "is weer open", lambda s: services.reopen(db.session, s)),
}


@bp.post("/<slug>/<action>")
@roles_required(*DESIGNERS)
def lifecycle(slug: str, action: str) -> ResponseReturnValue:
    """Publish, close or reopen a survey."""
    if action not in ACTIONS:
        return redirect(url_for(".index"))
    survey = _survey(slug)
    event, outcome, change = ACTIONS[action]
    try:
        change(survey)
    except services.EditRefused as exc:
        db.session.rollback()
        flash(str(exc))
        return redirect(url_for(".index"))
    record(db.session, current_user, event, survey.slug)
    db.session.commit()
    flash(f"‘{survey.title}’ {outcome}.")
    return redirect(url_for(".index"))


@bp.post("/<slug>/kopie")
@roles_required(*DESIGNERS)
def duplicate(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    new_slug = (request.form.get("slug") or "").strip().lower()
    try:
        copy = services.duplicate(db.session, survey, new_slug, request.form.get("titel") or None)
    except DefinitionError as exc:
        db.session.rollback()
        flash("Kopiëren is niet gelukt: " + "; ".join(exc.problems))
        return redirect(url_for(".index"))
    db.session.flush()
    record(db.session, current_user, "duplicated", copy.slug, source=survey.slug)
    db.session.commit()
    flash(f"Kopie gemaakt als concept: {copy.slug}.")
    return redirect(url_for(".index"))


def _link(survey: Survey) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return sharing.public_url(base, survey.slug, request.args.get("bron"))


@bp.get("/<slug>/delen")
@roles_required(*DESIGNERS)
def share(slug: str) -> ResponseReturnValue:
    """The public link, tagged links, QR codes and the poster of one survey."""
    survey = _survey(slug)
    source = request.args.get("bron") or None
    return render_template("designer/share.html", survey=survey, link=_link(survey), source=source)


@bp.get("/<slug>/qr.svg")
@roles_required(*DESIGNERS)
def qr_svg(slug: str) -> ResponseReturnValue:
    svg = sharing.qr_svg(_link(_survey(slug)))
    return current_app.response_class(svg, mimetype="image/svg+xml")


@bp.get("/<slug>/qr.png")
@roles_required(*DESIGNERS)
def qr_png(slug: str) -> ResponseReturnValue:
    png = sharing.qr_png(_link(_survey(slug)))
    return current_app.response_class(png, mimetype="image/png")


@bp.get("/<slug>/poster")
@roles_required(*DESIGNERS)
def poster(slug: str) -> ResponseReturnValue:
    """An A4 poster for schools and youth centres: title, QR code and link."""
    survey = _survey(slug)
    source = request.args.get("bron") or None
    return render_template("designer/poster.html", survey=survey, link=_link(survey), source=source)


QUESTION_TYPES = [
    ("single_choice", "Eén antwoord kiezen"),
    ("multiple_choice", "Meerdere antwoorden kiezen"),
    ("yes_no", "Ja of nee"),
    ("agree_scale", "Eens-oneens (5 punten)"),
    ("grade", "Rapportcijfer 1–10"),
    ("number", "Getal"),
    ("short_text", "Korte tekst"),
    ("long_text", "Lange tekst"),
    ("age", "Leeftijd"),
    ("municipality", "Gemeente"),
    ("volunteer", "Wil je helpen organiseren?"),
]


def _apply(survey: Survey, data: dict) -> bool:  # type: ignore[type-arg]
    """Store an edited definition; flash why not and return False when it is refused."""
    try:
        services.apply_definition(db.session, survey, data)
    except DefinitionError as exc:
        db.session.rollback()
        for problem in exc.problems:
            flash(problem)
        return False
    except services.EditRefused as exc:
        db.session.rollback()
        flash(str(exc))
        return False
    record(db.session, current_user, "changed", survey.slug)
    db.session.commit()
    return True


@bp.get("/<slug>")
@roles_required(*DESIGNERS)
def editor(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    return render_template(
        "designer/editor.html",
        survey=survey,
        data=export_definition(survey),
        types=QUESTION_TYPES,
        responses=services.response_count(db.session, survey),
        as_local=as_local,
    )


@bp.post("/<slug>/instellingen")
@roles_required(*DESIGNERS)
def settings(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    data = export_definition(survey)
    form = request.form
    data["title"] = form.get("title", "").strip()
    data["introduction"] = form.get("introduction", "").strip()
    data["privacy_statement"] = form.get("privacy_statement", "").strip()
    data["allow_multiple_responses"] = bool(form.get("allow_multiple_responses"))
    for key in ("age_min", "age_max"):
        value = form.get(key, "").strip()
        data[key] = int(value) if value.isdigit() else value
    for key in ("opens_at", "closes_at"):
        data.pop(key, None)
        if form.get(key, "").strip():
            data[key] = local_moment(form[key])
    if _apply(survey, data):
        flash("De instellingen zijn bewaard.")
    return redirect(url_for(".editor", slug=slug))


@bp.post("/<slug>/pagina")
@roles_required(*DESIGNERS)
def add_page(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    data = export_definition(survey)
    edits.add_page(data, request.form.get("title", "").strip())
    if _apply(survey, data):
        flash("Pagina toegevoegd, met een eerste vraag om in te vullen.")
    return redirect(url_for(".editor", slug=slug))


@bp.post("/<slug>/vraag")
@roles_required(*DESIGNERS)
def add_question(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    data = export_definition(survey)
    page = request.form.get("page", "0")
    index = int(page) if page.isdigit() and int(page) < len(data["pages"]) else 0
    code = request.form.get("code", "").strip()
    qtype = request.form.get("type", "short_text")
    question = edits.question_from_fields(request.form, code, qtype)
    if qtype in ("single_choice", "multiple_choice") and "options" not in question:
        question["options"] = [
            {"code": "a", "label": "Antwoord A"},
            {"code": "b", "label": "Antwoord B"},
        ]
    edits.add_question(data, index, question)
    if _apply(survey, data):
        flash(f"Vraag ‘{code}’ toegevoegd.")
        return redirect(url_for(".question", slug=slug, code=code))
    return redirect(url_for(".editor", slug=slug))


@bp.route("/<slug>/vraag/<code>", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def question(slug: str, code: str) -> ResponseReturnValue:
    survey = _survey(slug)
    data = export_definition(survey)
    try:
        p, q = edits.find(data, code)
    except KeyError:
        return redirect(url_for(".editor", slug=slug))
    current = data["pages"][p]["questions"][q]
    if request.method == "POST":
        qtype = request.form.get("type", current["type"])
        edited = edits.question_from_fields(request.form, code, qtype)
        edits.replace_question(data, code, edited)
        if _apply(survey, data):
            flash(f"Vraag ‘{code}’ is bewaard.")
            return redirect(url_for(".editor", slug=slug))
        current = edited  # show what was typed, with the reasons above it
    earlier = [
        (qq["code"], qq["text"])
        for page in data["pages"][: p + 1]
        for qq in page["questions"][: (q if page is data["pages"][p] else None)]
    ]
    return render_template(
        "designer/question.html",
        survey=survey,
        q=current,
        options_text=edits.options_text(current),
        earlier=earlier,
        types=QUESTION_TYPES,
    ), (422 if request.method == "POST" else 200)


MOVES = {"omhoog": -1, "omlaag": 1}


@bp.post("/<slug>/vraag/<code>/<action>")
@roles_required(*DESIGNERS)
def question_action(slug: str, code: str, action: str) -> ResponseReturnValue:
    """Move a question up or down, or delete it."""
    survey = _survey(slug)
    data = export_definition(survey)
    try:
        if action == "verwijderen":
            edits.remove_question(data, code)
        elif action in MOVES:
            edits.move_question(data, code, MOVES[action])
        else:
            return redirect(url_for(".editor", slug=slug))
    except KeyError:
        return redirect(url_for(".editor", slug=slug))
    if _apply(survey, data) and action == "verwijderen":
        flash(f"Vraag ‘{code}’ is verwijderd.")
    return redirect(url_for(".editor", slug=slug) + f"#vraag-{code}")


@bp.route("/<slug>/voorbeeld", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def preview(slug: str) -> ResponseReturnValue:
    """The questionnaire exactly as a respondent sees it, page by page; nothing is stored."""
    survey = _survey(slug)
    defn = compile_survey(db.session, survey)  # the current version, never the cache
    # Staff forms are parsed by Flask-WTF's CSRF check already (web.StrictFormDataParser).
    fields = request.form.to_dict(flat=False) if request.method == "POST" else {}
    raw = extract_raw(defn, fields)
    problems = None
    if request.method == "GET":
        page = first_page(defn, raw)
    else:
        index = (fields.get("pagina") or ["0"])[0]
        going_back = (fields.get("actie") or [""])[0] == "terug"
        step = advance(defn, raw, int(index) if index.isdigit() else 0, going_back)
        if step.outcome is not Outcome.SHOW_PAGE:
            return render_template(
                "designer/preview_done.html",
                survey=survey,
                gated=step.outcome is Outcome.AGE_GATE,
                answers=preview_answers(defn, step.answers),
            )
        page, problems = step.page, step.problems
    context = page_context(defn, page, raw, problems or Problems())
    return render_template(
        "surveys/page.html",
        csrf_token=generate_csrf(),
        token="voorbeeld-" + "0" * 22,
        source=None,
        honeypot=HONEYPOT,
        notice=None,
        preview=True,
        form_action=url_for(".preview", slug=slug),
        **context,
    ), (422 if problems else 200)


def preview_answers(defn: SurveyDef, answers: dict[str, Cleaned]) -> list[tuple[str, str]]:
    """(question, answer as the respondent chose it) for the end of a preview."""
    shown = []
    for code, answer in answers.items():
        if answer.empty:
            continue
        q = defn.by_code[code]
        labels = [q.option(c).label for c in answer.codes if q.option(c)]  # type: ignore[union-attr]
        parts = labels or [str(v) for v in (answer.number, answer.text) if v is not None]
        if answer.willing is not None and not labels:
            parts = ["ja" if answer.willing else "nee"]
        shown.append((q.text, ", ".join(p for p in parts if p)))
    return shown


TEMPLATES = {
    "jongerenpeiling": ("jongerenpeiling-demo.json", "Jongerenpeiling (zomeractiviteiten)"),
    "panelgolf": ("panelgolf.json", "Panelgolf: vertrouwen in de lokale politiek"),
    "leeg": (None, "Leeg: één pagina met één vraag"),
}


def _template(name: str) -> dict:  # type: ignore[type-arg]
    filename = TEMPLATES[name][0]
    if filename is None:
        question = {"code": "vraag_1", "type": "short_text", "text": "Nieuwe vraag"}
        return {"kind": "flash_poll", "region": "drenthe", "pages": [{"questions": [question]}]}
    text = resources.files("peiling.surveys").joinpath("definitions", filename).read_text("utf-8")
    return dict(json.loads(text))


@bp.route("/nieuw", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def new() -> ResponseReturnValue:
    """Start a questionnaire from a template, as a draft."""
    form = request.form
    problems: list[str] = []
    if request.method == "POST":
        name = form.get("template", "leeg")
        data = _template(name if name in TEMPLATES else "leeg")
        data.update(slug=form.get("slug", "").strip().lower(), title=form.get("title", "").strip())
        data["status"] = "draft"
        if form.get("region") in ("drenthe", "groningen"):
            data["region"] = form["region"]
        try:
            survey = build_survey(db.session, data)
        except DefinitionError as exc:
            problems = exc.problems
        else:
            db.session.add(survey)
            db.session.flush()
            record(db.session, current_user, "created", survey.slug, template=name)
            db.session.commit()
            return redirect(url_for(".editor", slug=survey.slug))
    return render_template(
        "designer/new.html", templates=TEMPLATES, form=form, problems=problems
    ), (422 if problems else 200)


@bp.route("/importeren", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def upload() -> ResponseReturnValue:
    """Import a questionnaire from a JSON definition or an XLSForm workbook, as a draft."""
    problems: list[str] = []
    if request.method == "POST":
        file = request.files.get("bestand")
        if file is None or not file.filename:
            problems = ["Kies een bestand (.xlsx of .json)."]
        else:
            try:
                data = read_definition(file.filename, file.read(MAX_UPLOAD + 1))
                if isinstance(data, dict):
                    data["status"] = "draft"
                survey = build_survey(db.session, data)
            except DefinitionError as exc:
                problems = exc.problems
            else:
                db.session.add(survey)
                db.session.flush()
                record(db.session, current_user, "imported", survey.slug, file=file.filename)
                db.session.commit()
                flash(f"Geïmporteerd als concept: {survey.title}.")
                return redirect(url_for(".editor", slug=survey.slug))
    return render_template("designer/upload.html", problems=problems), (422 if problems else 200)


@bp.get("/<slug>/xlsform.xlsx")
@roles_required(*DESIGNERS)
def export_xlsform(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    content = write_xlsform(export_definition(survey))
    return current_app.response_class(
        content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{survey.slug}.xlsx"'},
    )


@bp.get("/<slug>/definitie.json")
@roles_required(*DESIGNERS)
def export_json(slug: str) -> ResponseReturnValue:
    survey = _survey(slug)
    body = json.dumps(export_definition(survey), ensure_ascii=False, indent=2)
    return current_app.response_class(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{survey.slug}.json"'},
    )
