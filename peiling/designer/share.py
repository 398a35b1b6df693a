"""Designer pages for sharing a poll: tagged links, QR codes and the A4 poster."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from peiling.auth.access import roles_required
from peiling.designer import bp, sharing
from peiling.designer.views import DESIGNERS, survey_or_404
from peiling.surveys.models import Survey


def _link(survey: Survey) -> str:
    return sharing.public_url(sharing.public_base(), survey.slug, request.args.get("bron"))


def _page(template: str, slug: str) -> str:
    survey = survey_or_404(slug)
    source = request.args.get("bron") or None
    return render_template(template, survey=survey, link=_link(survey), source=source)


@bp.get("/<slug>/delen")
@roles_required(*DESIGNERS)
def share(slug: str) -> ResponseReturnValue:
    """The public link, tagged links, QR codes and the poster of one survey."""
    return _page("designer/share.html", slug)


QR_FORMATS = {"svg": (sharing.qr_svg, "image/svg+xml"), "png": (sharing.qr_png, "image/png")}


@bp.get("/<slug>/qr.<kind>")
@roles_required(*DESIGNERS)
def qr(slug: str, kind: str) -> ResponseReturnValue:
    """The poll's QR code as SVG (print) or PNG."""
    if kind not in QR_FORMATS:
        abort(404)
    make, mimetype = QR_FORMATS[kind]
    return current_app.response_class(make(_link(survey_or_404(slug))), mimetype=mimetype)


@bp.get("/<slug>/poster")
@roles_required(*DESIGNERS)
def poster(slug: str) -> ResponseReturnValue:
    """An A4 poster for schools and youth centres: title, QR code and link."""
    return _page("designer/poster.html", slug)
