"""The counting index also carries the number and the respondent.

ix_answer_counts becomes (survey_id, question_id, municipality_code, option_id,
value_number, response_id), so the results page reads option counts, grades, means and
the respondents of multiple-choice questions from the index alone. Still one counting
index, so a submission maintains as many indexes as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:45:00

"""
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = ["survey_id", "question_id", "option_id", "municipality_code"]
NEW = ["survey_id", "question_id", "municipality_code", "option_id", "value_number", "response_id"]


def upgrade():
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_counts")
        batch_op.create_index("ix_answer_counts", NEW, unique=False)


def downgrade():
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_counts")
        batch_op.create_index("ix_answer_counts", OLD, unique=False)
