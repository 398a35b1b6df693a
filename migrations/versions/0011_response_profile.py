"""Responses carry the panel member's profile (gender and the panel's profile questions),
so wave results break down by it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 01:10:33.936311

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile', sa.JSON(), nullable=True))



def downgrade():
    # Not in batch mode: on SQLite that copies and drops the table, and dropping it would
    # delete every answer (ON DELETE CASCADE). SQLite (3.35+) drops a plain column itself.
    op.drop_column('response', 'profile')

