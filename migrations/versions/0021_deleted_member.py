"""deleted_member: the SHA-256 of the personal key of a member who deleted her data.

Pressing "Mijn gegevens verwijderen" twice (a double click) showed the second answer, which
found nobody and said the link did not work. The key's hash is now kept with the panel, and
nothing else, so that her links say her data were deleted.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deleted_member",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"], ["panel.id"], name=op.f("fk_deleted_member_panel_id_panel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_deleted_member")),
    )
    op.create_index(op.f("ix_deleted_member_panel_id"), "deleted_member", ["panel_id"])


def downgrade():
    op.drop_index(op.f("ix_deleted_member_panel_id"), table_name="deleted_member")
    op.drop_table("deleted_member")
