"""When staff closed a survey by hand, from which retention counts (flask purge).

Surveys closed by hand before this migration count from the migration: later, never sooner.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 01:48:30.673451

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE survey SET closed_at = CURRENT_TIMESTAMP WHERE status = 'closed'"))



def downgrade():
    # Not in batch mode: on SQLite that copies and drops the survey table, which would
    # cascade into every response. SQLite (3.35+) drops a plain column itself.
    op.drop_column('survey', 'closed_at')

