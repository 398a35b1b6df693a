"""volunteer.declared_of_age: without a known age, a volunteer chooses between "I am 16 or
older" and "my parent or guardian agrees"; this keeps the first apart from a guardian's
permission (guardian_consent), so that staff see which was given.

Plain add_column, no batch mode, as 0015.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 03:40:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("volunteer", sa.Column("declared_of_age", sa.Boolean(), nullable=True))


def downgrade():
    op.drop_column("volunteer", "declared_of_age")
