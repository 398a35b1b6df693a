"""Extension objects, created unbound so that no module imports the app (no import cycles)."""

from flask import Response
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StaffLoginManager(LoginManager):
    """Flask-Login without its remember-me cookie, which Peiling never sets: staff sessions
    end with PERMANENT_SESSION_LIFETIME (and at logout or a password change)."""

    def _update_remember_cookie(self, response: Response) -> Response:
        # Flask-Login registers this on every response, the public form's included, to
        # refresh or clear a remember-me cookie; without one there is nothing to do.
        return response


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = StaffLoginManager()
