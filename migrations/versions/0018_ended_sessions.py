"""ended_session: staff sessions ended by logging out (peiling/auth/sessions.py).

A staff session is a signed cookie; logging out now records a hash of the session's random
id here until the session's absolute lifetime has passed, so that a copy of the cookie
stops working too. `flask purge` deletes the rows whose lifetime has passed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 03:45:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ended_session",
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid_hash", name=op.f("pk_ended_session")),
    )
    op.create_index(op.f("ix_ended_session_ends_at"), "ended_session", ["ends_at"])


def downgrade():
    op.drop_index(op.f("ix_ended_session_ends_at"), table_name="ended_session")
    op.drop_table("ended_session")
