"""removed_response: removal codes (SHA-256) of responses deleted at the respondent's request.

Pressing "remove my answers" twice (a double click), or typing the code again later, found
no response the second time and said the code was unknown, counting a wrong guess. The hash
of a used code is now kept with its survey, and nothing else, so the page can say the
answers were removed.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 22:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "removed_response",
        sa.Column("removal_hash", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_removed_response_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("removal_hash", name=op.f("pk_removed_response")),
    )
    op.create_index(op.f("ix_removed_response_survey_id"), "removed_response", ["survey_id"])


def downgrade():
    op.drop_index(op.f("ix_removed_response_survey_id"), table_name="removed_response")
    op.drop_table("removed_response")
