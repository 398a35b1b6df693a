"""Answers are keyed by (response_id, position): no surrogate id, no separate index.

An answer is only ever found through its response (deleting a response, exporting in
order) or through the counting index, so `answer.id` bought nothing but a sequence value
and a primary-key index entry per row, about ten times per submission. The primary key
(response_id, position) now also serves the foreign key's lookups, in place of
ix_answer_response_id: two indexes per row instead of three. make bench measured about a
tenth less PostgreSQL CPU per stored submission. Existing answers are numbered in their
old order (by id) within each response.

SQLite cannot change a primary key in place: batch mode copies the answer table (nothing
refers to it, so nothing cascades).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Portable (a correlated count, not a window function in an UPDATE): answers per response
# are few, and ix_answer_response_id finds them.
NUMBER_ANSWERS = """
UPDATE answer SET position = (
    SELECT count(*) FROM answer AS earlier
    WHERE earlier.response_id = answer.response_id AND earlier.id < answer.id
)
"""


def upgrade():
    op.add_column("answer", sa.Column("position", sa.Integer(), nullable=True))
    op.execute(NUMBER_ANSWERS)
    with op.batch_alter_table("answer", schema=None, recreate="auto") as batch_op:
        batch_op.alter_column("position", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("pk_answer", type_="primary")
        batch_op.drop_index("ix_answer_response_id")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_answer", ["response_id", "position"])


def downgrade():
    # Ids again, numbered in the answers' order, and a serial's sequence after them (as
    # 0001 made it on PostgreSQL); SQLite's copy gives every row a rowid in that order.
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("pk_answer", "answer", type_="primary")
        op.add_column("answer", sa.Column("id", sa.Integer(), nullable=True))
        op.execute(
            "UPDATE answer SET id = numbered.n FROM (SELECT response_id, position, "
            "row_number() OVER (ORDER BY response_id, position) AS n FROM answer) AS numbered "
            "WHERE answer.response_id = numbered.response_id "
            "AND answer.position = numbered.position"
        )
        op.execute("CREATE SEQUENCE answer_id_seq OWNED BY answer.id")
        op.execute("SELECT setval('answer_id_seq', coalesce(max(id), 0) + 1, false) FROM answer")
        op.alter_column(
            "answer", "id", nullable=False, server_default=sa.text("nextval('answer_id_seq')")
        )
        op.create_primary_key("pk_answer", "answer", ["id"])
    else:
        # The table as upgrade() left it, given rather than reflected: SQLite's reflection
        # does not name the primary key, so batch mode could not drop it by name.
        with op.batch_alter_table(
            "answer", schema=None, recreate="always", copy_from=_keyed_answer()
        ) as batch_op:
            batch_op.drop_constraint("pk_answer", type_="primary")
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False))
            batch_op.create_primary_key("pk_answer", ["id"])
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index("ix_answer_response_id", ["response_id"], unique=False)
        batch_op.drop_column("position")


def _keyed_answer() -> sa.Table:
    return sa.Table(
        "answer",
        sa.MetaData(),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=True),
        sa.Column("municipality_code", sa.String(length=6), nullable=True),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("response_id", "position", name="pk_answer"),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name="fk_answer_response_id_response",
            ondelete="CASCADE",
        ),
        sa.Index(
            "ix_answer_counts",
            "survey_id",
            "question_id",
            "municipality_code",
            "option_id",
            "value_number",
            "response_id",
        ),
    )
