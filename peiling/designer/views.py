"""Designer pages: the survey list with lifecycle actions and duplication."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from peiling.auth.access import roles_required
from peiling.auth.models import Role
from peiling.auth.services import record
from peiling.designer import bp, services, sharing
from peiling.extensions import db
from peiling.surveys.importer import DefinitionError
from peiling.surveys.models import Survey

DESIGNERS = (Role.RESEARCHER,)


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
