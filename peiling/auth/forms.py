"""Forms of the auth blueprint."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mailadres"), validators=[DataRequired(_l("Vul je e-mailadres in.")), Length(max=254)]
    )
    password = PasswordField(
        _l("Wachtwoord"), validators=[DataRequired(_l("Vul je wachtwoord in.")), Length(max=200)]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Huidig wachtwoord"), validators=[DataRequired(_l("Vul je huidige wachtwoord in."))]
    )
    new = PasswordField(
        _l("Nieuw wachtwoord (minstens 12 tekens)"),
        validators=[DataRequired(_l("Vul een nieuw wachtwoord in.")), Length(max=200)],
    )
    repeat = PasswordField(
        _l("Nieuw wachtwoord nog een keer"),
        validators=[
            DataRequired(_l("Herhaal het nieuwe wachtwoord.")),
            EqualTo("new", _l("De twee nieuwe wachtwoorden zijn niet gelijk.")),
        ],
    )
