"""Wave pages: staff draw a wave and send invitations and reminders; a member answers
through her personal link, page by page, and can stop and go on later on any device."""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata
from datetime import UTC, datetime

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from peiling.auth.access import roles_required
from peiling.auth.services import record
from peiling.designer.sharing import public_base, public_url, qr_svg
from peiling.extensions import csrf, db
from peiling.numbers import whole_number
from peiling.panel import bp, services, waves
from peiling.panel.models import Invitation, Member, MemberStatus, Panel, Wave
from peiling.panel.views import MANAGERS, _private, panel_or_404, per_place, places_of
from peiling.problems import FormProblems
from peiling.surveys import removal
from peiling.surveys.definition import get_definition
from peiling.surveys.flow import Outcome, advance
from peiling.surveys.logic import visible_pages
from peiling.surveys.models import SOURCE_MAX, Survey
from peiling.surveys.render import page_context
from peiling.surveys.services import (
    Availability,
    DuplicateSubmission,
    ResponseMeta,
    SurveyChanged,
    availability,
    store_response,
)
from peiling.surveys.views import database_unavailable, extract_raw


@bp.route("/<slug>/golven", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def wave_new(slug: str) -> ResponseReturnValue:
    """Draw a wave: everyone, a number per municipality, or a share; with a seed."""
    panel = panel_or_404(slug)
    surveys = db.session.scalars(select(Survey).order_by(Survey.title)).all()
    form = request.form
    problems = FormProblems()
    if request.method == "POST":
        survey_id = whole_number(form.get("survey", ""))
        survey = db.session.get(Survey, survey_id) if survey_id is not None else None
        name = form.get("name", "").strip()[:200]
        seed_text = form.get("seed", "").strip()
        seed = whole_number(seed_text) if seed_text else secrets.randbelow(10**9)
        if seed is None:  # a typed seed is there to repeat a draw: never replace it silently
            problems.add(_("Vul als startgetal een heel getal van hoogstens 9 cijfers in, "
                           "of laat het leeg."), "seed")  # fmt: skip
        mode = form.get("mode", "all")
        sample: dict[str, object] = {"all": True}
        if mode == "per":
            per, bad = services.counts_per_place(form, "n_", [m.code for m in places_of(panel)])
            problems.extend(per_place(panel, "n_", bad))
            sample = {"per": per}
        elif mode == "share":
            try:
                share = float(form.get("share", "").replace(",", ".")) / 100
            except ValueError:
                share = -1
            if not 0 < share <= 1:
                problems.add(_("Vul een percentage tussen 1 en 100 in."), "share")
            sample = {"share": share}
        if survey is None:
            problems.add(_("Kies een vragenlijst."), "survey")
        if not name:
            problems.add(_("Geef de golf een naam."), "name")
        # The panel stays locked until commit: the same form posted twice at once (a double
        # click) finds the first's wave here instead of drawing and inviting a second time.
        elif waves.wave_named(db.session, panel, name) is not None:
            problems.add(_("Dit panel heeft al een golf met de naam ‘%(name)s’. Kies een "
                           "andere naam.", name=name), "name")  # fmt: skip
        if not problems:
            wave = waves.create_wave(db.session, panel, survey, name, sample, seed)  # type: ignore[arg-type]
            record(db.session, current_user, "created", f"panel:{slug}", wave=wave.id, seed=seed)
            db.session.commit()
            return redirect(url_for(".wave", slug=slug, wave_id=wave.id))
    page = render_template("panel/wave_new.html", panel=panel, surveys=surveys, form=form,
                           places=places_of(panel), problems=problems)  # fmt: skip
    return page, 422 if problems else 200


def _wave_or_404(panel: Panel, wave_id: int) -> Wave:
    return db.first_or_404(select(Wave).where(Wave.id == wave_id, Wave.panel_id == panel.id))


@bp.get("/<slug>/golven/<row:wave_id>")
@roles_required(*MANAGERS)
def wave(slug: str, wave_id: int) -> ResponseReturnValue:
    panel = panel_or_404(slug)
    wave = _wave_or_404(panel, wave_id)
    mail = waves.mail_progress(db.session, wave)
    response = make_response(render_template(
        "panel/wave.html", panel=panel, wave=wave, survey=db.session.get(Survey, wave.survey_id),
        rates=response_rates(wave), places=places_of(panel), mail=mail,
        sending=any(row["queued"] for row in mail)))  # fmt: skip
    response.headers["Cache-Control"] = "no-store"  # progress.js fetches it while mail goes out
    return response


def response_rates(wave: Wave) -> dict[str, dict[str, int]]:
    """Invited, started and completed per municipality (and "" for the whole wave)."""
    rows = db.session.execute(
        select(Member.municipality_code, func.count(), func.count(Invitation.started_at),
               func.count(Invitation.completed_at))
        .join(Member, Member.id == Invitation.member_id)
        .where(Invitation.wave_id == wave.id).group_by(Member.municipality_code)
    ).all()  # fmt: skip
    rates = {place: {"invited": n, "started": s, "completed": c} for place, n, s, c in rows}
    rates[""] = {k: sum(r[k] for r in rates.values()) for k in ("invited", "started", "completed")}
    return rates


@bp.post("/<slug>/golven/<row:wave_id>/<any(uitnodigen, herinneren):action>")
@roles_required(*MANAGERS)
def wave_send(slug: str, wave_id: int, action: str) -> ResponseReturnValue:
    """Queue the invitations (or the next reminder) and send them in the background."""
    panel = panel_or_404(slug)
    wave = _wave_or_404(panel, wave_id)
    if action == "herinneren":
        refused = waves.reminder_refused(db.session, wave)
        if refused:
            db.session.rollback()
            flash(refused, "error")
            return redirect(url_for(".wave", slug=slug, wave_id=wave_id))
        wave.reminders += 1
        kind = f"reminder-{wave.reminders}"
    else:
        kind = "invitation"
    ids = waves.queue_mails(db.session, wave, kind)
    record(db.session, current_user, "changed", f"panel:{slug}", wave=wave.id, mail=kind,
           queued=len(ids))  # fmt: skip
    db.session.commit()
    if ids:
        waves.send(waves.app_of_request(), ids)
    flash(_("%(n)s e-mails worden verstuurd.", n=len(ids)), "notice")
    return redirect(url_for(".wave", slug=slug, wave_id=wave.id))


def class_tag(name: str) -> str:
    """The source tag of a school or class: "Dr. Nassau College 3B" -> "dr-nassau-college-3b"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:SOURCE_MAX].rstrip("-")


@bp.route("/<slug>/golven/<row:wave_id>/klassen", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def class_links(slug: str, wave_id: int) -> ResponseReturnValue:
    """A youth panel through schools: one anonymous link and QR code per school or class.
    Each is the wave's public questionnaire tagged with the class as its source (?bron=),
    so nothing personal is asked or stored, and results can be split by class."""
    panel = panel_or_404(slug)
    wave = _wave_or_404(panel, wave_id)
    survey = db.session.get(Survey, wave.survey_id)
    names = [n.strip() for n in request.form.get("klassen", "").splitlines() if n.strip()]
    base = public_base()
    links = []
    for name in names[:200]:
        tag = class_tag(name)
        if tag:
            url = public_url(base, survey.slug, tag)  # type: ignore[union-attr]
            qr = base64.b64encode(qr_svg(url)).decode()
            links.append({"name": name, "tag": tag, "url": url, "qr": qr})
    if links:
        record(db.session, current_user, "changed", f"panel:{slug}", wave=wave.id,
               class_links=len(links))  # fmt: skip
        db.session.commit()
    return render_template("panel/class_links.html", panel=panel, wave=wave, survey=survey,
                           links=links, names="\n".join(names))  # fmt: skip


# ------------------------------------------------------------------ the personal link


# A database failure between a wave's pages keeps every answer, as on the public form.
bp.register_error_handler(DBAPIError, database_unavailable)


@bp.route("/w/<token>", methods=["GET", "POST"])
@csrf.exempt  # the link's token (256 bits) is the secret; no session for members
def wave_form(token: str) -> ResponseReturnValue:
    invitation = waves.by_token(db.session, token)
    if invitation is None:
        return _private(render_template("panel/message.html", state="unknown"), 404)
    member = db.session.get(Member, invitation.member_id)
    wave = db.session.get(Wave, invitation.wave_id)
    survey = db.session.get(Survey, wave.survey_id)  # type: ignore[union-attr]
    panel = db.session.get(Panel, wave.panel_id)  # type: ignore[union-attr]
    if member is None or member.status is MemberStatus.UNSUBSCRIBED:
        return _private(render_template("panel/message.html", state="unsubscribed_wave",
                                        panel=panel), 410)  # fmt: skip
    if invitation.completed_at is not None:
        # Only she has this link, so the code can be shown on it for as long as it works.
        code = removal.shown(removal.code_for(waves.submission_token(invitation)))
        return _private(render_template("panel/message.html", state="wave_done", panel=panel,
                                        survey=survey, removal_code=code))  # fmt: skip
    if availability(survey) is not Availability.OPEN:
        return _private(render_template("panel/message.html", state="wave_closed",
                                        panel=panel), 410)  # fmt: skip
    defn = get_definition(db.session, survey)  # type: ignore[arg-type]
    if request.method == "GET":
        raw = invitation.draft or {}
        pages = visible_pages(defn, raw)
        page = next((p for p in pages if p.index == invitation.page_index), pages[0])
        return _wave_page(defn, page, raw, invitation, age=waves.youngest_age(member))
    raw = extract_raw(defn, request.form.to_dict(flat=False))
    going_back = request.form.get("actie") == "terug"
    index = request.form.get("pagina", "0")
    # The wave asks no age: the member's birth year decides on a guardian's permission.
    age = waves.youngest_age(member)
    step = advance(defn, raw, whole_number(index, max_digits=3) or 0, going_back, age)
    if step.outcome is Outcome.SUBMIT:
        meta = ResponseMeta(waves.submission_token(invitation), waves.source_tag(panel),  # type: ignore[union-attr]
                            municipality=member.municipality_code,
                            age=datetime.now(UTC).year - member.birth_year,
                            profile=waves.profile_of(member))  # fmt: skip
        try:
            store_response(db.session, defn, step.answers, meta)
        except DuplicateSubmission:
            pass  # stored by an earlier click: mark it done below, as the first time
        except (SurveyChanged, SQLAlchemyError):
            db.session.rollback()
            return _wave_page(defn, visible_pages(defn, raw)[-1], raw, invitation, 503, age=age)
        invitation.completed_at = datetime.now(UTC)
        invitation.draft = {}
        db.session.commit()
        return redirect(url_for(".wave_form", token=token), 303)
    # Saved page by page: she can stop here and go on later, on any device.
    invitation.draft = raw
    invitation.page_index = step.page.index if step.page is not None else 0
    invitation.started_at = invitation.started_at or datetime.now(UTC)
    db.session.commit()
    if step.outcome is Outcome.AGE_GATE:
        return _private(render_template("surveys/age_gate.html", survey=defn))
    assert step.page is not None  # noqa: S101
    return _wave_page(defn, step.page, raw, invitation, 422 if step.problems else 200,
                      step.problems, age)  # fmt: skip


def _wave_page(  # type: ignore[no-untyped-def]
    defn, page, raw, invitation: Invitation, status: int = 200, problems=None, age=None
) -> ResponseReturnValue:
    """A page of the wave's questionnaire, posting back to the personal link; `age` is the
    member's, for the guardian's permission."""
    from peiling.surveys.answers import Problems

    context = page_context(defn, page, raw, problems or Problems(), age)
    html = render_template(
        "surveys/page.html",
        **context,
        csrf_token="",
        token="",
        source=None,
        honeypot="website",
        notice="db_error" if status == 503 else None,
        other_languages=(),
        form_action=url_for(".wave_form", token=invitation.token),
    )
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
