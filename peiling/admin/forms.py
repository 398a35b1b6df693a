"""Forms of the admin blueprint."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import DataRequired, Length

ROLE_LABELS = [
    SelectChoice("analyst", "Analist: ziet resultaten en downloadt exports"),
    SelectChoice("researcher", "Onderzoeker: ontwerpt en publiceert vragenlijsten"),
    SelectChoice("admin", "Beheerder: beheert accounts en leest het logboek"),
]


class NewUserForm(FlaskForm):
    email = EmailField(
        "E-mailadres", validators=[DataRequired("Vul een e-mailadres in."), Length(max=254)]
    )
    role = SelectField("Rol", choices=ROLE_LABELS)
    municipalities = SelectMultipleField(
        "Beperk tot gemeenten (alleen voor een analist; niets kiezen is alle gemeenten)",
        choices=[],
    )
    volunteers = BooleanField("Mag contactgegevens van vrijwilligers zien")
    password = PasswordField(
        "Eerste wachtwoord (minstens 12 tekens)",
        validators=[DataRequired("Vul een eerste wachtwoord in."), Length(max=200)],
    )
