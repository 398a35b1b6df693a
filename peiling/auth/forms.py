"""Forms of the auth blueprint."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mailadres", validators=[DataRequired("Vul je e-mailadres in."), Length(max=254)]
    )
    password = PasswordField(
        "Wachtwoord", validators=[DataRequired("Vul je wachtwoord in."), Length(max=200)]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Huidig wachtwoord", validators=[DataRequired("Vul je huidige wachtwoord in.")]
    )
    new = PasswordField(
        "Nieuw wachtwoord (minstens 12 tekens)",
        validators=[DataRequired("Vul een nieuw wachtwoord in."), Length(max=200)],
    )
    repeat = PasswordField(
        "Nieuw wachtwoord nog een keer",
        validators=[
            DataRequired("Herhaal het nieuwe wachtwoord."),
            EqualTo("new", "De twee nieuwe wachtwoorden zijn niet gelijk."),
        ],
    )
