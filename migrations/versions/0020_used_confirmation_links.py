"""panel_member.used_confirm_hash and confirmed_at: the confirmation link used last.

Pressing "Bevestigen" twice (a double click) showed the second answer, which no longer found
the link and said it did not work, although the first press had confirmed her. The hash of
the used link and the moment are kept, so that the same link confirms again for a while
(peiling.panel.services.CONFIRMED_AGAIN).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 23:15:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not batch mode: on SQLite batch mode copies and drops the table,
    # cascading into the members' mails and invitations.
    op.add_column("panel_member", sa.Column("used_confirm_hash", sa.String(length=64), nullable=True))
    op.add_column(
        "panel_member", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_panel_member_used_confirm_hash"), "panel_member", ["used_confirm_hash"], unique=True
    )


def downgrade():
    op.drop_index(op.f("ix_panel_member_used_confirm_hash"), table_name="panel_member")
    op.drop_column("panel_member", "confirmed_at")
    op.drop_column("panel_member", "used_confirm_hash")
