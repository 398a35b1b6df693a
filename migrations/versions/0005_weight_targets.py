"""Population targets for weighting a survey's results (raking).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "weight_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"],
            name=op.f("fk_weight_target_survey_id_survey"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weight_target")),
    )
    with op.batch_alter_table("weight_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weight_target_survey_id"), ["survey_id"], unique=False)


def downgrade():
    with op.batch_alter_table("weight_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weight_target_survey_id"))
    op.drop_table("weight_target")
