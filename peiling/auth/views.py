"""Login, logout and changing one's password."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_url, login_user, logout_user
from sqlalchemy import select

from peiling.auth import bp, kept, sessions
from peiling.auth.forms import LoginForm, PasswordForm
from peiling.auth.models import User
from peiling.auth.services import AccountError, change_password, record
from peiling.auth.throttle import throttle
from peiling.extensions import db, login_manager
from peiling.numbers import whole_number
from peiling.web import StaleForm, error_page, local_path, repost

log = logging.getLogger(__name__)
# A page that carries what someone typed stays out of every cache.
NO_STORE = {"Cache-Control": "no-store"}
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in om deze pagina te zien.")
# Flashed as a plain string in the language of the request that needed the login.
login_manager.localize_callback = str
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The account of a session id `<id>.<session version>`; an old version logs out."""
    ident, _, version = (whole_number(part) for part in user_id.partition("."))
    if ident is None or version is None:
        return None
    user = db.session.get(User, ident)
    if user is None or (user.session_version or 0) != version:
        return None
    if not sessions.valid(db.session, session, current_app.permanent_session_lifetime):
        return None
    return user


def safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site, never to another host."""
    return local_path(target) or url_for("analysis.index")


@bp.get("/")
def home() -> ResponseReturnValue:
    """The bare address: respondents come in through a poll's own address, so whoever
    opens this is staff, sent to the start page after login (or to the login first)."""
    if current_user.is_authenticated:
        return redirect(safe_next(None))
    return redirect(url_for("auth.login"))


def _kept_post() -> kept.KeptForm | None:
    """What this POST to a staff page carried, kept for after the login (see auth/kept.py);
    None for a GET, the login and logout, a file upload or nothing worth keeping."""
    posted = repost() if request.blueprint != bp.name else None
    return kept.keep(*posted) if posted is not None else None


def _login_page(
    form: LoginForm,
    status: int,
    error: str | None = None,
    notice: str | None = None,
    kept_form: kept.KeptForm | None = None,
    retry_after: int | None = None,
) -> ResponseReturnValue:
    # Also shown at a staff page's address whose session ended: then it posts to /login.
    action = None if request.endpoint == login_manager.login_view else url_for("auth.login")
    page = render_template(
        "auth/login.html", form=form, error=error, notice=notice, kept=kept_form, action=action
    )
    headers = dict(NO_STORE) if kept_form else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return page, status, headers


def _resume_page(
    held: kept.KeptForm, status: int, notice: str | None = None
) -> ResponseReturnValue:
    return render_template("auth/resume.html", kept=held, notice=notice), status, NO_STORE


@bp.app_errorhandler(StaleForm)
def stale_form(exc: StaleForm) -> ResponseReturnValue:
    """A form of this site's own whose token no longer fits the session (web.py)."""
    if request.endpoint == login_manager.login_view:  # the login page, left open too long
        held = kept.read(request.form.get(kept.FIELD))
        notice = _("De inlogpagina stond te lang open. Log opnieuw in.")
        return _login_page(LoginForm(formdata=None), 400, notice=notice, kept_form=held)
    if not current_user.is_authenticated:  # the session ended, or the browser dropped it
        return unauthorized()
    if request.endpoint == "auth.logout":  # from a tab opened before: she wants out all the same
        return logout()
    # Logged in again since the page was opened (in another tab, say): she confirms.
    held = _kept_post()
    if held is None:
        return error_page(400)
    notice = _(
        "Deze pagina was nog geopend van voordat je opnieuw inlogde, dus wat je invulde is"
        " nog niet opgeslagen."
    )
    return _resume_page(held, 400, notice)


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """A staff page without a valid session. A form posted to it is kept through the login
    (auth/kept.py); anything else goes to the login page and comes back after it."""
    held = _kept_post()
    if held is not None:
        notice = _(
            "Je sessie is verlopen, dus wat je invulde is nog niet opgeslagen. Log opnieuw"
            " in; daarna kun je het alsnog opslaan."
        )
        return _login_page(LoginForm(formdata=None), 401, notice=notice, kept_form=held)
    flash(str(login_manager.login_message))
    return redirect(login_url(login_manager.login_view, next_url=_back_after_login()))


def _back_after_login() -> str | None:
    """This page, to come back to after the login; for a form posted to an address that
    takes only posts (publish, log out), the page it was posted from, when on this site."""
    if request.url_rule is not None and "GET" in (request.url_rule.methods or ()):
        return request.url
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        return local_path(urlunsplit(("", "", referrer.path, referrer.query, "")))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error = None
    held = kept.read(request.form.get(kept.FIELD))
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        address = request.remote_addr or ""
        wait = throttle().wait(email, address)
        if wait is not None:  # too many failures: not even a right password gets in now
            # The login page again, not an error page: a kept form stays on it.
            minutes = math.ceil(wait / 60)
            error = ngettext(
                "Te veel mislukte pogingen. Probeer het over %(num)d minuut opnieuw.",
                "Te veel mislukte pogingen. Probeer het over %(num)d minuten opnieuw.",
                minutes,
            )
            return _login_page(form, 429, error=error, kept_form=held, retry_after=wait)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active and user.check_password(form.password.data or ""):
            session.clear()  # no state from before the login survives it,
            # nor the CSRF token Flask-WTF cached for this request (the resume page's form)
            g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
            sessions.begin(session)  # and no later than that after this login
            login_user(user)
            record(db.session, user, "login")
            db.session.commit()
            if held is not None:  # posted when the session had ended: she chooses to save it
                return _resume_page(held, 200)
            return redirect(safe_next(request.args.get("next")))
        throttle().failed(email, address)
        # The account's id, never the address typed: it may be anyone's (or a password).
        log.info("staff login failed for account %s", user.id if user else "(unknown)")
        # The log names the account tried, but not an address that is no account's: that
        # may be anyone's, or a password typed in the wrong field.
        record(db.session, None, "login_failed", user.email if user else "(onbekend account)")
        db.session.commit()
        error = _("Dit e-mailadres en wachtwoord horen niet bij elkaar.")
    status = 422 if request.method == "POST" else 200
    return _login_page(form, status, error=error, kept_form=held)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    # Ends the session itself, not only this browser's copy of its cookie.
    sessions.end(db.session, session, current_app.permanent_session_lifetime)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Je bent uitgelogd."))
    return redirect(url_for("auth.login"))


@bp.route("/account/wachtwoord", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data or "", form.new.data or "")
        except AccountError as exc:
            error = str(exc)
        else:
            record(db.session, current_user, "password_changed", current_user.email)
            db.session.commit()
            login_user(current_user._get_current_object())  # carries the new session version
            flash(_("Je wachtwoord is gewijzigd. Andere sessies zijn uitgelogd."))
            return redirect(url_for("analysis.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, error=error), status
