"""Forms of the admin blueprint."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
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
    SelectChoice("analyst", _l("Analist: ziet resultaten en downloadt exports")),
    SelectChoice("researcher", _l("Onderzoeker: ontwerpt en publiceert vragenlijsten")),
    SelectChoice("admin", _l("Beheerder: beheert accounts en leest het logboek")),
]


class NewUserForm(FlaskForm):
    email = EmailField(
        _l("E-mailadres"), validators=[DataRequired(_l("Vul een e-mailadres in.")), Length(max=254)]
    )
    role = SelectField(_l("Rol"), choices=ROLE_LABELS)
    municipalities = SelectMultipleField(
        _l("Beperk tot gemeenten (alleen voor een analist; niets kiezen is alle gemeenten)"),
        choices=[],
    )
    volunteers = BooleanField(_l("Mag contactgegevens van vrijwilligers zien"))
    password = PasswordField(
        _l("Eerste wachtwoord (minstens 12 tekens)"),
        validators=[DataRequired(_l("Vul een eerste wachtwoord in.")), Length(max=200)],
    )
