"""Admin pages: the staff accounts and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from peiling.admin import bp
from peiling.admin.forms import NewUserForm
from peiling.auth.access import roles_required
from peiling.auth.models import Role, User
from peiling.auth.services import AccountError, create_user, recent_events, record
from peiling.extensions import db
from peiling.geo import Municipality


def _municipality_choices() -> list[SelectChoice]:
    rows = db.session.execute(
        select(Municipality.code, Municipality.name).order_by(Municipality.name)
    )
    return [SelectChoice(code, f"{name} ({code})") for code, name in rows]


@bp.route("/gebruikers", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    form = NewUserForm()
    form.municipalities.choices = _municipality_choices()
    error = None
    if form.validate_on_submit():
        try:
            user = create_user(
                db.session,
                form.email.data or "",
                Role(form.role.data),
                form.password.data or "",
                form.municipalities.data or (),
                bool(form.volunteers.data),
            )
        except AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.flush()
            record(db.session, current_user, "user_created", user.email, role=user.role.value)
            db.session.commit()
            flash(_("Account gemaakt voor %(email)s.", email=user.email))
            return redirect(url_for(".users"))
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    status = 422 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, users=accounts, error=error), status


@bp.get("/logboek")
@roles_required(Role.ADMIN)
def audit() -> ResponseReturnValue:
    action = request.args.get("actie") or None
    events = recent_events(db.session, action=action)
    return render_template("admin/audit.html", events=events, action=action)
