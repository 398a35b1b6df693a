"""Designer pages for one questionnaire: settings, pages, questions and the preview."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from peiling import i18n
from peiling.auth.access import roles_required
from peiling.auth.services import record
from peiling.designer import bp, edits, services
from peiling.designer.problems import (
    NEW_PAGE,
    QUESTION_FIELDS,
    SETTINGS_FIELDS,
    for_form,
    new_question_fields,
)
from peiling.designer.views import DESIGNERS, survey_or_404
from peiling.extensions import db
from peiling.geo import AMSTERDAM, dutch_time
from peiling.i18n import RESPONDENT_LANGUAGES
from peiling.numbers import whole_number
from peiling.problems import FormProblems
from peiling.surveys.answers import Cleaned, Problems
from peiling.surveys.definition import SurveyDef, compile_survey
from peiling.surveys.exporter import export_definition
from peiling.surveys.flow import Outcome, advance, first_page
from peiling.surveys.importer import DefinitionError, Problem
from peiling.surveys.models import Survey
from peiling.surveys.render import page_context
from peiling.surveys.translation import SOURCE
from peiling.surveys.views import HONEYPOT, extract_raw, info_context
from peiling.web import posted_fields


def local_moment(value: str) -> str:
    """A datetime-local field (Dutch time) as ISO 8601 with its offset; as typed if invalid."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # the importer names the field and says what is wrong
    return (moment if moment.tzinfo else moment.replace(tzinfo=AMSTERDAM)).isoformat()


def _decimal(text: str) -> bool:
    whole, sep, fraction = text.replace(",", ".").partition(".")
    return bool(sep) and whole_number(whole) is not None and whole_number(fraction) is not None


def as_local(moment: datetime | None) -> str:
    """A stored moment for a datetime-local field, in Dutch time."""
    return "" if moment is None else dutch_time(moment, "%Y-%m-%dT%H:%M")


QUESTION_TYPES = [
    ("single_choice", _l("Eén antwoord kiezen")),
    ("multiple_choice", _l("Meerdere antwoorden kiezen")),
    ("yes_no", _l("Ja of nee")),
    ("agree_scale", _l("Eens-oneens (5 punten)")),
    ("grade", _l("Rapportcijfer 1–10")),
    ("number", _l("Getal")),
    ("short_text", _l("Korte tekst")),
    ("long_text", _l("Lange tekst")),
    ("age", _l("Leeftijd")),
    ("municipality", _l("Gemeente")),
    ("volunteer", _l("Wil je helpen organiseren?")),
]


def _loaded(slug: str) -> tuple[Survey, dict]:  # type: ignore[type-arg]
    """The survey and its definition, to edit (and, for a POST, locked until commit)."""
    if request.method == "POST":
        services.lock_for_edit(db.session, slug)
    survey = survey_or_404(slug)
    return survey, export_definition(survey)


def _store(survey: Survey, data: dict) -> list[Problem]:  # type: ignore[type-arg]
    """Store an edited definition; why not when it is refused (nothing is stored then)."""
    try:
        services.apply_definition(db.session, survey, data)
    except DefinitionError as exc:
        db.session.rollback()
        return exc.details
    except services.EditRefused as exc:
        db.session.rollback()
        return [Problem("", str(exc), exc.field, exc.question)]
    record(db.session, current_user, "changed", survey.slug)
    db.session.commit()
    return []


def _apply(survey: Survey, data: dict) -> bool:  # type: ignore[type-arg]
    """Store an edited definition; flash why not and return False when it is refused."""
    refused = _store(survey, data)
    for problem in refused:
        flash(str(problem))
    return not refused


@bp.get("/<slug>")
@roles_required(*DESIGNERS)
def editor(slug: str) -> ResponseReturnValue:
    return _editor_page(survey_or_404(slug))


def _editor_page(
    survey: Survey,
    data: dict | None = None,  # type: ignore[type-arg]
    refused: str | None = None,
    shown: FormProblems | None = None,
    question_page: int | None = None,
) -> ResponseReturnValue:
    """The editor; after a refused settings, page or question form (`refused`), again with
    what was typed in that form (422), the reasons (`shown`) above it and beside its fields."""
    return render_template(
        "designer/editor.html",
        survey=survey,
        data=data or export_definition(survey),
        types=QUESTION_TYPES,
        responses=services.response_count(db.session, survey),
        as_local=as_local,
        translatable=[(c, n) for c, n in RESPONDENT_LANGUAGES.items() if c != SOURCE],
        refused=refused,
        typed=request.form,
        problems=shown or FormProblems(),
        question_page=question_page,
    ), (422 if refused else 200)


@bp.post("/<slug>/instellingen")
@roles_required(*DESIGNERS)
def settings(slug: str) -> ResponseReturnValue:
    survey, data = _loaded(slug)
    form = request.form
    data["title"] = form.get("title", "").strip()
    data["introduction"] = form.get("introduction", "").strip()
    data["privacy_statement"] = form.get("privacy_statement", "").strip()
    data["allow_multiple_responses"] = bool(form.get("allow_multiple_responses"))
    for key in ("age_min", "age_max"):
        value = form.get(key, "").strip()
        number = whole_number(value.removeprefix("-"))
        # "-3" or "12,5" is a number, only not an age: the importer says which is wrong.
        if number is not None:
            data[key] = -number if value.startswith("-") else number
        else:
            data[key] = float(value.replace(",", ".")) if _decimal(value) else value
    for key in ("opens_at", "closes_at"):
        data.pop(key, None)
        if form.get(key, "").strip():
            data[key] = local_moment(form[key])
    refused = _store(survey, data)
    if refused:  # data: the settings as typed
        shown = for_form(refused, SETTINGS_FIELDS, question=None)
        return _editor_page(survey, data, refused="settings", shown=shown)
    flash(_("De instellingen zijn bewaard."))
    return redirect(url_for(".editor", slug=slug))


@bp.post("/<slug>/pagina")
@roles_required(*DESIGNERS)
def add_page(slug: str) -> ResponseReturnValue:
    survey, data = _loaded(slug)
    edits.add_page(data, request.form.get("title", "").strip())
    refused = _store(survey, data)
    if refused:
        pages = len(data["pages"])
        shown = for_form(refused, NEW_PAGE, question=None, page=pages)
        return _editor_page(survey, refused="page", shown=shown)
    flash(_("Pagina toegevoegd, met een eerste vraag om in te vullen."))
    return redirect(url_for(".editor", slug=slug))


@bp.post("/<slug>/vraag")
@roles_required(*DESIGNERS)
def add_question(slug: str) -> ResponseReturnValue:
    survey, data = _loaded(slug)
    page = request.form.get("page", "0")
    index = whole_number(page, max_digits=3)
    index = index if index is not None and index < len(data["pages"]) else 0
    code = request.form.get("code", "").strip()
    qtype = request.form.get("type", "short_text")
    question = edits.question_from_fields(request.form, code, qtype)
    if qtype in ("single_choice", "multiple_choice") and "options" not in question:
        # Questionnaire texts, not interface texts: Dutch is every questionnaire's own language.
        question["options"] = [
            {"code": "a", "label": "Antwoord A"},
            {"code": "b", "label": "Antwoord B"},
        ]
    edits.add_question(data, index, question)
    refused = _store(survey, data)
    if not refused:
        flash(_("Vraag ‘%(code)s’ toegevoegd.", code=code))
        return redirect(url_for(".question", slug=slug, code=code))
    # The form of the page it was typed on shows the reasons; index 0 when no page was named.
    shown = for_form(refused, new_question_fields(index), question=code)
    return _editor_page(survey, refused="question", shown=shown, question_page=index)


@bp.route("/<slug>/vraag/<code>", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def question(slug: str, code: str) -> ResponseReturnValue:
    survey, data = _loaded(slug)
    try:
        p, q = edits.find(data, code)
    except KeyError:  # deleted meanwhile, say by a colleague
        if request.method == "POST":  # the editor, with her text to copy from the message
            flash(_("Vraag ‘%(code)s’ bestaat niet meer in deze vragenlijst, dus je wijziging"
                    " is niet bewaard. Je tekst was: %(text)s", code=code,
                    text=request.form.get("text", "")))  # fmt: skip
            return _editor_page(survey, refused="question_gone")
        flash(_("Vraag ‘%(code)s’ bestaat niet (meer) in deze vragenlijst.", code=code))
        return redirect(url_for(".editor", slug=slug))
    current = data["pages"][p]["questions"][q]
    shown = FormProblems()
    if request.method == "POST":
        qtype = request.form.get("type", current["type"])
        edited = edits.question_from_fields(request.form, code, qtype)
        edits.replace_question(data, code, edited)
        refused = _store(survey, data)
        if not refused:
            flash(_("Vraag ‘%(code)s’ is bewaard.", code=code))
            return redirect(url_for(".editor", slug=slug))
        current = edited  # show what was typed, with the reasons above it and beside it
        shown = for_form(refused, QUESTION_FIELDS, question=code)
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
        problems=shown,
    ), (422 if request.method == "POST" else 200)


MOVES = {"omhoog": -1, "omlaag": 1}


@bp.post("/<slug>/vraag/<code>/<action>")
@roles_required(*DESIGNERS)
def question_action(slug: str, code: str, action: str) -> ResponseReturnValue:
    """Move a question up or down, or delete it."""
    survey, data = _loaded(slug)
    try:
        if action == "verwijderen":
            edits.remove_question(data, code)
        elif action in MOVES:
            edits.move_question(data, code, MOVES[action])
        else:
            return redirect(url_for(".editor", slug=slug))
    except KeyError:
        flash(_("Vraag ‘%(code)s’ bestaat niet (meer) in deze vragenlijst.", code=code))
        return redirect(url_for(".editor", slug=slug))
    if _apply(survey, data) and action == "verwijderen":
        flash(_("Vraag ‘%(code)s’ is verwijderd.", code=code))
    return redirect(url_for(".editor", slug=slug) + f"#vraag-{code}")


@bp.route("/<slug>/voorbeeld", methods=["GET", "POST"])
@roles_required(*DESIGNERS)
def preview(slug: str) -> ResponseReturnValue:
    """The questionnaire exactly as a respondent sees it, page by page; nothing is stored."""
    survey = survey_or_404(slug)
    fields = posted_fields() if request.method == "POST" else {}
    # Any language the questionnaire can be translated into, offered yet or not.
    lang = (fields.get("taal") or [request.args.get("taal", SOURCE)])[0]
    lang = lang if lang in RESPONDENT_LANGUAGES else SOURCE
    i18n.use(lang)
    defn = compile_survey(db.session, survey, lang)  # the current version, never the cache
    raw = extract_raw(defn, fields)
    problems = None
    if request.method == "GET":
        page = first_page(defn, raw)
    else:
        index = (fields.get("pagina") or ["0"])[0]
        going_back = (fields.get("actie") or [""])[0] == "terug"
        step = advance(defn, raw, whole_number(index, max_digits=3) or 0, going_back)
        if step.outcome is not Outcome.SHOW_PAGE:
            i18n.use(i18n.preferred(tuple(i18n.LANGUAGES)))  # the end of a preview is staff's
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


@bp.get("/<slug>/voorbeeld/privacy")
@roles_required(*DESIGNERS)
def preview_privacy(slug: str) -> ResponseReturnValue:
    """The privacy page the preview links to: the public one exists only once the
    questionnaire is published, and a draft's preview is where the statement is checked."""
    survey = survey_or_404(slug)
    lang = request.args.get("taal", SOURCE)
    lang = lang if lang in RESPONDENT_LANGUAGES else SOURCE
    i18n.use(lang)
    context = info_context(survey, lang)
    back = url_for(".preview", slug=slug, **context["taal"])
    return render_template("surveys/privacy.html", back=back, preview=True, **context)


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
            parts = [_("ja") if answer.willing else _("nee")]
        shown.append((q.text, ", ".join(p for p in parts if p)))
    return shown
