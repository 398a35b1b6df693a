"""Answers keep their foreign key to the response only.

Every submission inserts about ten answer rows, and each foreign key to survey, question
and option made PostgreSQL lock the referenced row (FOR KEY SHARE) for every row: the same
few hot rows, locked by every concurrent submission. make bench measured these three
checks at a fifth of PostgreSQL's CPU per submission. They guarded little: `survey_id` is
a copy of the response's (which keeps its own foreign key), and ON DELETE CASCADE from a
question or option would have deleted answers silently. Answers now belong to their
response only; the insert checks in the same statement that the questionnaire is still at
the revision the answers were validated against, and whatever edits questionnaires must
refuse to delete a question or option that has answers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:40:00

"""
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DROPPED = [
    ("fk_answer_survey_id_survey", "survey", "survey_id"),
    ("fk_answer_question_id_question", "question", "question_id"),
    ("fk_answer_option_id_question_option", "question_option", "option_id"),
]


def upgrade():
    with op.batch_alter_table("answer", schema=None) as batch_op:
        for name, _, _ in DROPPED:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade():
    with op.batch_alter_table("answer", schema=None) as batch_op:
        for name, table, column in DROPPED:
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
