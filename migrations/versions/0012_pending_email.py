"""A member's new address, used once she confirms it from a mail sent there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 01:24:42.720309

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_email', sa.String(length=254), nullable=True))



def downgrade():
    # Not in batch mode: on SQLite that copies and drops the table, cascading into the
    # members' mails and invitations. SQLite (3.35+) drops a plain column itself.
    op.drop_column('panel_member', 'pending_email')

