"""Login and logout for staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from peiling.auth import bp
from peiling.auth.models import User
from peiling.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in om deze pagina te zien."
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mailadres", validators=[DataRequired("Vul je e-mailadres in."), Length(max=254)]
    )
    password = PasswordField(
        "Wachtwoord", validators=[DataRequired("Vul je wachtwoord in."), Length(max=200)]
    )


def safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site, never to another host."""
    if not target:
        return url_for("analysis.index")
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host", so a backslash is as dangerous as a second slash.
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return url_for("analysis.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active and user.check_password(form.password.data or ""):
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        error = "Dit e-mailadres en wachtwoord horen niet bij elkaar."
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash("Je bent uitgelogd.")
    return redirect(url_for("auth.login"))
