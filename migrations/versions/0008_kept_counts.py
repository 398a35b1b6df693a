"""Counts kept per survey, so the results page adds only the newest responses' answers.

tally_state says how far a survey's kept counts reach; tally_row holds them. The response
index on survey_id gains the id, so checking the kept counts still hold (how many
responses up to the mark, and the sum of their ids) reads the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tally_state",
        sa.Column("survey_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("upto_id", sa.BigInteger(), nullable=False),
        sa.Column("responses", sa.BigInteger(), nullable=False),
        sa.Column("id_sum", sa.BigInteger(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"],
            name=op.f("fk_tally_state_survey_id_survey"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("survey_id", name=op.f("pk_tally_state")),
    )
    op.create_table(
        "tally_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("place", sa.String(length=6), nullable=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"],
            name=op.f("fk_tally_row_survey_id_survey"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tally_row")),
    )
    with op.batch_alter_table("tally_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tally_row_survey_id"), ["survey_id"], unique=False)
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_survey_id")
        batch_op.create_index("ix_response_survey", ["survey_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_survey")
        batch_op.create_index("ix_response_survey_id", ["survey_id"], unique=False)
    with op.batch_alter_table("tally_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tally_row_survey_id"))
    op.drop_table("tally_row")
    op.drop_table("tally_state")
